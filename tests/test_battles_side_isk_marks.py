"""A side's ISK lost and a kill's value without an ISK value, in every format."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from evedmv_tui.battles.export import render
from evedmv_tui.battles.report import BattleReport, KillRow
from tests.test_battles_format_marks import START, battle


def killmail(killmail_id: int, side_no: int, value: float) -> KillRow:
    return KillRow(
        killmail_id=killmail_id,
        killmail_time=START + dt.timedelta(minutes=killmail_id % 60),
        solar_system_id=30000142,
        victim_character_id=None,
        victim_corporation_id=98_000_001,
        victim_alliance_id=None,
        victim_ship_type_id=35_832,
        total_value=value,
        side_no=side_no,
        final_blow_character_id=None,
        attacker_count=3,
    )


def with_unvalued_losses() -> BattleReport:
    """A report whose side 1 lost two kills without a value and one with."""
    killmails = (
        killmail(1, 1, 0.0),
        killmail(2, 1, 0.0),
        killmail(3, 2, 873e6),
    )
    report = battle(2)
    sides = [
        {**side, "top_final_blows": [], "top_damage": []}
        for side in report.metrics["sides"]
    ]
    metrics = {**report.metrics, "sides": sides}
    return dataclasses.replace(report, killmails=killmails, metrics=metrics)


def side_line(output: str, fmt: str, number: int) -> str:
    """Return the line of ``output`` that has side ``number``'s ISK lost."""
    lines = output.splitlines()
    if fmt == "text":
        heading = next(
            i for i, x in enumerate(lines) if x.startswith(f"Side {number}:")
        )
        return lines[heading + 1]
    prefix = f"| {number} |" if fmt == "markdown" else f"{number} "
    return next(line for line in lines if line.startswith(prefix))


@pytest.mark.parametrize("fmt", ["text", "markdown", "discord"])
def test_side_isk_lost_marked(fmt: str) -> None:
    """A side whose losses include kills without a value ends its ISK lost in +.

    The TUI's Sides tab showed 873.00m+ while text, Markdown and Discord
    showed 873.0m, as if the total were complete.
    """
    output = render(with_unvalued_losses(), fmt)

    assert "873.0m+" in side_line(output, fmt, 1)
    # Side 2 lost only valued kills, so its total is complete.
    side_two = side_line(output, fmt, 2)
    assert "873.0m" in side_two
    assert "873.0m+" not in side_two


def test_json_kill_without_value_is_null() -> None:
    """A kill without an ISK value has a null value in JSON, not 0.0.

    JSON gave 0.0 while completeness counted the kill as one without a
    value and the TUI showed ``?``.
    """
    document = json.loads(render(with_unvalued_losses(), "json"))

    values = [k["value"] for k in document["killmails"]]
    assert values == [None, None, 873e6]
