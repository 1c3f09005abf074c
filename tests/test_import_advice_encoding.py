"""Import advice for a file in UTF-16, of which nothing can be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

SAMPLES = "killmails/real/everef_cluster_samples.jsonl"


@pytest.fixture
def utf16_file(tmp_path: Path) -> Path:
    """One real killmail document, saved as UTF-16 with a byte order mark."""
    line = shared_file(SAMPLES).read_text(encoding="utf-8").splitlines()[508]
    path = tmp_path / "utf16.json"
    path.write_bytes(line.encode("utf-16"))
    return path


def test_utf16_file_gets_iconv_advice(
    utf16_file: Path,
    db: Database,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A UTF-16 file was called damaged, with the advice to fetch it again,
    although fetching it again gives the same file."""
    status = main(["--dsn", db_url, "--offline", "import", str(utf16_file)])
    out = capsys.readouterr().out

    assert status == 1
    assert "0 rejected, 1 file unreadable" in out
    assert "damaged" not in out
    assert "truncated or corrupt" not in out
    assert "every record was rejected" not in out
    assert "iconv -f UTF-16 -t UTF-8 FILE > NEW.json" in out
    assert f"{utf16_file} is UTF-16 text" in out


def test_utf16_file_reject_at_byte_zero(
    utf16_file: Path,
    db: Database,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The reject of a UTF-16 file gave the file's size as the byte where
    reading stopped, although none of it was read."""
    main(["--dsn", db_url, "--offline", "import", "--json", str(utf16_file)])
    summary = json.loads(capsys.readouterr().out)
    main(["--dsn", db_url, "rejects", "list", "--json"])
    listed = capsys.readouterr().out

    (item,) = summary["files"]
    assert item["damaged"] is False
    assert item["read"] == 0
    assert item["rejected"] == 1
    position = db.fetch_value(
        "SELECT position FROM rejects WHERE source_file = %s", (str(utf16_file),)
    )
    assert position == "byte 0"
    assert "byte 0" in listed
    assert f"byte {utf16_file.stat().st_size}" not in listed
