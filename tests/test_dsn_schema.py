"""Servers given with --dsn: only commands that write create or migrate tables.

A read command or the dashboard on a database without the evedmv schema, or
with migrations pending, leaves it as it is and says how to migrate it.
Commands that only read server statistics work there too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from textual.widgets import Static

from evedmv_tui import cli
from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.commands import WRITING_HANDLERS, writes_database
from evedmv_tui.config import Settings
from evedmv_tui.errors import DatabaseUnavailable
from evedmv_tui.screens.battles import BattlesScreen
from evedmv_tui.store.connect import open_database
from tests.conftest import login_role


@pytest.fixture
def bare_reader(bare_url: str) -> Iterator[str]:
    """URL of ``bare_url`` as a role without CREATE on schema public."""
    with psycopg.connect(bare_url, autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    with login_role(bare_url, "noddl") as url:
        yield url


def table_names(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return [row[0] for row in rows]


def run(url: str, env: Path, *command: str) -> int:
    return main(["--dsn", url, "--data-dir", str(env / "d"), *command])


@pytest.fixture
def offline_env(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")
    return isolated_env


@pytest.mark.parametrize(
    "command",
    [["battles", "list"], ["rejects", "list"], ["sde", "status"]],
    ids=" ".join,
)
def test_read_command_leaves_bare_database(
    command: list[str],
    bare_url: str,
    offline_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = run(bare_url, offline_env, *command)

    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert "no evedmv schema: no evedmv migration is applied in this database" in err
    assert "evedmv --dsn DSN db migrate" in err
    assert "a role that may create tables" in err
    assert table_names(bare_url) == []


def test_migrate_command_creates_schema(bare_url: str, offline_env: Path) -> None:
    assert run(bare_url, offline_env, "db", "migrate") == 0

    assert "schema_migrations" in table_names(bare_url)
    assert run(bare_url, offline_env, "battles", "list") == 0


def test_write_command_migrates(
    bare_url: str, offline_env: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "none.jsonl"
    empty.write_text("")

    run(bare_url, offline_env, "import", str(empty))

    assert "schema_migrations" in table_names(bare_url)


def test_pending_migration_read_command(
    db_url: str, offline_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = 210")

    status = run(db_url, offline_env, "battles", "list")

    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert (
        "evedmv schema out of date: 1 migration is pending"
        " (0210_intel_totals_unvalued.sql)"
    ) in err
    assert "role that owns the evedmv tables" in err
    with psycopg.connect(db_url) as conn:
        found = conn.execute("SELECT 1 FROM schema_migrations WHERE version = 210")
        assert found.fetchone() is None


def test_performance_on_bare_database(
    bare_reader: str, offline_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(bare_reader, offline_env, "performance", "--interval", "0.2")

    out = capsys.readouterr().out
    assert status in (0, 1)
    assert "ingest: this database has no evedmv schema" in out
    assert "fix: run 'evedmv --dsn DSN db migrate'" in out
    assert table_names(bare_reader) == []


def test_regressions_on_bare_database(
    bare_reader: str, offline_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(bare_reader, offline_env, "regressions")

    assert "Traceback" not in capsys.readouterr().err
    assert status in (0, 1)
    assert table_names(bare_reader) == []


def test_reader_role_gets_schema_error(
    bare_reader: str, offline_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A role without CREATE hears about the schema, not about CREATE."""
    status = run(bare_reader, offline_env, "battles", "list")

    err = capsys.readouterr().err
    assert status == 2
    assert "no evedmv schema" in err
    assert "lacks CREATE" not in err


def test_writing_handlers_exist() -> None:
    """A renamed handler would silently stop migrating: each name must resolve."""
    parser = cli.build_parser()
    handlers: set[str] = set()
    pending: list[Any] = [parser]
    while pending:
        current = pending.pop()
        handler = current.get_default("handler")
        if handler is not None:
            handlers.add(f"{handler.__module__}.{handler.__qualname__}")
        for action in current._actions:
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                pending.extend(choices.values())
    assert WRITING_HANDLERS - handlers == set()


def test_read_handlers_do_not_write() -> None:
    from evedmv_tui.commands import battles, db, performance

    assert writes_database(battles.detect_command)
    assert writes_database(db.migrate_command)
    assert not writes_database(battles.list_command)
    assert not writes_database(performance.performance)


def test_open_database_keeps_problem(bare_reader: str, settings: Settings) -> None:
    reader = Settings(dsn=bare_reader, data_dir=settings.data_dir)
    with open_database(reader, writes=False, require_schema=False) as db:
        assert db.schema_problem is not None
        with pytest.raises(DatabaseUnavailable) as caught:
            db.fetch_all("SELECT * FROM battles")
    assert caught.value.title == "no evedmv schema"
    assert table_names(bare_reader) == []


async def settle(pilot: Any, until: Any, rounds: int = 200) -> None:
    for _ in range(rounds):
        if until():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


async def test_dashboard_opens_monitor_only(
    bare_reader: str, settings: Settings
) -> None:
    app = EvedmvApp(
        Settings(
            dsn=bare_reader,
            data_dir=settings.data_dir,
            state_dir=settings.state_dir,
            offline=True,
        )
    )
    notices: list[str] = []
    original = app.notify

    def record(message: str, **kwargs: Any) -> None:
        notices.append(f"{kwargs.get('title')}: {message}")
        original(message, **kwargs)

    app.notify = record  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.capabilities is not None)
        assert app.startup_error is None
        assert app.db is not None
        warnings = "\n".join(app.capabilities.warnings)  # type: ignore[union-attr]
        assert (
            "monitor only, because no evedmv migration is applied in this database"
            in warnings
        )
        overview = app.screen.query_one("#overview", Static)
        await settle(pilot, lambda: "no evedmv migration" in str(overview.render()))
        assert "fix: run 'evedmv --dsn DSN db migrate'" in str(overview.render())
        await app.push_screen(BattlesScreen())
        await settle(pilot, lambda: any("no evedmv schema" in s for s in notices))
    assert table_names(bare_reader) == []


def test_generate_auto_on_bare_database(
    bare_url: str, offline_env: Path, tmp_path: Path
) -> None:
    """Generating to a file falls back to the built-in universe, creating nothing."""
    output = tmp_path / "kills.jsonl"

    status = run(bare_url, offline_env, "generate", "-n", "3", "-o", str(output))

    assert status == 0
    assert len(output.read_text().splitlines()) == 3
    assert table_names(bare_url) == []


def test_earlier_version_read_command(
    bare_url: str, offline_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database that an older evedmv migrated reports the newer migrations."""
    from evedmv_tui.store.db import Database
    from evedmv_tui.store.migrate import _apply, available_migrations

    older = [m for m in available_migrations() if m.version < 200]
    newer = [m for m in available_migrations() if m.version >= 200]
    with Database(bare_url, min_size=1, max_size=1) as db, db.connection() as conn:
        for migration in older:
            _apply(db, conn, migration)

    status = run(bare_url, offline_env, "battles", "list")

    err = capsys.readouterr().err
    assert status == 2
    assert f"evedmv schema out of date: {len(newer)} migrations are pending" in err
    assert newer[0].file_name in err
    with psycopg.connect(bare_url) as conn:
        versions = conn.execute("SELECT version FROM schema_migrations").fetchall()
    assert sorted(v for (v,) in versions) == [m.version for m in older]
