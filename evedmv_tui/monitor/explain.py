"""``EXPLAIN (FORMAT JSON)`` of application queries and ``pg_stat_statements`` entries.

Application queries are explained with the parameters they really ran with,
taken from the telemetry record. ``pg_stat_statements`` keeps only the
normalised text (``$1`` for each constant), so its entries get a generic
plan: ``EXPLAIN (GENERIC_PLAN)`` on PostgreSQL 16 and later, and on older
servers ``PREPARE`` with ``plan_cache_mode = force_generic_plan``, followed by
``EXPLAIN EXECUTE`` with NULL for each parameter.

Every plan is taken inside a transaction that is rolled back. Without
``ANALYZE`` that transaction is read-only. ``ANALYZE`` runs the statement,
so a caller must ask for it explicitly and warn the user first; its changes
are rolled back too. ``ANALYZE`` of a statement that starts with ``SELECT``,
``VALUES`` or ``TABLE`` first runs read-only, and again read-write when
PostgreSQL rejects it there as writing (``FOR UPDATE``, ``nextval()``).

Every statement sent here, ``BEGIN`` and ``ROLLBACK`` included, starts with
:data:`~evedmv_tui.monitor.statements.MONITOR_MARKER`, so the monitor leaves
its own EXPLAIN work out of the statements it lists.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from evedmv_tui.monitor.capabilities import GENERIC_PLAN_SERVER
from evedmv_tui.monitor.statements import (
    HIDDEN_TEXT,
    MONITOR_MARKER,
    has_single_statement,
    normalize_query,
)
from evedmv_tui.store.connect import is_connection_failure
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import QueryRecord

EXPLAINABLE = frozenset(
    {"select", "with", "insert", "update", "delete", "values", "table", "merge"}
)
READ_ONLY = frozenset({"select", "values", "table"})
EXPLAIN_TIMEOUT_MS = 30_000
CANCEL_TIMEOUT_SECONDS = 5.0
"""How long :meth:`ExplainStopper.stop` waits for one cancel request."""
CONNECTION_CHECK_SERVER = 140000
"""The first server version with ``client_connection_check_interval``."""
CONNECTION_CHECK_MS = 1000
"""How often the server checks, while an EXPLAIN runs, that its client is there."""
CANCEL_ATTEMPTS = 3
"""Cancel requests sent before the statement timeout is left to end it."""

log = logging.getLogger(__name__)

_PREPARED_NAME = "evedmv_monitor_explain"
_PARAMETER = re.compile(r"\$(\d+)")
LITERAL_TYPES = (
    r"(?:timestamp|time)\s+with(?:out)?\s+time\s+zone",
    r"double\s+precision",
    r"character\s+varying",
    "interval",
    "timestamptz",
    "timestamp",
    "timetz",
    "time",
    "date",
    "numeric",
    "decimal",
    "bigint",
    "smallint",
    "integer",
    r"int[248]?",
    "real",
    r"float[48]?",
    "boolean",
    "bool",
    "text",
    "varchar",
    "character",
    "char",
    "bytea",
    "jsonb",
    "json",
    "uuid",
    "inet",
    "cidr",
    "money",
)
"""Built-in type names, as regular expressions, that may precede a typed
literal such as ``interval '1 day'``."""
# NOTE: a typed literal of any other type (an enum, a schema-qualified name)
# keeps its "<type> $n" form, and its syntax error gets a hint to cast by hand.
_NEAR_PLACEHOLDER = re.compile(r'at or near "\$\d+"')
"""PostgreSQL's syntax error at a placeholder; only English messages match."""
_TYPED_PLACEHOLDER = re.compile(
    rf"\b({'|'.join(LITERAL_TYPES)})\s+(\$\d+)\b", re.IGNORECASE
)
_LEADING_WORD = re.compile(r"[\s(]*([a-z_][a-z0-9_]*)")

ConnectionHook = Callable[[psycopg.Connection[Any]], None]
"""Called on a borrowed connection before the first EXPLAIN statement; the
monitor uses it to stop ``pg_stat_statements`` recording that connection."""


TYPE_INFERENCE_STATES = frozenset({"42725", "42P18", "42883"})
"""SQLSTATEs of a generic plan whose parameter types PostgreSQL cannot infer:
ambiguous function or operator, indeterminate datatype, and undefined
function (with ``unknown`` arguments)."""
_HAND_NAME = "q"
"""Name of the prepared statement in the statements a user runs by hand."""


class ExplainError(Exception):
    """The statement cannot be explained; the message says why in plain words."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        """What to do instead, with a statement to run by hand when one helps."""


class ExplainStopped(Exception):
    """The user stopped the EXPLAIN while it ran; its transaction was rolled back."""


class ExplainStopper:
    """Lets another thread stop an EXPLAIN while it runs.

    The EXPLAIN's thread attaches its connection before the first statement
    and detaches it before the connection goes back to the pool. :meth:`stop`
    sends PostgreSQL's cancel request under the same lock, so it never
    reaches a connection that already runs someone else's query.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self.requested = False

    def attach(self, conn: psycopg.Connection[Any]) -> None:
        """Record the EXPLAIN's connection; raise if a stop came first."""
        with self._lock:
            if self.requested:
                raise ExplainStopped
            self._conn = conn

    def detach(self) -> None:
        with self._lock:
            self._conn = None

    def stop(self) -> None:
        """Cancel the running statement, or the EXPLAIN before it starts.

        Blocks for one round trip to the server, so call it off the UI
        thread.
        """
        with self._lock:
            self.requested = True
            for _ in range(CANCEL_ATTEMPTS):
                if self._conn is None or self._conn.closed:
                    return
                try:
                    self._conn.cancel_safe(timeout=CANCEL_TIMEOUT_SECONDS)
                    return
                except psycopg.errors.CancellationTimeout:
                    # The server forks a process for each cancel request,
                    # which can take seconds on a loaded machine.
                    log.info("cancel of an EXPLAIN timed out; sending it again")
                except psycopg.Error:
                    # The server is gone; the EXPLAIN fails with it.
                    log.info("cancel of an EXPLAIN failed", exc_info=True)
                    return
            # The statement timeout still ends the EXPLAIN.
            log.warning(
                "cancel of an EXPLAIN timed out %d times; it ends at its"
                " statement timeout",
                CANCEL_ATTEMPTS,
            )

    def stopped(self, exc: psycopg.Error) -> bool:
        """Tell whether ``exc`` is the cancel that :meth:`stop` sent."""
        return self.requested and isinstance(exc, psycopg.errors.QueryCanceled)


@contextlib.contextmanager
def _explain_connection(
    db: Database,
    prepare_connection: ConnectionHook | None,
    stopper: ExplainStopper | None,
) -> Iterator[psycopg.Connection[Any]]:
    """Borrow a connection for one EXPLAIN, prepared and open to ``stopper``."""
    with db.connection() as conn:
        if prepare_connection is not None:
            prepare_connection(conn)
        if stopper is None:
            yield conn
            return
        stopper.attach(conn)
        try:
            yield conn
        finally:
            stopper.detach()


@dataclasses.dataclass(frozen=True, slots=True)
class PlanNode:
    """One node of a plan, with the planner's estimates and, after ANALYZE, actuals."""

    node_type: str
    relation: str | None
    index: str | None
    startup_cost: float
    total_cost: float
    plan_rows: float
    plan_width: int
    actual_total_ms: float | None
    actual_rows: float | None
    loops: int | None
    detail: str
    """Join type, conditions and filters, in EXPLAIN's own words."""
    children: tuple[PlanNode, ...]

    @property
    def title(self) -> str:
        parts = [self.node_type]
        if self.index:
            parts.append(f"using {self.index}")
        if self.relation:
            parts.append(f"on {self.relation}")
        return " ".join(parts)

    @property
    def estimate_text(self) -> str:
        """Return the planner's estimates in EXPLAIN's text format."""
        return (
            f"cost={self.startup_cost:.2f}..{self.total_cost:.2f}"
            f" rows={self.plan_rows:.0f} width={self.plan_width}"
        )

    @property
    def actual_text(self) -> str | None:
        """The measured time, rows and loops after ANALYZE, or None before it."""
        if self.actual_total_ms is None:
            return None
        return (
            f"actual time={self.actual_total_ms:.3f} ms"
            f" rows={self.actual_rows or 0:.0f} loops={self.loops or 0}"
        )

    @property
    def cost_text(self) -> str:
        actual = self.actual_text
        if actual is None:
            return self.estimate_text
        return f"{self.estimate_text} ({actual})"


@dataclasses.dataclass(frozen=True, slots=True)
class ExplainResult:
    plan: PlanNode
    method: str
    """``parameters``, ``generic_plan``, ``prepare`` or ``plain``."""
    analyzed: bool
    planning_ms: float | None
    execution_ms: float | None
    note: str | None
    document: Any
    """The JSON document PostgreSQL returned."""


_DETAIL_KEYS = (
    "Join Type",
    "Strategy",
    "Hash Cond",
    "Merge Cond",
    "Index Cond",
    "Recheck Cond",
    "Join Filter",
    "Filter",
    "Sort Key",
    "Group Key",
)


def parse_plan(node: dict[str, Any]) -> PlanNode:
    """Turn one ``Plan`` object of EXPLAIN's JSON into a :class:`PlanNode` tree."""
    relation = node.get("Relation Name")
    if relation and node.get("Alias") and node["Alias"] != relation:
        relation = f"{relation} {node['Alias']}"
    details = []
    for key in _DETAIL_KEYS:
        value = node.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        details.append(f"{key}: {value}")
    return PlanNode(
        str(node.get("Node Type", "?")),
        relation,
        node.get("Index Name"),
        float(node.get("Startup Cost", 0.0)),
        float(node.get("Total Cost", 0.0)),
        float(node.get("Plan Rows", 0.0)),
        int(node.get("Plan Width", 0)),
        node.get("Actual Total Time"),
        node.get("Actual Rows"),
        node.get("Actual Loops"),
        "; ".join(details),
        tuple(parse_plan(child) for child in node.get("Plans", ())),
    )


def plan_lines(node: PlanNode, depth: int = 0) -> list[str]:
    """Render the plan as indented text lines, as ``EXPLAIN`` does."""
    prefix = "" if depth == 0 else "  " * (depth - 1) + "-> "
    lines = [f"{prefix}{node.title}  ({node.cost_text})"]
    if node.detail:
        lines.append("  " * depth + "   " + node.detail)
    for child in node.children:
        lines.extend(plan_lines(child, depth + 1))
    return lines


def first_keyword(query_text: str) -> str:
    """Return the statement's first keyword in lower case, or ``""`` for none.

    The keyword is matched as a word because :func:`normalize_query` removes
    the spaces around operators and brackets: ``SELECT * FROM t`` becomes
    ``select*from t``.
    """
    match = _LEADING_WORD.match(normalize_query(query_text))
    return match.group(1) if match else ""


def _check_explainable(query_text: str) -> str:
    if query_text.strip() == HIDDEN_TEXT:
        raise ExplainError(
            "the query text is hidden from this role (GRANT pg_read_all_stats)"
        )
    keyword = first_keyword(query_text)
    if keyword not in EXPLAINABLE:
        kind = keyword.upper() or "empty"
        article = "an" if kind[0] in "AEIOUaeiou" else "a"
        raise ExplainError(
            f"{article} {kind} statement has no plan; only SELECT,"
            " WITH, INSERT, UPDATE, DELETE, VALUES, TABLE and MERGE do"
        )
    if not has_single_statement(query_text):
        raise ExplainError("the text holds more than one statement")
    return keyword


def _options(analyze: bool) -> str:
    return "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"


def _result(
    document: Any, method: str, analyzed: bool, note: str | None
) -> ExplainResult:
    if isinstance(document, str):
        document = json.loads(document)
    top = document[0]
    return ExplainResult(
        parse_plan(top["Plan"]),
        method,
        analyzed,
        top.get("Planning Time"),
        top.get("Execution Time"),
        note,
        document,
    )


def _marked(statement: str) -> str:
    return f"{MONITOR_MARKER} {statement}"


@contextlib.contextmanager
def _rolled_back(
    db: Database, conn: psycopg.Connection[Any], *, read_only: bool
) -> Iterator[None]:
    """Run the block in a transaction that is always rolled back.

    The transaction is opened with marked statements rather than with
    ``conn.transaction()``, whose ``BEGIN`` and ``ROLLBACK`` carry no marker.
    ``conn`` must be in autocommit mode, as every pooled connection is.
    """
    mode = "READ ONLY" if read_only else "READ WRITE"
    if conn.info.server_version >= CONNECTION_CHECK_SERVER:
        # Without it, an EXPLAIN ANALYZE whose client quit or died runs on,
        # holding its locks, until the statement timeout. Set for the
        # session, outside the transaction: a server on a system without the
        # check rejects any value but 0, and that error must not abort it.
        with contextlib.suppress(psycopg.Error):
            db.execute(
                _marked(
                    f"SET client_connection_check_interval = {CONNECTION_CHECK_MS}"
                ),
                conn=conn,
            )
    db.execute(_marked(f"BEGIN TRANSACTION {mode}"), conn=conn)
    try:
        db.execute(
            _marked(f"SET LOCAL statement_timeout = {EXPLAIN_TIMEOUT_MS}"), conn=conn
        )
        yield
    finally:
        if not conn.closed:
            # A failed ROLLBACK leaves the connection broken or in a
            # transaction, and the pool discards or rolls back such a
            # connection when it is returned.
            with contextlib.suppress(psycopg.Error):
                db.execute(_marked("ROLLBACK"), conn=conn)


def _fetch_plan(
    db: Database,
    conn: psycopg.Connection[Any],
    statement: str,
    params: Any = None,
    *,
    read_only: bool,
    analyze: bool,
    stopper: ExplainStopper | None,
) -> Any:
    """Fetch the EXPLAIN document of ``statement`` in a rolled-back transaction.

    A statement that starts with SELECT can still write: FOR UPDATE and FOR
    SHARE lock rows, and nextval() or a called function may write.
    PostgreSQL rejects such a statement in a read-only transaction only when
    ANALYZE runs it. It then runs again in a rolled-back READ WRITE
    transaction, as ANALYZE of an UPDATE does, so the part that ran before
    the rejection runs twice.
    """
    try:
        with _rolled_back(db, conn, read_only=read_only):
            return db.fetch_value(statement, params, conn=conn)
    except psycopg.errors.ReadOnlySqlTransaction:
        if not (analyze and read_only):
            raise
    if stopper is not None and stopper.requested:
        raise ExplainStopped
    log.info("EXPLAIN ANALYZE of a statement that writes runs again read-write")
    with _rolled_back(db, conn, read_only=False):
        return db.fetch_value(statement, params, conn=conn)


def _read_only_server(exc: psycopg.Error) -> ExplainError:
    """Return the failure of ANALYZE that even a READ WRITE transaction rejected.

    A standby in recovery runs only read-only transactions, and a function
    may make its own transaction read-only.
    """
    return ExplainError(
        f"{_first_line(exc)}: ANALYZE runs the statement, which writes or locks"
        " rows, but its transaction is read-only even when opened READ WRITE,"
        " as on a standby server in recovery; press e for the plan without"
        " ANALYZE"
    )


def _connection_lost(exc: psycopg.Error, *, analyze: bool) -> ExplainError:
    """Return the failure of an EXPLAIN whose server session ended under it."""
    undone = (
        " The statement that ANALYZE ran was rolled back with the session."
        if analyze
        else ""
    )
    return ExplainError(
        f"the connection to the server was lost during the EXPLAIN"
        f" ({_first_line(exc)})",
        "The server did not reject the statement: it shut down or restarted,"
        " or pg_terminate_backend ended the EXPLAIN's session."
        f"{undone} Try again once the status bar shows the database connected.",
    )


def _lost_connection(exc: psycopg.Error) -> bool:
    return isinstance(exc, psycopg.OperationalError) and is_connection_failure(exc)


def _timed_out(exc: psycopg.Error, started: float) -> bool:
    """Tell whether the EXPLAIN's statement timeout cancelled it.

    A cancel from another session (pg_cancel_backend) raises the same
    SQLSTATE, but it comes before the timeout is up.
    """
    elapsed_ms = (time.monotonic() - started) * 1000
    return isinstance(exc, psycopg.errors.QueryCanceled) and (
        elapsed_ms >= EXPLAIN_TIMEOUT_MS
    )


def _analyze_timed_out(text: str, *, parameters: bool) -> ExplainError:
    """Return the failure of an EXPLAIN ANALYZE that ran into its timeout."""
    limit = f"{EXPLAIN_TIMEOUT_MS / 1000:g} s"
    values = (
        ", with the parameter values that enter shows under the query"
        if parameters
        else ""
    )
    return ExplainError(
        f"EXPLAIN ANALYZE runs the statement, and the {limit} statement"
        " timeout stopped it before it finished",
        "Press e for the plan without ANALYZE, which does not run the"
        " statement. For the measured plan, run EXPLAIN ANALYZE by hand in"
        f" psql with a longer timeout{values}. ROLLBACK undoes what the"
        f" statement changed.\n\nBEGIN;\nSET LOCAL statement_timeout = '30min';"
        f"\nEXPLAIN ANALYZE {text};\nROLLBACK;",
    )


def explain_app_query(
    db: Database,
    record: QueryRecord,
    *,
    analyze: bool = False,
    prepare_connection: ConnectionHook | None = None,
    stopper: ExplainStopper | None = None,
) -> ExplainResult:
    """Explain an application statement with the parameters it ran with.

    Raises :class:`ExplainStopped` when ``stopper`` stopped it.
    """
    keyword = _check_explainable(record.sql)
    text = record.sql.strip().rstrip(";")
    read_only = not analyze or keyword in READ_ONLY
    started = time.monotonic()
    try:
        with _explain_connection(db, prepare_connection, stopper) as conn:
            document = _fetch_plan(
                db,
                conn,
                _marked(f"EXPLAIN ({_options(analyze)}) {text}"),
                record.params,
                read_only=read_only,
                analyze=analyze,
                stopper=stopper,
            )
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        raise _read_only_server(exc) from None
    except psycopg.errors.UndefinedTable as exc:
        raise ExplainError(_undefined_table(exc)) from None
    except psycopg.Error as exc:
        if stopper is not None and stopper.stopped(exc):
            raise ExplainStopped from None
        if _lost_connection(exc):
            raise _connection_lost(exc, analyze=analyze) from None
        if analyze and _timed_out(exc, started):
            raise _analyze_timed_out(text, parameters=bool(record.params)) from None
        raise ExplainError(
            _first_line(exc),
            "The server rejected the EXPLAIN. Run it by hand in psql, with the"
            " parameters that enter shows under the query, for the whole error"
            f" and its context.\n\n{_explain_by_hand(text, analyze=analyze)}",
        ) from None
    return _result(document, "parameters", analyze, None)


def parameter_count(query_text: str) -> int:
    """Return the highest ``$n`` in a normalised text (0 when it has none)."""
    return max((int(n) for n in _PARAMETER.findall(query_text)), default=0)


def cast_typed_placeholders(query_text: str) -> tuple[str, list[str]]:
    """Rewrite each ``interval $1`` of a normalised text as ``$1::interval``.

    pg_stat_statements replaces the string of a typed literal such as
    ``interval '1 day'`` with a placeholder, and ``interval $1`` is a syntax
    error. A cast of the placeholder means the same and gives it its type.
    Returns the text and the casts it now contains.
    """
    casts: list[str] = []

    def cast(match: re.Match[str]) -> str:
        type_name = " ".join(match.group(1).split())
        casts.append(f"{match.group(2)}::{type_name}")
        return casts[-1]

    return _TYPED_PLACEHOLDER.sub(cast, query_text), casts


def check_analyzable(query_text: str) -> str:
    """Raise ExplainError unless EXPLAIN ANALYZE can run ``query_text``.

    Returns the statement's first keyword, in lower case.
    """
    keyword = _check_explainable(query_text)
    if parameter_count(query_text):
        raise ExplainError(
            "ANALYZE needs real parameter values, and pg_stat_statements keeps"
            " only placeholders; if the app ran this statement, explain its"
            " query from the App tab, which keeps the values"
        )
    return keyword


def explain_statement(
    db: Database,
    query_text: str,
    server_version_num: int,
    *,
    analyze: bool = False,
    prepare_connection: ConnectionHook | None = None,
    stopper: ExplainStopper | None = None,
) -> ExplainResult:
    """Explain a ``pg_stat_statements`` entry by its normalised text.

    Raises :class:`ExplainStopped` when ``stopper`` stopped it.
    """
    if analyze:
        keyword = check_analyzable(query_text)
    else:
        keyword = _check_explainable(query_text)
    text, casts = cast_typed_placeholders(query_text.strip().rstrip(";"))
    note = _casts_note(casts)
    parameters = parameter_count(text)
    read_only = not analyze or keyword in READ_ONLY
    started = time.monotonic()
    try:
        with _explain_connection(db, prepare_connection, stopper) as conn:
            if parameters and server_version_num < GENERIC_PLAN_SERVER:
                return _explain_prepared(db, conn, text, parameters, note)
            # check_analyzable rejected ANALYZE of a statement with parameters.
            options = "GENERIC_PLAN, FORMAT JSON" if parameters else _options(analyze)
            document = _fetch_plan(
                db,
                conn,
                _marked(f"EXPLAIN ({options}) {text}"),
                read_only=read_only,
                analyze=analyze,
                stopper=stopper,
            )
            method = "generic_plan" if parameters else "plain"
            return _result(document, method, analyze, note)
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        raise _read_only_server(exc) from None
    except psycopg.errors.UndefinedTable as exc:
        raise ExplainError(_undefined_table(exc)) from None
    except psycopg.Error as exc:
        if stopper is not None and stopper.stopped(exc):
            raise ExplainStopped from None
        if _lost_connection(exc):
            raise _connection_lost(exc, analyze=analyze) from None
        if analyze and _timed_out(exc, started):
            # check_analyzable refused statements with parameters.
            raise _analyze_timed_out(text, parameters=False) from None
        if parameters and _types_not_inferred(exc):
            raise ExplainError(
                f"PostgreSQL cannot infer the types of {_placeholders(parameters)}"
                f" for a generic plan ({_first_line(exc)})",
                _typed_parameters_hint(text, parameters),
            ) from None
        hint = _by_hand_hint(
            text,
            parameters,
            analyze=analyze,
            at_placeholder=bool(parameters) and _syntax_error_at_placeholder(exc),
        )
        raise ExplainError(_first_line(exc), hint) from None


def _casts_note(casts: list[str]) -> str | None:
    if not casts:
        return None
    return (
        "pg_stat_statements keeps a typed literal such as interval '1 day' as"
        " interval $1, which does not parse, so the plan is of the text with"
        f" {', '.join(casts)}."
    )


def _explain_prepared(
    db: Database,
    conn: psycopg.Connection[Any],
    text: str,
    parameters: int,
    note: str | None,
) -> ExplainResult:
    """Plan ``text`` as a generic prepared statement (before PostgreSQL 16)."""
    try:
        with _rolled_back(db, conn, read_only=True):
            db.execute(
                _marked("SET LOCAL plan_cache_mode = force_generic_plan"), conn=conn
            )
            db.execute(_marked(f"PREPARE {_PREPARED_NAME} AS {text}"), conn=conn)
            nulls = ", ".join(["NULL"] * parameters)
            document = db.fetch_value(
                _marked(f"EXPLAIN (FORMAT JSON) EXECUTE {_PREPARED_NAME}({nulls})"),
                conn=conn,
            )
    finally:
        # A prepared statement outlives the rolled-back transaction.
        with contextlib.suppress(psycopg.errors.InvalidSqlStatementName):
            db.execute(_marked(f"DEALLOCATE {_PREPARED_NAME}"), conn=conn)
    prepared = (
        "EXPLAIN (GENERIC_PLAN) needs PostgreSQL 16 or later; this generic plan"
        " comes from PREPARE with plan_cache_mode = force_generic_plan"
    )
    return _result(
        document, "prepare", False, prepared if note is None else f"{note} {prepared}"
    )


def _types_not_inferred(exc: psycopg.Error) -> bool:
    """Tell whether ``exc`` means that the placeholders' types are unknown."""
    if exc.sqlstate not in TYPE_INFERENCE_STATES:
        return False
    # An undefined function is a type problem only when it was looked up
    # with untyped arguments: "function lower(unknown) does not exist".
    return exc.sqlstate != "42883" or "unknown" in _first_line(exc)


def _placeholders(parameters: int) -> str:
    """Return ``$1`` or ``$1, $2`` up to ``$parameters``."""
    return ", ".join(f"${n}" for n in range(1, parameters + 1))


def _prepared_by_hand(text: str, parameters: int) -> str:
    """Return PREPARE, EXPLAIN EXECUTE and DEALLOCATE of ``text`` to edit and run."""
    types = ", ".join(["TYPE"] * parameters)
    values = ", ".join(["VALUE"] * parameters)
    return (
        f"PREPARE {_HAND_NAME}({types}) AS\n{text};\n"
        f"EXPLAIN EXECUTE {_HAND_NAME}({values});\n"
        f"DEALLOCATE {_HAND_NAME};"
    )


def _typed_parameters_hint(text: str, parameters: int) -> str:
    return (
        "pg_stat_statements keeps placeholders in place of the values, and here"
        " nothing in the statement tells their types. If the app ran it,"
        " explain its query from the App tab, which keeps the real values."
        " Otherwise run EXPLAIN by hand in psql with typed parameters:"
        " replace each TYPE with the parameter's type (bigint, numeric, text)"
        " and each VALUE with a real value.\n\n" + _prepared_by_hand(text, parameters)
    )


def _explain_by_hand(text: str, *, analyze: bool) -> str:
    """Return the EXPLAIN of ``text`` to run in psql, rolled back after ANALYZE."""
    if analyze:
        return f"BEGIN;\nEXPLAIN ANALYZE {text};\nROLLBACK;"
    return f"EXPLAIN {text};"


def _syntax_error_at_placeholder(exc: psycopg.Error) -> bool:
    return exc.sqlstate == "42601" and bool(_NEAR_PLACEHOLDER.search(_first_line(exc)))


def _by_hand_hint(
    text: str, parameters: int, *, analyze: bool, at_placeholder: bool = False
) -> str:
    # check_analyzable rejects ANALYZE of a statement with parameters.
    if at_placeholder:
        return (
            "pg_stat_statements put a placeholder where PostgreSQL takes no"
            " parameter. A typed literal such as my_type 'value' becomes"
            " my_type $1, which does not parse. Run the generic plan by hand in"
            " psql with each such placeholder written as $1::my_type, each TYPE"
            " replaced with the parameter's type and each VALUE with a real"
            " value.\n\n" + _prepared_by_hand(text, parameters)
        )
    if parameters:
        return (
            "The server rejected the generic plan. Run it by hand in psql for"
            " the whole error, replacing each TYPE with the parameter's type"
            " and each VALUE with a real value.\n\n"
            + _prepared_by_hand(text, parameters)
        )
    return (
        "The server rejected the EXPLAIN. Run it by hand in psql for the whole"
        f" error and its context.\n\n{_explain_by_hand(text, analyze=analyze)}"
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _undefined_table(exc: psycopg.errors.UndefinedTable) -> str:
    """Explain a missing table, which is most often another session's temporary table.

    The importer stages rows in temporary tables, and a temporary table is
    visible only to the session that created it.
    """
    return (
        f"{_first_line(exc)}. The statement probably uses a temporary table of"
        " another session, such as the importer's staging tables, so it cannot"
        " be explained from here"
    )
