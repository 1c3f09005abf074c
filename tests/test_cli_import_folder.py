"""``evedmv import FOLDER`` with files that are not killmail documents."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

SAMPLES = "killmails/real/everef_cluster_samples.jsonl"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder as a user may have it: killmails, an index, notes, bad files."""
    lines = shared_file(SAMPLES).read_bytes().splitlines()[:3]
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "good.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "notreally.tar.bz2").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "empty.json").write_bytes(b"")
    (folder / "notes.txt").write_text("not killmails\n")
    (folder / "clusters.csv").write_text("cluster,start,end\n1,2021,2021\n")
    return folder


def test_folder_import_skips_and_names_problems(
    folder: Path,
    db: Database,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="evedmv_tui")
    status = main(["--dsn", db_url, "--offline", "import", str(folder), "--json"])

    assert status == 1
    summary = json.loads(capsys.readouterr().out)
    files = {Path(item["path"]).name: item for item in summary["files"]}
    assert sorted(files) == ["empty.json", "good.jsonl", "notreally.tar.bz2"]
    assert files["good.jsonl"]["inserted"] == 3
    assert files["empty.json"]["read"] == 0
    assert files["notreally.tar.bz2"]["rejected"] == 1
    reason = db.fetch_value(
        "SELECT reason FROM rejects WHERE source_file LIKE %s",
        ("%notreally.tar.bz2",),
    )
    assert "is not a bzip2 archive" in reason
    assert "invalid JSON" not in reason
    warnings = [r.getMessage() for r in caplog.records]
    skipped = [w for w in warnings if w.startswith("skipped 2 files")]
    assert len(skipped) == 1
    assert "clusters.csv" in skipped[0]
    assert "notes.txt" in skipped[0]
    assert any("empty.json is empty" in w for w in warnings)


def test_named_file_read_whatever_its_name(
    folder: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = folder / "notes.txt"
    status = main(["--dsn", db_url, "--offline", "import", str(notes), "--json"])

    assert status == 1
    summary = json.loads(capsys.readouterr().out)
    assert [Path(item["path"]).name for item in summary["files"]] == ["notes.txt"]
    assert summary["rejected"] == 1


def test_unreadable_folder_fails_with_its_name(
    folder: Path,
    db: Database,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subfolder that cannot be listed stops the import before it starts.

    Tests run as root, which reads any folder, so listing the subfolder is
    made to fail the way it fails for a user without permission.
    """
    locked = folder / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        # shutil.rmtree lists folders by file descriptor.
        if not isinstance(path, int) and Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    status = main(["--dsn", db_url, "--offline", "import", str(folder)])
    err = capsys.readouterr().err
    assert status == 2
    assert "cannot read folder" in err
    assert f"{locked}: Permission denied" in err
    assert db.fetch_value("SELECT count(*) FROM killmails") == 0


def test_interrupted_import_points_to_repair(
    folder: Path,
    db: Database,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C may land after a batch is stored but before its battles and
    entity totals are, which importing the file again does not redo."""

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("evedmv_tui.commands.ingest.import_paths", interrupted)
    status = main(["--dsn", db_url, "--offline", "import", str(folder)])

    assert status == 130
    error = capsys.readouterr().err
    assert "evedmv: interrupted: the batches that finished are stored" in error
    assert "hint: run 'evedmv repair'" in error
