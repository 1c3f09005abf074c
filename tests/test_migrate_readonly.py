"""Commands run by a role that may read the tables but not change the schema.

With every migration applied, such a role runs the read commands without
any DDL. With a migration pending, it gets an error that names the pending
migrations, the missing privilege and the command for the owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.cli import main
from evedmv_tui.errors import DatabaseUnavailable
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import MigrationNotAllowed, migrate
from tests.conftest import login_role, shared_file

READ_COMMANDS = [
    ["battles", "list"],
    ["rejects", "list"],
    ["corp", "show", "CORPORATION", "--period", "all"],
    ["db", "status"],
]


@pytest.fixture
def offline_env(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The isolated environment, with no request to ESI or zKillboard."""
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")
    return isolated_env


@pytest.fixture
def reader(db_url: str) -> Iterator[str]:
    """URL of ``db_url`` as a role with SELECT on the tables and nothing more.

    The role has no CREATE on schema public (PostgreSQL 15 and later grant
    none to PUBLIC; the REVOKE makes it so on older servers too).
    """
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    with login_role(
        db_url, "cliro", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}"
    ) as url:
        yield url


def ddl_statements(db_url: str, role: str) -> list[str]:
    """Return the CREATE, ALTER and DROP statements ``role`` ran.

    NOTE: pg_stat_statements records statements that succeeded only.
    """
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT query FROM pg_stat_statements s JOIN pg_roles r"
            " ON r.oid = s.userid WHERE r.rolname = %s"
            " AND query ~* '^\\s*(CREATE|ALTER|DROP)'",
            (role,),
        ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def corporation(db: Database) -> int:
    """Import real killmails as the owner and return a corporation they name."""
    real = shared_file("killmails/real/everef_cluster_samples.jsonl")
    import_paths(db, [real], offline=True)
    found = db.fetch_value(
        "SELECT corporation_id FROM attackers WHERE corporation_id >= 98000000"
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )
    return int(found)


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_commands_run_without_ddl(
    command: list[str],
    corporation: int,
    reader: str,
    db_url: str,
    offline_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = [str(corporation) if a == "CORPORATION" else a for a in command]
    status = main(["--dsn", reader, "--data-dir", str(offline_env / "d"), *command])

    captured = capsys.readouterr()
    assert "cannot create the schema" not in captured.err
    assert "permission denied" not in captured.err
    assert status == 0, captured.err
    role = str(psycopg.conninfo.conninfo_to_dict(reader)["user"])
    assert ddl_statements(db_url, role) == []


def test_reader_migrate_applies_nothing(reader: str) -> None:
    with Database(reader, min_size=1, max_size=1) as db:
        assert migrate(db) == []


def forget_migration(db_url: str, version: int) -> None:
    """Make ``version`` look pending, as after an upgrade of evedmv."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = %s", (version,))


def test_pending_migration_error_names_fix(
    reader: str,
    db_url: str,
    offline_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    forget_migration(db_url, 203)
    role = str(psycopg.conninfo.conninfo_to_dict(reader)["user"])

    status = main(
        ["--dsn", reader, "--data-dir", str(offline_env / "d"), "battles", "detect"]
    )

    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert (
        "cannot apply migrations: 1 migration is pending (0203_deferred_indexes.sql)"
        f" and role {role} lacks CREATE on schema public"
    ) in err
    assert "evedmv --dsn OWNER_DSN db migrate" in err
    assert ddl_statements(db_url, role) == []


def test_pending_migrations_raise_before_ddl(reader: str, db_url: str) -> None:
    forget_migration(db_url, 202)
    forget_migration(db_url, 203)

    with (
        Database(reader, min_size=1, max_size=1) as db,
        pytest.raises(MigrationNotAllowed) as caught,
    ):
        migrate(db)

    assert [m.file_name for m in caught.value.pending] == [
        "0202_intel_totals.sql",
        "0203_deferred_indexes.sql",
    ]
    assert "2 migrations are pending" in caught.value.message
    assert isinstance(caught.value, DatabaseUnavailable)


def test_reader_without_schema_migrations_select(reader: str, db_url: str) -> None:
    role = str(psycopg.conninfo.conninfo_to_dict(reader)["user"])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("REVOKE SELECT ON schema_migrations FROM {}").format(
                psycopg.sql.Identifier(role)
            )
        )

    with (
        Database(reader, min_size=1, max_size=1) as db,
        pytest.raises(DatabaseUnavailable) as caught,
    ):
        migrate(db)

    assert caught.value.title == "cannot read the schema version"
    assert caught.value.hint is not None
    assert f"GRANT SELECT ON schema_migrations TO {role}" in caught.value.hint


def test_reader_leaves_dropped_indexes(
    reader: str, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Indexes an interrupted import dropped stay for the owner to build."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO deferred_indexes (schema_name, index_name, definition)"
            " VALUES ('public', 'attackers_probe',"
            " 'CREATE INDEX attackers_probe ON public.attackers (killmail_id)')"
        )

    with Database(reader, min_size=1, max_size=1) as db:
        assert migrate(db) == []

    assert "indexes that an interrupted import dropped stay missing" in caplog.text
    with Database(db_url, min_size=1, max_size=1) as db:
        assert migrate(db) == []
        assert db.fetch_value("SELECT to_regclass('attackers_probe')") is not None
