"""``evedmv watch delete | disable`` with a name that is not found."""

from __future__ import annotations

import pytest

from evedmv_tui.cli import main
from evedmv_tui.store.db import Database


def run(db_url: str, *args: str) -> int:
    return main(["--dsn", db_url, *args])


def profile_states(db: Database) -> dict[str, bool]:
    rows = db.fetch_all("SELECT name, enabled FROM watch_profiles")
    return {name: enabled for name, enabled in rows}


def test_delete_with_unknown_name_reports_deleted(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """'watch delete big nope' deleted big but printed only the error about
    nope, so the deletion went unreported."""
    assert run(db_url, "watch", "add", "big", "--min-value", "1b") == 0
    assert run(db_url, "watch", "add", "caps", "--min-value", "5b") == 0
    capsys.readouterr()

    assert run(db_url, "watch", "delete", "big", "nope") == 2
    captured = capsys.readouterr()
    assert captured.out == "deleted 1 watch profile: big\n"
    assert "no watch profile named 'nope'" in captured.err
    assert profile_states(db) == {"caps": True}


def test_disable_with_unknown_name_reports_disabled(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db_url, "watch", "add", "big", "--min-value", "1b") == 0
    assert run(db_url, "watch", "add", "caps", "--min-value", "5b") == 0
    capsys.readouterr()

    assert run(db_url, "watch", "disable", "caps", "big", "nope") == 2
    captured = capsys.readouterr()
    assert captured.out == "disabled 2 watch profiles: big, caps\n"
    assert "no watch profile named 'nope'" in captured.err
    assert profile_states(db) == {"big": False, "caps": False}


def test_only_unknown_names_print_nothing_changed(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db_url, "watch", "add", "big", "--min-value", "1b") == 0
    capsys.readouterr()

    assert run(db_url, "watch", "delete", "nope") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert profile_states(db) == {"big": True}
