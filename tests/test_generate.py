"""The seeded killmail generator: determinism, shape and the mix of kills."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.generate import generate_killmails, write_jsonl

HEX = set("0123456789abcdef")


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    return [json.loads(document) for document in generate_killmails(5000, 7)]


def test_same_seed_same_bytes() -> None:
    first = b"\n".join(generate_killmails(2000, 42))
    second = b"\n".join(generate_killmails(2000, 42))
    assert first == second


def test_other_seed_other_bytes() -> None:
    assert list(generate_killmails(50, 1)) != list(generate_killmails(50, 2))


def test_shorter_run_is_prefix() -> None:
    short = list(generate_killmails(300, 5))
    long = list(generate_killmails(1200, 5))
    assert long[:300] == short


def test_count_exact() -> None:
    assert len(list(generate_killmails(1234, 3))) == 1234
    assert list(generate_killmails(0, 3)) == []


def test_write_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "kills.jsonl"
    assert write_jsonl(path, 2500, 9) == 2500
    lines = path.read_bytes().splitlines()
    assert len(lines) == 2500
    assert lines == list(generate_killmails(2500, 9))


def test_time_and_id_order(sample: list[dict[str, Any]]) -> None:
    times = [d["killmail_time"] for d in sample]
    ids = [d["killmail_id"] for d in sample]
    assert times == sorted(times)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_esi_shape(sample: list[dict[str, Any]]) -> None:
    for document in sample:
        assert document["killmail_time"].endswith("Z")
        victim = document["victim"]
        assert victim["damage_taken"] > 0
        assert "ship_type_id" in victim
        assert "corporation_id" in victim
        attackers = document["attackers"]
        assert attackers
        assert sum(a["final_blow"] for a in attackers) == 1
        assert sum(a["damage_done"] for a in attackers) <= victim["damage_taken"]
        zkb = document["zkb"]
        assert len(zkb["hash"]) == 40
        assert set(zkb["hash"]) <= HEX
        assert zkb["totalValue"] == pytest.approx(
            zkb["droppedValue"] + zkb["destroyedValue"], abs=0.05
        )
        assert zkb["fittedValue"] <= zkb["totalValue"] + 0.01


def test_mix_of_kills(sample: list[dict[str, Any]]) -> None:
    labels = Counter(label for d in sample for label in d["zkb"]["labels"])
    assert labels["npc"] > 100
    assert labels["solo"] > 100
    assert labels["ganked"] > 0
    assert labels["loc:nullsec"] > labels["loc:highsec"]
    pods = sum(d["victim"]["ship_type_id"] == 670 for d in sample)
    assert 0.05 * len(sample) < pods < 0.3 * len(sample)
    structures = [d for d in sample if "character_id" not in d["victim"]]
    assert structures
    assert any(d["zkb"].get("locationID", 0) > 10**12 for d in sample)
    assert any(a.get("character_id", 0) > 2**31 for d in sample for a in d["attackers"])
    npc_only = [
        a
        for d in sample
        if d["zkb"]["npc"]
        for a in d["attackers"]
        if "character_id" not in a
    ]
    assert any(set(a) & {"faction_id"} and "corporation_id" not in a for a in npc_only)
    assert any("corporation_id" in a and "faction_id" not in a for a in npc_only)
    nested = [i for d in sample for i in d["victim"]["items"] if "items" in i]
    assert nested
    assert any("war_id" in d for d in sample)


def test_fights_are_clustered(sample: list[dict[str, Any]]) -> None:
    """A fight shows up as ten or more kills in one system within an hour,
    with attackers from at least two alliances among the victims."""
    by_system: dict[int, list[dict[str, Any]]] = {}
    for document in sample:
        by_system.setdefault(document["solar_system_id"], []).append(document)
    busiest = max(by_system.values(), key=len)
    assert len(busiest) >= 10
    victims = {d["victim"].get("alliance_id") for d in busiest}
    attackers = {a.get("alliance_id") for d in busiest for a in d["attackers"]}
    assert len(victims - {None}) >= 2
    assert len((victims & attackers) - {None}) >= 2
