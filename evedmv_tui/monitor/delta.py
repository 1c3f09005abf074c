"""The delta engine: per-interval changes of cumulative server counters.

Everything here is pure: it takes two recorded polls and returns the
interval between them, so it is tested on recorded values. Rates divide by
the time that actually elapsed between the two polls, measured on the
monotonic clock of this process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import NamedTuple

from evedmv_tui.monitor.statements import Counters, StatementKey, StatementSet

NO_CHANGE = Counters()
"""The change of an entry whose counters are equal in both polls."""


@dataclasses.dataclass(frozen=True, slots=True)
class StatementPoll:
    """What one poll read from ``pg_stat_statements``."""

    monotonic: float
    """``time.monotonic()`` when the counters were read."""
    statements: StatementSet
    dealloc: int | None = None
    """``pg_stat_statements_info.dealloc``; None before 1.9."""
    stats_reset: float | None = None
    """``pg_stat_statements_info.stats_reset`` (epoch seconds); None before 1.9."""
    postmaster_start: float | None = None
    """``pg_postmaster_start_time()`` (epoch seconds); changes on a restart."""


class StatementDelta(NamedTuple):
    """One entry's change over an interval, next to its cumulative counters.

    A named tuple, because a poll makes one per changed entry.
    """

    key: StatementKey | None
    """None for the summed row of other roles' hidden entries."""
    delta: Counters | None
    """None when this entry's counters cannot be trusted in the interval."""
    total: Counters
    elapsed: float

    @property
    def hidden(self) -> bool:
        return self.key is None

    @property
    def trusted(self) -> bool:
        return self.delta is not None

    @property
    def calls(self) -> int:
        return self.delta.calls if self.delta is not None else 0

    @property
    def exec_ms(self) -> float:
        return self.delta.exec_ms if self.delta is not None else 0.0

    @property
    def total_ms(self) -> float:
        """Planning plus execution time in the interval."""
        if self.delta is None:
            return 0.0
        return self.delta.exec_ms + self.delta.plan_ms

    @property
    def mean_ms(self) -> float | None:
        """Mean execution time per call in the interval; None without calls."""
        if self.delta is None or self.delta.calls <= 0:
            return None
        return self.delta.exec_ms / self.delta.calls

    @property
    def calls_per_s(self) -> float | None:
        if self.delta is None or self.elapsed <= 0:
            return None
        return self.delta.calls / self.elapsed

    @property
    def rows(self) -> int:
        return self.delta.rows if self.delta is not None else 0

    @property
    def shared_blks(self) -> int:
        """Shared blocks hit plus read in the interval."""
        if self.delta is None:
            return 0
        return self.delta.shared_blks_hit + self.delta.shared_blks_read


@dataclasses.dataclass(frozen=True, slots=True)
class StatementInterval:
    """The statements' changes between two polls."""

    elapsed: float
    deltas: list[StatementDelta]
    trusted: bool
    reason: str | None = None
    """Why the interval cannot be trusted, in words."""
    untrusted_entries: int = 0


def interval_distrust(previous: StatementPoll, current: StatementPoll) -> str | None:
    """Return why no entry of the interval can be trusted, or None."""
    if current.monotonic - previous.monotonic <= 0:
        return "the clock did not advance between polls"
    if (
        previous.postmaster_start is not None
        and current.postmaster_start != previous.postmaster_start
    ):
        return "the server restarted between polls"
    if previous.stats_reset != current.stats_reset:
        return "pg_stat_statements_reset() ran between polls"
    if (
        previous.dealloc is not None
        and current.dealloc is not None
        and current.dealloc != previous.dealloc
    ):
        evicted = current.dealloc - previous.dealloc
        return (
            f"entries were evicted {evicted} time(s) between polls"
            " (raise pg_stat_statements.max)"
        )
    return None


def statement_deltas(
    previous: StatementPoll,
    current: StatementPoll,
    *,
    include_unchanged: bool = True,
    changed: Iterable[StatementKey] | None = None,
) -> StatementInterval:
    """Compute each entry's change between two polls.

    An entry seen only in ``current`` was created in the interval, so its
    whole counters are its change. An entry whose counters went down was
    reset or evicted and re-created: its change is unknown (``delta`` None).
    Without ``pg_stat_statements_info`` (before 1.9) a full reset is only
    visible as counters going down, so any such entry distrusts the interval.

    With ``include_unchanged`` False, a trusted interval leaves out the
    entries whose counters are equal in both polls (most of them, on a quiet
    server). An untrusted interval always lists every entry. ``changed``,
    when given, lists every key whose counters may differ between the two
    polls, so only those entries are compared.
    """
    elapsed = current.monotonic - previous.monotonic
    reason = interval_distrust(previous, current)
    old = previous.statements.entries
    entries = current.statements.entries
    items: Iterable[tuple[StatementKey, Counters]] = entries.items()
    if reason is None and not include_unchanged and changed is not None:
        items = [(key, entries[key]) for key in changed if key in entries]
    elif reason is None and not include_unchanged:
        # build_statement_set reuses the Counters of an unchanged row, so
        # identity drops most entries here without comparing twelve fields.
        items = [(key, total) for key, total in items if old.get(key) is not total]
    deltas: list[StatementDelta] = []
    untrusted = 0
    if reason is None:
        # The loop runs for every changed entry of every poll, so it reads
        # the tuples' fields directly instead of through properties, and
        # builds each delta without the named tuple's Python-level __new__.
        find_before = old.get
        new_delta = tuple.__new__
        append = deltas.append
        for key, total in items:
            before = find_before(key)
            if before is total or before == total:
                if not include_unchanged:
                    continue
                delta: Counters | None = NO_CHANGE
            else:
                delta = total if before is None else total - before
                if min(delta) < 0:
                    delta = None
                    untrusted += 1
            append(new_delta(StatementDelta, (key, delta, total, elapsed)))
    else:
        deltas = [StatementDelta(key, None, total, elapsed) for key, total in items]
        untrusted = len(deltas)
    hidden = current.statements.hidden
    hidden_delta: Counters | None = None
    if hidden is not None and reason is None:
        before = previous.statements.hidden
        hidden_delta = hidden if before is None else hidden - before
        if hidden_delta.has_negative():
            hidden_delta = None
    if reason is None and current.dealloc is None and untrusted:
        reason = (
            f"counters went down for {untrusted} entries"
            " (a reset or eviction; pg_stat_statements before 1.9 cannot tell)"
        )
        deltas = [
            StatementDelta(key, None, total, elapsed) for key, total in entries.items()
        ]
        hidden_delta = None
    if hidden is not None:
        deltas.append(StatementDelta(None, hidden_delta, hidden, elapsed))
    return StatementInterval(elapsed, deltas, reason is None, reason, untrusted)


def counter_delta(
    before: int | float | None, after: int | float | None
) -> float | None:
    """Return ``after - before`` of a cumulative counter, or None if unknown.

    None when either value is missing or the counter went down (a reset).
    """
    if before is None or after is None or after < before:
        return None
    return after - before


def rate(
    before: int | float | None, after: int | float | None, elapsed: float
) -> float | None:
    """Return the counter's change per second over ``elapsed`` seconds."""
    change = counter_delta(before, after)
    if change is None or elapsed <= 0:
        return None
    return change / elapsed


def ratio(part: float | None, whole: float | None) -> float | None:
    """Return ``part / whole``, or None when either is unknown or whole is 0."""
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole
