"""Files whose name promises a compressor that their content lacks."""

from __future__ import annotations

import bz2
import io
import tarfile
from pathlib import Path

import pytest

from evedmv_tui.commands.ingest import print_summary
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.ingest.sources import FileReader, MisnamedFile
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

KILLMAIL = "killmails/real/esi_killmail_seb-odessa.json"


def _misnamed(path: Path) -> tuple[MisnamedFile, FileReader]:
    reader = FileReader(path)
    with pytest.raises(MisnamedFile) as caught:
        list(reader.documents())
    return caught.value, reader


def test_plain_json_named_gz(tmp_path: Path) -> None:
    path = tmp_path / "notgz.json.gz"
    path.write_bytes(shared_file(KILLMAIL).read_bytes())

    error, reader = _misnamed(path)

    assert error.message == (
        f"{path} is not a gzip archive but plain JSON text, although its name"
        " ends in a gzip suffix"
    )
    assert error.hint == "rename it to notgz.json and import it again"
    assert reader.bytes_read == 0


@pytest.mark.parametrize(
    ("name", "content", "renamed"),
    [
        ("a.tgz", b'[{"a": 1}]', "a.json"),
        ("b.jsonl.bz2", b'{"a": 1}\n{"a": 2}\n', "b.jsonl"),
        ("c.gz", b'\xef\xbb\xbf  {"a": 1}', "c.json"),
        ("d.tar.gz", b'{"a": 1}', "d.json"),
    ],
)
def test_json_named_compressed(
    tmp_path: Path, name: str, content: bytes, renamed: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    error, _ = _misnamed(path)

    assert "but plain JSON text, although" in error.message
    assert error.hint == f"rename it to {renamed} and import it again"


def test_uncompressed_tar_named_tgz(tmp_path: Path) -> None:
    path = tmp_path / "day.tgz"
    with tarfile.open(path, "w") as tar:
        body = shared_file(KILLMAIL).read_bytes()
        info = tarfile.TarInfo("killmails/1.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))

    error, _ = _misnamed(path)

    assert "but an uncompressed tar archive" in error.message
    assert error.hint == "rename it to day.tar and import it again"


def test_unknown_content_is_broken_archive(tmp_path: Path) -> None:
    path = tmp_path / "day.tar.bz2"
    path.write_text("<html>Not Found</html>")

    error, reader = _misnamed(path)

    assert error.title == "broken archive"
    assert "is not a bzip2 archive" in error.message
    assert error.hint == "check the download and fetch the archive again"
    assert reader.bytes_read == 0


def test_misnamed_file_reads_nothing(db: Database, tmp_path: Path) -> None:
    """A plain JSON file named .gz was rejected at its size in bytes, with
    the advice of a truncated file, and counted as one record read."""
    path = tmp_path / "notgz.json.gz"
    path.write_bytes(shared_file(KILLMAIL).read_bytes())

    summary = import_paths(db, [path], offline=True, workers=0)

    assert summary.read == 0
    assert summary.rejected == 1
    (counts,) = summary.files
    assert counts.read == 0
    assert not counts.damaged
    (row,) = db.fetch_all("SELECT position, field, reason FROM rejects")
    assert row[0] == "byte 0"
    assert row[1] is None
    assert row[2].startswith(f"{path} is not a gzip archive but plain JSON text")
    assert "rest of the file" not in row[2]
    stream = io.StringIO()
    print_summary(summary, stream)
    text = stream.getvalue()
    assert "rename it to notgz.json and import it again" in text
    assert "Fix the rejected records" not in text
    assert "truncated or corrupt" not in text


def test_cut_archive_keeps_its_records(db: Database, tmp_path: Path) -> None:
    """The reject of a truncated archive's rest is not a record read."""
    lines = shared_file("killmails/real/everef_cluster_samples.jsonl").read_bytes()
    data = bz2.compress(lines)
    path = tmp_path / "cut.jsonl.bz2"
    path.write_bytes(data[: len(data) // 2])

    summary = import_paths(db, [path], offline=True, workers=0)

    (counts,) = summary.files
    assert counts.damaged
    assert counts.rejected == 1
    assert counts.read == counts.inserted
    assert counts.inserted > 0
    reason = db.fetch_value("SELECT reason FROM rejects")
    assert reason.startswith("the rest of the file cannot be read")
