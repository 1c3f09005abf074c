"""Migration 0210 on a database whose daily totals hold killmails already.

The totals of such a database were counted before they had counts of kills
and losses without an ISK value. After the migration, pages read from the
totals must equal pages read from the killmails, those counts included.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from evedmv_tui.intel import totals
from evedmv_tui.intel.entities import EntityKind, Period
from evedmv_tui.sde import import_sde
from evedmv_tui.store import migrate as migrate_module
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import ensure_database
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import available_migrations, migrate
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import _drop_database, shared_file
from tests.test_intel_totals import (
    KILLMAILS,
    assert_pages_match,
    busiest,
    import_with_hook,
    page_json,
    write_generated,
)

UNVALUED_COUNTS = 210
"""The migration that adds the counts of killmails without an ISK value."""


@pytest.fixture
def older_db(
    pg_cluster: PrivateCluster, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A database migrated up to the migration before :data:`UNVALUED_COUNTS`."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    ensure_database(pg_cluster, name)
    database = Database(pg_cluster.url(name), telemetry=Telemetry())
    older = [m for m in available_migrations() if m.version < UNVALUED_COUNTS]
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: older)
    try:
        migrate(database)
        monkeypatch.undo()
        yield database
    finally:
        database.close()
        _drop_database(pg_cluster, name)


def unvalued_days(db: Database) -> int:
    return int(
        db.fetch_value(
            "SELECT count(*) FROM intel_entity_days"
            " WHERE kills_without_value > 0 OR losses_without_value > 0"
        )
    )


def test_migration_counts_stored_unvalued_killmails(
    older_db: Database, tmp_path: Path
) -> None:
    """Totals counted before the migration lacked the killmails without a
    value, so pages read from them did not mark ISK that leaves them out."""
    db = older_db
    columns = db.fetch_all(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = 'intel_entity_days'"
    )
    assert ("kills_without_value",) not in columns
    import_sde(db, shared_file("sde"))
    import_with_hook(db, write_generated(tmp_path / "killmails.jsonl", KILLMAILS, 7))
    # Some lose their value after they were counted, as a zKillboard merge
    # can do, and the old trigger moves only the ISK.
    db.execute("UPDATE killmails SET total_value = NULL WHERE killmail_id % 4 = 0")
    days_before = db.fetch_all("TABLE intel_entity_days ORDER BY 1, 2, 3")

    # Later migrations follow it.
    assert migrate(db)[0].version == UNVALUED_COUNTS

    assert unvalued_days(db) > 0
    corporation = busiest(db, EntityKind.CORPORATION, 1)[0]
    summary = page_json(db, EntityKind.CORPORATION, corporation, Period.ALL, True)[
        "summary"
    ]
    assert summary["kills_without_value"] > 0
    assert summary["losses_without_value"] > 0
    assert assert_pages_match(db) > 0
    # The back-fill changed only the new columns, and equals a rebuild.
    migrated = db.fetch_all("TABLE intel_entity_days ORDER BY 1, 2, 3")
    assert [row[:-2] for row in migrated] == days_before
    assert totals.rebuild(db) == KILLMAILS
    assert db.fetch_all("TABLE intel_entity_days ORDER BY 1, 2, 3") == migrated
