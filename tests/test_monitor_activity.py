"""Blocking chains and the exclusion of the monitor's own backends."""

from __future__ import annotations

import dataclasses

from evedmv_tui.monitor.activity import (
    Backend,
    DatabaseBackends,
    blocking_chain,
    summarize_activity,
)
from evedmv_tui.monitor.findings import build_samples
from evedmv_tui.monitor.severity import Severity


def backend(
    pid: int,
    *,
    state: str | None = "active",
    seconds: float = 0.1,
    blocked_by: list[int] | None = None,
    application: str = "evedmv",
    backend_type: str = "client backend",
    database: str | None = "evedmv",
) -> Backend:
    return Backend(
        pid=pid,
        database=database,
        role_name="evedmv",
        application_name=application,
        client_addr=None,
        backend_type=backend_type,
        state=state,
        wait_event_type="Lock" if blocked_by else None,
        wait_event="relation" if blocked_by else None,
        query_seconds=seconds,
        xact_seconds=seconds,
        query=f"SELECT {pid}",
        blocked_by=blocked_by or [],
    )


def test_chain_follows_first_blocker_to_root() -> None:
    blockers = {3: [2], 2: [1]}
    assert blocking_chain(3, blockers) == (3, 2, 1)
    assert blocking_chain(1, blockers) == (1,)


def test_chain_stops_at_a_cycle() -> None:
    assert blocking_chain(1, {1: [2], 2: [1]}) == (1, 2)


def test_summary_excludes_monitor_and_ranks_by_duration() -> None:
    backends = [
        backend(1, seconds=0.5),
        backend(2, seconds=6.0),
        backend(3, seconds=1.5, blocked_by=[1]),
        backend(4, application="evedmv-monitor"),
        backend(5),
        backend(6, state="idle"),
        backend(7, backend_type="checkpointer", state=None),
        backend(8, state="idle", application="psql"),
    ]
    summary = summarize_activity(
        backends,
        exclude_pids={5},
        monitor_application="evedmv-monitor",
        warning_seconds=1.0,
        error_seconds=5.0,
        app_application="evedmv",
    )
    assert [r.backend.pid for r in summary.running] == [2, 3, 1]
    assert [r.severity for r in summary.running] == [
        Severity.ERROR,
        Severity.WARNING,
        Severity.OK,
    ]
    assert summary.monitor_backends == 2
    assert summary.client_backends == 5
    assert summary.app_backends == 4
    assert summary.by_state == {"active": 3, "idle": 2}
    assert summary.blocked == 1
    assert summary.chains == [(3, 1)]
    assert summary.running[1].chain == (3, 1)


def test_backend_count_sample_leaves_out_the_dashboards_pool() -> None:
    from tests.test_performance_screen import recorded_snapshot

    snapshot = recorded_snapshot()
    assert snapshot.activity is not None
    activity = dataclasses.replace(snapshot.activity, client_backends=6, app_backends=4)
    samples = build_samples(dataclasses.replace(snapshot, activity=activity), 2.0)
    [count] = [s for s in samples if s.key == "process:count"]
    assert count.value == 2.0


def test_database_counts_include_monitor() -> None:
    """The monitor's own backends were in ``numbackends`` but in neither the
    state counts nor the monitor count, so the Database tab's parts did not
    add up to its total."""
    backends = [
        backend(1, state="idle"),
        backend(2),
        backend(3, application="evedmv-monitor"),
        backend(4, state="idle"),
        backend(5, backend_type="autovacuum worker", state=None),
        backend(6, state="idle", database="postgres"),
        backend(7, backend_type="checkpointer", state=None, database=None),
        backend(8, backend_type="", state=None),
    ]
    summary = summarize_activity(
        backends,
        exclude_pids={4},
        monitor_application="evedmv-monitor",
        warning_seconds=1.0,
        error_seconds=5.0,
    )
    assert summary.databases == {
        "evedmv": DatabaseBackends({"active": 1, "idle": 1}, 2, 2),
        "postgres": DatabaseBackends({"idle": 1}, 0, 0),
    }
    assert summary.databases["evedmv"].total == 6
    assert summary.monitor_backends == 2
