"""``evedmv demo`` and the sde, prices and generate commands, end to end."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.battles.report import list_battles, load_report
from evedmv_tui.cli import main
from evedmv_tui.commands import demo
from evedmv_tui.commands.demo import demo_start, max_demo_count
from evedmv_tui.errors import ConfigError
from evedmv_tui.generate import (
    DEFAULT_START,
    generate_killmails,
    generated_world,
    load_universe,
    span_bound,
)
from evedmv_tui.generate.names import (
    NPC_NAMES,
    generated_names,
    store_generated_names,
)
from evedmv_tui.ingest.importer import import_paths, import_records
from evedmv_tui.intel.search import search
from evedmv_tui.names import NOT_FETCHED, is_resolvable
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from tests.conftest import cluster_directory, shared_file


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_demo_loads_once(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--dsn", db_url, "--data-dir", str(tmp_path))
    demo = ("demo", "--no-dashboard", "--json", "--count", "3000", "--seed", "3")
    status, out = _run(capsys, *common, *demo)
    assert status == 0
    first = json.loads(out)
    assert first["static_source"] == "builtin"
    assert first["static"]["solar_systems"] == 48
    assert first["static"]["stargate_jumps"] == 88
    assert first["killmails_imported"] == 3000
    assert first["killmails_skipped"] is False
    assert first["killmails_total"] == 3000
    assert first["prices_loaded"] > 100
    assert db.fetch_value("SELECT count(*) FROM rejects") == 0
    assert first["battles_total"] > 0

    status, out = _run(capsys, *common, *demo)
    assert status == 0
    second = json.loads(out)
    assert second["static_source"] == "existing"
    assert second["killmails_skipped"] is True
    assert second["killmails_imported"] == 0
    assert second["killmails_total"] == 3000
    assert second["battles_total"] == first["battles_total"]

    # Every generated kill names a system and a hull of the stored universe.
    unknown_systems = db.fetch_value(
        "SELECT count(*) FROM killmails k WHERE NOT EXISTS"
        " (SELECT 1 FROM solar_systems s WHERE s.solar_system_id = k.solar_system_id)"
    )
    assert unknown_systems == 0
    unknown_hulls = db.fetch_value(
        "SELECT count(*) FROM killmails k WHERE NOT EXISTS"
        " (SELECT 1 FROM types t WHERE t.type_id = k.victim_ship_type_id)"
    )
    assert unknown_hulls == 0


@pytest.fixture
def private_data_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory for a private cluster, destroyed afterwards."""
    for variable in ("EVEDMV_DSN", "EVEDMV_DATA_DIR", "EVEDMV_SDE"):
        monkeypatch.delenv(variable, raising=False)
    with cluster_directory("evedmv-demo-") as data_dir:
        monkeypatch.setenv("XDG_CONFIG_HOME", str(data_dir.parent / "config"))
        yield data_dir


def test_demo_starts_private_cluster(
    private_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--data-dir", str(private_data_dir))
    demo = ("demo", "--no-dashboard", "--json", "--count", "500", "--seed", "5")

    status, out = _run(capsys, *common, *demo)
    assert status == 0
    first = json.loads(out)
    cluster = PrivateCluster(private_data_dir)
    assert cluster.status().running
    assert (private_data_dir / "pg" / "PG_VERSION").exists()
    assert first["static_source"] == "builtin"
    assert first["killmails_imported"] == 500
    assert first["killmails_skipped"] is False
    assert first["killmails_total"] == 500
    assert first["battles_total"] > 0
    assert Path(first["demo_file"]).parent == private_data_dir / "demo"

    # The data outlives the server: a restarted cluster is not loaded again.
    status, out = _run(capsys, *common, "db", "stop")
    assert status == 0
    assert "stopped PostgreSQL" in out
    assert not cluster.status().running

    status, out = _run(capsys, *common, *demo)
    assert status == 0
    second = json.loads(out)
    assert second["static_source"] == "existing"
    assert second["prices_loaded"] == 0
    assert second["killmails_skipped"] is True
    assert second["killmails_imported"] == 0
    assert second["killmails_total"] == 500
    assert second["battles_total"] == first["battles_total"]
    with psycopg.connect(cluster.url()) as conn:
        imports = conn.execute("SELECT count(*) FROM imports").fetchone()
    assert imports == (1,)

    status, out = _run(capsys, *common, "db", "stop")
    assert status == 0
    assert "stopped PostgreSQL" in out
    assert not cluster.status().running


def test_demo_with_sde_uses_real_map(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sde = shared_file("sde-jsonl.zip")
    status, out = _run(
        capsys,
        "--dsn",
        db_url,
        "--data-dir",
        str(tmp_path),
        "demo",
        "--no-dashboard",
        "--sde",
        str(sde),
        "--count",
        "2000",
    )
    assert status == 0
    assert "imported from the SDE: 8437 systems" in out
    assert "imported 2,000" in out
    systems = db.fetch_value("SELECT count(DISTINCT solar_system_id) FROM killmails")
    assert systems > 48
    unknown_hulls = db.fetch_value(
        "SELECT count(*) FROM killmails k WHERE NOT EXISTS"
        " (SELECT 1 FROM types t WHERE t.type_id = k.victim_ship_type_id)"
    )
    assert unknown_hulls == 0


def test_demo_rejects_bad_count(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["--dsn", db_url, "--data-dir", str(tmp_path), "demo", "--count", "0"]
    )
    assert status == 2
    assert "invalid --count" in capsys.readouterr().err


def test_demo_rejects_count_beyond_ids_of_a_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--data-dir", str(tmp_path), "demo", "--count", "4000000000"])
    assert stopped.value.code == 2
    assert "give a whole number" in capsys.readouterr().err


NOW = dt.datetime(2026, 12, 5, 10, 30, tzinfo=dt.UTC)


def test_demo_start_keeps_default_for_small_counts() -> None:
    assert demo_start(20_000, NOW) == DEFAULT_START
    assert demo_start(3_000_000, NOW) == DEFAULT_START


@pytest.mark.parametrize("count", [7_100_000, 10_000_000, 50_000_000])
def test_demo_start_moves_back_for_large_counts(count: int) -> None:
    """A large demo starts early enough that its last kill is not in the future.

    The demo started every run on 2025-01-01, so from about 7 million
    killmails on the last kills lay past the clock and import rejected them.
    """
    start = demo_start(count, NOW)
    assert start < DEFAULT_START
    assert start + span_bound(count) <= NOW
    assert start.time() == dt.time(0, 0)


def test_demo_start_limit() -> None:
    limit = max_demo_count(NOW)
    assert 80_000_000 < limit < 90_000_000
    assert demo_start(limit, NOW) + span_bound(limit) <= NOW
    with pytest.raises(ConfigError) as caught:
        demo_start(limit + 1, NOW)
    assert caught.value.title == "invalid --count"
    assert caught.value.hint == f"pass --count {limit:,} or less"


def test_demo_rejects_count_past_time_limit(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A count too large to lie between 2003 and now is rejected before loading."""

    def load_nothing(*args: object, **kwargs: object) -> None:
        raise AssertionError("demo started loading")

    monkeypatch.setattr(demo, "load_demo", load_nothing)
    command = ["--dsn", db_url, "--data-dir", str(tmp_path), "demo"]
    status = main([*command, "--no-dashboard", "--count", "200000000"])
    err = capsys.readouterr().err

    assert status == 2
    assert "invalid --count: 200,000,000 killmails" in err
    assert "import rejects killmails before 2003-01-01 or in the future" in err
    hint = re.search(r"pass --count ([\d,]+) or less", err)
    assert hint is not None
    # The limit grows by one killmail about every 9 seconds of clock.
    limit = max_demo_count(dt.datetime.now(dt.UTC))
    assert limit - 1 <= int(hint.group(1).replace(",", "")) <= limit


def test_sde_and_prices_commands(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--dsn", db_url, "--data-dir", str(tmp_path))
    status, out = _run(
        capsys, *common, "sde", "import", str(shared_file("sde")), "--json"
    )
    assert status == 0
    summary = json.loads(out)
    assert summary["format"] == "csv"
    assert summary["tables"]["solar_systems"]["inserted"] == 8437
    assert summary["tables"]["stargate_jumps"]["read"] == 13776
    status, out = _run(capsys, *common, "sde", "status", "--json")
    assert json.loads(out)["types"] == 53289
    prices = shared_file("prices/esi_markets_prices_2025-05-13.json")
    status, out = _run(capsys, *common, "prices", "import", str(prices))
    assert status == 0
    assert "imported 15,134 prices" in out


def test_sde_command_reports_bad_file(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "regions.csv").write_text("region_id,region_name\nten,Derelik\n")
    status = main(["--dsn", db_url, "sde", "import", str(folder)])
    err = capsys.readouterr().err
    assert status == 2
    assert "regions.csv row 2" in err
    assert "hint:" in err


def test_generate_command_builtin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "kills.jsonl"
    status = main(
        [
            "--data-dir",
            str(tmp_path / "data"),
            "generate",
            "-n",
            "500",
            "--seed",
            "12",
            "--universe",
            "builtin",
            "-o",
            str(output),
        ]
    )
    assert status == 0
    assert output.read_bytes().splitlines() == list(generate_killmails(500, 12))
    assert "wrote 500 killmails" in capsys.readouterr().err


def test_generate_command_from_database(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    status = main([*common, "generate", "--universe", "database", "-n", "5"])
    assert status == 2
    assert "no static data loaded" in capsys.readouterr().err
    assert main([*common, "sde", "import", str(shared_file("sde-jsonl.zip"))]) == 0
    capsys.readouterr()
    status, out = _run(capsys, *common, "generate", "-n", "300", "--seed", "4")
    assert status == 0
    documents = [json.loads(line) for line in out.splitlines()]
    assert len(documents) == 300
    known = {
        row[0] for row in db.fetch_all("SELECT solar_system_id FROM solar_systems")
    }
    assert {d["solar_system_id"] for d in documents} <= known


def test_generated_names_are_stable_and_searchable(db: Database) -> None:
    """Every generated entity gets one made-up name; none is replaced."""
    import_records(db, generate_killmails(300, seed=5), source="generated")
    world = generated_world(5)
    kept_id = world.alliances[0].corporation_ids[0]
    db.execute(
        "INSERT INTO names (entity_id, category, name)"
        " VALUES (%s, 'corporation', 'Kept Name')",
        (kept_id,),
    )

    added = store_generated_names(db, world)
    again = store_generated_names(db, world)

    unnamed = db.fetch_value(
        "SELECT count(*) FROM (SELECT corporation_id AS id FROM attackers"
        " UNION SELECT character_id FROM attackers"
        " UNION SELECT victim_alliance_id FROM killmails) ids"
        " WHERE id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM names n WHERE n.entity_id = ids.id)"
    )
    kept = db.fetch_value("SELECT name FROM names WHERE entity_id = %s", (kept_id,))
    concord = db.fetch_value("SELECT name FROM names WHERE entity_id = 1000125")
    assert added == len(list(generated_names(world))) - 1
    assert again == 0
    assert unnamed == 0
    assert kept == "Kept Name"
    assert concord == "CONCORD"
    corporation = db.fetch_value(
        "SELECT name FROM names WHERE category = 'corporation'"
        " AND name LIKE '%% Corp' LIMIT 1"
    )
    assert corporation is not None
    assert search(db, corporation[:6])
    repeated = db.fetch_value(
        "SELECT count(*) FROM (SELECT category, name FROM names"
        " GROUP BY category, name HAVING count(*) > 1) names"
    )
    assert repeated == 0
    fetched = db.fetch_value(
        "SELECT count(*) FROM names WHERE fetched_at <> %s", (NOT_FETCHED,)
    )
    assert fetched == 1  # the kept name, stored as if fetched


def test_generated_ids_avoid_real_ranges() -> None:
    """Generated entities lie past 2^31, where no EVE Online entity is."""
    for seed in (3, 2025):
        world = generated_world(seed)
        ids = [row.entity_id for row in generated_names(world)]
        generated = [i for i in ids if i not in NPC_NAMES]
        assert len(generated) == len(set(generated))
        assert min(generated) > 2**31
        assert not any(is_resolvable(i) for i in generated)


def test_demo_keeps_real_names(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A demo run after a real import names none of the real entities."""
    real = shared_file("killmails/real/everef_cluster_samples.jsonl")
    import_paths(db, [real], offline=True)
    real_ids = {
        row[0]
        for row in db.fetch_all(
            "SELECT victim_character_id FROM killmails"
            " UNION SELECT victim_corporation_id FROM killmails"
            " UNION SELECT victim_alliance_id FROM killmails"
            " UNION SELECT character_id FROM attackers"
            " UNION SELECT corporation_id FROM attackers"
            " UNION SELECT alliance_id FROM attackers"
        )
        if row[0] is not None
    }
    real_ids -= set(NPC_NAMES)
    assert len(real_ids) > 100
    common = ("--dsn", db_url, "--data-dir", str(tmp_path))
    demo = ("demo", "--no-dashboard", "--count", "400", "--seed", "3")
    status, _ = _run(capsys, *common, *demo)
    assert status == 0

    world = generated_world(3, static=load_universe(db))
    expected = {row.entity_id: row.name for row in generated_names(world)}
    stored = dict(
        db.fetch_all(
            "SELECT entity_id, name FROM names WHERE entity_id = ANY(%s)",
            (sorted(expected),),
        )
    )
    assert stored == expected
    assert len(set(stored.values())) == len(stored)
    named_real = db.fetch_value(
        "SELECT count(*) FROM names WHERE entity_id = ANY(%s)", (sorted(real_ids),)
    )
    assert named_real == 0
    # A second seed names its own population and still no real entity.
    demo = ("demo", "--no-dashboard", "--count", "400", "--seed", "4")
    status, _ = _run(capsys, *common, *demo)
    assert status == 0
    named_real = db.fetch_value(
        "SELECT count(*) FROM names WHERE entity_id = ANY(%s)", (sorted(real_ids),)
    )
    assert named_real == 0
    fourth = generated_world(4, static=load_universe(db))
    unnamed = db.fetch_value(
        "SELECT count(*) FROM unnest(%s::bigint[]) AS ids (id)"
        " WHERE NOT EXISTS (SELECT 1 FROM names n WHERE n.entity_id = ids.id)",
        ([pilot.character_id for pilot in fourth.all_pilots],),
    )
    assert unnamed == 0
    battle = max(list_battles(db), key=lambda b: b.kills)
    report = load_report(db, battle.battle_id)
    alliances = [e for e in report.entities if e.entity_kind == "alliance"]
    assert alliances
    for entity in alliances:
        assert report.name(entity.entity_id).endswith(" Alliance"), entity
