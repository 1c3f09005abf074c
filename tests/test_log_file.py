"""A log file that cannot be written: one warning, then no more records."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evedmv_tui.cli import configure_logging
from evedmv_tui.config import Settings
from evedmv_tui.logfile import warnings_held
from tests.test_generate import FULL_DEVICE, needs_full_device

WARNING = (
    "evedmv: WARNING: cannot write the log file /dev/full: No space left on"
    " device. No more records go to it.\n"
    "hint: free space on its file system, or give another path with --log-file\n"
)


@needs_full_device
def test_full_log_file_warns_once(db_url: str, tmp_path: Path) -> None:
    """Each record for a log file on a full disk printed "--- Logging error
    ---" and a traceback on stderr, among the command's own output."""
    env = {
        **os.environ,
        "EVEDMV_OFFLINE": "1",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    command = [sys.executable, "-m", "evedmv_tui", "--dsn", db_url]

    process = subprocess.run(
        [*command, "--log-file", str(FULL_DEVICE), "-vv", "battles", "list"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert process.returncode == 0
    assert "no battles match" in process.stdout.decode()
    assert process.stderr.decode() == WARNING


@needs_full_device
def test_warning_waits_for_dashboard(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """While the dashboard runs, Textual captures stderr, so the warning is
    printed when the dashboard has quit, and only once."""
    configure_logging(Settings(log_file=FULL_DEVICE, verbose=2), to_stderr=False)
    log = logging.getLogger("evedmv_tui.tests")

    with warnings_held(logging.getLogger("evedmv_tui")):
        log.info("first record")
        log.warning("second record")
        during = capsys.readouterr().err
    after = capsys.readouterr().err
    log.info("record after the dashboard quit")
    logging.getLogger("psycopg.pool").warning("couldn't stop thread")
    later = capsys.readouterr().err

    assert during == ""
    assert after == WARNING
    assert later == ""
