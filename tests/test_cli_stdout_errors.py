"""A full disk or a closed pipe on standard output: one message, a failing status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

FULL_DEVICE = Path("/dev/full")
FULL_OUTPUT_ERROR = (
    "evedmv: write failed: standard output: No space left on device\n"
    "hint: free space where standard output goes, or write to a file on"
    " another file system\n"
)

pytestmark = pytest.mark.skipif(
    not FULL_DEVICE.is_char_device(),
    reason="needs /dev/full, the Linux device on which every write fails with ENOSPC",
)


def run_to(stdout: int, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``evedmv ARGS`` in a fresh interpreter with standard output on ``stdout``."""
    return subprocess.run(
        [sys.executable, "-m", "evedmv_tui", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EVEDMV_DATA_DIR": str(tmp_path / "data")},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args", [("--version",), ("--help",), ("battles", "list", "--help")]
)
def test_help_and_version_on_full_disk(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Argparse dropped the write error, and the command exited 0 with nothing
    written."""
    with FULL_DEVICE.open("wb") as full:
        process = run_to(full.fileno(), tmp_path, *args)

    assert process.returncode == 2
    assert process.stderr == FULL_OUTPUT_ERROR


def test_command_output_on_full_disk(tmp_path: Path) -> None:
    """A command's print to a full disk ended in an OSError traceback."""
    with FULL_DEVICE.open("wb") as full:
        process = run_to(full.fileno(), tmp_path, "db", "status")

    assert process.returncode == 2
    assert process.stderr == FULL_OUTPUT_ERROR


def test_closed_pipe_exits_as_sigpipe(tmp_path: Path) -> None:
    """A reader that went away ends the command quietly, as SIGPIPE would."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = run_to(write_end, tmp_path, "--help")
    finally:
        os.close(write_end)

    assert process.returncode == 128 + signal.SIGPIPE
    assert process.stderr == ""


def test_closed_stdout(tmp_path: Path) -> None:
    """Started with standard output closed, Python has no sys.stdout, and
    every command ended in an AttributeError traceback."""
    process = subprocess.run(
        [sys.executable, "-m", "evedmv_tui", "--version"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EVEDMV_DATA_DIR": str(tmp_path / "data")},
        timeout=60,
        check=False,
        # Close descriptor 1 in the child before it starts Python.
        preexec_fn=lambda: os.close(1),
    )

    assert process.returncode == 2
    assert process.stderr == (
        "evedmv: write failed: standard output is closed\n"
        "hint: run it with standard output open, or send it to a file or to"
        " /dev/null\n"
    )
