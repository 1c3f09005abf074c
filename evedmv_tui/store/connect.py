"""Open the application database: the private cluster or a server from ``--dsn``."""

from __future__ import annotations

import contextvars
import dataclasses
import getpass
import logging
import os
import re
from typing import Any

import psycopg
from psycopg import sql

from evedmv_tui.config import Settings
from evedmv_tui.errors import DatabaseUnavailable, PermissionDenied
from evedmv_tui.store.cluster import DATABASE, PrivateCluster
from evedmv_tui.store.db import APPLICATION_NAME, Database, first_line, redact
from evedmv_tui.store.migrate import migrate, schema_problem

log = logging.getLogger(__name__)

MIN_SERVER_VERSION = 130000
SETUP_CONNECT_TIMEOUT = 10
"""Seconds :func:`ensure_database` waits for each connection: a server that
accepts on its socket but never responds (stopped with SIGSTOP, say) would
otherwise hold the command, or the dashboard's exit, for good."""

WRITING_COMMAND: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "writing_command", default=None
)
"""Whether the running command writes to the database; None when unknown.

``evedmv`` sets it for each command. :func:`open_database` applies
migrations on a server given with ``--dsn`` only for a command that writes
(or an unknown caller, as before), so reading a database never creates
tables in it.
"""

_JIT_OPTION = re.compile(r"(?:^|\s)(?:-c\s*|--)jit\s*=")


def without_jit(conninfo: str) -> str:
    """Return ``conninfo`` with ``-c jit=off`` added to its startup options.

    The app's queries are short, but on a server with the default
    ``jit = on`` their plans can cross ``jit_above_cost``. Compiling them
    then costs more than it saves. One ``intel_totals_add`` call over a day
    of killmails took 6.0 s with JIT on and 0.15 s with it off.

    A startup option rather than ``ALTER FUNCTION ... SET jit`` in a
    migration, because it covers every statement the app sends, not only
    its functions, and needs no privilege (``jit`` is a user setting), so a
    role that may not migrate gets it too. A ``jit`` setting already in the
    DSN's options is kept. The monitor's own
    connections keep the server's setting, so EXPLAIN shows the plans
    other clients get.

    NOTE: a pooler that rejects startup options (PgBouncer without
    ``ignore_startup_parameters = options``) rejects these connections.
    """
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    options = str(params.get("options") or "")
    if _JIT_OPTION.search(options):
        return conninfo
    params["options"] = f"{options} -c jit=off".strip()
    return psycopg.conninfo.make_conninfo("", **params)


def _unknown_jit(error: psycopg.OperationalError) -> bool:
    """Tell whether a server older than PostgreSQL 11, which has no JIT, refused.

    NOTE: the message is the one PostgreSQL gives for an unknown setting;
    no test runs against a server that old.
    """
    return 'unrecognized configuration parameter "jit"' in str(error)


@dataclasses.dataclass(frozen=True, slots=True)
class Capabilities:
    """What the connected server offers, and what is missing with its fix."""

    server_version: str
    server_version_num: int
    pg_stat_statements: str | None
    """Installed extension version, or None."""
    pg_stat_statements_schema: str | None
    preloaded: bool
    read_all_stats: bool
    local_socket: bool
    warnings: tuple[str, ...]
    gaps: tuple[str, ...] = ()
    """Each warning's problem in a few words, without its fix, in the same order."""


def ensure_database(cluster: PrivateCluster, database: str = DATABASE) -> None:
    """Create ``database`` and ``pg_stat_statements`` in it if missing."""
    timeout = SETUP_CONNECT_TIMEOUT
    with psycopg.connect(
        cluster.url("postgres"), autocommit=True, connect_timeout=timeout
    ) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not found:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            log.info("created database %s", database)
    with psycopg.connect(
        cluster.url(database), autocommit=True, connect_timeout=timeout
    ) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def server_conninfo(settings: Settings, *, start_cluster: bool = True) -> str:
    """Return the DSN to use, starting the private cluster when none is set.

    With ``start_cluster`` False, a stopped private cluster stays stopped and
    :class:`DatabaseUnavailable` is raised instead, because someone stopped
    it on purpose ('evedmv db stop') or it crashed.
    """
    if settings.dsn:
        return settings.dsn
    cluster = PrivateCluster(settings.data_dir)
    if not start_cluster:
        state = cluster.status()
        if not state.running:
            raise DatabaseUnavailable(
                "private cluster stopped",
                f"PostgreSQL in {state.directory}: {state.message}",
                "start it with 'evedmv db start', or press ctrl+r",
            )
    start_cluster_database(cluster)
    return cluster.url()


def start_cluster_database(cluster: PrivateCluster) -> None:
    """Start the private cluster and create its database if missing.

    Raises:
        ClusterError: the cluster could not be created or started.
        DatabaseUnavailable: the server runs but refused the connection.
    """
    # Under the lock, a second command waits until the database exists too.
    with cluster.locked():
        cluster.start()
        try:
            ensure_database(cluster)
        except psycopg.OperationalError as exc:
            raise cluster_unreachable(cluster, exc) from None


def cluster_unreachable(
    cluster: PrivateCluster, error: psycopg.OperationalError
) -> DatabaseUnavailable:
    """Return the error for a private cluster that refused a connection."""
    return DatabaseUnavailable(
        "cannot connect to PostgreSQL",
        f"PostgreSQL in {cluster.directory}: {first_line(error)}",
        f"check 'evedmv db status' and {cluster.log_path}, or restart it with"
        " 'evedmv db stop' and 'evedmv db start'",
    )


CONNECTION_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})
"""SQLSTATEs of a server that ended or refused the session: terminated by an
administrator, shut down after a crash, or not accepting connections yet.
Errors of class 08 (connection exception) and errors that libpq raises
without a SQLSTATE are connection failures too."""


def is_connection_failure(error: psycopg.OperationalError) -> bool:
    """Tell whether ``error`` is a lost or refused connection, not a failed query."""
    state = error.sqlstate
    return state is None or state.startswith("08") or state in CONNECTION_LOST_STATES


PASSWORD_FAILURES = ("password authentication failed", "no password supplied")
"""libpq's words (in English) for a password the server rejected or did not get."""


def password_rejected(reason: str) -> bool:
    """Tell whether a connection failure reports a wrong or missing password."""
    return any(failure in reason for failure in PASSWORD_FAILURES)


def connection_lost(
    error: psycopg.OperationalError, settings: Settings
) -> DatabaseUnavailable:
    """Return the error for a command whose database connection failed."""
    if settings.dsn:
        hint = "check that the server runs and accepts connections, then try again"
    else:
        hint = (
            "check the private cluster with 'evedmv db status' and run the"
            " command again, which starts the cluster if it stopped"
        )
    return DatabaseUnavailable("PostgreSQL connection failed", first_line(error), hint)


OWNER_RUN_HINT = (
    "run the command as the role that owns the evedmv tables, the one that"
    " applied the migrations"
)
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
"""The privileges on a table that the app's commands use."""
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")
EXTENSION_GRANT_WARNINGS = (
    'Warnings that no privileges were granted for "pg_stat_statements" and'
    ' "pg_stat_statements_info" are harmless: a superuser owns these views'
    " of the extension"
)
"""The ``ON ALL TABLES IN SCHEMA`` form covers the views that the extension
pg_stat_statements creates in the same schema. Their owner, the superuser
that created the extension, is the only role that may grant on them."""
PARTITIONS_NEED_OWNER = (
    "Importing killmails of a month not stored yet needs the owner in any"
    " case, because it creates partitions"
)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*")


def quote_identifier(name: str) -> str:
    """Return ``name`` as PostgreSQL's quote_ident would, for a lower-case
    name or one that needs double quotes.

    NOTE: unlike quote_ident, a reserved word such as ``user`` stays unquoted.
    """
    if _IDENTIFIER.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def conninfo_role(conninfo: str) -> str:
    """Return the role that libpq logs in as for ``conninfo``, without
    connecting: its user, else ``PGUSER``, else the operating system user."""
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    return str(params.get("user") or os.environ.get("PGUSER") or getpass.getuser())


def dashboard_denial(
    error: psycopg.errors.InsufficientPrivilege, conninfo: str
) -> PermissionDenied:
    """Return the error for a statement of the dashboard that the server
    denied, without a query: the dashboard reports it on its UI thread.

    The role comes from ``conninfo`` and the table from the server's
    message. The GRANT statements name schema public, where the migrations
    create the evedmv tables unless the owner's search_path names another
    schema first.
    """
    role = quote_identifier(conninfo_role(conninfo))
    text = error.diag.message_primary or first_line(error)
    match = _DENIED.match(text)
    owner = "the role that owns the evedmv tables"
    relation = None if match is None else f"{match[2]} {match[3]}"
    if match is None:
        message = f"role {role}: {text}"
    elif match[1] is None:
        return PermissionDenied(
            f"role {role} does not own {relation}, and only its owner may"
            " change its definition",
            f"open the dashboard as {owner}",
            role=role,
            relation=relation,
        )
    else:
        message = f"role {role} lacks a privilege on {relation}"
    hint = grants_hint("that role", role, "public")
    return PermissionDenied(
        message,
        f"open the dashboard as {owner}, or {hint}",
        role=role,
        relation=relation,
        grants=grant_statements(role, "public"),
    )


def grant_statements(role: str, schema: str) -> str:
    """Return the GRANT statements that let ``role`` change the rows of the
    tables and sequences in ``schema``; both names are quoted already."""
    return (
        f"GRANT {', '.join(TABLE_PRIVILEGES)} ON ALL TABLES IN SCHEMA {schema}"
        f" TO {role}; GRANT {', '.join(SEQUENCE_PRIVILEGES)} ON ALL"
        f" SEQUENCES IN SCHEMA {schema} TO {role}"
    )


def grants_hint(
    owner: str, role: str, schema: str, *, imports_killmails: bool = False
) -> str:
    """Return the part of a hint that gives :func:`grant_statements` for
    ``owner`` to run, with the warnings they print when ``owner`` is not a
    superuser.

    With ``imports_killmails``, it adds that an import of a new month needs
    the owner in any case.
    """
    text = (
        f"as {owner} run: {grant_statements(role, schema)}. {EXTENSION_GRANT_WARNINGS}"
    )
    if imports_killmails:
        text += f". {PARTITIONS_NEED_OWNER}"
    return text


_DENIED = re.compile(
    r"^(?:(permission denied for)|must be owner of)"
    r" (table|view|materialized view|sequence) (.+)$"
)
"""PostgreSQL's messages for a missing privilege on a relation, and for a
statement that only the relation's owner may run. They match the English
messages (``lc_messages`` C or en). In other languages the error keeps the
server's message as it is."""
_SCHEMA_DENIED = re.compile(r"^permission denied for schema (.+)$")
"""PostgreSQL's message for a missing privilege on a schema, such as CREATE
for a new table in it."""


def permission_denied(
    error: psycopg.errors.InsufficientPrivilege,
    conninfo: str,
    *,
    imports_killmails: bool = False,
) -> PermissionDenied:
    """Return the error for a statement that the connected role may not run.

    It connects to ``conninfo`` again to look up the role, its missing
    privileges and the owner of the relation that the server's message
    names. When that fails, the error keeps the server's message.
    ``imports_killmails`` is True for a command that imports killmails, which
    may create the partitions of a new month.
    """
    try:
        with psycopg.connect(
            conninfo, autocommit=True, connect_timeout=SETUP_CONNECT_TIMEOUT
        ) as conn:
            return describe_denial(conn, error, imports_killmails=imports_killmails)
    except psycopg.Error:
        log.debug("cannot look up the missing privilege", exc_info=True)
        return unexplained_denial(error)


def pooled_permission_denied(
    db: Database, error: psycopg.errors.InsufficientPrivilege
) -> PermissionDenied:
    """Return :func:`permission_denied`'s error, looked up on a pooled connection."""
    try:
        with db.connection() as conn:
            return describe_denial(conn, error)
    except (psycopg.Error, DatabaseUnavailable):
        log.debug("cannot look up the missing privilege", exc_info=True)
        return unexplained_denial(error)


def unexplained_denial(error: psycopg.errors.InsufficientPrivilege) -> PermissionDenied:
    """Return the error for a denied statement whose details are unknown."""
    return PermissionDenied(
        f"the server denied a statement: {first_line(error)}", OWNER_RUN_HINT
    )


def describe_denial(
    conn: psycopg.Connection[Any],
    error: psycopg.errors.InsufficientPrivilege,
    *,
    imports_killmails: bool = False,
) -> PermissionDenied:
    """Return the error for ``error``, naming the role, privilege and relation.

    ``conn`` connects as the role that the server denied, in a session
    without a failed transaction.
    """
    text = error.diag.message_primary or first_line(error)
    match = _DENIED.match(text)
    found = conn.execute("SELECT quote_ident(current_user)").fetchone()
    assert found is not None
    role = found[0]
    schema_match = _SCHEMA_DENIED.match(text)
    if schema_match is not None:
        denial = describe_schema_denial(
            conn, role, schema_match[1], imports_killmails=imports_killmails
        )
        if denial is not None:
            return denial
    if match is None:
        return PermissionDenied(f"role {role}: {text}", OWNER_RUN_HINT, role=role)
    denied, kind, name = match.groups()
    sequence = kind == "sequence"
    candidates = list(SEQUENCE_PRIVILEGES if sequence else TABLE_PRIVILEGES)
    check = "has_sequence_privilege" if sequence else "has_table_privilege"
    row = conn.execute(
        sql.SQL(
            "SELECT quote_ident(n.nspname), quote_ident(pg_get_userbyid(c.relowner)),"
            " ARRAY(SELECT p FROM unnest(%s::text[]) WITH ORDINALITY AS u(p, i)"
            "  WHERE NOT {}(c.oid, p) ORDER BY i)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.oid = to_regclass(quote_ident(%s))"
        ).format(sql.Identifier(check)),
        (candidates, name),
    ).fetchone()
    if row is None:
        return PermissionDenied(f"role {role}: {text}", OWNER_RUN_HINT, role=role)
    schema, owner, missing = row
    relation = f"{kind} {name}"
    run_as_owner = f"run the command as role {owner}, which owns {relation}"
    if not denied:
        return PermissionDenied(
            f"role {role} does not own {relation}, and only its owner"
            " may change its definition",
            run_as_owner,
            role=role,
            relation=relation,
            owner=owner,
        )
    lacks = ", ".join(missing) if missing else "a privilege"
    grants = grant_statements(role, schema)
    hint = grants_hint(owner, role, schema, imports_killmails=imports_killmails)
    return PermissionDenied(
        f"role {role} lacks {lacks} on {relation}",
        f"{run_as_owner}, or {hint}",
        role=role,
        relation=relation,
        owner=owner,
        privileges=tuple(missing),
        grants=grants,
    )


def describe_schema_denial(
    conn: psycopg.Connection[Any],
    role: str,
    name: str,
    *,
    imports_killmails: bool,
) -> PermissionDenied | None:
    """Return the error for a statement denied on schema ``name``, or None
    when the schema is not found.

    An import of killmails creates a monthly partition of killmails for the
    month of each killmail not stored yet. That needs CREATE on the schema,
    and attaching the partition needs ownership of killmails, so no GRANT
    lets another role run that import.
    """
    row = conn.execute(
        "SELECT quote_ident(n.nspname),"
        " ARRAY(SELECT p FROM unnest(ARRAY['USAGE', 'CREATE']) AS u(p)"
        "  WHERE NOT has_schema_privilege(n.oid, p)),"
        " (SELECT quote_ident(pg_get_userbyid(c.relowner)) FROM pg_class c"
        "  WHERE c.oid = to_regclass('killmails'))"
        " FROM pg_namespace n WHERE n.nspname = %s",
        (name,),
    ).fetchone()
    if row is None:
        return None
    schema, missing, owner = row
    lacks = ", ".join(missing) if missing else "a privilege"
    owner = owner or "the role that owns the evedmv tables"
    if imports_killmails and "CREATE" in missing:
        return PermissionDenied(
            f"role {role} lacks CREATE on schema {schema}, which the import"
            " needs to create a monthly partition of killmails for the month"
            " of a killmail not stored yet",
            f"run that import as role {owner}, which owns table killmails."
            f" Granting CREATE on schema {schema} is not enough, because"
            " only the owner of killmails may attach a partition to it",
            role=role,
            relation=f"schema {schema}",
            owner=owner,
            privileges=tuple(missing),
        )
    return PermissionDenied(
        f"role {role} lacks {lacks} on schema {schema}",
        f"run the command as role {owner}, which owns the evedmv tables",
        role=role,
        relation=f"schema {schema}",
        owner=owner,
        privileges=tuple(missing),
    )


def check_capabilities(db: Database) -> Capabilities:
    """Read the server version and monitoring capabilities; never raises for gaps."""
    row = db.fetch_one(
        "SELECT current_setting('server_version'),"
        " current_setting('server_version_num')::int,"
        " (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'),"
        " (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
        "   ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'),"
        # pg_stat_statements defines its settings only when preloaded, and
        # pg_settings shows them to every role. Reading shared_preload_libraries
        # itself needs pg_read_all_settings, which ordinary roles lack.
        " EXISTS (SELECT 1 FROM pg_settings WHERE name = 'pg_stat_statements.max'),"
        " pg_has_role('pg_read_all_stats', 'MEMBER'),"
        " inet_server_addr() IS NULL,"
        " quote_ident(current_user)"
    )
    assert row is not None
    version, version_num, pgss, schema, preloaded, read_all, local, role = row
    warnings = []
    gaps = []
    if version_num < MIN_SERVER_VERSION:
        warnings.append(
            f"PostgreSQL {version} is older than 13; some monitor panels will be empty"
        )
        gaps.append(f"PostgreSQL {version} is older than 13")
    if not preloaded:
        warnings.append(
            "pg_stat_statements is not preloaded: add it to shared_preload_libraries"
            " in postgresql.conf and restart the server"
        )
        gaps.append("pg_stat_statements is not preloaded")
    if pgss is None:
        warnings.append(
            "pg_stat_statements is not installed in this database: run"
            " CREATE EXTENSION pg_stat_statements"
        )
        gaps.append("pg_stat_statements is not installed")
    if db.schema_problem is not None:
        problem = db.schema_problem
        warnings.append(
            f"monitor only, because {problem.message}: the killmail, battle and"
            f" intel screens stay empty until you {problem.hint}"
        )
        gaps.append(f"monitor only: {problem.title}")
    if not read_all:
        warnings.append(
            f"role {role} cannot read other roles' statistics: GRANT"
            f" pg_read_all_stats TO {role}"
        )
        gaps.append(f"role {role} cannot read other roles' statistics")
    return Capabilities(
        version,
        version_num,
        pgss,
        schema,
        bool(preloaded),
        bool(read_all),
        bool(local),
        tuple(warnings),
        tuple(gaps),
    )


def open_database(
    settings: Settings,
    *,
    run_migrations: bool | None = None,
    writes: bool | None = None,
    require_schema: bool = True,
    application_name: str = APPLICATION_NAME,
    max_size: int = 6,
    start_cluster: bool = True,
) -> Database:
    """Connect (starting the private cluster if needed) and prepare the schema.

    Args:
        run_migrations: True applies pending migrations, and False neither
            applies nor checks them. None (the default) applies them on the
            private cluster, which is the app's own. On a ``--dsn`` server
            it applies them only when the caller ``writes``, else it checks.
        writes: whether the caller writes; None reads :data:`WRITING_COMMAND`.
        require_schema: when the check finds the schema missing or out of
            date, raise :class:`SchemaNotReady`; when False, set
            ``db.schema_problem`` instead (the dashboard's monitor-only mode).

    Raises:
        DatabaseUnavailable: the server cannot be reached or rejected the
            connection; a definite failure raises at once, without retries.
        SchemaNotReady: with ``require_schema``, the checked schema is
            missing or has migrations pending.
    """
    conninfo = server_conninfo(settings, start_cluster=start_cluster)
    try:
        try:
            db = Database(
                without_jit(conninfo),
                application_name=application_name,
                max_size=max_size,
            )
        except psycopg.OperationalError as exc:
            if not _unknown_jit(exc):
                raise
            db = Database(
                conninfo, application_name=application_name, max_size=max_size
            )
    except psycopg.OperationalError as exc:
        hint = (
            "check the DSN, or omit --dsn to use the private cluster"
            if settings.dsn
            else "check the private cluster with 'evedmv db status'"
        )
        raise DatabaseUnavailable(
            "cannot connect to PostgreSQL",
            f"{redact(conninfo)}: {str(exc).strip().splitlines()[0]}",
            hint,
        ) from None
    if run_migrations is None:
        if writes is None:
            writes = WRITING_COMMAND.get()
        run_migrations = not settings.dsn or writes is None or writes
        check = not run_migrations
    else:
        check = False
    try:
        if run_migrations:
            migrate(db)
        elif check:
            db.schema_problem = schema_problem(db)
            if db.schema_problem is not None and require_schema:
                raise db.schema_problem
    except BaseException:
        db.close()
        raise
    return db
