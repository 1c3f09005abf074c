"""The note on kills without an ISK value, in every format of a report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from evedmv_tui.battles.export import (
    missing_value_note,
    render_discord,
    render_markdown,
    render_text,
)
from evedmv_tui.battles.report import BattleReport
from evedmv_tui.screens.battle_report import _header
from tests.test_battles_export import report_with_third_party


def report_missing(count: int) -> BattleReport:
    """A report of 40 kills where ``count`` kills have no ISK value."""
    report = report_with_third_party()
    metrics = report.metrics | {"completeness": {"kills_without_value": count}}
    return dataclasses.replace(report, metrics=metrics)


@pytest.mark.parametrize(
    ("count", "note"),
    [
        (1, "1 of 40 kills has no ISK value"),
        (2, "2 of 40 kills have no ISK value"),
        (40, "40 of 40 kills have no ISK value"),
    ],
)
def test_note_verb_agrees_with_count(count: int, note: str) -> None:
    assert missing_value_note(report_missing(count)) == note


@pytest.mark.parametrize("render", [render_text, render_markdown, render_discord])
def test_exports_use_singular_for_one(
    render: Callable[[BattleReport], str],
) -> None:
    """An export of a report with one kill without a value uses "has"."""
    lines = render(report_missing(1)).splitlines()
    assert "1 of 40 kills has no ISK value" in lines
    assert not any("kills have no ISK value" in line for line in lines)


def test_header_uses_singular_for_one() -> None:
    header = _header(report_missing(1), 200).plain
    assert "1 of 40 kills has no ISK value" in header
    assert "have no ISK value" not in header
