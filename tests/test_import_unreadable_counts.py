"""Import summaries of damaged and misnamed files: the parts add up to read."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from evedmv_tui import cli
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import FakeServer, read_jsonl

TOTALS = re.compile(
    r"([\d,]+) read, ([\d,]+) inserted, ([\d,]+) updated, ([\d,]+) duplicates,"
    r" ([\d,]+) pending, ([\d,]+) rejected"
)


@pytest.fixture
def killmail_lines() -> bytes:
    """JSON Lines of the real ESI killmail bodies of the shared fixtures."""
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    lines = [json.dumps(p["killmail"]) for p in read_jsonl(path)]
    return ("\n".join(lines) + "\n").encode()


def totals(text: str) -> list[int]:
    """The counts of the summary's last line, in their order."""
    found = TOTALS.findall(text)
    assert found, text
    return [int(value.replace(",", "")) for value in found[-1]]


def test_damaged_file_named_apart(
    db: Database,
    fake: FakeServer,
    killmail_lines: bytes,
    tmp_path: Path,
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The reject of a truncated file's rest counted as rejected but not as
    read, so the parts of the summary added up to one more than read."""
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")
    compressed = gzip.compress(killmail_lines)
    damaged = tmp_path / "trunc.jsonl.gz"
    damaged.write_bytes(compressed[: len(compressed) * 2 // 3])

    status = cli.main(["import", str(damaged)])
    out = capsys.readouterr().out
    cli.main(["import", "--json", str(damaged)])
    result = json.loads(capsys.readouterr().out)

    read, *parts = totals(out)
    assert status == 1
    assert read > 0
    assert sum(parts) == read
    assert "0 rejected, 1 file damaged" in out
    assert "1 file damaged; " in out
    assert "1 record rejected" not in out
    assert result["unreadable_files"] == 1
    assert result["rejected"] == 1


def test_misnamed_file_named_apart(
    db: Database,
    fake: FakeServer,
    killmail_lines: bytes,
    tmp_path: Path,
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A file whose name promises gzip but contains plain text showed
    "0 read, … 1 rejected" although no record was read."""
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")
    misnamed = tmp_path / "plain.jsonl.gz"
    misnamed.write_bytes(killmail_lines)

    status = cli.main(["import", str(misnamed)])
    out = capsys.readouterr().out

    assert status == 1
    assert totals(out) == [0, 0, 0, 0, 0, 0]
    assert "0 rejected, 1 file unreadable" in out
