"""Killmail structs: decoding, validation paths, item flattening, hashes."""

from __future__ import annotations

import datetime as dt
import json

import msgspec
import pytest

from evedmv_tui.killmails import (
    Item,
    decode_killmail,
    decode_zkb,
    flatten_items,
    normalize_hash,
)
from tests.conftest import shared_file


def _first_line(relative: str) -> dict[str, object]:
    with shared_file(relative).open("rb") as handle:
        document: dict[str, object] = json.loads(handle.readline())
    return document


def test_decode_real_esi_body() -> None:
    raw = shared_file("killmails/real/esi_killmail_seb-odessa.json").read_bytes()
    killmail = decode_killmail(raw)
    assert killmail.killmail_id > 0
    assert killmail.killmail_time.tzinfo is not None
    assert killmail.attackers
    assert killmail.victim.ship_type_id > 0


def test_time_with_fraction_and_zone() -> None:
    document = _first_line("killmails/real/everef_cluster_samples.jsonl")
    document["killmail_time"] = "2021-11-27T12:34:56.789Z"
    killmail = decode_killmail(json.dumps(document).encode())
    assert killmail.killmail_time == dt.datetime(
        2021, 11, 27, 12, 34, 56, 789000, tzinfo=dt.UTC
    )


def test_time_without_zone_is_utc() -> None:
    document = _first_line("killmails/real/everef_cluster_samples.jsonl")
    document["killmail_time"] = "2021-11-27T12:34:56"
    killmail = decode_killmail(json.dumps(document).encode())
    assert killmail.killmail_time.tzinfo == dt.UTC


def test_error_names_json_path() -> None:
    document = _first_line("killmails/real/everef_cluster_samples.jsonl")
    attackers = document["attackers"]
    assert isinstance(attackers, list)
    attackers[0]["damage_done"] = "lots"
    with pytest.raises(
        msgspec.ValidationError, match=r"\$\.attackers\[0\]\.damage_done"
    ):
        decode_killmail(json.dumps(document).encode())


def test_negative_damage_rejected() -> None:
    document = _first_line("killmails/real/everef_cluster_samples.jsonl")
    victim = document["victim"]
    assert isinstance(victim, dict)
    victim["damage_taken"] = -1
    with pytest.raises(msgspec.ValidationError, match=r"\$\.victim\.damage_taken"):
        decode_killmail(json.dumps(document).encode())


def test_empty_attackers_rejected() -> None:
    document = _first_line("killmails/real/everef_cluster_samples.jsonl")
    document["attackers"] = []
    with pytest.raises(msgspec.ValidationError, match=r"\$\.attackers"):
        decode_killmail(json.dumps(document).encode())


def test_zkb_camel_case_fields() -> None:
    raw = shared_file("killmails/feeds/redisq_package_119455394.json").read_bytes()
    package = json.loads(raw)["package"]
    zkb = decode_zkb(json.dumps(package["zkb"]).encode())
    assert zkb.location_id == 40307608
    assert zkb.total_value == pytest.approx(142572993.92)
    assert zkb.solo is True
    assert zkb.labels is not None
    assert "solo" in zkb.labels


def test_flatten_nested_items() -> None:
    inner = [Item(2, 0), Item(3, 0, items=[Item(4, 0)])]
    items = [Item(1, 5, items=inner), Item(5, 11)]
    flat = flatten_items(items)
    assert [item.item_type_id for _, item in flat] == [1, 2, 3, 4, 5]
    assert [parent for parent, _ in flat] == [None, 0, 0, 2, None]


def test_flatten_flat_items() -> None:
    items = [Item(1, 5), Item(2, 11)]
    assert flatten_items(items) == [(None, items[0]), (None, items[1])]


def test_hash_stripped() -> None:
    value = "  0a08a08843a4f33bf9712304772636e78d2b61ae\n"
    assert normalize_hash(value) == "0a08a08843a4f33bf9712304772636e78d2b61ae"


@pytest.mark.parametrize(
    "value",
    [
        "0A08A08843A4F33BF9712304772636E78D2B61AE",
        "0a08a08843a4f33bf9712304772636e78d2b61a",
        "0a08a08843a4f33bf9712304772636e78d2b61aeff",
        "zz08a08843a4f33bf9712304772636e78d2b61ae",
        "",
        12345,
        None,
    ],
)
def test_bad_hash_rejected(value: object) -> None:
    with pytest.raises(ValueError):
        normalize_hash(value)
