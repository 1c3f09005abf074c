"""The period of entity pages: it ends at the entity's own newest killmail.

A corporation fights in 2021, and another corporation kills someone 400
days later. Both the command and the dashboard show the first corporation's
2021 fight under the default period and state that later killmails exist.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.intel.entities import EntityKind, EntityRef, Period
from evedmv_tui.intel.pages import load_page, period_heading, period_note
from evedmv_tui.screens.entity import CorporationScreen, describe_empty
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.intel_tables import RecentTable
from tests.test_battle_fixtures import BASE, brawl, fleet, insert_static, kill
from tests.test_battle_screens import import_kills
from tests.test_intel_screens import settle, text_of

QUIET = 98_000_901
"""The corporation that fought in 2021 only."""
LATER = 98_000_903
"""The corporation whose kill, 400 days later, is the newest stored."""
LATER_MINUTES = 400 * 24 * 60


def fight_then_quiet(db: Database) -> tuple[dt.datetime, dt.datetime]:
    """Store a six-kill fight and, 400 days later, one kill elsewhere.

    Returns the quiet corporation's newest killmail time and the newest
    stored killmail time.
    """
    insert_static(db)
    side_a = fleet(4, QUIET, None)
    side_b = fleet(4, 98_000_902, None)
    later = fleet(2, LATER, None)
    import_kills(db, brawl(side_a, side_b, kills=6))
    import_kills(db, [kill(LATER_MINUTES, later[0], [later[1]])])
    quiet_newest = db.fetch_value(
        "SELECT max(killmail_time) FROM killmails"
        " WHERE victim_corporation_id = %s OR killmail_id IN"
        " (SELECT killmail_id FROM attackers WHERE corporation_id = %s)",
        (QUIET, QUIET),
    )
    newest = db.fetch_value("SELECT max(killmail_time) FROM killmails")
    assert isinstance(quiet_newest, dt.datetime)
    assert isinstance(newest, dt.datetime)
    return quiet_newest, newest


def corporation(entity_id: int) -> EntityRef:
    return EntityRef(EntityKind.CORPORATION, entity_id, None)


@pytest.mark.parametrize("from_totals", [True, False])
def test_period_ends_at_entity_newest(db: Database, from_totals: bool) -> None:
    """The default period ended at the newest killmail stored for anyone,
    so a corporation whose fights were older showed 0 kills and 0 losses."""
    quiet_newest, newest = fight_then_quiet(db)
    page = load_page(db, corporation(QUIET), Period.MONTH, from_totals=from_totals)
    assert page.until == quiet_newest
    assert page.since == quiet_newest - dt.timedelta(days=30)
    assert page.entity_newest == quiet_newest
    assert page.newest_stored == newest
    assert page.summary.kills == 3
    assert page.summary.losses == 3
    assert page.ends_before_newest
    whole = load_page(db, corporation(QUIET), Period.ALL, from_totals=from_totals)
    assert whole.until == quiet_newest
    assert page.summary == whole.summary
    assert page.battles == whole.battles


def test_period_heading_and_note(db: Database) -> None:
    quiet_newest, newest = fight_then_quiet(db)
    page = load_page(db, corporation(QUIET), Period.MONTH)
    assert period_heading(page) == (
        f"last 30 days up to its newest kill or loss, {quiet_newest:%Y-%m-%d %H:%M} UTC"
    )
    assert period_note(page) == (
        "no kills or losses since; the newest stored killmail is"
        f" {newest:%Y-%m-%d %H:%M} UTC"
    )
    active = load_page(db, corporation(LATER), Period.MONTH)
    assert active.until == newest
    assert not active.ends_before_newest
    assert period_note(active) is None


def test_entity_without_killmails_period(db: Database) -> None:
    """A corporation known only by name has a period up to the newest
    stored killmail, and states it."""
    _, newest = fight_then_quiet(db)
    page = load_page(db, corporation(98_000_999), Period.WEEK)
    assert page.entity_newest is None
    assert page.until == newest
    assert page.summary.kills == 0
    assert period_heading(page) == (
        f"last 7 days up to the newest stored killmail, {newest:%Y-%m-%d %H:%M} UTC"
    )
    assert period_note(page) is None
    assert describe_empty(page) == "No kills or losses of this entity are stored."


def test_battles_note_without_battles_at_any_time(db: Database) -> None:
    """The six kills form no battle, so the note pointed to an all-time
    view that was empty too."""
    fight_then_quiet(db)
    page = load_page(db, corporation(QUIET), Period.WEEK)
    assert not page.battles
    assert not page.battles_stored
    assert describe_empty(page, "battles", stored=page.battles_stored) == (
        "No battles of this entity are stored."
    )


def test_battles_note_names_period(db: Database) -> None:
    """Battles before the period keep the note's pointer to all time."""
    insert_static(db)
    side_a = fleet(4, QUIET, None)
    side_b = fleet(4, 98_000_902, None)
    import_kills(db, brawl(side_a, side_b, kills=12))
    # A loss 60 days later, so the month up to it has no battle.
    import_kills(db, [kill(60 * 24 * 60, side_a[0], [side_b[0]])])
    page = load_page(db, corporation(QUIET), Period.MONTH)
    assert page.since is not None
    assert not page.battles
    assert page.battles_stored
    assert describe_empty(page, "battles", stored=page.battles_stored) == (
        f"No battles from {page.since:%Y-%m-%d %H:%M} to {page.until:%Y-%m-%d %H:%M}"
        " UTC, the last 30 days up to its newest kill or loss. Press 4 for all time."
    )
    assert load_page(db, corporation(QUIET), Period.ALL).battles


def test_cli_shows_entity_period(
    db: Database,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``corp show`` printed 0 kills and 0 losses for the default period of
    a corporation whose fights were older than the newest stored killmail."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    quiet_newest, newest = fight_then_quiet(db)
    assert main(["--dsn", db_url, "corp", "show", str(QUIET), "--offline"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert (
        "period: last 30 days up to its newest kill or loss,"
        f" {quiet_newest:%Y-%m-%d %H:%M} UTC"
    ) in lines
    assert (
        "note: no kills or losses since; the newest stored killmail is"
        f" {newest:%Y-%m-%d %H:%M} UTC"
    ) in lines
    assert re.search(r"^Kills\s+3\s+Losses\s+3$", out, re.MULTILINE), out


def test_cli_json_has_newest_stored(
    db: Database,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    quiet_newest, newest = fight_then_quiet(db)
    assert main(["--dsn", db_url, "corp", "show", str(QUIET), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["until"] == quiet_newest.isoformat()
    assert document["newest_stored_killmail"] == newest.isoformat()
    assert document["summary"]["kills"] == 3


async def test_page_shows_entity_period(db: Database, settings: Settings) -> None:
    """The dashboard switched an empty default period to all time, while
    the command showed the empty period: both now show the same period."""
    quiet_newest, newest = fight_then_quiet(db)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", QUIET)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        assert screen.page.period is Period.MONTH
        assert screen.page.summary.kills == 3
        title = text_of(app, "#entity-title").splitlines()
        assert title == [
            "corporation #98000901",
            "last 30 days up to its newest kill or loss,"
            f" {quiet_newest:%Y-%m-%d %H:%M} UTC",
            "no kills or losses since; the newest stored killmail is"
            f" {newest:%Y-%m-%d %H:%M} UTC",
        ]
        assert "suggests" in text_of(app, "#entity-heatmap")

        await pilot.press("4")
        await settle(pilot)
        assert screen.page.period is Period.ALL
        assert screen.page.until == quiet_newest
        title = text_of(app, "#entity-title")
        assert "all time up to its newest kill or loss, " in title
        assert "nothing in" not in title


async def test_recent_of_earlier_year_shows_year(
    db: Database, settings: Settings
) -> None:
    """The Recent tab showed kills of an earlier year than the period's end
    by month and day only."""
    insert_static(db)
    side_a = fleet(4, QUIET, None)
    side_b = fleet(4, 98_000_902, None)
    import_kills(db, brawl(side_a, side_b, kills=6))
    # A loss 400 days later ends the period in 2023.
    import_kills(db, [kill(LATER_MINUTES, side_a[0], [side_b[0]])])
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", QUIET)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        assert screen.page.until.year == BASE.year + 2
        assert screen.page.summary.losses == 1
        heading = text_of(app, "#entity-recent-heading")
        assert heading == (
            "Latest kills and losses, at any time, not only the last 30 days"
        )
        table = screen.query_one(RecentTable)
        times = [str(table.get_row(key)[0]) for key in table.row_keys]
        assert len(times) == 7
        assert sum(time.startswith(f"{BASE.year}-") for time in times) == 6
