"""``evedmv regressions`` and ``evedmv baseline`` while another process locks the file.

The store then falls back to an empty copy in memory. Listed, that read as
"no active regressions" with exit 0; changed, the change was lost.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from evedmv_tui.commands import regressions as regressions_command
from evedmv_tui.store.baselines import open_store
from tests.test_baselines import open_read_only
from tests.test_regressions_cli import SLOW, baselines_of, record, run
from tests.test_regressions_cli import state_dir as state_dir


@pytest.fixture
def locked(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Record an alert, then hold an exclusive lock on the file."""
    record(state_dir, 200.0)
    # The commands give up on a locked file after 15 s; a fraction of that
    # is enough here.
    monkeypatch.setattr(
        regressions_command,
        "open_store",
        functools.partial(open_store, busy_timeout=0.1, open_wait=0.3),
    )
    path = baselines_of(state_dir)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield path
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.parametrize(
    ("argv", "verb"),
    [
        (("regressions",), "read"),
        (("baseline", "show"), "read"),
        (("regressions", "--ack", SLOW), "change"),
        (("baseline", "reset", "--all"), "change"),
        (("baseline", "accept", SLOW), "change"),
    ],
)
def test_locked_file_is_an_error(
    locked: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], verb: str
) -> None:
    status, out, err = run(capsys, *argv)

    assert status == 2
    assert "no active regressions" not in out
    assert f"cannot {verb} the baseline file" in err
    assert "stayed locked by another process" in err
    assert "kept in memory" not in err


@pytest.fixture
def read_only(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Record an alert, then open the file as a read-only file is opened."""
    record(state_dir, 200.0)
    path = baselines_of(state_dir)
    open_read_only(monkeypatch, path)
    return path


def test_read_only_file_is_read_but_not_changed(
    read_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "regressions")
    assert status == 1
    assert SLOW in out
    assert "read-only" in err

    status, _, err = run(capsys, "baseline", "reset", "--all")
    assert status == 2
    assert "cannot change the baseline file" in err
    with sqlite3.connect(read_only) as conn:
        assert conn.execute("SELECT min(count) FROM baseline").fetchone()[0] > 0
