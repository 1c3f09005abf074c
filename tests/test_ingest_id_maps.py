"""JSON objects keyed by killmail id: zKillboard history, and other maps."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from evedmv_tui.commands.ingest import print_summary
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.ingest.shapes import PendingKillmail, RejectedRecord, parse_document
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

HASH = "0123456789abcdef" * 2 + "01234567"

LABEL_FILES = [
    "killmails/real/evekill_shrike_corpus_labels.json",
    "killmails/real/zk_activity_fixture_names.json",
]


@pytest.mark.parametrize("relative", LABEL_FILES)
def test_label_map_is_one_reject(relative: str) -> None:
    """A map of killmail ids to labels was read as zKillboard history: one
    reject per label, each counted as a killmail with an invalid hash."""
    path = shared_file(relative)

    records = parse_document(
        path.read_bytes(), source_file=str(path), position="line 1"
    )

    assert len(records) == 1
    (reject,) = records
    assert isinstance(reject, RejectedRecord)
    assert not reject.killmail_shaped
    assert reject.field == "$"
    assert reject.position == "line 1"
    assert reject.killmail_id is None
    assert "not killmail hashes" in reject.reason
    assert reject.raw == path.read_text()


def test_history_with_some_hashes_rejects_rest() -> None:
    raw = json.dumps({"1": HASH, "2": "npc", "3": None}).encode()

    records = parse_document(raw, source_file="f", position="line 1")

    assert [type(record) for record in records] == [
        PendingKillmail,
        RejectedRecord,
        RejectedRecord,
    ]
    rejects = [record for record in records if isinstance(record, RejectedRecord)]
    assert [reject.field for reject in rejects] == ["$.2", "$.3"]
    assert all(reject.killmail_shaped for reject in rejects)
    assert "invalid killmail hash" in rejects[0].reason


def test_history_keys_named_by_line() -> None:
    """Every entry of a pretty-printed history object was placed on the line
    the object starts on, however far down the file its key sits."""
    raw = (
        "\n\n{\n"
        f'  "1": "{HASH}",\n'
        '  "2": "zz",\n'
        '  "3": {"4": "x",\n'
        '        "5": "y"},\n'
        '  "5": null\n'
        "}\n"
    ).encode()

    records = parse_document(raw, source_file="f", position="member a.json line 3")

    assert [record.position for record in records] == [
        "member a.json line 4 key 1",
        "member a.json line 5 key 2",
        "member a.json line 6 key 3",
        "member a.json line 8 key 5",
    ]


def test_one_line_history_keeps_its_line() -> None:
    raw = json.dumps({"7": HASH, "8": "zz"}).encode()

    records = parse_document(raw, source_file="f", position="line 12")

    assert [record.position for record in records] == [
        "line 12 key 7",
        "line 12 key 8",
    ]


def test_real_history_names_each_line(tmp_path: Path) -> None:
    """zkb_history_20190801.json, pretty-printed, gives each key its line."""
    source = shared_file("killmails/feeds/zkb_history_20190801.json")
    entries = json.loads(source.read_bytes())
    pretty = json.dumps(entries, indent=2).encode()

    records = parse_document(pretty, source_file="f", position="line 1")

    assert len(records) == len(entries)
    assert all(isinstance(record, PendingKillmail) for record in records)
    lines = pretty.split(b"\n")
    for record in records[:50] + records[-50:]:
        assert isinstance(record, PendingKillmail)
        number = int(record.position.split()[1])
        assert lines[number - 1].strip().startswith(f'"{record.killmail_id}"'.encode())


def test_label_file_import_advises_leaving_out(db: Database) -> None:
    path = shared_file("killmails/real/zk_activity_fixture_names.json")

    summary = import_paths(db, [path], offline=True, workers=0)

    assert summary.read == 1
    assert summary.rejected == 1
    (counts,) = summary.files
    assert counts.rejected_killmails == 0
    stream = io.StringIO()
    print_summary(summary, stream)
    text = stream.getvalue()
    assert f"{path}: every record was rejected" in text
    assert "Fix the rejected records" not in text
