"""The offline hints of 'evedmv import' name every offline setting in force."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui import cli
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import FakeServer, read_jsonl


@pytest.fixture
def listing(tmp_path: Path) -> Path:
    """A zKillboard API list of one real killmail: its id and zkb, no body."""
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    package: dict[str, Any] = next(read_jsonl(path))
    listing = tmp_path / "zkb_api_list.json"
    entry = {"killmail_id": package["killID"], "zkb": package["zkb"]}
    listing.write_text(json.dumps([entry]), encoding="utf-8")
    return listing


def test_flag_and_environment_both_named(
    db: Database,
    fake: FakeServer,
    listing: Path,
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The hint named only --offline, and running without it stayed offline
    because of EVEDMV_OFFLINE."""
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")

    assert cli.main(["import", "--offline", str(listing)]) == 0
    out = capsys.readouterr().out
    assert cli.main(["import", "--offline", "--json", str(listing)]) == 0
    result = json.loads(capsys.readouterr().out)

    assert "--offline and EVEDMV_OFFLINE=1 together made this run offline" in out
    assert "so first leave out --offline and unset EVEDMV_OFFLINE." in out
    assert result["offline_because"] == "--offline and EVEDMV_OFFLINE=1"


def test_pending_names_global_flag_and_config(
    db: Database,
    fake: FakeServer,
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("offline = true\n", encoding="utf-8")

    status = cli.main(["--config", str(config), "--offline", "import", "--pending"])

    err = capsys.readouterr().err
    assert status == 2
    assert f"the global --offline and offline = true in {config}" in err
    assert "leave out the global --offline" in err
    assert f"set offline = false in {config}" in err


def test_environment_overrides_config_file(
    db: Database,
    fake: FakeServer,
    listing: Path,
    tmp_path: Path,
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """EVEDMV_OFFLINE=0 turns the config file's offline off, so only the
    flag is in force."""
    config = tmp_path / "config.toml"
    config.write_text("offline = true\n", encoding="utf-8")
    monkeypatch.setenv("EVEDMV_OFFLINE", "0")

    status = cli.main(["--config", str(config), "import", "--offline", str(listing)])

    out = capsys.readouterr().out
    assert status == 0
    assert "--offline made this run offline" in out
    assert "config.toml" not in out
