"""The delta engine on recorded polls: resets, NULLs, duplicates, 64-bit ids."""

from __future__ import annotations

import dataclasses

import pytest

from evedmv_tui.monitor.delta import (
    StatementDelta,
    StatementInterval,
    StatementPoll,
    counter_delta,
    rate,
    ratio,
    statement_deltas,
)
from evedmv_tui.monitor.server import DatabaseCounters, database_rates
from evedmv_tui.monitor.statements import (
    Counters,
    StatementKey,
    StatementRow,
    build_statement_set,
)

MIN_QUERYID = -(2**63)
MAX_QUERYID = 2**63 - 1


def row(
    queryid: int | None,
    calls: int | None,
    exec_ms: float | None = 10.0,
    *,
    userid: int = 10,
    dbid: int = 5,
    toplevel: bool = True,
    rows: int | None = 1,
) -> StatementRow:
    return StatementRow(
        userid=userid,
        dbid=dbid,
        toplevel=toplevel,
        queryid=queryid,
        calls=calls,
        total_exec_time=exec_ms,
        total_plan_time=0.5,
        rows=rows,
        shared_blks_hit=100,
        shared_blks_read=3,
        shared_blks_dirtied=0,
        shared_blks_written=0,
        temp_blks_read=0,
        temp_blks_written=0,
        blk_read_time=0.0,
        blk_write_time=0.0,
    )


def poll(
    at: float,
    rows: list[StatementRow],
    *,
    dealloc: int | None = None,
    stats_reset: float | None = None,
    postmaster_start: float | None = None,
) -> StatementPoll:
    return StatementPoll(
        at, build_statement_set(rows), dealloc, stats_reset, postmaster_start
    )


def by_queryid(interval: StatementInterval) -> dict[int | None, StatementDelta]:
    return {None if d.key is None else d.key.queryid: d for d in interval.deltas}


def test_known_calls_give_exact_deltas() -> None:
    before = poll(100.0, [row(1, 10, 100.0, rows=10)], dealloc=0)
    after = poll(102.0, [row(1, 17, 170.0, rows=17)], dealloc=0)
    interval = statement_deltas(before, after)
    (delta,) = interval.deltas
    assert interval.trusted is True
    assert delta.calls == 7
    assert delta.exec_ms == pytest.approx(70.0)
    assert delta.mean_ms == pytest.approx(10.0)
    assert delta.rows == 7
    assert delta.calls_per_s == pytest.approx(3.5)


def test_rates_divide_by_elapsed_time() -> None:
    before = poll(10.0, [row(1, 0)], dealloc=0)
    after = poll(13.0, [row(1, 30)], dealloc=0)
    (delta,) = statement_deltas(before, after).deltas
    assert delta.elapsed == pytest.approx(3.0)
    assert delta.calls_per_s == pytest.approx(10.0)


def test_new_entry_counts_from_zero() -> None:
    before = poll(0.0, [row(1, 5)], dealloc=0)
    after = poll(1.0, [row(1, 5), row(2, 4, 40.0)], dealloc=0)
    deltas = by_queryid(statement_deltas(before, after))
    assert deltas[2].calls == 4
    assert deltas[1].calls == 0


def test_negative_delta_distrusts_that_entry_only() -> None:
    before = poll(0.0, [row(1, 50), row(2, 5)], dealloc=0)
    after = poll(1.0, [row(1, 3), row(2, 9)], dealloc=0)
    interval = statement_deltas(before, after)
    deltas = by_queryid(interval)
    assert interval.trusted is True
    assert deltas[1].delta is None
    assert deltas[1].calls_per_s is None
    assert deltas[2].calls == 4
    assert interval.untrusted_entries == 1


def test_negative_delta_before_1_9_distrusts_interval() -> None:
    before = poll(0.0, [row(1, 50), row(2, 5)])
    after = poll(1.0, [row(1, 3), row(2, 9)])
    interval = statement_deltas(before, after)
    assert interval.trusted is False
    assert interval.reason is not None and "went down" in interval.reason
    assert all(d.delta is None for d in interval.deltas)


def test_stats_reset_distrusts_interval() -> None:
    before = poll(0.0, [row(1, 50)], dealloc=0, stats_reset=1000.0)
    after = poll(1.0, [row(1, 60)], dealloc=0, stats_reset=2000.0)
    interval = statement_deltas(before, after)
    assert interval.trusted is False
    assert interval.reason is not None and "reset" in interval.reason
    assert interval.deltas[0].delta is None


def test_eviction_distrusts_interval() -> None:
    before = poll(0.0, [row(1, 50)], dealloc=3)
    after = poll(1.0, [row(1, 60)], dealloc=5)
    interval = statement_deltas(before, after)
    assert interval.trusted is False
    assert interval.reason is not None and "pg_stat_statements.max" in interval.reason


def test_restart_distrusts_interval() -> None:
    before = poll(0.0, [row(1, 50)], dealloc=0, postmaster_start=1.0)
    after = poll(1.0, [row(1, 60)], dealloc=0, postmaster_start=2.0)
    interval = statement_deltas(before, after)
    assert interval.trusted is False
    assert interval.reason == "the server restarted between polls"


def test_clock_not_advancing_distrusts_interval() -> None:
    before = poll(5.0, [row(1, 50)], dealloc=0)
    after = poll(5.0, [row(1, 60)], dealloc=0)
    assert statement_deltas(before, after).trusted is False


def test_null_counters_count_as_zero() -> None:
    before = poll(0.0, [row(1, None, None, rows=None)], dealloc=0)
    after = poll(1.0, [row(1, 2, 4.0, rows=None)], dealloc=0)
    (delta,) = statement_deltas(before, after).deltas
    assert delta.calls == 2
    assert delta.exec_ms == pytest.approx(4.0)
    assert delta.rows == 0


def test_null_queryid_rows_are_summed_not_keyed() -> None:
    rows = [
        row(None, 3, 30.0, userid=11),
        row(None, 4, 40.0, userid=12),
        row(7, 1),
    ]
    statements = build_statement_set(rows)
    assert statements.hidden_rows == 2
    assert statements.hidden is not None
    assert statements.hidden.calls == 7
    assert all(key.queryid is not None for key in statements.entries)
    assert len(statements.entries) == 1


def test_hidden_row_has_its_own_delta() -> None:
    before = poll(0.0, [row(None, 3, userid=11)], dealloc=0)
    after = poll(1.0, [row(None, 8, userid=11), row(None, 2, userid=12)], dealloc=0)
    deltas = by_queryid(statement_deltas(before, after))
    hidden = deltas[None]
    assert hidden.hidden is True
    assert hidden.calls == 7


def test_hidden_row_shrinking_is_untrusted() -> None:
    before = poll(0.0, [row(None, 30, userid=11)], dealloc=0)
    after = poll(1.0, [row(None, 2, userid=11)], dealloc=0)
    hidden = by_queryid(statement_deltas(before, after))[None]
    assert hidden.delta is None


def test_duplicate_keys_are_merged() -> None:
    statements = build_statement_set([row(1, 2, 5.0), row(1, 3, 6.0)])
    assert statements.duplicates == 1
    key = StatementKey(10, 5, 1, True)
    assert statements.entries[key].calls == 5
    assert statements.entries[key].exec_ms == pytest.approx(11.0)


def test_toplevel_is_part_of_the_key() -> None:
    statements = build_statement_set(
        [row(1, 2, toplevel=True), row(1, 3, toplevel=False)]
    )
    assert len(statements.entries) == 2
    assert statements.duplicates == 0


@pytest.mark.parametrize("queryid", [MIN_QUERYID, MAX_QUERYID, -1, 0])
def test_64_bit_queryids_stay_exact(queryid: int) -> None:
    before = poll(0.0, [row(queryid, 2**62)], dealloc=0)
    after = poll(1.0, [row(queryid, 2**62 + 3)], dealloc=0)
    (delta,) = statement_deltas(before, after).deltas
    assert delta.key is not None
    assert delta.key.queryid == queryid
    assert type(delta.key.queryid) is int
    assert delta.calls == 3


def test_unchanged_rows_reuse_counters() -> None:
    first = build_statement_set([row(1, 5), row(2, 7)])
    second = build_statement_set([row(1, 5), row(2, 8)], first)
    one = StatementKey(10, 5, 1, True)
    two = StatementKey(10, 5, 2, True)
    assert second.entries[one] is first.entries[one]
    assert second.entries[two] is not first.entries[two]
    assert second.entries[two].calls == 8


def test_unchanged_entries_left_out_on_request() -> None:
    rows = [row(1, 5), row(2, 7)]
    before = poll(0.0, rows, dealloc=0)
    after = StatementPoll(
        1.0, build_statement_set([row(1, 5), row(2, 9)], before.statements), 0
    )
    interval = statement_deltas(before, after, include_unchanged=False)
    (delta,) = interval.deltas
    assert interval.trusted is True
    assert delta.key is not None and delta.key.queryid == 2
    assert delta.calls == 2
    full = by_queryid(statement_deltas(before, after))
    assert full[1].calls == 0
    assert full[2].calls == 2


def test_untrusted_interval_lists_unchanged_entries() -> None:
    before = poll(0.0, [row(1, 50), row(2, 5), row(3, 4)])
    after = StatementPoll(
        1.0,
        build_statement_set([row(1, 3), row(2, 9), row(3, 4)], before.statements),
    )
    interval = statement_deltas(before, after, include_unchanged=False)
    assert interval.trusted is False
    assert sorted(by_queryid(interval)) == [1, 2, 3]
    assert all(d.delta is None for d in interval.deltas)


def test_reset_interval_lists_unchanged_entries() -> None:
    before = poll(0.0, [row(1, 5), row(2, 7)], dealloc=0, stats_reset=1.0)
    after = StatementPoll(
        1.0,
        build_statement_set([row(1, 5), row(2, 7)], before.statements),
        0,
        2.0,
    )
    interval = statement_deltas(before, after, include_unchanged=False)
    assert interval.trusted is False
    assert len(interval.deltas) == 2


def test_hidden_and_repeated_rows_with_previous_set() -> None:
    rows = [row(None, 3, userid=11), row(None, 4, userid=12), row(1, 2), row(1, 3)]
    first = build_statement_set(rows)
    second = build_statement_set(rows, first)
    key = StatementKey(10, 5, 1, True)
    assert second.hidden is not None
    assert second.hidden.calls == 7
    assert second.hidden_rows == 2
    assert second.duplicates == 1
    assert second.entries[key].calls == 5


def test_counters_arithmetic_covers_every_field() -> None:
    one = Counters(*range(1, 13))
    assert (one + one - one) == one
    assert one._replace(rows=-1).has_negative() is True
    assert one.has_negative() is False


def test_counter_helpers() -> None:
    assert counter_delta(5, 9) == 4
    assert counter_delta(9, 5) is None
    assert counter_delta(None, 5) is None
    assert rate(0, 10, 2.0) == pytest.approx(5.0)
    assert rate(0, 10, 0.0) is None
    assert ratio(1, 4) == pytest.approx(0.25)
    assert ratio(1, 0) is None


def counters(**changes: int | float | None) -> DatabaseCounters:
    base = DatabaseCounters(
        database="evedmv",
        backends=3,
        xact_commit=1000,
        xact_rollback=10,
        blks_read=100,
        blks_hit=900,
        tup_returned=0,
        tup_fetched=0,
        tup_inserted=0,
        tup_updated=0,
        tup_deleted=0,
        deadlocks=0,
        temp_files=0,
        temp_bytes=0,
        stats_reset=None,
        max_connections=100,
    )
    return dataclasses.replace(base, **changes)


def test_database_rates_over_interval() -> None:
    before = counters()
    after = counters(xact_commit=1190, xact_rollback=20, blks_hit=990, blks_read=110)
    rates = database_rates(before, after, 2.0)
    assert rates.trusted is True
    assert rates.tps == pytest.approx(100.0)
    assert rates.cache_hit_ratio == pytest.approx(0.9)


def test_database_rates_distrust_reset_and_restart() -> None:
    before = counters()
    reset = database_rates(before, counters(stats_reset=5.0), 2.0)
    restarted = database_rates(before, counters(), 2.0, restarted=True)
    went_down = database_rates(before, counters(xact_commit=3), 2.0)
    assert reset.trusted is False
    assert reset.tps is None
    assert restarted.trusted is False
    assert restarted.reason == "the server restarted between polls"
    assert went_down.trusted is False
    assert went_down.tps is None
