"""The field of every reject is a JSON path into the reject's stored text."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evedmv_tui.ingest.encode import EncodedKillmail, prepare_document
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.ingest.merge import hash_reject
from evedmv_tui.ingest.shapes import PendingKillmail
from evedmv_tui.prices import import_prices
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

STORED = "0123456789abcdef" * 2 + "01234567"
"""A well-formed hash that no sample killmail has."""
SEEN_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _value_at(text: str, path: str) -> object:
    """Return the value at a path of top-level keys, such as ``$.zkb.hash``."""
    value: object = json.loads(text)
    for key in path.removeprefix("$.").split("."):
        assert isinstance(value, dict), path
        value = value[key]
    return value


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
    path = shared_file("killmails/real/everef_cluster_samples.jsonl")
    return path.read_bytes().splitlines()[0]


def _history_entry() -> bytes:
    path = shared_file("killmails/feeds/zkb_history_20190801.json")
    killmail_id, killmail_hash = next(iter(json.loads(path.read_bytes()).items()))
    return json.dumps({killmail_id: killmail_hash}).encode()


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (_r2z2, "$.hash"),
        (_redisq, "$.hash"),
        (_zkb_list_entry, "$.killmail_hash"),
        (_history_entry, None),
        (_zkb_api, "$.zkb.hash"),
        (_everef, "$.killmail_hash"),
    ],
    ids=["r2z2", "redisq", "zkb-list", "zkb-history", "zkb-api", "everef"],
)
def test_hash_reject_field_is_path(
    document: Callable[[], bytes], field: str | None
) -> None:
    """The reject of a hash that differs from the stored killmail's stored
    the field as ``killmail_hash``, where every other reject has a path."""
    (record,) = prepare_document(
        document(), source_file="f", position="p", seen_at=SEEN_AT, prices={}
    )
    assert isinstance(record, EncodedKillmail | PendingKillmail)

    reject = hash_reject(record, STORED)

    expected = field or f"$.{record.killmail_id}"
    assert reject.field == expected
    assert _value_at(reject.raw, expected) == record.killmail_hash


def test_stored_hash_reject_has_path(db: Database, tmp_path: Path) -> None:
    line = _everef()
    changed = json.loads(line)
    changed["killmail_hash"] = STORED
    path = tmp_path / "day.jsonl"
    path.write_bytes(line + b"\n" + json.dumps(changed).encode() + b"\n")

    summary = import_paths(db, [path], offline=True, workers=0)

    assert summary.rejected == 1
    assert db.fetch_all("SELECT position, field FROM rejects") == [
        ("line 2", "$.killmail_hash")
    ]


def test_price_reject_field_is_path(db: Database, tmp_path: Path) -> None:
    """Rejected price records stored the bare field name, such as
    ``type_id``, where killmail rejects store ``$.type_id``."""
    path = tmp_path / "prices.json"
    path.write_text(
        '[{"type_id": 34, "average_price": 5.0}, {"type_id": -3},'
        ' {"type_id": 35, "average_price": "abc"}, {"average_price": 1.0},'
        ' {"type_id": 36, "adjusted_price": 1e16}]'
    )

    summary = import_prices(db, path)

    fields = db.fetch_all("SELECT field FROM rejects ORDER BY position")
    assert fields == [
        ("$.type_id",),
        ("$.average_price",),
        ("$.type_id",),
        ("$.adjusted_price",),
    ]
    assert summary.rejects[0].describe() == (
        "record 2: type_id is -3, expected a positive bigint (1 to 9223372036854775807)"
    )
    assert summary.rejects[2].describe() == (
        "record 4, field type_id: required field type_id is missing"
    )
