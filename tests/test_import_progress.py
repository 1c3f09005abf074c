"""The import command's progress output and summary, without a database."""

from __future__ import annotations

import dataclasses
import io

from evedmv_tui.commands.ingest import ProgressPrinter, print_summary
from evedmv_tui.ingest.importer import FileSummary, ImportProgress, ImportSummary


def _progress(bytes_done: int, elapsed: float) -> ImportProgress:
    return ImportProgress(
        files_done=2,
        files_total=7,
        current_file="killmails-2021-11-29.tar.bz2",
        bytes_done=bytes_done,
        bytes_total=1000,
        read=30_000,
        inserted=29_000,
        elapsed=elapsed,
    )


def test_remaining_time_from_bytes() -> None:
    progress = _progress(250, 10.0)
    assert progress.rate == 3000.0
    assert progress.remaining_seconds == 30.0
    assert _progress(0, 10.0).remaining_seconds is None


def test_terminal_draws_bar() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=True)
    printer(_progress(250, 10.0))
    text = stream.getvalue()
    assert text.startswith("\r[######..................]")
    assert "files 2/7" in text
    assert "30,000 records" in text
    assert "3,000/s" in text
    assert "left 0:30" in text
    printer.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_shorter_bar_erases_longer_one() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=True)
    printer(_progress(250, 10.0))
    longer = stream.getvalue()
    # A finished file is always drawn; this bar's rate is shorter to print.
    printer(dataclasses.replace(_progress(900, 1000.0), files_done=3))
    shorter = stream.getvalue()[len(longer) :]
    assert "30/s" in shorter
    assert len(shorter) < len(longer)
    assert shorter.endswith("\x1b[K")


def test_pipe_gets_plain_lines() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=False)
    printer(_progress(250, 10.0))
    printer(_progress(260, 10.5))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("evedmv:  25% files 2/7")
    assert "\r" not in stream.getvalue()


def test_pipe_gets_last_file_line() -> None:
    """A log ends on the finished import, not on the last periodic 99 %."""
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=False)
    printer(_progress(250, 10.0))
    printer(dataclasses.replace(_progress(990, 11.0), files_done=6))
    printer(dataclasses.replace(_progress(1000, 11.5), files_done=7))
    printer(dataclasses.replace(_progress(1000, 11.6), files_done=7))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[-1].startswith("evedmv: 100% files 7/7")


def test_summary_names_rejects() -> None:
    summary = ImportSummary(
        read=12,
        inserted=9,
        updated=0,
        duplicates=1,
        pending=0,
        rejected=2,
        files=(FileSummary("a.jsonl", 6, 5), FileSummary("b.jsonl", 6, 4)),
        import_id=42,
        seconds=1.25,
    )
    stream = io.StringIO()
    print_summary(summary, stream)
    text = stream.getvalue()
    assert "a.jsonl: 6 read, 5 inserted" in text
    assert "12 read, 9 inserted, 0 updated, 1 duplicates, 0 pending, 2 rejected" in text
    assert "imported 2 files in 1.2 s" in text
    assert "2 records rejected; 9 valid records stored." in text
    assert "evedmv rejects list --import 42" in text


def test_summary_counts_pending_apart() -> None:
    """References kept pending without a body were counted among the valid
    records stored, as if their killmails were stored whole."""
    summary = ImportSummary(
        read=178,
        inserted=2,
        updated=0,
        duplicates=0,
        pending=175,
        rejected=1,
        files=(FileSummary("a.json", 178, 2, 0, 0, 175, 1),),
        import_id=21,
        seconds=0.2,
    )
    bodyless = dataclasses.replace(summary, read=176, inserted=0)
    stream = io.StringIO()

    print_summary(summary, stream)
    print_summary(bodyless, stream)
    text = stream.getvalue()

    assert "177 valid records stored" not in text
    assert (
        "1 record rejected; 2 valid records stored with a body and 175 kept"
        " pending without one." in text
    )
    assert "1 record rejected; 175 valid records kept pending without a body." in (text)


def test_summary_counts_one_file_and_one_reject() -> None:
    summary = ImportSummary(
        read=1,
        inserted=0,
        updated=0,
        duplicates=0,
        pending=0,
        rejected=1,
        files=(FileSummary("a.jsonl", 1, 0),),
        import_id=7,
        seconds=0.5,
    )
    stream = io.StringIO()
    print_summary(summary, stream)
    text = stream.getvalue()
    assert "imported 1 file in 0.5 s" in text
    assert "1 record rejected; nothing new was stored." in text


def test_summary_names_file_with_every_record_rejected() -> None:
    """A file of which nothing could be read, such as a CSV named by mistake,
    is named with the formats the importer reads. A file with some valid
    records is not."""
    summary = ImportSummary(
        read=7,
        inserted=5,
        updated=0,
        duplicates=0,
        pending=0,
        rejected=2,
        files=(
            FileSummary("regions.csv", read=1, rejected=1),
            FileSummary("b.jsonl", read=6, inserted=5, rejected=1),
        ),
        import_id=9,
        seconds=0.5,
    )
    stream = io.StringIO()
    print_summary(summary, stream)
    text = stream.getvalue()
    assert "regions.csv: every record was rejected. If it is not a killmail" in text
    assert "b.jsonl: every record" not in text
    assert "Fix the rejected records and import b.jsonl again" in text


def test_summary_of_garbage_file_gives_one_advice() -> None:
    """The summary of a file of which every record was rejected advised both
    to fix its records and import it again, and to leave it out."""
    summary = ImportSummary(
        read=1,
        inserted=0,
        updated=0,
        duplicates=0,
        pending=0,
        rejected=1,
        files=(FileSummary("garbage.bin", read=1, rejected=1),),
        import_id=9,
        seconds=0.5,
    )
    stream = io.StringIO()
    print_summary(summary, stream)
    text = stream.getvalue()
    assert "Fix the rejected records" not in text
    assert "garbage.bin: every record was rejected" in text
    assert "1 record rejected; nothing new was stored. See" in text
    assert "'evedmv rejects list --import 9'" in text


def test_summary_of_one_file_with_some_rejects() -> None:
    summary = ImportSummary(
        read=6,
        inserted=5,
        updated=0,
        duplicates=0,
        pending=0,
        rejected=1,
        files=(FileSummary("b.jsonl", read=6, inserted=5, rejected=1),),
        import_id=3,
        seconds=0.5,
    )
    stream = io.StringIO()
    print_summary(summary, stream)
    text = stream.getvalue()
    assert "Fix the rejected records and import b.jsonl again" in text
    assert "see 'evedmv rejects list --import 3'" in text
    assert "every record was rejected" not in text


def test_summary_of_invalid_killmails_advises_fixing() -> None:
    """A file of killmails of which every record failed validation was
    named as probably not a killmail file, to be left out."""
    summary = ImportSummary(
        read=3,
        inserted=0,
        updated=0,
        duplicates=0,
        pending=0,
        rejected=3,
        files=(
            FileSummary("wrongtypes.jsonl", read=2, rejected=2, rejected_killmails=2),
            FileSummary("regions.json", read=1, rejected=1),
        ),
        import_id=4,
        seconds=0.5,
    )
    stream = io.StringIO()
    print_summary(summary, stream)
    text = stream.getvalue()
    assert "Fix the rejected records and import wrongtypes.jsonl again" in text
    assert "see 'evedmv rejects list --import 4' for the invalid fields" in text
    assert "wrongtypes.jsonl: every record was rejected" not in text
    assert "regions.json: every record was rejected. If it is not a" in text
