"""Labels, names and keys of the corporation, alliance and character pages."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static, Tab, TabbedContent
from textual.widgets._footer import FooterKey

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.config import Settings
from evedmv_tui.intel import totals
from evedmv_tui.intel.entities import EntityKind, EntityRef, Period
from evedmv_tui.intel.pages import (
    EntityBattle,
    EntityPage,
    RecentKillmail,
    TopEntry,
    load_page,
    period_heading,
)
from evedmv_tui.intel.summary import summary_rows
from evedmv_tui.screens import DatabaseConnected
from evedmv_tui.screens.entity import (
    TITLE_SEPARATOR,
    AllianceScreen,
    CharacterScreen,
    CorporationScreen,
    describe_ref,
    show_unnamed_ids,
)
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.intel_summary import SummaryPanel
from evedmv_tui.widgets.intel_tables import BattleTable, RecentTable, TopListTable
from evedmv_tui.widgets.status import DATABASE_UNAVAILABLE
from evedmv_tui.widgets.text import fold_parts, format_isk
from tests import test_intel_screens
from tests.conftest import assert_footer_fits
from tests.test_battle_fixtures import (
    Pilot as FleetPilot,
)
from tests.test_battle_fixtures import (
    brawl,
    fleet,
    insert_kills,
    insert_static,
)
from tests.test_intel_screens import World, settle

# Fixtures of the intel screen tests: a database of real killmails, loaded once
# per module, and settings that point at it.
world = test_intel_screens.world
app_settings = test_intel_screens.app_settings


async def test_class_flown_counts_kills_it_was_on(
    app_settings: Settings, world: World
) -> None:
    """The ship classes flown were headed "Kills", yet their rows add up to
    more than the kills, because a kill can have several classes on it."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", world.corporation)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        flown = screen.query_one("#top-ships_flown", TopListTable)
        labels = [str(column.label) for column in flown.columns.values()]
        assert labels == ["Class flown", "On kills"]
        lost = screen.query_one("#top-ships_lost", TopListTable)
        labels = [str(column.label) for column in lost.columns.values()]
        assert labels == ["Class lost", "Losses"]


def test_unnamed_top_entries_show_hash_id() -> None:
    """Unnamed entities showed as ``corporation 98098579`` and unnamed systems
    as a bare ``30002737`` in the top lists, where other tables show ``#id``."""
    corporation = TopEntry(98098579, None, "corporation 98098579", 4, 0)
    assert show_unnamed_ids("with_corporations", corporation).name == "#98098579"
    pilot = TopEntry(92582867, None, "character 92582867", 3, 0)
    assert show_unnamed_ids("pilots", pilot).name == "#92582867"
    system = TopEntry(30002737, None, "30002737", 2, 1)
    assert show_unnamed_ids("systems", system).name == "#30002737"
    named = TopEntry(30002737, None, "Nalvula", 2, 1)
    assert show_unnamed_ids("systems", named).name == "Nalvula"
    ship_class = TopEntry(0, "cruiser", "cruiser", 5, 0)
    assert show_unnamed_ids("ships_flown", ship_class).name == "cruiser"


def test_unnamed_ref_shows_kind_and_hash_id() -> None:
    unnamed_ref = EntityRef(EntityKind.CORPORATION, 98098579, None)
    assert describe_ref(unnamed_ref) == "corporation #98098579"
    named_ref = EntityRef(EntityKind.CORPORATION, 98098579, "Brave Twin One")
    assert describe_ref(named_ref) == "Brave Twin One"


class RecentApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RecentTable(id="recent")
        yield BattleTable(id="battles")


async def test_recent_row_shows_unnamed_system_id() -> None:
    """A recent killmail in a system without a stored name left the System
    column blank."""
    when = dt.datetime(2021, 12, 3, 11, 9, tzinfo=dt.UTC)
    item = RecentKillmail(
        role="kill",
        killmail_id=96812093,
        killmail_time=when,
        solar_system_id=30002737,
        solar_system_name=None,
        victim_character_id=None,
        victim_corporation_id=98098579,
        victim_alliance_id=None,
        victim_ship_type_id=587,
        ship_name=None,
        total_value=None,
        attacker_count=1,
    )
    battle = EntityBattle(
        battle_id=7,
        start_time=when,
        end_time=when,
        solar_system_ids=[30002737, 30002738],
        system_names=None,
        kills=3,
        pilots=4,
        isk_destroyed=0.0,
        kind="fight",
        entity_killmails=1,
    )
    app = RecentApp()
    async with app.run_test(size=(80, 24)):
        recent = app.query_one(RecentTable)
        recent.show([item], when)
        row = [str(cell) for cell in recent.get_row("96812093:kill")]
        assert row[2] == "#587"
        assert row[3] == "#98098579"
        assert row[4] == "#30002737"
        battles = app.query_one(BattleTable)
        battles.show([battle], when)
        row = [str(cell) for cell in battles.get_row("7")]
        assert row[1] == "#30002737, #30002738"


async def open_character_all_time(
    app: EvedmvApp, pilot: Pilot[int], world: World
) -> CharacterScreen:
    """Open the world's character page and choose all time (key 4)."""
    await settle(pilot)
    app.open_screen("character", world.character)
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, CharacterScreen)
    return screen


async def test_character_page_shows_unnamed_as_hash_id(
    app_settings: Settings, world: World
) -> None:
    """On all time, the character page's top lists named unnamed entities
    ``corporation 98098579``."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_character_all_time(app, pilot, world)
        assert screen.page is not None
        names = [
            str(table.get_row_at(index)[0])
            for table in screen.query(TopListTable)
            for index in range(table.row_count)
        ]
        kinds = tuple(f"{kind.value} " for kind in EntityKind)
        assert not [name for name in names if name.startswith(kinds)]
        assert any(name.startswith("#") for name in names)


def footer_keys(app: EvedmvApp) -> dict[str, str]:
    return {key.key: key.description for key in app.screen.query(FooterKey)}


async def test_footer_names_what_enter_opens(
    app_settings: Settings, world: World
) -> None:
    """Enter opened rows of the entity pages, but the footer never showed it."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_character_all_time(app, pilot, world)
        # The tab strip opens nothing.
        assert "enter" not in footer_keys(app)

        await pilot.press("7")
        await pilot.pause()
        assert isinstance(screen.focused, RecentTable)
        assert footer_keys(app)["enter"] == "Killmail"
        assert_footer_fits(app)

        await pilot.press("6")
        await pilot.pause()
        flown = screen.query_one("#top-ships_flown", TopListTable)
        flown.focus()
        await pilot.pause()
        assert "enter" not in footer_keys(app)
        corporations = screen.query_one("#top-with_corporations", TopListTable)
        assert corporations.row_count > 0
        corporations.focus()
        await pilot.pause()
        assert footer_keys(app)["enter"] == "Corporation"
        assert_footer_fits(app)
        corporation_id = int(str(corporations.cursor_key))

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CorporationScreen)
        assert app.screen.entity_query == corporation_id


async def test_digit_keys_switch_tabs(app_settings: Settings, world: World) -> None:
    """Entity tabs switched with t and the arrows only, while the battle report
    and the killmail screen switch theirs with digit keys."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", world.corporation)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        tabs = screen.query_one(TabbedContent)
        labels = [str(tab.label) for tab in tabs.query(Tab)]
        assert labels == ["5 Summary", "6 Top lists", "7 Recent", "8 Battles"]
        for key, pane in (
            ("6", "tab-tops"),
            ("7", "tab-recent"),
            ("8", "tab-battles"),
            ("5", "tab-summary"),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == pane, key
        # t and the period keys keep working.
        await pilot.press("t")
        await pilot.pause()
        assert tabs.active == "tab-tops"
        await pilot.press("4")
        await settle(pilot)
        assert screen.page is not None
        assert screen.page.period.value == "all"

        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = "\n".join(
            str(text.render()) for text in app.screen.query(".help-bindings")
        )
        for key, label in (("5", "Summary"), ("8", "Battles"), ("4", "All")):
            assert f"{key:>12}  {label}" in shown.splitlines(), label


@pytest.fixture
def unvalued_db(db: Database) -> tuple[Database, FleetPilot]:
    """A detected fight whose first two kills have no ISK value: one that the
    returned pilot shot, and that pilot's only loss."""
    insert_static(db)
    side_a = fleet(6, 98_000_801, 99_000_801)
    side_b = fleet(6, 98_000_802, 99_000_802)
    kills = brawl(side_a, side_b, kills=12)
    insert_kills(db, kills)
    # Even kills are side B's losses to all of side A, odd kills side A's.
    assert kills[1].victim_character_id == side_a[0].character_id
    # An import stores NULL for a killmail that came without zKillboard values
    # and has no priced type.
    db.execute(
        "UPDATE killmails SET total_value = NULL WHERE killmail_id = ANY(%s)",
        ([kills[0].killmail_id, kills[1].killmail_id],),
    )
    totals.rebuild(db)
    detect_all(db)
    return db, side_a[0]


def isk_row(page: EntityPage) -> tuple[str, str, str, str]:
    [row] = [row for row in summary_rows(page) if row[0] == "ISK destroyed"]
    return row


def test_character_isk_marks_unvalued_kills(
    unvalued_db: tuple[Database, FleetPilot],
) -> None:
    """A character's ISK destroyed and lost left out kills without a value
    and did not say so."""
    db, pilot = unvalued_db
    assert pilot.character_id is not None
    character = EntityRef(EntityKind.CHARACTER, pilot.character_id, None)
    page = load_page(db, character, Period.ALL)
    assert page.summary.kills == 6
    assert page.summary.kills_without_value == 1
    assert page.summary.losses == 1
    assert page.summary.losses_without_value == 1
    destroyed = format_isk(page.summary.isk_destroyed)
    # Its one loss has no value at all, so its ISK lost is unknown.
    assert isk_row(page) == ("ISK destroyed", f"{destroyed}+", "ISK lost", "?")


@pytest.mark.parametrize(
    ("kind", "entity_id"),
    [(EntityKind.CORPORATION, 98_000_801), (EntityKind.ALLIANCE, 99_000_801)],
)
def test_entity_isk_marks_from_totals(
    unvalued_db: tuple[Database, FleetPilot], kind: EntityKind, entity_id: int
) -> None:
    """Corporation and alliance pages read from the daily totals left their
    ISK unmarked, because the totals stored sums alone."""
    db, _ = unvalued_db
    entity = EntityRef(kind, entity_id, None)
    from_totals = load_page(db, entity, Period.ALL)
    assert from_totals.summary.kills == 6
    assert from_totals.summary.kills_without_value == 1
    assert from_totals.summary.losses == 6
    assert from_totals.summary.losses_without_value == 1
    assert isk_row(from_totals) == (
        "ISK destroyed",
        format_isk(from_totals.summary.isk_destroyed) + "+",
        "ISK lost",
        format_isk(from_totals.summary.isk_lost) + "+",
    )
    summary = from_totals.as_json()["summary"]
    assert summary["kills_without_value"] == 1
    assert summary["losses_without_value"] == 1
    # Reading the killmails gives the same page.
    from_killmails = load_page(db, entity, Period.ALL, from_totals=False)
    assert from_totals.as_json() == from_killmails.as_json()


def test_entity_isk_unknown_from_totals(
    unvalued_db: tuple[Database, FleetPilot],
) -> None:
    """A total over kills of which none has a value shows ``?``, not 0."""
    db, _ = unvalued_db
    db.execute("UPDATE killmails SET total_value = NULL")
    corporation = EntityRef(EntityKind.CORPORATION, 98_000_802, None)
    page = load_page(db, corporation, Period.ALL)
    assert page.summary.kills_without_value == page.summary.kills == 6
    assert page.summary.losses_without_value == page.summary.losses == 6
    assert isk_row(page) == ("ISK destroyed", "?", "ISK lost", "?")


@pytest.mark.parametrize(
    ("kind", "entity_id"),
    [(EntityKind.CORPORATION, 98_000_801), (EntityKind.ALLIANCE, 99_000_802)],
)
async def test_entity_screen_marks_unvalued_isk(
    unvalued_db: tuple[Database, FleetPilot],
    settings: Settings,
    kind: EntityKind,
    entity_id: int,
) -> None:
    """The summary of a corporation or alliance screen showed its ISK
    without a mark that it leaves out kills without a value."""
    db, _ = unvalued_db
    expected = load_page(db, EntityRef(kind, entity_id, None), Period.ALL)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen(kind.value, entity_id)
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen | AllianceScreen)
        assert screen.page is not None
        assert screen.page.period is Period.ALL
        summary_text = str(screen.query_one(SummaryPanel).render())
    destroyed = format_isk(expected.summary.isk_destroyed) + "+"
    lost = format_isk(expected.summary.isk_lost) + "+"
    [line] = [line for line in summary_text.splitlines() if "ISK destroyed" in line]
    assert line.split() == ["ISK", "destroyed", destroyed, "ISK", "lost", lost]


async def test_page_battle_isk_marks_unvalued_kills(
    unvalued_db: tuple[Database, FleetPilot],
) -> None:
    """The battles tab showed a battle's ISK without saying it leaves out
    kills without a value."""
    db, _ = unvalued_db
    corporation = EntityRef(EntityKind.CORPORATION, 98_000_801, None)
    [battle] = load_page(db, corporation, Period.ALL).battles
    assert battle.kills_without_value == 2
    app = RecentApp()
    async with app.run_test(size=(80, 24)):
        table = app.query_one(BattleTable)
        table.show(
            [battle, dataclasses.replace(battle, battle_id=0, kills_without_value=0)]
        )
        isk = [str(cell) for cell in table.get_row(str(battle.battle_id))][5]
        assert isk == format_isk(battle.isk_destroyed) + "+"
        valued = [str(cell) for cell in table.get_row("0")][5]
        assert valued == format_isk(battle.isk_destroyed)


@pytest.fixture
def battles_db(db: Database) -> Database:
    """Twenty detected fights of corporation 98000801, ten hours apart."""
    insert_static(db)
    side_a = fleet(6, 98_000_801, 99_000_801)
    side_b = fleet(6, 98_000_802, 99_000_802)
    for number in range(20):
        insert_kills(db, brawl(side_a, side_b, kills=12, start=number * 600.0))
    totals.rebuild(db)
    detect_all(db)
    return db


@pytest.mark.parametrize("size", test_intel_screens.SIZES)
@pytest.mark.parametrize("key", ["7", "8"])
async def test_long_table_scrolls_to_cursor(
    battles_db: Database, settings: Settings, size: tuple[int, int], key: str
) -> None:
    """The Recent and Battles tables grew past the bottom of the screen and
    never scrolled, so End moved the cursor to a row that was not shown."""
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.open_screen("corporation", 98_000_801)
        await settle(pilot)
        await pilot.press("4", key)
        await settle(pilot)
        table = app.screen.focused
        assert isinstance(table, RecentTable | BattleTable)
        assert table.row_count >= 20
        body = app.screen.query_one("#body")
        assert table.region.bottom <= body.region.bottom
        shown_rows = table.scrollable_content_region.height - table.header_height
        if size == (80, 24):
            assert table.row_count > shown_rows

        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1
        if table.row_count > shown_rows:
            assert table.scroll_y > 0
        first_shown = round(table.scroll_y)
        assert first_shown <= table.cursor_row < first_shown + shown_rows


async def test_page_opened_while_disconnected_says_so(
    app_settings: Settings, world: World
) -> None:
    """A page opened without a connection showed "Loading" and an empty
    heatmap that read "No activity in this period." until the database came
    back."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        db = app.db
        assert db is not None
        app.db = None
        app.open_screen("alliance", test_intel_screens.ALLIANCE_NAME)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AllianceScreen)
        title = str(screen.query_one("#entity-title", Static).render())
        assert title == f"Alliance {test_intel_screens.ALLIANCE_NAME}: " + (
            DATABASE_UNAVAILABLE
        )
        assert not screen.query_one(TabbedContent).display

        app.db = db
        screen.post_message(DatabaseConnected())
        await settle(pilot)
        assert screen.page is not None
        assert screen.query_one(TabbedContent).display
        title = str(screen.query_one("#entity-title", Static).render())
        assert title.startswith(f"{test_intel_screens.ALLIANCE_NAME} [alliance ")


@pytest.mark.parametrize("size", test_intel_screens.SIZES)
async def test_top_lists_show_every_column(
    battles_db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    """At 80 columns, a long name pushed the Losses column of "Alliance
    fought" out of view: its header read ``Loss`` over no numbers."""
    battles_db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES"
        " (99000801, 'alliance', 'Storm Arrow Alliance'),"
        " (99000802, 'alliance', 'The Remarkably Long Alliance Name'),"
        " (98000802, 'corporation', 'The Remarkably Long Corporation')"
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.open_screen("alliance", 99_000_801)
        await settle(pilot)
        await pilot.press("4", "6")
        await settle(pilot)
        tables = list(app.screen.query(TopListTable))
        fought = app.screen.query_one("#top-against_alliances", TopListTable)
        assert str(fought.get_row_at(0)[0]).startswith("The Remarkably")
        for table in tables:
            widths = [
                column.get_render_width(table) for column in table.ordered_columns
            ]
            shown = table.scrollable_content_region.width
            assert sum(widths) <= shown, table.id
            assert table.max_scroll_x == 0, table.id


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (80, ["Pilot [character 7] — Corp / Alliance — all time"]),
        (40, ["Pilot [character 7] — Corp / Alliance", "all time"]),
        (30, ["Pilot [character 7] — Corp", "Alliance — all time"]),
        (10, ["Pilot [character 7]", "Corp", "Alliance", "all time"]),
    ],
)
def test_title_folds_between_parts(width: int, expected: list[str]) -> None:
    parts = [
        ("", "Pilot [character 7]"),
        (TITLE_SEPARATOR, "Corp"),
        (" / ", "Alliance"),
        (TITLE_SEPARATOR, "all time"),
    ]
    assert fold_parts(parts, width).splitlines() == expected


@pytest.mark.parametrize("size", test_intel_screens.SIZES)
async def test_title_breaks_between_parts(
    battles_db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    """At 80 columns the title wrapped inside its period, leaving ``UTC``
    alone on the second line."""
    battles_db.execute(
        "INSERT INTO names (entity_id, category, name)"
        " VALUES (99000801, 'alliance', 'Storm Arrow Alliance')"
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.open_screen("alliance", "Storm Arrow Alliance")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AllianceScreen)
        assert screen.page is not None
        title = screen.query_one("#entity-title", Static)
        name = "Storm Arrow Alliance [alliance 99000801]"
        period = period_heading(screen.page)
        if size[0] == 80:
            assert str(title.render()).splitlines() == [name, period]
            assert title.size.height == 2
        else:
            assert str(title.render()) == f"{name}{TITLE_SEPARATOR}{period}"
            assert title.size.height == 1
