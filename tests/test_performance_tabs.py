"""Pilot tests of the performance screen's tabs and dialogs at 80x24."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

import evedmv_tui.battles
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen, skip_leading_comments

BATTLES_LIST_SQL = Path(evedmv_tui.battles.__file__).parent / "sql/battles_list.sql"


async def test_confirm_shows_statement_after_comments() -> None:
    """The EXPLAIN ANALYZE confirmation of an app query showed only the
    comment that leads the query's file, never the statement."""
    query = BATTLES_LIST_SQL.read_text()
    assert query.startswith("--")
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(ConfirmScreen("Run it?", subject=query))
        await pilot.pause()
        shown = app.screen.query_one("#subject").render_line(0).text.strip()
        assert shown.startswith("SELECT b.battle_id, b.start_time")
        assert shown.endswith("…")


def test_skip_leading_comments_cases() -> None:
    cases = [
        ("-- a\n\n  -- b\nSELECT 1", "SELECT 1"),
        ("/* a /* nested */ still a */ SELECT 2", "SELECT 2"),
        ("  \n/* a */ -- b\n UPDATE t SET x = 1 -- c", "UPDATE t SET x = 1 -- c"),
        ("SELECT '--'", "SELECT '--'"),
        ("-- only a comment", "-- only a comment"),
        ("/* unterminated", "/* unterminated"),
    ]
    for sql, expected in cases:
        assert skip_leading_comments(sql) == expected, sql
