"""The killmail query module and screen, on a real killmail from the shared data."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.widgets import Static, Tree

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.names import NAME_CACHE, UNRESOLVABLE_IDS
from evedmv_tui.queries.killmail import (
    ItemRow,
    KillmailDetail,
    KillmailLookup,
    build_item_tree,
    group_by_slot,
    load_killmail,
    slot_title,
)
from evedmv_tui.screens.killmail import (
    AttackerTable,
    KillmailScreen,
    VictimScreen,
    describe_header,
    describe_missing,
    group_label,
    root_label,
)
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from evedmv_tui.widgets.text import format_isk
from tests.conftest import assert_footer_fits, shared_file
from tests.fakes.server import FakeServer, Reply

KILLMAIL_ID = 70591378
"""A Bhaalgorn loss in Nisuwa (2018): 8 attackers, 39 item rows, one container."""
VICTIM_CHARACTER_ID = 2112672056
FINAL_BLOW_CHARACTER_ID = 93417319
MARKUP_NAME = "[b]Not Bold[/b] \x1b[31mPilot"
"""A test name with markup and an escape sequence, as ESI could return."""


def read_document(killmail_id: int = KILLMAIL_ID) -> dict[str, Any]:
    path = shared_file("killmails/real/evekill_shrike_corpus.jsonl")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            document: dict[str, Any] = json.loads(line)
            if document["killmail_id"] == killmail_id:
                return document
    raise AssertionError(f"killmail {killmail_id} not in {path}")


def flatten_items(
    items: list[dict[str, Any]], parent: int | None, rows: list[tuple[Any, ...]]
) -> None:
    """Flatten nested items in document order, children right after parents."""
    for item in items:
        index = len(rows)
        rows.append(
            (
                index,
                parent,
                item["item_type_id"],
                item["flag"],
                item["singleton"],
                item.get("quantity_destroyed", 0),
                item.get("quantity_dropped", 0),
            )
        )
        flatten_items(item.get("items", []), index, rows)


def type_ids(document: dict[str, Any]) -> set[int]:
    rows: list[tuple[Any, ...]] = []
    flatten_items(document["victim"].get("items", []), None, rows)
    ids = {row[2] for row in rows} | {document["victim"]["ship_type_id"]}
    for attacker in document["attackers"]:
        ids |= {attacker.get("ship_type_id"), attacker.get("weapon_type_id")}
    return {i for i in ids if i}


def insert_static_data(db: Database, document: dict[str, Any]) -> None:
    """Insert the SDE rows and ESI prices that the killmail refers to."""
    wanted = type_ids(document)
    types = [
        row
        for row in csv.DictReader(shared_file("sde/types.csv").open(encoding="utf-8"))
        if int(row["type_id"]) in wanted
    ]
    group_ids = {int(row["group_id"]) for row in types}
    for row in csv.DictReader(shared_file("sde/groups.csv").open(encoding="utf-8")):
        if int(row["group_id"]) in group_ids:
            db.execute(
                "INSERT INTO groups VALUES (%s, %s, %s, %s, %s)",
                (row["group_id"], row["group_name"], row["category_id"], True, ""),
            )
    for row in types:
        db.execute(
            "INSERT INTO types (type_id, type_name, group_id, published)"
            " VALUES (%s, %s, %s, %s)",
            (
                row["type_id"],
                row["type_name"],
                row["group_id"],
                row["published"] == "1",
            ),
        )
    system_id = str(document["solar_system_id"])
    for row in csv.DictReader(
        shared_file("sde/solar_systems.csv").open(encoding="utf-8")
    ):
        if row["solar_system_id"] == system_id:
            db.execute(
                "INSERT INTO regions (region_id, region_name) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (row["region_id"], row["region_name"]),
            )
            db.execute(
                "INSERT INTO solar_systems (solar_system_id, solar_system_name,"
                " constellation_id, region_id, security) VALUES (%s, %s, %s, %s, %s)",
                (
                    row["solar_system_id"],
                    row["solar_system_name"],
                    row["constellation_id"],
                    row["region_id"],
                    row["security"],
                ),
            )
    prices = json.loads(
        shared_file("prices/esi_markets_prices_2025-05-13.json").read_text()
    )
    for price in prices:
        if price["type_id"] in wanted:
            db.execute(
                "INSERT INTO prices (type_id, average_price, adjusted_price)"
                " VALUES (%s, %s, %s)",
                (price["type_id"], price.get("average_price"), price["adjusted_price"]),
            )


def insert_killmail(db: Database, document: dict[str, Any]) -> None:
    """Store one ESI killmail the way the schema lays it out, values unset."""
    for table in ("killmails", "attackers", "items"):
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {table}_test PARTITION OF {table} DEFAULT"
        )
    victim = document["victim"]
    killmail_time = dt.datetime.fromisoformat(document["killmail_time"])
    key = (document["killmail_id"], killmail_time)
    db.execute(
        "INSERT INTO killmail_index (killmail_id, killmail_hash, killmail_time,"
        " state, source) VALUES (%s, %s, %s, 'stored', 'test')",
        (key[0], document["killmail_hash"], killmail_time),
    )
    db.execute(
        "INSERT INTO killmails (killmail_id, killmail_time, solar_system_id,"
        " killmail_hash, victim_character_id, victim_corporation_id,"
        " victim_alliance_id, victim_faction_id, victim_ship_type_id,"
        " victim_damage_taken, attacker_count, esi_body, source)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'test')",
        (
            *key,
            document["solar_system_id"],
            document["killmail_hash"],
            victim.get("character_id"),
            victim.get("corporation_id"),
            victim.get("alliance_id"),
            victim.get("faction_id"),
            victim["ship_type_id"],
            victim["damage_taken"],
            len(document["attackers"]),
            json.dumps(document),
        ),
    )
    for index, attacker in enumerate(document["attackers"]):
        db.execute(
            "INSERT INTO attackers VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                *key,
                index,
                attacker.get("character_id"),
                attacker.get("corporation_id"),
                attacker.get("alliance_id"),
                attacker.get("faction_id"),
                attacker.get("ship_type_id"),
                attacker.get("weapon_type_id"),
                attacker["damage_done"],
                attacker["final_blow"],
                attacker.get("security_status"),
            ),
        )
    rows: list[tuple[Any, ...]] = []
    flatten_items(victim.get("items", []), None, rows)
    for row in rows:
        db.execute(
            "INSERT INTO items VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (*key, *row),
        )


@pytest.fixture
def killmail_db(db: Database) -> Database:
    """A database holding killmail 70591378, its static data and prices."""
    document = read_document()
    insert_static_data(db, document)
    insert_killmail(db, document)
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES (%s, 'character', %s)",
        (FINAL_BLOW_CHARACTER_ID, MARKUP_NAME),
    )
    return db


@pytest.fixture
def esi() -> Iterator[FakeServer]:
    """ESI on loopback; the process-wide name caches start empty."""
    NAME_CACHE.clear()
    UNRESOLVABLE_IDS.clear()
    with FakeServer() as server:
        server.add_names([(VICTIM_CHARACTER_ID, "character", "Test Victim")])
        yield server


@pytest.fixture
def app_settings(
    settings: Settings, esi: FakeServer, killmail_db: Database
) -> Settings:
    """Settings on the killmail database, with ESI on loopback."""
    return dataclasses.replace(settings, esi_url=esi.esi_url)


def item(index: int, parent: int | None, flag: int = 5, price: float = 10.0) -> ItemRow:
    return ItemRow(index, parent, 34, "Tritanium", flag, 0, 1, 2, price)


# -- the query module ---------------------------------------------------------


def test_item_tree_nests_by_parent_index() -> None:
    tree = build_item_tree([item(0, None), item(1, 0), item(2, 1), item(3, None)])
    assert [node.item.item_index for node in tree] == [0, 3]
    assert [child.item.item_index for child in tree[0].children] == [1]
    assert tree[0].children[0].children[0].item.item_index == 2
    assert tree[0].dropped_value == pytest.approx(3 * 2 * 10.0)
    assert tree[0].destroyed_value == pytest.approx(3 * 1 * 10.0)


def test_item_tree_keeps_orphans_and_breaks_cycles() -> None:
    """A parent_index that names no row, or a cycle, must lose no item."""
    orphan = build_item_tree([item(0, 7)])
    assert [node.item.item_index for node in orphan] == [0]
    looped = build_item_tree([item(0, 0), item(1, None)])
    assert [node.item.item_index for node in looped] == [0, 1]


def test_slot_groups_in_fitting_order() -> None:
    nodes = build_item_tree([item(0, None, 5), item(1, None, 27), item(2, None, 11)])
    assert [g.title for g in group_by_slot(nodes)] == [
        "High slots",
        "Low slots",
        "Cargo",
    ]
    assert slot_title(4242) == "Flag 4242"


def test_load_killmail_real_document(killmail_db: Database) -> None:
    lookup = load_killmail(killmail_db, KILLMAIL_ID)
    assert lookup.state == "stored"
    detail = lookup.detail
    assert detail is not None
    assert detail.header.solar_system_name == "Nisuwa"
    assert detail.header.region_name == "Black Rise"
    assert detail.header.victim_ship_name == "Bhaalgorn"
    assert len(detail.attackers) == 8
    damages = [a.damage_done for a in detail.attackers]
    assert damages == sorted(damages, reverse=True)
    assert detail.final_blow is not None
    assert detail.final_blow.character_id == FINAL_BLOW_CHARACTER_ID
    assert detail.final_blow.character_name == MARKUP_NAME
    assert len(detail.items) == 39
    container = next(i for i in detail.items if i.item_type_id == 3296)
    inside = [i for i in detail.items if i.parent_index == container.item_index]
    assert [i.quantity_destroyed for i in inside] == [32]


def test_load_killmail_values_from_prices(killmail_db: Database) -> None:
    detail = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert detail is not None
    drones = [i for i in detail.items if i.item_type_id == 2446]
    price = killmail_db.fetch_value(
        "SELECT average_price FROM prices WHERE type_id = 2446"
    )
    assert sum(i.dropped_value for i in drones) == pytest.approx(3 * price)
    assert sum(i.destroyed_value for i in drones) == pytest.approx(2 * price)
    assert detail.header.hull_price == pytest.approx(1190964356.44)


def test_load_killmail_missing_and_pending(killmail_db: Database) -> None:
    assert load_killmail(killmail_db, 1).state == "missing"
    killmail_db.execute(
        "INSERT INTO killmail_index (killmail_id, killmail_hash, state, source,"
        " last_error) VALUES (5, %s, 'pending', 'test', 'timed out')",
        ("a" * 40,),
    )
    pending = load_killmail(killmail_db, 5)
    assert pending.state == "pending"
    assert pending.last_error == "timed out"
    assert pending.detail is None


# -- the screen ---------------------------------------------------------------


async def open_killmail(app: EvedmvApp, pilot: Any, killmail_id: int) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    app.open_screen("killmail", killmail_id)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_screen_shows_victim_and_attackers(
    app_settings: Settings, size: tuple[int, int]
) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=size) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        screen = app.screen
        assert isinstance(screen, KillmailScreen)
        victim = str(screen.query_one("#victim", Static).render())
        assert "Nisuwa (Black Rise) 0.3" in victim
        assert "Bhaalgorn" in victim
        assert "8 attackers" in victim
        table = screen.query_one(KeyedTable)
        assert table.row_count == 8
        first = table.get_row_at(0)
        assert str(first[2]) == "25,314"
        final = [table.get_row(key) for key in table.row_keys]
        assert [str(row[0]) for row in final].count("FB") == 1


async def test_screen_escapes_untrusted_names(app_settings: Settings) -> None:
    """A name with markup must show as written, with control characters gone."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        victim = str(app.screen.query_one("#victim", Static).render())
        assert "[b]Not Bold[/b]" in victim
        assert "\x1b" not in victim
        names = [str(app.screen.query_one(KeyedTable).get_row(k)[1]) for k in "3"]
        assert names[0].startswith("[b]Not Bold[/b]")


async def test_screen_resolves_missing_names(
    app_settings: Settings, esi: FakeServer
) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        victim = str(app.screen.query_one("#victim", Static).render())
        assert "Victim   Test Victim" in victim
        # The fake server may record a request just after it has answered it.
        for _ in range(100):
            if esi.requests_to("POST", "/esi/universe/names/"):
                break
            await pilot.pause(0.02)
        assert esi.requests_to("POST", "/esi/universe/names/")


async def test_screen_says_why_names_stay_ids(
    app_settings: Settings, esi: FakeServer
) -> None:
    """A failed name lookup leaves ids on screen and reports the reason in
    the status bar. Then r reloads and requests the names from ESI again."""
    esi.queue("POST", "/esi/universe/names/", Reply.error(400, "bad request"))
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        for _ in range(100):
            if app.status.message:
                break
            await pilot.pause(0.02)
        message = app.status.message
        assert message.endswith(
            "shown as #id, r tries again: POST /universe/names/: HTTP 400: bad request"
        )
        victim = str(app.screen.query_one("#victim", Static).render())
        assert f"#{VICTIM_CHARACTER_ID}" in victim
        await pilot.press("r")
        for _ in range(100):
            victim = str(app.screen.query_one("#victim", Static).render())
            if "Test Victim" in victim:
                break
            await pilot.pause(0.02)
        assert "Victim   Test Victim" in victim
        for _ in range(100):
            if not app.status.message:
                break
            await pilot.pause(0.02)
        assert app.status.message == ""


async def test_screen_item_tree(app_settings: Settings) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        await pilot.press("2")
        tree: Tree[Any] = app.screen.query_one("#item-tree", Tree)
        assert app.focused is tree
        groups = [str(node.label).split("  ")[0] for node in tree.root.children]
        assert groups[:3] == ["High slots", "Mid slots", "Low slots"]
        assert "Cargo" in groups
        cargo = tree.root.children[groups.index("Cargo")]
        containers = [n for n in cargo.children if n.children]
        assert len(containers) == 1
        # Nothing inside dropped, so the total names what was destroyed only.
        label = str(containers[0].label)
        assert label.endswith("]")
        assert label[label.index("[") :].startswith("[1 inside, ")
        assert label.endswith(" destroyed]")
        assert "dropped]" not in label
        assert "0 dropped" not in label
        assert "destroyed 32" in str(containers[0].children[0].label)
        await pilot.press("e")
        assert containers[0].is_expanded
        # A second press closes the containers again; the slot groups stay open.
        await pilot.press("e")
        assert not containers[0].is_expanded
        assert cargo.is_expanded


async def test_screen_says_when_nothing_holds_items(
    app_settings: Settings, killmail_db: Database
) -> None:
    document = read_document()
    document["killmail_id"] = KILLMAIL_ID + 1
    for entry in document["victim"]["items"]:
        entry.pop("items", None)
    insert_killmail(killmail_db, document)
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID + 1)
        await pilot.press("e")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#item-tree", Tree)
        messages = [note.message for note in app._notifications]
        assert "no item on this killmail holds other items" in messages


async def test_screen_missing_killmail(app_settings: Settings) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, 12345)
        text = str(app.screen.query_one("#victim", Static).render())
        assert "Killmail 12345 is not in the database" in text
        assert app.screen.query_one(KeyedTable).row_count == 0
        # The footer shows only keys that act: no tabs or containers to show.
        active = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "reload" in active
        assert not any(a.startswith(("show_tab", "expand_items")) for a in active)
        await open_killmail(app, pilot, KILLMAIL_ID)
        active = {b.binding.action for b in app.screen.active_bindings.values()}
        assert {"show_tab('attackers')", "show_tab('items')", "expand_items"} <= active


async def test_pending_killmail_says_how_to_fetch(
    app_settings: Settings, killmail_db: Database
) -> None:
    """A pending body names why it is missing and the command that fetches it."""
    killmail_db.execute(
        "INSERT INTO killmail_index (killmail_id, killmail_hash, state, source)"
        " VALUES (5, %s, 'pending', 'test')",
        ("a" * 40,),
    )
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, 5)
        text = str(app.screen.query_one("#victim", Static).render())
        assert "has not been fetched from ESI yet" in text
        assert "imported offline, or the fetch failed" in text
        assert "run 'evedmv import --pending'" in text
        assert "fetches every pending body from ESI" in text
        assert "fetch failed" not in text.split("\n", 1)[1]


async def test_pending_killmail_names_its_retry_wait(
    app_settings: Settings, killmail_db: Database
) -> None:
    """After failed fetches, imports skip a body until its wait ends; the
    screen gave the command to fetch it without saying it would be skipped."""
    killmail_db.execute(
        "INSERT INTO killmail_index (killmail_id, killmail_hash, state, source,"
        " attempts, last_error, next_try_at) VALUES (6, %s, 'pending', 'test',"
        " 2, 'HTTP 502', '2999-01-02 03:04+00')",
        ("b" * 40,),
    )
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, 6)
        text = " ".join(str(app.screen.query_one("#victim", Static).render()).split())
    assert (
        "Its fetch failed 2 times; imports skip it until 2999-01-02 03:04 UTC,"
        " and each further failure doubles the wait, up to a day."
    ) in text
    assert "Last error: HTTP 502" in text


async def test_opened_again_shows_stored_state(
    app_settings: Settings, killmail_db: Database
) -> None:
    """Opening a killmail whose screen was under another showed what the
    screen had loaded, even after an import had changed it."""
    killmail_db.execute(
        "INSERT INTO killmail_index (killmail_id, killmail_hash, state, source)"
        " VALUES (8, %s, 'pending', 'test')",
        ("c" * 40,),
    )
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, 8)
        first = str(app.screen.query_one("#victim", Static).render())
        await open_killmail(app, pilot, KILLMAIL_ID)
        killmail_db.execute(
            "UPDATE killmail_index SET attempts = 1 WHERE killmail_id = 8"
        )
        await open_killmail(app, pilot, 8)
        again = " ".join(str(app.screen.query_one("#victim", Static).render()).split())
        assert len(app.screen_stack) == 2
    assert "fetch failed once" not in first
    assert "Its fetch failed once." in again


def test_pending_killmail_past_wait_is_not_named() -> None:
    """A wait that has ended is not mentioned: the next import tries it."""
    lookup = KillmailLookup(
        7,
        "pending",
        attempts=1,
        next_try_at=dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC),
    )
    text = describe_missing(lookup, now=dt.datetime(2026, 1, 1, 13, tzinfo=dt.UTC))
    assert "Its fetch failed once." in text
    assert "skip" not in text


async def test_prompt_opens_killmail(app_settings: Settings) -> None:
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("k")
        await pilot.press(*"abc", "enter")
        error = str(app.screen.query_one("#prompt-error", Static).render())
        assert "positive whole number" in error
        await pilot.press("backspace", "backspace", "backspace")
        # As the tables show it, with thousands separators.
        await pilot.press(*f"{KILLMAIL_ID:,}", "enter")
        await pilot.pause()
        assert isinstance(app.screen, KillmailScreen)
        assert app.screen.killmail_id == KILLMAIL_ID


async def test_screen_says_database_unavailable(
    app_settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the database is down the screen must not claim to be loading.

    A query that fails on a closed pool must end the loading state too, and
    the screen loads once the dashboard reconnects.
    """
    from evedmv_tui import app as app_module

    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        original = app.db
        assert original is not None
        closed = Database(db_url)
        closed.close()
        app.db = closed
        original.close()
        await open_killmail(app, pilot, KILLMAIL_ID)
        screen = app.screen
        assert isinstance(screen, KillmailScreen)
        text = str(screen.query_one("#victim", Static).render())
        assert f"Killmail {KILLMAIL_ID}: The database is unavailable" in text
        assert "Loading" not in text
        assert screen.detail is None

        await pilot.press("escape")
        await pilot.pause()
        app.db = None
        await open_killmail(app, pilot, KILLMAIL_ID)
        screen = app.screen
        assert isinstance(screen, KillmailScreen)
        text = str(screen.query_one("#victim", Static).render())
        assert "reloads when the dashboard reconnects" in text

        app.action_reconnect()
        for _ in range(200):
            if screen.detail is not None:
                break
            await pilot.pause(0.05)
        assert screen.detail is not None
        assert "Loading" not in str(screen.query_one("#victim", Static).render())


def test_header_counts_use_thousands_separators(killmail_db: Database) -> None:
    """The Keepstar kill's 3,753 attackers used to read ``3753 attackers``, while
    every other count on the dashboard has thousands separators."""
    detail = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert detail is not None
    header = dataclasses.replace(detail.header, attacker_count=3_753)

    text = describe_header(dataclasses.replace(detail, header=header))

    assert "3,753 attackers" in text


# -- values that leave out unpriced items -------------------------------------


def without_prices(
    detail: KillmailDetail, unpriced: Callable[[ItemRow], bool]
) -> KillmailDetail:
    """Return ``detail`` with the price of the items ``unpriced`` picks removed."""
    items = tuple(
        dataclasses.replace(row, unit_price=None) if unpriced(row) else row
        for row in detail.items
    )
    return dataclasses.replace(detail, items=items)


def computed(detail: KillmailDetail) -> KillmailDetail:
    """Store the values the way valuation computes them: priced rows only."""
    dropped = detail.items_dropped_value
    destroyed = detail.items_destroyed_value + (detail.header.hull_price or 0.0)
    header = dataclasses.replace(
        detail.header,
        total_value=dropped + destroyed,
        dropped_value=dropped,
        destroyed_value=destroyed,
        value_source="computed",
    )
    return dataclasses.replace(detail, header=header)


def value_line(detail: KillmailDetail) -> str:
    [line] = [
        line for line in describe_header(detail).splitlines() if line.startswith("Val")
    ]
    return line


def test_values_complete_without_marks(killmail_db: Database) -> None:
    detail = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert detail is not None
    line = value_line(computed(without_prices(detail, lambda row: False)))
    assert line.endswith(" destroyed (from prices)")
    assert "+" not in line
    assert "?" not in line


def test_values_mark_unpriced_items(killmail_db: Database) -> None:
    """A total from prices read as complete while most items had no price
    (``61.15m total`` beside ``13 without a price`` in the item tree): the
    sums that leave items out end in ``+`` and the count is named."""
    loaded = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert loaded is not None
    # Every item outside the high slots loses its price.
    detail = computed(without_prices(loaded, lambda row: row.flag not in range(27, 35)))
    unpriced = sum(1 for row in detail.items if row.unit_price is None)
    dropped, destroyed = (
        format_isk(detail.header.dropped_value),
        format_isk(detail.header.destroyed_value),
    )

    line = value_line(detail)

    assert line.startswith(f"Value    {format_isk(detail.header.total_value)}+ total")
    assert f" {dropped}+ dropped," in line
    assert f" {destroyed}+ destroyed" in line
    assert f"{unpriced} unpriced)" in line
    assert len(line) <= 80


def test_unpriced_hull_is_named(killmail_db: Database) -> None:
    loaded = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert loaded is not None
    header = dataclasses.replace(loaded.header, hull_price=None)
    detail = computed(dataclasses.replace(loaded, header=header))
    line = value_line(detail)
    assert "destroyed+" not in line
    assert "+ destroyed" in line
    assert "hull unpriced" in line


def test_zkillboard_values_unmarked(killmail_db: Database) -> None:
    """zKillboard's values do not come from the local prices."""
    loaded = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert loaded is not None
    detail = computed(without_prices(loaded, lambda row: True))
    header = dataclasses.replace(detail.header, value_source="zkb")
    line = value_line(dataclasses.replace(detail, header=header))
    assert line.endswith(" destroyed (zKillboard)")
    assert "+" not in line


def test_unpriced_groups_show_unknown(killmail_db: Database) -> None:
    """A slot group whose items all lack a price read ``0 dropped, 0
    destroyed``, as if its modules were worthless."""
    loaded = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert loaded is not None
    detail = without_prices(loaded, lambda row: row.flag in range(19, 27))
    groups = {group.title: group for group in detail.item_groups()}

    mid = str(group_label(groups["Mid slots"]))
    high = str(group_label(groups["High slots"]))
    root = str(root_label(detail))

    assert "?" in mid
    assert " 0 " not in mid
    assert "?" not in high
    assert "+" not in high
    assert "+ destroyed" in root or "+ dropped" in root
    unpriced = sum(1 for item in detail.items if item.unit_price is None)
    assert root.endswith(f", {unpriced} unpriced")


def test_root_label_fits_80_columns(killmail_db: Database) -> None:
    """The tree's top line ended "17 without a pric" at 80 columns: with
    two-digit counts and sums it fits beside the tree's guide."""
    loaded = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert loaded is not None
    detail = without_prices(loaded, lambda row: row.flag not in range(27, 35))
    root = str(root_label(detail))
    # The tree draws "▼ " before the label, and the widget's padding one
    # column on each side.
    assert len(root) + 4 <= 80, root


# -- opening entity pages -----------------------------------------------------


async def test_enter_opens_entity_of_column(app_settings: Settings) -> None:
    """Enter on the Corporation column opened the attacker's character: it
    opens the entity of the column under the cursor, and the footer names it."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        screen = app.screen
        assert isinstance(screen, KillmailScreen)
        assert screen.detail is not None
        table = screen.query_one(AttackerTable)
        assert app.focused is table
        first = next(
            a
            for a in screen.detail.attackers
            if str(a.attacker_index) == table.row_keys[0]
        )
        columns = [str(column.key.value) for column in table.ordered_columns]
        expected = {
            "share": ("character", first.character_id),
            "corporation": ("corporation", first.corporation_id),
            "alliance": ("alliance", first.alliance_id),
        }
        for column, (kind, entity_id) in expected.items():
            assert entity_id is not None
            table.move_cursor(row=0, column=columns.index(column))
            await pilot.pause()
            assert_footer_fits(app)
            enter = screen.active_bindings["enter"]
            assert enter.binding.description == kind.title()
            await pilot.press("enter")
            await pilot.pause()
            assert getattr(app.screen, "entry_key", None) == (kind, entity_id)
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen


async def test_enter_hidden_without_entity(
    app_settings: Settings, killmail_db: Database
) -> None:
    """An attacker without an alliance offers no enter on that column."""
    killmail_db.execute(
        "UPDATE attackers SET alliance_id = NULL WHERE killmail_id = %s",
        (KILLMAIL_ID,),
    )
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        screen = app.screen
        table = screen.query_one(AttackerTable)
        columns = [str(column.key.value) for column in table.ordered_columns]
        table.move_cursor(row=0, column=columns.index("alliance"))
        await pilot.pause()
        assert "enter" not in screen.active_bindings
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen


async def test_victim_key_opens_victim_pages(app_settings: Settings) -> None:
    """The victim's character, corporation and alliance had no way to open."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        screen = app.screen
        assert isinstance(screen, KillmailScreen)
        assert screen.detail is not None
        header = screen.detail.header
        assert "v" in screen.active_bindings
        assert_footer_fits(app)

        await pilot.press("v")
        await pilot.pause()
        chooser = app.screen
        assert isinstance(chooser, VictimScreen)
        assert chooser.active_bindings["enter"].binding.description == "Open"
        assert [entity for entity, _ in chooser.choices] == [
            ("character", header.victim_character_id),
            ("corporation", header.victim_corporation_id),
            ("alliance", header.victim_alliance_id),
        ]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert getattr(app.screen, "entry_key", None) == (
            "corporation",
            header.victim_corporation_id,
        )

        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("v", "escape")
        await pilot.pause()
        assert app.screen is screen
