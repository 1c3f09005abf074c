"""The record one monitor poll produces, for the screen, reports and baselines."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from evedmv_tui.monitor.activity import ActivitySummary
from evedmv_tui.monitor.appside import CacheRow, OperationRow, SlowAppQuery
from evedmv_tui.monitor.capabilities import MonitorCapabilities, PanelProblem
from evedmv_tui.monitor.delta import StatementDelta
from evedmv_tui.monitor.ingest import IngestHealth
from evedmv_tui.monitor.memory import (
    AllocationSite,
    GcGeneration,
    ProcessMemory,
    Trend,
)
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.monitor.server import DatabaseRates, IndexHint
from evedmv_tui.monitor.severity import Severity, worst
from evedmv_tui.monitor.statements import HIDDEN_LABEL, clip

SORT_FIELDS = ("total", "mean", "calls", "rows", "blocks")
"""Orders of the top-statements list: total time, mean time, calls, rows
and shared blocks (hit plus read), each over the interval."""


class StatementView(NamedTuple):
    """One ``pg_stat_statements`` entry as the monitor shows it.

    A named tuple, because a poll makes one per changed entry.
    """

    delta: StatementDelta
    query: str | None
    """Full text; None until fetched, HIDDEN_LABEL for other roles' sum."""
    fingerprint: str | None
    severity: Severity

    @property
    def row_key(self) -> str:
        key = self.delta.key
        if key is None:
            return "hidden"
        return f"{key.userid}:{key.dbid}:{key.queryid}:{int(key.toplevel)}"

    @property
    def queryid(self) -> int | None:
        return None if self.delta.key is None else self.delta.key.queryid

    def one_line(self, width: int = 120) -> str:
        if self.delta.key is None:
            return HIDDEN_LABEL
        return clip(self.query or f"queryid {self.queryid}", width)

    def sort_value(self, field: str) -> float:
        """Return the value ``field`` sorts by; untrusted entries use totals."""
        delta = self.delta
        if not delta.trusted:
            total = delta.total
            cumulative = {
                "total": total.exec_ms + total.plan_ms,
                "mean": total.exec_ms / total.calls if total.calls else 0.0,
                "calls": float(total.calls),
                "rows": float(total.rows),
                "blocks": float(total.shared_blks_hit + total.shared_blks_read),
            }
            return cumulative[field]
        interval = {
            "total": delta.total_ms,
            "mean": delta.mean_ms or 0.0,
            "calls": float(delta.calls),
            "rows": float(delta.rows),
            "blocks": float(delta.shared_blks),
        }
        return interval[field]


def sort_statements(
    views: list[StatementView], field: str, *, text_filter: str = ""
) -> list[StatementView]:
    """Order views by ``field``, keeping only texts that contain ``text_filter``."""
    if field not in SORT_FIELDS:
        raise ValueError(
            f"invalid sort field {field!r}; use one of {', '.join(SORT_FIELDS)}"
        )
    needle = text_filter.lower()
    chosen = [v for v in views if not needle or needle in (v.one_line(10_000).lower())]
    return sorted(chosen, key=lambda v: v.sort_value(field), reverse=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Alert:
    severity: Severity
    source: str
    """The panel it belongs to: statements, activity, app, memory, ..."""
    message: str
    key: str
    """Stable across polls, so a table can update the alert's row in place."""


@dataclasses.dataclass(frozen=True, slots=True)
class PollCost:
    """What the poll itself cost."""

    wall_seconds: float
    cpu_seconds: float
    """CPU time of the polling thread in this process."""
    backend_cpu_seconds: float | None
    """CPU time of the monitor's server backend, when the server is local."""
    queries: int

    def share_of_core(self, interval: float) -> float | None:
        """Return the poll's CPU as a share of one core at ``interval`` seconds."""
        if interval <= 0:
            return None
        return self.cpu_seconds / interval


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryView:
    app: ProcessMemory
    trend: Trend | None
    backends: list[ProcessMemory]
    backends_hidden_reason: str | None
    gc: list[GcGeneration]
    top_allocations: list[AllocationSite] | None
    """None unless tracemalloc is tracing."""


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one poll measured; panels that failed carry a problem instead."""

    sequence: int
    at: float
    """Wall-clock end of the poll (``time.time()``)."""
    elapsed: float | None
    """Seconds since the previous poll, None on the first."""
    interval: float
    """The poll interval that was set for this poll."""
    connected: bool
    disconnected_since: float | None
    error: str | None
    server: str
    """The server's connection string, password redacted."""
    capabilities: MonitorCapabilities | None
    problems: list[PanelProblem]
    """Panels that cannot show anything, with the fix for each."""
    notes: list[PanelProblem]
    """Panels that work but show less (missing privileges, a remote server)."""
    statements: list[StatementView]
    statements_trusted: bool
    statements_reason: str | None
    activity: ActivitySummary | None
    database: DatabaseRates | None
    index_hints: list[IndexHint]
    operations: list[OperationRow]
    slow_app_queries: list[SlowAppQuery]
    memory: MemoryView | None
    caches: list[CacheRow]
    ingest: IngestHealth | None
    alerts: list[Alert]
    samples: list[Sample]
    cost: PollCost

    @property
    def severity(self) -> Severity:
        return worst([alert.severity for alert in self.alerts])

    def problem(self, panel: str) -> PanelProblem | None:
        """Return the problem that blocks ``panel``, if any."""
        for problem in self.problems:
            if problem.panel == panel:
                return problem
        return None

    def top_statements(
        self, field: str = "total", limit: int = 20, text_filter: str = ""
    ) -> list[StatementView]:
        return sort_statements(self.statements, field, text_filter=text_filter)[:limit]
