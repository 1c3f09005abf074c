"""The import summary's advice after rejects, and the progress line's time left."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from evedmv_tui import cli
from evedmv_tui.commands.ingest import ProgressPrinter, print_summary
from evedmv_tui.ingest.importer import FileSummary, ImportProgress, ImportSummary
from tests.conftest import shared_file


def summarise(*files: FileSummary) -> str:
    summary = ImportSummary(
        read=sum(f.read for f in files),
        inserted=sum(f.inserted for f in files),
        updated=0,
        duplicates=0,
        pending=0,
        rejected=sum(f.rejected for f in files),
        files=files,
        import_id=5,
        seconds=0.5,
    )
    stream = io.StringIO()
    print_summary(summary, stream)
    return stream.getvalue()


def test_one_file_with_rejects_named() -> None:
    """The advice for one file named it only as 'the file'."""
    text = summarise(FileSummary("kills/b.jsonl", read=6, inserted=5, rejected=1))

    assert "Fix the rejected records and import kills/b.jsonl again" in text
    assert "'evedmv rejects list --import 5'" in text


def test_many_files_with_rejects_named() -> None:
    files = [
        FileSummary(f"day{n}.jsonl", read=3, inserted=2, rejected=1) for n in range(5)
    ]

    text = summarise(*files)

    assert "import day0.jsonl, day1.jsonl, day2.jsonl and 2 more again" in text


def test_two_files_with_rejects_named() -> None:
    text = summarise(
        FileSummary("a.jsonl", read=3, inserted=2, rejected=1),
        FileSummary("b.jsonl", read=3, inserted=3),
        FileSummary("c.jsonl", read=3, inserted=2, rejected=1),
    )

    assert "import a.jsonl and c.jsonl again" in text


def test_damaged_file_advised_to_fetch_again() -> None:
    """A truncated archive was first called damaged, then its one reject
    was to be fixed by hand and the file imported again."""
    text = summarise(
        FileSummary("day.tar.bz2", read=900, inserted=899, rejected=1, damaged=True)
    )

    assert "Fix the rejected records" not in text
    assert "day.tar.bz2: the rest cannot be read" in text
    assert "Fetch it again, then import it" in text
    assert "'evedmv rejects list --import 5' for the byte" in text


def test_damaged_file_with_invalid_records() -> None:
    text = summarise(
        FileSummary("day.tar.bz2", read=900, inserted=897, rejected=3, damaged=True)
    )

    assert "Fix the rejected records and import day.tar.bz2 again" in text
    assert "Fetch it again" in text


def test_truncated_archive_summary(
    tmp_path: Path,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archive = shared_file("killmails/everef/killmails-2021-12-03.tar.bz2")
    truncated = tmp_path / "truncated.tar.bz2"
    truncated.write_bytes(archive.read_bytes()[:300_000])
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]

    status = cli.main([*base, "import", "--offline", str(truncated)])
    out = capsys.readouterr().out
    cli.main([*base, "import", "--offline", "--json", str(truncated)])
    result = json.loads(capsys.readouterr().out)

    assert status == 1
    assert "Fix the rejected records" not in out
    assert f"{truncated}: the rest cannot be read" in out
    assert result["files"][0]["damaged"] is True


def progress(share: float, elapsed: float) -> ImportProgress:
    return ImportProgress(
        files_done=0,
        files_total=7,
        current_file="killmails-2021-11-29.tar.bz2",
        bytes_done=round(share * 1_000_000),
        bytes_total=1_000_000,
        read=1,
        inserted=0,
        elapsed=elapsed,
    )


def test_no_estimate_at_start() -> None:
    """The first line of a 9 s import estimated 28 minutes left."""
    printer = ProgressPrinter(io.StringIO(), tty=False)

    assert printer.render(progress(0.0003, 0.5), bar=False).endswith("left --:--")
    assert printer.render(progress(0.5, 1.0), bar=False).endswith("left --:--")
    assert printer.render(progress(0.02, 10.0), bar=False).endswith("left --:--")
    assert printer.render(progress(0.5, 4.0), bar=False).endswith("left 0:04")


def test_estimate_smoothed() -> None:
    """A stretch read fast, then one read slowly, swung the time left."""
    printer = ProgressPrinter(io.StringIO(), tty=False)

    first = printer.render(progress(0.40, 4.0), bar=False)
    # At the average pace so far, the import takes 13.3 s, 7.3 s from now.
    # Smoothed over 5 s, the estimate of 10 s moves a third of the way there.
    second = printer.render(progress(0.45, 6.0), bar=False)

    assert first.endswith("left 0:06")
    assert second.endswith("left 0:05")
