"""Rejects without a killmail id, resolved by reading their file to its end."""

from __future__ import annotations

import bz2
import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.ingest.importer import ImportProgress, import_paths
from evedmv_tui.ingest.rejects import RejectRow, count_rejects, list_rejects
from evedmv_tui.queries.overview import load_overview
from evedmv_tui.store.db import Database
from tests.test_rejects_resolved import killmail, package
from tests.test_rejects_screen import open_rejects, text_of

__all__ = ["killmail", "package"]


@pytest.fixture
def base(db_url: str, tmp_path: Path) -> list[str]:
    return ["--dsn", db_url, "--data-dir", str(tmp_path)]


@pytest.fixture
def archive(killmail: dict[str, Any]) -> bytes:
    """A bzip2 file of 200 killmails as JSON Lines, each with its own id."""
    first = killmail["killmail_id"]
    lines = [
        json.dumps({**killmail, "killmail_id": first + offset}) for offset in range(200)
    ]
    return bz2.compress(("\n".join(lines) + "\n").encode())


def import_file(base: list[str], path: Path) -> int:
    return main([*base, "import", "--offline", str(path)])


def unresolved(db: Database) -> list[RejectRow]:
    return list_rejects(db)


def test_cut_archive_fetched_again_resolves(
    db: Database,
    archive: bytes,
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The reject of a cut archive stayed unresolved after the whole archive
    was fetched again and imported, because it has no killmail id."""
    path = tmp_path / "kills.jsonl.bz2"
    path.write_bytes(archive[: len(archive) // 2])
    assert import_file(base, path) == 1
    [reject] = unresolved(db)
    assert reject.killmail_id is None
    assert reject.position.startswith("byte ")
    assert load_overview(db).rejects == 1

    path.write_bytes(archive)
    assert import_file(base, path) == 0
    capsys.readouterr()
    assert main([*base, "rejects", "list", "--all"]) == 0
    everything = capsys.readouterr().out

    assert unresolved(db) == []
    assert load_overview(db).rejects == 0
    counts = count_rejects(db)
    assert (counts.total, counts.resolved) == (1, 1)
    assert f"reject {reject.reject_id} (import {reject.import_id}, resolved)" in (
        everything
    )


def test_archive_cut_again_stays_unresolved(
    db: Database, killmail: dict[str, Any], base: list[str], tmp_path: Path
) -> None:
    """A file read again but still cut off part way resolves no reject of it,
    not even that of an earlier cut at another byte."""
    # Random padding keeps the gzip file near 2.7 MB, so that the two cuts
    # stop reading in different 1 MiB chunks and their rejects name
    # different bytes.
    first = killmail["killmail_id"]
    lines = [
        json.dumps(
            {**killmail, "killmail_id": first + n, "padding": os.urandom(60_000).hex()}
        )
        for n in range(40)
    ]
    archive = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "kills.jsonl.gz"
    path.write_bytes(archive[: len(archive) // 3])
    assert import_file(base, path) == 1
    path.write_bytes(archive[: 2 * len(archive) // 3])
    assert import_file(base, path) == 1

    rows = unresolved(db)

    assert len(rows) == 2
    assert rows[0].position != rows[1].position
    assert load_overview(db).rejects == 2


def test_damaged_file_read_again_unchanged(
    db: Database, archive: bytes, base: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "kills.jsonl.bz2"
    path.write_bytes(archive[: len(archive) // 2])
    assert import_file(base, path) == 1
    assert import_file(base, path) == 1

    [reject] = unresolved(db)

    assert len(reject.import_ids) == 2
    assert load_overview(db).rejects == 1


def test_fixed_line_without_id_resolves(
    db: Database, killmail: dict[str, Any], base: list[str], tmp_path: Path
) -> None:
    """A record whose killmail id cannot be read is resolved once its file,
    fixed, is imported whole, and stays unresolved while it is still bad."""
    path = tmp_path / "kills.jsonl"
    path.write_text("not json\n", encoding="utf-8")
    assert import_file(base, path) == 1
    assert import_file(base, path) == 1
    [reject] = unresolved(db)
    assert reject.killmail_id is None
    assert reject.raw.strip() == "not json"

    path.write_text(json.dumps(killmail) + "\n", encoding="utf-8")
    assert import_file(base, path) == 0

    assert unresolved(db) == []
    assert load_overview(db).rejects == 0


def test_other_file_does_not_resolve(
    db: Database, archive: bytes, base: list[str], tmp_path: Path
) -> None:
    """Importing the whole archive under another name leaves the reject."""
    cut = tmp_path / "kills.jsonl.bz2"
    cut.write_bytes(archive[: len(archive) // 2])
    assert import_file(base, cut) == 1
    whole = tmp_path / "again.jsonl.bz2"
    whole.write_bytes(archive)

    assert import_file(base, whole) == 0

    assert [row.source_file for row in unresolved(db)] == [str(cut)]
    assert load_overview(db).rejects == 1


async def test_rejects_screen_hides_file_read_again(
    settings: Settings,
    db: Database,
    archive: bytes,
    base: list[str],
    tmp_path: Path,
) -> None:
    path = tmp_path / "kills.jsonl.bz2"
    path.write_bytes(archive[: len(archive) // 2])
    assert import_file(base, path) == 1
    path.write_bytes(archive)
    assert import_file(base, path) == 0

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rejects(app, pilot)
        summary = text_of(screen, "#rejects-summary")

    assert summary.startswith("No unresolved rejects. 1 resolved")
    assert "file read whole since" in summary


def test_failed_import_resolves_no_file_reject(
    db: Database,
    archive: bytes,
    base: list[str],
    killmail: dict[str, Any],
    tmp_path: Path,
) -> None:
    """An import that an error ended before it read a file listed that file
    among its paths and got finished_at, so it resolved the file's reject."""
    path = tmp_path / "kills.jsonl.bz2"
    path.write_bytes(archive[: len(archive) // 2])
    assert import_file(base, path) == 1
    path.write_bytes(archive)
    first = tmp_path / "first.json"
    first.write_text(json.dumps({**killmail, "killmail_id": 1}), encoding="utf-8")

    def fail(progress: ImportProgress) -> None:
        raise RuntimeError("the disk went away")

    with pytest.raises(RuntimeError):
        import_paths(db, [first, path], offline=True, workers=0, progress=fail)

    assert db.fetch_value("SELECT failed FROM imports ORDER BY import_id DESC LIMIT 1")
    [reject] = unresolved(db)
    assert reject.source_file == str(path)
    assert load_overview(db).rejects == 1
