"""The victim panel of the killmail screen with long names, at 80 columns."""

from __future__ import annotations

import dataclasses

import pytest
from rich.cells import cell_len
from textual.widgets import Tree

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.queries.killmail import load_killmail
from evedmv_tui.screens.killmail import (
    LABEL_WIDTH,
    AttackerTable,
    VictimPanel,
    describe_header,
)
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.text import fold_parts
from tests import test_killmail_screen as fixtures
from tests.fakes.server import FakeServer
from tests.test_killmail_screen import KILLMAIL_ID, VICTIM_CHARACTER_ID, open_killmail

# The fixtures of the screen tests, made visible to pytest in this module.
killmail_db = fixtures.killmail_db
esi = fixtures.esi
app_settings = fixtures.app_settings

CHARACTER = "Bartholomew Maximilian Vanderslootxx"
CORPORATION = "Extraordinarily Long Corporation Name For Testing"
ALLIANCE = "Void Arrow Alliance Of Extremely Long Names Indeed"
STRUCTURE_KILLMAIL_ID = 48372697
"""A Photon Scattering Array (a POS module) lost to 7 attackers, no pilot."""
STRUCTURE_CORPORATION_ID = 98377898
INDENT = " " * LABEL_WIDTH


def store_name(db: Database, entity_id: int, category: str, name: str) -> None:
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES (%s, %s, %s)",
        (entity_id, category, name),
    )


def store_long_victim_names(db: Database) -> None:
    """Give killmail 70591378's victim names too long for one line at 80 columns."""
    document = fixtures.read_document()
    victim = document["victim"]
    store_name(db, VICTIM_CHARACTER_ID, "character", CHARACTER)
    store_name(db, victim["corporation_id"], "corporation", CORPORATION)
    store_name(db, victim["alliance_id"], "alliance", ALLIANCE)


@pytest.fixture
def structure_settings(settings: Settings, esi: FakeServer, db: Database) -> Settings:
    """Settings on a database holding the structure killmail, with ESI on
    loopback."""
    document = fixtures.read_document(STRUCTURE_KILLMAIL_ID)
    fixtures.insert_static_data(db, document)
    fixtures.insert_killmail(db, document)
    store_name(db, STRUCTURE_CORPORATION_ID, "corporation", CORPORATION)
    return dataclasses.replace(settings, esi_url=esi.esi_url)


def panel_lines(app: EvedmvApp) -> list[str]:
    return str(app.screen.query_one(VictimPanel).render()).splitlines()


def labelled_block(lines: list[str], label: str) -> list[str]:
    """Return the line that starts with ``label`` and its continuation lines."""
    start = next(i for i, line in enumerate(lines) if line.startswith(label))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(INDENT):
            break
        block.append(line)
    return block


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (40, ["Alpha / Beta", "Gamma delta epsilon"]),
        (24, ["Alpha / Beta", "Gamma delta", "epsilon"]),
        (20, ["Alpha", "Beta", "Gamma delta", "epsilon"]),
    ],
)
def test_fold_indents_continuation(width: int, expected: list[str]) -> None:
    """Continuation lines start under the value column, and a part wider
    than the room breaks at its spaces rather than at column 0."""
    parts = [("", "Alpha"), (" / ", "Beta"), (" / ", "Gamma delta epsilon")]

    folded = fold_parts(parts, width, indent=LABEL_WIDTH)

    assert folded.splitlines() == [expected[0], *(INDENT + e for e in expected[1:])]


async def test_victim_breaks_between_names(
    app_settings: Settings, killmail_db: Database
) -> None:
    """The victim line broke inside the corporation name and went on at
    column 0 under the label: it breaks between the names, indented."""
    store_long_victim_names(killmail_db)
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        lines = panel_lines(app)

        assert labelled_block(lines, "Victim") == [
            f"Victim   {CHARACTER}",
            f"{INDENT}{CORPORATION}",
            f"{INDENT}{ALLIANCE}",
        ]
        assert all(cell_len(line) <= 80 for line in lines), lines
        assert lines[0].startswith(f"Killmail {KILLMAIL_ID}  2018-")
        labels = [line[:LABEL_WIDTH] for line in lines if not line.startswith(INDENT)]
        assert labels == [
            "Killmail ",
            "Victim   ",
            "Ship     ",
            "Value    ",
            "Final    ",
        ]


async def test_structure_ship_breaks_between_parts(
    structure_settings: Settings,
) -> None:
    """A structure's Ship line broke before ``7 attackers`` at column 0."""
    app = EvedmvApp(structure_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, STRUCTURE_KILLMAIL_ID)
        lines = panel_lines(app)

        assert labelled_block(lines, "Ship") == [
            "Ship     Photon Scattering Array (Shield Hardening Array),"
            " 44,165 damage taken",
            f"{INDENT}7 attackers",
        ]
        assert labelled_block(lines, "Victim") == [f"Victim   {CORPORATION}"]
        assert all(cell_len(line) <= 80 for line in lines), lines


async def test_panel_folds_again_on_resize(
    app_settings: Settings, killmail_db: Database
) -> None:
    """Names that fit on one line at 160 columns fold when the terminal
    shrinks to 80, and join again when it grows back."""
    store_long_victim_names(killmail_db)
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        assert labelled_block(panel_lines(app), "Victim") == [
            f"Victim   {CHARACTER} / {CORPORATION} / {ALLIANCE}"
        ]

        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert len(labelled_block(panel_lines(app), "Victim")) == 3

        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert len(labelled_block(panel_lines(app), "Victim")) == 1


async def test_long_names_leave_tabs_room(
    app_settings: Settings, killmail_db: Database
) -> None:
    """With the victim folded onto three lines, every attacker and at least
    9 lines of the item tree still show at 80x24."""
    store_long_victim_names(killmail_db)
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_killmail(app, pilot, KILLMAIL_ID)
        table = app.screen.query_one(AttackerTable)

        assert len(panel_lines(app)) == 7
        assert table.row_count == 8
        # The header row and all 8 attackers are in view.
        assert table.region.height >= 1 + table.row_count
        await pilot.press("2")
        await pilot.pause()
        tree = app.screen.query_one("#item-tree", Tree)
        assert tree.has_focus
        assert tree.region.height >= 9


@pytest.mark.parametrize("width", [80, 60])
def test_header_lines_fit_width(killmail_db: Database, width: int) -> None:
    """Every line of the panel fits, and every continuation is indented."""
    store_long_victim_names(killmail_db)
    detail = load_killmail(killmail_db, KILLMAIL_ID).detail
    assert detail is not None

    lines = describe_header(detail, width).splitlines()

    assert all(cell_len(line) <= width for line in lines), lines
    labels = [line[:LABEL_WIDTH] for line in lines if not line.startswith(INDENT)]
    assert labels == ["Killmail ", "Victim   ", "Ship     ", "Value    ", "Final    "]
    assert len(lines) > len(labels)
