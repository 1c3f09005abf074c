"""``evedmv db start | stop | status | url | migrate``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import psycopg

from evedmv_tui.commands.helptext import examples
from evedmv_tui.commands.output import printable
from evedmv_tui.config import Settings
from evedmv_tui.errors import ConfigError
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import (
    check_capabilities,
    open_database,
    start_cluster_database,
)
from evedmv_tui.store.db import Database, redact
from evedmv_tui.store.migrate import applied_versions, available_migrations


def register(subparsers: Any) -> None:
    db = subparsers.add_parser(
        "db",
        help="control the private PostgreSQL cluster",
        description="Start, stop and inspect the private PostgreSQL cluster"
        " under the data directory, and apply schema migrations. With --dsn,"
        " 'status', 'url' and 'migrate' act on that server, and 'start' and"
        " 'stop' are refused.",
        **examples("evedmv db start", "evedmv db status"),
    )
    commands = db.add_subparsers(title="db commands", metavar="ACTION", required=True)
    commands.add_parser(
        "start",
        help="start (and create) the private cluster",
        description="Create the private cluster under the data directory if it"
        " does not exist, start it, and apply pending migrations.",
        **examples("evedmv db start"),
    ).set_defaults(handler=start)
    commands.add_parser(
        "stop",
        help="stop the private cluster",
        description="Stop the private cluster; its data stays in the data"
        " directory for the next 'evedmv db start'.",
        **examples("evedmv db stop"),
    ).set_defaults(handler=stop)
    commands.add_parser(
        "status",
        help="show the cluster and schema state",
        description="Print whether the database runs, where it is, its server"
        " version and how many migrations are pending. Exits with status 1 when"
        " the private cluster is not running.",
        **examples("evedmv db status", "evedmv --dsn postgresql://host/db db status"),
    ).set_defaults(handler=status)
    commands.add_parser(
        "url",
        help="print the connection string of the running database",
        description="Print the connection string of the running database, to"
        " pass to psql or to --dsn. Exits with status 1 when the private"
        " cluster is not running.",
        **examples('psql "$(evedmv db url)"'),
    ).set_defaults(handler=url)
    commands.add_parser(
        "migrate",
        help="apply pending migrations",
        description="Apply the schema migrations the database lacks, in order,"
        " each in one transaction. Other commands do this on their own when"
        " their role may; run this as the owner role when it may not.",
        **examples("evedmv --dsn postgresql://owner@host/db db migrate"),
    ).set_defaults(handler=migrate_command)


def _cluster(settings: Settings, action: str) -> PrivateCluster:
    if settings.dsn:
        raise ConfigError(
            f"'db {action}' controls the private cluster only",
            "a DSN is set, and evedmv never starts or stops an external server",
            "unset EVEDMV_DSN or drop --dsn",
        )
    return PrivateCluster(settings.data_dir)


def start(args: argparse.Namespace, settings: Settings) -> int:
    cluster = _cluster(settings, "start")
    start_cluster_database(cluster)
    with open_database(settings) as db:
        check_capabilities(db)
    print(f"PostgreSQL running in {cluster.directory}")
    print(cluster.url())
    return 0


def stop(args: argparse.Namespace, settings: Settings) -> int:
    cluster = _cluster(settings, "stop")
    if not cluster.initialized():
        # The state 'db status' prints, rather than "was not running".
        print(f"PostgreSQL in {cluster.directory}: not initialised, nothing to stop")
    elif cluster.stop():
        print(f"stopped PostgreSQL in {cluster.directory}")
    else:
        print(f"PostgreSQL in {cluster.directory} was not running")
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
    # The target as given, without the options the app adds to its sessions.
    if settings.dsn:
        target = redact(settings.dsn)
    else:
        cluster = PrivateCluster(settings.data_dir)
        state = cluster.status()
        print(f"cluster: {state.directory}: {state.message}")
        if not state.running:
            return 1
        target = cluster.url()
    with open_database(settings, run_migrations=False) as db:
        caps = check_capabilities(db)
        print(f"server: PostgreSQL {caps.server_version} at {target}")
        print(f"pg_stat_statements: {caps.pg_stat_statements or 'not installed'}")
        print(f"pending migrations: {_pending_text(db, settings)}")
        for warning in caps.warnings:
            print(f"warning: {warning}")
    return 0


def _pending_text(db: Database, settings: Settings) -> str:
    """Count the pending migrations, with what to run when any are pending."""
    try:
        applied = applied_versions(db)
    except psycopg.errors.InsufficientPrivilege as exc:
        first_line = str(exc).strip().splitlines()[0]
        return f"unknown ({first_line}; GRANT SELECT ON schema_migrations)"
    pending = [m for m in available_migrations() if m.version not in applied]
    if not pending:
        return "0"
    command = "evedmv --dsn DSN db migrate" if settings.dsn else "evedmv db migrate"
    if not applied:
        return f"{len(pending)}; this database has no evedmv schema yet: {command}"
    return f"{len(pending)}: {command} applies them"


def url(args: argparse.Namespace, settings: Settings) -> int:
    if settings.dsn:
        print(settings.dsn)
        return 0
    cluster = PrivateCluster(settings.data_dir)
    if not cluster.status().running:
        cause = cluster.failed_start()
        where = f"evedmv: PostgreSQL in {cluster.directory} is not running"
        if cause is None:
            lines = [f"{where}; start it with 'evedmv db start'"]
        else:
            # The cause is a line of the server's log and the paths come
            # from the command line, so either may contain control characters.
            lines = [
                f"{where}; its last start failed: {cause}",
                f"hint: see {cluster.log_path}, fix the cause, then run"
                " 'evedmv db start'",
            ]
        for line in lines:
            print(printable(line), file=sys.stderr)
        return 1
    print(cluster.url())
    return 0


def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings, run_migrations=False) as db:
        from evedmv_tui.store.migrate import migrate

        applied = migrate(db)
    for migration in applied:
        print(f"applied {migration.version:04d}_{migration.name}")
    if not applied:
        print("schema is up to date")
    return 0
