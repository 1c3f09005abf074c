"""Wormhole classes of solar systems from the CSV and JSON Lines exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.sde import import_sde, read_export, resolve_wormhole_classes
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

ASABONA = 30000012
"""A low-sec system (security 0.32) in the high-sec constellation Anares."""
DRIFTER_SYSTEMS = {
    31000001: 14,
    31000002: 15,
    31000003: 16,
    31000004: 17,
    31000006: 18,
}
CLASS = 6
"""Index of wormhole_class_id in a solar_systems row."""


def _systems(relative: str) -> dict[int, tuple[Any, ...]]:
    _, _, rows = read_export(shared_file(relative))
    resolve_wormhole_classes(rows)
    return {key[0]: row for key, row in rows.tables["solar_systems"].items()}


def _blank_in_csv(relative: str) -> set[int]:
    """Return the constellations the CSV export gives no class, not even by region."""
    _, _, rows = read_export(shared_file(relative))
    regions = {key[0]: row[3] for key, row in rows.tables["regions"].items()}
    return {
        key[0]
        for key, row in rows.tables["constellations"].items()
        if row[4] is None and regions.get(row[2]) is None
    }


@pytest.fixture(scope="module")
def csv_systems() -> dict[int, tuple[Any, ...]]:
    return _systems("sde")


@pytest.fixture(scope="module")
def jsonl_systems() -> dict[int, tuple[Any, ...]]:
    return _systems("sde-jsonl.zip")


def test_extracts_give_same_systems(
    csv_systems: dict[int, tuple[Any, ...]],
    jsonl_systems: dict[int, tuple[Any, ...]],
) -> None:
    """The JSON Lines extract put 693 systems in their constellation's
    wormhole class, where the CSV extract has the system's own class, so
    importing one after the other changed them every time."""
    assert csv_systems.keys() == jsonl_systems.keys()
    different = {
        system: (row, jsonl_systems[system])
        for system, row in csv_systems.items()
        if row != jsonl_systems[system]
    }
    # The CSV export has no class for GPMR-01 and its constellation, where
    # CCP's files have 7. Every other system must be equal, field by field.
    blank = _blank_in_csv("sde")
    for csv_row, jsonl_row in different.values():
        assert csv_row[CLASS] is None
        assert csv_row[2] in blank
        assert csv_row[:CLASS] + csv_row[CLASS + 1 :] == (
            jsonl_row[:CLASS] + jsonl_row[CLASS + 1 :]
        )
    assert len(different) <= 1


@pytest.mark.parametrize("relative", ["sde", "sde-jsonl.zip", "sde-jsonl"])
def test_own_system_classes(relative: str) -> None:
    systems = _systems(relative)

    assert systems[ASABONA][CLASS] == 8
    for system, expected in DRIFTER_SYSTEMS.items():
        assert systems[system][CLASS] == expected


@pytest.mark.parametrize("relative", ["sde", "sde-jsonl.zip"])
def test_known_space_class_follows_security(relative: str) -> None:
    for row in _systems(relative).values():
        if row[CLASS] not in (7, 8, 9):
            continue
        security = row[4]
        if security >= 0.45:
            assert row[CLASS] == 7, row
        elif security > 0.0:
            assert row[CLASS] == 8, row
        else:
            assert row[CLASS] == 9, row


def _stored_systems(db: Database) -> list[tuple[Any, ...]]:
    return db.fetch_all(
        "SELECT solar_system_id, constellation_id, security, wormhole_class_id"
        " FROM solar_systems ORDER BY solar_system_id"
    )


def _changed(db: Database, path: Path) -> dict[str, int]:
    summary = import_sde(db, path)
    return {result.table: result.updated for result in summary.tables}


def test_imports_in_turn_change_nothing(db: Database) -> None:
    """Importing the CSV extract and the JSON Lines zip in turn changed 693
    systems each time, and so detected every battle again."""
    csv_path = shared_file("sde")
    zip_path = shared_file("sde-jsonl.zip")

    import_sde(db, csv_path)
    import_sde(db, zip_path)
    first = _stored_systems(db)

    for path in (csv_path, zip_path, csv_path):
        changed = _changed(db, path)
        assert changed["solar_systems"] == 0, path
        assert changed["constellations"] == 0, path
        assert changed["regions"] == 0, path
    assert _stored_systems(db) == first
    classes = {row[0]: row[3] for row in first}
    assert classes[ASABONA] == 8
