"""Connection pool and the single timed path every application query takes.

Screens and domain code never hold SQL of their own: they call functions in
``store/`` or the domain packages, which run named SQL through
:meth:`Database.fetch_all` and its relatives. Each call is timed and recorded
in :mod:`evedmv_tui.store.telemetry` under the current operation tag.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import psycopg
from psycopg import sql
from psycopg.rows import class_row, tuple_row
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from evedmv_tui.errors import DatabaseUnavailable, EvedmvError
from evedmv_tui.store.telemetry import (
    TELEMETRY,
    QueryRecord,
    Telemetry,
    current_operation,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any] | None
APPLICATION_NAME = "evedmv"
MONITOR_APPLICATION_NAME = "evedmv-monitor"
BORROW_PROBE_SECONDS = 2.0
"""Connect timeout of the attempt that explains a pool timeout."""


@dataclasses.dataclass(frozen=True, slots=True)
class NamedSql:
    """SQL text loaded from a ``.sql`` file, with the name telemetry shows."""

    name: str
    text: str


Query = str | sql.Composable | NamedSql


@functools.cache
def load_sql(package: str, name: str) -> NamedSql:
    """Load ``<package>/sql/<name>.sql`` once and cache it.

    The file is read from the folder of the package's ``__init__.py``.
    ``importlib.resources`` took about 0.7 ms per file, twenty times as
    long, which the first poll of the monitor and the first load of each
    screen paid once per query.
    """
    origin = importlib.import_module(package).__file__
    if origin is None:
        raise ValueError(f"{package} is not a package with files")
    text = (Path(origin).parent / "sql" / f"{name}.sql").read_text("utf-8")
    return NamedSql(f"{package.rsplit('.', 1)[-1]}.{name}", text)


def _describe(query: Query, conn: psycopg.Connection[Any]) -> tuple[str, str]:
    if isinstance(query, NamedSql):
        return query.name, query.text
    text = query if isinstance(query, str) else query.as_string(conn)
    words = " ".join(text.split()[:3])
    return words[:60], text


def _sql(query: Query) -> str | sql.Composable:
    return query.text if isinstance(query, NamedSql) else query


_UNDEFINED_OBJECT = (
    psycopg.errors.UndefinedTable,
    psycopg.errors.UndefinedFunction,
    psycopg.errors.UndefinedColumn,
    psycopg.errors.UndefinedObject,
)
"""Errors of a query on a table, function, column or type that does not exist."""


TRANSIENT_CONNECT_ERRORS = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "too many clients already",
    "remaining connection slots are reserved",
)
"""Server messages of connection failures that may pass within seconds.

libpq reports a failed connection without a SQLSTATE, so the English server
message is all there is to tell these apart from a definite failure.
"""


def is_transient_connect_error(error: psycopg.OperationalError) -> bool:
    """Tell whether a failed connection attempt is worth retrying at once.

    A server that is starting, stopping or full may accept the next attempt.
    A missing socket, a refused port, a failed authentication or an unknown
    database will fail the same way again.
    """
    text = str(error).lower()
    return any(message in text for message in TRANSIENT_CONNECT_ERRORS)


def check_server(
    conninfo: str, timeout: float, *, application_name: str = APPLICATION_NAME
) -> None:
    """Open and close one connection, raising at once on a definite failure.

    A connection pool retries a failed connection with backoff until its
    timeout and logs each attempt, so on its own it reports an unreachable
    server only after the whole timeout. This attempt raises its error at
    once, unless :func:`is_transient_connect_error` returns True because the
    pool's retries may succeed. ``timeout`` becomes libpq's
    ``connect_timeout`` unless ``conninfo`` sets one.

    Raises:
        psycopg.OperationalError: the server cannot be reached or rejected
            the connection.
    """
    kwargs: dict[str, Any] = {"application_name": application_name}
    if "connect_timeout" not in psycopg.conninfo.conninfo_to_dict(conninfo):
        kwargs["connect_timeout"] = max(round(timeout), 1)
    try:
        psycopg.connect(conninfo, **kwargs).close()
    except psycopg.OperationalError as exc:
        if not is_transient_connect_error(exc):
            raise
        log.info("server not ready, the pool retries: %s", first_line(exc))


SHORT_CONNECT_REASONS: Mapping[str, str] = {
    "No such file or directory": "no server socket",
    "Connection refused": "connection refused",
    "server closed the connection unexpectedly": "server closed the connection",
}
"""Shorter words for libpq's usual reasons, so they fit a status line."""


def connect_reason(error: BaseException) -> str:
    """Return the reason at the end of a libpq connection error, in few words.

    ``connection to server on socket "/x/.s.PGSQL.5432" failed: No such file
    or directory`` gives ``no server socket``.
    """
    reason = first_line(error).rsplit(": ", 1)[-1].strip()
    return SHORT_CONNECT_REASONS.get(reason, reason)


def first_line(error: BaseException) -> str:
    """Return the first line of an exception's text, or its type name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class _Aborted(BaseException):
    """Raised by the pool's connection check once :meth:`Database.abort` ran.

    When a check fails with an ``Exception``, the pool waits for another
    connection, even when it is closed, for up to the whole borrow timeout.
    An exception outside that class stops the borrow at once.
    """


def _cut(conn: psycopg.Connection[Any]) -> None:
    """Shut down ``conn``'s socket, so a thread blocked reading it gets an error.

    The descriptor stays open for the thread that uses it; only the socket
    stops carrying bytes, as when the server closes it.
    """
    try:
        fd = conn.pgconn.socket
    except psycopg.OperationalError:
        return  # closed already
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError as exc:
        log.debug("could not shut down a connection's socket: %s", exc)


class Database:
    """A psycopg connection pool with timed query helpers.

    Opening makes one plain connection first (:func:`check_server`), so a
    server that cannot be reached raises :class:`psycopg.OperationalError`
    at once instead of after ``open_timeout``. Once the pool is open, it
    replaces connections that a restarted or lost server broke, retrying
    for up to 30 s.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 6,
        application_name: str = APPLICATION_NAME,
        telemetry: Telemetry = TELEMETRY,
        open_timeout: float = 10.0,
        borrow_timeout: float = 30.0,
        check: Callable[[psycopg.Connection[Any]], None] | None = (
            ConnectionPool.check_connection
        ),
    ) -> None:
        self.conninfo = conninfo
        self.borrow_timeout = borrow_timeout
        """Seconds :meth:`connection` waits for a pooled connection."""
        self.application_name = application_name
        self.telemetry = telemetry
        self.schema_problem: EvedmvError | None = None
        """The error that explains why the app's tables are missing or out of
        date, set when the database was opened without migrating. A query that
        then fails on a missing table, function or column raises this error
        instead."""
        self._aborted = False
        self._opened: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()
        """Every connection the pool made that is still alive, for :meth:`abort`."""
        self._opened_lock = threading.Lock()
        self._check = check
        check_server(conninfo, open_timeout, application_name=application_name)
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            kwargs={"application_name": application_name, "autocommit": True},
            open=False,
            name=application_name,
            check=self._check_borrowed if check is not None else None,
            configure=self._remember,
            reconnect_timeout=30,
        )
        try:
            self.pool.open(wait=True, timeout=open_timeout)
        except PoolTimeout:
            self.pool.close()
            raise DatabaseUnavailable(
                "cannot connect to PostgreSQL",
                f"no connection within {open_timeout:.0f} s to {redact(conninfo)}",
                "check that the server runs ('evedmv db status') and the DSN is right",
            ) from None

    def close(self) -> None:
        self.pool.close()

    def abort(self) -> None:
        """Close the pool and cut every connection it made, borrowed ones too.

        For a process that exits: a thread that waits on a server that stopped
        responding would otherwise keep the process alive until the server
        responds, which may be never. Such a thread gets a connection error
        instead.
        """
        self._aborted = True
        with self._opened_lock:
            opened = list(self._opened)
        for conn in opened:
            _cut(conn)
        # The pool's own threads may be connecting to that server; do not
        # wait for them.
        self.pool.close(timeout=0)

    @property
    def open_connections(self) -> int:
        """How many of the connections the pool made are not closed yet."""
        with self._opened_lock:
            return sum(not conn.closed for conn in self._opened)

    def _remember(self, conn: psycopg.Connection[Any]) -> None:
        with self._opened_lock:
            self._opened.add(conn)

    def _check_borrowed(self, conn: psycopg.Connection[Any]) -> None:
        assert self._check is not None
        if self._aborted:
            raise _Aborted
        try:
            self._check(conn)
        except psycopg.Error:
            if self._aborted:
                raise _Aborted from None
            raise

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow an autocommit connection; use ``conn.transaction()`` to group."""
        try:
            with self.pool.connection(timeout=self.borrow_timeout) as conn:
                yield conn
        except PoolTimeout:
            raise self._borrow_failure() from None
        except _Aborted:
            raise DatabaseUnavailable(
                "not connected",
                "the connection was cut as the program exits",
                "start it again",
            ) from None
        except PoolClosed:
            # Another thread closed this pool to reconnect with a new one.
            raise DatabaseUnavailable(
                "not connected",
                "the connection was closed to reconnect",
                "the dashboard reconnects by itself; the screen reloads when it does",
            ) from None

    def _borrow_failure(self) -> DatabaseUnavailable:
        """Return the error for a pool timeout: a server gone, or busy connections.

        The pool times out the same way in both cases, so one plain connection
        attempt separates them and gives the server's reason.
        """
        try:
            check_server(
                self.conninfo,
                BORROW_PROBE_SECONDS,
                application_name=self.application_name,
            )
        except psycopg.OperationalError as exc:
            return DatabaseUnavailable(
                "server unreachable",
                f"cannot connect ({connect_reason(exc)})",
                "check that it runs ('evedmv db status') and read its log",
            )
        if self.pool.get_stats().get("pool_size", 0) < self.pool.min_size:
            # The pool lost its connections (a restart, an outage) and waits
            # between attempts to open new ones, though the server is back.
            return DatabaseUnavailable(
                "database reconnecting",
                "the server accepts connections again, but the connections lost"
                " while it was unreachable are still being replaced",
                "try again in a few seconds",
            )
        return DatabaseUnavailable(
            "database busy or unreachable",
            f"every pooled connection stayed busy for {self.borrow_timeout:g} s",
            "check 'evedmv db status' and the server log",
        )

    @contextlib.contextmanager
    def timed(self, name: str, text: str, params: Params = None) -> Iterator[list[int]]:
        """Record the block as one statement; set ``box[0]`` to the row count."""
        box = [0]
        started = time.time()
        start = time.perf_counter()
        error: str | None = None
        try:
            yield box
        except psycopg.Error as exc:
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise
        finally:
            seconds = time.perf_counter() - start
            stored = tuple(params) if isinstance(params, Sequence) else params
            self.telemetry.record(
                QueryRecord(
                    current_operation(),
                    name,
                    text,
                    stored,
                    started,
                    seconds,
                    box[0],
                    error,
                )
            )
            log.debug("%s %.1f ms rows=%d", name, seconds * 1000, box[0])

    def _run(
        self,
        cur: psycopg.Cursor[Any],
        query: Query,
        params: Params,
        *,
        binary: bool = False,
    ) -> None:
        name, text = _describe(query, cur.connection)
        with self.timed(name, text, params) as box:
            try:
                cur.execute(_sql(query), params, binary=binary)  # type: ignore[arg-type]
            except _UNDEFINED_OBJECT as exc:
                problem = self.schema_problem
                if problem is None:
                    raise
                raise DatabaseUnavailable(
                    problem.title, problem.message, problem.hint
                ) from exc
            box[0] = max(cur.rowcount, 0)

    @contextlib.contextmanager
    def _cursor(
        self, conn: psycopg.Connection[Any] | None, row_factory: Any
    ) -> Iterator[psycopg.Cursor[Any]]:
        if conn is not None:
            with conn.cursor(row_factory=row_factory) as cur:
                yield cur
            return
        with self.connection() as own, own.cursor(row_factory=row_factory) as cur:
            yield cur

    def execute(
        self,
        query: Query,
        params: Params = None,
        *,
        conn: psycopg.Connection[Any] | None = None,
    ) -> int:
        """Run a statement and return its row count."""
        with self._cursor(conn, tuple_row) as cur:
            self._run(cur, query, params)
            return max(cur.rowcount, 0)

    @overload
    def fetch_all(
        self,
        query: Query,
        params: Params = None,
        *,
        row: type[T],
        conn: psycopg.Connection[Any] | None = None,
        binary: bool = False,
    ) -> list[T]: ...

    @overload
    def fetch_all(
        self,
        query: Query,
        params: Params = None,
        *,
        row: None = None,
        conn: psycopg.Connection[Any] | None = None,
        binary: bool = False,
    ) -> list[tuple[Any, ...]]: ...

    def fetch_all(
        self,
        query: Query,
        params: Params = None,
        *,
        row: type[Any] | None = None,
        conn: psycopg.Connection[Any] | None = None,
        binary: bool = False,
    ) -> list[Any]:
        """Run a query and return every row, as ``row`` records when given.

        ``binary`` requests results in binary format, which psycopg converts
        to the same Python types with less CPU for numeric columns.
        """
        factory = class_row(row) if row is not None else tuple_row
        with self._cursor(conn, factory) as cur:
            self._run(cur, query, params, binary=binary)
            return cur.fetchall()

    @overload
    def fetch_one(
        self,
        query: Query,
        params: Params = None,
        *,
        row: type[T],
        conn: psycopg.Connection[Any] | None = None,
    ) -> T | None: ...

    @overload
    def fetch_one(
        self,
        query: Query,
        params: Params = None,
        *,
        row: None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> tuple[Any, ...] | None: ...

    def fetch_one(
        self,
        query: Query,
        params: Params = None,
        *,
        row: type[Any] | None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> Any:
        """Run a query and return its first row, or None."""
        factory = class_row(row) if row is not None else tuple_row
        with self._cursor(conn, factory) as cur:
            self._run(cur, query, params)
            return cur.fetchone()

    def fetch_value(
        self,
        query: Query,
        params: Params = None,
        *,
        conn: psycopg.Connection[Any] | None = None,
    ) -> Any:
        """Run a query and return the first column of its first row, or None."""
        found = self.fetch_one(query, params, conn=conn)
        return None if found is None else found[0]


def redact(conninfo: str) -> str:
    """Return ``conninfo`` with any password replaced by ``***``."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    if "password" in params:
        params["password"] = "***"
    return psycopg.conninfo.make_conninfo("", **params)
