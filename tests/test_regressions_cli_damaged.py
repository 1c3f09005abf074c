"""``evedmv regressions`` and ``evedmv baseline`` on a damaged baseline file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.store.target import baseline_file

DSN = "postgresql://127.0.0.1:5999/production"
"""The database the commands read baselines of; none of them connects to it."""


@pytest.fixture
def damaged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Write garbage where the baseline file of ``DSN`` belongs; return its path."""
    state = tmp_path / "state"
    monkeypatch.setenv("EVEDMV_STATE_DIR", str(state))
    monkeypatch.setenv("EVEDMV_DSN", DSN)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = baseline_file(Settings(dsn=DSN, state_dir=state))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an SQLite database\n" * 200)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_damaged_file_exits_2_not_all_clear(
    damaged_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged file was replaced by an empty one and listed as "no active
    regressions" with exit 0, which a monitoring script reads as all clear."""
    status, out, err = run(capsys, "regressions")
    assert status == 2
    assert "no active regressions" not in out
    assert "cannot read the baseline file" in err
    moved = list(damaged_file.parent.glob(damaged_file.name + ".damaged-*"))
    assert len(moved) == 1
    assert moved[0].name in err


def test_damaged_file_is_reported_once(
    damaged_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store's logged warning and the command's own warning both printed."""
    _, _, err = run(capsys, "regressions")
    lines = [line for line in err.splitlines() if "damaged" in line]
    assert len(lines) == 1, err
    assert "WARNING" not in err


def test_damaged_file_json_error(
    damaged_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 2
    document = json.loads(out)
    assert document["error"] == "cannot read the baseline file"
    assert "alerts" not in document


def test_damaged_file_fails_ack_and_show(
    damaged_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "regressions", "--ack", "memory:rss_bytes")
    assert status == 2
    assert "cannot read the baseline file" in err
    damaged_file.write_bytes(b"damaged again\n" * 200)
    status, _, err = run(capsys, "baseline", "show")
    assert status == 2
    assert "cannot read the baseline file" in err


def test_new_file_is_read_after_damage(
    damaged_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "regressions")
    status, out, err = run(capsys, "regressions")
    assert status == 0
    assert "no active regressions" in out
    assert err == ""
