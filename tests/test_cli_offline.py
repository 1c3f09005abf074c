"""Offline mode (``--offline`` or ``EVEDMV_OFFLINE=1``): no request leaves.

ESI and zKillboard are a real HTTP server on loopback here, so every test
can check that it received nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.config import Settings, load_settings
from evedmv_tui.errors import ConfigError
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import FakeServer
from tests.test_killmail_screen import (
    KILLMAIL_ID,
    VICTIM_CHARACTER_ID,
    insert_killmail,
    insert_static_data,
    open_killmail,
    read_document,
)

ZKB_LIST = "killmails/feeds/zkb_api_moldenheath_npc.json"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeServer]:
    """ESI and R2Z2 on loopback, named in the environment the CLI reads."""
    with FakeServer() as server:
        monkeypatch.setenv("EVEDMV_ESI_URL", server.esi_url)
        monkeypatch.setenv("EVEDMV_R2Z2_URL", server.r2z2_url)
        monkeypatch.delenv("EVEDMV_OFFLINE", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        yield server


@pytest.mark.parametrize(
    ("environ", "overrides", "expected"),
    [
        ({}, {}, False),
        ({"EVEDMV_OFFLINE": "1"}, {}, True),
        ({"EVEDMV_OFFLINE": "yes"}, {}, True),
        ({"EVEDMV_OFFLINE": "0"}, {}, False),
        ({"EVEDMV_OFFLINE": "off"}, {}, False),
        ({"EVEDMV_OFFLINE": "0"}, {"offline": True}, True),
    ],
)
def test_offline_setting_sources(
    tmp_path: Path,
    environ: dict[str, str],
    overrides: dict[str, bool],
    expected: bool,
) -> None:
    environ = {**environ, "XDG_CONFIG_HOME": str(tmp_path)}

    settings = load_settings(overrides, environ=environ)

    assert settings.offline is expected


def test_offline_invalid_value_rejected(tmp_path: Path) -> None:
    environ = {"EVEDMV_OFFLINE": "maybe", "XDG_CONFIG_HOME": str(tmp_path)}

    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)

    assert "offline='maybe' from EVEDMV_OFFLINE" in caught.value.message


@pytest.fixture
def zkb_list(tmp_path: Path) -> Path:
    """Three entries of a real zKillboard list: ids and hashes, no bodies.

    A few are enough, and each one ESI does not know costs an error of the
    fake server's error limit.
    """
    entries = json.loads(shared_file(ZKB_LIST).read_text(encoding="utf-8"))
    path = tmp_path / "zkb.json"
    path.write_text(json.dumps(entries[:3]), encoding="utf-8")
    return path


def pending_count(db: Database) -> int:
    count: int = db.fetch_value(
        "SELECT count(*) FROM killmail_index WHERE state = 'pending'"
    )
    return count


@pytest.mark.parametrize("switch", ["option", "environment"])
def test_import_offline_fetches_nothing(
    db: Database,
    db_url: str,
    fake: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    zkb_list: Path,
    switch: str,
) -> None:
    """Killmails reported without a body stay pending, as with import --offline."""
    args = ["--dsn", db_url, "import", str(zkb_list)]
    if switch == "option":
        args.insert(0, "--offline")
    else:
        monkeypatch.setenv("EVEDMV_OFFLINE", "1")

    assert main(args) == 0

    assert fake.requests == []
    assert pending_count(db) == 3


def test_import_online_fetches_bodies(
    db: Database, db_url: str, fake: FakeServer, zkb_list: Path
) -> None:
    """Without offline mode the same file sends ESI a request per body."""
    assert main(["--dsn", db_url, "import", str(zkb_list)]) in (0, 1)

    assert len(fake.requests_to("GET", "/esi/killmails/")) == 3


def test_follow_refused_offline(
    db_url: str, fake: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.publish(1, {"killmail_id": 1})

    status = main(["--offline", "--dsn", db_url, "follow", "--once"])

    err = capsys.readouterr().err
    assert status == 2
    assert "follow needs the network" in err
    assert "forbids contacting zKillboard" in err
    assert fake.requests == []


@pytest.mark.parametrize("offline", [True, False])
def test_entity_page_names_offline(
    db: Database,
    db_url: str,
    fake: FakeServer,
    capsys: pytest.CaptureFixture[str],
    offline: bool,
) -> None:
    """Offline, unnamed entities stay ids and the command prints why."""
    # Real killmails: generated entities have ids past 2^31, which are never
    # requested from ESI, online or not.
    real = shared_file("killmails/real/everef_cluster_samples.jsonl")
    import_paths(db, [real], offline=True)
    corporation = db.fetch_value(
        "SELECT corporation_id FROM attackers WHERE corporation_id >= 98000000"
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )
    args = ["--dsn", db_url, "corp", "show", str(corporation), "--period", "all"]
    capsys.readouterr()

    status = main(["--offline", *args] if offline else args)

    captured = capsys.readouterr()
    assert status == 0
    requests = fake.requests_to("POST", "/esi/universe/names/")
    if offline:
        assert requests == []
        assert "offline:" in captured.err
        assert "were not requested from ESI, so they show as ids" in captured.err
    else:
        assert requests
        assert "offline:" not in captured.err


@pytest.fixture
def killmail_settings(settings: Settings, db: Database, fake: FakeServer) -> Settings:
    """The real killmail 70591378 stored; its victim has no stored name."""
    document = read_document()
    insert_static_data(db, document)
    insert_killmail(db, document)
    fake.add_names([(VICTIM_CHARACTER_ID, "character", "Test Victim")])
    return dataclasses.replace(settings, esi_url=fake.esi_url, offline=True)


async def test_dashboard_offline_asks_no_names(
    killmail_settings: Settings, fake: FakeServer
) -> None:
    """The killmail screen keeps unnamed pilots as ids and sends no request."""
    app = EvedmvApp(killmail_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        victim = str(app.screen.query_one("#victim", Static).render())
        resolver = app.name_resolver()
        await pilot.pause(0.2)

    assert f"#{VICTIM_CHARACTER_ID}" in victim
    assert "Test Victim" not in victim
    assert resolver is not None
    assert resolver.client is None
    assert fake.requests == []
