"""Monthly partitions named for the times of a batch."""

from __future__ import annotations

import datetime as dt

from evedmv_tui.ingest.writer import month_start, month_starts

PLUS_FIVE = dt.timezone(dt.timedelta(hours=5))
MINUS_THREE = dt.timezone(dt.timedelta(hours=-3))


def test_month_starts_utc_times() -> None:
    times = [
        dt.datetime(2021, 11, 30, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2021, 12, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2021, 12, 31, 12, 0, tzinfo=dt.UTC),
    ]
    assert month_starts(times) == {
        dt.datetime(2021, 11, 1, tzinfo=dt.UTC),
        dt.datetime(2021, 12, 1, tzinfo=dt.UTC),
    }


def test_month_starts_other_zones() -> None:
    # 02:00 at UTC+5 on 1 December is still November in UTC, and 22:00 at
    # UTC-3 on 31 December is already January.
    early = dt.datetime(2021, 12, 1, 2, 0, tzinfo=PLUS_FIVE)
    late = dt.datetime(2021, 12, 31, 22, 0, tzinfo=MINUS_THREE)
    assert month_starts([early]) == {dt.datetime(2021, 11, 1, tzinfo=dt.UTC)}
    assert month_starts([late]) == {dt.datetime(2022, 1, 1, tzinfo=dt.UTC)}


def test_month_starts_equal_month_start() -> None:
    zones = (dt.UTC, PLUS_FIVE, MINUS_THREE)
    times = [
        dt.datetime(2021, month, day, hour, tzinfo=zones[(month + hour) % 3])
        for month in range(1, 13)
        for day in (1, 15, 28)
        for hour in (0, 2, 22, 23)
    ]
    assert month_starts(times) == {month_start(moment) for moment in times}
    assert month_starts([]) == set()
