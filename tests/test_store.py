"""Private cluster lifecycle, migrations and the timed query path."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import check_capabilities, ensure_database
from evedmv_tui.store.db import Database, redact
from evedmv_tui.store.migrate import available_migrations, migrate, pending_migrations
from evedmv_tui.store.telemetry import count_statements, operation


@pytest.fixture
def own_cluster() -> Iterator[PrivateCluster]:
    base = Path(tempfile.mkdtemp(prefix="evedmv-own-", dir="/tmp"))
    base.chmod(0o711)
    cluster = PrivateCluster(base / "data", fast=True)
    try:
        yield cluster
    finally:
        cluster.destroy()


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
