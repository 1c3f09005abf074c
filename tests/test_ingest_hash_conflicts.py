"""Records whose killmail hash differs from the hash of the stored killmail."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.cli import main
from evedmv_tui.ingest.encode import EncodedKillmail, prepare_document
from evedmv_tui.ingest.importer import import_paths, import_records
from evedmv_tui.ingest.merge import record_text
from evedmv_tui.ingest.shapes import PendingKillmail
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

OTHER = "0123456789abcdef" * 2 + "01234567"
"""A well-formed hash that no sample killmail has."""
SEEN_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _sample(index: int) -> dict[str, Any]:
    """Return one EVE Ref archive member: an ESI body with ``killmail_hash``."""
    path = shared_file("killmails/real/everef_cluster_samples.jsonl")
    document: dict[str, Any] = json.loads(path.read_bytes().splitlines()[index])
    return document


def _with_hash(document: dict[str, Any], killmail_hash: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["killmail_hash"] = killmail_hash
    return changed


def _reference(
    document: dict[str, Any], killmail_hash: str, total: float
) -> dict[str, Any]:
    """Return a zKillboard list entry for ``document`` with its own hash."""
    return {
        "killmail_id": document["killmail_id"],
        "zkb": {"hash": killmail_hash, "totalValue": total, "points": 1},
    }


def _line(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def _write(path: Path, *documents: dict[str, Any]) -> Path:
    path.write_bytes(b"".join(_line(document) + b"\n" for document in documents))
    return path


def _rejects(db: Database) -> list[tuple[Any, ...]]:
    return db.fetch_all(
        "SELECT source_file, position, killmail_id, field, reason, raw"
        " FROM rejects ORDER BY reject_id"
    )


def _stored(db: Database, killmail_id: int) -> tuple[Any, ...] | None:
    """Return the stored hash, the index hash and whether no zkb block is stored."""
    return db.fetch_one(
        "SELECT k.killmail_hash, i.killmail_hash, k.zkb_body IS NULL"
        " FROM killmails AS k JOIN killmail_index AS i USING (killmail_id)"
        " WHERE killmail_id = %s",
        (killmail_id,),
    )


@pytest.mark.parametrize(
    ("workers", "batch_size"),
    [(0, 2000), (0, 1), (1, 2000)],
    ids=["one-batch", "two-batches", "reader-process"],
)
def test_two_hashes_in_one_file(
    db: Database, tmp_path: Path, workers: int, batch_size: int
) -> None:
    first = _sample(0)
    second = _with_hash(first, OTHER)
    path = _write(tmp_path / "day.jsonl", first, _sample(1), second)

    summary = import_paths(
        db, [path], offline=True, workers=workers, batch_size=batch_size
    )

    assert summary.read == 3
    assert summary.inserted == 2
    assert summary.rejected == 1
    assert summary.duplicates == 0
    killmail_id = first["killmail_id"]
    stored = first["killmail_hash"]
    assert _stored(db, killmail_id) == (stored, stored, True)
    (reject,) = _rejects(db)
    assert reject[:4] == (str(path), "line 3", killmail_id, "$.killmail_hash")
    assert f"killmail_hash {OTHER} differs from {stored}" in reject[4]
    assert "422" in reject[4]
    assert reject[5] == _line(second).decode()


def test_two_hashes_in_two_files(db: Database, tmp_path: Path) -> None:
    first = _sample(2)
    second = _with_hash(first, OTHER)
    earlier = _write(tmp_path / "a.jsonl", first)
    later = _write(tmp_path / "b.jsonl", _sample(3), second)

    summary = import_paths(db, [earlier, later], offline=True, workers=0)

    assert summary.inserted == 2
    assert summary.rejected == 1
    assert [file.rejected for file in summary.files] == [0, 1]
    assert [file.inserted for file in summary.files] == [1, 1]
    (reject,) = _rejects(db)
    assert reject[:4] == (str(later), "line 2", first["killmail_id"], "$.killmail_hash")
    stored = _stored(db, first["killmail_id"])
    assert stored is not None
    assert stored[0] == first["killmail_hash"]


def test_two_hashes_across_imports(
    db_url: str, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _sample(4)
    earlier = _write(tmp_path / "a.jsonl", first)
    later = _write(tmp_path / "b.jsonl", _with_hash(first, OTHER))
    base = ["--dsn", db_url, "--data-dir", str(tmp_path), "import", "--offline"]
    assert main([*base, str(earlier)]) == 0
    capsys.readouterr()

    assert main([*base, "--json", str(later)]) == 1

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rejected"] == 1
    assert summary["duplicates"] == 0
    assert summary["read"] == 1
    # Importing the same file again keeps one reject row, and still fails.
    assert main([*base, str(later)]) == 1
    assert len(_rejects(db)) == 1
    imports = db.fetch_all("SELECT rejected FROM imports ORDER BY import_id")
    assert imports == [(0,), (1,), (1,)]


def test_stored_hash_wins_within_batch(db: Database) -> None:
    """A batch that brings a wrong hash first must not reject the right one."""
    right = _sample(5)
    wrong = _with_hash(right, OTHER)
    import_records(db, [right], source="everef")

    summary = import_records(db, [wrong, right], source="everef")

    assert summary.rejected == 1
    assert summary.duplicates == 1
    (reject,) = _rejects(db)
    assert reject[1] == "record 1"
    assert json.loads(reject[5])["killmail_hash"] == OTHER


def test_same_hash_refreshes_beside_conflict(db: Database) -> None:
    body = _sample(6)
    killmail_id = body["killmail_id"]
    import_records(db, [body], source="everef")
    same = _reference(body, body["killmail_hash"], 500.0)
    other = _reference(body, OTHER, 9.0)

    summary = import_records(db, [same, other], source="zkb")

    assert summary.updated == 1
    assert summary.rejected == 1
    value = "SELECT total_value, value_source FROM killmails WHERE killmail_id = %s"
    assert db.fetch_one(value, (killmail_id,)) == (500.0, "zkb")
    (reject,) = _rejects(db)
    assert reject[:4] == ("<zkb>", "record 2", killmail_id, "$.killmail_hash")
    (again,) = prepare_document(
        reject[5].encode(), source_file="x", position="y", seen_at=SEEN_AT, prices={}
    )
    assert isinstance(again, PendingKillmail)
    assert again.killmail_hash == OTHER
    assert json.loads(again.zkb_body or "null") == other["zkb"]


def test_reference_without_zkb_rejected(db: Database) -> None:
    """A reference without a zkb block is rejected too, not only a zkb block."""
    body = _sample(7)
    import_records(db, [body], source="everef")
    history = {str(body["killmail_id"]): OTHER}

    summary = import_records(db, [history], source="zkb")

    assert summary.rejected == 1
    assert summary.pending == 0
    (reject,) = _rejects(db)
    assert reject[1] == f"record 1 key {body['killmail_id']}"
    assert json.loads(reject[5]) == history


def test_first_zkb_hash_fixes_hashless_killmail(db: Database) -> None:
    """A killmail stored without a hash takes the first zkb block's hash."""
    document = _sample(12)
    killmail_id = document["killmail_id"]
    body = {key: value for key, value in document.items() if key != "killmail_hash"}
    import_records(db, [body], source="esi")
    right = _reference(document, document["killmail_hash"], 1.0)

    summary = import_records(
        db, [right, _reference(document, OTHER, 2.0)], source="zkb"
    )

    assert summary.updated == 1
    assert summary.rejected == 1
    stored = document["killmail_hash"]
    assert _stored(db, killmail_id) == (stored, stored, False)
    value = "SELECT total_value FROM killmails WHERE killmail_id = %s"
    assert db.fetch_value(value, (killmail_id,)) == 1.0


def test_reference_before_body_is_replaced(db: Database) -> None:
    """A body fixes the hash, so an earlier reference with another hash is dropped."""
    body = _sample(8)
    killmail_id = body["killmail_id"]

    summary = import_records(db, [_reference(body, OTHER, 9.0), body], source="mixed")

    assert summary.inserted == 1
    assert summary.duplicates == 1
    assert summary.rejected == 0
    stored = body["killmail_hash"]
    # The reference's zkb block belongs to the other hash, so it is not used.
    assert _stored(db, killmail_id) == (stored, stored, True)


def test_later_reference_replaces_earlier(db: Database) -> None:
    document = _sample(9)
    killmail_id = document["killmail_id"]
    earlier = _reference(document, document["killmail_hash"], 1.0)
    later = _reference(document, OTHER, 2.0)

    summary = import_records(db, [earlier, later], source="zkb")

    assert summary.pending == 1
    assert summary.duplicates == 1
    assert summary.rejected == 0
    row = db.fetch_one(
        "SELECT state, killmail_hash, pending_zkb->>'totalValue'"
        " FROM killmail_index WHERE killmail_id = %s",
        (killmail_id,),
    )
    assert row == ("pending", OTHER, "2.0")


def test_body_replaces_invalid_pair_hash(db: Database) -> None:
    body = _sample(10)
    killmail_id = body["killmail_id"]
    import_records(db, [_reference(body, OTHER, 9.0)], source="zkb")
    db.execute(
        "UPDATE killmail_index SET state = 'invalid' WHERE killmail_id = %s",
        (killmail_id,),
    )

    summary = import_records(db, [body], source="everef")

    assert summary.inserted == 1
    assert summary.rejected == 0
    stored = body["killmail_hash"]
    assert _stored(db, killmail_id) == (stored, stored, True)


def _r2z2() -> bytes:
    return shared_file("killmails/feeds/r2z2_shrike_testdata_900001.json").read_bytes()


def _redisq() -> bytes:
    path = shared_file("killmails/feeds/redisq_package_119455394.json")
    return json.dumps(json.loads(path.read_bytes())["package"]).encode()


def _zkb_list_entry() -> bytes:
    path = shared_file("killmails/feeds/zkb_api_moldenheath_npc.json")
    return json.dumps(json.loads(path.read_bytes())[0]).encode()


def _zkb_api() -> bytes:
    path = shared_file("killmails/real/zkb_api_2018-05-19.jsonl")
    return path.read_bytes().splitlines()[0]


def _everef() -> bytes:
    return _line(_sample(11))


def _history_entry() -> bytes:
    path = shared_file("killmails/feeds/zkb_history_20190801.json")
    killmail_id, killmail_hash = next(iter(json.loads(path.read_bytes()).items()))
    return json.dumps({killmail_id: killmail_hash}).encode()


@pytest.mark.parametrize(
    ("document", "verbatim"),
    [
        (_r2z2, False),
        (_redisq, False),
        (_zkb_list_entry, False),
        (_history_entry, False),
        (_zkb_api, True),
        (_everef, True),
    ],
    ids=["r2z2", "redisq", "zkb-list", "zkb-history", "zkb-api", "everef"],
)
def test_reject_text_imports_again(document: Any, verbatim: bool) -> None:
    raw = document()

    (record,) = prepare_document(
        raw, source_file="f", position="p", seen_at=SEEN_AT, prices={}
    )
    assert isinstance(record, EncodedKillmail | PendingKillmail)
    text = record_text(record)
    (again,) = prepare_document(
        text.encode(), source_file="f", position="p", seen_at=SEEN_AT, prices={}
    )

    assert (text == raw.decode()) is verbatim
    assert type(again) is type(record)
    assert again.killmail_id == record.killmail_id
    assert again.killmail_hash == record.killmail_hash
    assert again.zkb_body == record.zkb_body
    if isinstance(record, EncodedKillmail):
        assert isinstance(again, EncodedKillmail)
        assert again.esi_body() == record.esi_body()
