"""``evedmv --dsn URL db status`` on servers that lack monitoring capabilities.

The command still runs (exit status 0) and prints one warning per gap with
the statement that fixes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from evedmv_tui.cli import main
from evedmv_tui.store.migrate import available_migrations
from tests.conftest import login_role


def run_status(
    capsys: pytest.CaptureFixture[str], dsn: str, data_dir: Path
) -> tuple[int, str]:
    status = main(["--dsn", dsn, "--data-dir", str(data_dir), "db", "status"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out


def warnings_of(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning: ")]


@pytest.fixture
def role_without_stats(db_url: str) -> Iterator[str]:
    """Return the URL of ``db_url`` as a new login role without pg_read_all_stats.

    Like an application role, it reads the tables (db status reads
    schema_migrations) but has no monitoring privileges.
    """
    with login_role(
        db_url, "nostats", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}"
    ) as url:
        yield url
    with psycopg.connect(db_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = %s",
            (psycopg.conninfo.conninfo_to_dict(url)["user"],),
        ).fetchone()
    assert left == (0,)


def test_status_complete_server_has_no_warnings(
    db_url: str, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run_status(capsys, db_url, isolated_env / "data")
    assert status == 0
    assert "pg_stat_statements: 1." in out
    assert "pending migrations: 0" in out
    assert warnings_of(out) == []


def test_status_without_pg_stat_statements(
    db_url: str, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_stat_statements")

    status, out = run_status(capsys, db_url, isolated_env / "data")

    assert status == 0
    assert "pg_stat_statements: not installed" in out
    assert "pending migrations: 0" in out
    assert warnings_of(out) == [
        "warning: pg_stat_statements is not installed in this database: run"
        " CREATE EXTENSION pg_stat_statements"
    ]


def test_status_role_without_read_all_stats(
    role_without_stats: str, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run_status(capsys, role_without_stats, isolated_env / "data")

    role = psycopg.conninfo.conninfo_to_dict(role_without_stats)["user"]
    assert status == 0
    assert "pg_stat_statements: 1." in out
    assert warnings_of(out) == [
        f"warning: role {role} cannot read other roles' statistics:"
        f" GRANT pg_read_all_stats TO {role}"
    ]


def test_status_role_without_table_access(
    role_without_stats: str,
    db_url: str,
    isolated_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A role that may not read the schema table still gets the status."""
    role = psycopg.conninfo.conninfo_to_dict(role_without_stats)["user"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("REVOKE SELECT ON schema_migrations FROM {}").format(
                sql.Identifier(str(role))
            )
        )

    status, out = run_status(capsys, role_without_stats, isolated_env / "data")

    assert status == 0
    assert "pending migrations: unknown (permission denied" in out
    assert "GRANT SELECT ON schema_migrations" in out


def test_status_of_database_without_schema(
    bare_url: str, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty database gets the command that creates the schema, and the
    target is printed as given, without the options the app adds."""
    status, out = run_status(capsys, bare_url, isolated_env / "data")

    assert status == 0
    assert "jit=off" not in out
    count = len(available_migrations())
    assert (
        f"pending migrations: {count}; this database has no evedmv schema yet:"
        " evedmv --dsn DSN db migrate"
    ) in out


def test_status_names_the_command_for_pending_migrations(
    db_url: str, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM schema_migrations"
            " WHERE version = (SELECT max(version) FROM schema_migrations)"
        )

    status, out = run_status(capsys, db_url, isolated_env / "data")

    assert status == 0
    assert "pending migrations: 1: evedmv --dsn DSN db migrate applies them" in out
