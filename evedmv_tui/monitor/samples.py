"""The measurement record that collectors produce and baselines consume."""

from __future__ import annotations

from typing import NamedTuple


class Sample(NamedTuple):
    """One measured value of one key at the end of one poll interval.

    ``key`` is stable across polls and restarts, for example
    ``statement:<fingerprint>:mean_ms``, ``operation:battle_report:p95_ms``,
    ``memory:rss_bytes`` or ``database:tps``. A named tuple, because a poll
    makes two per listed statement, and a tuple costs less than half as much
    to create as a frozen dataclass.
    """

    key: str
    value: float
    at: float
    """Wall-clock end of the interval (``time.time()``)."""
    interval: float
    """Seconds actually elapsed since the previous poll."""
    trusted: bool = True
    """False when counters were reset or wrapped in the interval; such a
    sample must not update a baseline or raise an alert."""
    label: str = ""
    """Human-readable description of the key (a clipped query text, say)."""
    rows_per_call: float | None = None
    """Rows per call in the interval, on a statement's ``mean_ms`` sample of a
    trusted interval, and None on every other sample. The detector compares
    the mean time only with a baseline learned at a similar number of rows."""
