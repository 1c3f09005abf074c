"""The seven real EVE Ref daily archives, imported once for this module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evedmv_tui.ingest.importer import ImportSummary, import_paths
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import _create_database, _drop_database, shared_file

PER_DAY = {
    "killmails-2021-11-27.tar.bz2": 17_862,
    "killmails-2021-11-28.tar.bz2": 17_047,
    "killmails-2021-11-29.tar.bz2": 10_831,
    "killmails-2021-11-30.tar.bz2": 11_721,
    "killmails-2021-12-01.tar.bz2": 10_671,
    "killmails-2021-12-02.tar.bz2": 10_938,
    "killmails-2021-12-03.tar.bz2": 4_158,
}
TOTAL = 83_228

# One import of 83,228 killmails: about a minute on two cores, more on a
# busy machine. Still part of the default run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archives() -> list[Path]:
    folder = shared_file("killmails/everef")
    return [folder / name for name in PER_DAY]


@pytest.fixture(scope="module")
def imported(
    pg_cluster: PrivateCluster, archives: list[Path]
) -> Iterator[tuple[Database, ImportSummary]]:
    """A database of this module with all seven archives imported once."""
    name = _create_database(pg_cluster)
    database = Database(pg_cluster.url(name), telemetry=Telemetry())
    try:
        # Pass the folder: the importer walks it and picks the archives by name.
        summary = import_paths(database, [archives[0].parent], offline=True)
        yield database, summary
    finally:
        database.close()
        _drop_database(pg_cluster, name)


def test_archive_count(imported: tuple[Database, ImportSummary]) -> None:
    db, summary = imported
    assert summary.inserted == TOTAL
    assert summary.rejected == 0
    assert db.fetch_value("SELECT count(*) FROM killmails") == TOTAL
    assert db.fetch_value("SELECT count(*) FROM killmail_index") == TOTAL


def test_per_archive_counts(imported: tuple[Database, ImportSummary]) -> None:
    _, summary = imported
    by_name = {Path(f.path).name: f for f in summary.files}
    for name, count in PER_DAY.items():
        assert by_name[name].read == count
        assert by_name[name].inserted == count
        assert by_name[name].rejected == 0


def test_csv_in_folder_skipped(imported: tuple[Database, ImportSummary]) -> None:
    db, summary = imported
    # The folder's cluster index CSV is not a killmail format: it is skipped.
    assert not any(f.path.endswith(".csv") for f in summary.files)
    assert db.fetch_value("SELECT count(*) FROM rejects") == 0


def test_archive_rows_match_members(
    imported: tuple[Database, ImportSummary], archives: list[Path]
) -> None:
    db, _ = imported
    attackers = db.fetch_value("SELECT count(*) FROM attackers")
    stored = db.fetch_value("SELECT sum(attacker_count) FROM killmails")
    assert attackers == stored
    days = db.fetch_all(
        "SELECT (killmail_time AT TIME ZONE 'UTC')::date::text, count(*)"
        " FROM killmails GROUP BY 1 ORDER BY 1"
    )
    expected = [
        (name.removeprefix("killmails-").removesuffix(".tar.bz2"), count)
        for name, count in PER_DAY.items()
    ]
    assert days == expected


def test_archive_hashes_and_sources(imported: tuple[Database, ImportSummary]) -> None:
    db, _ = imported
    missing = db.fetch_value(
        "SELECT count(*) FROM killmails WHERE killmail_hash IS NULL"
    )
    assert missing == 0
    sources = db.fetch_all("SELECT DISTINCT source FROM killmails")
    assert sources == [("everef",)]
    body = db.fetch_value("SELECT esi_body FROM killmails ORDER BY killmail_id LIMIT 1")
    assert "http_last_modified" in json.loads(body)


def test_reimport_archive_adds_nothing(
    imported: tuple[Database, ImportSummary], archives: list[Path]
) -> None:
    db, _ = imported
    counts = "SELECT (SELECT count(*) FROM killmails), (SELECT count(*) FROM items)"
    before = db.fetch_one(counts)
    smallest = archives[-1]
    summary = import_paths(db, [smallest], offline=True, workers=0)
    assert summary.read == PER_DAY[smallest.name]
    assert summary.inserted == 0
    assert summary.updated == 0
    assert summary.duplicates == summary.read
    assert db.fetch_one(counts) == before


def test_archive_import_builds_indexes(
    imported: tuple[Database, ImportSummary],
) -> None:
    # The import starts on empty tables, so it defers the attacker indexes.
    db, _ = imported
    partitions = db.fetch_all(
        "SELECT c.relname, count(*) FROM pg_inherits AS h"
        " JOIN pg_class AS c ON c.oid = h.inhrelid"
        " JOIN pg_index AS i ON i.indrelid = c.oid AND i.indisvalid"
        " WHERE h.inhparent = 'attackers'::regclass GROUP BY 1 ORDER BY 1"
    )
    assert partitions == [("attackers_2021_11", 4), ("attackers_2021_12", 4)]
    assert db.fetch_value("SELECT count(*) FROM deferred_indexes") == 0
