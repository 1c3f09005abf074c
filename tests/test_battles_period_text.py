"""Battle periods in report headers and exports, for battles of several days."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from evedmv_tui.battles.export import render
from evedmv_tui.battles.metrics import period_text
from evedmv_tui.screens.battle_report import _header
from tests.test_battles_format_marks import START, battle

MULTI_DAY_END = dt.datetime(2021, 11, 30, 19, 35, tzinfo=dt.UTC)
"""The end of a battle that started at ``START``, two days later."""


def test_period_same_day_keeps_short_end() -> None:
    end = START + dt.timedelta(minutes=99)
    assert period_text(START, end) == "2021-11-28 17:13-18:52 UTC (1h39)"


def test_period_names_end_date() -> None:
    """A battle of two days printed the end's time only, as if it ended on
    the day it started."""
    text = period_text(START, MULTI_DAY_END)
    assert text == "2021-11-28 17:13 to 2021-11-30 19:35 UTC (50h22)"


def test_period_after_midnight_names_end_date() -> None:
    """A battle of an hour across midnight ends on the next day."""
    start = dt.datetime(2021, 11, 28, 23, 40, tzinfo=dt.UTC)
    end = dt.datetime(2021, 11, 29, 0, 40, tzinfo=dt.UTC)
    assert period_text(start, end) == "2021-11-28 23:40 to 2021-11-29 00:40 UTC (1h00)"


@pytest.mark.parametrize("fmt", ["text", "markdown", "discord"])
def test_exports_name_end_date(fmt: str) -> None:
    report = dataclasses.replace(battle(0), end_time=MULTI_DAY_END)
    assert "to 2021-11-30 19:35 UTC (50h22)" in render(report, fmt)


def test_report_header_names_end_date() -> None:
    report = dataclasses.replace(battle(0), end_time=MULTI_DAY_END)
    header = _header(report).plain
    assert "2021-11-28 17:13 to 2021-11-30 19:35 UTC (50h22)" in header
