"""The seeded killmail generator: determinism, shape and the mix of kills."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.cli import main
from evedmv_tui.commands.generate import check_span
from evedmv_tui.errors import ConfigError
from evedmv_tui.generate import (
    MAX_SEED,
    SEED_ID_BLOCK,
    builtin_universe,
    first_killmail_id,
    generate_killmails,
    generated_world,
    load_universe,
    span_bound,
    write_jsonl,
)
from evedmv_tui.generate.names import NPC_NAMES
from evedmv_tui.generate.universe import builtin_static_tables
from evedmv_tui.ingest.importer import import_paths, import_records
from evedmv_tui.ingest.shapes import time_problem
from evedmv_tui.names import is_resolvable
from evedmv_tui.sde import import_sde
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

HEX = set("0123456789abcdef")
SEED = 7


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    return [json.loads(document) for document in generate_killmails(5000, SEED)]


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


def test_workers_same_bytes() -> None:
    """Documents built in worker processes equal those built in-process."""
    here = list(generate_killmails(4500, 13))
    assert list(generate_killmails(4500, 13, workers=2)) == here


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


def test_every_type_is_in_the_builtin_static_data(
    sample: list[dict[str, Any]],
) -> None:
    """The demo stores the built-in static data, so every ship and item a
    generated killmail names, NPC ships included, must be in it."""
    stored = {row[0] for row in builtin_static_tables()["types"]}
    used = set()
    for document in sample:
        used.add(document["victim"]["ship_type_id"])
        used.update(
            a["ship_type_id"] for a in document["attackers"] if "ship_type_id" in a
        )
        used.update(
            a["weapon_type_id"] for a in document["attackers"] if "weapon_type_id" in a
        )
        items = list(document["victim"]["items"])
        while items:
            item = items.pop()
            used.add(item["item_type_id"])
            items.extend(item.get("items", ()))
    assert used - stored == set()


def test_entities_outside_real_ranges(sample: list[dict[str, Any]]) -> None:
    """Every player entity is one of the seed's population, with an id past
    2^31 that no real character, corporation or alliance has."""
    world = generated_world(SEED)
    characters = {p.character_id for p in world.all_pilots}
    corporations = {p.corporation_id for p in world.all_pilots}
    alliances = {a.alliance_id for a in world.alliances}
    entries = [d["victim"] for d in sample] + [
        a for d in sample for a in d["attackers"]
    ]
    seen: dict[str, set[int]] = {
        "character_id": set(),
        "corporation_id": set(),
        "alliance_id": set(),
    }
    for entry in entries:
        for key, ids in seen.items():
            if key in entry:
                ids.add(entry[key])
    npc = set(NPC_NAMES)
    assert seen["character_id"] <= characters
    assert seen["corporation_id"] - npc <= corporations
    assert seen["alliance_id"] <= alliances
    generated = characters | corporations | alliances
    assert len(generated) == len(characters) + len(corporations) + len(alliances)
    assert min(generated) > 2**31
    assert not any(is_resolvable(i) for i in generated)


def test_fights_are_clustered(sample: list[dict[str, Any]]) -> None:
    """A fight shows up as ten or more kills in one system within an hour,
    where the victims' and the attackers' alliances overlap across at least
    two sides: each side both kills and loses ships."""
    by_system: dict[int, list[dict[str, Any]]] = {}
    for document in sample:
        by_system.setdefault(document["solar_system_id"], []).append(document)
    fights = 0
    for kills in by_system.values():
        for start in range(0, len(kills) - 9):
            window = kills[start : start + 10]
            first = dt.datetime.fromisoformat(window[0]["killmail_time"])
            last = dt.datetime.fromisoformat(window[-1]["killmail_time"])
            if last - first > dt.timedelta(hours=1):
                continue
            victims = {d["victim"].get("alliance_id") for d in window} - {None}
            attackers = {
                a.get("alliance_id") for d in window for a in d["attackers"]
            } - {None}
            if len(victims & attackers) >= 2:
                fights += 1
                break
    assert fights >= 5


def test_generated_kills_import_cleanly(db: Database, tmp_path: Path) -> None:
    """Every generated record imports with zero rejects."""
    path = tmp_path / "kills.jsonl"
    write_jsonl(path, 4000, 31)
    summary = import_paths(db, [path], offline=True, workers=0)
    assert summary.read == 4000
    assert summary.inserted == 4000
    assert summary.rejected == 0
    nested = db.fetch_value("SELECT count(*) FROM items WHERE parent_index IS NOT NULL")
    assert nested > 0
    no_character = db.fetch_value(
        "SELECT count(*) FROM killmails WHERE victim_character_id IS NULL"
    )
    assert no_character > 0
    big_ids = db.fetch_value(
        "SELECT count(*) FROM attackers WHERE character_id > 2147483647"
    )
    assert big_ids > 0


def test_database_universe(db: Database) -> None:
    """With the SDE loaded, kills use its systems, gates and hulls."""
    assert load_universe(db) is None
    import_sde(db, shared_file("sde-jsonl.zip"))
    universe = load_universe(db)
    assert universe is not None
    assert universe.source == "database"
    # Abyssal and other instanced systems (ids from 32000000) have no fights.
    playable = db.fetch_value(
        "SELECT count(*) FROM solar_systems WHERE solar_system_id < 32000000"
    )
    assert len(universe.systems) == playable
    assert 8000 < playable < 8437
    assert len(universe.hulls["titan"]) > 4
    first = list(generate_killmails(1500, 6, static=universe))
    assert first == list(generate_killmails(1500, 6, static=universe))
    documents = [json.loads(d) for d in first]
    systems = {s.solar_system_id for s in universe.systems}
    assert {d["solar_system_id"] for d in documents} <= systems
    assert len({d["solar_system_id"] for d in documents}) > 48
    types = {row[0] for row in db.fetch_all("SELECT type_id FROM types")}
    assert {d["victim"]["ship_type_id"] for d in documents} <= types
    summary = import_records(db, documents, source="test")
    assert summary.rejected == 0


def test_database_universe_starts_no_cluster(
    own_cluster: PrivateCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--universe database on a missing or stopped private cluster created
    and started it, and left it running, only to report no static data."""
    monkeypatch.delenv("EVEDMV_DSN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    output = tmp_path / "kills.jsonl"
    command = [
        *("--data-dir", str(own_cluster.data_dir), "generate", "-n", "2"),
        *("--universe", "database", "-o", str(output)),
    ]
    hint = (
        "hint: run 'evedmv db start', and 'evedmv sde import PATH' unless static"
        " data is loaded, or use --universe builtin"
    )

    missing_status = main(command)
    missing = capsys.readouterr().err
    assert missing_status == 2
    assert "evedmv: private cluster not running: --universe database" in missing
    assert f"{own_cluster.directory}: not initialised" in missing
    assert hint in missing
    assert not own_cluster.initialized()
    assert not output.exists()

    own_cluster.start()
    own_cluster.stop()
    stopped_status = main(command)
    stopped = capsys.readouterr().err
    assert stopped_status == 2
    assert f"{own_cluster.directory}: stopped" in stopped
    assert hint in stopped
    assert not own_cluster.status().running
    assert not output.exists()


def test_spill_into_neighbour(sample: list[dict[str, Any]]) -> None:
    """Some fights continue a gate or two away: kills of one hour in two
    systems joined by a gate share attackers."""
    universe = builtin_universe()
    by_hour: dict[tuple[str, int], set[int]] = {}
    for document in sample:
        hour = document["killmail_time"][:13]
        pilots = {a.get("character_id") for a in document["attackers"]} - {None}
        key = (hour, document["solar_system_id"])
        by_hour.setdefault(key, set()).update(pilots)
    shared = 0
    for (hour, system), pilots in by_hour.items():
        for neighbour in universe.neighbours.get(system, ()):
            if pilots & by_hour.get((hour, neighbour), set()):
                shared += 1
    assert shared > 0


def test_killmails_option_and_closed_pipe(tmp_path: Path) -> None:
    """Output piped into a reader that stops early ends quietly, as 'head' expects."""
    env = {**os.environ, "EVEDMV_DATA_DIR": str(tmp_path / "data")}
    command = [
        sys.executable,
        "-m",
        "evedmv_tui",
        "generate",
        "--killmails",
        "3000",
        "--universe",
        "builtin",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    process.stdout.close()
    _, err = process.communicate(timeout=120)

    assert json.loads(first)["killmail_id"] > 0
    assert b"Traceback" not in err
    assert process.returncode == 128 + signal.SIGPIPE


FULL_DEVICE = Path("/dev/full")
needs_full_device = pytest.mark.skipif(
    not FULL_DEVICE.is_char_device(),
    reason="needs /dev/full, the Linux device on which every write fails with ENOSPC",
)


@needs_full_device
def test_output_file_on_full_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write error on the output file raised OSError with a traceback."""
    command = ["--data-dir", str(tmp_path), "generate", "-n", "5"]

    status = main([*command, "--universe", "builtin", "-o", str(FULL_DEVICE)])

    error = capsys.readouterr().err
    assert status == 2
    assert error == (
        "evedmv: write failed: /dev/full: No space left on device\n"
        "hint: free space on its file system, or give another path with --output\n"
    )
    assert FULL_DEVICE.is_char_device()


@needs_full_device
@pytest.mark.parametrize("count", [5, 3000])
def test_standard_output_on_full_device(tmp_path: Path, count: int) -> None:
    """A full standard output raised OSError with a traceback, from a write
    (3,000 killmails) or from the final flush (5)."""
    env = {**os.environ, "EVEDMV_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "evedmv_tui", "generate", "-n", str(count)]

    with FULL_DEVICE.open("wb") as full:
        process = subprocess.run(
            [*command, "--universe", "builtin"],
            stdout=full,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
            check=False,
        )

    assert process.returncode == 2
    assert process.stderr.decode() == (
        "evedmv: write failed: standard output: No space left on device\n"
        "hint: free space where standard output goes, or write to a file on"
        " another file system with --output FILE\n"
    )


@pytest.mark.parametrize("through_link", [False, True])
def test_partial_output_file_removed(tmp_path: Path, through_link: bool) -> None:
    """A write that failed part way through left the partial file behind;
    through a symbolic link, the link went and the partial target stayed.

    A file size limit (RLIMIT_FSIZE) makes the writes past 20,000 bytes fail
    with EFBIG on a real file, as a full disk fails them with ENOSPC.
    """
    written = tmp_path / "kills.jsonl"
    written.write_text("contents of an earlier run\n", encoding="utf-8")
    output = written
    if through_link:
        output = tmp_path / "latest.jsonl"
        output.symlink_to(written.name)
    env = {**os.environ, "EVEDMV_DATA_DIR": str(tmp_path / "data")}
    limited = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))\n"
        "from evedmv_tui.cli import main\n"
        "sys.exit(main())\n"
    )
    command = [sys.executable, "-c", limited, "generate", "-n", "50"]

    process = subprocess.run(
        [*command, "--universe", "builtin", "-o", str(output)],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )

    named = f" {written}" if through_link else ""
    assert process.returncode == 2
    assert process.stderr.decode() == (
        f"evedmv: write failed: {output}: File too large (the partial file{named}"
        " was removed)\n"
        "hint: free space on its file system, or give another path with --output\n"
    )
    assert not written.exists()


def killmail_ids(documents: list[bytes]) -> list[int]:
    return [json.loads(document)["killmail_id"] for document in documents]


def test_seeds_use_own_id_blocks() -> None:
    """Each seed counts its killmail ids up from a block of its own."""
    for seed in (0, 1, 11, 2025, MAX_SEED):
        ids = killmail_ids(list(generate_killmails(200, seed)))
        assert ids[0] > first_killmail_id(seed)
        assert ids[-1] < first_killmail_id(seed) + SEED_ID_BLOCK
        assert ids[-1] <= 2**63 - 1
    assert first_killmail_id(0) == 120_000_000
    assert first_killmail_id(1) == 10_120_000_000
    assert first_killmail_id(MAX_SEED) + SEED_ID_BLOCK - 1 <= 2**63 - 1


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1])
def test_seed_out_of_range_rejected(seed: int) -> None:
    with pytest.raises(ValueError, match="seed must be from 0"):
        generate_killmails(10, seed)


def test_seed_option_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as exited:
        main([*data, "generate", "-n", "5", "--seed", "-3", "--universe", "builtin"])
    assert exited.value.code == 2
    assert "invalid value '-3'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2099-01-01T00:00:00", "after this machine's clock"),
        ("2002-12-31T23:59:59", "import rejects killmails before 2003-01-01"),
        ("9999-12-31T23:59:00", "would run past the year 9999"),
    ],
)
def test_start_option_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start: str, expected: str
) -> None:
    output = tmp_path / "out.jsonl"
    command = ["--data-dir", str(tmp_path), "generate", "-n", "50", "--start", start]
    try:
        status = main([*command, "--universe", "builtin", "-o", str(output)])
    except SystemExit as exited:
        status = exited.code  # type: ignore[assignment]

    assert status == 2
    assert expected in capsys.readouterr().err
    assert not output.exists()


def test_span_check_names_latest_start() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    check_span(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), 10_000, now)
    with pytest.raises(ConfigError) as caught:
        check_span(dt.datetime(2025, 12, 31, tzinfo=dt.UTC), 10_000, now)
    assert (
        caught.value.hint == "give --start 2025-12-30T18:00:00 or earlier,"
        " or generate at most 7,500 killmails from this --start"
    )
    with pytest.raises(ConfigError) as caught:
        check_span(dt.datetime(2003, 1, 1, tzinfo=dt.UTC), 200_000_000, now)
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("generate fewer killmails")


def test_span_check_names_expected_end() -> None:
    """The message gives the end at the documented rate, not the bound that
    adds 6 hours for one scenario: 10 kills at 12,000 a day take a minute."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ConfigError) as caught:
        check_span(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), 10, now)
    message = caught.value.message
    assert "would run until about 2030-01-01 00:01 UTC" in message
    assert "06:01" not in message
    with pytest.raises(ConfigError) as caught:
        check_span(dt.datetime(2025, 12, 31, 22, tzinfo=dt.UTC), 10, now)
    message = caught.value.message
    assert "could run until 2026-01-01 04:01 UTC" in message


@pytest.mark.parametrize("count", [1, 20, 3000])
def test_run_ends_within_span_bound(count: int) -> None:
    """A run that starts span_bound before the clock gives importable times."""
    now = dt.datetime.now(dt.UTC)
    start = now - span_bound(count)
    times = [
        dt.datetime.fromisoformat(json.loads(document)["killmail_time"])
        for document in generate_killmails(count, SEED, start=start)
    ]

    assert min(times) >= start.replace(microsecond=0)
    assert max(times) <= now
    assert [time_problem(t) for t in times] == [None] * count


def test_other_seed_imports_beside_demo_seed(db: Database) -> None:
    """A file of another seed adds every killmail to one of the demo's seed.

    Every seed used to count ids up from 120,000,000, so the second import
    skipped or replaced killmails of the first.
    """
    demo = import_records(db, generate_killmails(1500, 2025), source="generated")
    other = import_records(db, generate_killmails(1500, 1), source="generated")

    assert demo.inserted == 1500
    assert other.inserted == 1500
    assert other.duplicates == 0
    assert other.updated == 0
    assert db.fetch_value("SELECT count(*) FROM killmails") == 3000


@pytest.mark.parametrize(("options", "used"), [([], 0), (["--workers", "2"], 2)])
def test_workers_option_reaches_generator(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    used: int,
) -> None:
    """The command parsed --workers but built every document in its own
    process, whatever the option's value."""
    from evedmv_tui.commands import generate as command

    workers: list[int] = []

    def generate(*args: Any, **kwargs: Any) -> Any:
        workers.append(kwargs["workers"])
        return generate_killmails(*args, **kwargs)

    monkeypatch.setattr(command, "generate_killmails", generate)
    output = tmp_path / "kills.jsonl"
    output_options = ["--universe", "builtin", "-o", str(output)]
    arguments = ["--data-dir", str(tmp_path / "data"), "generate", "-n", "20"]
    assert main([*arguments, *output_options, *options]) == 0
    assert workers == [used]
    assert output.read_bytes() == b"".join(
        document + b"\n" for document in generate_killmails(20, 1)
    )
