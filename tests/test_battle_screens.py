"""Pilot tests of the battles and battle report screens at 80x24 and 120x40."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.timer import Timer
from textual.widgets import Input, TabbedContent
from textual.widgets._toast import Toast

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.overrides import clear_overrides, move_entity
from evedmv_tui.battles.recipe import read_recipe, recipe_of_battle, write_recipe
from evedmv_tui.battles.report import (
    BattleFilter,
    BattleList,
    BattleSummary,
    find_battles,
    list_battles,
    load_report,
    with_pending,
)
from evedmv_tui.config import Settings
from evedmv_tui.ingest.hooks import default_hooks
from evedmv_tui.ingest.importer import import_records
from evedmv_tui.screens import DatabaseConnected
from evedmv_tui.screens import battle_report as battle_report_screen
from evedmv_tui.screens import battles as battles_screen
from evedmv_tui.screens.battle_report import BattleReportScreen, _composition
from evedmv_tui.screens.battles import (
    BattlesScreen,
    describe_filter,
    describe_markers,
    describe_place,
    parse_filter,
)
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen
from evedmv_tui.widgets.plot import SeriesPlot
from evedmv_tui.widgets.status import message_log
from evedmv_tui.widgets.table import KeyedTable
from evedmv_tui.widgets.text import format_isk, time_format
from tests.conftest import assert_footer_fits
from tests.test_battle_fixtures import (
    PERIMETER,
    brawl,
    fleet,
    insert_kills,
    insert_static,
)

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def battles_db(db: Database) -> Database:
    """Two detected battles with names, one in Jita and one in Perimeter."""
    insert_static(db)
    side_a = fleet(6, 98_000_501, 99_000_501) + fleet(3, 98_000_502, 99_000_501)
    side_b = fleet(8, 98_000_503, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=30))
    insert_kills(db, brawl(side_a, side_b, kills=16, start=300, system=PERIMETER))
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES"
        " (99000501, 'alliance', '[b]Bracket[/b] Alliance'),"
        " (99000502, 'alliance', 'Pandemic Horde'),"
        " (98000501, 'corporation', 'First Corp'),"
        " (98000502, 'corporation', 'Second Corp')"
    )
    detect_all(db)
    return db


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()


async def open_battles(app: EvedmvApp, pilot: Any) -> BattlesScreen:
    """Wait for the app to connect, open the battles screen and return it."""
    await settle(pilot)
    await pilot.press("b")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, BattlesScreen)
    return screen


async def open_report(app: EvedmvApp, pilot: Any, battle_id: int) -> BattleReportScreen:
    """Wait for the app to connect, open one battle's report and return it."""
    await settle(pilot)
    app.open_screen("battle", battle_id)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, BattleReportScreen)
    return screen


@pytest.mark.parametrize("size", SIZES)
async def test_battles_table_lists_and_sorts(
    battles_db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        assert table.row_count == 2
        newest = list_battles(battles_db)[0]
        assert table.row_keys[0] == str(newest.battle_id)
        assert table.cursor_row == 0
        await pilot.press("s")
        await settle(pilot)
        biggest = max(list_battles(battles_db), key=lambda b: b.kills)
        assert table.row_keys[0] == str(biggest.battle_id)
        # The new order starts at its top, not at the battle selected before.
        assert table.cursor_row == 0
        assert "sorted by kills" in str(screen.query_one("#battles-summary").render())


async def test_battles_filter_and_refresh_keep_cursor(
    battles_db: Database, settings: Settings
) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        await pilot.press("down")
        selected = table.cursor_key
        await pilot.press("r")
        await settle(pilot)
        assert table.cursor_key == selected
        await pilot.press("f")
        await pilot.press(*"kills=20", "enter")
        await settle(pilot)
        assert table.row_count == 1
        summary = str(screen.query_one("#battles-summary").render())
        assert summary.startswith("1 battle | sorted by time")
        await pilot.press("f")
        # The open field shows its own keys, not the key that opened it.
        shown = [k for k, a in screen.active_bindings.items() if a.binding.show]
        assert "f" not in shown
        await pilot.press(*"bogus=1", "enter")
        await pilot.pause()
        assert table.row_count == 1
        # Escape closes the field and keeps the screen and its filter.
        field = screen.query_one("#battles-filter")
        await pilot.press("escape")
        assert app.screen is screen
        assert not field.has_class("editing")
        assert app.focused is table
        assert table.row_count == 1


async def test_filter_waits_for_connection(
    battles_db: Database, settings: Settings
) -> None:
    """A filter typed while disconnected is not applied, like a sort. The
    summary used to name it above the unfiltered rows, which it never loaded."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        db = app.db
        assert db is not None
        app.db = None
        await pilot.press("f")
        await pilot.press(*"system=Perimeter", "enter")
        await settle(pilot)
        summary = str(screen.query_one("#battles-summary").render())
        assert "filter system=Perimeter" not in summary
        assert screen.criteria.system is None
        assert table.row_count == 2
        texts = [m.text for m in message_log(app).messages]
        assert any("filtering needs the database" in text for text in texts), texts
        field = screen.query_one("#battles-filter", Input)
        assert field.has_class("editing")
        assert app.focused is field
        # Once connected, Enter in the field still open applies the filter.
        app.db = db
        await pilot.press("enter")
        await settle(pilot)
        summary = str(screen.query_one("#battles-summary").render())
        assert "filter system=Perimeter" in summary
        assert table.row_count == 1


async def test_export_writes_recipe_too(
    battles_db: Database, settings: Settings, tmp_path: Path
) -> None:
    """x writes the battle's recipe next to the report's Markdown and JSON,
    the file --save-recipe writes, and names all three files. The report
    JSON alone cannot rebuild the battle, as a recipe can."""
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        await pilot.press("x")
        await settle(pilot)
        texts = [m.text for m in message_log(app).messages]
    stem = settings.state_dir / "exports" / f"battle-{biggest.battle_id}"
    recipe = Path(f"{stem}.recipe.json")
    expected = tmp_path / "saved.json"
    write_recipe(recipe_of_battle(battles_db, biggest.battle_id), expected)
    assert recipe.read_text() == expected.read_text()
    assert read_recipe(recipe).systems == tuple(biggest.solar_system_ids)
    assert Path(f"{stem}.md").exists()
    assert Path(f"{stem}.json").exists()
    exported = [text for text in texts if text.startswith("exported")]
    assert exported == [
        f"exported {stem}.md, {stem}.json and the recipe {stem}.recipe.json"
    ]
    assert screen.report is not None


async def test_export_while_disconnected_skips_recipe(
    battles_db: Database, settings: Settings
) -> None:
    """Without a connection x writes the report files and a notice that the
    recipe, which comes from the database, was not written."""
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_report(app, pilot, biggest.battle_id)
        db = app.db
        app.db = None
        await pilot.press("x")
        await settle(pilot)
        app.db = db
        texts = [m.text for m in message_log(app).messages]
    stem = settings.state_dir / "exports" / f"battle-{biggest.battle_id}"
    assert Path(f"{stem}.md").exists()
    assert not Path(f"{stem}.recipe.json").exists()
    assert any(
        text.startswith(f"exported {stem}.md and {stem}.json; the recipe needs")
        for text in texts
    ), texts


async def test_battles_of_one_system(battles_db: Database, settings: Settings) -> None:
    """Opened for a system, as a system's search hit does, the list shows the
    battles there, and the filter field starts with that filter."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("battles", "Perimeter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BattlesScreen)
        assert [b.system_names for b in screen.rows] == [["Perimeter"]]
        assert screen.query_one("#battles-filter", Input).value == "system=Perimeter"
        app.pop_screen()
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        every = app.screen
        assert isinstance(every, BattlesScreen)
        assert len(every.rows) == 2


def pending_polls(screen: BattlesScreen) -> list[Timer]:
    """Return the screen's timers that will still call its poll."""
    found = []
    for timer in screen._timers:
        callback = timer._callback
        # set_timer wraps its callback as partial(screen.call_next, callback).
        if isinstance(callback, functools.partial):
            callback = callback.args[0]
        running = timer._task is not None and not timer._task.done()
        if callback == screen._poll and running:
            found.append(timer)
    return found


async def test_refreshes_keep_one_poll_timer(
    battles_db: Database, settings: Settings
) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        assert len(pending_polls(screen)) == 1
        for _ in range(3):
            await pilot.press("r")
            await settle(pilot)
        await pilot.press("f")
        await pilot.press(*"kills=20", "enter")
        await settle(pilot)
        assert screen.query_one(KeyedTable).row_count == 1
        assert len(pending_polls(screen)) == 1


async def test_poll_loads_once_per_period(
    battles_db: Database, settings: Settings
) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        for _ in range(3):
            await pilot.press("r")
            await settle(pilot)
        loads: list[int] = []
        original = screen.load_data

        def counted_load() -> None:
            loads.append(1)
            original()

        screen.load_data = counted_load  # type: ignore[method-assign]
        [timer] = pending_polls(screen)
        # One firing of the one timer is one poll.
        await timer._tick(next_timer=0.0, count=1)
        await settle(pilot)
        assert len(loads) == 1


async def test_filter_error_with_markup_shown_verbatim(
    battles_db: Database, settings: Settings
) -> None:
    """A filter such as ``[/]`` is shown as typed in the error, not parsed."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_battles(app, pilot)
        await pilot.press("f")
        await pilot.press(*"[/]=1", "enter")
        await settle(pilot)
        assert app.is_running
        assert isinstance(app.screen, BattlesScreen)
        notes = [n for n in app._notifications if n.title == "invalid filter"]
        assert [n.message for n in notes] == [
            "unknown filter '[/]'; the filters are since, until, kills, pilots,"
            " isk, system, region"
        ]
        toasts = [str(t.render()) for t in app.screen.query(Toast)]
        assert any("unknown filter '[/]'" in text for text in toasts)


def zkb_api_document(kill: Kill) -> dict[str, Any]:
    """Return ``kill`` as a zKillboard API document: ESI fields and a zkb block."""
    attackers = [
        {
            "character_id": kill.attacker_character_ids[i],
            "corporation_id": kill.attacker_corporation_ids[i],
            "alliance_id": kill.attacker_alliance_ids[i],
            "ship_type_id": kill.attacker_ship_type_ids[i],
            "damage_done": kill.attacker_damage[i],
            "final_blow": kill.attacker_final_blows[i],
            "security_status": 0.0,
        }
        for i in range(len(kill.attacker_damage))
    ]
    return {
        "killmail_id": kill.killmail_id,
        "killmail_time": kill.killmail_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "solar_system_id": kill.solar_system_id,
        "victim": {
            "character_id": kill.victim_character_id,
            "corporation_id": kill.victim_corporation_id,
            "alliance_id": kill.victim_alliance_id,
            "ship_type_id": kill.victim_ship_type_id,
            "damage_taken": sum(kill.attacker_damage),
            "items": [],
        },
        "attackers": attackers,
        "zkb": {
            "hash": f"{kill.killmail_id:040x}",
            "totalValue": kill.total_value,
            "droppedValue": kill.dropped_value,
            "npc": False,
        },
    }


def import_kills(db: Database, kills: list[Kill]) -> None:
    """Import ``kills`` through the importer, which runs detection per batch."""
    summary = import_records(
        db,
        [zkb_api_document(k) for k in kills],
        source="zkb-api",
        after_batch=default_hooks(),
    )
    assert summary.inserted == len(kills)
    assert summary.rejected == 0


async def test_new_kills_refresh_in_place(db: Database, settings: Settings) -> None:
    """New battles and kills show up while the cursor and scroll stay put."""
    insert_static(db)
    side_a = fleet(6, 98_000_801, 99_000_801)
    side_b = fleet(6, 98_000_802, 99_000_802)
    # No other test fixture writes killmails in this month, so the importer
    # creates its partitions itself.
    base = dt.datetime(2022, 1, 3, 0, 0, tzinfo=dt.UTC)
    hours = 3 * 60
    fights = [
        brawl(side_a, side_b, kills=12, start=n * hours, base=base) for n in range(30)
    ]
    import_kills(db, [k for fight in fights for k in fight])
    assert len(list_battles(db)) == 30

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        assert table.row_count == 30

        # Scroll down, then put the cursor mid-view: the new row at the top
        # shifts it one line down, still in view, so the table need not scroll.
        await pilot.press(*["down"] * 25, *["up"] * 8)
        await pilot.pause()
        assert table.scroll_y > 0
        assert table.cursor_row == 17
        selected = table.cursor_key
        scroll = table.scroll_y
        assert selected is not None
        battle_id = int(selected)

        # Five more kills right after the selected battle's last one, and one
        # new fight after all the others.
        stored = {b.battle_id: b for b in list_battles(db)}
        before_ids = set(stored)
        before = stored[battle_id]
        after_end = (before.end_time - base).total_seconds() / 60 + 0.5
        grown = brawl(side_a, side_b, kills=5, start=after_end, base=base)
        newest = brawl(side_a, side_b, kills=14, start=30 * hours, base=base)
        import_kills(db, grown + newest)
        battles = {b.battle_id: b for b in list_battles(db)}
        assert len(battles) == 31
        assert battles[battle_id].kills == 17

        screen._poll()
        await settle(pilot)
        assert table.row_count == 31
        assert table.cursor_key == selected
        assert table.scroll_y == scroll
        assert str(table.get_cell(selected, "kills")) == "17"
        newest_id = max(battles, key=lambda b: battles[b].start_time)
        assert newest_id not in before_ids
        assert table.row_keys[0] == str(newest_id)
        assert str(table.get_cell(str(newest_id), "kills")) == "14"


@pytest.mark.parametrize("size", SIZES)
async def test_report_opens_and_moves_entity(
    battles_db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=size) as pilot:
        await open_battles(app, pilot)
        await pilot.press("s", "up", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BattleReportScreen)
        assert screen.battle_id == biggest.battle_id
        assert screen.report is not None
        header = str(screen.query_one("#battle-header").render())
        assert "30 kills" in header
        footer_actions = {b.binding.action for b in screen.active_bindings.values()}
        assert "export" in footer_actions
        assert "reset_sides" not in footer_actions
        await pilot.press("5")
        await pilot.pause()
        footer_actions = {b.binding.action for b in screen.active_bindings.values()}
        assert {"move(1)", "move_new", "reset_sides"} <= footer_actions
        entities = screen.query_one("#battle-entities", KeyedTable)
        entities.focus()
        corporation = "corporation:98000502"
        entities.move_cursor(row=entities.row_keys.index(corporation))
        before = next(e for e in screen.report.entities if e.entity_id == 98000502)
        enemy = next(e for e in screen.report.entities if e.entity_id == 99000502)
        assert before.side_no + 1 == enemy.side_no
        await pilot.press("right_square_bracket")
        await settle(pilot)
        after = next(e for e in screen.report.entities if e.entity_id == 98000502)
        enemy = next(e for e in screen.report.entities if e.entity_id == 99000502)
        # Sides are renumbered after the move, so the side is checked by who
        # is on it.
        assert after.side_no == enemy.side_no
        assert after.overridden
        await pilot.press("x")
        await pilot.pause()
        exported = settings.state_dir / "exports" / f"battle-{biggest.battle_id}.md"
        assert "Pandemic Horde" in exported.read_text()
        await pilot.press("u")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        reset = next(e for e in screen.report.entities if e.entity_id == 98000502)
        assert reset.side_no == before.side_no
        assert not any(e.overridden for e in screen.report.entities)
        await pilot.press("u")
        await pilot.pause()
        assert app.screen is screen


@pytest.mark.parametrize("size", SIZES)
async def test_timeline_toggles_kills_and_isk(
    battles_db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=size) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        assert screen.report is not None
        timeline = screen.report.metrics["timeline"]
        plot = screen.query_one(SeriesPlot)
        await pilot.press("3")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "timeline"
        assert plot.plot_title == "Kills per minute, by losing side"
        kills = {name: [y for _, y in points] for name, points in plot.series.items()}
        assert kills == {f"side {n}": v for n, v in timeline["kills"].items()}
        assert sum(sum(v) for v in kills.values()) == 30
        await pilot.press("i")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "timeline"
        assert plot.plot_title == "ISK lost per minute (millions), by losing side"
        isk = {name: [y for _, y in points] for name, points in plot.series.items()}
        expected = {
            f"side {n}": [value / 1e6 for value in values]
            for n, values in timeline["isk"].items()
        }
        assert isk == expected
        assert sum(sum(v) for v in isk.values()) == pytest.approx(300.0)
        assert plot.size.height >= 10
        await pilot.press("i")
        await pilot.pause()
        assert plot.plot_title == "Kills per minute, by losing side"


async def test_timeline_key_keeps_measure_from_other_tabs(
    battles_db: Database, settings: Settings
) -> None:
    """i on another tab shows the timeline in the measure it had, and only
    i on the timeline tab switches it. i used to switch the measure from
    every tab, so a user who wanted the timeline landed on ISK."""
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        tabs = screen.query_one(TabbedContent)
        plot = screen.query_one(SeriesPlot)
        kills_title = "Kills per minute, by losing side"
        isk_title = "ISK lost per minute (millions), by losing side"
        assert tabs.active == "sides"
        footer = screen.active_bindings["i"].binding
        assert (footer.action, footer.description) == ("show_timeline", "Timeline")
        await pilot.press("i")
        await pilot.pause()
        assert tabs.active == "timeline"
        assert plot.plot_title == kills_title
        footer = screen.active_bindings["i"].binding
        assert (footer.action, footer.description) == ("toggle_timeline", "Kills/ISK")
        assert_footer_fits(app)
        await pilot.press("i")
        await pilot.pause()
        assert plot.plot_title == isk_title
        for tab in ("1", "2", "4", "5"):
            await pilot.press(tab)
            await pilot.pause()
            assert_footer_fits(app)
            await pilot.press("i")
            await pilot.pause()
            assert tabs.active == "timeline", tab
            assert plot.plot_title == isk_title, tab


def test_names_with_markup_are_shown_verbatim() -> None:
    """A name like ``[b]x[/b]`` must print as written, not turn bold or crash."""
    from rich.text import Text

    from evedmv_tui.screens.battle_report import _side_text

    class FakeReport:
        def side_label(self, number: int) -> str:
            return "[b]Bracket[/b] Alliance"

        def name(self, entity_id: int) -> str:
            return "[red]pilot"

        def losses_without_value(self, side_no: int) -> int:
            return 0

    side = {
        "side": 1,
        "third_party": False,
        "efficiency": 0.5,
        "pilots": 3,
        "ships_fielded": 3,
        "ships_lost": 1,
        "isk_lost": 1.0,
        "isk_destroyed": 1.0,
        "loot_dropped": 0.0,
        "roles_present": {},
        "roles_lost": {},
        "top_damage": [[1, 10]],
    }
    text = _side_text(FakeReport(), side)  # type: ignore[arg-type]
    assert isinstance(text, Text)
    assert "[b]Bracket[/b] Alliance" in text.plain
    assert "[red]pilot" in text.plain


def test_parse_filter() -> None:
    criteria = parse_filter("system=New_Caldari kills=20 isk=1e9 since=2021-11-27")
    assert criteria.system == "New Caldari"
    assert criteria.min_kills == 20
    assert criteria.min_isk == 1e9
    assert criteria.since is not None
    assert parse_filter("isk=7.36b").min_isk == pytest.approx(7.36e9)
    assert parse_filter("isk=800M").min_isk == pytest.approx(8e8)
    with pytest.raises(ValueError, match="the filters are since, until"):
        parse_filter("colour=red")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("since=banana", "invalid time 'banana'"),
        ("since=99999999w", "invalid age '99999999w'"),
        ("until=9999999999999w", "invalid age"),
        ("kills=-5", "kills: invalid value '-5'"),
        ("kills=99999999999999999999999", "from 0 to 2,147,483,647"),
        ("pilots=many", "pilots: invalid value 'many': give a whole number"),
        ("isk=nan", "isk: invalid ISK amount 'nan': give a number of 0 or more"),
        ("isk=-1e9", "invalid ISK amount '-1e9'"),
        ("isk=5x", "such as 1e9, 2.5b or 800m"),
        ("region=The Forge", "write a space in a name as _"),
        (
            "since=2025-01-02 until=2025-01-01",
            "since=2025-01-02T00:00Z is not before until=2025-01-01T00:00Z",
        ),
    ],
)
def test_parse_filter_rejects_bad_values(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_filter(text)


async def test_moves_in_a_burst_apply_in_order(
    battles_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Move keys pressed while a move is being stored wait for it, then act
    in order, each from the side the moves before it left the entity on."""
    gate = threading.Event()
    real_move = battle_report_screen.move_entity

    def slow_move(*args: Any) -> Any:
        gate.wait(10)
        return real_move(*args)

    monkeypatch.setattr(battle_report_screen, "move_entity", slow_move)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        assert screen.report is not None
        await pilot.press("5")
        table = screen.query_one("#battle-entities", KeyedTable)
        key = "corporation:98000502"
        table.move_cursor(row=table.row_keys.index(key))
        before = next(e for e in screen.report.entities if e.entity_id == 98000502)
        keys = ["right_square_bracket", "right_square_bracket", "left_square_bracket"]
        await pilot.press(*keys)
        gate.set()
        await settle(pilot)
        after = next(e for e in screen.report.entities if e.entity_id == 98000502)
        messages = [note.message for note in app._notifications]
    assert not [m for m in messages if "still being applied" in m]

    # Replay the keys one at a time: each works from the sides the move
    # before it left, which are renumbered after every move.
    clear_overrides(battles_db, biggest.battle_id)
    report = load_report(battles_db, biggest.battle_id)
    start = next(e for e in report.entities if e.entity_id == 98000502)
    assert start.side_no == before.side_no
    refused = []
    for step in (1, 1, -1):
        report = load_report(battles_db, biggest.battle_id)
        entity = next(e for e in report.entities if e.entity_id == 98000502)
        target = entity.side_no + step
        if 1 <= target <= len(report.sides):
            move_entity(battles_db, biggest.battle_id, "corporation", 98000502, target)
        elif target > len(report.sides):
            refused.append(
                f"already on the last side, {len(report.sides)};"
                " n moves it to a new side"
            )
    report = load_report(battles_db, biggest.battle_id)
    expected = next(e for e in report.entities if e.entity_id == 98000502)
    assert after.side_no == expected.side_no
    assert after.overridden == expected.overridden
    for message in refused:
        assert message in messages


async def test_move_stops_at_first_and_last_side(
    battles_db: Database, settings: Settings
) -> None:
    """[ on side 1 and ] on the last side leave the entity where it is."""
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        assert screen.report is not None
        last = len(screen.report.sides)
        assert last >= 2
        await pilot.press("5")
        table = screen.query_one("#battle-entities", KeyedTable)
        cases = [(1, "left_square_bracket"), (last, "right_square_bracket")]
        for side_no, key in cases:
            entity = next(
                e
                for e in screen.report.entities
                if e.side_no == side_no and e.parent_id is None
            )
            row_key = f"{entity.entity_kind}:{entity.entity_id}"
            table.move_cursor(row=table.row_keys.index(row_key))
            await pilot.press(key)
            await settle(pilot)
            after = next(
                e for e in screen.report.entities if e.entity_id == entity.entity_id
            )
            assert after.side_no == side_no
            assert not after.overridden
        messages = [note.message for note in app._notifications]
        assert "already on side 1; n moves it to a new side" in messages
        expected = f"already on the last side, {last}; n moves it to a new side"
        assert expected in messages


async def test_entity_reason_cut_in_table_and_whole_below(
    battles_db: Database, settings: Settings
) -> None:
    """At 80 columns a long reason ends with an ellipsis in the table, and
    the line under it shows the selected entity's whole reason."""
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    move_entity(battles_db, biggest.battle_id, "corporation", 98_000_502, None)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        assert screen.report is not None
        moved = next(e for e in screen.report.entities if e.entity_id == 98_000_502)
        assert moved.reason.startswith("moved to side")
        await pilot.press("5")
        await pilot.pause()
        table = screen.query_one("#battle-entities", KeyedTable)
        key = "corporation:98000502"
        table.move_cursor(row=table.row_keys.index(key))
        await pilot.pause()
        cell = str(table.get_cell(key, "reason"))
        assert cell.endswith("…")
        assert moved.reason.startswith(cell[:-1])
        shown = str(screen.query_one("#entity-reason").render())
        assert shown.endswith(f": {moved.reason}")


async def test_help_lists_the_keys_of_other_tabs(
    battles_db: Database, settings: Settings
) -> None:
    """The footer leaves out the Entities tab's keys on other tabs; help
    lists them under that tab's name."""
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_report(app, pilot, biggest.battle_id)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        titles = [str(s.render()) for s in help_screen.query(".section-title")]
        texts = [str(s.render()) for s in help_screen.query(".help-bindings")]
        index = titles.index("Keys of the Entities tab")
        screen_keys = titles.index("Keys of Battle report")
        assert screen_keys < index
        for description in ("Side -", "Side +", "New side", "Undo"):
            assert description in texts[index]
            assert description not in texts[screen_keys]
        # i shows the timeline from this tab, and switches its measure there.
        timeline_keys = texts[titles.index("Keys of the Timeline tab")]
        assert "Kills/ISK" in timeline_keys
        assert "Kills/ISK" not in texts[screen_keys]
        assert "Timeline" in texts[screen_keys]


async def test_battles_help_explains_ongoing(
    battles_db: Database, settings: Settings
) -> None:
    """The ● note compares the time since the last kill with quiet_minutes."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_battles(app, pilot)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        notes = str(help_screen.query_one("#help-notes").render())
        unwrapped = " ".join(line.strip() for line in notes.splitlines())
        assert (
            "ongoing, because its last kill came less than quiet_minutes"
            " (a battle parameter) ago." in unwrapped
        )
        assert "more recent than" not in unwrapped


async def test_missing_battle_says_not_found(
    battles_db: Database, settings: Settings
) -> None:
    """An unknown battle id ends the loading state with the reason."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, 99_999_999)
        header = str(screen.query_one("#battle-header").render())
        assert "no battle has id 99999999" in header
        assert "Press b for the stored battles" in header
        assert "evedmv" not in header
        assert "loading" not in header
        assert screen.report is None
        # The report's keys leave the footer and do nothing without a report.
        footer_actions = {b.binding.action for b in screen.active_bindings.values()}
        assert "export" not in footer_actions
        assert "toggle_timeline" not in footer_actions
        await pilot.press("x", "5", "u", "n")
        await settle(pilot)
        assert app.screen is screen
        assert not (settings.state_dir / "exports").exists()


async def test_keys_do_nothing_while_terminal_is_too_small(
    battles_db: Database, settings: Settings
) -> None:
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        await pilot.press("5")
        await pilot.pause()
        entities = screen.query_one("#battle-entities", KeyedTable)
        entities.focus()
        entities.move_cursor(row=0)
        depth = len(app.screen_stack)
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert screen.too_small
        assert app.focused is None
        # Moving an entity, exporting, changing tabs or opening another
        # screen: none may act on content the size message hides.
        await pilot.press("down", "right_square_bracket", "x", "1", "b", "escape")
        await settle(pilot)
        assert len(app.screen_stack) == depth
        assert screen.report is not None
        assert not any(e.overridden for e in screen.report.entities)
        assert not (settings.state_dir / "exports").exists()
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "entities"
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not screen.too_small
        assert app.focused is entities
        assert entities.cursor_row == 0
        await pilot.press("1")
        await pilot.pause()
        assert tabs.active == "sides"


async def test_digit_keys_focus_tab_content(
    battles_db: Database, settings: Settings
) -> None:
    """After a digit, arrows and Enter must act on the rows of that tab.

    Focus used to stay on the tab strip, so Down did nothing and Enter opened
    the first killmail whatever row the user had moved to.
    """
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        assert screen.report is not None
        kills = screen.query_one("#battle-killmails", KeyedTable)
        await pilot.press("4")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "killmails"
        assert screen.focused is kills
        third = kills.row_keys[2]
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert getattr(app.screen, "entry_key", None) == ("killmail", int(third))

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        entities = screen.query_one("#battle-entities", KeyedTable)
        await pilot.press("5")
        await pilot.pause()
        assert screen.focused is entities
        await pilot.press("down")
        await pilot.pause()
        assert entities.cursor_row == 1
        kind, _, entity_id = entities.row_keys[1].partition(":")
        before = next(
            e
            for e in screen.report.entities
            if e.entity_kind == kind and e.entity_id == int(entity_id)
        )
        await pilot.press("right_square_bracket")
        await settle(pilot)
        after = next(
            e
            for e in screen.report.entities
            if e.entity_kind == kind and e.entity_id == int(entity_id)
        )
        assert after.overridden
        assert after.side_no != before.side_no

        await pilot.press("1")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "sides"
        # The sides scroll, so a report with many sides reads to its end.
        assert screen.focused is screen.query_one("#sides-scroll")
        await pilot.press("2")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "composition"


async def test_report_opened_while_disconnected_says_so(
    battles_db: Database, settings: Settings
) -> None:
    """Without a connection the header must not claim the report is loading."""
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        db = app.db
        assert db is not None
        app.db = None
        app.open_screen("battle", biggest.battle_id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BattleReportScreen)
        header = str(screen.query_one("#battle-header").render())
        assert "database is unavailable" in header
        assert "reloads when the dashboard reconnects" in header
        assert "loading" not in header
        app.db = db
        screen.post_message(DatabaseConnected())
        await settle(pilot)
        assert screen.report is not None
        assert "30 kills" in str(screen.query_one("#battle-header").render())


def test_composition_splits_sides_that_do_not_fit() -> None:
    """Six sides in 60 columns: no line is longer, and every side's
    figures show in a block of its own columns."""
    sides = [
        {
            "side": number,
            "ships_fielded_by_class": {"battleship": 120 + number, "logistics": 9},
            "ships_lost_by_class": {"battleship": 40, "interdictor": number},
        }
        for number in range(1, 7)
    ]
    report: Any = dataclasses.make_dataclass("Report", ["sides"])(sides)
    lines = _composition(report, 60).plain.splitlines()
    assert max(map(len, lines)) <= 60
    headers = [line.split() for line in lines if line.startswith("class")]
    assert len(headers) == 2
    assert [word for words in headers for word in words[1:] if word != "side"] == [
        str(number) for number in range(1, 7)
    ]
    battleships = [line.split()[1:] for line in lines if line.startswith("battleship")]
    assert [" ".join(row) for row in battleships] == [
        "121 / 40 122 / 40 123 / 40 124 / 40",
        "125 / 40 126 / 40",
    ]
    # In 77 columns, one block holds every side.
    wide = _composition(report, 77).plain.splitlines()
    assert sum(line.startswith("class") for line in wide) == 1


def test_filter_shown_in_the_words_that_set_it() -> None:
    text = "system=New_Caldari kills=20 isk=1e9 since=2021-11-27T18:00"
    assert describe_filter(parse_filter(text)) == (
        "since=2021-11-27T18:00Z system=New_Caldari kills=20 isk=1.00b"
    )
    assert describe_filter(parse_filter("")) == ""


@pytest.mark.parametrize(
    ("typed", "echoed"),
    [
        ("isk=1e10", "isk=10.00b"),
        ("isk=2.5b", "isk=2.50b"),
        ("isk=800m", "isk=800.00m"),
        ("isk=950", "isk=950"),
        ("isk=1234567", "isk=1234567"),
    ],
)
def test_filter_isk_shown_as_isk(typed: str, echoed: str) -> None:
    assert describe_filter(parse_filter(typed)) == echoed


async def test_unknown_place_in_filter_is_named(
    battles_db: Database, settings: Settings
) -> None:
    """A misspelt system read as "no battle matches", as if none happened
    there, while 'evedmv battles list --system' names the unknown place."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_battles(app, pilot)
        await pilot.press("f", *"system=Nowhere", "enter")
        await settle(pilot)
        summary = str(app.screen.query_one("#battles-summary").render())
        assert "no solar system named 'Nowhere' is stored" in summary
        assert "no battle matches" not in summary
        await pilot.press("f", "ctrl+u", *"system=Jita", "enter")
        await settle(pilot)
        summary = str(app.screen.query_one("#battles-summary").render())
        assert "is stored" not in summary


async def test_empty_list_says_why(battles_db: Database, settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_battles(app, pilot)
        await pilot.press("f", *"kills=9999", "enter")
        await settle(pilot)
        summary = str(app.screen.query_one("#battles-summary").render())
        assert "filter kills=9999" in summary
        assert "no battle matches: press f to change the filter" in summary
        # A time filter after every stored battle reports when the latest ended.
        latest = max(b.end_time for b in list_battles(battles_db))
        await pilot.press("f", "ctrl+u", *"since=6h", "enter")
        await settle(pilot)
        summary = str(app.screen.query_one("#battles-summary").render())
        assert (
            f"the latest battle ended {latest:%Y-%m-%d %H:%M} UTC:"
            " press f to look further back"
        ) in summary


async def test_report_reloads_with_r(battles_db: Database, settings: Settings) -> None:
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        assert "30 kills" in str(screen.query_one("#battle-header").render())
        # Four more kills in Jita a minute after the fight's last one.
        side_a = fleet(4, 98_000_501, 99_000_501)
        side_b = fleet(4, 98_000_503, 99_000_502)
        insert_kills(battles_db, brawl(side_a, side_b, kills=4, start=16.0))
        detect_all(battles_db)
        (grown,) = [b for b in list_battles(battles_db) if b.kills == 34]
        assert grown.battle_id == biggest.battle_id
        await pilot.press("r")
        await settle(pilot)
        assert "34 kills" in str(screen.query_one("#battle-header").render())


@pytest.fixture
def long_names_db(battles_db: Database) -> Database:
    """The two battles, with system and region names as long as real ones get."""
    battles_db.execute(
        "UPDATE solar_systems SET solar_system_name = CASE solar_system_id"
        " WHEN 30000142 THEN 'Nourvukaiken Prime' ELSE 'Kubinen Outer Ring' END"
        " WHERE solar_system_id IN (30000142, 30000144)"
    )
    battles_db.execute(
        "UPDATE regions SET region_name = 'The Outer Passage'"
        " WHERE region_id = 10000002"
    )
    return battles_db


def narrow_columns(table: KeyedTable) -> list[str]:
    """Return the labels of columns narrower than their widest cell or label."""
    narrow = []
    for index, column in enumerate(table.ordered_columns):
        cells = [str(table.get_row_at(row)[index]) for row in range(table.row_count)]
        widest = max(len(text) for text in [str(column.label), *cells])
        if column.get_render_width(table) - 2 * table.cell_padding < widest:
            narrow.append(str(column.label))
    return narrow


def table_lines(screen: BattlesScreen) -> list[str]:
    table = screen.query_one(KeyedTable)
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.mark.parametrize("size", SIZES)
async def test_battles_table_fits_the_terminal(
    long_names_db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    """Every column shows without scrolling sideways, ISK and Sides whole.

    At 80 columns the table was wider than the terminal: ISK was cut in the
    middle of a value and Sides was off screen.
    """
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        assert table.row_count == 2
        # DataTable measures new cells when the app is next idle.
        for _ in range(100):
            if not narrow_columns(table):
                break
            await pilot.pause(0.05)
        assert narrow_columns(table) == []
        assert table.max_scroll_x == 0
        lines = table_lines(screen)
        assert lines[0].rstrip().endswith("Sides")
        for line, key in zip(lines[1:], table.row_keys, strict=False):
            isk = str(table.get_cell(key, "isk"))
            sides = str(table.get_cell(key, "sides"))
            assert isk.endswith("m")
            assert re.search(rf" {re.escape(isk)} +{sides}$", line.rstrip()), line
        place = str(table.get_row_at(0)[2])
        if size[0] == 80:
            assert place.endswith("\N{HORIZONTAL ELLIPSIS}")
        else:
            assert place == "Kubinen Outer Ring (The Outer Passage)"


async def test_battles_end_goes_to_last_row(
    battles_db: Database, settings: Settings
) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_battles(app, pilot)
        table = app.screen.query_one(KeyedTable)
        first, last = table.row_keys[0], table.row_keys[-1]
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_key == last
        assert table.scroll_x == 0
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_key == first


async def test_long_filter_shown_whole(
    battles_db: Database, settings: Settings
) -> None:
    """A filter longer than the summary line wraps instead of being cut."""
    text = (
        "since=2021-11-27T00:00Z until=2021-11-28T00:00Z region=The_Forge"
        " kills=10 pilots=5"
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_battles(app, pilot)
        await pilot.press("f", *text, "enter")
        await settle(pilot)
        summary = app.screen.query_one("#battles-summary")
        rendered = " ".join(
            summary.render_line(y).text.strip() for y in range(summary.size.height)
        )
        assert "2 battles" in rendered
        assert f"filter {text}" in rendered
        assert app.screen.query_one(KeyedTable).row_count == 2


def summary_of(
    battle_id: int, kind: str, *, ongoing: bool = False, changed: bool = False
) -> BattleSummary:
    start = dt.datetime(2021, 11, 27, 18, 0, tzinfo=dt.UTC)
    return BattleSummary(
        battle_id=battle_id,
        start_time=start,
        end_time=start + dt.timedelta(minutes=20),
        solar_system_ids=[30000142, 30000144, 30000145],
        system_names=["Jita", "Perimeter", "New Caldari"],
        region_names=["The Forge"],
        kills=12,
        pilots=30,
        isk_destroyed=7.36e9,
        side_count=2,
        kind=kind,
        confidence=1.0,
        changed=changed,
        ongoing=ongoing,
        updated_at=start,
    )


def test_markers_explained_only_when_shown() -> None:
    fight = summary_of(1, "fight")
    one_sided = summary_of(2, "one-sided")
    ongoing = summary_of(3, "fight", ongoing=True)
    assert describe_markers([fight]) == ""
    assert describe_markers([fight, one_sided]) == "2! = one-sided"
    assert describe_markers([ongoing, one_sided]) == "● = ongoing  2! = one-sided"


def test_place_names_every_system_that_fits() -> None:
    battle = summary_of(1, "fight")
    assert describe_place(battle, 60) == "Jita, Perimeter, New Caldari (The Forge)"
    assert describe_place(battle, 20) == "Jita +2 (The Forge)"
    assert describe_place(battle, 12) == "Jita +2 (Th\N{HORIZONTAL ELLIPSIS}"


async def test_one_sided_marker_in_summary_and_help(
    battles_db: Database, settings: Settings
) -> None:
    battles_db.execute("UPDATE battles SET kind = 'one-sided'")
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_battles(app, pilot)
        summary = str(app.screen.query_one("#battles-summary").render())
        assert "2! = one-sided" in summary
        await pilot.press("question_mark")
        await pilot.pause()
        notes = str(app.screen.query_one("#help-notes").render())
        assert "2! means one-sided" in notes


async def test_battles_while_disconnected_say_so(
    battles_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a connection the list shows why it is empty, and reloads later."""
    from evedmv_tui import app as app_module

    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        db = app.db
        assert db is not None
        app.connection_lost(db, "server closed the connection unexpectedly")
        await pilot.pause()
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BattlesScreen)
        summary = str(screen.query_one("#battles-summary").render())
        assert "database is unavailable" in summary
        assert "reloads when the dashboard reconnects" in summary
        assert "none yet" not in summary
        app.action_reconnect()
        for _ in range(200):
            if app.db is not None:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        assert screen.query_one(KeyedTable).row_count == 2
        summary = str(screen.query_one("#battles-summary").render())
        assert "unavailable" not in summary

        assert app.db is not None
        app.connection_lost(app.db, "server closed the connection unexpectedly")
        await pilot.pause()
        summary = str(screen.query_one("#battles-summary").render())
        assert "database is unavailable" in summary


@pytest.fixture
def four_sides_db(db: Database) -> Database:
    """One battle whose two moved corporations make four sides."""
    insert_static(db)
    side_a = (
        fleet(3, 98_000_701, None)
        + fleet(3, 98_000_702, None)
        + fleet(3, 98_000_703, None)
    )
    side_b = fleet(8, 98_000_704, None)
    insert_kills(db, brawl(side_a, side_b, kills=30))
    detect_all(db)
    [battle] = list_battles(db)
    move_entity(db, battle.battle_id, "corporation", 98_000_702, None)
    move_entity(db, battle.battle_id, "corporation", 98_000_703, None)
    return db


def stored_overrides(db: Database) -> list[tuple[Any, ...]]:
    return db.fetch_all("SELECT entity_kind, entity_id FROM battle_side_overrides")


@pytest.mark.parametrize("tab", ["1", "2", "3", "4"])
async def test_entity_keys_act_on_entities_tab_only(
    battles_db: Database, settings: Settings, tab: str
) -> None:
    """``[``, ``]`` and ``n`` must not move the hidden entities table's row.

    They used to act on every tab: the row under the entities table's cursor
    moved to another side, and the move was stored, with no entity shown.
    """
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        await pilot.press(tab)
        await pilot.pause()
        for key in ("left_square_bracket", "right_square_bracket", "n"):
            assert key not in screen.active_bindings
        await pilot.press("right_square_bracket", "left_square_bracket", "n")
        await settle(pilot)
        assert stored_overrides(battles_db) == []
        assert screen.report is not None
        assert not any(e.overridden for e in screen.report.entities)

        await pilot.press("5")
        await pilot.pause()
        for key in ("left_square_bracket", "right_square_bracket", "n"):
            assert key in screen.active_bindings
        # One of two corporations on its side: alone, n would store nothing.
        entities = screen.query_one("#battle-entities", KeyedTable)
        entities.move_cursor(row=entities.row_keys.index("corporation:98000502"))
        await pilot.press("n")
        await settle(pilot)
        assert len(stored_overrides(battles_db)) == 1


@pytest.mark.parametrize("keys", [(), ("4", "1")])
async def test_sides_tab_scrolls_by_keyboard(
    four_sides_db: Database, settings: Settings, keys: tuple[str, ...]
) -> None:
    """Four stacked sides at 80x24 scroll with the arrows, page keys, Home, End.

    The report used to open with focus on the tab strip, where these keys do
    nothing, so the third and fourth sides were out of reach.
    """
    app = EvedmvApp(settings)
    [battle] = list_battles(four_sides_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle.battle_id)
        assert screen.report is not None
        assert len(screen.report.sides) == 4
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        scroll = screen.query_one("#sides-scroll")
        assert screen.query_one(TabbedContent).active == "sides"
        assert scroll.max_scroll_y > 0
        await pilot.press("down")
        await pilot.pause()
        assert scroll.scroll_y == 1
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("home")
        await pilot.pause()
        assert scroll.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert scroll.scroll_y > 1


async def test_sort_covers_battles_past_the_limit(
    battles_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sort ranks every stored battle, and the count shows what the limit cut.

    The screen used to load the newest battles up to the limit, sort only
    those and count them as all, so a larger older battle never showed.
    """
    monkeypatch.setattr(battles_screen, "LIST_LIMIT", 1)
    stored = list_battles(battles_db)
    newest = stored[0]
    biggest = max(stored, key=lambda b: b.kills)
    assert biggest.battle_id != newest.battle_id
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        summary = screen.query_one("#battles-summary")
        assert table.row_keys == [str(newest.battle_id)]
        assert str(summary.render()).startswith("1 of 2 battles | sorted by time")
        await pilot.press("s")
        await settle(pilot)
        assert table.row_keys == [str(biggest.battle_id)]
        assert str(summary.render()).startswith("1 of 2 battles | sorted by kills")
        await pilot.press("f")
        await pilot.press(*"kills=20", "enter")
        await settle(pilot)
        assert table.row_keys == [str(biggest.battle_id)]
        assert str(summary.render()).startswith("1 battle | sorted by kills")


def test_find_battles_orders_every_match(battles_db: Database) -> None:
    stored = list_battles(battles_db)
    measures = {
        "start": lambda b: b.start_time,
        "kills": lambda b: b.kills,
        "pilots": lambda b: b.pilots,
        "isk": lambda b: b.isk_destroyed,
        "duration": lambda b: b.duration,
    }
    for order, measure in measures.items():
        found = find_battles(battles_db, BattleFilter(limit=1), order)
        expected = max(stored, key=lambda b: (measure(b), b.battle_id))
        assert found.matches == 2, order
        assert [b.battle_id for b in found.battles] == [expected.battle_id], order
    with pytest.raises(ValueError, match="unknown battle order"):
        find_battles(battles_db, None, "size")


async def test_first_load_shows_loading(
    battles_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the first load ends the count reads loading, not ``0 battles``."""
    release = threading.Event()

    def held_find(*args: Any) -> BattleList:
        release.wait(timeout=30)
        return find_battles(*args)

    monkeypatch.setattr(battles_screen, "find_battles", held_find)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BattlesScreen)
        summary = screen.query_one("#battles-summary")
        assert str(summary.render()).startswith("loading battles | sorted by time")
        assert "none yet" not in str(summary.render())
        release.set()
        await settle(pilot)
        assert str(summary.render()).startswith("2 battles | sorted by time")


async def test_battles_of_past_year_show_year(
    battles_db: Database, settings: Settings
) -> None:
    """Battles that all fall in one earlier year show that year.

    The column showed month and day only, so a 2021 battle read as one of
    this year.
    """
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        starts = [str(table.get_row_at(row)[1]) for row in range(table.row_count)]
        assert starts == ["2021-11-27 23:00", "2021-11-27 18:00"]


def test_time_shows_year_when_rows_span_years() -> None:
    late = summary_of(1, "fight")
    early = dataclasses.replace(
        summary_of(2, "fight"), start_time=dt.datetime(2020, 5, 1, tzinfo=dt.UTC)
    )
    assert time_format([late.start_time]) == "%m-%d %H:%M"
    assert time_format([late.start_time, early.start_time]) == "%Y-%m-%d %H:%M"


async def test_third_party_efficiency_names_its_opponents(
    four_sides_db: Database, settings: Settings
) -> None:
    """A third party's efficiency names the sides it counts.

    It counts only the principal sides' ships, so a bare ``0.0%`` next to
    the ISK it destroyed read as an error.
    """
    app = EvedmvApp(settings)
    [battle] = list_battles(four_sides_db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_report(app, pilot, battle.battle_id)
        assert screen.report is not None
        texts = [str(side.render()) for side in screen.query(".battle-side")]
        assert len(texts) == 4
        for side, text in zip(screen.report.sides, texts, strict=True):
            efficiency = side["efficiency"]
            value = "-" if efficiency is None else f"{efficiency:.1%}"
            assert f"efficiency {value}" in text
            if side["third_party"]:
                # The moved corporations of A fought only B's ships.
                opponents = side["opponents"]
                assert len(opponents) == 1
                assert f"against side {opponents[0]}\n" in text
        assert sum(side["third_party"] for side in screen.report.sides) == 2


async def test_sides_restack_on_resize(
    four_sides_db: Database, settings: Settings
) -> None:
    """Sides stack when the terminal narrows and sit side by side when it widens.

    The layout used to be chosen once, when the report loaded.
    """
    app = EvedmvApp(settings)
    [battle] = list_battles(four_sides_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_screen("battle", battle.battle_id)
        await settle(pilot)
        sides = app.screen.query_one("#battle-sides")
        assert not sides.has_class("-stacked")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert sides.has_class("-stacked")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not sides.has_class("-stacked")


LABELS = ("pilots", "fielded", "lost", "destroyed", "loot", "efficiency")


def assert_labels_keep_values(lines: list[str], width: int) -> None:
    for line in lines:
        assert len(line.rstrip()) <= width, line
        # A label at the end of a line has lost its value to the next line.
        assert not line.rstrip().endswith(LABELS), line
        assert not line.rstrip().endswith(("ISK lost", "top damage:")), line


def test_side_text_keeps_labels_with_values() -> None:
    """In a narrow column a label stays on the line of its value, and a
    title too long for one line puts the side's name, whole, on the next.

    Three sides at 80 columns used to read ``efficiency 41.4%  loot`` on one
    line and ``3.75b`` on the next, and wrapped ``(third`` from ``party)``.
    """
    from evedmv_tui.screens.battle_report import _side_text

    class FakeReport:
        def side_label(self, number: int) -> str:
            return "#99004901 +12"

        def name(self, entity_id: int) -> str:
            return f"#{entity_id}"

        def losses_without_value(self, side_no: int) -> int:
            return 1

    side = {
        "side": 3,
        "third_party": True,
        "opponents": [1, 2],
        "efficiency": 0.414,
        "pilots": 1_234,
        "ships_fielded": 1_301,
        "ships_lost": 99,
        "isk_lost": 3.75e9,
        "isk_destroyed": 2.5e9,
        "loot_dropped": 3.75e9,
        "roles_present": {"logistics": 92, "heavy_interdictor": 4},
        "roles_lost": {"logistics": 82},
        "top_damage": [[2116613377, 10], [94341483, 5], [95238326, 1]],
    }
    width = 24
    lines = _side_text(FakeReport(), side, width).plain.splitlines()  # type: ignore[arg-type]

    assert lines[:2] == ["Side 3 (third party)", "#99004901 +12"]
    assert_labels_keep_values(lines, width)
    assert "pilots 1,234" in lines
    assert "fielded 1,301  lost 99" in lines
    assert "loot 3.75b" in "\n".join(lines)
    assert "ISK lost 3.75b+" in lines
    assert "efficiency 41.4%" in lines
    assert "against sides 1, 2" in lines
    assert "roles (fielded/lost):" in lines
    assert "logistics 92/82," in lines
    assert "heavy interdictor 4/0" in lines
    assert "heavy_interdictor" not in "\n".join(lines)
    assert "top damage: #2116613377," in lines


def test_side_text_explains_zero_pilots() -> None:
    """A side that lost only ships without a pilot explains its 0 pilots."""
    from evedmv_tui.screens.battle_report import _side_text

    class FakeReport:
        def side_label(self, number: int) -> str:
            return "#98000001"

        def name(self, entity_id: int) -> str:
            return f"#{entity_id}"

        def losses_without_value(self, side_no: int) -> int:
            return 0

    side = {
        "side": 2,
        "third_party": False,
        "efficiency": 0.0,
        "pilots": 0,
        "ships_fielded": 250,
        "ships_lost": 250,
        "isk_lost": 3.75e9,
        "isk_destroyed": 0.0,
        "loot_dropped": 0.0,
        "roles_present": {},
        "roles_lost": {},
        "top_damage": [],
    }
    wide = _side_text(FakeReport(), side, 80).plain.splitlines()  # type: ignore[arg-type]
    narrow = _side_text(FakeReport(), side, 26).plain.splitlines()  # type: ignore[arg-type]

    assert wide[1].startswith("pilots 0  (losses had no pilot)  fielded 250")
    assert "pilots 0" in narrow
    assert "(losses had no pilot)" in narrow


@pytest.mark.parametrize("no_color", [False, True])
async def test_timeline_sides_differ_by_marker(
    battles_db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    no_color: bool,
) -> None:
    """Each side of the timeline has a marker of its own, in the legend and
    the lines, so the sides differ without colour too."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        await pilot.press("3")
        await pilot.pause()
        plot = screen.query_one(SeriesPlot)
        rendered = plot.render()
        assert isinstance(rendered, Text)
        lines = rendered.plain.splitlines()
        legend = [line.strip() for line in lines if "side " in line]
        names = list(plot.series)
        assert len(names) >= 2
        markers = []
        for name in names:
            entry = next(line for line in legend if line.endswith(name))
            markers.append(entry.removesuffix(name).strip())
        assert len(set(markers)) == len(markers), legend
        plotted = "\n".join(lines[1:])
        for marker in markers:
            assert marker in plotted


async def test_three_sides_fit_their_columns(
    four_sides_db: Database, settings: Settings
) -> None:
    """Three sides side by side at 80x24: no side's line wraps."""
    [battle] = list_battles(four_sides_db)
    clear_overrides(four_sides_db, battle.battle_id)
    move_entity(four_sides_db, battle.battle_id, "corporation", 98_000_702, None)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle.battle_id)
        assert screen.report is not None
        assert len(screen.report.sides) == 3
        assert not screen.query_one("#battle-sides").has_class("-stacked")
        for side in screen.query(".battle-side"):
            width = side.content_size.width
            lines = str(side.render()).splitlines()
            assert lines[0].startswith("Side ")
            assert_labels_keep_values(lines, width)
            assert side.content_size.height >= len(lines)


async def test_enter_opens_entity_page(
    battles_db: Database, settings: Settings
) -> None:
    """Enter on a row of the entities tab did nothing, and the footer offered
    no enter: it opens that alliance's, corporation's or character's page."""
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        await pilot.press("5")
        await pilot.pause()
        entities = screen.query_one("#battle-entities", KeyedTable)
        assert screen.focused is entities
        assert_footer_fits(app)
        enter = screen.active_bindings["enter"]
        assert enter.binding.description == "Open"

        for key in ("corporation:98000502", "alliance:99000502"):
            entities.move_cursor(row=entities.row_keys.index(key))
            await pilot.press("enter")
            await settle(pilot)
            kind, _, entity_id = key.partition(":")
            assert getattr(app.screen, "entry_key", None) == (kind, int(entity_id))
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen


@pytest.fixture
def unvalued_db(db: Database) -> tuple[Database, Kill]:
    """Two detected battles; in the Perimeter one, a kill of a side-A ship
    has no ISK value. Returns the database and that kill."""
    insert_static(db)
    side_a = fleet(6, 98_000_701, 99_000_701)
    side_b = fleet(6, 98_000_702, 99_000_702)
    insert_kills(db, brawl(side_a, side_b, kills=12))
    perimeter = brawl(side_a, side_b, kills=10, start=300, system=PERIMETER)
    insert_kills(db, perimeter)
    # Odd kills are side A's losses. An import stores NULL for a killmail
    # that came without zKillboard values and has no priced type.
    unvalued = perimeter[1]
    assert unvalued.victim_alliance_id == 99_000_701
    db.execute(
        "UPDATE killmails SET total_value = NULL WHERE killmail_id = %s",
        (unvalued.killmail_id,),
    )
    detect_all(db)
    return db, unvalued


def cell_text(table: KeyedTable, key: str, column: int) -> str:
    cell = table.get_row(key)[column]
    return cell.plain if isinstance(cell, Text) else str(cell)


@pytest.mark.parametrize("size", SIZES)
async def test_report_marks_isk_without_value(
    unvalued_db: tuple[Database, Kill], settings: Settings, size: tuple[int, int]
) -> None:
    """The report's ISK left out a kill without a value and did not say so:
    the total ends in +, the header counts the kills, the losing side's ISK
    lost ends in +, and the kill list shows ? for that kill."""
    db, unvalued = unvalued_db
    [battle] = [b for b in list_battles(db) if b.system_names == ["Perimeter"]]
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        screen = await open_report(app, pilot, battle.battle_id)
        report = screen.report
        assert report is not None
        header = screen.query_one("#battle-header")
        text = str(header.render())
        assert f"{format_isk(report.isk_destroyed)}+ ISK" in text
        assert "1 of 10 kills has no ISK value" in text
        # The figures break between parts, so no line wraps.
        lines = text.splitlines()
        assert all(len(line) <= header.size.width for line in lines)
        assert header.size.height == len(lines)

        losing = report.losses_without_value
        assert sorted(losing(side["side"]) for side in report.sides) == [0, 1]
        for side, summary in zip(
            report.sides, screen.query(".battle-side"), strict=True
        ):
            lost = f"ISK lost {format_isk(side['isk_lost'])}"
            side_text = str(summary.render())
            assert lost in side_text
            if losing(side["side"]):
                assert f"{lost}+" in side_text
            else:
                assert f"{lost}+" not in side_text
            # Which side destroyed the kill is not in the report.
            assert f"destroyed {format_isk(side['isk_destroyed'])}+" not in side_text

        kills = screen.query_one("#battle-killmails", KeyedTable)
        assert cell_text(kills, str(unvalued.killmail_id), 4).strip() == "?"
        valued = next(k for k in report.killmails if k.total_value > 0)
        assert cell_text(kills, str(valued.killmail_id), 4).strip() == format_isk(
            valued.total_value
        )


async def test_report_without_missing_values_has_no_mark(
    unvalued_db: tuple[Database, Kill], settings: Settings
) -> None:
    db, _ = unvalued_db
    [battle] = [b for b in list_battles(db) if b.system_names == ["Jita"]]
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle.battle_id)
        assert screen.report is not None
        text = str(screen.query_one("#battle-header").render())
        assert f"{format_isk(battle.isk_destroyed)} ISK" in text
        assert "no ISK value" not in text
        for side, summary in zip(
            screen.report.sides, screen.query(".battle-side"), strict=True
        ):
            lost = f"ISK lost {format_isk(side['isk_lost'])}"
            assert lost in str(summary.render())
            assert f"{lost}+" not in str(summary.render())


async def test_battles_list_marks_isk_without_value(
    unvalued_db: tuple[Database, Kill], settings: Settings
) -> None:
    """The list's ISK column left out kills without a value and did not say
    so: the battle's ISK ends in +, and the summary and help explain it."""
    db, _ = unvalued_db
    battles = {b.system_names[0]: b for b in list_battles(db)}
    assert battles["Perimeter"].kills_without_value == 1
    assert battles["Jita"].kills_without_value == 0
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        isk = [key for key, _ in battles_screen.COLUMNS].index("isk")
        perimeter = battles["Perimeter"]
        jita = battles["Jita"]
        assert (
            cell_text(table, str(perimeter.battle_id), isk).strip()
            == format_isk(perimeter.isk_destroyed) + "+"
        )
        assert cell_text(table, str(jita.battle_id), isk).strip() == format_isk(
            jita.isk_destroyed
        )
        summary = str(screen.query_one("#battles-summary").render())
        assert summary.count("+ = some kills have no ISK value") == 1
        await pilot.press("question_mark")
        await pilot.pause()
        notes = str(app.screen.query_one("#help-notes").render())
        unwrapped = " ".join(line.strip() for line in notes.splitlines())
        assert "It ends in + when it leaves out kills that have no ISK value" in (
            unwrapped
        )


def test_markers_explain_isk_without_value() -> None:
    valued = summary_of(1, "fight")
    unvalued = dataclasses.replace(summary_of(2, "fight"), kills_without_value=3)
    assert describe_markers([valued]) == ""
    assert describe_markers([valued, unvalued]) == "+ = some kills have no ISK value"


def test_isk_column_marks_unvalued_kills() -> None:
    start_format = "%m-%d %H:%M"
    valued = battles_screen._row(summary_of(1, "fight"), 20, start_format)
    isk = [key for key, _ in battles_screen.COLUMNS].index("isk")
    assert valued[isk].plain.strip() == "7.36b"
    some = dataclasses.replace(summary_of(2, "fight"), kills_without_value=3)
    assert battles_screen._row(some, 20, start_format)[isk].plain.strip() == "7.36b+"
    every = dataclasses.replace(
        summary_of(3, "fight"), isk_destroyed=0.0, kills_without_value=12
    )
    assert battles_screen._row(every, 20, start_format)[isk].plain.strip() == "?"


def test_duration_column_uses_hours() -> None:
    """The list showed 3093m for a battle whose report printed 51h33."""
    long = summary_of(1, "fight")
    long = dataclasses.replace(
        long, end_time=long.start_time + dt.timedelta(hours=51, minutes=33)
    )
    duration = [key for key, _ in battles_screen.COLUMNS].index("duration")
    assert battles_screen._row(long, 20, "%m-%d %H:%M")[duration].plain == "51h33"


def test_header_breaks_between_figures(
    unvalued_db: tuple[Database, Kill],
) -> None:
    """With every note present, the figures line wrapped in the middle of a
    figure at 80 columns; it now breaks between figures."""
    db, _ = unvalued_db
    [battle] = [b for b in list_battles(db) if b.system_names == ["Perimeter"]]
    report = load_report(db, battle.battle_id)
    busy = dataclasses.replace(
        report,
        unclear=True,
        ongoing=True,
        changed=True,
        metrics=with_pending(report.metrics, 12),
    )
    lines = battle_report_screen._header(busy, 80).plain.splitlines()
    figures = " ".join(lines[1:])
    for part in (
        "10 kills, up to 12 more reported but not fetched",
        f"{format_isk(report.isk_destroyed)}+ ISK",
        "1 of 10 kills has no ISK value",
        "side split unclear",
        "changed after it closed",
    ):
        # Each figure stays whole on one line.
        assert any(part in line for line in lines[1:]), part
    assert "ongoing" in figures
    assert all(len(line) <= 80 for line in lines)
    # The header shows at most 4 lines: the place and three lines of figures.
    assert len(lines) <= 4


async def test_move_without_connection_says_it_was_not_stored(
    battles_db: Database, settings: Settings
) -> None:
    """A move pressed while disconnected only showed "not connected", with
    no word that the move was lost."""
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("battle", biggest.battle_id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BattleReportScreen)
        await pilot.press("5")
        entities = screen.query_one("#battle-entities", KeyedTable)
        entities.focus()
        entities.move_cursor(row=entities.row_keys.index("corporation:98000502"))
        db = app.db
        assert db is not None
        app.db = None
        await pilot.press("right_square_bracket")
        await settle(pilot)
        app.db = db
        texts = [m.text for m in message_log(app).messages]
        assert any("The move was not stored" in text for text in texts), texts
        assert stored_overrides(battles_db) == []
