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
