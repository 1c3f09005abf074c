"""``evedmv corp show`` of an entity that no stored killmail mentions."""

from __future__ import annotations

import json

import pytest

from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.test_search import insert_name


def test_entity_without_killmails_says_so(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command printed only zeros and dashes, where the dashboard
    states at once that nothing of the entity is stored."""
    insert_name(db, 98000777, "corporation", "Ghost Nokill Corp")
    show = ["--dsn", db_url, "corp", "show", "Ghost Nokill Corp", "--offline"]
    assert main(show) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Ghost Nokill Corp (corporation 98000777)"
    assert lines[-1] == "no kills, losses or battles of this corporation are stored"
    assert not any(line.startswith("Kills") for line in lines)

    assert main([*show, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["entity"]["id"] == 98000777
