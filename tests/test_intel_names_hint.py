"""The hint of a name lookup when names were never requested from ESI.

Killmails carry ids only, so a database filled by an offline import has no
names at all. The command, the entity screen and the search screen then state
where names come from and how to have them stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.screens.entity import AllianceScreen
from evedmv_tui.screens.search import SearchScreen, describe_no_hits
from evedmv_tui.store.db import Database
from tests.fakes.server import FakeServer
from tests.test_app import until, wait_connected
from tests.test_battle_fixtures import brawl, fleet, insert_static
from tests.test_battle_screens import import_kills
from tests.test_intel_screens import settle, text_of
from tests.test_search import insert_name

ALLIANCE = 99_000_777
"""An alliance that the stored killmails mention, without a stored name."""
OFFLINE_TEXT = "names come from ESI, which offline mode (--offline, EVEDMV_OFFLINE=1"


@pytest.fixture
def esi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeServer]:
    """ESI on loopback, and no config file or environment of the user's."""
    with FakeServer() as server:
        monkeypatch.setenv("EVEDMV_ESI_URL", server.esi_url)
        monkeypatch.setenv("EVEDMV_USER_AGENT", "evedmv-tui tests")
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
        monkeypatch.delenv("EVEDMV_OFFLINE", raising=False)
        yield server


def store_fight(db: Database) -> None:
    insert_static(db)
    import_kills(
        db,
        brawl(fleet(3, 98_000_771, ALLIANCE), fleet(3, 98_000_772, None), kills=4),
    )


def test_cli_offline_without_names(
    db: Database, db_url: str, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no names stored, the hint was to import killmails that mention
    the name, though killmails carry no names."""
    store_fight(db)
    args = ["--dsn", db_url, "alliance", "show", "Goon", "--offline"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "alliance not found" in err
    assert "hint: no alliance names are stored. Killmails carry only ids" in err
    assert OFFLINE_TEXT in err
    assert "run 'evedmv alliance show ID' without offline mode" in err
    assert "import killmails" not in err
    assert esi.requests_to("POST", "/esi/") == []


def test_cli_online_without_names(
    db: Database, db_url: str, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    store_fight(db)
    assert main(["--dsn", db_url, "corp", "show", "Goon"]) == 2
    err = capsys.readouterr().err
    assert "hint: no corporation names are stored." in err
    assert "when ESI is reachable, 'evedmv corp show ID' stores the names" in err
    assert "offline mode" not in err


def test_cli_offline_with_names(
    db: Database, db_url: str, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With other names stored, the hint keeps the matching rules and adds
    that offline mode resolves no name."""
    store_fight(db)
    insert_name(db, 99_000_778, "alliance", "Other Alliance")
    assert main(["--dsn", db_url, "alliance", "show", "Goon", "--offline"]) == 2
    err = capsys.readouterr().err
    assert "hint: a name matches a whole stored name" in err
    assert "no alliance names are stored" not in err
    assert OFFLINE_TEXT in err


def test_hinted_command_stores_name(
    db: Database, db_url: str, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command the hint names stores the name, so the name then works."""
    store_fight(db)
    esi.add_names([(ALLIANCE, "alliance", "Goonswarm Federation")])
    assert main(["--dsn", db_url, "alliance", "show", "Goon"]) == 2
    assert main(["--dsn", db_url, "alliance", "show", str(ALLIANCE)]) == 0
    capsys.readouterr()
    assert main(["--dsn", db_url, "alliance", "show", "Goon", "--offline"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Goonswarm Federation (alliance {ALLIANCE})")


@pytest.mark.parametrize(
    ("text", "names_stored", "offline", "expected"),
    [
        ("12345", False, True, "Nothing matches."),
        ("Goon", True, False, "Nothing matches."),
    ],
)
def test_no_hits_plain_line(
    text: str, names_stored: bool, offline: bool, expected: str
) -> None:
    """An id, or a name searched online among stored names, needs no hint."""
    line = describe_no_hits(text, names_stored=names_stored, offline=offline)
    assert line == expected


def test_no_hits_online_without_names() -> None:
    line = describe_no_hits("Goon", names_stored=False, offline=False)
    assert line.startswith(
        "Nothing matches. No character, corporation or alliance names are stored."
    )
    assert "when ESI is reachable, 'evedmv corp|alliance|character show ID'" in line
    assert line.endswith(" Give the numeric id, or run that command first.")


async def test_search_offline_without_names(db: Database, settings: Settings) -> None:
    """Search showed only "Nothing matches." when offline mode had left every
    name unresolved."""
    store_fight(db)
    app = EvedmvApp(dataclasses.replace(settings, offline=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("slash", *"Goon")
        search = app.screen
        assert isinstance(search, SearchScreen)
        await until(pilot, lambda: search.hits_text == "Goon")
        await pilot.pause()
        status = str(search.query_one("#search-status", Static).render())
        flat = " ".join(status.split())
        assert flat.startswith(
            "Nothing matches. No character, corporation or alliance names are"
            " stored. Killmails carry only ids"
        )
        assert OFFLINE_TEXT in flat
        # The line wraps instead of being cut at the screen's edge.
        assert search.query_one("#search-status").size.height > 1


async def test_search_offline_with_names(db: Database, settings: Settings) -> None:
    store_fight(db)
    insert_name(db, 99_000_778, "alliance", "Other Alliance")
    app = EvedmvApp(dataclasses.replace(settings, offline=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("slash", *"Goon")
        search = app.screen
        assert isinstance(search, SearchScreen)
        await until(pilot, lambda: search.hits_text == "Goon")
        await pilot.pause()
        status = " ".join(str(search.query_one("#search-status").render()).split())
        assert status.startswith("Nothing matches. Killmails carry only ids")
        assert OFFLINE_TEXT in status


async def test_entity_screen_offline_without_names(
    db: Database, settings: Settings
) -> None:
    store_fight(db)
    app = EvedmvApp(dataclasses.replace(settings, offline=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("alliance", "Goon")
        await settle(pilot)
        assert isinstance(app.screen, AllianceScreen)
        title = " ".join(text_of(app, "#entity-title").split())
        assert title.startswith(
            "No alliance with the id or name 'Goon' is stored. No alliance names"
            " are stored. Killmails carry only ids"
        )
        assert OFFLINE_TEXT in title
        assert "'evedmv alliance show ID' without offline mode" in title
        assert "to search, which also finds part of a name." in title


async def test_entity_screen_id_not_found(db: Database, settings: Settings) -> None:
    """An id that nothing mentions gets no word about names."""
    store_fight(db)
    app = EvedmvApp(dataclasses.replace(settings, offline=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("alliance", 99_000_999)
        await settle(pilot)
        title = " ".join(text_of(app, "#entity-title").split())
        assert title.startswith("No alliance with the id or name '99000999'")
        assert "ESI" not in title
