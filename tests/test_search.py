"""Search by name or id over names and solar systems, the indexes it uses, and
the command palette's Enter right after typing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel.search import search, search_parameters
from evedmv_tui.screens.entity import AllianceScreen
from evedmv_tui.screens.palette import SearchingCommandPalette
from evedmv_tui.sde import import_sde
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.store.telemetry import Telemetry, count_statements
from tests.conftest import _create_database, _drop_database, shared_file
from tests.test_app import until, wait_connected

NAMES = [
    (90000001, "character", "Jita Trader"),
    (90000002, "character", "jitaholic"),
    (90000003, "character", "Mr Jita"),
    (98000001, "corporation", "Jit Happens"),
    (98000002, "corporation", "100%_Pure Ore"),
    (98000003, "corporation", "1000 Pure Ore"),
    (99000001, "alliance", "Goonswarm Federation"),
    (99000002, "alliance", "[b]old Alliance"),
    (99000003, "alliance", "Quiet Arrow Alliance"),
    (90000004, "character", "Bo Garrow"),
    (500001, "faction", "Caldari State"),
]
# Enough filler names that the planner prefers the indexes to a scan.
FILLER = 30_000


@pytest.fixture(scope="module")
def search_db(pg_cluster: PrivateCluster) -> Iterator[Database]:
    name = _create_database(pg_cluster)
    db = Database(pg_cluster.url(name), telemetry=Telemetry())
    try:
        import_sde(db, shared_file("sde"))
        db.execute(
            "INSERT INTO names (entity_id, category, name)"
            " SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[])",
            (
                [row[0] for row in NAMES],
                [row[1] for row in NAMES],
                [row[2] for row in NAMES],
            ),
        )
        db.execute(
            "INSERT INTO names (entity_id, category, name)"
            " SELECT 2100000000 + i, 'character', md5(i::text)"
            " FROM generate_series(1, %s) AS i",
            (FILLER,),
        )
        db.execute("VACUUM ANALYZE names")
        yield db
    finally:
        db.close()
        _drop_database(pg_cluster, name)


def names_of(db: Database, text: str) -> list[str]:
    return [hit.name for hit in search(db, text)]


def test_prefix_from_first_character(search_db: Database) -> None:
    hits = search(search_db, "Ji")
    found = [hit.name for hit in hits]
    assert {"Jita", "Jita Trader", "jitaholic", "Jit Happens"} <= set(found)
    # Two characters match prefixes only; "Mr Jita" merely contains "ji".
    assert "Mr Jita" not in found
    assert all(name.lower().startswith("ji") for name in found)
    order = [(hit.rank, len(hit.name), hit.name) for hit in hits]
    assert order == sorted(order)


def test_exact_name_ranks_first(search_db: Database) -> None:
    hits = search(search_db, "jita")
    assert hits[0].name == "Jita"
    assert hits[0].kind == "solar_system"
    assert hits[0].rank == 1
    assert [h.name for h in hits[1:3]] == ["jitaholic", "Jita Trader"]


def test_substring_from_three_characters(search_db: Database) -> None:
    assert "Mr Jita" in names_of(search_db, "ita")
    assert "Mr Jita" not in names_of(search_db, "it")


def test_word_start_ranks_above_inner_match(search_db: Database) -> None:
    hits = search(search_db, "arrow")
    ranks = {hit.name: hit.rank for hit in hits}
    assert ranks["Quiet Arrow Alliance"] == 3
    assert ranks["Bo Garrow"] == 4
    assert names_of(search_db, "arrow")[:2] == ["Quiet Arrow Alliance", "Bo Garrow"]


def test_case_is_ignored(search_db: Database) -> None:
    assert names_of(search_db, "GOONSWARM") == ["Goonswarm Federation"]


def test_like_wildcards_match_literally(search_db: Database) -> None:
    assert names_of(search_db, "100%_") == ["100%_Pure Ore"]
    assert names_of(search_db, "[b]") == ["[b]old Alliance"]


def test_id_finds_entity_and_system(search_db: Database) -> None:
    [hit] = search(search_db, "99000001")
    assert (hit.kind, hit.name, hit.rank) == ("alliance", "Goonswarm Federation", 0)
    [system] = search(search_db, "30000142")
    assert (system.kind, system.name) == ("solar_system", "Jita")


UNNAMED_KILL = {
    "character": 94876849,
    "corporation": 98098579,
    "alliance": 99011223,
    "solar_system": 30009990,
}
"""Ids of a killmail's victim and place that have no stored name: no system
of the static data export has this id."""


@pytest.fixture
def unnamed_kill(search_db: Database) -> Iterator[Database]:
    """Store one killmail whose entities and system have no stored name."""
    search_db.execute(
        "CREATE TABLE killmails_search_test PARTITION OF killmails DEFAULT"
    )
    search_db.execute(
        "CREATE TABLE attackers_search_test PARTITION OF attackers DEFAULT"
    )
    try:
        search_db.execute(
            "INSERT INTO killmails (killmail_id, killmail_time, solar_system_id,"
            " killmail_hash, victim_character_id, victim_corporation_id,"
            " victim_alliance_id, victim_ship_type_id, victim_damage_taken,"
            " attacker_count, esi_body, source)"
            " VALUES (1, '2021-12-03', %s, %s, %s, %s, NULL, 587, 100, 1, '{}',"
            " 'test')",
            (
                UNNAMED_KILL["solar_system"],
                "a" * 40,
                UNNAMED_KILL["character"],
                UNNAMED_KILL["corporation"],
            ),
        )
        # The alliance is named only on the attacker's side.
        search_db.execute(
            "INSERT INTO attackers (killmail_id, killmail_time, attacker_index,"
            " alliance_id, damage_done, final_blow)"
            " VALUES (1, '2021-12-03', 0, %s, 100, true)",
            (UNNAMED_KILL["alliance"],),
        )
        yield search_db
    finally:
        search_db.execute("DROP TABLE killmails_search_test")
        search_db.execute("DROP TABLE attackers_search_test")


@pytest.mark.parametrize("kind", sorted(UNNAMED_KILL))
def test_id_without_name_found(unnamed_kill: Database, kind: str) -> None:
    """An id that only killmails name used to find nothing, although the
    placeholder offers search by id and the page of that id opens."""
    entity_id = UNNAMED_KILL[kind]
    [hit] = search(unnamed_kill, str(entity_id))
    assert (hit.kind, hit.entity_id, hit.rank) == (kind, entity_id, 0)
    assert hit.name is None
    assert hit.label == f"#{entity_id}"


def test_named_id_found_once(unnamed_kill: Database) -> None:
    """An id with a stored name is one hit, by its name, not also by ``#id``."""
    character = UNNAMED_KILL["character"]
    insert_name(unnamed_kill, character, "character", "Bex Sable XI")
    try:
        hits = search(unnamed_kill, str(character))
    finally:
        unnamed_kill.execute("DELETE FROM names WHERE entity_id = %s", (character,))
    assert [(hit.kind, hit.name) for hit in hits] == [("character", "Bex Sable XI")]


def test_id_of_no_killmail_finds_nothing(unnamed_kill: Database) -> None:
    assert search(unnamed_kill, "94876850") == []


def test_largest_id_found(search_db: Database) -> None:
    """Ids of 19 digits, up to 2^63-1, are looked up, and larger ones are not."""
    largest = 2**63 - 1
    search_db.execute(
        "INSERT INTO names (entity_id, category, name)"
        " VALUES (%s, 'alliance', 'Edge Of Bigint')",
        (largest,),
    )
    try:
        [hit] = search(search_db, str(largest))
        assert (hit.entity_id, hit.rank) == (largest, 0)
        assert search_parameters(str(largest + 1), 5)["entity_id"] is None
        assert search_parameters("0", 5)["entity_id"] is None
    finally:
        search_db.execute("DELETE FROM names WHERE entity_id = %s", (largest,))


def test_factions_and_blank_queries_are_left_out(search_db: Database) -> None:
    assert names_of(search_db, "Caldari State") == []
    assert search(search_db, "   ") == []


def test_limit_is_respected(search_db: Database) -> None:
    assert len(search(search_db, "a", limit=5)) == 5


def test_one_statement_per_keystroke(search_db: Database) -> None:
    with count_statements(search_db.telemetry) as statements:
        for typed in ("g", "go", "goo", "goon"):
            search(search_db, typed)
    assert statements[0] == 4


@pytest.mark.parametrize(
    ("text", "index"),
    [("goo", "names_lower_trgm"), ("go", "names_lower_prefix")],
)
def test_search_uses_name_indexes(search_db: Database, text: str, index: str) -> None:
    query = load_sql("evedmv_tui.intel", "search")
    params = search_parameters(text, 20)
    with search_db.connection() as conn:
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                ("EXPLAIN " + query.text).encode(),
                params,  # type: ignore[arg-type]
            ).fetchall()
        )
    assert index in plan
    assert "Seq Scan on names" not in plan


# -- the command palette ------------------------------------------------------

PALETTE_ALLIANCE = (99000003, "alliance", "Quiet Arrow Alliance")


def insert_name(db: Database, entity_id: int, category: str, name: str) -> None:
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES (%s, %s, %s)",
        (entity_id, category, name),
    )


async def type_and_submit(app: EvedmvApp, pilot: Any, typed: str) -> None:
    """Open the palette, type ``typed`` and press Enter with no pause between."""
    await wait_connected(app, pilot)
    await pilot.press("ctrl+p")
    await pilot.press(*typed, "enter")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("battles", ("battles", None)),
        ("killmail 20250120039452", ("killmail", 20250120039452)),
        ("character Bren Belmont", ("character", "Bren Belmont")),
        ("Quiet Arrow", ("alliance", PALETTE_ALLIANCE[0])),
    ],
)
async def test_palette_enter_right_after_typing(
    settings: Settings, db: Database, typed: str, expected: tuple[str, Any]
) -> None:
    """Enter at once must act on the text typed, not on an older query's list.

    The palette used to keep the list of a previous query (the empty query's
    Help, or ``Open Killmail`` without the id) until the database search
    finished, and Enter picked from that list.
    """
    insert_name(db, *PALETTE_ALLIANCE)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_submit(app, pilot, typed)
        await until(pilot, lambda: not CommandPalette.is_open(app))
        await pilot.pause()
        assert not CommandPalette.is_open(app)
        assert getattr(app.screen, "entry_key", None) == expected


async def test_palette_enter_waits_for_blocked_search(
    settings: Settings, db: Database, db_url: str
) -> None:
    """While the names table is locked, Enter must wait instead of guessing."""
    insert_name(db, *PALETTE_ALLIANCE)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        with psycopg.connect(db_url) as blocker:
            blocker.execute("LOCK TABLE names IN ACCESS EXCLUSIVE MODE")
            await type_and_submit(app, pilot, "Quiet Arrow")
            await pilot.pause(0.5)
            assert CommandPalette.is_open(app)
            blocker.rollback()
        await until(pilot, lambda: not CommandPalette.is_open(app))
        await pilot.pause()
        assert getattr(app.screen, "entry_key", None) == (
            "alliance",
            PALETTE_ALLIANCE[0],
        )


async def test_palette_enter_after_search_selects_at_once(
    settings: Settings, db: Database
) -> None:
    """An Enter after the search has finished runs the highlighted hit."""
    insert_name(db, *PALETTE_ALLIANCE)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Quiet Arrow")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await until(pilot, lambda: not getattr(palette, "searching", True))
        assert not getattr(palette, "searching", True)
        await pilot.press("enter")
        await pilot.pause()
        assert getattr(app.screen, "entry_key", None) == (
            "alliance",
            PALETTE_ALLIANCE[0],
        )


async def open_arrow_matches(
    app: EvedmvApp, pilot: Any, db: Database
) -> tuple[AllianceScreen, OptionList]:
    """Store 13 alliances named "... Arrow ..." and open the palette's matches."""
    from tests.test_intel_cli import ARROWS

    for entity_id, name in ARROWS.items():
        insert_name(db, entity_id, "alliance", name)
    await type_and_submit(app, pilot, "alliance Arrow")
    await until(pilot, lambda: isinstance(app.screen, AllianceScreen))
    screen = app.screen
    assert isinstance(screen, AllianceScreen)
    options = screen.query_one("#entity-candidates", OptionList)
    await until(pilot, lambda: options.option_count > 0)
    return screen, options


async def test_palette_many_matches_tell_how_to_narrow(
    settings: Settings, db: Database
) -> None:
    """A name with more than 10 matches listed 10 of them, with no total
    and no word on how to reach the rest."""
    from textual.widgets import Static

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, options = await open_arrow_matches(app, pilot, db)
        title = str(screen.query_one("#entity-title", Static).render())
        assert title.startswith("13 alliances match 'Arrow'; the first 10 are")
        assert "type more of the name to narrow the list" in title
        assert "ctrl+p" in title or "^p" in title
        first = options.get_option_at_index(0)
        last = options.get_option_at_index(options.option_count - 1)
        assert options.option_count == 10
        assert first.id == "99999901"
        assert last.id == "99999910"


def test_system_hit_opens_its_battles() -> None:
    """A system has no page of its own, so its hit opens the battles in it,
    and the notice names the watch form's field, not a CLI flag."""
    from typing import cast

    from evedmv_tui.intel.search import SearchHit
    from evedmv_tui.screens.search import open_hit
    from evedmv_tui.screens.watch import FORM_FIELDS

    class Recorder:
        def __init__(self) -> None:
            self.messages: list[str] = []
            self.opened: list[tuple[str, object]] = []

        def notify(self, message: str, **options: object) -> None:
            self.messages.append(message)

        def open_screen(self, name: str, argument: object = None) -> None:
            self.opened.append((name, argument))

    recorder = Recorder()
    open_hit(cast(EvedmvApp, recorder), SearchHit("solar_system", 30000142, "Jita", 1))
    labels = {field: label for field, label, _ in FORM_FIELDS}
    assert recorder.opened == [("battles", "Jita")]
    [message] = recorder.messages
    assert message.startswith("Battles in Jita (solar system 30000142)")
    assert f"the {labels['solar_system_ids']} field of a watch profile" in message
    assert "--systems" not in message


BATTLE_ID_ERROR = "Battle id must be a positive whole number,"
BATTLE_EXAMPLE = (
    "Type the id after the name, as in 'battle 42'. For the battles in a"
    " system, type the system's name and pick it."
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("battle abc", f"{BATTLE_ID_ERROR} got 'abc'. {BATTLE_EXAMPLE}"),
        ("battle report x1", f"{BATTLE_ID_ERROR} got 'x1'. {BATTLE_EXAMPLE}"),
        (
            "killmail 0",
            "Killmail id must be a positive whole number, got '0'."
            " Type the id after the name, as in 'killmail 42'.",
        ),
        (
            f"killmail {2**63}",
            f"'{2**63}' is not a valid killmail id, because ids run from 1 to"
            " 9,223,372,036,854,775,807. Type the id after the name, as in"
            " 'killmail 42'.",
        ),
        ("battle report", None),
        ("Battle Rep", None),
        ("battle 42", None),
        ("battle report 42", None),
        ("alliance abc", None),
        ("help abc", None),
    ],
)
def test_palette_argument_error(typed: str, expected: str | None) -> None:
    """Typing the whole title ``battle report`` used to report ``report`` as an
    invalid battle id, and the messages gave no example of a valid command."""
    from evedmv_tui.screens import SCREENS
    from evedmv_tui.screens.palette import argument_error

    words = typed.split()
    errors = [argument_error(entry, words) for entry in SCREENS if entry.prompt]
    found = [error for error in errors if error is not None]
    assert found == ([] if expected is None else [expected])


def test_prompt_rejects_id_past_bigint() -> None:
    """A 26-digit killmail id passed the prompt, and the killmail screen then
    showed it as not in the database instead of not a valid id."""
    from evedmv_tui.screens import SCREENS

    [entry] = [entry for entry in SCREENS if entry.name == "killmail"]
    typed = "12345678901234567890123456"
    with pytest.raises(ValueError, match="is not a valid killmail id") as error:
        entry.parse_argument(typed)
    assert f"'{typed}'" in str(error.value)
    assert entry.parse_argument(f"{2**63 - 1:,}") == 2**63 - 1


async def test_palette_explains_invalid_id(settings: Settings, db: Database) -> None:
    """Typing battle abc offers a hit with the reason, and Enter opens the prompt."""
    from textual.command import Command, CommandList

    from evedmv_tui.widgets.prompt import PromptScreen

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"battle abc")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await until(pilot, lambda: not getattr(palette, "searching", True))
        await pilot.pause(0.3)
        options = palette.query_one(CommandList).options
        hit_texts = [
            str(option.hit.text) for option in options if isinstance(option, Command)
        ]
        assert hit_texts == [f"{BATTLE_ID_ERROR} got 'abc'. {BATTLE_EXAMPLE}"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        assert isinstance(app.screen, PromptScreen)


async def test_palette_search_after_close_is_ignored(
    settings: Settings, db: Database
) -> None:
    """A search worker that starts after the palette closed must not crash.

    On a busy event loop the worker can start once the palette's widgets are
    removed, and its lookup of the command list used to make the app exit.
    """
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"battle 421")
        palette = app.screen
        assert isinstance(palette, SearchingCommandPalette)
        await pilot.press("escape")
        await until(pilot, lambda: not CommandPalette.is_open(app))
        worker = palette._gather_commands("battle 421")
        await worker.wait()
        await pilot.pause()
        assert app._exception is None
        assert app.is_running


async def test_escape_returns_to_matches(settings: Settings, db: Database) -> None:
    """Escape on a page picked from the list of matches closed the screen,
    so picking another match meant typing the name again."""
    from evedmv_tui.screens.home import HomeScreen

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, options = await open_arrow_matches(app, pilot, db)
        await pilot.press("down", "enter")
        await until(pilot, lambda: screen.page is not None)
        assert screen.page is not None
        assert screen.page.entity.entity_id == int(options.get_option_at_index(1).id)

        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert screen.page is None
        assert screen.has_class("-choosing")
        assert options.option_count == 10
        assert app.focused is options

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
