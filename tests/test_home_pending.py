"""The Home screen's pending bodies at 80x24."""

from __future__ import annotations

import re

from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import read_jsonl
from tests.test_pending import make_pending

FIGURE_LINE = re.compile(r"^[A-Z][a-z]+( [a-z]+)* {2,}\S")
"""A line of the figures' column: a label, two or more spaces, a value."""


async def test_pending_hint_keeps_labels_aligned(
    settings: Settings,
    db: Database,
) -> None:
    """The command that fetches pending bodies followed their count on the
    same line, and at 80 columns its words wrapped back under the labels."""
    packages = list(
        read_jsonl(shared_file("killmails/real/zk_activity_fixtures.jsonl"))
    )
    make_pending(db, packages[:3])
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        overview = app.screen.query_one("#overview", Static)

        def shown() -> list[str]:
            return [
                overview.render_line(y).text.rstrip()
                for y in range(overview.size.height)
            ]

        # The text is set before the layout gives the widget its new height.
        for _ in range(200):
            lines = shown()
            if "" in lines and any("Bodies pending" in line for line in lines):
                break
            await pilot.pause(0.05)
        figures = lines[: lines.index("")]
        assert "Bodies pending     3" in figures
        assert all(FIGURE_LINE.match(line) for line in figures), figures
        hint = " ".join(lines[lines.index("") + 1 :])
        assert "'evedmv import --pending' fetches them" in hint
