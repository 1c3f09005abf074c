"""Shape detection and parsing of single documents, from real data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evedmv_tui.generate.documents import DAMAGE, DEFAULT_DAMAGE
from evedmv_tui.ingest import shapes
from evedmv_tui.ingest.shapes import (
    ParsedKillmail,
    PendingKillmail,
    RejectedRecord,
    Shape,
    classify,
    parse_document,
)
from tests.conftest import shared_file


def _lines(relative: str) -> list[bytes]:
    return shared_file(relative).read_bytes().splitlines()


def _json(relative: str) -> Any:
    return json.loads(shared_file(relative).read_bytes())


def _parse(raw: bytes | dict[str, Any]) -> list[Any]:
    return parse_document(raw, source_file="test.json", position="line 1")


def _only(raw: bytes | dict[str, Any]) -> Any:
    records = _parse(raw)
    assert len(records) == 1, records
    return records[0]


@pytest.mark.parametrize(
    ("relative", "shape"),
    [
        ("killmails/real/esi_killmail_seb-odessa.json", Shape.ESI),
        ("killmails/feeds/redisq_package_119455394.json", Shape.REDISQ),
        ("killmails/feeds/r2z2_shrike_testdata_900001.json", Shape.R2Z2),
        ("killmails/feeds/zkb_history_20190801.json", Shape.ZKB_HISTORY),
    ],
)
def test_classify_whole_files(relative: str, shape: Shape) -> None:
    assert classify(_json(relative)) is shape


@pytest.mark.parametrize(
    ("relative", "shape"),
    [
        ("killmails/real/everef_cluster_samples.jsonl", Shape.EVEREF),
        ("killmails/real/zkb_api_2018-05-19.jsonl", Shape.ZKB_API),
        ("killmails/real/zk_activity_fixtures.jsonl", Shape.REDISQ),
        ("killmails/real/evekill_shrike_corpus.jsonl", Shape.ESI),
    ],
)
def test_classify_jsonl_lines(relative: str, shape: Shape) -> None:
    shapes = {classify(json.loads(line)) for line in _lines(relative)}
    assert shapes == {shape}


def test_classify_zkb_api_list_entries() -> None:
    entries = _json("killmails/feeds/zkb_api_moldenheath_npc.json")
    assert {classify(entry) for entry in entries} == {Shape.ZKB_ONLY}


def test_classify_empty_redisq_poll() -> None:
    assert classify({"package": None}) is Shape.EMPTY
    assert _parse(b'{"package": null}') == []


@pytest.mark.parametrize(
    "relative",
    [
        "killmails/real/everef_cluster_samples.jsonl",
        "killmails/real/zkb_api_2018-05-19.jsonl",
        "killmails/real/zk_activity_fixtures.jsonl",
        "killmails/real/evekill_shrike_corpus.jsonl",
    ],
)
def test_every_real_line_parses(relative: str) -> None:
    for line in _lines(relative):
        record = _only(line)
        assert isinstance(record, ParsedKillmail), record


def test_everef_member_keeps_hash() -> None:
    line = _lines("killmails/real/everef_cluster_samples.jsonl")[0]
    record = _only(line)
    assert record.killmail_hash == json.loads(line)["killmail_hash"]
    assert record.source == "everef"
    assert record.zkb is None
    assert record.esi_body == line.decode()


def test_redisq_package_has_inner_body() -> None:
    raw = shared_file("killmails/feeds/redisq_package_119455394.json").read_bytes()
    record = _only(raw)
    assert isinstance(record, ParsedKillmail)
    assert record.killmail_id == 119455394
    assert record.killmail_hash == "d2913bf8250db18456601a8ae061441e89ccadf3"
    assert json.loads(record.esi_body) == json.loads(raw)["package"]["killmail"]
    assert record.zkb_body is not None
    assert json.loads(record.zkb_body) == json.loads(raw)["package"]["zkb"]


def test_r2z2_document_parses() -> None:
    raw = shared_file("killmails/feeds/r2z2_shrike_testdata_900002.json").read_bytes()
    document = json.loads(raw)
    record = _only(raw)
    assert isinstance(record, ParsedKillmail)
    assert record.killmail_id == document["killmail_id"]
    assert record.killmail_hash == document["hash"]
    assert record.source == "r2z2"


def test_decoded_document_equals_raw() -> None:
    raw = shared_file("killmails/feeds/r2z2_shrike_testdata_900001.json").read_bytes()
    from_raw = _only(raw)
    from_object = _only(json.loads(raw))
    assert from_object.killmail == from_raw.killmail
    assert json.loads(from_object.esi_body) == json.loads(from_raw.esi_body)


def test_zkb_only_entry_is_pending() -> None:
    entry = _json("killmails/feeds/zkb_api_shipTypeID-34495_regionID-10000028.json")[0]
    record = _only(entry)
    assert isinstance(record, PendingKillmail)
    assert record.killmail_id == entry["killmail_id"]
    assert record.killmail_hash == entry["zkb"]["hash"]
    assert record.zkb_body is not None


def test_redisq_package_without_body_is_pending() -> None:
    package = _json("killmails/feeds/redisq_package_119455394.json")
    del package["package"]["killmail"]
    record = _only(package)
    assert isinstance(record, PendingKillmail)
    assert record.killmail_id == 119455394


def test_history_expands_to_references() -> None:
    raw = shared_file("killmails/feeds/zkb_history_20190801.json").read_bytes()
    records = _parse(raw)
    assert len(records) == 11608
    assert all(isinstance(record, PendingKillmail) for record in records)


def test_history_bad_entry_rejected_alone() -> None:
    records = _parse(
        b'{"78146996": "4ceed992204ea5cab36f9543e80b90f0417534f5",'
        b' "78146999": "not-a-hash"}'
    )
    assert isinstance(records[0], PendingKillmail)
    reject = records[1]
    assert isinstance(reject, RejectedRecord)
    assert reject.killmail_id == 78146999
    assert reject.field == "$.78146999"


def test_hash_whitespace_stripped() -> None:
    entry = _json("killmails/feeds/zkb_api_moldenheath_npc.json")[0]
    expected = entry["zkb"]["hash"]
    entry["zkb"]["hash"] = f"  {expected}\n"
    record = _only(entry)
    assert isinstance(record, PendingKillmail)
    assert record.killmail_hash == expected


def test_uppercase_hash_rejected() -> None:
    entry = _json("killmails/feeds/zkb_api_moldenheath_npc.json")[0]
    entry["zkb"]["hash"] = entry["zkb"]["hash"].upper()
    reject = _only(entry)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.zkb.hash"
    assert "40 lowercase hexadecimal" in reject.reason
    assert reject.killmail_id == entry["killmail_id"]


def test_conflicting_hashes_rejected() -> None:
    document = _json("killmails/feeds/r2z2_shrike_testdata_900001.json")
    document["zkb"]["hash"] = "0" * 40
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.zkb.hash"
    assert "differs" in reject.reason


def test_mismatched_ids_rejected() -> None:
    document = _json("killmails/feeds/r2z2_shrike_testdata_900001.json")
    document["killmail_id"] += 1
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.esi.killmail_id"


def test_reference_without_hash_rejected() -> None:
    reject = _only({"killmail_id": 123, "zkb": {"totalValue": 5.0}})
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.zkb.hash"
    assert reject.killmail_id == 123


def test_missing_field_path() -> None:
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    del document["victim"]["ship_type_id"]
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.victim.ship_type_id"
    assert reject.killmail_id == document["killmail_id"]


def test_nested_field_path_in_package() -> None:
    document = json.loads(_lines("killmails/real/zk_activity_fixtures.jsonl")[0])
    document["killmail"]["attackers"][2]["final_blow"] = "yes"
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.killmail.attackers[2].final_blow"
    assert reject.killmail_id == document["killID"]


def test_time_out_of_range_rejected() -> None:
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    document["killmail_time"] = "1999-01-01T00:00:00Z"
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.killmail_time"


def test_future_time_rejected() -> None:
    """A time in the future would end every intel page's period there."""
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    document["killmail_time"] = "2099-01-01T00:00:00Z"
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.killmail_time"
    assert "is in the future" in reject.reason
    assert "fix the time in the source, or this machine's clock" in reject.reason

    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    document["killmail_time"] = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not isinstance(_only(document), RejectedRecord)


def test_absurd_zkb_value_rejected() -> None:
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    document["zkb"] = {"totalValue": 1e300}
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.zkb.totalValue"
    assert reject.reason.startswith("totalValue 1e+300 ISK is more than 1e+15 ISK")

    document["zkb"] = {"totalValue": -1.0}
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.zkb.totalValue"

    document["zkb"] = {"totalValue": 2.5e12}
    assert not isinstance(_only(document), RejectedRecord)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("attackers", 0, "damage_done"), "$.attackers[0].damage_done"),
        (("victim", "damage_taken"), "$.victim.damage_taken"),
    ],
)
def test_damage_above_int32_rejected(path: tuple[Any, ...], field: str) -> None:
    """ESI gives damage as int32, so a larger value is corrupt input."""
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    parent = document
    for key in path[:-1]:
        parent = parent[key]

    parent[path[-1]] = 2**62
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == field
    name = path[-1]
    assert reject.reason == (
        f"{name} {2**62} is out of range: it must be at most 2147483647"
    )
    assert reject.killmail_id == document["killmail_id"]

    parent[path[-1]] = -1
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == field
    assert reject.reason == f"{name} -1 is out of range: it must be at least 0"

    parent[path[-1]] = 2**31 - 1
    assert isinstance(_only(document), ParsedKillmail)


def test_generated_damage_within_int32() -> None:
    highest = max(high for _, high in [*DAMAGE.values(), DEFAULT_DAMAGE])
    assert highest <= 2**31 - 1


def test_unknown_document_rejected() -> None:
    reject = _only(b'{"sequence": 900002}')
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$"
    assert "unrecognised" in reject.reason
    assert reject.raw == '{"sequence": 900002}'


def test_malformed_json_rejected() -> None:
    line = _lines("killmails/real/everef_cluster_samples.jsonl")[0]
    reject = _only(line[: len(line) // 2])
    assert isinstance(reject, RejectedRecord)
    assert reject.reason.startswith("invalid JSON")
    assert reject.raw == line[: len(line) // 2].decode()


def test_wrong_type_is_invalid_value() -> None:
    """Well-formed JSON with a wrong-typed field is not called invalid JSON."""
    line = _lines("killmails/real/everef_cluster_samples.jsonl")[0]
    document = json.loads(line)
    document["solar_system_id"] = "Jita"
    reject = _only(json.dumps(document).encode())
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.solar_system_id"
    assert reject.reason == 'solar_system_id is a string ("Jita"), expected an integer'
    assert reject.killmail_id == document["killmail_id"]


def _everef_reject(**changes: Any) -> RejectedRecord:
    """Reject of the first EVE Ref sample with top-level fields replaced."""
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    document.update(changes)
    reject = _only(json.dumps(document).encode())
    assert isinstance(reject, RejectedRecord)
    return reject


def test_negative_id_named_in_reject() -> None:
    """An invalid killmail_id is shown, and still fills the killmail column."""
    reject = _everef_reject(killmail_id=-20349486)
    assert reject.field == "$.killmail_id"
    assert reject.reason == (
        "killmail_id -20349486 is out of range: it must be at least 1"
    )
    assert reject.killmail_id == -20349486


def test_empty_attackers_named_in_plain_words() -> None:
    """msgspec's own wording leaked into the reason: "is invalid: expected
    `array` of length >= 1"."""
    reject = _everef_reject(attackers=[])
    assert reject.field == "$.attackers"
    assert reject.reason == "attackers [] is empty, expected at least one entry"


def test_unreadable_id_shown_as_text() -> None:
    reject = _everef_reject(killmail_id="12ab")
    assert reject.reason == 'killmail_id is a string ("12ab"), expected an integer'
    assert reject.killmail_id is None


def test_id_as_string_fills_killmail() -> None:
    reject = _everef_reject(killmail_id="123")
    assert reject.killmail_id == 123


def test_bad_time_shows_value() -> None:
    reject = _everef_reject(killmail_time="2024-13-99T00:00:00Z")
    assert reject.field == "$.killmail_time"
    assert reject.reason.startswith(
        'killmail_time "2024-13-99T00:00:00Z" is not a valid time: expected an'
        " RFC 3339 date and time"
    )


def test_missing_field_in_words() -> None:
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    del document["victim"]["ship_type_id"]
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.reason == "required field ship_type_id is missing"


def test_long_value_clipped() -> None:
    reject = _everef_reject(victim="x" * 500)
    assert reject.field == "$.victim"
    assert reject.reason.startswith('victim is a string ("xxx')
    assert reject.reason.endswith("…), expected an object")
    assert len(reject.reason) < 120


def test_boolean_id_named_as_boolean() -> None:
    """A boolean in an integer field read "killmail_id true is true or
    false, expected an integer"."""
    reject = _everef_reject(killmail_id=True)
    assert reject.reason == "killmail_id is a boolean (true), expected an integer"


def test_null_value_not_repeated() -> None:
    reject = _everef_reject(solar_system_id=None)
    assert reject.reason == "solar_system_id is null, expected an integer"


def _reordered(changes: dict[str, Any]) -> dict[str, Any]:
    """Return the first EVE Ref sample with ``changes`` first, in that order.

    msgspec reports the invalid fields in the order of the document.
    """
    sample = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    return {**changes, **{k: v for k, v in sample.items() if k not in changes}}


def test_every_invalid_field_named() -> None:
    """A reject named only the first invalid field of its record."""
    sample = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    victim = {**sample["victim"], "damage_taken": "x"}
    del victim["ship_type_id"]
    attackers = [{**sample["attackers"][0], "final_blow": 1}, {"final_blow": True}]
    document = _reordered(
        {"killmail_id": True, "victim": victim, "attackers": attackers}
    )
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.killmail_id"
    assert reject.killmail_shaped
    assert reject.reason == (
        "5 invalid fields: killmail_id is a boolean (true), expected an integer;"
        ' victim.damage_taken is a string ("x"), expected an integer;'
        " required field victim.ship_type_id is missing;"
        " attackers[0].final_blow is an integer (1), expected a boolean;"
        " required field attackers[1].damage_done is missing"
    )


def test_invalid_fields_of_wrapped_body() -> None:
    """Fields of a body inside a RedisQ package are named from the body."""
    body = _reordered({"solar_system_id": "Jita", "attackers": []})
    document = {"package": {"killID": body["killmail_id"], "killmail": body}}
    reject = _only(document)
    assert isinstance(reject, RejectedRecord)
    assert reject.field == "$.package.killmail.solar_system_id"
    assert reject.reason == (
        '2 invalid fields: solar_system_id is a string ("Jita"), expected an'
        " integer; attackers [] is empty, expected at least one entry"
    )


def test_invalid_fields_beyond_limit_counted() -> None:
    sample = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    attackers = [{**sample["attackers"][0], "damage_done": -1}] * 12
    reject = _only(_reordered({"killmail_id": True, "attackers": attackers}))
    assert isinstance(reject, RejectedRecord)
    assert reject.reason.startswith("13 invalid fields: killmail_id is a boolean")
    assert "attackers[8].damage_done -1 is out of range" in reject.reason
    assert "attackers[9]" not in reject.reason
    assert reject.reason.endswith("; 3 more invalid fields are not shown")


def test_one_invalid_field_keeps_short_reason() -> None:
    reject = _everef_reject(killmail_id="12ab")
    assert not reject.reason.startswith("1 invalid field")


def test_reject_marks_killmail_documents() -> None:
    """Only records with the keys of a killmail document are marked as
    killmails with invalid fields, which the import summary relies on."""
    killmail = _everef_reject(killmail_id=True)
    other = _only(b'{"region_id": 1}')
    not_json = _only(b"region_id,name")
    assert killmail.killmail_shaped
    assert isinstance(other, RejectedRecord)
    assert not other.killmail_shaped
    assert isinstance(not_json, RejectedRecord)
    assert not not_json.killmail_shaped


def test_history_hash_of_wrong_type() -> None:
    raw = b'{"11": "4ceed992204ea5cab36f9543e80b90f0417534f5", "12": 5}'
    (_, reject) = parse_document(raw, source_file="f", position="line 1")
    assert isinstance(reject, RejectedRecord)
    assert reject.killmail_id == 12
    assert reject.reason.startswith("invalid killmail hash 5: expected a string")


def test_source_override() -> None:
    line = _lines("killmails/real/everef_cluster_samples.jsonl")[0]
    records = parse_document(line, source_file="x", position="y", source="esi")
    assert isinstance(records[0], ParsedKillmail)
    assert records[0].source == "esi"


def _general_path(
    monkeypatch: pytest.MonkeyPatch, raw: bytes, source: str | None
) -> list[Any]:
    """Parse ``raw`` with the single-decode path for ESI bodies turned off."""
    with monkeypatch.context() as patch:
        patch.setattr(shapes, "_parse_esi", lambda raw, source: None)
        return parse_document(raw, source_file="x", position="y", source=source)


@pytest.mark.parametrize(
    "relative",
    [
        "killmails/real/everef_cluster_samples.jsonl",
        "killmails/real/zkb_api_2018-05-19.jsonl",
        "killmails/real/evekill_shrike_corpus.jsonl",
    ],
)
@pytest.mark.parametrize("source", [None, "esi"])
def test_single_decode_equals_general_path(
    monkeypatch: pytest.MonkeyPatch, relative: str, source: str | None
) -> None:
    for line in _lines(relative)[:50]:
        assert shapes._parse_esi(line, source) is not None
        fast = parse_document(line, source_file="x", position="y", source=source)
        assert fast == _general_path(monkeypatch, line, source)


@pytest.mark.parametrize(
    ("extra", "value"),
    [
        ("killID", 1),
        ("package", None),
        ("killmail", {}),
        ("esi", {}),
        ("sequence_id", 5),
    ],
)
def test_single_decode_leaves_feed_keys(
    monkeypatch: pytest.MonkeyPatch, extra: str, value: Any
) -> None:
    """An ESI body with a RedisQ or R2Z2 key is not taken for a plain body."""
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    document[extra] = value
    raw = json.dumps(document).encode()
    assert shapes._parse_esi(raw, None) is None
    records = parse_document(raw, source_file="x", position="y")
    assert records == _general_path(monkeypatch, raw, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("killmail_time", "1999-01-01T00:00:00Z"),
        ("killmail_time", "2099-01-01T00:00:00Z"),
        ("killmail_hash", "NOT-A-HASH"),
        ("solar_system_id", "Jita"),
        ("zkb", {"totalValue": "a lot"}),
        ("zkb", {"totalValue": 1e300}),
    ],
)
def test_single_decode_leaves_rejects(
    monkeypatch: pytest.MonkeyPatch, field: str, value: Any
) -> None:
    """A document that fails a check gets the general path's reject."""
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    document[field] = value
    raw = json.dumps(document).encode()
    assert shapes._parse_esi(raw, None) is None
    records = parse_document(raw, source_file="x", position="y")
    assert isinstance(records[0], RejectedRecord)
    assert records == _general_path(monkeypatch, raw, None)


def test_single_decode_time_without_zone() -> None:
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[0])
    document["killmail_time"] = document["killmail_time"].rstrip("Z")
    record = shapes._parse_esi(json.dumps(document).encode(), None)
    assert isinstance(record, ParsedKillmail)
    assert record.killmail.killmail_time.tzinfo is dt.UTC
    assert record.attacker_rows[0][1].tzinfo is dt.UTC


def _real_samples() -> list[bytes]:
    samples = _lines("killmails/real/everef_cluster_samples.jsonl")[:5]
    samples += _lines("killmails/real/zk_activity_fixtures.jsonl")[:2]
    samples.append(
        shared_file("killmails/feeds/r2z2_shrike_testdata_900001.json").read_bytes()
    )
    return samples


def _check_outcome(records: list[Any]) -> None:
    for record in records:
        assert isinstance(record, ParsedKillmail | PendingKillmail | RejectedRecord)
        if isinstance(record, RejectedRecord):
            assert record.reason
            assert record.source_file == "fuzz"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_truncated_real_documents(data: st.DataObject) -> None:
    """Any prefix of a real document is parsed or rejected with a reason."""
    samples = _real_samples()
    raw = data.draw(st.sampled_from(samples))
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    records = parse_document(raw[:cut], source_file="fuzz", position="p")
    _check_outcome(records)
    if cut < len(raw.rstrip()):
        assert all(isinstance(r, RejectedRecord) for r in records)


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    _check_outcome(parse_document(raw, source_file="fuzz", position="p"))


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "killmail_id",
                    "killmail_time",
                    "victim",
                    "attackers",
                    "zkb",
                    "package",
                    "killID",
                    "killmail",
                    "esi",
                    "hash",
                    "items",
                    "ship_type_id",
                    "damage_taken",
                    "12345",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(document=st.dictionaries(st.text(max_size=12), _json_values, max_size=6))
def test_random_json_objects(document: dict[str, Any]) -> None:
    raw = msgspec.json.encode(document)
    _check_outcome(parse_document(raw, source_file="fuzz", position="p"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_real_fields(data: st.DataObject) -> None:
    """A real killmail with one field replaced is parsed or rejected at that field."""
    document = json.loads(_lines("killmails/real/everef_cluster_samples.jsonl")[1])
    key = data.draw(st.sampled_from(sorted(document["victim"])))
    value = data.draw(_json_values)
    document["victim"][key] = value
    records = parse_document(
        msgspec.json.encode(document), source_file="fuzz", position="p"
    )
    _check_outcome(records)
    for record in records:
        if isinstance(record, RejectedRecord):
            assert record.field is not None
            assert record.field.startswith(f"$.victim.{key}")
            assert record.killmail_id == document["killmail_id"]


def test_unicode_digit_keys_not_history() -> None:
    """Keys like "¹" pass str.isdigit but are no killmail ids; parsing crashed."""
    reject = _only('{"¹": null}'.encode())
    assert isinstance(reject, RejectedRecord)
    assert "unrecognised" in reject.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            b'{"killmail_id": 1',
            "invalid JSON: the text ends inside a value, so the record was cut off",
        ),
        (
            b'{"killmail_id": tru}',
            "invalid JSON: invalid character at byte 17, near '{\"killmail_id\": tru}'",
        ),
        (
            b'{"killmail_id": 1}}',
            "invalid JSON: more text after the end of the record at byte 19,"
            " near '{\"killmail_id\": 1}}'",
        ),
    ],
)
def test_syntax_error_in_words(text: bytes, reason: str) -> None:
    """msgspec's 'Input data was truncated' and byte offsets read as words."""
    reject = _only(text)
    assert isinstance(reject, RejectedRecord)
    assert reject.reason == reason
