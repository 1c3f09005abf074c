"""Incremental detection: rebuilt windows, cached static data, batched reads."""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any

import pytest

from evedmv_tui.battles import detect
from evedmv_tui.battles.cluster import neighbourhoods
from evedmv_tui.battles.detect import detect_all, detect_range, on_batch
from evedmv_tui.battles.incremental import Read, fetch_together, record_row
from evedmv_tui.battles.rows import BattleRows, StoredRows, _as_real, row_changes
from evedmv_tui.battles.static import JumpGraph, static_data
from evedmv_tui.store.db import Database, NamedSql
from tests.test_battle_fixtures import (
    AMARR,
    JITA,
    PERIMETER,
    brawl,
    fleet,
    insert_kills,
    insert_static,
    kill,
)
from tests.test_battles_detect import batch_of, snapshot, stored_rows, two_fleets


def test_jump_graph_matches_neighbourhoods() -> None:
    """Memoized neighbourhoods equal those built from the jump list.

    Callers treat a missing system and an empty neighbourhood alike, and
    ``neighbourhoods`` returns empty ones for some systems without an
    outgoing jump, so only the non-empty ones are compared.
    """
    rng = random.Random(3)
    jumps = [(rng.randrange(40), rng.randrange(40)) for _ in range(90)]
    graph = JumpGraph(jumps)
    reversed_jumps = [*jumps, *((b, a) for a, b in jumps)]
    systems = set(range(45))

    def non_empty(found: dict[int, frozenset[int]]) -> dict[int, frozenset[int]]:
        return {system: near for system, near in found.items() if near}

    for max_jumps in (1, 3):
        expected = non_empty(neighbourhoods(jumps, systems, max_jumps))
        assert expected
        assert non_empty(graph.neighbourhoods(systems, max_jumps)) == expected
        # A second call returns memoized sets, which must be the same.
        assert non_empty(graph.neighbourhoods(systems, max_jumps)) == expected
        both = non_empty(neighbourhoods(reversed_jumps, systems, max_jumps))
        found = graph.neighbourhoods(systems, max_jumps, both_ways=True)
        assert non_empty(found) == both


def test_static_data_reused_until_changed(db: Database) -> None:
    insert_static(db)
    with db.connection() as conn:
        first = static_data(db, conn)
        again = static_data(db, conn)
    assert again is first
    assert first.regions[JITA] == 10000002
    db.execute("INSERT INTO stargate_jumps VALUES (30000142, 30002187)")
    with db.connection() as conn:
        changed = static_data(db, conn)
    assert changed is not first
    assert AMARR in changed.jumps.neighbourhoods([JITA], 1)[JITA]


def test_new_gate_merges_battles(db: Database) -> None:
    """Detection after a gate import uses the new gate, not a cached graph.

    Two fights in Jita and Amarr share pilots at the same time. Without a
    gate between the systems they are two battles, and once the gate is
    stored they are one.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=30, system=JITA)
    kills += brawl(side_a, side_b, kills=20, start=3, system=AMARR)
    insert_kills(db, kills)
    assert detect_all(db).battles == 2
    db.execute(
        "INSERT INTO stargate_jumps VALUES (30000142, 30002187), (30002187, 30000142)"
    )
    assert detect_all(db).battles == 1


def test_batch_skips_window_without_new_kills(db: Database) -> None:
    """A window inside the batch's time range but without its kills is kept.

    The batch contains a lone kill before an early fight in Jita and a
    straggler of a later fight there. Only the later fight's window gains a
    kill, so only its kills are read, and the result still equals a full
    detection.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    early = brawl(side_a, side_b, kills=40, system=JITA)
    late = brawl(side_a, side_b, kills=40, start=240, system=JITA)
    insert_kills(db, early + late)
    detect_all(db)
    lone = kill(-120, side_a[0], [side_b[0]])
    straggler = kill(250.2, side_b[1], side_a[:3])
    batch = [lone, straggler]
    insert_kills(db, batch)
    result = batch_of(batch)
    assert result.min_time is not None and result.max_time is not None
    summary = detect_range(
        db,
        result.solar_system_ids,
        result.min_time,
        result.max_time,
        touched=result.killmail_ids,
    )
    assert summary.kills_read == len(late) + 1
    assert summary.battles == 1
    incremental = snapshot(db)
    db.execute("DELETE FROM battles")
    detect_all(db)
    assert incremental == snapshot(db)
    assert len(incremental) == 2


def test_range_without_touched_matches_full(db: Database) -> None:
    """Reclustering a range without naming the new kills finds them all."""
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=24, start=8, system=PERIMETER)
    insert_kills(db, kills[:30])
    detect_all(db)
    insert_kills(db, kills[30:])
    summary = detect_range(
        db,
        [JITA, PERIMETER],
        min(k.killmail_time for k in kills[30:]),
        max(k.killmail_time for k in kills[30:]),
    )
    assert summary.battles == 1
    ranged = snapshot(db)
    db.execute("DELETE FROM battles")
    detect_all(db)
    assert ranged == snapshot(db)


def test_battles_grow_over_many_batches(db: Database) -> None:
    """Small batches in time order end in the battles of one full detection.

    Third parties join the fights in Jita and Perimeter, so engagements
    split and merge as the batches arrive.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    third = fleet(4, 98_000_104, None)
    kills = brawl(side_a, side_b, kills=60, system=JITA, every=0.7)
    kills += brawl(side_a, third, kills=20, start=10, system=JITA)
    kills += brawl(side_a, side_b, kills=30, start=20, system=PERIMETER)
    kills.sort(key=lambda k: (k.killmail_time, k.killmail_id))
    for start in range(0, len(kills), 9):
        insert_kills(db, kills[start : start + 9])
        on_batch(db, batch_of(kills[start : start + 9]))
    incremental = snapshot(db)
    db.execute("DELETE FROM battles")
    detect_all(db)
    assert incremental == snapshot(db)


@dataclasses.dataclass(frozen=True, slots=True)
class _Pair:
    number: int
    label: str


def test_fetch_together_returns_rows_of_each_read(db: Database) -> None:
    numbers = NamedSql("test.numbers", "SELECT generate_series(1, %s)")
    pairs = NamedSql("test.pairs", "SELECT 7 AS number, 'seven' AS label")
    with db.connection() as conn:
        found = fetch_together(
            db, conn, [Read(numbers, (3,)), Read(pairs, None, row=_Pair)]
        )
    assert found == [[(1,), (2,), (3,)], [_Pair(7, "seven")]]


def test_record_row_rejects_columns_out_of_order(db: Database) -> None:
    factory = record_row(_Pair)
    with (
        db.connection() as conn,
        conn.cursor(row_factory=factory) as cur,
        pytest.raises(TypeError, match="do not match"),
    ):
        cur.execute("SELECT 'seven' AS label, 7 AS number")


def test_full_detection_in_chunks_matches_one_read(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading windows in chunks on a second thread finds the same battles.

    One window per chunk splits the fights in Jita and Perimeter, which merge
    into one battle, across reads.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    kills += brawl(side_a, side_b, kills=24, start=8, system=PERIMETER)
    kills += brawl(side_a, side_b, kills=30, start=300, system=JITA)
    insert_kills(db, kills)
    whole = detect_all(db)
    expected = snapshot(db)
    db.execute("DELETE FROM battles")
    monkeypatch.setattr(detect, "_WINDOWS_PER_READ", 1)
    chunked = detect_all(db)
    assert chunked.kills_read == whole.kills_read
    assert chunked.battles == 2
    assert snapshot(db) == expected


def member_versions(db: Database) -> dict[int, str]:
    """Return the ``xmin`` of each member row, which changes when it is rewritten."""
    return dict(db.fetch_all("SELECT killmail_id, xmin::text FROM battle_killmails"))


def row_versions(db: Database) -> dict[str, list[str]]:
    """Return the ``xmin`` of every member, side, entity and piece row."""
    return {
        table: [
            row[0]
            for row in db.fetch_all(
                f"SELECT xmin::text AS version FROM {table} ORDER BY ctid"
            )
        ]
        for table in (
            "battle_killmails",
            "battle_sides",
            "battle_entities",
            "battle_pieces",
        )
    }


def test_batch_writes_only_changed_rows(db: Database) -> None:
    """A straggler that changes no side leaves the other members untouched.

    The batch rewrites the battle, but its other members have the same
    values as stored, so only the new kill's member row is written.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    insert_kills(db, kills)
    detect_all(db)
    before = member_versions(db)
    straggler = kill(20.2, side_b[2], side_a[:4])
    insert_kills(db, [straggler])
    on_batch(db, batch_of([straggler]))
    after = member_versions(db)
    rewritten = {k for k, version in after.items() if before.get(k) != version}
    assert rewritten == {straggler.killmail_id}
    # The same batch again rewrites the battle with the values it has, so no
    # row is written, not even an entity whose confidence is stored as real.
    versions = row_versions(db)
    on_batch(db, batch_of([straggler]))
    assert row_versions(db) == versions
    assert len(versions["battle_entities"]) > 0
    incremental = stored_rows(db)
    detect_all(db)
    assert stored_rows(db) == incremental


def member_row(rows: dict[str, list[str]], killmail_id: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        json.loads(row)
        for row in rows["battle_killmails"]
        if json.loads(row)["killmail_id"] == killmail_id
    ]
    assert len(found) == 1
    return found[0]


def test_batch_repairs_rows_that_differ(db: Database) -> None:
    """Stored rows of a rewritten battle that differ from detection are rewritten.

    Each table gets one row with a value that detection would not write,
    including a confidence that differs from the detected one in single
    precision only. After the next batch the rows are those of a full
    detection again.
    """
    insert_static(db)
    side_a, side_b = two_fleets()
    kills = brawl(side_a, side_b, kills=40, system=JITA)
    insert_kills(db, kills)
    detect_all(db)
    expected = stored_rows(db)
    first = kills[0].killmail_id
    db.execute(
        "UPDATE battle_killmails SET total_value = 1, side_no = NULL"
        " WHERE killmail_id = %s",
        (first,),
    )
    db.execute(
        "UPDATE battle_entities SET confidence = confidence::float8 * 0.999999"
        " WHERE (entity_kind, entity_id) IN"
        " (SELECT entity_kind, entity_id FROM battle_entities LIMIT 1)"
    )
    db.execute("UPDATE battle_sides SET pilots = 0 WHERE side_no = 1")
    db.execute("UPDATE battle_pieces SET pilots = '{}'")
    db.execute(
        "INSERT INTO battle_sides (battle_id, side_no, pilots, ships_lost,"
        " isk_lost, isk_destroyed, efficiency, third_party)"
        " SELECT battle_id, 9, 0, 0, 0, 0, NULL, false FROM battles"
    )
    assert stored_rows(db) != expected
    straggler = kill(20.2, side_b[2], side_a[:4])
    insert_kills(db, [straggler])
    on_batch(db, batch_of([straggler]))
    incremental = stored_rows(db)
    assert member_row(incremental, first) == member_row(expected, first)
    assert not any('"side_no": 9' in row for row in incremental["battle_sides"])
    detect_all(db)
    assert stored_rows(db) == incremental


def test_single_precision_rounding() -> None:
    """Doubles halfway between two single-precision values are unknown."""
    assert _as_real(0.5) == 0.5
    assert _as_real(2 / 3) == 0.6666666865348816
    assert _as_real(0.5 + 2**-26) == 0.5
    assert _as_real(0.5 + 2**-25) is None


def test_row_changes_compare_real_in_single_precision() -> None:
    """An entity whose confidence rounds to the stored real is not rewritten.

    psycopg reads a real as the double of its shortest text, which differs
    from the double that detection computed. So only the single-precision
    values tell whether the row changed.
    """
    stored_entity = (
        7,
        "alliance",
        99,
        None,
        1,
        2.0,
        0.5,
        float("0.9653101"),
        "r",
        False,
    )
    same = (7, "alliance", 99, None, 1, 2.0, 0.5, 0.9653100823757419, "r", False)
    other = (7, "alliance", 99, None, 1, 2.0, 0.5, 0.96531, "r", False)
    stored = StoredRows({}, {}, {(7, "alliance", 99): stored_entity}, {})
    kept = row_changes(stored, {7}, BattleRows(entities=[same]))
    assert kept.entities == []
    assert kept.inserts.entities == []
    changed = row_changes(stored, {7}, BattleRows(entities=[other]))
    assert changed.entities == [(7, "alliance", 99)]
    assert changed.inserts.entities == [other]
    gone = row_changes(stored, {7}, BattleRows())
    assert gone.entities == [(7, "alliance", 99)]
    untouched = row_changes(stored, {8}, BattleRows())
    assert untouched.entities == []
