"""Files whose name promises one compressor but contain another's stream."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from collections.abc import Callable
from pathlib import Path

import pytest

from evedmv_tui import cli
from evedmv_tui.ingest.sources import FileReader, MisnamedFile
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import FakeServer, read_jsonl


@pytest.fixture
def killmail_lines() -> bytes:
    """JSON Lines of the real ESI killmail bodies of the shared fixtures."""
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    lines = [json.dumps(p["killmail"]) for p in read_jsonl(path)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("name", "compress", "renamed"),
    [
        ("x.json.gz", bz2.compress, "x.json.bz2"),
        ("x.JSONL.BZ2", gzip.compress, "x.JSONL.gz"),
        ("x.tgz", lzma.compress, "x.txz"),
    ],
)
def test_reader_rejects_other_compressor(
    tmp_path: Path,
    killmail_lines: bytes,
    name: str,
    compress: Callable[[bytes], bytes],
    renamed: str,
) -> None:
    """A bzip2 file named .gz was read without any warning."""
    path = tmp_path / name
    path.write_bytes(compress(killmail_lines))
    reader = FileReader(path)

    with pytest.raises(MisnamedFile) as caught:
        list(reader.documents())

    assert "misnamed" in caught.value.title
    assert f"rename it to {renamed}" in str(caught.value.hint)
    assert reader.bytes_read == 0


def test_import_rejects_bzip2_named_gz(
    db: Database,
    fake: FakeServer,
    killmail_lines: bytes,
    tmp_path: Path,
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")
    path = tmp_path / "x.json.gz"
    path.write_bytes(bz2.compress(killmail_lines))

    status = cli.main(["import", str(path)])

    out = capsys.readouterr().out
    assert status == 1
    assert "0 read, 0 inserted" in out
    assert "1 file unreadable" in out
    assert "not a gzip archive but a bzip2 archive" in out
    assert "rename it to x.json.bz2" in out
