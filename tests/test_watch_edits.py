"""Watch profile checks that ``evedmv watch`` and the dashboard's form share."""

from __future__ import annotations

from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.intel import watch
from evedmv_tui.screens.watch import form_values, read_form
from evedmv_tui.store.db import Database


@pytest.fixture
def cli(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Database:
    """The test database, with the command pointed at it and offline."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("EVEDMV_DSN", db_url)
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")
    return db


def test_name_with_control_character_rejected(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tab shifted the columns of 'watch list', and an escape sequence broke
    the border of the edit form, so such names are rejected on entry."""
    name = "tab\tname\x1b[31m"
    assert main(["watch", "add", name, "--min-attackers", "2"]) == 2
    error = capsys.readouterr().err
    assert "name 'tab\\tname\\x1b[31m' contains a control character ('\\t')" in error
    assert "use letters, digits, spaces and punctuation only" in error
    assert watch.list_profiles(cli) == []

    assert main(["watch", "add", "plain", "--min-attackers", "2"]) == 0
    assert main(["watch", "edit", "plain", "--rename", "esc\x1bname"]) == 2
    assert "contains a control character ('\\x1b')" in capsys.readouterr().err
    assert [p.name for p in watch.list_profiles(cli)] == ["plain"]

    values = form_values(None) | {"name": "a\tb", "min_attackers": "2"}
    _, problems = read_form(values)
    assert [p.field for p in problems] == ["name"]
    assert "contains a control character ('\\t')" in problems[0].message
