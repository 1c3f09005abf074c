"""Daily entity totals: pages built from them equal pages built from killmails.

The reference is ``load_page(..., from_totals=False)``, which reads every
figure from the killmail and attacker rows (entity_page.sql). The data is
generated over about three weeks, so the 7 and 30 day periods start inside
a UTC day and the totals are combined with a partial first day.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.generate import generate_killmails
from evedmv_tui.ingest.hooks import BatchResult, default_hooks
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.intel import totals
from evedmv_tui.intel.entities import EntityKind, EntityRef, Period
from evedmv_tui.intel.pages import TOP_LIMIT, load_page
from evedmv_tui.sde import import_sde
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import _create_database, _drop_database, shared_file

KILLMAILS = 3000
KILLS_PER_DAY = 150.0
ENTITIES_PER_KIND = 4
"""Busiest corporations and alliances compared on each check."""


def write_generated(path: Path, count: int, seed: int) -> Path:
    with open(path, "wb") as out:
        for document in generate_killmails(count, seed, kills_per_day=KILLS_PER_DAY):
            out.write(document + b"\n")
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("totals")
    return write_generated(folder / "generated.jsonl", KILLMAILS, 7)


@pytest.fixture(scope="module")
def static_db(pg_cluster: PrivateCluster) -> Iterator[Database]:
    """A migrated database with the SDE and no killmails, shared by the module."""
    name = _create_database(pg_cluster)
    database = Database(pg_cluster.url(name), telemetry=Telemetry())
    try:
        import_sde(database, shared_file("sde"))
        yield database
    finally:
        database.close()
        _drop_database(pg_cluster, name)


@pytest.fixture
def db(static_db: Database) -> Iterator[Database]:
    """The module's database, emptied of killmails and totals after each test."""
    yield static_db
    static_db.execute(
        "TRUNCATE killmails, attackers, items, killmail_index, imports, rejects,"
        " reject_imports,"
        " intel_counted_killmails, intel_entity_days, intel_entity_day_tops"
    )


def busiest(db: Database, kind: EntityKind, limit: int) -> list[int]:
    rows = db.fetch_all(
        f"SELECT id FROM ("
        f" SELECT {kind.attacker_column} AS id FROM attackers"
        f" UNION ALL SELECT {kind.victim_column} FROM killmails) ids"
        f" WHERE id IS NOT NULL GROUP BY id ORDER BY count(*) DESC, id LIMIT %s",
        (limit,),
    )
    return [int(row[0]) for row in rows]


def page_json(
    db: Database,
    kind: EntityKind,
    entity_id: int,
    period: Period,
    from_totals: bool,
    top: int = TOP_LIMIT,
) -> dict[str, Any]:
    """Return a page as the --json output prints it, with ``top`` rows per list."""
    page = load_page(
        db,
        EntityRef(kind, entity_id, None),
        period,
        top=top,
        from_totals=from_totals,
    )
    return json.loads(json.dumps(page.as_json()))  # type: ignore[no-any-return]


def assert_pages_match(db: Database) -> int:
    """Compare totals and killmail pages of the busiest entities; return kills seen."""
    kills = 0
    for kind in (EntityKind.CORPORATION, EntityKind.ALLIANCE):
        for entity_id in busiest(db, kind, ENTITIES_PER_KIND):
            for period in Period:
                expected = page_json(db, kind, entity_id, period, False)
                actual = page_json(db, kind, entity_id, period, True)
                assert actual == expected, (kind, entity_id, period)
                kills += expected["summary"]["kills"]
    return kills


def import_with_hook(db: Database, path: Path, batch_size: int = 500) -> None:
    import_paths(
        db,
        [path],
        offline=True,
        workers=0,
        after_batch=[totals.on_batch],
        batch_size=batch_size,
    )


def newest_and_span(db: Database) -> tuple[dt.datetime, dt.timedelta]:
    row = db.fetch_one(
        "SELECT max(killmail_time), max(killmail_time) - min(killmail_time)"
        " FROM killmails"
    )
    assert row is not None
    return row[0], row[1]


def test_hook_is_a_default_hook() -> None:
    assert totals.on_batch in default_hooks()


def test_pages_from_totals_match_killmails(db: Database, generated: Path) -> None:
    import_with_hook(db, generated)
    newest, span = newest_and_span(db)
    # The periods must cut a day, and the data must span more than 7 days.
    assert newest.time() != dt.time(0)
    assert span > dt.timedelta(days=8)
    assert db.fetch_value("SELECT count(*) FROM intel_counted_killmails") == KILLMAILS
    assert assert_pages_match(db) > 0


def test_reimport_counts_nothing_twice(db: Database, generated: Path) -> None:
    import_with_hook(db, generated)
    before = db.fetch_all("TABLE intel_entity_day_tops ORDER BY 1, 2, 3, 4, 5, 6")
    import_with_hook(db, generated, batch_size=700)
    after = db.fetch_all("TABLE intel_entity_day_tops ORDER BY 1, 2, 3, 4, 5, 6")
    assert after == before
    assert assert_pages_match(db) > 0


def test_hook_on_updated_ids_counts_once(db: Database, generated: Path) -> None:
    import_paths(db, [generated], offline=True, workers=0)
    rows = db.fetch_all("SELECT killmail_id, killmail_time FROM killmails")
    ids = tuple(int(row[0]) for row in rows)
    times = [row[1] for row in rows]
    result = BatchResult((), ids, min(times), max(times), ())
    # Imported without hooks: an update is the first time the totals see them.
    totals.on_batch(db, result)
    totals.on_batch(db, result)
    assert db.fetch_value("SELECT count(*) FROM intel_counted_killmails") == KILLMAILS
    assert db.fetch_value("SELECT sum(kills + losses) FROM intel_entity_days") > 0
    assert assert_pages_match(db) > 0


def test_value_changes_reach_totals(db: Database, generated: Path) -> None:
    import_with_hook(db, generated)
    corporation = busiest(db, EntityKind.CORPORATION, 1)[0]
    before = page_json(db, EntityKind.CORPORATION, corporation, Period.ALL, True)
    # Every third killmail gets a new value, some lose theirs, as a zkb
    # merge or a price import would change them.
    db.execute(
        "UPDATE killmails SET total_value = CASE WHEN killmail_id % 2 = 0"
        " THEN total_value * 1.5 + 0.37 END WHERE killmail_id % 3 = 0"
    )
    after = page_json(db, EntityKind.CORPORATION, corporation, Period.ALL, True)
    assert after["summary"]["isk_destroyed"] != before["summary"]["isk_destroyed"]
    assert after["summary"]["isk_lost"] != before["summary"]["isk_lost"]
    assert assert_pages_match(db) > 0


def test_value_changes_reach_unvalued_counts(db: Database, generated: Path) -> None:
    """A value cleared or set after its killmail was counted did not reach
    the daily counts of kills and losses without an ISK value."""
    import_with_hook(db, generated)
    unvalued = (
        "SELECT sum(kills_without_value + losses_without_value) FROM intel_entity_days"
    )
    start = db.fetch_value(unvalued)
    old_values = db.fetch_all(
        "SELECT killmail_id, total_value FROM killmails"
        " WHERE killmail_id % 3 = 0 AND total_value IS NOT NULL"
    )
    ids = [row[0] for row in old_values]
    assert ids
    db.execute(
        "UPDATE killmails SET total_value = NULL WHERE killmail_id = ANY(%s)", (ids,)
    )
    assert db.fetch_value(unvalued) > start
    assert assert_pages_match(db) > 0
    db.execute(
        "UPDATE killmails k SET total_value = o.total_value"
        " FROM unnest(%s::bigint[], %s::float8[]) AS o(killmail_id, total_value)"
        " WHERE o.killmail_id = k.killmail_id",
        (ids, [row[1] for row in old_values]),
    )
    assert db.fetch_value(unvalued) == start
    assert assert_pages_match(db) > 0


def test_value_set_in_importing_transaction_is_not_moved(
    db: Database, generated: Path
) -> None:
    """A killmail valued by the transaction that inserts it is not yet counted.

    The import values new killmails inside the batch, before the hook counts
    them with those values; moving that change as well would count it twice.
    """
    import_with_hook(db, generated)
    with db.connection() as conn, conn.transaction():
        # The first statement makes the rows look inserted by this
        # transaction, as the importer's own rows are.
        db.execute(
            "UPDATE killmails SET inserted_at = now() WHERE killmail_id % 5 = 0",
            conn=conn,
        )
        db.execute(
            "UPDATE killmails SET total_value = 1 WHERE killmail_id % 5 = 0",
            conn=conn,
        )
    # Those killmails were counted with their old values, so the totals now
    # miss the change: this is the case the trigger skips on purpose.
    mismatched = db.fetch_value(
        "SELECT count(*) FROM intel_entity_days d WHERE d.isk_lost <> ("
        " SELECT coalesce(sum(coalesce(k.total_value, 0)::numeric), 0)"
        " FROM killmails k WHERE (d.kind = 'corporation'"
        " AND k.victim_corporation_id = d.entity_id OR d.kind = 'alliance'"
        " AND k.victim_alliance_id = d.entity_id)"
        " AND (k.killmail_time AT TIME ZONE 'UTC')::date = d.day)"
    )
    assert mismatched > 0
    assert totals.rebuild(db) == KILLMAILS
    assert assert_pages_match(db) > 0


def test_rebuild_counts_hookless_import(db: Database, generated: Path) -> None:
    import_paths(db, [generated], offline=True, workers=0)
    corporation = busiest(db, EntityKind.CORPORATION, 1)[0]
    stale = page_json(db, EntityKind.CORPORATION, corporation, Period.ALL, True)
    assert stale["summary"]["kills"] == 0
    assert totals.rebuild(db) == KILLMAILS
    assert totals.rebuild(db) == KILLMAILS
    assert assert_pages_match(db) > 0


def test_batches_in_any_order_give_same_totals(
    db: Database, generated: Path, tmp_path: Path
) -> None:
    """Counting does not depend on which killmails share a batch or come first."""
    lines = generated.read_bytes().splitlines()
    newest_first = tmp_path / "reversed.jsonl"
    newest_first.write_bytes(b"\n".join(reversed(lines)) + b"\n")
    import_with_hook(db, newest_first, batch_size=333)
    counted = db.fetch_all("TABLE intel_entity_day_tops ORDER BY 1, 2, 3, 4, 5, 6")
    days = db.fetch_all("TABLE intel_entity_days ORDER BY 1, 2, 3")
    assert totals.rebuild(db) == KILLMAILS
    assert db.fetch_all("TABLE intel_entity_day_tops ORDER BY 1, 2, 3, 4, 5, 6") == (
        counted
    )
    assert db.fetch_all("TABLE intel_entity_days ORDER BY 1, 2, 3") == days


def test_changed_ship_classes_are_recounted(db: Database, generated: Path) -> None:
    import_with_hook(db, generated)
    before = totals.ship_class_digest(db)
    assert totals.recount_if_classes_changed(db, before) is None
    group = db.fetch_value(
        "SELECT g.group_id FROM groups g JOIN types t ON t.group_id = g.group_id"
        " JOIN killmails k ON k.victim_ship_type_id = t.type_id"
        " GROUP BY g.group_id ORDER BY count(*) DESC LIMIT 1"
    )
    old_class = db.fetch_value(
        "SELECT ship_class FROM groups WHERE group_id = %s", (group,)
    )
    new_class = "capital" if old_class != "capital" else "frigate"
    try:
        db.execute(
            "UPDATE groups SET ship_class = %s WHERE group_id = %s",
            (new_class, group),
        )
        assert totals.ship_class_digest(db) != before
        with pytest.raises(AssertionError):
            assert_pages_match(db)  # the totals still file the old class
        assert totals.recount_if_classes_changed(db, before) == KILLMAILS
        assert assert_pages_match(db) > 0
    finally:
        db.execute(
            "UPDATE groups SET ship_class = %s WHERE group_id = %s",
            (old_class, group),
        )


def test_repair_counts_what_a_failed_hook_missed(
    db: Database,
    generated: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evedmv_tui.cli import main

    def server_gone(database: Database, result: BatchResult) -> None:
        raise RuntimeError("terminating connection due to administrator command")

    summary = import_paths(
        db, [generated], offline=True, workers=0, after_batch=[server_gone]
    )
    assert list(summary.not_updated.values()) == [KILLMAILS]
    assert summary.as_dict()["not_updated"] == dict(summary.not_updated)
    failures = [r for r in caplog.records if "not updated for a batch" in r.message]
    assert len(failures) == 2  # one for each batch of 2,000
    failure = failures[0]
    assert "server_gone failed" in failure.message
    assert "run 'evedmv repair'" in failure.message
    assert "administrator command" in failure.message
    assert failure.exc_info is None
    # Importing the file again finds duplicates only, so nothing is counted.
    import_with_hook(db, generated)
    assert db.fetch_value("SELECT count(*) FROM intel_counted_killmails") == 0

    capsys.readouterr()
    assert main(["--dsn", db.conninfo, "repair", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals_counted"] == KILLMAILS
    assert report["battles"]["battles"] > 0
    assert assert_pages_match(db) > 0


EVERY_ROW = 1_000_000
"""A top list length no list of these tests reaches."""
MIXED_ALLIANCE = 99_990_001
"""An alliance id the generator does not use, given to rewritten attackers."""


def write_mixed_groups(
    source: Path, target: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rewrite some killmails so that one corporation flies in several groups.

    The generator never puts a corporation in two groups on one killmail.
    On every seventh killmail the first attacker's corporation also flies
    in :data:`MIXED_ALLIANCE` and without an alliance. On the killmails
    three after those, it also flies without an alliance only. Returns the
    first attacker of each rewritten killmail, for each of the two ways.
    """
    three_groups: list[dict[str, Any]] = []
    two_groups: list[dict[str, Any]] = []
    lines = []
    for number, line in enumerate(source.read_bytes().splitlines()):
        document = json.loads(line)
        attackers = document["attackers"]
        first = attackers[0]
        eligible = (
            len(attackers) >= 3
            and first.get("corporation_id")
            and first.get("alliance_id")
        )
        if eligible and number % 7 == 0:
            attackers[1]["corporation_id"] = first["corporation_id"]
            attackers[1]["alliance_id"] = MIXED_ALLIANCE
            attackers[2]["corporation_id"] = first["corporation_id"]
            attackers[2].pop("alliance_id", None)
            three_groups.append(first)
        elif eligible and number % 7 == 3:
            attackers[1]["corporation_id"] = first["corporation_id"]
            attackers[1].pop("alliance_id", None)
            two_groups.append(first)
        lines.append(json.dumps(document).encode())
    target.write_bytes(b"\n".join(lines) + b"\n")
    return three_groups, two_groups


def test_flown_with_lists_on_mixed_groups(
    db: Database, generated: Path, tmp_path: Path
) -> None:
    """A corporation seen in several alliances on one kill is counted right.

    The "flown with" lists count a key for an entity when some attacker
    group with that key has a corporation (or alliance) other than the
    entity or none. Here one corporation flies in its own alliance, in
    another and in none on one killmail, or in its own alliance and in none,
    so the key passes for some entities through one group only. Every row
    of every list is compared with the page computed from the killmails.
    """
    mixed = tmp_path / "mixed.jsonl"
    three_groups, two_groups = write_mixed_groups(generated, mixed)
    assert len(three_groups) > 50
    assert len(two_groups) > 50
    import_with_hook(db, mixed)
    entities = {(EntityKind.ALLIANCE, MIXED_ALLIANCE)}
    for first in three_groups[:3] + two_groups[:3]:
        entities.add((EntityKind.CORPORATION, int(first["corporation_id"])))
        entities.add((EntityKind.ALLIANCE, int(first["alliance_id"])))
    compared = 0
    for kind, entity_id in sorted(entities):
        for period in (Period.WEEK, Period.ALL):
            expected = page_json(db, kind, entity_id, period, False, EVERY_ROW)
            actual = page_json(db, kind, entity_id, period, True, EVERY_ROW)
            assert actual == expected, (kind, entity_id, period)
            compared += len(expected["tops"]["with_corporations"])
            compared += len(expected["tops"]["with_alliances"])
    assert compared > 100


def totals_rows(db: Database) -> tuple[list[Any], list[Any], list[Any]]:
    """Every row of the three totals tables, sorted."""
    return (
        db.fetch_all("TABLE intel_counted_killmails ORDER BY 1"),
        db.fetch_all("TABLE intel_entity_days ORDER BY 1, 2, 3"),
        db.fetch_all("TABLE intel_entity_day_tops ORDER BY 1, 2, 3, 4, 5, 6"),
    )


def test_hook_and_rebuild_agree_on_mixed_groups(
    db: Database, generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting batch by batch and rebuilding in chunks write the same rows.

    The killmails have corporations in several attacker groups, so the
    "flown with" lists take every branch of their exclusion rule. The
    rebuild runs in chunks smaller than a day's killmails, and reports each.
    """
    mixed = tmp_path / "mixed.jsonl"
    write_mixed_groups(generated, mixed)
    import_with_hook(db, mixed, batch_size=333)
    counted = totals_rows(db)
    assert len(counted[2]) > KILLMAILS
    monkeypatch.setattr(totals, "CHUNK_KILLMAILS", 100)
    reports: list[tuple[int, int]] = []
    assert totals.rebuild(db, lambda done, total: reports.append((done, total))) == (
        KILLMAILS
    )
    assert totals_rows(db) == counted
    assert len(reports) > 10
    assert [done for done, _ in reports] == sorted({done for done, _ in reports})
    assert reports[-1] == (KILLMAILS, KILLMAILS)


def test_ship_recount_equals_rebuild(db: Database, generated: Path) -> None:
    """Refiling the ship lists after a class change gives a rebuild's rows."""
    import_with_hook(db, generated)
    before = totals.ship_class_digest(db)
    groups = db.fetch_all(
        "SELECT g.group_id, g.ship_class FROM groups g"
        " JOIN types t ON t.group_id = g.group_id"
        " JOIN killmails k ON k.victim_ship_type_id = t.type_id"
        " GROUP BY g.group_id ORDER BY count(*) DESC LIMIT 2"
    )
    # One class moves to another that has rows already, one to a new name.
    moved = {groups[0][0]: groups[1][1], groups[1][0]: "test class"}
    try:
        for group, ship_class in moved.items():
            db.execute(
                "UPDATE groups SET ship_class = %s WHERE group_id = %s",
                (ship_class, group),
            )
        stale = totals_rows(db)
        assert totals.recount_if_classes_changed(db, before) == KILLMAILS
        recounted = totals_rows(db)
        assert recounted != stale
        assert recounted[:2] == stale[:2]
        assert totals.rebuild(db) == KILLMAILS
        assert totals_rows(db) == recounted
    finally:
        for group, ship_class in groups:
            db.execute(
                "UPDATE groups SET ship_class = %s WHERE group_id = %s",
                (ship_class, group),
            )


def test_class_change_counts_what_the_totals_missed(
    db: Database, generated: Path
) -> None:
    """Killmails stored without hooks are counted by the recount as by a rebuild."""
    import_paths(db, [generated], offline=True, workers=0)
    before = totals.ship_class_digest(db)
    db.execute("UPDATE groups SET ship_class = ship_class || ' '")
    try:
        assert totals.recount_if_classes_changed(db, before) == KILLMAILS
        recounted = totals_rows(db)
        assert len(recounted[0]) == KILLMAILS
        assert totals.rebuild(db) == KILLMAILS
        assert totals_rows(db) == recounted
    finally:
        db.execute("UPDATE groups SET ship_class = rtrim(ship_class)")
