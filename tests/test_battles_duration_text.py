"""Battle durations as report headers and exports print them."""

from __future__ import annotations

import datetime as dt

import pytest

from evedmv_tui.battles.metrics import duration_text, format_duration, period_text

START = dt.datetime(2021, 11, 28, 1, 44, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (12, "12s"),
        (59, "59s"),
        (60, "1m"),
        (7 * 60 + 30, "7m"),
        (65 * 60, "1h05"),
    ],
)
def test_duration_text(seconds: int, text: str) -> None:
    """A fight of 12 seconds read as 0m in the report header."""
    assert duration_text(START, START + dt.timedelta(seconds=seconds)) == text


def test_duration_counts_the_minutes_shown() -> None:
    """A fight from 12:15:59 to 12:17:34 read 12:15-12:17 UTC (1m)."""
    start = dt.datetime(2021, 11, 28, 12, 15, 59, tzinfo=dt.UTC)
    assert duration_text(start, start + dt.timedelta(seconds=95)) == "2m"
    assert period_text(start, start + dt.timedelta(seconds=95)) == (
        "2021-11-28 12:15-12:17 UTC (2m)"
    )
    # Under a minute, seconds are counted as they are.
    assert duration_text(start, start + dt.timedelta(seconds=30)) == "30s"


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (dt.timedelta(seconds=12), "12s"),
        (dt.timedelta(minutes=7), "7m"),
        (dt.timedelta(hours=51, minutes=33, seconds=40), "51h33"),
    ],
)
def test_format_duration(duration: dt.timedelta, text: str) -> None:
    """The battles list printed 3093m where the report printed 51h33."""
    assert format_duration(duration) == text
