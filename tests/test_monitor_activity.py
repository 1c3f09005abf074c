"""Blocking chains and the exclusion of the monitor's own backends."""

from __future__ import annotations

import dataclasses

from evedmv_tui.monitor.activity import Backend, blocking_chain, summarize_activity
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
) -> Backend:
    return Backend(
        pid=pid,
        database="evedmv",
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
