"""Ship classes and fleet roles from SDE groups."""

from __future__ import annotations

import csv

import pytest

from evedmv_tui import ship_classes
from evedmv_tui.ship_classes import roles, ship_class
from tests.conftest import shared_file


@pytest.mark.parametrize(
    ("group_id", "category_id", "expected"),
    [
        (25, 6, "frigate"),  # Rifter
        (420, 6, "destroyer"),  # Thrasher
        (541, 6, "destroyer"),  # Sabre
        (26, 6, "cruiser"),  # Caracal
        (358, 6, "cruiser"),  # Muninn
        (419, 6, "battlecruiser"),  # Drake
        (540, 6, "battlecruiser"),  # Damnation
        (27, 6, "battleship"),  # Megathron
        (485, 6, "capital"),  # Naglfar
        (1538, 6, "capital"),  # Apostle
        (30, 6, "supercapital"),  # Avatar
        (659, 6, "supercapital"),  # Nyx
        (29, 6, "capsule"),
        (31, 6, "shuttle"),
        (237, 6, "corvette"),
        (513, 6, "industrial"),  # Charon
        (543, 6, "mining"),  # Hulk
        (1657, 65, "structure"),  # Keepstar
        (4744, 65, "structure"),  # Metenox Moon Drill
        (1025, 46, "structure"),  # Customs Office
        (1246, 22, "deployable"),  # Mobile Depot
        (365, 23, "starbase"),  # Control Tower
        (1652, 87, "fighter"),
        (100, 18, "drone"),
        (5087, 6, "other"),  # Special Edition Yachts
        (53, 7, "other"),  # Energy Weapon
    ],
)
def test_ship_class(group_id: int, category_id: int, expected: str) -> None:
    assert ship_class(group_id, category_id) == expected


def test_class_without_category() -> None:
    assert ship_class(25) == "frigate"
    assert ship_class(1657) == "other"
    assert ship_class(None) == "other"


def test_roles() -> None:
    assert roles(540) == {"fleet_command"}
    assert roles(1534) == {"fleet_command"}
    assert roles(832) == {"logistics"}
    assert roles(1538) == {"logistics", "capital"}
    assert roles(541) == {"interdictor"}
    assert roles(894) == {"heavy_interdictor"}
    assert roles(485) == {"capital"}
    assert roles(30) == {"supercapital"}
    assert roles(26) == frozenset()
    assert roles(None) == frozenset()


def test_every_ship_group_classified() -> None:
    """Every published ship group of the SDE has a class other than
    ``other``, except the special hulls that fit no class."""
    path = shared_file("sde/groups.csv")
    with path.open(encoding="utf-8") as handle:
        groups = list(csv.DictReader(handle))
    unclassified = {
        int(row["group_id"]): row["group_name"]
        for row in groups
        if row["category_id"] == "6"
        and row["published"] == "1"
        and ship_class(int(row["group_id"]), 6) == "other"
    }
    assert unclassified == {
        4902: "Expedition Command Ship",
        5087: "Special Edition Yachts",
    }


def test_group_names_match_sde() -> None:
    """The comments name each group as the SDE does; check the ids exist."""
    path = shared_file("sde/groups.csv")
    with path.open(encoding="utf-8") as handle:
        known = {int(row["group_id"]): row for row in csv.DictReader(handle)}
    for group_id in ship_classes.GROUP_CLASSES:
        assert group_id in known, group_id
        assert known[group_id]["category_id"] == "6", group_id
