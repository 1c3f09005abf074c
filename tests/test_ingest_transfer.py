"""How reader processes hand their records to the importer."""

from __future__ import annotations

import datetime as dt
import gc
import json
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.ingest.encode import (
    EncodedKillmail,
    WritableRecord,
    pack_killmails,
    prepare_document,
    unpack_killmails,
)
from evedmv_tui.ingest.parallel import (
    READER_SWITCH_INTERVAL,
    ReadEvent,
    read_in_processes,
    tune_reader_process,
)
from evedmv_tui.ingest.shapes import RejectedRecord
from tests.conftest import shared_file

SEEN_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _documents(count: int) -> list[dict[str, Any]]:
    """Return EVE Ref archive members: ESI bodies with ``killmail_hash``."""
    path = shared_file("killmails/real/everef_cluster_samples.jsonl")
    lines = path.read_bytes().splitlines()[:count]
    return [json.loads(line) for line in lines]


def _encoded(document: dict[str, Any], position: str) -> EncodedKillmail:
    records = prepare_document(
        json.dumps(document).encode(),
        source_file="day.tar.bz2",
        position=position,
        seen_at=SEEN_AT,
        prices={},
    )
    assert len(records) == 1
    record = records[0]
    assert isinstance(record, EncodedKillmail)
    return record


def test_killmail_event_sends_one_message() -> None:
    """Pickling a batch of encoded killmails record by record cost the
    reader process and the importer more CPU than MessagePack, so a batch of
    them crosses the process boundary as one packed message."""
    records = [
        _encoded(document, f"member {number}")
        for number, document in enumerate(_documents(5))
    ]
    event = ReadEvent(3, "records", records, 12_345)
    pickled = pickle.dumps(event)
    assert pack_killmails(records) in pickled
    again = pickle.loads(pickled)
    assert again == event
    assert isinstance(again.records, list)
    assert all(type(record) is EncodedKillmail for record in again.records)


def test_mixed_event_pickles_every_record() -> None:
    killmail = _encoded(_documents(1)[0], "line 1")
    reject = RejectedRecord("day.jsonl", "line 2", None, "$", "invalid JSON", "{")
    records: list[WritableRecord] = [killmail, reject]
    event = ReadEvent(0, "records", records, 99)
    again = pickle.loads(pickle.dumps(event))
    assert again == event
    assert again.records[1] == reject


def test_error_event_keeps_its_fields() -> None:
    event = ReadEvent(2, "error", (), 10, "damaged", damaged=False)
    assert pickle.loads(pickle.dumps(event)) == event


def test_packed_time_keeps_its_instant() -> None:
    record = _encoded(_documents(1)[0], "line 1")
    offset = dt.timezone(dt.timedelta(hours=2))
    local = record.killmail_time.astimezone(offset)
    shifted = EncodedKillmail(
        record.killmail_id,
        local,
        *(getattr(record, name) for name in record.__struct_fields__[2:]),
    )
    (again,) = unpack_killmails(pack_killmails([shifted]))
    assert again.killmail_time == local
    assert again.killmail_time.utcoffset() == dt.timedelta(0)
    assert again.killmail_copy == record.killmail_copy


def test_reader_process_returns_same_records(tmp_path: Path) -> None:
    documents = _documents(20)
    path = tmp_path / "day.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in documents), "utf-8")
    events = list(read_in_processes([path], 1, prices={}))
    assert [event.kind for event in events] == ["records", "end"]
    received = events[0].records
    expected = [
        _encoded(document, f"line {number}")
        for number, document in enumerate(documents, start=1)
    ]
    assert [r.killmail_id for r in received] == [r.killmail_id for r in expected]
    for got, want in zip(received, expected, strict=True):
        assert isinstance(got, EncodedKillmail)
        # The stored rows differ only in the time each batch was seen.
        assert got.index_copy == want.index_copy
        assert got.attackers_copy == want.attackers_copy
        assert got.items_copy == want.items_copy
        assert got.killmail_time == want.killmail_time
        assert got.position == want.position


@pytest.fixture
def restored_tuning() -> Iterator[None]:
    threshold = gc.get_threshold()
    interval = sys.getswitchinterval()
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)


@pytest.mark.usefixtures("restored_tuning")
def test_reader_tuning_shortens_switch_interval() -> None:
    """With the default 5 ms switch interval, the decompressing thread of a
    reader process waited for the GIL after each block of output while the
    parsing thread ran, which made reading an archive slower than its
    decompression alone."""
    sys.setswitchinterval(0.005)
    tune_reader_process()
    assert sys.getswitchinterval() == pytest.approx(READER_SWITCH_INTERVAL)
    assert READER_SWITCH_INTERVAL < 0.001
    assert gc.get_threshold()[0] == 50_000
