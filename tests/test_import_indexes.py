"""Secondary indexes dropped during a bulk import and built again after it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from evedmv_tui.ingest import indexes
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import migrate
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import (
    _create_database,
    _drop_database,
    login_role,
    shared_file,
)

SMALL_ARCHIVE = "killmails/everef/killmails-2021-12-03.tar.bz2"
SMALL_ARCHIVE_KILLMAILS = 4_158

# Rows of the three killmail tables in a fixed order, without the columns
# that record when a row was written.
TABLE_DUMPS = {
    "killmails": (
        "SELECT md5(string_agg(row(k.killmail_id, k.killmail_time,"
        " k.solar_system_id, k.killmail_hash, k.victim_ship_type_id,"
        " k.attacker_count, k.total_value, k.value_source, k.esi_body,"
        " k.zkb_body, k.source)::text, ',' ORDER BY k.killmail_id))"
        " FROM killmails AS k"
    ),
    "attackers": (
        "SELECT md5(string_agg(a::text, ',' ORDER BY a.killmail_id,"
        " a.attacker_index)) FROM attackers AS a"
    ),
    "items": (
        "SELECT md5(string_agg(i::text, ',' ORDER BY i.killmail_id,"
        " i.item_index)) FROM items AS i"
    ),
}
INDEX_DEFINITIONS = (
    "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid"
    " FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid"
    " WHERE i.indrelid = 'attackers'::regclass ORDER BY c.relname"
)
PARTITION_INDEXES = (
    "SELECT count(*) FROM pg_inherits AS h JOIN pg_index AS i"
    " ON i.indexrelid = h.inhrelid"
    " WHERE h.inhparent = 'attackers_character_time'::regclass"
)


@pytest.fixture
def second_db(pg_cluster: PrivateCluster) -> Iterator[Database]:
    """Another fresh, migrated database, for comparing two imports."""
    name = _create_database(pg_cluster)
    database = Database(pg_cluster.url(name), telemetry=Telemetry())
    try:
        yield database
    finally:
        database.close()
        _drop_database(pg_cluster, name)


@pytest.fixture
def writer_role(db_url: str) -> Iterator[str]:
    """Return the URL of ``db_url`` as a login role that writes but owns nothing."""
    with login_role(
        db_url,
        "writer",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
    ) as url:
        yield url


def _secondary_names(db: Database) -> list[str]:
    return [
        name
        for name, _, _ in db.fetch_all(INDEX_DEFINITIONS)
        if name != "attackers_pkey"
    ]


def _deferred_rows(db: Database) -> list[tuple[str, str]]:
    return db.fetch_all(
        "SELECT schema_name, index_name FROM deferred_indexes ORDER BY index_name"
    )


def _drop_and_leave(db: Database) -> list[str]:
    """Defer the indexes in a session that then ends, as a killed import would.

    Returns once the session's server process has exited: until then it
    still holds the advisory lock, and a restore would rightly wait for it.
    """
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (indexes.DEFER_LOCK_KEY,))
        pid = conn.info.backend_pid
        dropped = indexes._drop(db, conn, indexes.DEFERRED_TABLES)
    deadline = time.monotonic() + 30
    while db.fetch_value(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
    ):
        assert time.monotonic() < deadline, f"backend {pid} did not exit"
        time.sleep(0.01)
    return dropped


def test_deferred_import_equals_plain(db: Database, second_db: Database) -> None:
    archive = shared_file(SMALL_ARCHIVE)
    before = db.fetch_all(INDEX_DEFINITIONS)

    deferred = import_paths(db, [archive], offline=True, defer_indexes=True)
    plain = import_paths(second_db, [archive], offline=True, defer_indexes=False)

    assert deferred.inserted == SMALL_ARCHIVE_KILLMAILS
    assert deferred.as_dict()["files"] == plain.as_dict()["files"]
    for table, dump in TABLE_DUMPS.items():
        assert db.fetch_value(dump) == second_db.fetch_value(dump), table
    assert db.fetch_all(INDEX_DEFINITIONS) == before
    assert _deferred_rows(db) == []


def test_deferred_import_builds_partition_indexes(db: Database) -> None:
    import_paths(db, [shared_file(SMALL_ARCHIVE)], offline=True, defer_indexes=True)

    # The archive's one month has a partition, created after the drop.
    assert db.fetch_value(PARTITION_INDEXES) == 1


def test_indexes_absent_during_import(db: Database) -> None:
    seen: list[list[str]] = []

    def look(hook_db: Database, _result: object) -> None:
        seen.append(_secondary_names(hook_db))

    import_paths(
        db,
        [shared_file(SMALL_ARCHIVE)],
        offline=True,
        defer_indexes=True,
        after_batch=[look],
    )

    assert seen
    assert all(names == [] for names in seen)
    assert len(_secondary_names(db)) == 3


def test_failed_import_builds_indexes(db: Database) -> None:
    def fail(_db: Database, _result: object) -> None:
        raise KeyboardInterrupt

    # Hooks catch Exception, not KeyboardInterrupt, so this stops the import
    # after its first batch as Ctrl-C would.
    with pytest.raises(KeyboardInterrupt):
        import_paths(
            db,
            [shared_file(SMALL_ARCHIVE)],
            offline=True,
            defer_indexes=True,
            after_batch=[fail],
        )

    assert len(_secondary_names(db)) == 3
    assert _deferred_rows(db) == []


def test_migrate_builds_indexes_of_ended_import(db: Database) -> None:
    before = db.fetch_all(INDEX_DEFINITIONS)
    dropped = _drop_and_leave(db)
    assert dropped == [
        "attackers_alliance_time",
        "attackers_character_time",
        "attackers_corporation_time",
    ]
    assert _secondary_names(db) == []
    assert [name for _, name in _deferred_rows(db)] == dropped

    migrate(db)

    assert db.fetch_all(INDEX_DEFINITIONS) == before
    assert _deferred_rows(db) == []


def test_next_import_builds_indexes_of_ended_import(db: Database) -> None:
    _drop_and_leave(db)

    import_paths(db, [shared_file(SMALL_ARCHIVE)], offline=True, defer_indexes=False)

    assert len(_secondary_names(db)) == 3
    assert _deferred_rows(db) == []


def test_restore_waits_for_running_import(db: Database) -> None:
    with indexes.deferred_indexes(db) as dropped:
        assert len(dropped) == 3
        assert indexes.restore(db) == 0
        migrate(db)
        assert _secondary_names(db) == []
        assert len(_deferred_rows(db)) == 3
    assert len(_secondary_names(db)) == 3
    assert _deferred_rows(db) == []


def test_second_import_keeps_indexes(db: Database) -> None:
    with indexes.deferred_indexes(db) as first:
        with indexes.deferred_indexes(db) as second:
            assert second == []
        assert len(first) == 3
        assert _secondary_names(db) == []
    assert len(_secondary_names(db)) == 3


def test_busy_table_keeps_indexes(db: Database) -> None:
    with psycopg.connect(db.conninfo) as reader:
        reader.execute("SELECT count(*) FROM attackers")  # holds its lock
        with indexes.deferred_indexes(db) as dropped:
            assert dropped == []
            assert len(_secondary_names(db)) == 3
    assert _deferred_rows(db) == []


def test_non_owner_keeps_indexes(db: Database, writer_role: str) -> None:
    with (
        Database(writer_role, telemetry=Telemetry()) as writer,
        indexes.deferred_indexes(writer) as dropped,
    ):
        assert dropped == []
        assert len(_secondary_names(db)) == 3
    assert _deferred_rows(db) == []


def test_should_defer_by_size(db: Database) -> None:
    large = indexes.DEFER_MIN_BYTES
    assert indexes.should_defer(db, large)
    assert not indexes.should_defer(db, large - 1)

    import_paths(db, [shared_file(SMALL_ARCHIVE)], offline=True)
    estimate_below_stored = SMALL_ARCHIVE_KILLMAILS * indexes.BYTES_PER_KILLMAIL
    assert not indexes.should_defer(db, estimate_below_stored)
    assert indexes.should_defer(db, estimate_below_stored + indexes.BYTES_PER_KILLMAIL)
