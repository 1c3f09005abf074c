"""The JSON summaries of 'evedmv import' and 'evedmv import --pending'."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui import cli
from evedmv_tui.store.db import Database
from tests.fakes.server import FakeServer, Reply
from tests.pending_support import real_packages, write_listing


@pytest.fixture
def packages() -> list[dict[str, Any]]:
    return real_packages()


def test_next_try_at_is_iso_8601(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The next try was printed with a space between date and time."""
    chosen = packages[:2]
    assert cli.main(["import", "--offline", str(write_listing(tmp_path, chosen))]) == 0
    capsys.readouterr()
    fake.add_killmail(chosen[1]["killmail"], chosen[1]["zkb"]["hash"])
    missing = chosen[0]["killID"]
    fake.queue("GET", f"/esi/killmails/{missing}/", Reply.error(404, "Not found"))

    assert cli.main(["import", "--pending", "--json"]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["waiting"] == 1
    assert "T" in result["next_try_at"]
    parsed = datetime.datetime.fromisoformat(result["next_try_at"])
    assert parsed.tzinfo is not None


def test_online_import_counts_still_pending(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Online, the top-level still_pending was null while the fetch counted it."""
    chosen = packages[:3]
    for package in chosen[:2]:
        fake.add_killmail(package["killmail"], package["zkb"]["hash"])
    missing = chosen[2]["killID"]
    fake.queue("GET", f"/esi/killmails/{missing}/", Reply.error(404, "Not found"))

    assert cli.main(["import", "--json", str(write_listing(tmp_path, chosen))]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["pending"] == 3
    assert result["fetched"]["stored"] == 2
    assert result["still_pending"] == 1
    assert result["fetched"]["still_pending"] == 1
    assert result["pending_hint"] is None
