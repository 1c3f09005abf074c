"""Side headings of the battle report's Sides tab in narrow columns."""

from __future__ import annotations

import dataclasses

import pytest

from evedmv_tui.battles.export import THIRD_PARTY_MARK, VICTIMS_MARK
from evedmv_tui.battles.report import EntityRow
from evedmv_tui.screens.battle_report import SIDE_MIN_WIDTH, _side_text, _side_title
from tests.test_battles_format_marks import battle

LONG_NAME = "Goonswarm Federation of Very Long Names"


@pytest.mark.parametrize("mark", [THIRD_PARTY_MARK, VICTIMS_MARK])
def test_id_label_keeps_id_and_count(mark: str) -> None:
    """A side named by an id keeps the whole id, its +N and its mark at 80x24.

    The heading read ``Side 3: #990… (3rd party)``: four digits of the id
    were left and the ``+1`` was gone.
    """
    title = _side_title(3, "#99003214 +1", mark, SIDE_MIN_WIDTH)

    lines = title.splitlines()
    assert lines == [f"Side 3{mark}", "#99003214 +1"]
    assert all(len(line) <= SIDE_MIN_WIDTH for line in lines)


def test_id_label_fits_one_line() -> None:
    """An id heading that fits stays on one line."""
    title = _side_title(3, "#99003214 +1", THIRD_PARTY_MARK, 40)

    assert title == "Side 3: #99003214 +1 (third party)"


def test_long_name_keeps_count() -> None:
    """A long name is cut before its +N, which stays whole."""
    title = _side_title(1, f"{LONG_NAME} +12", "", SIDE_MIN_WIDTH)

    assert title == "Side 1: Goonswarm Fed… +12"
    assert len(title) <= SIDE_MIN_WIDTH


def test_long_name_too_narrow_for_mark() -> None:
    """A name that keeps too little beside the mark gets a line of its own."""
    title = _side_title(3, f"{LONG_NAME} +2", THIRD_PARTY_MARK, SIDE_MIN_WIDTH)

    lines = title.splitlines()
    assert lines[0] == "Side 3 (third party)"
    assert lines[1].endswith("… +2")
    assert lines[1].startswith("Goonswarm")
    assert len(lines[1]) == SIDE_MIN_WIDTH


def test_short_mark_when_whole_mark_does_not_fit() -> None:
    """A column too narrow for ``Side 3 (third party)`` uses ``(3rd party)``."""
    title = _side_title(3, "#99003214", THIRD_PARTY_MARK, 18)

    assert title.splitlines() == ["Side 3 (3rd party)", "#99003214"]


def test_sides_tab_column_shows_whole_id() -> None:
    """A third party named by an id shows it whole in a 26-column Sides column."""
    report = battle(0, names=("A", "B"))
    extra = (
        EntityRow("alliance", 99_000_003, None, 3, 1.0, 0.0, 1.0, "fought", False),
        EntityRow("alliance", 99_000_009, None, 3, 0.5, 0.0, 1.0, "fought", False),
    )
    sides = [
        {
            **side,
            "ships_fielded": 40,
            "loot_dropped": 0.0,
            "roles_present": {},
            "roles_lost": {},
            "top_damage": [],
        }
        for side in report.metrics["sides"]
    ]
    report = dataclasses.replace(
        report,
        entities=(*report.entities, *extra),
        metrics={**report.metrics, "sides": sides},
    )

    lines = _side_text(report, sides[2], SIDE_MIN_WIDTH).plain.splitlines()

    assert lines[:2] == ["Side 3 (third party)", "#99000003 +1"]
    assert all(len(line) <= SIDE_MIN_WIDTH for line in lines)
