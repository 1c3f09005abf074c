"""The import command's progress bar: its figures, its last state, and log lines.

The bar is drawn on stderr with a carriage return and no newline, so a log
record written in between must first erase it.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evedmv_tui.cli import configure_logging
from evedmv_tui.commands.ingest import ProgressPrinter
from evedmv_tui.config import Settings
from evedmv_tui.ingest.importer import ImportProgress
from tests.conftest import shared_file
from tests.test_import_progress_real import import_on_terminal

ERASE = "\r\x1b[K"
BAR = re.compile(r"\r\[[#.]{24}\] +(?P<share>\d+)% files (?P<done>\d+)/(?P<total>\d+)")


def progress(
    files_done: int, files_total: int, bytes_done: int, bytes_total: int
) -> ImportProgress:
    return ImportProgress(
        files_done=files_done,
        files_total=files_total,
        current_file="kills.jsonl",
        bytes_done=bytes_done,
        bytes_total=bytes_total,
        read=500,
        inserted=400,
        elapsed=2.0,
    )


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (progress(0, 1, 0, 1000), "  0% files 0/1"),
        (progress(0, 1, 1000, 1000), " 99% files 0/1"),
        (progress(1, 1, 1000, 1000), "100% files 1/1"),
        (progress(0, 1, 0, 0), "  0% files 0/1"),
        (progress(1, 1, 0, 0), "100% files 1/1"),
        (progress(1, 2, 0, 0), " 50% files 1/2"),
    ],
)
def test_share_matches_finished_files(report: ImportProgress, expected: str) -> None:
    printer = ProgressPrinter(io.StringIO(), tty=False)

    assert printer.render(report, bar=False).startswith(expected)


def test_finished_import_shows_no_time_left() -> None:
    printer = ProgressPrinter(io.StringIO(), tty=False)

    assert printer.render(progress(1, 1, 0, 0), bar=False).endswith("left 0:00")
    assert printer.render(progress(0, 1, 0, 0), bar=False).endswith("left --:--")


def test_finished_file_drawn_at_once() -> None:
    """A finished file redraws the bar even within 0.2 s of the last draw."""
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=True)

    printer(progress(0, 1, 900, 1000))
    printer(progress(0, 1, 950, 1000))
    printer(progress(1, 1, 1000, 1000))

    bars = list(BAR.finditer(stream.getvalue()))
    assert [(b["share"], b["done"]) for b in bars] == [("90", "0"), ("100", "1")]


@pytest.fixture
def stderr_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Log to a StringIO as the command line does to stderr; restore after."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    logger = logging.getLogger("evedmv_tui")
    handlers, level = list(logger.handlers), logger.level
    configure_logging(Settings(), to_stderr=True)
    try:
        yield stream
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)


def test_warning_starts_on_clean_line(stderr_logging: io.StringIO) -> None:
    printer = ProgressPrinter(stderr_logging, tty=True)
    log = logging.getLogger("evedmv_tui.ingest.importer")

    with printer.apart_from_logs():
        printer(progress(0, 2, 400, 1000))
        log.warning("cannot read all of %s", "b.tar.bz2")
        printer(progress(1, 2, 600, 1000))
    log.warning("after the import")
    printer.close()

    text = stderr_logging.getvalue()
    first_bar = text.index("\r[")
    warning = text.index("evedmv: WARNING: cannot read all of b.tar.bz2\n")
    assert first_bar < warning
    assert text[warning - len(ERASE) : warning] == ERASE
    assert BAR.search(text, warning) is not None
    assert text.endswith("evedmv: WARNING: after the import\n" + ERASE)


def test_pipe_leaves_log_handlers_alone(stderr_logging: io.StringIO) -> None:
    printer = ProgressPrinter(stderr_logging, tty=False)
    handler = logging.getLogger("evedmv_tui").handlers[0]

    with printer.apart_from_logs():
        assert handler.filters == []


def test_import_warning_on_terminal(db_url: str, tmp_path: Path) -> None:
    """A truncated archive's warning does not continue the line of the bar."""
    jsonl = shared_file("killmails/real/everef_cluster_samples.jsonl")
    archive = shared_file("killmails/everef/killmails-2021-12-03.tar.bz2")
    truncated = tmp_path / "truncated.tar.bz2"
    truncated.write_bytes(archive.read_bytes()[:200_000])
    status, terminal, _ = import_on_terminal(
        db_url, tmp_path, [str(jsonl), str(truncated)]
    )
    assert status == 1, terminal
    warning = terminal.index("evedmv: WARNING: cannot read all of")
    assert terminal.index("\r[") < warning
    assert terminal[warning - len(ERASE) : warning] == ERASE
    bars = list(BAR.finditer(terminal))
    assert (bars[-1]["share"], bars[-1]["done"]) == ("100", "2")
    assert all(b["share"] != "100" for b in bars if b["done"] != "2")


@pytest.mark.parametrize(("verbose", "shown"), [(0, False), (1, True)])
def test_pool_warnings_only_when_verbose(
    monkeypatch: pytest.MonkeyPatch, verbose: int, shown: bool
) -> None:
    """The pool's reconnection warnings must not flood stderr without -v."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    library = logging.getLogger("psycopg")
    saved = (list(library.handlers), library.level, library.propagate)
    logger = logging.getLogger("evedmv_tui")
    handlers, level = list(logger.handlers), logger.level
    configure_logging(Settings(verbose=verbose), to_stderr=True)
    try:
        logging.getLogger("psycopg.pool").warning("error connecting in 'evedmv'")
        logging.getLogger("psycopg.pool").error("pool is broken")
    finally:
        library.handlers[:] = saved[0]
        library.setLevel(saved[1])
        library.propagate = saved[2]
        logger.handlers[:] = handlers
        logger.setLevel(level)
    text = stream.getvalue()
    assert ("error connecting in 'evedmv'" in text) is shown
    assert "evedmv: ERROR: pool is broken" in text
