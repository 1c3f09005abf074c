"""Detection against the real database: full, incremental, overrides, report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Iterator
from importlib import resources
from typing import Any

import psycopg
import pytest

from evedmv_tui.battles import detect as battle_detect
from evedmv_tui.battles import rows as battle_rows
from evedmv_tui.battles.detect import detect_all, on_batch
from evedmv_tui.battles.export import report_document
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.overrides import clear_overrides, move_entity
from evedmv_tui.battles.parameters import (
    BattleParameters,
    load_parameters,
    parse_parameters,
    save_parameters,
)
from evedmv_tui.battles.report import (
    BattleFilter,
    BattleNotFound,
    list_battles,
    list_sides,
    load_report,
)
from evedmv_tui.errors import ConfigError
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import count_statements
from tests.test_battle_fixtures import (
    JITA,
    NEW_CALDARI,
    PERIMETER,
    RAVEN,
    SCIMITAR,
    Pilot,
    brawl,
    fleet,
    insert_kills,
    insert_static,
    kill,
)


def batch_of(kills: list[Kill]) -> BatchResult:
    return BatchResult(
        inserted_ids=tuple(k.killmail_id for k in kills),
        updated_ids=(),
        min_time=min(k.killmail_time for k in kills),
        max_time=max(k.killmail_time for k in kills),
        solar_system_ids=tuple(sorted({k.solar_system_id for k in kills})),
    )


def import_batch(db: Database, kills: list[Kill]) -> None:
    insert_kills(db, kills)
    on_batch(db, batch_of(kills))


def members(db: Database) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for battle_id, killmail_id in db.fetch_all(
        "SELECT battle_id, killmail_id FROM battle_killmails"
    ):
        found.setdefault(battle_id, set()).add(killmail_id)
    return found


def two_fleets() -> tuple[list[Pilot], list[Pilot]]:
    side_a = fleet(6, 98_000_101, 99_000_101) + fleet(3, 98_000_102, 99_000_101)
    side_b = fleet(8, 98_000_103, 99_000_102)
    return side_a, side_b


def test_detect_all_stores_battle(db: Database) -> None:
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=30)
    insert_kills(db, kills)
    summary = detect_all(db)
    assert summary.battles == 1
    assert summary.created == 1
    battles = list_battles(db)
    assert len(battles) == 1
    battle = battles[0]
    assert battle.kills == 30
    assert battle.pilots == len(side_a) + len(side_b)
    assert battle.system_names == ["Jita"]
    assert battle.region_names == ["The Forge"]
    assert battle.side_count == 2
    assert battle.kind == "fight"
    assert battle.ongoing is False
    assert battle.isk_destroyed == pytest.approx(30 * 10_000_000.0)
    sides = list_sides(db, [battle.battle_id])[battle.battle_id]
    assert [s.side_no for s in sides] == [1, 2]
    assert sum(s.ships_lost for s in sides) == 30
    assert {s.label_id for s in sides} == {99_000_101, 99_000_102}


def test_detect_all_twice_keeps_ids(db: Database) -> None:
    side_a, side_b = two_fleets()
    insert_kills(db, brawl(side_a, side_b, kills=30))
    detect_all(db)
    first = members(db)
    summary = detect_all(db)
    assert members(db) == first
    assert summary.created == 0
    assert summary.deleted == 0


def test_open_battle_grows(db: Database) -> None:
    """Kills of a fight still going on extend the same battle, not a new one."""
    base = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40, base=base)
    import_batch(db, kills[:20])
    (battle,) = list_battles(db)
    assert battle.ongoing
    import_batch(db, kills[20:])
    (grown,) = list_battles(db)
    assert grown.battle_id == battle.battle_id
    assert grown.kills == 40
    assert grown.changed is False


def test_straggler_marks_closed_battle_changed(db: Database) -> None:
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=30)
    import_batch(db, kills)
    (battle,) = list_battles(db)
    assert battle.changed is False
    # The battle was stored a quiet period of wall-clock time ago.
    db.execute("UPDATE battles SET updated_at = now() - interval '31 minutes'")
    straggler = kill(16, side_a[0], side_b)
    import_batch(db, [straggler])
    (updated,) = list_battles(db)
    assert updated.battle_id == battle.battle_id
    assert updated.kills == 31
    assert updated.changed is True


def test_unordered_batches_of_one_import_not_changed(db: Database) -> None:
    """Old kills of one import that arrive out of time order are no straggler."""
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40)
    shuffled = kills[:]
    random.Random(7).shuffle(shuffled)
    for start in range(0, len(shuffled), 8):
        import_batch(db, shuffled[start : start + 8])
    (battle,) = list_battles(db)
    assert battle.kills == 40
    assert battle.changed is False


def test_incremental_matches_full_rebuild(db: Database) -> None:
    """Importing in small batches gives the same battles as one rebuild."""
    insert_static(db)
    side_a, side_b = two_fleets()
    side_c, side_d = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=20, start=5, system=PERIMETER)
    kills += brawl(side_c, side_d, kills=30, start=120)
    kills.sort(key=lambda k: k.killmail_time)
    for start in range(0, len(kills), 7):
        import_batch(db, kills[start : start + 7])
    incremental = sorted(members(db).values(), key=min)
    detect_all(db)
    full = sorted(members(db).values(), key=min)
    assert incremental == full
    assert len(full) == 2


def snapshot(db: Database) -> list[tuple[object, ...]]:
    """Return every stored battle with its members, sides, entities and pieces.

    Battle ids are left out, so two detections that assigned ids in another
    order compare equal when they found the same battles.
    """
    rows = db.fetch_all(
        """
        SELECT b.start_time, b.end_time, b.solar_system_ids, b.region_ids,
               b.kills, b.pilots, b.isk_destroyed, b.side_count, b.kind,
               b.confidence, b.metrics::text,
               (SELECT array_agg(ARRAY[m.killmail_id, m.side_no, m.piece_id]
                                 ORDER BY m.killmail_id)
                FROM battle_killmails m WHERE m.battle_id = b.battle_id),
               (SELECT array_agg(ARRAY[s.side_no, s.pilots, s.ships_lost]
                                 ORDER BY s.side_no)
                FROM battle_sides s WHERE s.battle_id = b.battle_id),
               (SELECT array_agg(e.entity_kind || ':' || e.entity_id || ':'
                                 || e.side_no || ':' || e.reason
                                 ORDER BY e.entity_kind, e.entity_id)
                FROM battle_entities e WHERE e.battle_id = b.battle_id),
               (SELECT array_agg(p.piece_id::text || ':' || p.solar_system_id
                                 || ':' || p.start_time || ':' || p.end_time
                                 || ':' || p.pilots::text ORDER BY p.piece_id)
                FROM battle_pieces p WHERE p.battle_id = b.battle_id)
        FROM battles b
        """
    )
    return sorted(rows, key=lambda row: row[11][0][0])


def test_incremental_matches_full_rebuild_in_detail(db: Database) -> None:
    """Batches out of time order end in exactly the battles of one rebuild.

    Kills that make the quiet hour between two fights in Jita active join
    their windows into one once they arrive, and fights in neighbouring
    systems share pilots with fights in Jita.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    side_c, side_d = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=30, start=95, system=JITA)
    kills += brawl(side_a, side_b, kills=40, start=35, every=1.0, system=JITA)
    kills += brawl(side_a, side_b, kills=24, start=8, system=PERIMETER)
    kills += brawl(side_c, side_d, kills=30, start=240)
    kills += brawl(side_c, side_d, kills=20, start=250, system=NEW_CALDARI)
    random.Random(7).shuffle(kills)
    for start in range(0, len(kills), 11):
        import_batch(db, kills[start : start + 11])
    incremental = snapshot(db)
    db.execute("DELETE FROM battles")
    detect_all(db)
    full = snapshot(db)
    assert len(full) >= 2
    assert incremental == full


def test_migration_puts_busiest_system_first(db: Database) -> None:
    """Battles stored with their systems in id order get the busiest first."""
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=20, system=JITA)
    kills += brawl(side_a, side_b, kills=30, start=5, system=PERIMETER)
    import_batch(db, kills)
    expected = [PERIMETER, JITA]
    assert db.fetch_value("SELECT solar_system_ids FROM battles") == expected
    db.execute(
        "UPDATE battles SET solar_system_ids = %(old)s,"
        " metrics = jsonb_set(metrics, '{solar_system_ids}', to_jsonb(%(old)s))",
        {"old": sorted(expected)},
    )
    migration = resources.files("evedmv_tui.store.migrations").joinpath(
        "0214_battle_systems_by_kills.sql"
    )
    db.execute(migration.read_text())
    assert db.fetch_one(
        "SELECT solar_system_ids, metrics -> 'solar_system_ids' FROM battles"
    ) == (expected, expected)


def test_timeline_bins_count_from_start(db: Database) -> None:
    """The exported timeline's start was cut to the whole minute while its
    bins counted from the first kill, so a reader that put minute i at
    start + i minutes moved kills up to 59 s earlier."""
    insert_static(db)
    side_a, side_b = two_fleets()
    # The first kill falls at 18:00:30, and later kills every 45 s.
    import_batch(db, brawl(side_a, side_b, kills=20, start=0.5, every=0.75))
    (battle,) = list_battles(db)
    document = report_document(load_report(db, battle.battle_id))
    timeline = document["timeline"]
    start = dt.datetime.fromisoformat(timeline["start"])
    assert start == dt.datetime.fromisoformat(document["start"])
    assert start.second == 30
    counted: dict[str, list[int]] = {}
    for killmail in document["killmails"]:
        bins = counted.setdefault(str(killmail["side"]), [0] * timeline["minutes"])
        elapsed = dt.datetime.fromisoformat(killmail["time"]) - start
        bins[int(elapsed.total_seconds() // 60)] += 1
    assert timeline["kills"] == counted


def test_migration_sets_exact_timeline_start(db: Database) -> None:
    """Battles stored with the timeline's start cut to the minute get the
    first kill's exact time, which their bins count from."""
    insert_static(db)
    side_a, side_b = two_fleets()
    import_batch(db, brawl(side_a, side_b, kills=20, start=0.5))
    first = "2021-11-27T18:00:30+00:00"
    assert db.fetch_value("SELECT metrics ->> 'start' FROM battles") == first
    db.execute(
        "UPDATE battles SET metrics = jsonb_set("
        "metrics, '{timeline,start}', '\"2021-11-27T18:00:00+00:00\"')"
    )
    migration = resources.files("evedmv_tui.store.migrations").joinpath(
        "0216_battle_timeline_start.sql"
    )
    db.execute(migration.read_text())
    stored = db.fetch_value("SELECT metrics -> 'timeline' ->> 'start' FROM battles")
    assert stored == first


def stored_rows(db: Database) -> dict[str, list[str]]:
    """Return every row of the battle tables as JSON text, battle ids included."""
    found = {}
    for table in (
        "battles",
        "battle_killmails",
        "battle_sides",
        "battle_entities",
        "battle_pieces",
    ):
        found[table] = [
            row[0]
            for row in db.fetch_all(
                f"SELECT (to_jsonb(t) - 'created_at' - 'updated_at')::text AS row"
                f" FROM {table} t ORDER BY row"
            )
        ]
    return found


def test_pooled_rows_match_one_process(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows built by worker processes are those built in this process.

    Chunks of a few battles each go to two forked workers, and one battle has
    a side override, so the workers must see the clusters, pieces and
    overrides of this process and return every row in full.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    side_c, side_d = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=20, start=5, system=PERIMETER)
    kills += brawl(side_c, side_d, kills=30, start=120)
    kills += brawl(side_a, side_d, kills=25, start=300, system=NEW_CALDARI)
    kills += brawl(side_c, side_b, kills=25, start=480, system=JITA)
    insert_kills(db, kills)
    detect_all(db, workers=1)
    battle = min(list_battles(db), key=lambda b: b.start_time)
    move_entity(db, battle.battle_id, "corporation", 98_000_102, None)
    single = stored_rows(db)
    chunks: list[tuple[int, int]] = []
    split = battle_rows._chunks

    def recorded(*args: Any) -> Iterator[tuple[int, int]]:
        for bounds in split(*args):
            chunks.append(bounds)
            yield bounds

    monkeypatch.setattr(battle_rows, "POOL_MIN_KILLS", 0)
    monkeypatch.setattr(battle_rows, "CHUNK_KILLS", 20)
    monkeypatch.setattr(battle_rows, "_chunks", recorded)
    detect_all(db, workers=2)
    pooled = stored_rows(db)
    assert len(chunks) >= 3
    assert len(single["battles"]) == 4
    assert any('"overridden": true' in row for row in single["battle_entities"])
    for table, rows in single.items():
        assert pooled[table] == rows, table


def test_chunked_reads_match_one_read(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows read in chunks over two connections give the rows of one read.

    With one window per chunk, every other chunk is read by the second
    connection on the snapshot of the detection's transaction, and the
    pieces must still come in the order of one read.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    side_c, side_d = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=20, start=5, system=PERIMETER)
    kills += brawl(side_c, side_d, kills=30, start=120)
    kills += brawl(side_a, side_d, kills=25, start=300, system=NEW_CALDARI)
    kills += brawl(side_c, side_b, kills=25, start=480, system=JITA)
    insert_kills(db, kills)
    detect_all(db, workers=1)
    one_read = stored_rows(db)
    readers: list[object] = []
    open_reader = battle_detect._snapshot_reader

    def recorded(*args: Any) -> Any:
        readers.append(args)
        return open_reader(*args)

    monkeypatch.setattr(battle_detect, "_WINDOWS_PER_READ", 1)
    monkeypatch.setattr(battle_detect, "_snapshot_reader", recorded)
    detect_all(db, workers=1)
    chunked = stored_rows(db)
    assert len(readers) == 1
    assert len(one_read["battle_pieces"]) >= 4
    for table, rows in one_read.items():
        assert chunked[table] == rows, table


def test_chunked_reads_without_second_connection(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second connection that cannot be opened leaves the reads to one."""
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=20, start=5, system=PERIMETER)
    insert_kills(db, kills)
    detect_all(db, workers=1)
    one_read = stored_rows(db)

    attempts: list[object] = []

    def unreachable(*args: Any) -> Any:
        attempts.append(args)
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(battle_detect, "_WINDOWS_PER_READ", 1)
    monkeypatch.setattr(battle_detect, "_snapshot_reader", unreachable)
    detect_all(db, workers=1)
    assert len(attempts) == 1
    assert stored_rows(db) == one_read


def test_pool_size_defaults_to_cores() -> None:
    assert battle_rows.pool_size(None) >= 1
    assert battle_rows.pool_size(0) == 1
    assert battle_rows.pool_size(3) == 3


def test_incremental_reads_whole_long_window(db: Database) -> None:
    """A straggler at the end of a long fight rebuilds the whole window.

    The fight lasts more than three hours, longer than the first range of
    segment counts read around a batch, so a window cut at that range would
    drop the fight's early kills from the battle.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=400, system=JITA)
    import_batch(db, kills[:-1])
    import_batch(db, kills[-1:])
    incremental = snapshot(db)
    db.execute("DELETE FROM battles")
    detect_all(db)
    assert incremental == snapshot(db)
    assert len(incremental) == 1


def test_incremental_links_stored_battle(db: Database) -> None:
    """A new fight next door that shares pilots joins the stored battle."""
    insert_static(db)
    side_a, side_b = two_fleets()
    import_batch(db, brawl(side_a, side_b, kills=40, system=JITA))
    import_batch(db, brawl(side_a, side_b, kills=24, start=8, system=PERIMETER))
    incremental = snapshot(db)
    db.execute("DELETE FROM battles")
    detect_all(db)
    assert incremental == snapshot(db)
    assert len(incremental) == 1


def test_incremental_after_battles_without_pieces(db: Database) -> None:
    """Battles stored before pieces were recorded still update correctly.

    Their members have no piece, so the next batch takes the older path that
    rereads whole stored battles, and the rewritten ones get their pieces.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=20, start=5, system=PERIMETER)
    insert_kills(db, kills[:-10])
    detect_all(db)
    db.execute("UPDATE battle_killmails SET piece_id = NULL")
    db.execute("DELETE FROM battle_pieces")
    import_batch(db, kills[-10:])
    incremental = [sorted(kills) for kills in members(db).values()]
    pieceless = db.fetch_value(
        "SELECT count(*) FROM battle_killmails WHERE piece_id IS NULL"
    )
    detect_all(db)
    assert incremental == [sorted(kills) for kills in members(db).values()]
    assert pieceless == 0


def test_pieces_cover_members(db: Database) -> None:
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=20, start=5, system=PERIMETER)
    insert_kills(db, kills)
    detect_all(db)
    rows = db.fetch_all(
        """
        SELECT p.solar_system_id, count(*), min(m.killmail_time) = p.start_time,
               max(m.killmail_time) = p.end_time
        FROM battle_pieces p
        JOIN battle_killmails m USING (piece_id)
        WHERE m.battle_id = p.battle_id
        GROUP BY p.piece_id
        ORDER BY 1
        """
    )
    assert rows == [(JITA, 40, True, True), (PERIMETER, 20, True, True)]


def test_override_survives_rebuild_and_new_kills(db: Database) -> None:
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=30)
    import_batch(db, kills)
    (battle,) = list_battles(db)
    report = load_report(db, battle.battle_id)
    side_of = {e.entity_id: e.side_no for e in report.entities}
    target = side_of[99_000_102]
    move_entity(db, battle.battle_id, "corporation", 98_000_102, target)

    def corporation_side() -> tuple[int, int, bool]:
        rows = load_report(db, battle.battle_id).entities
        corp = next(e for e in rows if e.entity_id == 98_000_102)
        enemy = next(e for e in rows if e.entity_id == 99_000_102)
        return corp.side_no, enemy.side_no, corp.overridden

    corp_side, enemy_side, overridden = corporation_side()
    assert corp_side == enemy_side
    assert overridden
    detect_all(db)
    assert corporation_side()[0] == corporation_side()[1]
    import_batch(db, [kill(16, side_b[0], side_a[:3])])
    corp_side, enemy_side, overridden = corporation_side()
    assert corp_side == enemy_side
    assert overridden
    clear_overrides(db, battle.battle_id)
    corp_side, enemy_side, overridden = corporation_side()
    assert corp_side != enemy_side
    assert not overridden


def test_move_back_to_detected_side_is_not_marked(db: Database) -> None:
    """Moving an entity back to the side detection gave it drops the mark
    and the user's reason, as if it had never been moved."""
    side_a, side_b = two_fleets()
    import_batch(db, brawl(side_a, side_b, kills=30))
    (battle,) = list_battles(db)

    def corporation() -> tuple[int, bool, str]:
        rows = load_report(db, battle.battle_id).entities
        corp = next(e for e in rows if e.entity_id == 98_000_102)
        return corp.side_no, corp.overridden, corp.reason

    def side_of(entity_id: int) -> int:
        rows = load_report(db, battle.battle_id).entities
        return next(e.side_no for e in rows if e.entity_id == entity_id)

    # Sides are renumbered after each move, so they are compared by who is on
    # them: the corporation's own alliance and the enemy alliance.
    detected_side, _, detected_reason = corporation()
    move_entity(db, battle.battle_id, "corporation", 98_000_102, side_of(99_000_102))
    moved_side, overridden, _ = corporation()
    assert moved_side == side_of(99_000_102)
    assert overridden

    own_side = side_of(99_000_101)
    move_entity(db, battle.battle_id, "corporation", 98_000_102, own_side)
    side_no, overridden, reason = corporation()
    assert side_no == detected_side
    assert not overridden
    assert reason == detected_reason


def test_move_to_new_side(db: Database) -> None:
    side_a, side_b = two_fleets()
    import_batch(db, brawl(side_a, side_b, kills=30))
    (battle,) = list_battles(db)
    move_entity(db, battle.battle_id, "corporation", 98_000_102, None)
    (moved,) = list_battles(db)
    assert moved.side_count == 3


def test_report_statement_count_is_bounded(db: Database) -> None:
    """Opening a report costs the same statements for 20 kills as for 400."""
    insert_static(db)
    small_a, small_b = two_fleets()
    big_a = fleet(60, 98_000_201, 99_000_201)
    big_b = fleet(60, 98_000_202, 99_000_202)
    insert_kills(db, brawl(small_a, small_b, kills=20))
    insert_kills(db, brawl(big_a, big_b, kills=400, start=300, every=0.2))
    detect_all(db)
    battles = sorted(list_battles(db), key=lambda b: b.kills)
    assert [b.kills for b in battles] == [20, 400]
    counts = []
    for battle in battles:
        with count_statements(db.telemetry) as counted:
            report = load_report(db, battle.battle_id)
        assert len(report.killmails) == battle.kills
        counts.append(counted[0])
    assert counts[0] == counts[1]
    assert counts[1] <= 7


def test_report_metrics_by_class_and_role(db: Database) -> None:
    insert_static(db)
    logi = Pilot(90_500_001, 98_000_301, 99_000_301, SCIMITAR)
    side_a = [*fleet(8, 98_000_301, 99_000_301), logi]
    battleships = [
        dataclasses.replace(p, ship_type_id=RAVEN)
        for p in fleet(8, 98_000_302, 99_000_302)
    ]
    kills = brawl(side_a, battleships, kills=30)
    kills.append(kill(15.2, logi, battleships, value=250_000_000.0, dropped=5e7))
    insert_kills(db, kills)
    detect_all(db)
    (battle,) = list_battles(db)
    report = load_report(db, battle.battle_id)
    rows = {row["side"]: row for row in report.sides}
    a = rows[next(e.side_no for e in report.entities if e.entity_id == 99_000_301)]
    b = rows[next(e.side_no for e in report.entities if e.entity_id == 99_000_302)]
    # The brawl already killed the logistics pilot once before the last kill,
    # so he fielded a second Scimitar.
    assert a["roles_present"] == {"logistics": 2}
    assert a["roles_lost"] == {"logistics": 2}
    assert a["ships_lost_by_class"]["cruiser"] == 2
    # Side B's 8 pilots lost 15 Ravens, each a hull of its own.
    assert b["ships_fielded_by_class"] == {"battleship": 15}
    assert a["loot_dropped"] == pytest.approx(5e7)
    assert a["pilots"] == 9
    assert a["isk_lost"] == pytest.approx(15 * 1e7 + 2.5e8)
    assert b["isk_destroyed"] == pytest.approx(a["isk_lost"])
    efficiency = b["isk_destroyed"] / (b["isk_destroyed"] + b["isk_lost"])
    assert b["efficiency"] == pytest.approx(efficiency)
    assert b["top_final_blows"][0][1] >= 1
    timeline = report.metrics["timeline"]
    assert sum(sum(v) for v in timeline["kills"].values()) == 31
    assert report.type_names[RAVEN] == "Raven"
    assert report.system_label == "Jita"
    # Places the static data lacks read as #id, like other unnamed ids.
    unnamed = dataclasses.replace(report, system_names={}, region_names={})
    assert unnamed.system_label == ", ".join(f"#{s}" for s in report.solar_system_ids)
    assert unnamed.region_label == ", ".join(f"#{r}" for r in report.region_ids)
    assert unnamed.region_label.startswith("#")


def test_pilot_who_reships_counts_once(db: Database) -> None:
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=30)
    reshipped = dataclasses.replace(side_a[0], ship_type_id=RAVEN)
    kills += [kill(15 + i * 0.1, side_b[i], [reshipped]) for i in range(3)]
    insert_kills(db, kills)
    detect_all(db)
    (battle,) = list_battles(db)
    report = load_report(db, battle.battle_id)
    side = next(row for row in report.sides if row["pilots"] == len(side_a))
    # Each of side A's 15 losses in the brawl was a Rifter of its own, which
    # covers every pilot's first Rifter, and the first pilot adds a Raven.
    assert side["ships_lost"] == 15
    assert side["ships_fielded"] == 15 + 1


def test_list_filters(db: Database) -> None:
    insert_static(db)
    side_a, side_b = two_fleets()
    insert_kills(db, brawl(side_a, side_b, kills=30))
    insert_kills(db, brawl(side_a, side_b, kills=12, start=300, system=PERIMETER))
    detect_all(db)
    assert len(list_battles(db)) == 2
    assert len(list_battles(db, BattleFilter(system="perimeter"))) == 1
    assert len(list_battles(db, BattleFilter(system=str(JITA)))) == 1
    assert len(list_battles(db, BattleFilter(min_kills=20))) == 1
    assert len(list_battles(db, BattleFilter(region="The Forge"))) == 2
    assert list_battles(db, BattleFilter(region="Domain")) == []
    late = list_battles(
        db, BattleFilter(since=dt.datetime(2021, 11, 27, 22, tzinfo=dt.UTC))
    )
    assert [b.kills for b in late] == [12]


def test_missing_battle_raises(db: Database) -> None:
    with pytest.raises(BattleNotFound):
        load_report(db, 12345)


def test_parameters_round_trip(db: Database) -> None:
    assert load_parameters(db) == BattleParameters()
    changed = parse_parameters({"quiet_minutes": "45"}, source="test")
    save_parameters(db, changed)
    assert load_parameters(db).quiet_minutes == 45


def test_parameters_reject_bad_values() -> None:
    with pytest.raises(ConfigError, match="unknown parameter"):
        parse_parameters({"quiet": 3}, source="test")
    with pytest.raises(ConfigError, match="must be positive"):
        parse_parameters({"quiet_minutes": 0}, source="test")
    with pytest.raises(ConfigError, match="'x' is not a whole number") as error:
        parse_parameters({"quiet_minutes": "x"}, source="test")
    assert error.value.hint == (
        "give quiet_minutes a whole number, for example quiet_minutes=30"
    )
    with pytest.raises(ConfigError, match=r"'1\.5' is not a whole number"):
        parse_parameters({"quiet_minutes": "1.5"}, source="test")
    with pytest.raises(ConfigError, match="'x' is not a number") as error:
        parse_parameters({"one_sided_ratio": "x"}, source="test")
    assert error.value.hint == (
        "give one_sided_ratio a number, for example one_sided_ratio=0.05"
    )


@pytest.mark.parametrize(
    ("name", "raw", "shown"),
    [
        ("quiet_minutes", 2.7, "2.7"),
        ("quiet_minutes", True, "True"),
        ("quiet_minutes", "nan", "'nan'"),
        ("one_sided_ratio", float("nan"), "nan"),
        ("one_sided_ratio", "nan", "'nan'"),
        ("one_sided_ratio", float("inf"), "inf"),
        ("one_sided_ratio", True, "True"),
        ("negligible_damage_share", False, "False"),
    ],
)
def test_parameters_reject_nan_bool_fraction(
    name: str, raw: object, shown: str
) -> None:
    expected = "a whole number" if name == "quiet_minutes" else "a number"
    with pytest.raises(ConfigError) as error:
        parse_parameters({name: raw}, source="test")
    assert error.value.message == f"test: {name}={shown} is not {expected}"
    assert error.value.hint.startswith(f"give {name} {expected}, for example")


def test_parameters_accept_whole_float() -> None:
    changed = parse_parameters(
        {"quiet_minutes": 45.0, "one_sided_ratio": 1}, source="test"
    )
    assert changed.quiet_minutes == 45
    assert type(changed.quiet_minutes) is int
    assert changed.one_sided_ratio == 1.0
