"""The Recent tab of entity pages fits the screen, its Value column whole.

Once the recent rows span two years, the time column shows the year. With
long ship, victim and system names the table then grew past 80 columns, and
the unit of each value fell off the screen: 95.00m read as 95.00.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from textual.geometry import Region

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import totals
from evedmv_tui.intel.pages import RecentKillmail
from evedmv_tui.screens.entity import CorporationScreen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.intel_tables import RecentTable
from evedmv_tui.widgets.text import format_isk
from tests.test_battle_fixtures import (
    BASE,
    JITA,
    RIFTER,
    fleet,
    insert_kills,
    insert_static,
    kill,
)
from tests.test_entity_pages import RecentApp
from tests.test_intel_screens import open_page

CORPORATION = 98_000_841
"""The corporation whose page the tests open."""
SHIP_NAME = "Republic Fleet Firetail Limited Edition"
SYSTEM_NAME = "Kourmonen Outer Ring"
VICTIM_NAME = "Victim With A Name Of Thirty Seven"
VALUES = (95_002_198.12, 10_000.0, 1_350_000_000.0, 6_480_000.0)
"""ISK values whose units (m, k, b) must stay in view."""
LATER = dt.timedelta(days=400)


def long_names_over_two_years(db: Database) -> list[str]:
    """Store kills of the corporation, one 400 days after the others, with long
    names. Returns the Value cells the Recent tab must show, newest first."""
    insert_static(db)
    db.execute(
        "UPDATE types SET type_name = %s WHERE type_id = %s", (SHIP_NAME, RIFTER)
    )
    db.execute(
        "UPDATE solar_systems SET solar_system_name = %s WHERE solar_system_id = %s",
        (SYSTEM_NAME, JITA),
    )
    ours = fleet(2, CORPORATION, None)
    theirs = fleet(len(VALUES), 98_000_842, None)
    kills = [
        kill(minute, victim, ours, value=value)
        for minute, (victim, value) in enumerate(zip(theirs, VALUES, strict=True))
    ]
    kills.append(kill(0, theirs[0], ours, value=VALUES[0], base=BASE + LATER))
    insert_kills(db, kills)
    for victim in theirs:
        db.execute(
            "INSERT INTO names (entity_id, category, name)"
            " VALUES (%s, 'character', %s)",
            (victim.character_id, VICTIM_NAME),
        )
    totals.rebuild(db)
    return [format_isk(value) for value in [VALUES[0], *reversed(VALUES)]]


def table_width(table: RecentTable) -> int:
    """Return the columns the table's columns take, padding included."""
    return sum(column.get_render_width(table) for column in table.ordered_columns)


def shown_lines(table: RecentTable) -> list[str]:
    """Return the text the table shows on screen, header first."""
    region = Region(0, 0, table.scrollable_content_region.width, table.row_count + 1)
    return [strip.text.rstrip() for strip in table.render_lines(region)]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_recent_value_keeps_unit(
    db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    """At 80x24 the Value column ran past the screen's edge, so the unit of
    every value (m, k, b) was cut off."""
    values = long_names_over_two_years(db)
    app = EvedmvApp(dataclasses.replace(settings, offline=True))
    async with app.run_test(size=size) as pilot:
        await open_page("corporation", CORPORATION, "4", "7")(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        table = screen.query_one(RecentTable)
        assert table.row_count == len(values)
        times = [str(table.get_row(key)[0]) for key in table.row_keys]
        assert times[0].startswith(f"{(BASE + LATER).year}-"), "the year is shown"

        assert table_width(table) <= table.scrollable_content_region.width
        assert table.max_scroll_x == 0
        lines = shown_lines(table)
        assert lines[0].endswith("Value")
        for line, value in zip(lines[1:], values, strict=True):
            assert line.endswith(f" {value}"), line
        ship, _victim, system = (str(cell) for cell in table.get_row_at(0)[2:5])
        if size[0] >= 120:
            assert system == SYSTEM_NAME, "a wide screen shows more"
            assert len(ship) > len(SYSTEM_NAME)
        else:
            assert system.endswith("…")
            assert ship.endswith("…")


def recent_item(killmail_id: int, when: dt.datetime, value: float) -> RecentKillmail:
    return RecentKillmail(
        role="kill",
        killmail_id=killmail_id,
        killmail_time=when,
        solar_system_id=JITA,
        solar_system_name=SYSTEM_NAME,
        victim_character_id=None,
        victim_corporation_id=98_000_842,
        victim_alliance_id=None,
        victim_ship_type_id=RIFTER,
        ship_name=SHIP_NAME,
        total_value=value,
        attacker_count=1,
        victim_name=VICTIM_NAME,
    )


async def test_recent_refill_narrows_names() -> None:
    """A newer row of another year refilled the table with names cut
    narrower, but the name columns stayed as wide as before, so the Value
    column was pushed past the edge."""
    app = RecentApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(RecentTable)
        first = [recent_item(1, BASE, VALUES[1])]
        table.show(first, BASE)
        await pilot.pause()
        assert table_width(table) <= table.scrollable_content_region.width
        # The newer row goes to the top, so the table is filled again.
        newer = recent_item(2, BASE + LATER, VALUES[2])
        table.show([newer, *first], BASE + LATER)
        await pilot.pause()
        assert str(table.get_row("2:kill")[0]).startswith(f"{(BASE + LATER).year}-")
        assert table_width(table) <= table.scrollable_content_region.width
        lines = shown_lines(table)
        assert lines[1].endswith(f" {format_isk(VALUES[2])}"), lines[1]
        assert lines[2].endswith(f" {format_isk(VALUES[1])}"), lines[2]
