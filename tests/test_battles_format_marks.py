"""Every battle format marks partial ISK totals and third parties the same way."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from evedmv_tui.battles.export import (
    THIRD_PARTY_MARK,
    cut_side_label,
    isk_total_text,
    render_discord,
    render_markdown,
    render_text,
)
from evedmv_tui.battles.report import BattleReport, EntityRow
from evedmv_tui.screens import battle_report
from evedmv_tui.screens.battle_report import _header, _pack, _side_title

START = dt.datetime(2021, 11, 28, 17, 13, tzinfo=dt.UTC)
LONG_NAME = "Goonswarm Federation of Very Long Names"


def side(number: int, *, third_party: bool = False) -> dict[str, Any]:
    return {
        "side": number,
        "third_party": third_party,
        "opponents": [1, 2] if third_party else [],
        "pilots": 36,
        "ships_lost": 32,
        "isk_lost": 873e6,
        "isk_destroyed": 1.79e9,
        "efficiency": 0.672,
        "ships_lost_by_class": {"cruiser": 32},
    }


def battle(
    without_value: int, *, names: tuple[str, ...] = ("A", "B", "C")
) -> BattleReport:
    """A three-sided report of 540 kills, ``without_value`` of them unvalued."""
    alliances = {99_000_001 + i: name for i, name in enumerate(names)}
    entities = tuple(
        EntityRow("alliance", alliance, None, i + 1, 1.0, 0.0, 1.0, "fought", False)
        for i, alliance in enumerate(alliances)
    )
    return BattleReport(
        battle_id=213,
        start_time=START,
        end_time=START + dt.timedelta(minutes=99),
        solar_system_ids=[30000142],
        region_ids=[10000002],
        kills=540,
        pilots=1_345,
        isk_destroyed=87.17e9,
        side_count=3,
        kind="fight",
        confidence=0.99,
        unclear=False,
        changed=False,
        ongoing=False,
        metrics={
            "sides": [side(1), side(2), side(3, third_party=True)],
            "completeness": {"kills_without_value": without_value},
        },
        entities=entities,
        killmails=(),
        names=alliances,
        type_names={},
        system_names={30000142: "O-ZXUV"},
        region_names={10000002: "Cloud Ring"},
    )


@pytest.mark.parametrize(
    ("without_value", "expected"), [(0, "87.2b ISK"), (1, "87.2b+ ISK"), (540, "? ISK")]
)
@pytest.mark.parametrize("render", [render_text, render_markdown, render_discord])
def test_status_marks_partial_total(
    render: Any, without_value: int, expected: str
) -> None:
    """Text, Markdown and Discord mark a total that leaves out unvalued kills.

    They showed ``87.2b ISK`` while ``battles list`` showed ``87.2b+``.
    """
    lines = render(battle(without_value)).splitlines()
    # Markdown puts a blank line between the title and the status line, and
    # escapes its bars as Discord does.
    status = lines[2 if render is render_markdown else 1].replace("\\", "")

    assert f"| {expected} |" in status


def test_list_and_dashboard_totals_agree() -> None:
    """The list and the dashboard mark a total as the exports do."""
    assert isk_total_text(87.17e9, 540, 1) == "87.2b+"
    assert battle_report.isk_total_text(87.17e9, 540, 1) == "87.17b+"
    assert isk_total_text(87.17e9, 540, 540) == "?"
    assert battle_report.isk_total_text(87.17e9, 540, 0) == "87.17b"


def test_discord_keeps_third_party_mark() -> None:
    """A Discord side row names a third party as the text format does."""
    text = render_discord(battle(0, names=("A", "B", LONG_NAME)))
    rows = text.split("```")[1].strip("\n").splitlines()

    assert "(third party)" not in rows[0]
    # The name cell is 28 columns: the label gives way to the whole mark.
    assert rows[2].startswith("3 Goonswarm Fed… (third party)   36p")
    assert rows[1].startswith("2 B                              36p")


def test_discord_cut_names_keep_unit_count() -> None:
    """Discord cut long side names without an ellipsis, dropped their count
    of other units (``+3``) and left a double space before the mark where
    the cut fell after a word."""
    names = (
        "Void Arrow Alliance Of Extremely Long Names Indeed",
        "Frozen Arrow Alliance With An Even Longer Name Xx",
        "Stellar Arrow Alliance",
    )
    report = battle(0, names=names)
    # Smaller units: three more on side 1 and two more on side 2.
    others = tuple(
        EntityRow(
            "alliance", 99_100_000 + i, None, side, 0.5, 0.0, 1.0, "fought", False
        )
        for i, side in enumerate([1, 1, 1, 2, 2])
    )
    report = dataclasses.replace(report, entities=report.entities + others)
    rows = render_discord(report).split("```")[1].strip("\n").splitlines()

    assert rows[0].startswith("1 Void Arrow Alliance Of E… +3   36p")
    assert rows[1].startswith("2 Frozen Arrow Alliance Wi… +2   36p")
    assert rows[2].startswith("3 Stellar Arrow… (third party)   36p")


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (25, "Stellar Arrow Alliance +2"),
        (24, "Stellar Arrow Allian… +2"),
        (18, "Stellar Arrow… +2"),
        (17, "Stellar Arrow… +2"),
        (4, "… +2"),
        (3, "St…"),
    ],
)
def test_cut_side_label_keeps_unit_count(width: int, expected: str) -> None:
    """A cut name ends in an ellipsis with no space before it, and the count
    of other units stays whole unless it leaves no room for the name."""
    label = cut_side_label("Stellar Arrow Alliance +2", width)

    assert label == expected
    assert len(label) <= width


@pytest.mark.parametrize("width", [40, 56, 80])
def test_header_lines_never_end_in_separator(width: int) -> None:
    """The report header breaks between figures without a trailing bar.

    At 80 columns it read ``... | 87.17b+ ISK |`` on the first line.
    """
    lines = _header(battle(1), width).plain.splitlines()[1:]

    assert len(lines) >= 2
    for line in lines:
        assert len(line) <= width
        assert not line.rstrip().endswith("|")
        assert not line.startswith("|")
    assert "87.17b+ ISK" in " ".join(lines)


def test_pack_keeps_commas_at_line_ends() -> None:
    lines = _pack(["logistics 34/20", "interdictor 20/5"], 20, ", ")

    assert lines == ["logistics 34/20,", "interdictor 20/5"]


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (80, f"Side 3: {LONG_NAME} (third party)"),
        (40, "Side 3: Goonswarm Federat… (third party)"),
        (30, "Side 3: Goonswa… (third party)"),
        (28, "Side 3: Goonswa… (3rd party)"),
    ],
)
def test_side_heading_keeps_mark_whole(width: int, expected: str) -> None:
    """A third party's heading gives the label's room to the mark.

    At 80x24 a side is about 26 columns wide and its heading was cut to
    ``Side 3: #99005338 (third…``.
    """
    title = _side_title(3, LONG_NAME, THIRD_PARTY_MARK, width)

    assert title == expected
    assert len(title) <= width


def test_side_heading_without_mark_is_cut() -> None:
    title = _side_title(1, LONG_NAME, "", 26)

    assert title == "Side 1: Goonswarm Federat…"
