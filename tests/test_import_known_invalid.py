"""References to killmails whose hash ESI rejected, met again by an import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui import cli
from evedmv_tui.queries.overview import load_overview
from evedmv_tui.screens.home import describe_overview
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import FakeServer, read_jsonl


@pytest.fixture
def package() -> dict[str, Any]:
    """The smallest real RedisQ package ``{killID, killmail, zkb}``."""
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    return min(read_jsonl(path), key=lambda p: len(json.dumps(p)))


def test_reimport_counts_known_invalid(
    db: Database,
    fake: FakeServer,
    package: dict[str, Any],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reference whose hash ESI rejected (HTTP 422) was counted as a
    duplicate when imported again, and shown nowhere after the first
    warning, although its killmail is not stored."""
    listing = tmp_path / "zkb_api_list.json"
    entry = {"killmail_id": package["killID"], "zkb": package["zkb"]}
    listing.write_text(json.dumps([entry]), encoding="utf-8")
    # The fake ESI serves no body, so it rejects the pair as invalid.
    cli.main(["import", str(listing)])
    capsys.readouterr()

    status = cli.main(["import", str(listing)])
    out = capsys.readouterr().out
    cli.main(["import", "--json", str(listing)])
    summary = json.loads(capsys.readouterr().out)
    overview = load_overview(db)
    assert cli.main(["rejects", "list", "--invalid", "--json"]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert status == 0
    assert "0 duplicates, 0 pending, 1 known invalid, 0 rejected" in out
    assert "1 killmail known invalid: ESI rejected the id and hash" in out
    assert "'evedmv rejects list --invalid' lists it\n" in out
    assert "'evedmv rejects list --invalid' lists them all." in caplog.text
    assert listed["killmail_id"] == package["killID"]
    assert listed["killmail_hash"] == package["zkb"]["hash"]
    assert listed["source"] == "zkb-only"
    assert listed["attempts"] == 1
    assert "(HTTP 422: " in listed["last_error"]
    assert summary["invalid"] == 1
    assert summary["duplicates"] == 0
    assert summary["files"][0]["invalid"] == 1
    assert overview.invalid_killmails == 1
    assert "Invalid hashes     1" in describe_overview(overview)
