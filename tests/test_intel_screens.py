"""The entity, search and watch screens, driven with Pilot on real data.

Regenerate the snapshots after an intended change with
``.venv/bin/pytest tests/test_intel_screens.py --snapshot-update``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input, OptionList, Static, TabbedContent, Tabs

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.intel.entities import Period
from evedmv_tui.intel.pages import EntityBattle
from evedmv_tui.intel.watch import ProfileSpec
from evedmv_tui.screens.entity import (
    AllianceScreen,
    CharacterScreen,
    CorporationScreen,
    EntityScreen,
)
from evedmv_tui.screens.search import SearchScreen, describe_hits
from evedmv_tui.screens.watch import ProfileForm, WatchNotifier, WatchScreen
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import TELEMETRY
from evedmv_tui.widgets.intel_summary import SummaryPanel
from evedmv_tui.widgets.intel_tables import BattleTable, RecentTable, TopListTable
from evedmv_tui.widgets.table import KeyedTable
from tests.conftest import assert_footer_fits
from tests.fakes.server import FakeServer
from tests.test_intel_real import busiest, real_database
from tests.test_key_bursts import burst

SIZES = [(80, 24), (120, 40)]
# Display names for the busiest entities; the archive carries ids only.
CORPORATION_NAME = "Brave Busy Corp"
ALLIANCE_NAME = "Busy Alliance"
CHARACTER_NAME = "Busy Pilot"


class World:
    """The module's database and the ids the tests look at."""

    def __init__(self, db: Database, url: str) -> None:
        self.db = db
        self.url = url
        self.corporation = busiest(db, "corporation_id")
        self.alliance = busiest(db, "alliance_id")
        self.character = busiest(db, "character_id")
        db.execute(
            "INSERT INTO names (entity_id, category, name) VALUES"
            " (%s, 'corporation', %s), (%s, 'alliance', %s), (%s, 'character', %s),"
            " (98999901, 'corporation', 'Brave Twin One'),"
            " (98999902, 'corporation', 'Brave Twin Two')",
            (
                self.corporation,
                CORPORATION_NAME,
                self.alliance,
                ALLIANCE_NAME,
                self.character,
                CHARACTER_NAME,
            ),
        )


@pytest.fixture(scope="module")
def world(pg_cluster: PrivateCluster) -> Iterator[World]:
    with real_database(pg_cluster) as (db, url):
        yield World(db, url)


@pytest.fixture
def app_settings(world: World, tmp_path: Path) -> Iterator[Settings]:
    """Settings on the module's database, with ESI and R2Z2 on loopback."""
    with FakeServer() as fake:
        yield Settings(
            dsn=world.url,
            data_dir=tmp_path / "data",
            state_dir=tmp_path / "state",
            user_agent="evedmv-tui tests (tests@example.invalid)",
            esi_url=fake.esi_url,
            r2z2_url=fake.r2z2_url,
        )
    world.db.execute("TRUNCATE watch_profiles CASCADE")


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()


async def open_busy_corporation(
    app: EvedmvApp, pilot: Any, world: World
) -> EntityScreen:
    """Open the page of the corporation with the most killmails."""
    await settle(pilot)
    app.open_screen("corporation", world.corporation)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, EntityScreen)
    return screen


def text_of(app: EvedmvApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


@pytest.mark.parametrize("size", SIZES)
async def test_corporation_page_shows_figures(
    app_settings: Settings, world: World, size: tuple[int, int]
) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.open_screen("corporation", world.corporation)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        assert CORPORATION_NAME in text_of(app, "#entity-title")
        summary = str(screen.query_one(SummaryPanel).render())
        assert f"{screen.page.summary.kills:,}" in summary
        assert "ISK efficiency" in summary
        assert "suggests" in str(screen.query_one("#entity-heatmap", Static).render())
        pilots = screen.query_one("#top-pilots", TopListTable)
        assert pilots.row_count == len(screen.page.tops["pilots"]) > 0
        # Lists that count one side show that count only, not a column of 0.
        assert [str(c.label) for c in pilots.columns.values()] == ["Pilot", "Kills"]
        lost = screen.query_one("#top-ships_lost", TopListTable)
        assert [str(c.label) for c in lost.columns.values()] == [
            "Class lost",
            "Losses",
        ]
        systems = screen.query_one("#top-systems", TopListTable)
        assert [str(c.label) for c in systems.columns.values()] == [
            "System",
            "Kills",
            "Losses",
        ]
        recent = screen.query_one(RecentTable)
        assert recent.row_count == len(screen.page.recent) > 0


async def test_page_statements_are_bounded(
    app_settings: Settings, world: World
) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        TELEMETRY.clear()
        app.open_screen("alliance", world.alliance)
        await settle(pilot)
        assert isinstance(app.screen, AllianceScreen)
        tagged = [
            r for r in TELEMETRY.records() if r.operation.startswith("intel.page")
        ]
        # One lookup by id, then the page: aggregates, recent, battles, names.
        assert 2 <= len(tagged) <= 5


async def test_period_keys_reload_page(app_settings: Settings, world: World) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_busy_corporation(app, pilot, world)
        assert screen.page is not None
        assert screen.page.period.value == "30d"
        await pilot.press("4")
        await settle(pilot)
        assert screen.page.period.value == "all"
        assert "all time" in text_of(app, "#entity-title")


async def test_tabs_switch_at_small_size(app_settings: Settings, world: World) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("character", world.character)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CharacterScreen)
        assert not screen.query("#top-pilots")
        tabs = screen.query_one(TabbedContent)
        tabs.active = "tab-tops"
        await pilot.pause()
        flown = screen.query_one("#top-ships_flown", TopListTable)
        assert flown.row_count > 0
        tabs.active = "tab-recent"
        await pilot.pause()
        assert screen.query_one(RecentTable).row_count > 0


async def test_recent_row_opens_killmail(app_settings: Settings, world: World) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_busy_corporation(app, pilot, world)
        assert screen.page is not None
        screen.query_one(TabbedContent).active = "tab-recent"
        await pilot.pause()
        recent = screen.query_one(RecentTable)
        recent.focus()
        await pilot.press("enter")
        await settle(pilot)
        expected = ("killmail", screen.page.recent[0].killmail_id)
        assert getattr(app.screen, "entry_key", None) == expected


async def test_arrows_and_enter_in_one_burst(
    app_settings: Settings, world: World
) -> None:
    """Enter acts when the app reads it, and it opened the row from before
    the arrows typed with it in one burst."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_busy_corporation(app, pilot, world)
        await pilot.press("7")
        await settle(pilot)
        recent = screen.query_one(RecentTable)
        assert app.focused is recent
        assert recent.row_count > 3
        burst(app, "down", "down", "down", "enter")
        await settle(pilot)
        killmail_id, _, _ = recent.row_keys[3].partition(":")
        assert getattr(app.screen, "entry_key", None) == ("killmail", int(killmail_id))


async def test_own_side_kill_listed_twice(app_settings: Settings, world: World) -> None:
    """A corporation that shot its own member has that killmail as a kill and
    as a loss. Both rows are listed, the Battles tab is filled, and Enter on
    either row opens the killmail."""
    corporation, killmail_id = world.db.fetch_one(
        "SELECT k.victim_corporation_id, k.killmail_id FROM killmails k"
        " JOIN attackers a USING (killmail_id, killmail_time)"
        " WHERE a.corporation_id = k.victim_corporation_id"
        " ORDER BY k.killmail_time DESC, k.killmail_id DESC LIMIT 1"
    )
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", corporation)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EntityScreen)
        screen.action_period("all")
        await settle(pilot)
        assert screen.page is not None
        roles = [r.role for r in screen.page.recent if r.killmail_id == killmail_id]
        assert sorted(roles) == ["kill", "loss"]
        recent = screen.query_one(RecentTable)
        assert recent.row_count == len(screen.page.recent)
        assert screen.query_one(BattleTable).row_count == len(screen.page.battles)
        screen.query_one(TabbedContent).active = "tab-recent"
        await pilot.pause()
        recent.focus()
        recent.move_cursor(row=recent.row_keys.index(f"{killmail_id}:loss"))
        await pilot.press("enter")
        await settle(pilot)
        assert getattr(app.screen, "entry_key", None) == ("killmail", killmail_id)


async def test_name_with_several_matches_lists_them(
    app_settings: Settings, world: World
) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", "brave twin")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        options = screen.query_one("#entity-candidates", OptionList)
        assert options.option_count == 2
        assert "2 corporations match" in text_of(app, "#entity-title")
        options.focus()
        options.highlighted = 1
        await pilot.press("enter")
        await settle(pilot)
        assert screen.page is not None
        assert screen.page.entity.name == "Brave Twin Two"


async def test_unknown_name_says_so(app_settings: Settings) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("alliance", "no such [b]alliance")
        await settle(pilot)
        assert isinstance(app.screen, AllianceScreen)
        assert app.screen.page is None
        assert "No alliance with the id or name" in text_of(app, "#entity-title")
        assert "[b]alliance" in text_of(app, "#entity-title")
        # Periods and tabs need a page, so the footer leaves them out.
        active = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "reload" in active
        assert not any(a.startswith(("period", "next_tab")) for a in active)


async def test_unknown_name_hides_empty_page(app_settings: Settings) -> None:
    """A name nothing matches points to search and hides the empty tabs."""
    from evedmv_tui.widgets.intel_heatmap import HeatmapView

    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", "Blade")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is None
        title = text_of(app, "#entity-title")
        assert "No corporation with the id or name 'Blade' is stored." in title
        assert "Press / to search, which also finds part of a name." in title
        assert not screen.query_one("#entity-tabs").display
        assert screen.query_one(HeatmapView).region.area == 0
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)


async def test_search_screen_finds_and_opens(
    app_settings: Settings, world: World
) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"busy")
        await settle(pilot)
        screen = app.screen
        assert {hit.name for hit in screen.hits} >= {
            CORPORATION_NAME,
            ALLIANCE_NAME,
            CHARACTER_NAME,
        }
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityScreen)


async def test_search_arrows_and_enter_in_one_burst(
    app_settings: Settings, world: World
) -> None:
    """Down moved the focus to the results a moment later, so the keys typed
    with it went to the field and Enter opened the first result."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"busy")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        assert len(screen.hits) >= 3
        third = screen.hits[2]
        burst(app, "down", "down", "down", "enter")
        await settle(pilot)
        assert getattr(app.screen, "entry_key", None) == (third.kind, third.entity_id)


async def test_search_matches_systems(app_settings: Settings) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("search")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        screen.query_one(Input).value = "jita"
        await settle(pilot)
        assert screen.hits[0].name == "Jita"
        assert screen.hits[0].kind == "solar_system"


async def test_search_while_disconnected_says_so(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typing while the database is down must not show "Type to search."."""
    from evedmv_tui import app as app_module
    from evedmv_tui.screens.search import DISCONNECTED

    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("search")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        db = app.db
        assert db is not None
        app.connection_lost(db, "server closed the connection unexpectedly")
        await pilot.pause()
        await pilot.press(*"jita")
        await pilot.pause()
        assert text_of(app, "#search-status") == DISCONNECTED
        for _ in range(4):
            await pilot.press("backspace")
        await pilot.pause()
        assert text_of(app, "#search-status") == "Type to search."
        await pilot.press(*"jita")
        app.action_reconnect()
        for _ in range(200):
            if app.db is not None:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        assert screen.hits[0].name == "Jita"
        assert text_of(app, "#search-status").startswith("1 match")


async def test_palette_offers_search_hits(app_settings: Settings, world: World) -> None:
    from evedmv_tui.screens.search import SearchProvider

    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        provider = SearchProvider(app.screen)
        hits = [hit async for hit in provider.search("Busy Pil")]
        assert [str(hit.text) for hit in hits] == [f"{CHARACTER_NAME} (character)"]
        hits[0].command()
        await settle(pilot)
        assert isinstance(app.screen, CharacterScreen)


async def test_watch_screen_add_disable_delete(
    app_settings: Settings, world: World
) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, WatchScreen)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ProfileForm)
        # The footer names the save key as well as the cancel key.
        keys = {k: b.binding.description for k, b in form.active_bindings.items()}
        assert keys["enter"] == "Save"
        assert keys["escape"] == "Cancel"
        form.query_one("#form-name", Input).value = "busy corp"
        form.query_one("#form-corporation_ids", Input).value = str(world.corporation)
        form.query_one("#form-min_attackers", Input).value = "x"
        form.action_save()
        await pilot.pause()
        assert "Min attackers" in str(form.query_one("#form-error", Static).render())
        form.query_one("#form-min_attackers", Input).value = ""
        form.query_one("#form-min_value", Input).value = "lots"
        form.action_save()
        await pilot.pause()
        error = str(form.query_one("#form-error", Static).render())
        # The message gives the expected form already; no second line repeats it.
        assert error.count("give an ISK amount") == 1
        form.query_one("#form-min_value", Input).value = ""
        form.query_one("#form-ship_classes", Input).value = "banana"
        form.action_save()
        await pilot.pause()
        error = str(form.query_one("#form-error", Static).render())
        assert "unknown ship class 'banana'" in error
        assert "known classes: " in error
        assert "battleship" in error
        form.query_one("#form-ship_classes", Input).value = ""
        form.query_one("#form-min_attackers", Input).value = "2"
        form.action_save()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WatchScreen)
        [profile] = watch.list_profiles(world.db)
        assert profile.corporation_ids == [world.corporation]
        assert profile.min_attackers == 2
        table = screen.query_one("#watch-profiles", KeyedTable)
        assert table.row_keys == ["busy corp"]
        table.focus()
        await pilot.press("space")
        await settle(pilot)
        assert watch.list_profiles(world.db)[0].enabled is False
        await pilot.press("d")
        await pilot.pause()
        assert watch.list_profiles(world.db) != []
        await pilot.press("d")
        await settle(pilot)
        assert watch.list_profiles(world.db) == []


async def test_watch_delete_asks_again_later(
    app_settings: Settings, world: World
) -> None:
    """A second d confirms only right after the first, with no key between."""
    watch.create_profile(world.db, ProfileSpec("keep", solar_system_ids=(30000142,)))
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WatchScreen)
        screen.query_one("#watch-profiles", KeyedTable).focus()
        await pilot.press("d")
        screen._confirm_until = 0.0  # the confirmation time has passed
        await pilot.press("d")
        await settle(pilot)
        assert [p.name for p in watch.list_profiles(world.db)] == ["keep"]
        await pilot.press("x", "d")
        await settle(pilot)
        assert [p.name for p in watch.list_profiles(world.db)] == ["keep"]
        await pilot.press("d")
        await settle(pilot)
        assert watch.list_profiles(world.db) == []


async def _new_profile_form(pilot: Any, name: str, systems: str) -> ProfileForm:
    """Open the watch screen's new-profile form and type a name and systems."""
    await settle(pilot)
    await pilot.press("w")
    await settle(pilot)
    await pilot.press("a")
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, ProfileForm)
    form.query_one("#form-name", Input).value = name
    form.query_one("#form-solar_system_ids", Input).value = systems
    return form


async def test_watch_form_keys_in_one_burst_follow_tab(
    app_settings: Settings, world: World
) -> None:
    """Keys that arrive together with a tab (a paste, tmux send-keys, a slow
    SSH link) were typed into the field the tab left: 'big', tab, 'x' gave
    the name 'bigx'."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _new_profile_form(pilot, "", "")
        burst = [*"big", "tab", "x", "tab", "y", "shift+tab", "z", "tab", "tab", "7"]
        for key in burst:
            character = key if len(key) == 1 else None
            if key == "tab":
                character = "\t"
            app.post_message(events.Key(key, character))
        await pilot.pause()
        await pilot.pause()
        values = {
            field: form.query_one(f"#form-{field}", Input).value
            for field in ("name", "character_ids", "corporation_ids", "alliance_ids")
        }
        # Coming back to a field selects its text, so z replaces x there.
        assert values == {
            "name": "big",
            "character_ids": "z",
            "corporation_ids": "y",
            "alliance_ids": "7",
        }


async def test_watch_save_while_disconnected_keeps_form(
    app_settings: Settings, world: World
) -> None:
    """A save that fails opens the form again with what was typed."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _new_profile_form(pilot, "jita watch", "30000142")
        assert app.db is not None
        app.connection_lost(app.db, "server closed the connection")
        form.action_save()
        await pilot.pause()
        await pilot.pause()
        again = app.screen
        assert isinstance(again, ProfileForm)
        assert again is not form
        assert again.query_one("#form-name", Input).value == "jita watch"
        assert again.query_one("#form-solar_system_ids", Input).value == "30000142"
        assert "Not saved" in text_of(app, "#form-error")
        assert watch.list_profiles(world.db) == []
        for _ in range(100):
            if app.db is not None:
                break
            await pilot.pause(0.05)
        assert app.db is not None
        again.action_save()
        for _ in range(100):
            if watch.list_profiles(world.db):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, WatchScreen)
        assert [p.name for p in watch.list_profiles(world.db)] == ["jita watch"]


async def test_watch_form_takes_system_names(
    app_settings: Settings, world: World
) -> None:
    """A system typed by name is saved as its id, and an unknown name keeps
    the form open with the name, what was typed, and no retry advice."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _new_profile_form(pilot, "hubs", "Jita, Amamke")
        form.action_save()
        for _ in range(100):
            if text_of(app, "#form-error"):
                break
            await pilot.pause(0.05)
        assert app.screen is form
        error = text_of(app, "#form-error")
        assert "no solar system named 'Amamke' is stored" in error
        assert "check the spelling or give the id" in error
        assert "database connected" not in error
        assert not app._notifications
        systems = form.query_one("#form-solar_system_ids", Input)
        assert systems.value == "Jita, Amamke"
        systems.value = "Jita, amamake"
        form.action_save()
        for _ in range(100):
            if watch.list_profiles(world.db):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, WatchScreen)
        saved = watch.get_profile(world.db, "hubs")
        assert saved.solar_system_ids == [30000142, 30002537]


async def test_watch_screen_lists_matches(app_settings: Settings, world: World) -> None:
    from evedmv_tui.ingest.hooks import BatchResult

    watch.create_profile(
        world.db, ProfileSpec("corp", corporation_ids=(world.corporation,))
    )
    row = world.db.fetch_one(
        "SELECT array_agg(killmail_id), min(killmail_time), max(killmail_time)"
        " FROM killmails"
    )
    assert row is not None
    matches = watch.match_batch(
        world.db, BatchResult(tuple(row[0]), (), row[1], row[2], ())
    )
    assert matches
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_screen("watch")
        await settle(pilot)
        table = app.screen.query_one("#watch-matches", KeyedTable)
        assert table.row_count == min(200, len(matches))
        shown_ids = {str(table.get_row(key)[1]) for key in table.row_keys}
        assert max(m.killmail_id for m in matches) >= 1000
        assert len(shown_ids) == table.row_count
        assert shown_ids <= {str(m.killmail_id) for m in matches}


async def test_notifier_announces_new_matches(
    app_settings: Settings, world: World
) -> None:
    from evedmv_tui.ingest.hooks import BatchResult

    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.db is not None
        notifier = WatchNotifier(app)
        assert notifier.fetch_new(app.db) == []
        watch.create_profile(
            world.db, ProfileSpec("alliance", alliance_ids=(world.alliance,))
        )
        row = world.db.fetch_one(
            "SELECT array_agg(killmail_id), min(killmail_time), max(killmail_time)"
            " FROM killmails"
        )
        assert row is not None
        recorded = watch.match_batch(
            world.db, BatchResult(tuple(row[0]), (), row[1], row[2], ())
        )
        found = notifier.fetch_new(app.db)
        assert {m.match_id for m in found} == {m.match_id for m in recorded[-100:]}
        notifier.announce(found)
        await pilot.pause()
        titles = [n.title for n in app._notifications]
        assert f"{len(found)} watch matches" in titles
        notifier.announce(found)
        await pilot.pause()
        assert [n.title for n in app._notifications] == titles


def open_page(screen: str, argument: int | str, *keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.open_screen(screen, argument)
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_corporation_snapshot(
    snap_compare: Any, app_settings: Settings, world: World, size: Any
) -> None:
    app = EvedmvApp(app_settings)
    run_before = open_page("corporation", world.corporation, "4")
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_alliance_tops_snapshot(
    snap_compare: Any, app_settings: Settings, world: World, size: Any
) -> None:
    async def run_before(pilot: Any) -> None:
        await open_page("alliance", world.alliance, "4")(pilot)
        pilot.app.screen.query_one(TabbedContent).active = "tab-tops"
        await pilot.pause()

    app = EvedmvApp(app_settings)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_character_recent_snapshot(
    snap_compare: Any, app_settings: Settings, world: World, size: Any
) -> None:
    async def run_before(pilot: Any) -> None:
        await open_page("character", world.character, "4")(pilot)
        pilot.app.screen.query_one(TabbedContent).active = "tab-recent"
        await pilot.pause()

    app = EvedmvApp(app_settings)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_search_snapshot(
    snap_compare: Any, app_settings: Settings, world: World, size: Any
) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("slash", *"brave")
        await settle(pilot)
        # A blinking cursor would be on or off depending on timing.
        field = pilot.app.screen.query_one(Input)
        field.cursor_blink = False
        field.focus()
        await pilot.pause()

    app = EvedmvApp(app_settings)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_watch_snapshot(
    snap_compare: Any, app_settings: Settings, world: World, size: Any
) -> None:
    watch.create_profile(
        world.db,
        ProfileSpec(
            "capitals", ship_classes=("capital", "supercapital"), min_value=1e9
        ),
    )
    watch.create_profile(
        world.db, ProfileSpec("busy", corporation_ids=(world.corporation,))
    )

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)

    app = EvedmvApp(app_settings)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_app_notifies_matches_of_live_batches(
    app_settings: Settings, world: World
) -> None:
    import asyncio

    from evedmv_tui.ingest.hooks import BatchResult

    watch.create_profile(
        world.db, ProfileSpec("corp live", corporation_ids=(world.corporation,))
    )
    row = world.db.fetch_one(
        "SELECT array_agg(killmail_id), min(killmail_time), max(killmail_time)"
        " FROM killmails"
    )
    assert row is not None
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.db is not None
        batch = BatchResult(tuple(row[0]), (), row[1], row[2], ())
        # The live feed runs the hooks in a worker thread of the app.
        await asyncio.to_thread(watch.on_batch, app.db, batch)
        await settle(pilot)
        titles = [n.title for n in app._notifications]
        assert any(title.endswith("watch matches") for title in titles)


async def test_battle_row_opens_report(app_settings: Settings, world: World) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_busy_corporation(app, pilot, world)
        assert screen.page is not None
        assert screen.page.battles
        screen.query_one(TabbedContent).active = "tab-battles"
        await pilot.pause()
        battles = screen.query_one(BattleTable)
        assert battles.row_count == len(screen.page.battles)
        battles.focus()
        await pilot.press("enter")
        await settle(pilot)
        expected = ("battle", screen.page.battles[0].battle_id)
        assert getattr(app.screen, "entry_key", None) == expected


async def test_empty_battles_tab_names_period(
    app_settings: Settings, world: World
) -> None:
    """A page without battles explains the empty tab instead of showing an
    empty table. An entity without any killmail showed "press 4 for all
    time", and 4 then showed that no battles are stored."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", world.corporation)
        await settle(pilot)
        busy = app.screen
        assert isinstance(busy, EntityScreen)
        assert busy.page is not None
        assert busy.page.battles
        assert not busy.query_one("#entity-battles-note", Static).display

        # A corporation with a stored name and no killmails.
        app.open_screen("corporation", 98999901)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EntityScreen)
        assert screen.page is not None
        assert screen.page.period is Period.MONTH
        note = screen.query_one("#entity-battles-note", Static)
        assert note.display
        assert str(note.render()) == "No battles of this entity are stored."
        heatmap = text_of(app, "#entity-heatmap")
        assert heatmap.endswith("No kills or losses of this entity are stored.")


async def test_palette_search_by_keyboard(app_settings: Settings, world: World) -> None:
    """ctrl+p, a few letters of a name and enter open the entity's page."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Busy Pil")
        for _ in range(50):
            await pilot.pause(0.05)
            hits = [
                str(options.get_option_at_index(index).prompt)
                for options in app.screen.query(OptionList)
                for index in range(options.option_count)
            ]
            if any(CHARACTER_NAME in hit for hit in hits):
                break
        assert any(CHARACTER_NAME in hit for hit in hits), hits
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CharacterScreen)


async def test_watch_screen_edit_and_marked_profiles(
    app_settings: Settings, world: World
) -> None:
    for name in ("alpha", "bravo", "charlie"):
        watch.create_profile(
            world.db, ProfileSpec(name, corporation_ids=(world.corporation,))
        )
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("watch")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WatchScreen)
        table = screen.query_one("#watch-profiles", KeyedTable)
        table.focus()

        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ProfileForm)
        assert form.query_one("#form-name", Input).value == "alpha"
        form.query_one("#form-min_attackers", Input).value = "3"
        form.action_save()
        await settle(pilot)
        edited = {p.name: p for p in watch.list_profiles(world.db)}
        assert edited["alpha"].min_attackers == 3
        assert edited["bravo"].min_attackers is None

        # Mark alpha and bravo, then switch and delete both at once.
        await pilot.press("x", "down")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert screen.marked == {"alpha", "bravo"}
        await pilot.press("space")
        await settle(pilot)
        enabled = {p.name: p.enabled for p in watch.list_profiles(world.db)}
        assert enabled == {"alpha": False, "bravo": False, "charlie": True}
        await pilot.press("d", "d")
        await settle(pilot)
        assert [p.name for p in watch.list_profiles(world.db)] == ["charlie"]


async def test_search_input_stops_at_its_cap(app_settings: Settings) -> None:
    from evedmv_tui.screens.search import MAX_SEARCH_LENGTH

    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("search")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        field = screen.query_one(Input)
        field.value = "x" * (MAX_SEARCH_LENGTH - 2)
        field.cursor_position = len(field.value)
        await pilot.press(*("x" * 5))
        await settle(pilot)
        assert screen.query_one(Input).value == "x" * MAX_SEARCH_LENGTH
        assert screen.hits == []
        assert "Nothing matches." in str(screen.query_one("#search-status").render())


async def test_entity_page_starts_on_tab_strip(
    app_settings: Settings, world: World
) -> None:
    """Left and Right must switch tabs at once, and t must cycle them.

    The page used to open with nothing focused, so arrows did nothing until
    the user found the Tab key.
    """
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", world.corporation)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        tabs = screen.query_one(TabbedContent)
        assert isinstance(screen.focused, Tabs)
        assert tabs.active == "tab-summary"
        await pilot.press("right")
        await pilot.pause()
        assert tabs.active == "tab-tops"
        await pilot.press("left")
        await pilot.pause()
        assert tabs.active == "tab-summary"
        for expected in ("tab-tops", "tab-recent", "tab-battles", "tab-summary"):
            await pilot.press("t")
            await pilot.pause()
            assert tabs.active == expected
            assert isinstance(screen.focused, Tabs)
        assert screen.period.value == "30d"
        await pilot.press("1")
        await settle(pilot)
        assert screen.period.value == "7d"
        assert_footer_fits(app)


async def test_entity_candidate_pick_focuses_tabs(
    app_settings: Settings, world: World
) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", "brave twin")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.focused is screen.query_one("#entity-candidates", OptionList)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.page is not None
        assert isinstance(screen.focused, Tabs)
        await pilot.press("right")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "tab-tops"


async def test_search_down_highlights_first_hit(
    app_settings: Settings, world: World
) -> None:
    """One Down from the input, then Enter, must open the first hit.

    The first Down used to focus the list with no option highlighted, so
    Enter did nothing.
    """
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        await pilot.press(*"busy")
        await settle(pilot)
        assert len(screen.hits) >= 3
        status = str(screen.query_one("#search-status").render())
        assert status.startswith(f"{len(screen.hits)} matches;")
        await pilot.press("down")
        await pilot.pause()
        results = screen.query_one("#search-results", OptionList)
        assert screen.focused is results
        assert results.highlighted == 0
        first = screen.hits[0]
        await pilot.press("enter")
        await settle(pilot)
        expected = (first.kind, first.entity_id)
        assert getattr(app.screen, "entry_key", None) == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 match; Enter opens it, Down to pick."),
        (2, "2 matches; Enter opens the first, Down to pick."),
        (19, "19 matches; Enter opens the first, Down to pick."),
        (20, "First 20 matches; Enter opens the first, Down to pick."),
    ],
)
def test_search_status_counts_hits(count: int, expected: str) -> None:
    assert describe_hits(count, limit=20) == expected


def cell_widths_fit(table: KeyedTable) -> list[str]:
    """Return the labels of columns narrower than their widest cell or label."""
    cut = []
    for index, column in enumerate(table.ordered_columns):
        cells = [table.get_row_at(row)[index] for row in range(table.row_count)]
        widest = max(
            [Text.from_markup(str(column.label)).cell_len]
            + [Text(str(cell)).cell_len for cell in cells]
        )
        if column.get_render_width(table) - 2 * table.cell_padding < widest:
            cut.append(str(column.label))
    return cut


async def test_watch_screen_refreshes_on_new_matches(
    app_settings: Settings, world: World
) -> None:
    """Matches announced while the screen is open must show without r."""
    from evedmv_tui.ingest.hooks import BatchResult

    watch.create_profile(
        world.db, ProfileSpec("alliance", alliance_ids=(world.alliance,))
    )
    watch.create_profile(
        world.db, ProfileSpec("corp", corporation_ids=(world.corporation,))
    )
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.db is not None
        notifier = WatchNotifier(app)
        assert notifier.fetch_new(app.db) == []
        app.open_screen("watch")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WatchScreen)
        profiles = screen.query_one("#watch-profiles", KeyedTable)
        matches = screen.query_one("#watch-matches", KeyedTable)
        assert profiles.row_keys == ["alliance", "corp"]
        assert matches.row_count == 0
        profiles.focus()
        await pilot.press("down")
        await settle(pilot)
        assert screen.selected == "corp"

        row = world.db.fetch_one(
            "SELECT array_agg(killmail_id), min(killmail_time), max(killmail_time)"
            " FROM killmails"
        )
        assert row is not None
        recorded = watch.match_batch(
            world.db, BatchResult(tuple(row[0]), (), row[1], row[2], ())
        )
        corp_matches = [m for m in recorded if m.profile_name == "corp"]
        assert corp_matches
        notifier.announce(notifier.fetch_new(app.db))
        await settle(pilot)
        assert app.screen is screen
        assert profiles.cursor_key == "corp"
        match_count = str(profiles.get_row("corp")[3])
        assert match_count == f"{len(corp_matches):,}"
        assert matches.row_count == min(200, len(corp_matches))
        assert cell_widths_fit(profiles) == []
        assert cell_widths_fit(matches) == []


async def test_battles_tab_shows_earlier_year() -> None:
    """A battle of an earlier year than the period's end shows its year.

    The Battles tab showed a 2021 battle as 11-29 19:14 next to 2025 data.
    """
    start = dt.datetime(2021, 11, 29, 19, 14, tzinfo=dt.UTC)
    battle = EntityBattle(
        battle_id=7,
        start_time=start,
        end_time=start + dt.timedelta(minutes=20),
        solar_system_ids=[30000142],
        system_names="Jita",
        kills=12,
        pilots=30,
        isk_destroyed=1e9,
        kind="brawl",
        entity_killmails=3,
    )

    class TableApp(App[None]):
        def compose(self) -> ComposeResult:
            yield BattleTable()

    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(BattleTable)
        table.show([battle], until=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
        await pilot.pause()
        assert str(table.get_row_at(0)[0]) == "2021-11-29 19:14"
        table.show([battle], until=dt.datetime(2021, 12, 1, tzinfo=dt.UTC))
        await pilot.pause()
        assert str(table.get_row_at(0)[0]) == "11-29 19:14"
