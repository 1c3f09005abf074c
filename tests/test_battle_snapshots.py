"""Snapshot tests of the battles and battle report screens, both sizes.

The battles are built with fixed ids so the pictures do not depend on the
order tests run in. Regenerate after an intended change with
``.venv/bin/pytest tests/test_battle_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.model import Kill
from evedmv_tui.config import Settings
from evedmv_tui.screens import SCREENS
from evedmv_tui.store.db import Database
from tests.test_battle_fixtures import (
    PERIMETER,
    RAVEN,
    SCIMITAR,
    Pilot,
    insert_kills,
    insert_static,
    kill,
)

OWN_SCREENS = tuple(
    entry for entry in SCREENS if entry.name in {"home", "battles", "battle"}
)
SIZES = [(80, 24), (120, 40)]


def fixed_fight(system: int, start: float, count: int, first_id: int) -> list[Kill]:
    side_a = [Pilot(90_100_000 + i, 98_000_601, 99_000_601) for i in range(6)]
    side_a.append(Pilot(90_100_050, 98_000_602, 99_000_601, SCIMITAR))
    side_b = [Pilot(90_200_000 + i, 98_000_603, 99_000_602, RAVEN) for i in range(6)]
    kills = []
    for number in range(count):
        victims, shooters = (side_b, side_a) if number % 3 else (side_a, side_b)
        kills.append(
            kill(
                start + number * 0.5,
                victims[number % len(victims)],
                shooters,
                system=system,
                value=20_000_000.0 + number * 1_000_000,
                killmail_id=first_id + number,
            )
        )
    return kills


@pytest.fixture
def snapshot_settings(db: Database, settings: Settings) -> Settings:
    insert_static(db)
    insert_kills(db, fixed_fight(30000142, 0, 30, 96_000_000))
    insert_kills(db, fixed_fight(PERIMETER, 300, 14, 96_100_000))
    # The Perimeter fight has a kill without an ISK value, as an import
    # stores a killmail with no zKillboard values and no priced type.
    db.execute("UPDATE killmails SET total_value = NULL WHERE killmail_id = 96100003")
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES"
        " (99000601, 'alliance', 'Snapshot Alliance'),"
        " (99000602, 'alliance', 'Other [b]Alliance[/b]'),"
        " (98000601, 'corporation', 'Line Corp'),"
        " (98000602, 'corporation', 'Logi Corp'),"
        " (98000603, 'corporation', 'Raven Corp')"
    )
    detect_all(db)
    return settings


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()


def open_battles(*keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.open_screen("battles")
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def open_report(tab: str, battle_id: int = 1) -> Any:
    """Open a battle's report, then press each character of ``tab`` as a key."""

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.open_screen("battle", battle_id)
        await settle(pilot)
        await pilot.press(*tab)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_battles_snapshot(
    snap_compare: Any, snapshot_settings: Settings, size: Any
) -> None:
    app = EvedmvApp(snapshot_settings, screens=OWN_SCREENS)
    assert snap_compare(app, terminal_size=size, run_before=open_battles())


@pytest.mark.parametrize("size", SIZES)
# i switches the timeline to ISK on the timeline tab only, so "i" presses 3 first.
@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5", pytest.param("3i", id="i")])
def test_report_snapshot(
    snap_compare: Any, snapshot_settings: Settings, size: Any, tab: str
) -> None:
    app = EvedmvApp(snapshot_settings, screens=OWN_SCREENS)
    assert snap_compare(app, terminal_size=size, run_before=open_report(tab))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tab", ["1", "4"])
def test_report_without_value_snapshot(
    snap_compare: Any, snapshot_settings: Settings, size: Any, tab: str
) -> None:
    """The Perimeter fight, whose ISK leaves out a kill without a value."""
    app = EvedmvApp(snapshot_settings, screens=OWN_SCREENS)
    assert snap_compare(app, terminal_size=size, run_before=open_report(tab, 2))
