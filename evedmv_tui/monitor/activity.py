"""``pg_stat_activity``: running queries, waits and blocking chains."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, NamedTuple

import psycopg

from evedmv_tui.monitor.capabilities import PanelProblem
from evedmv_tui.monitor.severity import Severity, classify_seconds
from evedmv_tui.store.db import Database, load_sql

IDLE_IN_TRANSACTION = "idle in transaction"
ACTIVE_STATES = frozenset({"active", IDLE_IN_TRANSACTION, "fastpath function call"})
HIDDEN_LISTED = 5
"""Hidden sessions named by pid in the note; the rest are only counted."""


class Backend(NamedTuple):
    """One server process as ``pg_stat_activity`` shows it.

    A named tuple in the column order of the ``activity`` query, because the
    monitor builds one per server process every poll, and a tuple costs less than
    half as much to create as a frozen dataclass.
    """

    pid: int
    database: str | None
    role_name: str | None
    application_name: str
    client_addr: str | None
    backend_type: str
    state: str | None
    """None for other roles' backends without ``pg_read_all_stats``."""
    wait_event_type: str | None
    wait_event: str | None
    query_seconds: float | None
    xact_seconds: float | None
    query: str
    blocked_by: list[int]
    backend_start: dt.datetime | None = None
    """Start time of the session; None when it is hidden from this role.
    Together with the pid it identifies one session, because a new session
    can reuse the pid of an ended one."""
    query_start: dt.datetime | None = None
    """Start time of the query shown; None when it is hidden from this role.
    Together with ``backend_start`` it identifies the query that a cancel
    is confirmed for."""

    @property
    def running(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def hidden(self) -> bool:
        """Whether this is another role's session that this role may not inspect.

        Without ``pg_read_all_stats``, pg_stat_activity shows such a row's
        pid, database and role, but NULL for its type, state and start times
        (checked on PostgreSQL 15.18). Server processes without a database
        or a role are not sessions, so they do not count.
        """
        return (
            self.state is None
            and not self.backend_type
            and self.database is not None
            and self.role_name is not None
        )

    @property
    def wait(self) -> str:
        if self.wait_event_type is None:
            return ""
        return f"{self.wait_event_type}:{self.wait_event or ''}"

    @property
    def identity(self) -> str:
        """Whose backend this is, as text: role, application_name, client address.

        A client backend with no client address but a visible state came in
        over the local Unix-domain socket, so the client reads "local socket".
        The client is left out when the row is hidden from this role (no
        ``pg_read_all_stats``) or the backend is not a client's.
        """
        parts = [
            f"role {self.role_name or 'unknown'}",
            f"application {self.application_name or '(none)'}",
        ]
        if self.client_addr:
            parts.append(f"client {self.client_addr}")
        elif self.state is not None and self.backend_type == "client backend":
            parts.append("client local socket")
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True, slots=True)
class RunningQuery:
    """A backend that runs a query now, with its severity by duration."""

    backend: Backend
    severity: Severity
    chain: tuple[int, ...]
    """Pids from this backend to the root of what blocks it, this one first."""
    monitor: bool = False
    """Whether this is a monitor's backend, listed because it waits on a lock:
    an EXPLAIN that a user started."""

    @property
    def idle_in_transaction(self) -> bool:
        return self.backend.state == IDLE_IN_TRANSACTION

    @property
    def seconds(self) -> float:
        """The duration that ``severity`` judges, in seconds.

        That is the transaction's age (since ``xact_start``) for a session
        idle in a transaction, because it holds its locks and snapshot
        between statements, and the query's age (since ``query_start``)
        otherwise.
        """
        if self.idle_in_transaction:
            return self.backend.xact_seconds or 0.0
        return self.backend.query_seconds or 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseBackends:
    """The backends connected to one database, which ``numbackends`` counts too."""

    by_state: dict[str, int]
    """Client backends but the monitor's, by state."""
    monitor: int
    """The monitor's own connections, the one that polls included."""
    other: int
    """Autovacuum and parallel workers, and backends whose type this role
    may not see (without ``pg_read_all_stats``)."""

    @property
    def total(self) -> int:
        return sum(self.by_state.values()) + self.monitor + self.other


@dataclasses.dataclass(frozen=True, slots=True)
class ActivitySummary:
    """What the activity panel shows for one poll."""

    running: list[RunningQuery]
    """Running backends, longest first."""
    by_state: dict[str, int]
    client_backends: int
    monitor_backends: int
    blocked: int
    chains: list[tuple[int, ...]]
    """Each blocked pid's chain to its root blocker, longest first."""
    app_backends: int = 0
    """Client backends of the dashboard's own application, which
    ``client_backends`` counts too; its pool grows and shrinks with the
    screens, so alerts leave them out."""
    databases: dict[str, DatabaseBackends] = dataclasses.field(default_factory=dict)
    """The backends of each database, by name."""
    hidden: list[Backend] = dataclasses.field(default_factory=list)
    """Other roles' sessions whose state and query this role may not read,
    so they may run a query that ``running`` cannot list."""
    monitor_pids: frozenset[int] = frozenset()
    """The monitor's backends, which a chain marks where it passes them."""

    def chain_text(self, chain: tuple[int, ...]) -> str:
        """Return ``chain`` as text, ``4711 ← 4702``, with the monitor's marked.

        A monitor's pid reads ``4711 (monitor)``.
        """
        return " ← ".join(
            f"{pid} (monitor)" if pid in self.monitor_pids else str(pid)
            for pid in chain
        )


def hidden_sessions_note(hidden: list[Backend], role: str) -> PanelProblem | None:
    """Return the Activity note that counts and names other roles' hidden sessions.

    Their duration is unknown too, because their start times are hidden.
    """
    if not hidden:
        return None
    named = ", ".join(f"{b.pid} ({b.role_name})" for b in hidden[:HIDDEN_LISTED])
    if len(hidden) > HIDDEN_LISTED:
        named += f" and {len(hidden) - HIDDEN_LISTED} more"
    count = len(hidden)
    sessions = "session" if count == 1 else "sessions"
    return PanelProblem(
        "activity",
        f"{count} {sessions} of other roles hidden, so queries they run are not"
        f" listed; pid (role): {named}",
        f"GRANT pg_read_all_stats TO {role};",
        # Not an alert: the missing privilege raises one already, and the
        # pids in the text change from poll to poll.
        Severity.OK,
    )


def read_backends(db: Database, conn: psycopg.Connection[Any]) -> list[Backend]:
    rows = db.fetch_all(load_sql("evedmv_tui.monitor", "activity"), conn=conn)
    return [Backend._make(row) for row in rows]


def blocking_chain(pid: int, blockers: dict[int, list[int]]) -> tuple[int, ...]:
    """Follow the first blocker of each pid until a pid that waits on none.

    A cycle (a deadlock not yet detected by the server) ends the chain at the
    first repeated pid.
    """
    chain = [pid]
    seen = {pid}
    current = pid
    while blockers.get(current):
        current = blockers[current][0]
        if current in seen:
            break
        chain.append(current)
        seen.add(current)
    return tuple(chain)


def summarize_activity(
    backends: list[Backend],
    *,
    exclude_pids: set[int],
    monitor_application: str,
    warning_seconds: float,
    error_seconds: float,
    app_application: str | None = None,
) -> ActivitySummary:
    """Drop the monitor's own backends and rank the rest by duration.

    A monitor's backend that waits on a lock stays in, marked as the
    monitor's.

    A session idle in a transaction is judged by its transaction's age, any
    other by its query's (see :attr:`RunningQuery.seconds`).
    """
    own = [
        b
        for b in backends
        if b.pid in exclude_pids or b.application_name == monitor_application
    ]
    own_pids = {b.pid for b in own}
    others = [b for b in backends if b.pid not in own_pids]
    # A monitor's backend that waits on a lock runs an EXPLAIN that a user
    # started, so it is listed and joins the blocking chains. The poll's own
    # backend runs the query that reads these rows, so it is not among them.
    own_blocked = [b for b in own if b.blocked_by]
    listed = others + own_blocked
    blockers = {b.pid: b.blocked_by for b in listed if b.blocked_by}
    by_state: dict[str, int] = {}
    for backend in others:
        if backend.backend_type == "client backend":
            state = backend.state or "unknown"
            by_state[state] = by_state.get(state, 0) + 1
    running = []
    for backend in listed:
        if not backend.running or backend.backend_type != "client backend":
            continue
        query = RunningQuery(
            backend,
            Severity.OK,
            blocking_chain(backend.pid, blockers),
            backend.pid in own_pids,
        )
        severity = classify_seconds(query.seconds, warning_seconds, error_seconds)
        running.append(dataclasses.replace(query, severity=severity))
    running.sort(key=lambda r: r.seconds, reverse=True)
    chains = sorted(
        (blocking_chain(pid, blockers) for pid in blockers), key=len, reverse=True
    )
    clients = [b for b in others if b.backend_type == "client backend"]
    return ActivitySummary(
        running,
        by_state,
        len(clients),
        len(own),
        len(blockers),
        chains,
        sum(1 for b in clients if b.application_name == app_application),
        count_by_database(backends, own_pids),
        [b for b in others if b.hidden],
        frozenset(own_pids),
    )


def count_by_database(
    backends: list[Backend], monitor_pids: set[int]
) -> dict[str, DatabaseBackends]:
    """Count each database's backends as client, monitor or other processes.

    The counts of a database add up to its ``numbackends`` when both come
    from one statistics snapshot, as they do in the poll's first query.
    Processes with no database (the checkpointer, the WAL writer) are left out.
    """
    states: dict[str, dict[str, int]] = {}
    monitor: dict[str, int] = {}
    other: dict[str, int] = {}
    for backend in backends:
        name = backend.database
        if name is None:
            continue
        states.setdefault(name, {})
        if backend.pid in monitor_pids:
            monitor[name] = monitor.get(name, 0) + 1
        elif backend.backend_type == "client backend":
            state = backend.state or "unknown"
            states[name][state] = states[name].get(state, 0) + 1
        else:
            other[name] = other.get(name, 0) + 1
    return {
        name: DatabaseBackends(by_state, monitor.get(name, 0), other.get(name, 0))
        for name, by_state in states.items()
    }


def cancel_backend(db: Database, backend: Backend) -> bool:
    """Cancel the backend's running query; return False if it was not signalled.

    Only the query that ``backend`` shows is cancelled: not the next one
    of the same session, not one of a session that took its pid after it
    ended, and not one whose start times are hidden.
    """
    return _signal_backend(db, "cancel_backend", backend)


def terminate_backend(db: Database, backend: Backend) -> bool:
    """Terminate the backend's session; return False if it was not signalled.

    Only the session that ``backend`` shows is signalled, as for
    :func:`cancel_backend`.
    """
    return _signal_backend(db, "terminate_backend", backend)


def _signal_backend(db: Database, query: str, backend: Backend) -> bool:
    parameters = {
        "pid": backend.pid,
        "backend_start": backend.backend_start,
        "query_start": backend.query_start,
    }
    return bool(db.fetch_value(load_sql("evedmv_tui.monitor", query), parameters))
