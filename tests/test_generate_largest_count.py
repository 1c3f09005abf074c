"""The ``evedmv generate`` hint that names how many killmails fit."""

from __future__ import annotations

import datetime as dt

import pytest

from evedmv_tui.commands.generate import check_span, largest_count
from evedmv_tui.errors import ConfigError

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_largest_count_exact_day() -> None:
    """12,000 killmails span 1.2 days plus 6 hours for one scenario."""
    start = NOW - dt.timedelta(days=1.2, hours=6)

    assert largest_count(start, NOW) == 12_000
    check_span(start, 12_000, NOW)
    with pytest.raises(ConfigError):
        check_span(start, 12_001, NOW)


def test_largest_count_none_fit() -> None:
    """A start less than 6 hours ago leaves room for no scenario."""
    assert largest_count(NOW - dt.timedelta(hours=5), NOW) == 0


def test_too_many_killmails_hint_names_count() -> None:
    """A count that spans more than the years since 2003 gets a hint that
    names the largest count that fits, not only "fewer"."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    # (365 days - 6 hours) / 1.2 at 12,000 a day.
    fits = 3_647_500
    check_span(start, fits, NOW)

    with pytest.raises(ConfigError) as caught:
        check_span(start, 2_147_483_647, NOW)

    hint = caught.value.hint
    assert hint is not None
    assert hint.startswith(f"generate fewer killmails, at most {fits:,} from")


def test_recent_start_hint_offers_no_count() -> None:
    """A start an hour back fits no count, because one scenario can last
    6 hours, but the hint offered "or fewer killmails" and the message read
    "1 killmails"."""
    with pytest.raises(ConfigError) as caught:
        check_span(NOW - dt.timedelta(hours=1), 1, NOW)

    assert caught.value.message.startswith("1 killmail from ")
    assert caught.value.hint == (
        "give --start 2025-12-31T17:59:51 or earlier: a run needs a start more"
        " than 6 h back, because the kills of one scenario can run 6 h past"
        " its start"
    )


def test_recent_start_hint_names_count_that_fits() -> None:
    """Fewer killmails are offered, with their count, when some fit."""
    # 500 killmails span an hour, and 1.2 times that plus 6 hours is 7 h 12 min.
    start = NOW - dt.timedelta(hours=7, minutes=12)
    fits = largest_count(start, NOW)
    assert fits == 500

    with pytest.raises(ConfigError) as caught:
        check_span(start, 1_000, NOW)

    assert caught.value.hint == (
        "give --start 2025-12-31T15:36:00 or earlier,"
        " or generate at most 500 killmails from this --start"
    )


def test_huge_count_recent_start_hint() -> None:
    """With no start since 2003 that fits the count and no count that fits
    the start, the hint calls for fewer killmails and an earlier start."""
    with pytest.raises(ConfigError) as caught:
        check_span(NOW - dt.timedelta(hours=1), 2_147_483_647, NOW)

    hint = caught.value.hint
    assert hint is not None
    assert hint.startswith("generate fewer killmails from an earlier --start: ")
    assert "at most 0" not in hint
    assert hint.endswith(
        "a run needs a start more than 6 h back, because the"
        " kills of one scenario can run 6 h past its start"
    )
