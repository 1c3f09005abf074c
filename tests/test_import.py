"""The importer against the real PostgreSQL: counts, idempotence, real shapes."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from evedmv_tui.cli import main
from evedmv_tui.commands.ingest import describe_reject
from evedmv_tui.generate import generate_killmails
from evedmv_tui.generate.universe import builtin_static_tables
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.importer import import_paths, import_records
from evedmv_tui.ingest.rejects import RejectRow
from evedmv_tui.ingest.sources import InputError
from evedmv_tui.sde import load_tables
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import _create_database, _drop_database, shared_file

JSONL_SETS = {
    "killmails/real/everef_cluster_samples.jsonl": 830,
    "killmails/real/zkb_api_2018-05-19.jsonl": 1000,
    "killmails/real/zk_activity_fixtures.jsonl": 16,
    "killmails/real/evekill_shrike_corpus.jsonl": 106,
}
FEEDS = [
    "killmails/feeds/redisq_package_119455394.json",
    "killmails/feeds/r2z2_shrike_testdata_900001.json",
    "killmails/feeds/r2z2_shrike_testdata_900002.json",
    "killmails/feeds/zkb_api_moldenheath_npc.json",
    "killmails/feeds/zkb_api_shipTypeID-34495_regionID-10000028.json",
    "killmails/real/esi_killmail_seb-odessa.json",
]
KEEPSTAR = 131126432
ASTRAHUS = 115787551


def _count(db: Database, sql: str, params: Any = None) -> int:
    return int(db.fetch_value(sql, params))


def _table_counts(db: Database) -> tuple[int, ...]:
    return tuple(
        _count(db, f"SELECT count(*) FROM {table}")
        for table in ("killmail_index", "killmails", "attackers", "items")
    )


def _lines(relative: str) -> list[bytes]:
    return shared_file(relative).read_bytes().splitlines()


def _unique_ids(relatives: list[str]) -> set[int]:
    ids: set[int] = set()
    for relative in relatives:
        for line in _lines(relative):
            document = json.loads(line)
            ids.add(document.get("killID") or document["killmail_id"])
    return ids


@pytest.fixture(scope="module")
def real_sets(pg_cluster: PrivateCluster) -> Iterator[Database]:
    """A database of this module with every JSON Lines set imported once.

    Tests that use it only read, or import what is already there.
    """
    name = _create_database(pg_cluster)
    database = Database(pg_cluster.url(name), telemetry=Telemetry())
    try:
        paths = [shared_file(relative) for relative in JSONL_SETS]
        summary = import_paths(database, paths, offline=True)
        assert summary.rejected == 0
        yield database
    finally:
        database.close()
        _drop_database(pg_cluster, name)


def test_jsonl_sets_counts(db: Database) -> None:
    paths = [shared_file(relative) for relative in JSONL_SETS]
    summary = import_paths(db, paths, offline=True)
    unique = _unique_ids(list(JSONL_SETS))
    assert summary.read == sum(JSONL_SETS.values())
    assert summary.rejected == 0
    assert summary.inserted == len(unique)
    assert summary.duplicates == summary.read - len(unique)
    assert [f.read for f in summary.files] == list(JSONL_SETS.values())
    assert _count(db, "SELECT count(*) FROM killmails") == len(unique)
    assert _count(db, "SELECT count(*) FROM killmail_index") == len(unique)
    assert _count(db, "SELECT finished_at IS NOT NULL FROM imports") == 1


def test_reimport_adds_nothing(real_sets: Database) -> None:
    db = real_sets
    before = _table_counts(db)
    paths = [shared_file(relative) for relative in JSONL_SETS]
    summary = import_paths(db, paths, offline=True)
    assert summary.inserted == 0
    assert summary.updated == 0
    assert summary.duplicates == summary.read
    assert _table_counts(db) == before


def test_feed_documents(db: Database) -> None:
    paths = [shared_file(relative) for relative in FEEDS]
    references = {
        entry["killmail_id"]
        for relative in FEEDS
        if "zkb_api" in relative
        for entry in json.loads(shared_file(relative).read_bytes())
    }
    seb_odessa = json.loads(shared_file(FEEDS[-1]).read_bytes())["killmail_id"]
    # The plain ESI killmail is also in one zKillboard list: its body wins.
    assert seb_odessa in references
    summary = import_paths(db, paths, offline=True)
    assert summary.rejected == 0
    assert summary.inserted == 4
    assert summary.pending == len(references) - 1
    assert summary.duplicates == 1
    states = dict(
        db.fetch_all("SELECT state, count(*) FROM killmail_index GROUP BY state")
    )
    assert states == {"stored": 4, "pending": len(references) - 1}
    value_source = db.fetch_value(
        "SELECT value_source FROM killmails WHERE killmail_id = %s", (seb_odessa,)
    )
    assert value_source == "zkb"
    zkb = db.fetch_value(
        "SELECT pending_zkb->>'totalValue' FROM killmail_index"
        " WHERE killmail_id = 78766279"
    )
    assert float(zkb) == pytest.approx(102163132.51)
    again = import_paths(db, paths, offline=True)
    assert again.inserted == 0
    assert again.pending == 0
    assert again.duplicates == again.read


def test_bodies_stored_as_received(real_sets: Database) -> None:
    db = real_sets
    line = _lines("killmails/real/everef_cluster_samples.jsonl")[0]
    killmail_id = json.loads(line)["killmail_id"]
    body = db.fetch_value(
        "SELECT esi_body FROM killmails WHERE killmail_id = %s", (killmail_id,)
    )
    assert body == line.decode()
    fixture = json.loads(_lines("killmails/real/zk_activity_fixtures.jsonl")[0])
    esi, zkb = db.fetch_one(
        "SELECT esi_body, zkb_body FROM killmails WHERE killmail_id = %s",
        (fixture["killID"],),
    ) or (None, None)
    assert json.loads(esi) == fixture["killmail"]
    assert json.loads(zkb) == fixture["zkb"]


def test_zkb_values_stored(real_sets: Database) -> None:
    db = real_sets
    document = json.loads(_lines("killmails/real/zkb_api_2018-05-19.jsonl")[0])
    row = db.fetch_one(
        "SELECT total_value, fitted_value, value_source, points, solo, location_id"
        " FROM killmails WHERE killmail_id = %s",
        (document["killmail_id"],),
    )
    assert row is not None
    zkb = document["zkb"]
    assert row[0] == pytest.approx(zkb["totalValue"])
    assert row[1] == pytest.approx(zkb["fittedValue"])
    assert row[2] == "zkb"
    assert row[3] == zkb["points"]
    assert row[4] is True
    assert row[5] == zkb["locationID"]


def test_structure_victim_without_character(real_sets: Database) -> None:
    row = real_sets.fetch_one(
        "SELECT victim_character_id, victim_corporation_id, victim_ship_type_id"
        " FROM killmails WHERE killmail_id = %s",
        (ASTRAHUS,),
    )
    assert row is not None
    assert row[0] is None
    assert row[1] is not None
    assert row[2] == 35832


def test_npc_attacker_shapes(real_sets: Database) -> None:
    db = real_sets
    faction_only = _count(
        db,
        "SELECT count(*) FROM attackers WHERE faction_id IS NOT NULL"
        " AND character_id IS NULL AND corporation_id IS NULL",
    )
    corporation_only = _count(
        db,
        "SELECT count(*) FROM attackers WHERE corporation_id IS NOT NULL"
        " AND character_id IS NULL AND alliance_id IS NULL AND faction_id IS NULL",
    )
    no_ship = _count(db, "SELECT count(*) FROM attackers WHERE ship_type_id IS NULL")
    zero_damage = _count(db, "SELECT count(*) FROM attackers WHERE damage_done = 0")
    assert faction_only > 0
    assert corporation_only > 0
    assert no_ship > 0
    assert zero_damage > 0


def test_attacker_rows_match_json(real_sets: Database) -> None:
    db = real_sets
    expected = 0
    zero = 0
    for relative in JSONL_SETS:
        for line in _lines(relative):
            document = json.loads(line)
            attackers = document.get("killmail", document)["attackers"]
            expected += len(attackers)
            zero += sum(1 for a in attackers if a["damage_done"] == 0)
    # Killmails present in two sets are stored once.
    stored = _count(db, "SELECT sum(attacker_count) FROM killmails")
    assert _count(db, "SELECT count(*) FROM attackers") == stored
    assert stored <= expected
    assert _count(db, "SELECT count(*) FROM attackers WHERE damage_done = 0") <= zero


def test_capsule_victims(real_sets: Database) -> None:
    pods = _count(
        real_sets,
        "SELECT count(*) FROM killmails WHERE victim_ship_type_id IN (670, 33328)",
    )
    assert pods >= 150


def test_nested_items_have_parent(real_sets: Database) -> None:
    db = real_sets
    document = next(
        json.loads(line)
        for line in _lines("killmails/real/evekill_shrike_corpus.jsonl")
        if json.loads(line)["killmail_id"] == 19123869
    )

    def count(items: list[dict[str, Any]]) -> int:
        return sum(1 + count(item.get("items", [])) for item in items)

    total = count(document["victim"]["items"])
    rows = db.fetch_all(
        "SELECT item_index, parent_index, item_type_id FROM items"
        " WHERE killmail_id = 19123869 ORDER BY item_index"
    )
    assert len(rows) == total
    children = [row for row in rows if row[1] is not None]
    assert children
    indexes = {row[0]: row for row in rows}
    for _, parent, _ in children:
        assert parent in indexes
    first_nested = next(i for i in document["victim"]["items"] if i.get("items"))
    parent_row = next(row for row in rows if row[2] == first_nested["item_type_id"])
    child_types = sorted(row[2] for row in rows if row[1] == parent_row[0])
    assert child_types == sorted(i["item_type_id"] for i in first_nested["items"])


def test_war_and_moon_ids(real_sets: Database) -> None:
    db = real_sets
    war = moon = 0
    seen: set[int] = set()
    for relative in JSONL_SETS:
        for line in _lines(relative):
            document = json.loads(line)
            body = document.get("killmail", document)
            if body["killmail_id"] in seen:
                continue
            seen.add(body["killmail_id"])
            war += "war_id" in body
            moon += "moon_id" in body
    assert war > 0
    assert moon > 0
    assert _count(db, "SELECT count(*) FROM killmails WHERE war_id IS NOT NULL") == war
    assert (
        _count(db, "SELECT count(*) FROM killmails WHERE moon_id IS NOT NULL") == moon
    )


def test_missing_position(real_sets: Database) -> None:
    missing = _count(
        real_sets, "SELECT count(*) FROM killmails WHERE position_x IS NULL"
    )
    assert missing >= 32


def test_keepstar_attackers(real_sets: Database) -> None:
    db = real_sets
    count = db.fetch_value(
        "SELECT attacker_count FROM killmails WHERE killmail_id = %s", (KEEPSTAR,)
    )
    assert count == 3753
    rows = _count(
        db, "SELECT count(*) FROM attackers WHERE killmail_id = %s", (KEEPSTAR,)
    )
    assert rows == 3753
    final = _count(
        db,
        "SELECT count(*) FROM attackers WHERE killmail_id = %s AND final_blow",
        (KEEPSTAR,),
    )
    assert final == 1


def _sample(index: int = 0) -> dict[str, Any]:
    line = _lines("killmails/real/everef_cluster_samples.jsonl")[index]
    document: dict[str, Any] = json.loads(line)
    return document


def test_large_ids(db: Database) -> None:
    document = _sample()
    document["victim"]["character_id"] = 2**31 + 17
    document["attackers"][0]["character_id"] = 2**40
    document["attackers"][0]["alliance_id"] = 2**31
    document["zkb"] = {
        "locationID": 1_035_466_617_946,
        "hash": document["killmail_hash"],
        "totalValue": 1.5e12,
    }
    summary = import_records(db, [document], source="test")
    assert summary.inserted == 1
    row = db.fetch_one(
        "SELECT victim_character_id, location_id, total_value FROM killmails"
    )
    assert row == (2**31 + 17, 1_035_466_617_946, 1.5e12)
    assert db.fetch_value("SELECT max(character_id) FROM attackers") == 2**40


def test_fractional_and_zulu_times(db: Database) -> None:
    first, second = _sample(0), _sample(1)
    first["killmail_time"] = "2021-11-27T01:02:03Z"
    second["killmail_time"] = "2021-11-27T01:02:03.456789Z"
    summary = import_records(db, [first, second], source="test")
    assert summary.inserted == 2
    times = dict(db.fetch_all("SELECT killmail_id, killmail_time FROM killmails"))
    assert times[first["killmail_id"]] == dt.datetime(
        2021, 11, 27, 1, 2, 3, tzinfo=dt.UTC
    )
    assert times[second["killmail_id"]] == dt.datetime(
        2021, 11, 27, 1, 2, 3, 456789, tzinfo=dt.UTC
    )
    attacker_time = db.fetch_value(
        "SELECT DISTINCT killmail_time FROM attackers WHERE killmail_id = %s",
        (second["killmail_id"],),
    )
    assert attacker_time == times[second["killmail_id"]]


def test_monthly_partitions(db: Database) -> None:
    paths = [shared_file("killmails/real/evekill_shrike_corpus.jsonl")]
    import_paths(db, paths, offline=True)
    months = _count(
        db,
        "SELECT count(DISTINCT date_trunc('month', killmail_time AT TIME ZONE 'UTC'))"
        " FROM killmails",
    )
    partitions = _count(
        db,
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'killmails'::regclass",
    )
    assert partitions == months
    misplaced = _count(
        db,
        "SELECT count(*) FROM killmails"
        " WHERE tableoid::regclass::text <> 'killmails_'"
        " || to_char(killmail_time AT TIME ZONE 'UTC', 'YYYY_MM')",
    )
    assert misplaced == 0


def _write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_bad_records_in_middle(db_url: str, db: Database, tmp_path: Path) -> None:
    good = _lines("killmails/real/everef_cluster_samples.jsonl")[:10]
    wrong_type = json.loads(good[3])
    wrong_type["attackers"][1]["damage_done"] = "much"
    missing = json.loads(good[4])
    del missing["solar_system_id"]
    bad = [
        good[2][:-40],
        json.dumps(wrong_type).encode(),
        json.dumps(missing).encode(),
    ]
    lines = [*good[:5], *bad, *good[5:]]
    path = _write_lines(tmp_path / "mixed.jsonl", lines)
    status = main(
        ["--dsn", db_url, "--data-dir", str(tmp_path), "import", "--offline", str(path)]
    )
    assert status == 1
    assert _count(db, "SELECT count(*) FROM killmails") == 10
    rejects = db.fetch_all(
        "SELECT source_file, position, killmail_id, field, reason, raw"
        " FROM rejects ORDER BY reject_id"
    )
    assert [row[1] for row in rejects] == ["line 6", "line 7", "line 8"]
    assert {row[0] for row in rejects} == {str(path)}
    truncated, typed, absent = rejects
    assert truncated[4].startswith("invalid JSON")
    assert truncated[5] == bad[0].decode()
    assert typed[2] == wrong_type["killmail_id"]
    assert typed[3] == "$.attackers[1].damage_done"
    assert "int" in typed[4]
    assert absent[2] == missing["killmail_id"]
    assert absent[3] == "$.solar_system_id"
    assert "missing" in absent[4]
    assert json.loads(absent[5]) == missing


def test_rejects_list_command(
    db_url: str, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_lines(tmp_path / "bad.jsonl", [b'{"killmail_id": 5, "x": 1}'])
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    assert main([*base, "import", "--offline", "--json", str(path)]) == 1
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rejected"] == 1
    assert summary["read"] == 1
    for key in ("inserted", "updated", "duplicates", "pending"):
        assert summary[key] == 0
    assert main([*base, "rejects", "list"]) == 0
    output = capsys.readouterr().out
    import_id = summary["import_id"]
    assert f"(import {import_id}): {path} line 1, killmail 5, whole record:" in output
    assert output.startswith("reject ")
    assert "unrecognised" in output
    assert "field $" not in output
    assert "#" not in output
    assert main([*base, "rejects", "list", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["killmail_id"] == 5
    assert row["raw"] == '{"killmail_id": 5, "x": 1}'
    # Importing the same bad file again keeps one reject row.
    assert main([*base, "import", "--offline", str(path)]) == 1
    assert _count(db, "SELECT count(*) FROM rejects") == 1
    capsys.readouterr()
    assert main([*base, "rejects", "list", "--import", "999999"]) != 0
    assert "no import with the id 999999 is recorded" in capsys.readouterr().err


def test_killmails_with_bad_fields_get_fix_advice(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file of killmails whose every record had fields of the wrong type
    was advised to be left out as not a killmail file, and its rejects named
    only the first bad field of each record."""
    sample = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    victim = {**sample["victim"], "damage_taken": "x"}
    changed = {"killmail_id": True, "victim": victim, "attackers": 5}
    # msgspec reports the fields in the order of the document.
    document = {**changed, **{k: v for k, v in sample.items() if k not in changed}}
    killmails = _write_lines(
        tmp_path / "wrongtypes.jsonl", [json.dumps(document).encode()]
    )
    other = _write_lines(tmp_path / "regions.jsonl", [b'{"region_id": 1}'])
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]

    assert main([*base, "import", "--offline", str(killmails), str(other)]) == 1
    output = capsys.readouterr().out
    assert f"Fix the rejected records and import {killmails} again" in output
    assert f"{killmails}: every record was rejected" not in output
    assert f"{other}: every record was rejected. If it is not a killmail" in output

    assert main([*base, "rejects", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (row,) = [row for row in rows if row["source_file"] == str(killmails)]
    assert row["field"] == "$.killmail_id"
    assert row["reason"] == (
        "3 invalid fields: killmail_id is a boolean (true), expected an integer;"
        ' victim.damage_taken is a string ("x"), expected an integer;'
        " attackers is an integer (5), expected an array"
    )


def test_reimport_keeps_rejects_of_first_import(
    db_url: str, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Importing a bad file again once moved its rejects to the new import, so
    the 'rejects list --import N' hint of the first import listed nothing."""
    path = _write_lines(
        tmp_path / "bad.jsonl",
        [b'{"killmail_id": 5, "x": 1}', b'{"killmail_id": 6, "x": 2}'],
    )
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    ids = []
    for _ in range(2):
        assert main([*base, "import", "--offline", "--json", str(path)]) == 1
        ids.append(json.loads(capsys.readouterr().out.splitlines()[-1])["import_id"])
    first, second = ids

    assert _count(db, "SELECT count(*) FROM rejects") == 2
    for import_id in (first, second):
        assert main([*base, "rejects", "list", "--import", str(import_id)]) == 0
        output = capsys.readouterr().out
        assert "no rejected records" not in output
        assert output.count(f"(imports {first}, {second}): {path} line") == 2
    assert main([*base, "rejects", "list", "--json", "--import", str(first)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["killmail_id"] for row in rows] == [6, 5]
    assert [row["import_ids"] for row in rows] == [[first, second]] * 2
    assert [row["import_id"] for row in rows] == [second] * 2

    (generated,) = generate_killmails(1, seed=3)
    (tmp_path / "good.jsonl").write_bytes(generated + b"\n")
    assert main([*base, "import", "--offline", str(tmp_path / "good.jsonl")]) == 0
    capsys.readouterr()
    third = _count(db, "SELECT max(import_id) FROM imports")
    assert main([*base, "rejects", "list", "--import", str(third)]) == 0
    assert capsys.readouterr().out == "no rejected records\n"


def test_truncated_archive_reject_has_no_empty_preview(
    db_url: str, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reject of a truncated archive has no text, and 'rejects list'
    printed an indented empty line for it."""
    archive = tmp_path / "whole.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tar:
        for number, body in enumerate(generate_killmails(200, seed=11)):
            info = tarfile.TarInfo(f"killmails/{number}.json")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    data = archive.read_bytes()
    cut = tmp_path / "cut.tar.bz2"
    cut.write_bytes(data[: len(data) // 2])
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    assert main([*base, "import", "--offline", str(cut)]) == 1
    capsys.readouterr()

    assert main([*base, "rejects", "list"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert "the rest of the file cannot be read" in lines[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"package": null}', "its document is an empty RedisQ poll"),
        (
            '{"package": null}\n{"package": null}\n{"package": null}\n',
            "its 3 documents are empty RedisQ polls",
        ),
        ('[{"package": null}, {"package": null}]', "its 2 documents are empty"),
        ("[]", "it contains no JSON document"),
    ],
)
def test_only_empty_polls_warned(
    db: Database,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    text: str,
    expected: str,
) -> None:
    """A file of empty RedisQ polls is named like an empty file, not read silently."""
    path = tmp_path / "redisq.json"
    path.write_text(text, encoding="utf-8")

    summary = import_paths(db, [path], offline=True)

    assert summary.read == 0
    assert f"file {path} is empty: {expected}" in caplog.text


def test_poll_beside_killmail_not_warned(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (generated,) = generate_killmails(1, seed=5)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"package": null}\n' + generated + b"\n")

    summary = import_paths(db, [path], offline=True)

    assert summary.inserted == 1
    assert "is empty" not in caplog.text


def test_reject_line_wording() -> None:
    """Reject and import ids are labelled, and unknown parts are left out."""
    row = RejectRow(
        reject_id=6,
        import_id=7,
        rejected_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        source_file="/data/a.json",
        position="line 3",
        killmail_id=None,
        field="$.victim.ship_type_id",
        reason="required field ship_type_id is missing",
        raw="{}",
    )
    assert describe_reject(row) == (
        "reject 6 (import 7): /data/a.json line 3, field victim.ship_type_id:"
        " required field ship_type_id is missing"
    )
    again = dataclasses.replace(row, import_ids=(3, 7))
    assert describe_reject(again).startswith("reject 6 (imports 3, 7): /data/a.json")
    often = dataclasses.replace(row, import_ids=(1, 2, 4, 5, 7))
    assert describe_reject(often).startswith("reject 6 (5 imports: 1, 2, …, 7): ")
    orphan = dataclasses.replace(row, import_id=None, field=None, killmail_id=12)
    assert describe_reject(orphan) == (
        "reject 6: /data/a.json line 3, killmail 12:"
        " required field ship_type_id is missing"
    )


def test_relative_path_stored_absolute(
    db_url: str,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A relative path is stored absolute, so rejects name the file anywhere."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    path = _write_lines(folder / "truncated.json", [b'{"killmail_id": 5, "kill'])
    monkeypatch.chdir(folder)

    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    assert main([*base, "import", "--offline", "truncated.json"]) == 1
    assert main([*base, "import", "--offline", "."]) == 1

    source_files = db.fetch_all("SELECT DISTINCT source_file FROM rejects")
    assert source_files == [(str(path),)]
    recorded = db.fetch_all("SELECT paths FROM imports ORDER BY import_id")
    assert recorded == [([str(path)],), ([str(path)],)]


def test_import_command_summary(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    assert main([*base, "import", "--offline", str(path)]) == 0
    output = capsys.readouterr().out
    assert "16 inserted" in output
    assert main([*base, "import", "--offline", "--json", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["duplicates"] == 16
    assert summary["inserted"] == 0


def test_missing_path_fails_cleanly(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    status = main([*base, "import", "--offline", str(tmp_path / "absent.json")])
    assert status == 2
    error = capsys.readouterr().err
    assert "absent.json" in error
    assert "not a file or folder" in error


def test_failed_batch_lands_nothing(db: Database, tmp_path: Path) -> None:
    lines = _lines("killmails/real/everef_cluster_samples.jsonl")[:12]
    poisoned = json.loads(lines[6])["killmail_id"]
    db.execute(
        "CREATE FUNCTION reject_poisoned() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN IF NEW.killmail_id = {poisoned} THEN"
        " RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$"
    )
    db.execute(
        "CREATE TRIGGER reject_poisoned BEFORE INSERT ON items"
        " FOR EACH ROW EXECUTE FUNCTION reject_poisoned()"
    )
    path = _write_lines(tmp_path / "twelve.jsonl", lines)
    results: list[BatchResult] = []
    with pytest.raises(psycopg.errors.RaiseException, match="injected failure"):
        import_paths(
            db,
            [path],
            offline=True,
            batch_size=5,
            after_batch=[lambda _db, result: results.append(result)],
        )
    first_batch = {json.loads(line)["killmail_id"] for line in lines[:5]}
    stored = {row[0] for row in db.fetch_all("SELECT killmail_id FROM killmails")}
    assert stored == first_batch
    indexed = {row[0] for row in db.fetch_all("SELECT killmail_id FROM killmail_index")}
    assert indexed == first_batch
    assert _count(db, "SELECT count(DISTINCT killmail_id) FROM attackers") == 5
    assert [set(result.inserted_ids) for result in results] == [first_batch]
    finished = db.fetch_one("SELECT finished_at IS NOT NULL, inserted FROM imports")
    assert finished == (True, 5)


def test_after_batch_result(db: Database) -> None:
    lines = _lines("killmails/real/everef_cluster_samples.jsonl")[:7]
    documents = [json.loads(line) for line in lines]
    results: list[BatchResult] = []
    import_records(
        db,
        lines,
        source="test",
        batch_size=4,
        after_batch=[lambda _db, result: results.append(result)],
    )
    assert [len(result.inserted_ids) for result in results] == [4, 3]
    first = results[0]
    times = [
        dt.datetime.fromisoformat(d["killmail_time"].replace("Z", "+00:00"))
        for d in documents[:4]
    ]
    assert first.min_time == min(times)
    assert first.max_time == max(times)
    assert set(first.solar_system_ids) == {d["solar_system_id"] for d in documents[:4]}
    assert first.updated_ids == ()


def _reference(document: dict[str, Any], total: float) -> dict[str, Any]:
    return {
        "killmail_id": document["killmail_id"],
        "zkb": {
            "locationID": 40000001,
            "hash": document["killmail_hash"],
            "fittedValue": total / 2,
            "totalValue": total,
            "points": 3,
            "npc": False,
            "solo": False,
            "awox": False,
        },
    }


def test_zkb_refreshed_from_newest(db: Database) -> None:
    document = _sample(3)
    killmail_id = document["killmail_id"]
    import_records(db, [document], source="everef")
    value = "SELECT total_value, value_source FROM killmails WHERE killmail_id = %s"
    first = db.fetch_one(value, (killmail_id,))
    assert first is not None
    assert first[1] != "zkb"
    updated = import_records(db, [_reference(document, 1000.0)], source="zkb")
    assert updated.updated == 1
    assert db.fetch_one(value, (killmail_id,)) == (1000.0, "zkb")
    newer = import_records(db, [_reference(document, 2500.0)], source="zkb")
    assert newer.updated == 1
    assert newer.duplicates == 0
    assert db.fetch_one(value, (killmail_id,)) == (2500.0, "zkb")
    same = import_records(db, [_reference(document, 2500.0)], source="zkb")
    assert same.updated == 0
    assert same.duplicates == 1
    assert _count(db, "SELECT count(*) FROM killmails") == 1


def test_same_kill_from_sources_is_one_row(db: Database) -> None:
    raw = shared_file("killmails/feeds/redisq_package_119455394.json").read_bytes()
    package = json.loads(raw)["package"]
    import_paths(
        db, [shared_file("killmails/feeds/redisq_package_119455394.json")], offline=True
    )
    zkb = copy.deepcopy(package["zkb"])
    zkb["totalValue"] = 150_000_000.0
    envelope = {
        "killmail_id": package["killID"],
        "hash": zkb["hash"],
        "esi": package["killmail"],
        "zkb": zkb,
        "uploaded_at": 1721000000,
        "sequence_id": 1,
    }
    summary = import_records(db, [envelope], source="r2z2")
    assert summary.updated == 1
    assert summary.inserted == 0
    assert _count(db, "SELECT count(*) FROM killmails") == 1
    assert _count(db, "SELECT count(*) FROM attackers") == 1
    total = db.fetch_value("SELECT total_value FROM killmails")
    assert total == 150_000_000.0


def test_pending_body_takes_pending_zkb(db: Database) -> None:
    document = _sample(5)
    killmail_id = document["killmail_id"]
    pending = import_records(db, [_reference(document, 777.0)], source="zkb")
    assert pending.pending == 1
    state = (
        "SELECT state, pending_zkb IS NULL FROM killmail_index WHERE killmail_id = %s"
    )
    assert db.fetch_one(state, (killmail_id,)) == ("pending", False)
    body = {key: value for key, value in document.items() if key != "killmail_hash"}
    stored = import_records(db, [body], source="esi")
    assert stored.inserted == 1
    assert db.fetch_one(state, (killmail_id,)) == ("stored", True)
    row = db.fetch_one(
        "SELECT total_value, value_source, killmail_hash, source FROM killmails"
    )
    assert row == (777.0, "zkb", document["killmail_hash"], "esi")


def test_invalid_pair_replaced_by_new_hash(db: Database) -> None:
    document = _sample(6)
    killmail_id = document["killmail_id"]
    reference = _reference(document, 10.0)
    import_records(db, [reference], source="zkb")
    db.execute(
        "UPDATE killmail_index SET state = 'invalid', attempts = 3,"
        " last_error = 'ESI 422' WHERE killmail_id = %s",
        (killmail_id,),
    )
    same = import_records(db, [reference], source="zkb")
    assert same.pending == 0
    assert same.duplicates == 0
    assert same.invalid == 1
    row = "SELECT state, killmail_hash, attempts, last_error FROM killmail_index"
    assert db.fetch_one(row)[:1] == ("invalid",)  # type: ignore[index]
    other = copy.deepcopy(reference)
    other["zkb"]["hash"] = "f" * 40
    replaced = import_records(db, [other], source="zkb")
    assert replaced.pending == 1
    assert db.fetch_one(row) == ("pending", "f" * 40, 0, None)


def test_body_replaces_invalid_pair(db: Database) -> None:
    document = _sample(7)
    import_records(db, [_reference(document, 10.0)], source="zkb")
    db.execute("UPDATE killmail_index SET state = 'invalid'")
    summary = import_records(db, [document], source="everef")
    assert summary.inserted == 1
    assert db.fetch_value("SELECT state FROM killmail_index") == "stored"


def test_respaced_zkb_block_is_duplicate(db: Database) -> None:
    """The same zkb block with other spacing and key order changes nothing."""
    (document,) = generate_killmails(1, seed=3)
    assert import_records(db, [document], source="generated").inserted == 1
    parsed = json.loads(document)
    parsed["zkb"] = dict(reversed(list(parsed["zkb"].items())))
    respaced = json.dumps(parsed, indent=1).encode()

    summary = import_records(db, [respaced], source="generated")

    assert summary.updated == 0
    assert summary.duplicates == 1


def test_duplicate_in_one_batch(db: Database) -> None:
    line = _lines("killmails/real/everef_cluster_samples.jsonl")[8]
    document = json.loads(line)
    summary = import_records(
        db, [line, _reference(document, 55.0), line], source="test"
    )
    assert summary.inserted == 1
    assert summary.duplicates == 2
    assert db.fetch_value("SELECT total_value FROM killmails") == 55.0


def test_telemetry_tags_import(db: Database) -> None:
    import_paths(
        db, [shared_file("killmails/real/zk_activity_fixtures.jsonl")], offline=True
    )
    names = {record.name for record in db.telemetry.records()}
    assert "ingest.copy_killmails" in names
    assert "ingest.lookup_index" in names
    operations = {record.operation for record in db.telemetry.records()}
    assert "import" in operations


def test_deep_nesting_and_byte_order_mark(db: Database, tmp_path: Path) -> None:
    """A file nested too deeply is one reject, and the other files still land."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a_deep_array.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "b_deep_object.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    good = shared_file("killmails/real/zk_activity_fixtures.jsonl").read_bytes()
    (folder / "c_good.jsonl").write_bytes(good)
    (generated,) = generate_killmails(1, seed=3)
    (folder / "d_bom.json").write_bytes(b"\xef\xbb\xbf" + generated)

    summary = import_paths(db, [folder], offline=True)

    # 16 killmails in the real file, one after the byte order mark.
    assert summary.inserted == 17
    assert summary.rejected == 2
    reasons = db.fetch_all("SELECT source_file, reason FROM rejects ORDER BY 1")
    assert [Path(name).name for name, _ in reasons] == [
        "a_deep_array.json",
        "b_deep_object.json",
    ]
    assert reasons[0][1].startswith("the record is an array ([[[[")
    assert reasons[0][1].endswith("…), expected an object")
    assert reasons[1][1] == "invalid JSON: nested too deeply to be a killmail"


def test_zkb_block_with_another_hash_rejected(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    (document,) = generate_killmails(1, seed=1)
    assert import_records(db, [document], source="generated").inserted == 1
    other = json.loads(document)
    other["zkb"]["hash"] = "0" * 40
    other["zkb"]["totalValue"] = 1.0
    other["zkb"]["labels"] = ["solo"]

    summary = import_records(db, [json.dumps(other).encode()], source="generated")

    assert summary.updated == 0
    assert summary.duplicates == 0
    assert summary.rejected == 1
    row = db.fetch_one(
        "SELECT total_value, labels, killmail_hash FROM killmails"
        " WHERE killmail_id = %s",
        (other["killmail_id"],),
    )
    assert row is not None
    assert row[0] == json.loads(document)["zkb"]["totalValue"]
    assert "solo" not in row[1]
    assert row[2] == json.loads(document)["zkb"]["hash"]
    reject = db.fetch_one("SELECT field, reason, raw FROM rejects")
    assert reject is not None
    assert reject[0] == "$.zkb.hash"
    assert reject[1].startswith(f"killmail_hash {'0' * 40} differs from {row[2]}")
    assert json.loads(reject[2]) == other
    assert "rejected 1 record whose killmail hash differs from the stored" in (
        caplog.text
    )


def test_unknown_static_ids_warned(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Killmails in systems or ships that the loaded static data lacks are
    stored, and the import names those ids and the command that adds them."""
    documents = [json.loads(line) for line in generate_killmails(8, seed=5)]
    for document in (documents[1], documents[5]):
        document["solar_system_id"] = 99999999
    for document in (documents[2], documents[6]):
        document["victim"]["ship_type_id"] = 999999999
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("\n".join(json.dumps(d) for d in documents[:4]) + "\n")
    second.write_text("\n".join(json.dumps(d) for d in documents[4:]) + "\n")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.importer")

    # Without static data every id is unknown, so nothing is worth a warning.
    import_paths(db, [first], offline=True)
    assert "static data lists no" not in caplog.text

    db.execute(
        "INSERT INTO regions (region_id, region_name) VALUES (10000002, 'The Forge')"
    )
    # 31000005 (Thera) is outside the demo's built-in universe, as every SDE
    # has systems that universe lacks.
    for system in {d["solar_system_id"] for d in documents} - {99999999} | {31000005}:
        db.execute(
            "INSERT INTO solar_systems (solar_system_id, solar_system_name,"
            " constellation_id, region_id, security)"
            " VALUES (%s, %s, 1, 10000002, 0.5)",
            (system, f"S{system}"),
        )
    db.execute(
        "INSERT INTO groups (group_id, group_name, category_id, published,"
        " ship_class) VALUES (25, 'Frigate', 6, true, 'frigate')"
    )
    for ship_type in {d["victim"]["ship_type_id"] for d in documents} - {999999999}:
        db.execute(
            "INSERT INTO types (type_id, type_name, group_id, published)"
            " VALUES (%s, %s, 25, true)",
            (ship_type, f"T{ship_type}"),
        )
    summary = import_paths(db, [second], offline=True)

    assert summary.inserted == 4
    expected = (
        "the static data lists no solar systems 99999999; no ship types 999999999"
    )
    assert expected in caplog.text
    assert "import a newer SDE with 'evedmv sde import PATH'" in caplog.text
    assert "built-in" not in caplog.text


def test_unknown_static_in_builtin_universe(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With only the demo's universe loaded, the hint requests a first SDE."""
    load_tables(db, builtin_static_tables())
    (generated,) = generate_killmails(1, seed=5)
    document = json.loads(generated)
    document["solar_system_id"] = 99999999
    path = tmp_path / "kill.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.importer")

    import_paths(db, [path], offline=True)

    assert "the built-in demo universe lists no solar systems 99999999" in (caplog.text)
    assert "import the static data export: evedmv sde import PATH" in caplog.text
    assert "newer SDE" not in caplog.text


@pytest.mark.parametrize("contents", [{}, {"notes.txt": b"no killmails here"}])
def test_folder_without_killmail_files_is_refused(
    db_url: str,
    db: Database,
    tmp_path: Path,
    contents: dict[str, bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An empty folder, or one with other files only, is an error that names
    the folder and the file kinds read, and no import is recorded."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    capsys.readouterr()
    base = ["--dsn", db_url, "--data-dir", str(tmp_path / "data")]
    assert main([*base, "import", "--offline", str(folder)]) == InputError.exit_code
    err = capsys.readouterr().err
    assert f"{folder} contains no killmail files" in err
    assert ".jsonl" in err
    assert ".tgz" in err
    assert _count(db, "SELECT count(*) FROM imports") == 0
