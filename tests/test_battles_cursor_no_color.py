"""The cursor row of keyed tables differs from the header without colour."""

from __future__ import annotations

from typing import Any

import pytest
from rich.color import ColorSystem
from textual.geometry import Region

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.report import list_battles
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_fixtures import AMARR, brawl, fleet, insert_kills
from tests.test_battle_screens import battles_db, open_battles, open_report, settle

__all__ = ["battles_db"]


def line_codes(app: EvedmvApp, table: KeyedTable, line: int) -> set[str]:
    """Return the escape codes of one line of ``table`` as a 16-colour
    terminal receives them, after the app's NO_COLOR filter."""
    (strip,) = table.render_lines(Region(0, line, table.size.width, 1))
    segments = list(strip)
    for line_filter in app.get_line_filters():
        segments = line_filter.apply(segments, table.background_colors[1])
    return {
        segment.style.render("x", color_system=ColorSystem.STANDARD)
        for segment in segments
        if segment.style is not None and segment.text.strip()
    }


async def assert_cursor_distinct(app: EvedmvApp, pilot: Any, table: KeyedTable) -> None:
    """Check the header (line 0), the cursor row (line 1) and the next two
    rows, with the table focused and not."""
    assert table.row_count >= 3
    table.move_cursor(row=0)
    for focused in (True, False):
        if focused:
            table.focus()
        else:
            app.screen.set_focus(None)
        await pilot.pause()
        header = line_codes(app, table, 0)
        cursor = line_codes(app, table, 1)
        rows = line_codes(app, table, 2) | line_codes(app, table, 3)
        assert cursor, focused
        assert not cursor & header, (focused, cursor, header)
        assert not cursor & rows, (focused, cursor, rows)


@pytest.fixture
def no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.mark.usefixtures("no_color")
async def test_battles_cursor_not_like_header(
    battles_db: Database, settings: Settings
) -> None:
    """With NO_COLOR the cursor row was bold on grey, exactly as the header."""
    # A third battle, so the cursor row has rows of both stripes below it.
    side_a = fleet(6, 98_000_601, 99_000_601)
    side_b = fleet(6, 98_000_602, 99_000_602)
    insert_kills(battles_db, brawl(side_a, side_b, kills=12, system=AMARR))
    detect_all(battles_db)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        await assert_cursor_distinct(app, pilot, screen.query_one(KeyedTable))


@pytest.mark.usefixtures("no_color")
async def test_battles_cursor_reverse_on_first_frame(
    battles_db: Database, settings: Settings
) -> None:
    """The cursor row is reverse video as the list first shows, before any
    key moves the cursor or focus. The check above moves both first."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        table = screen.query_one(KeyedTable)
        assert table.has_focus
        assert table.cursor_row == 0
        header = line_codes(app, table, 0)
        cursor = line_codes(app, table, 1)
        # Bold and reverse, as the focused cursor of KeyedTable under NO_COLOR.
        (code,) = cursor
        assert code.startswith("\x1b[1;7;"), code
        assert not cursor & header


@pytest.mark.usefixtures("no_color")
async def test_report_tables_cursor_distinct(
    battles_db: Database, settings: Settings
) -> None:
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, biggest.battle_id)
        for key, table_id in (("4", "#battle-killmails"), ("5", "#battle-entities")):
            await pilot.press(key)
            await settle(pilot)
            table = screen.query_one(table_id, KeyedTable)
            await assert_cursor_distinct(app, pilot, table)
