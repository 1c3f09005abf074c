"""Private cluster lifecycle, migrations and the timed query path."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from evedmv_tui import app as app_module
from evedmv_tui.config import Settings
from evedmv_tui.errors import DatabaseUnavailable
from evedmv_tui.queries.overview import load_overview
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import (
    check_capabilities,
    ensure_database,
    open_database,
    server_conninfo,
)
from evedmv_tui.store.db import Database, is_transient_connect_error, redact
from evedmv_tui.store.migrate import (
    Migration,
    MigrationFailed,
    MigrationNotAllowed,
    available_migrations,
    migrate,
    pending_migrations,
)
from evedmv_tui.store.telemetry import count_statements, operation


def test_cluster_is_private(own_cluster: PrivateCluster) -> None:
    own_cluster.start()
    ensure_database(own_cluster)
    mode = own_cluster.directory.stat().st_mode & 0o777
    assert mode == 0o700
    with psycopg.connect(own_cluster.url(), autocommit=True) as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()
        ext = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'"
        ).fetchone()
    assert listen == ("",)
    assert preload == ("pg_stat_statements",)
    assert ext is not None


def test_cluster_start_reuses_running_server(own_cluster: PrivateCluster) -> None:
    own_cluster.start()
    first = own_cluster.status().pid
    own_cluster.start()
    assert own_cluster.status().pid == first


def test_cluster_stop_then_status(own_cluster: PrivateCluster) -> None:
    own_cluster.start()
    assert own_cluster.stop() is True
    assert own_cluster.status().running is False
    assert own_cluster.stop() is False


def test_cluster_recovers_stale_pid_file(own_cluster: PrivateCluster) -> None:
    own_cluster.start()
    own_cluster.stop()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pid_file = own_cluster.directory / "postmaster.pid"
    pid_file.write_text(f"{dead.pid}\n{own_cluster.directory}\n")
    assert own_cluster.status().running is False
    own_cluster.start()
    assert own_cluster.status().running is True


def test_cluster_recovers_pid_file_of_reused_pid(
    own_cluster: PrivateCluster, caplog: pytest.LogCaptureFixture
) -> None:
    """A pid file whose pid now belongs to another program is stale too, and
    the warning names that program instead of calling the pid not running."""
    own_cluster.start()
    own_cluster.stop()
    pid_file = own_cluster.directory / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{own_cluster.directory}\n")
    caplog.set_level("WARNING", logger="evedmv_tui.store.cluster")
    own_cluster.start()
    assert own_cluster.status().running is True
    name = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert f"pid {os.getpid()} is now {name!r}, not PostgreSQL" in caplog.text


def test_cluster_recovers_after_crash(own_cluster: PrivateCluster) -> None:
    own_cluster.start()
    ensure_database(own_cluster)
    pid = own_cluster.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    own_cluster.start()
    with psycopg.connect(own_cluster.url(), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_migrations_apply_once(db: Database) -> None:
    assert pending_migrations(db) == []
    assert migrate(db) == []
    versions = db.fetch_all("SELECT version FROM schema_migrations ORDER BY 1")
    assert [v for (v,) in versions] == [m.version for m in available_migrations()]


def test_capabilities_of_private_cluster(db: Database) -> None:
    caps = check_capabilities(db)
    assert caps.preloaded is True
    assert caps.pg_stat_statements is not None
    assert caps.local_socket is True
    assert caps.warnings == ()


@dataclasses.dataclass(frozen=True)
class Pair:
    a: int
    b: str


def test_queries_are_timed_and_tagged(db: Database) -> None:
    with operation("unit-test"), count_statements(db.telemetry) as counted:
        rows = db.fetch_all("SELECT 1 AS a, 'x' AS b", row=Pair)
        value = db.fetch_value("SELECT %s::int + 1", (41,))
    assert rows == [Pair(1, "x")]
    assert value == 42
    assert counted[0] == 2
    stats = {s.operation: s for s in db.telemetry.operations()}
    assert stats["unit-test"].calls == 2
    record = db.telemetry.records()[-1]
    assert record.params == (41,)
    assert record.operation == "unit-test"


def test_failed_query_is_recorded(db: Database) -> None:
    with pytest.raises(psycopg.errors.UndefinedTable):
        db.fetch_all("SELECT * FROM no_such_table")
    assert db.telemetry.records()[-1].error is not None


def test_redact_hides_password() -> None:
    assert "secret" not in redact("postgresql://u:secret@localhost/db")
    assert "***" in redact("host=localhost password=secret")


def test_missing_extension_hint_names_contrib(db: Database) -> None:
    with pytest.raises(psycopg.Error) as caught:
        db.execute("CREATE EXTENSION evedmv_no_such_extension")
    failure = MigrationFailed(Migration(200, "intel", ""), caught.value)

    assert failure.title == "cannot create the schema"
    assert "0200_intel.sql" in failure.message
    assert "evedmv_no_such_extension" in failure.message
    assert failure.hint is not None
    assert "postgresql-contrib" in failure.hint


def test_schema_without_create_privilege_is_explained(
    pg_cluster: PrivateCluster, tmp_path: Path
) -> None:
    """A --dsn role that may not create tables gets the fix, not a traceback."""
    database = f"nocreate_{os.getpid()}"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS evedmv_reader")
        conn.execute("CREATE ROLE evedmv_reader LOGIN")
        conn.execute(f"CREATE DATABASE {database}")
    try:
        with psycopg.connect(pg_cluster.url(database), autocommit=True) as conn:
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        dsn = make_conninfo(pg_cluster.url(database), user="evedmv_reader")
        settings = Settings(dsn=dsn, data_dir=tmp_path / "data")

        with pytest.raises(MigrationNotAllowed) as caught:
            open_database(settings)

        assert caught.value.pending == available_migrations()
        assert "role evedmv_reader lacks CREATE on schema public" in (
            caught.value.message
        )
        assert caught.value.hint is not None
        # No evedmv table exists yet, so no role owns them.
        assert "'evedmv --dsn DSN db migrate'" in caught.value.hint
        assert "a role that may create tables" in caught.value.hint
        with psycopg.connect(pg_cluster.url(database)) as conn:
            found = conn.execute("SELECT to_regclass('schema_migrations')")
            assert found.fetchone() == (None,)
    finally:
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            conn.execute("DROP ROLE IF EXISTS evedmv_reader")


def test_stopped_cluster_is_not_restarted_on_request(tmp_path: Path) -> None:
    """Reconnection attempts leave a stopped private cluster stopped."""
    settings = Settings(dsn=None, data_dir=tmp_path / "data")

    with pytest.raises(DatabaseUnavailable) as caught:
        server_conninfo(settings, start_cluster=False)

    assert caught.value.title == "private cluster stopped"
    assert caught.value.hint is not None
    assert "evedmv db start" in caught.value.hint
    assert not (tmp_path / "data" / "pg").exists()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that refuses connections.

    The socket is bound but never listens, so no other process can take the
    port while the test runs and every connection attempt is refused.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def unreachable_dsns(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        "No such file or directory": f"postgresql:///none?host={tmp_path}/no-socket",
        "Connection refused": f"postgresql://nobody@127.0.0.1:{port}/none",
    }


def test_unreachable_server_fails_at_once(
    tmp_path: Path, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing socket or a closed port raises the first attempt's error.

    The pool used to retry for its whole open timeout (10 s), logging a
    warning for each attempt, and then reported only that it timed out.
    """
    caplog.set_level(logging.INFO, logger="psycopg.pool")
    for reason, dsn in unreachable_dsns(tmp_path, closed_port).items():
        with pytest.raises(psycopg.OperationalError, match=reason):
            Database(dsn)
    pool_records = [r for r in caplog.records if r.name.startswith("psycopg.pool")]
    assert pool_records == []


def test_rejected_connection_fails_at_once(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="psycopg.pool")
    cases = {
        'database "evedmv_no_such_db" does not exist': make_conninfo(
            db_url, dbname="evedmv_no_such_db"
        ),
        'role "evedmv_no_such_role" does not exist': make_conninfo(
            db_url, user="evedmv_no_such_role"
        ),
    }
    for reason, dsn in cases.items():
        settings = Settings(dsn=dsn, data_dir=Path("/nonexistent"))
        with pytest.raises(DatabaseUnavailable) as caught:
            open_database(settings)
        assert caught.value.title == "cannot connect to PostgreSQL"
        assert reason in caught.value.message
        assert caught.value.hint is not None
        assert "--dsn" in caught.value.hint
    assert [r for r in caplog.records if r.name.startswith("psycopg.pool")] == []


def test_pool_timeout_tells_stopped_server_from_busy_pool(
    own_cluster: PrivateCluster,
) -> None:
    """Both time out in the pool, and the error names the case."""
    own_cluster.start()
    ensure_database(own_cluster)
    with Database(own_cluster.url(), max_size=1, borrow_timeout=0.5) as db:
        with db.connection(), pytest.raises(DatabaseUnavailable) as busy:
            db.fetch_value("SELECT 1")
        assert busy.value.title == "database busy or unreachable"
        assert busy.value.message == ("every pooled connection stayed busy for 0.5 s")
        # A pool that lost its connections to an outage replaces them with
        # pauses between attempts, while the server accepts connections again. The
        # pool's own count of connections separates that case from a busy pool.
        stats = db.pool.get_stats()
        replacing = {**stats, "pool_size": 0}
        with (
            mock.patch.object(db.pool, "get_stats", return_value=replacing),
            db.connection(),
            pytest.raises(DatabaseUnavailable) as reconnecting,
        ):
            db.fetch_value("SELECT 1")
        assert reconnecting.value.title == "database reconnecting"
        assert reconnecting.value.hint == "try again in a few seconds"
        own_cluster.stop()
        with pytest.raises(DatabaseUnavailable) as stopped:
            db.fetch_value("SELECT 1")
    assert stopped.value.title == "server unreachable"
    assert stopped.value.message == ("cannot connect (no server socket)")
    assert app_module.is_connection_error(stopped.value)


def test_abort_frees_threads_waiting_on_the_server(db: Database, db_url: str) -> None:
    """A thread in a query and a thread waiting for a pooled connection both
    end with an error once the pool is aborted, as the app does when it exits."""
    aborted = Database(db_url, max_size=1)
    errors: dict[str, BaseException] = {}

    def run(name: str, query: str) -> None:
        try:
            aborted.fetch_value(query)
        except BaseException as exc:
            errors[name] = exc

    sleeping = threading.Thread(
        target=run, args=("query", "SELECT pg_sleep(600)"), daemon=True
    )
    sleeping.start()
    deadline = time.monotonic() + 30
    while not db.fetch_value(
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'"
    ):
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.05)
    waiting = threading.Thread(target=run, args=("borrow", "SELECT 1"), daemon=True)
    waiting.start()
    time.sleep(0.2)

    aborted.abort()
    sleeping.join(10)
    waiting.join(10)
    assert not sleeping.is_alive()
    assert not waiting.is_alive()
    assert isinstance(errors["query"], psycopg.OperationalError)
    assert isinstance(errors["borrow"], DatabaseUnavailable)
    assert aborted.open_connections == 0


def test_transient_connect_errors_are_retried() -> None:
    transient = psycopg.OperationalError(
        'connection failed: connection to server on socket "/x/.s.PGSQL.5432"'
        " failed: FATAL:  the database system is starting up"
    )
    definite = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 9 failed:'
        " Connection refused"
    )
    assert is_transient_connect_error(transient)
    assert not is_transient_connect_error(definite)


def test_cli_unreachable_dsn_prints_one_message(
    tmp_path: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Only the short message and its hint reach stderr, not pool warnings."""
    from evedmv_tui import cli

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("EVEDMV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EVEDMV_DSN", raising=False)
    for reason, dsn in unreachable_dsns(tmp_path, closed_port).items():
        assert cli.main(["--dsn", dsn, "battles", "list"]) == 2
        err = capsys.readouterr().err
        lines = err.splitlines()
        assert lines[0].startswith("evedmv: cannot connect to PostgreSQL: ")
        assert reason in lines[0]
        assert lines[1].startswith("hint: ")
        assert len(lines) == 2, err


def test_overview_counts_live_feed_activity(db: Database) -> None:
    """Home showed only the last file import, so a running follower looked idle."""
    assert load_overview(db).last_feed_at is None
    db.execute(
        "INSERT INTO feed_cursors (feed, sequence, updated_at)"
        " VALUES ('r2z2', 1017, '2026-12-05 15:51:00+00')"
    )
    overview = load_overview(db)
    assert overview.last_feed_at == dt.datetime(2026, 12, 5, 15, 51, tzinfo=dt.UTC)
