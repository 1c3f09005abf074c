"""Import progress on real files: the callback, plain lines on a pipe, a bar on a pty.

The import command writes its progress to stderr and draws the bar only when
stderr is a terminal. The summary goes to stdout either way.
"""

from __future__ import annotations

import itertools
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.commands import ingest as ingest_command
from evedmv_tui.ingest.importer import ImportProgress, import_paths
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

JSONL = "killmails/real/everef_cluster_samples.jsonl"
ARCHIVE = "killmails/everef/killmails-2021-12-03.tar.bz2"
JSONL_RECORDS = 830
ARCHIVE_RECORDS = 4_158
TOTAL_RECORDS = JSONL_RECORDS + ARCHIVE_RECORDS

PLAIN_LINE = re.compile(
    r"evedmv: +(?P<share>\d+)% files (?P<done>\d)/2"
    r"  (?P<records>[\d,]+) records  [\d,]+/s  left (?:--:--|\d+:\d\d)"
)
BAR = re.compile(r"\r\[(?P<filled>[#.]{24})\] +\d+% files \d/2  [\d,]+ records")


def input_files() -> list[Path]:
    return [shared_file(JSONL), shared_file(ARCHIVE)]


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "reader-process"])
def test_progress_callbacks_on_real_files(db: Database, workers: int) -> None:
    files = input_files()
    sizes = [path.stat().st_size for path in files]
    events: list[ImportProgress] = []

    summary = import_paths(
        db, files, offline=True, progress=events.append, workers=workers
    )

    assert summary.read == TOTAL_RECORDS
    assert summary.rejected == 0
    # One report per chunk of 500 documents and one per finished file.
    assert len(events) >= TOTAL_RECORDS // 500 + 2
    assert {e.files_total for e in events} == {2}
    assert {e.bytes_total for e in events} == {sum(sizes)}
    assert all(e.bytes_done <= e.bytes_total for e in events)
    for before, after in itertools.pairwise(events):
        assert after.files_done >= before.files_done
        assert after.bytes_done >= before.bytes_done
        assert after.read >= before.read
        assert after.elapsed >= before.elapsed
    assert all(e.inserted <= e.read for e in events)

    first_done = next(e for e in events if e.files_done == 1)
    assert first_done.current_file == str(files[0])
    assert first_done.bytes_done == sizes[0]
    assert first_done.read == JSONL_RECORDS

    last = events[-1]
    assert last.current_file == str(files[1])
    assert last.files_done == 2
    assert last.bytes_done == sum(sizes)
    assert last.read == TOTAL_RECORDS
    assert last.remaining_seconds == 0.0
    assert last.elapsed > 0
    assert last.rate == pytest.approx(TOTAL_RECORDS / last.elapsed)
    # The last batch is written after the last report, so its rows are missing.
    assert 0 < last.inserted <= summary.inserted


def test_import_command_logs_plain_lines_on_pipe(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A line per report instead of one per LOG_INTERVAL seconds.
    monkeypatch.setattr(ingest_command, "LOG_INTERVAL", 0.0)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    paths = [str(path) for path in input_files()]

    status = main(
        ["--dsn", db_url, "--data-dir", str(tmp_path), "import", "--offline", *paths]
    )

    captured = capsys.readouterr()
    assert status == 0
    assert "\r" not in captured.err
    assert "[#" not in captured.err
    lines = [line for line in captured.err.splitlines() if PLAIN_LINE.fullmatch(line)]
    assert len(lines) >= TOTAL_RECORDS // 500 + 2
    assert "files 0/2" in lines[0]
    final = PLAIN_LINE.fullmatch(lines[-1])
    assert final is not None
    assert final["share"] == "100"
    assert final["done"] == "2"
    assert final["records"] == f"{TOTAL_RECORDS:,}"
    assert "left 0:00" in lines[-1]
    assert f"{TOTAL_RECORDS:,} read" in captured.out
    assert "evedmv:" not in captured.out


def read_until_closed(fd: int, chunks: list[bytes]) -> None:
    """Collect everything written to a pty until its last writer closes it."""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO on Linux once the slave side is closed
            return
        if not data:
            return
        chunks.append(data)


def import_on_terminal(
    db_url: str, tmp_path: Path, paths: list[str]
) -> tuple[int, str, str]:
    """Run ``evedmv import --offline PATHS`` with stderr on a pseudo-terminal.

    Returns the exit status, what the terminal received and standard output.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVEDMV_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    master, slave = pty.openpty()
    chunks: list[bytes] = []
    reader = threading.Thread(target=read_until_closed, args=(master, chunks))
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evedmv_tui",
                "--dsn",
                db_url,
                "--data-dir",
                str(tmp_path),
                "import",
                "--offline",
                *paths,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=env,
        )
        os.close(slave)
        slave = -1
        reader.start()
        stdout, _ = process.communicate(timeout=300)
        reader.join(timeout=30)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return process.returncode, b"".join(chunks).decode(), stdout.decode()


def test_import_command_draws_bar_on_terminal(db_url: str, tmp_path: Path) -> None:
    paths = [str(path) for path in input_files()]
    status, terminal, summary = import_on_terminal(db_url, tmp_path, paths)
    assert status == 0, terminal
    bars = list(BAR.finditer(terminal))
    # The bar is redrawn at most every 0.2 s, and the first report always draws.
    assert bars
    assert bars[0]["filled"].endswith(".")
    assert "files 0/2" in bars[0].group()
    assert "evedmv:  " not in terminal
    # close() erases the bar so the shell prompt starts on a clean line.
    assert terminal.endswith("\r\x1b[K")
    assert f"{TOTAL_RECORDS:,} read" in summary
    assert "\r" not in summary
