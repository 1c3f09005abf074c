"""The ``evedmv db`` subcommands on a private cluster of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import cluster_directory


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with cluster_directory("evedmv-cli-") as data:
        yield data


def evedmv(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVEDMV_")}
    return subprocess.run(
        [sys.executable, "-m", "evedmv_tui", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_db_lifecycle(data_dir: Path) -> None:
    stopped = evedmv(data_dir, "db", "url")
    assert stopped.returncode == 1
    assert "db start" in stopped.stderr

    started = evedmv(data_dir, "db", "start")
    assert started.returncode == 0, started.stderr
    url = evedmv(data_dir, "db", "url").stdout.strip()
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'killmail_index'"
        ).fetchone()
    assert tables == (1,)

    status = evedmv(data_dir, "db", "status")
    assert status.returncode == 0, status.stderr
    assert "pending migrations: 0" in status.stdout
    assert "pg_stat_statements: 1." in status.stdout

    assert evedmv(data_dir, "db", "migrate").stdout.strip() == "schema is up to date"
    assert evedmv(data_dir, "db", "stop").returncode == 0
    after = evedmv(data_dir, "db", "status")
    assert after.returncode == 1
    assert "stopped" in after.stdout


def test_db_start_refuses_with_dsn(data_dir: Path) -> None:
    result = evedmv(data_dir, "--dsn", "host=/nonexistent", "db", "start")
    assert result.returncode == 2
    assert "never starts or stops an external server" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_dsn_is_a_plain_error(data_dir: Path) -> None:
    result = evedmv(
        data_dir, "--dsn", "host=/nonexistent port=1 connect_timeout=1", "db", "status"
    )
    assert result.returncode == 2
    assert "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr
