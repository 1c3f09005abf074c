"""A side's ISK destroyed in a battle where no kill has an ISK value."""

from __future__ import annotations

import pytest

from evedmv_tui.battles.export import render
from tests.test_battles_format_marks import battle
from tests.test_battles_side_isk_marks import side_line


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_unvalued_battle_destroyed_is_unknown(fmt: str) -> None:
    """With no kill valued, every side's ISK destroyed read 0, a measured
    zero next to a battle total of ?."""
    report = battle(540)
    output = render(report, fmt)

    for number in (1, 2):
        line = side_line(output, fmt, number)
        destroyed = (
            line.split("ISK destroyed ")[1].split()[0]
            if fmt == "text"
            else (line.split("|")[6].strip())
        )
        assert destroyed == "?", line


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_partly_valued_battle_destroyed_is_shown(fmt: str) -> None:
    output = render(battle(12), fmt)

    assert "1.8b" in side_line(output, fmt, 1)
