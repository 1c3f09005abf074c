"""Static data import from CCP's JSON Lines SDE and from CSV dumps."""

from __future__ import annotations

import bz2
import io
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.commands import sde as sde_command
from evedmv_tui.sde import SdeError, import_sde, static_counts
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.test_battle_fixtures import PERIMETER, brawl, fleet, insert_kills

FULL_COUNTS = {
    "regions": 113,
    "constellations": 1175,
    "solar_systems": 8437,
    "stargate_jumps": 13776,
    "categories": 48,
    "groups": 1611,
}


def _assert_map(db: Database) -> None:
    counts = static_counts(db)
    for table, expected in FULL_COUNTS.items():
        assert counts[table] == expected, table
    jita = db.fetch_one(
        "SELECT solar_system_name, region_id, constellation_id,"
        " round(security::numeric, 3)::float,"
        " security_class, wormhole_class_id FROM solar_systems"
        " WHERE solar_system_id = 30000142"
    )
    assert jita == ("Jita", 10000002, 20000020, pytest.approx(0.946, abs=0.001), "B", 7)
    # Jita's gates, in both directions.
    jita_links = db.fetch_value(
        "SELECT count(*) FROM stargate_jumps WHERE from_solar_system_id = 30000142"
    )
    assert jita_links == 7
    asymmetric = db.fetch_value(
        "SELECT count(*) FROM stargate_jumps j WHERE NOT EXISTS (SELECT 1 FROM"
        " stargate_jumps r WHERE r.from_solar_system_id = j.to_solar_system_id"
        " AND r.to_solar_system_id = j.from_solar_system_id)"
    )
    assert asymmetric == 0
    rifter = db.fetch_one(
        "SELECT t.type_name, t.group_id, g.ship_class FROM types t"
        " JOIN groups g USING (group_id) WHERE t.type_id = 587"
    )
    assert rifter == ("Rifter", 25, "frigate")
    keepstar_class = db.fetch_value(
        "SELECT g.ship_class FROM types t JOIN groups g USING (group_id)"
        " WHERE t.type_id = 35834"
    )
    assert keepstar_class == "structure"


def test_import_jsonl_zip(db: Database) -> None:
    summary = import_sde(db, shared_file("sde-jsonl.zip"))
    assert summary.format == "jsonl"
    assert summary.build == 3650286
    assert summary.missing == ()
    _assert_map(db)
    assert static_counts(db)["types"] == 3238
    # A wormhole system takes its class from the constellation.
    j105951 = db.fetch_value(
        "SELECT wormhole_class_id FROM solar_systems WHERE solar_system_id = 31000368"
    )
    assert j105951 == 2
    tanoo = db.fetch_value("SELECT region_name FROM regions WHERE region_id = 10000001")
    assert tanoo == "Derelik"


def test_import_jsonl_folder(db: Database) -> None:
    summary = import_sde(db, shared_file("sde-jsonl"))
    assert summary.format == "jsonl"
    _assert_map(db)
    tables = {t.table: t for t in summary.tables}
    assert tables["solar_systems"].inserted == 8437


def test_import_csv_folder(db: Database) -> None:
    summary = import_sde(db, shared_file("sde"))
    assert summary.format == "csv"
    _assert_map(db)
    assert static_counts(db)["types"] == 53289


def test_reimport_changes_nothing(db: Database) -> None:
    path = shared_file("sde-jsonl.zip")
    import_sde(db, path)
    again = import_sde(db, path)
    for table in again.tables:
        assert table.inserted == 0, table.table
        assert table.updated == 0, table.table
    _assert_map(db)


def test_csv_then_jsonl_updates_only_differences(db: Database) -> None:
    import_sde(db, shared_file("sde"))
    summary = import_sde(db, shared_file("sde-jsonl.zip"))
    tables = {t.table: t for t in summary.tables}
    assert tables["solar_systems"].inserted == 0
    assert tables["stargate_jumps"].inserted == 0
    # GPMR-01 and GPMC-01 carry class 7 in the JSON Lines files only.
    assert tables["regions"].updated >= 1
    assert static_counts(db)["solar_systems"] == 8437


def test_fuzzwork_names_and_bz2(db: Database, tmp_path: Path) -> None:
    source = shared_file("sde")
    (tmp_path / "mapRegions.csv").write_text(
        "regionID,regionName,x,y,z,factionID,radius\n"
        "10000002,The Forge,0,0,0,500001,1\n"
    )
    import bz2

    with bz2.open(tmp_path / "mapSolarSystems.csv.bz2", "wt") as out:
        out.write(
            "regionID,constellationID,solarSystemID,solarSystemName,x,y,z,"
            "security,factionID,securityClass\n"
            "10000002,20000020,30000142,Jita,1.0,2.0,3.0,0.945913,None,B\n"
        )
    (tmp_path / "mapLocationWormholeClasses.csv").write_text(
        "locationID,wormholeClassID\n10000002,7\n"
    )
    shutil.copy(source / "categories.csv", tmp_path / "invCategories.csv")
    summary = import_sde(db, tmp_path)
    assert summary.format == "csv"
    assert "types" in summary.missing
    row = db.fetch_one(
        "SELECT solar_system_name, x, wormhole_class_id FROM solar_systems"
    )
    assert row == ("Jita", 1.0, 7)
    assert static_counts(db)["categories"] == 48


def test_bad_csv_names_file_row_field(db: Database, tmp_path: Path) -> None:
    (tmp_path / "solar_systems.csv").write_text(
        "solar_system_id,solar_system_name,security,constellation_id,region_id\n"
        "30000142,Jita,0.9,20000020,10000002\n"
        "30000144,Perimeter,high,20000020,10000002\n"
    )
    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)
    message = caught.value.message
    assert "solar_systems.csv row 3" in message
    assert "'security'" in message
    assert "'high'" in message
    assert static_counts(db)["solar_systems"] == 0


def test_csv_unclosed_quote_extra_fields(db: Database, tmp_path: Path) -> None:
    """An opening quote without its closing quote joined the next 2,563 rows
    of types.csv into one field; the import stored the rest and exited 0."""
    lines = shared_file("sde/types.csv").read_text(encoding="utf-8").split("\n")
    lines[10] += ',extra,"unterminated'
    (tmp_path / "types.csv").write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)

    message = caught.value.message
    assert message.startswith(f"{tmp_path / 'types.csv'} row 11: ")
    assert "fields, expected 9 as in the header" in message
    assert "field 11 runs over several lines" in message
    assert caught.value.hint == "close the quote in that row, or re-export the dump"
    assert static_counts(db)["types"] == 0


def test_csv_unclosed_quote_in_read_column(db: Database, tmp_path: Path) -> None:
    (tmp_path / "types.csv").write_text(
        'type_id,type_name,group_id\n587,"Rifter,25\n588,Reaper,25\n589,Slasher,25\n'
    )

    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)

    message = caught.value.message
    assert "types.csv row 2: field 'type_name' runs over several lines" in message
    assert static_counts(db)["types"] == 0


def test_csv_line_break_in_unread_column(db: Database, tmp_path: Path) -> None:
    (tmp_path / "invTypes.csv").write_text(
        "typeID,groupID,typeName,description\n"
        '587,25,Rifter,"A frigate.\n\nFast, cheap, ""Minmatar""."\n'
        "588,25,Reaper,Rookie ship\n"
    )

    summary = import_sde(db, tmp_path)

    assert [(t.table, t.read) for t in summary.tables] == [("types", 2)]
    names = db.fetch_all("SELECT type_name FROM types ORDER BY type_id")
    assert names == [("Rifter",), ("Reaper",)]


@pytest.mark.parametrize(
    ("name", "content", "hint"),
    [
        ("types.jsonl", "", "download the SDE again"),
        ("types.jsonl", "\n\n", "download the SDE again"),
        ("types.csv", "type_id,type_name,group_id\n", "re-export the dump"),
    ],
)
def test_empty_file_rejected(
    db: Database, tmp_path: Path, name: str, content: str, hint: str
) -> None:
    """An empty types file, left by a failed download or copy, was reported
    as a table the export does not have, and the import exited 0."""
    source = shared_file("sde-jsonl" if name.endswith(".jsonl") else "sde")
    shutil.copy(source / name.replace("types", "categories"), tmp_path)
    (tmp_path / name).write_text(content)

    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)

    assert caught.value.message.startswith(f"{tmp_path / name}: the file is empty")
    assert caught.value.hint is not None
    assert caught.value.hint.startswith(hint)
    assert static_counts(db)["categories"] == 0


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        (
            "types.jsonl",
            "replace the directory with types.jsonl from the SDE zip, or unpack"
            " the zip again",
        ),
        (
            "types.csv",
            "replace the directory with the CSV file, or re-export the dump",
        ),
    ],
)
def test_directory_named_as_file(
    db: Database, tmp_path: Path, name: str, hint: str
) -> None:
    """A directory in place of types.jsonl got the hint to give a path in an
    existing folder, which the folder given already was."""
    source = shared_file("sde-jsonl" if name.endswith(".jsonl") else "sde")
    shutil.copy(source / name.replace("types", "categories"), tmp_path)
    (tmp_path / name).mkdir()

    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)

    assert caught.value.message == f"{tmp_path / name} is a directory, not a file"
    assert caught.value.hint == hint
    assert static_counts(db)["categories"] == 0


def test_build_file_as_directory_ignored(db: Database, tmp_path: Path) -> None:
    """_sde.jsonl only gives the build number, so a directory of that name is
    passed over instead of failing the import."""
    shutil.copy(shared_file("sde-jsonl") / "categories.jsonl", tmp_path)
    (tmp_path / "_sde.jsonl").mkdir()

    summary = import_sde(db, tmp_path)

    assert summary.build is None
    assert static_counts(db)["categories"] == 48


def _cut_bz2(data: bytes) -> bytes:
    return bz2.compress(data)[:40]


@pytest.mark.parametrize(
    ("name", "write", "expected"),
    [
        ("types.csv", lambda data: data + b"588,Rea\xffper,25\n", "not UTF-8 text"),
        (
            "invTypes.csv.bz2",
            lambda data: b"BZh91AY&SY" + data,
            "not valid bzip2 data (Invalid data stream)",
        ),
        ("invTypes.csv.bz2", _cut_bz2, "the bzip2 data ends early"),
    ],
    ids=["not-utf8", "bad-bz2", "cut-bz2"],
)
def test_undecodable_csv_rejected(
    db: Database,
    tmp_path: Path,
    name: str,
    write: Callable[[bytes], bytes],
    expected: str,
) -> None:
    """Bytes that are not UTF-8 in a CSV dump, or damaged bzip2 data, ended
    the import with a Python traceback."""
    header_and_rifter = b"type_id,type_name,group_id\n587,Rifter,25\n"
    (tmp_path / name).write_bytes(write(header_and_rifter))

    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)

    assert caught.value.message.startswith(f"{tmp_path / name}: {expected}")
    assert static_counts(db)["types"] == 0


def test_missing_column_rejected(db: Database, tmp_path: Path) -> None:
    (tmp_path / "types.csv").write_text("type_id,type_name\n587,Rifter\n")
    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)
    assert "types.csv: missing column group_id" in caught.value.message


def test_bad_jsonl_names_line_and_key(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "sde"
    folder.mkdir()
    (folder / "groups.jsonl").write_text(
        '{"_key": 25, "categoryID": 6, "name": {"en": "Frigate"}, "published": true}\n'
        '{"_key": 26, "name": {"en": "Cruiser"}, "published": true}\n'
    )
    with pytest.raises(SdeError) as caught:
        import_sde(db, folder)
    message = caught.value.message
    assert "groups.jsonl line 2" in message
    assert "_key 26" in message
    assert "categoryID" in message
    assert static_counts(db)["groups"] == 0


SYSTEMS_JSONL = (
    '{"_key": 30000001, "constellationID": 20000001, "name": {"en": "Tanoo"},'
    ' "regionID": 10000001, "securityStatus": 0.86}\n'
    '{"_key": 30000002, "constellationID": 20000001, "name": {"en": "Lashesih"},'
    ' "regionID": 10000001, "securityStatus": 0.75}\n'
)
"""Two systems of mapSolarSystems.jsonl with their required fields."""


def stargate_line(key: int, system: int, destination: int) -> str:
    """Return a line of mapStargates.jsonl with the fields the import reads."""
    return (
        f'{{"_key": {key}, "destination": {{"solarSystemID": {destination}}},'
        f' "solarSystemID": {system}}}\n'
    )


def sde_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_stargate_to_unknown_system_rejected(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gate whose destination system the export lacks was stored as a jump
    to that system, and the import exited 0."""
    gates = stargate_line(50000001, 30000001, 30000002) + stargate_line(
        50000002, 30000002, 30000001
    )
    sound = sde_folder(
        tmp_path / "sound",
        {"mapSolarSystems.jsonl": SYSTEMS_JSONL, "mapStargates.jsonl": gates},
    )
    import_sde(db, sound)
    damaged_gates = stargate_line(50000001, 30000001, 30000002) + stargate_line(
        50000002, 30000002, 39999999
    )
    damaged = sde_folder(
        tmp_path / "damaged",
        {"mapSolarSystems.jsonl": SYSTEMS_JSONL, "mapStargates.jsonl": damaged_gates},
    )

    status = main(["--dsn", db_url, "sde", "import", "--no-detect", str(damaged)])

    err = capsys.readouterr().err
    assert status == 2
    place = f"{damaged / 'mapStargates.jsonl'} line 2 (_key 50000002)"
    assert f"invalid SDE record: {place}: field 'destination.solarSystemID'" in err
    assert "is 39999999, a solar system that is neither in the export nor" in err
    assert "hint: re-download the export or fix that record" in err
    assert "Traceback" not in err
    jumps = db.fetch_all(
        "SELECT from_solar_system_id, to_solar_system_id FROM stargate_jumps"
        " ORDER BY 1, 2"
    )
    assert jumps == [(30000001, 30000002), (30000002, 30000001)]


def test_stargates_alone_use_stored_systems(db: Database, tmp_path: Path) -> None:
    """An export of the gates alone loads when the database has their systems."""
    systems = sde_folder(tmp_path / "systems", {"mapSolarSystems.jsonl": SYSTEMS_JSONL})
    import_sde(db, systems)
    gates = stargate_line(50000001, 30000001, 30000002) + stargate_line(
        50000002, 30000002, 30000001
    )
    only_gates = sde_folder(tmp_path / "gates", {"mapStargates.jsonl": gates})

    summary = import_sde(db, only_gates)

    tables = {t.table: t for t in summary.tables}
    assert tables["stargate_jumps"].inserted == 2


def test_csv_jump_from_unknown_system_rejected(db: Database, tmp_path: Path) -> None:
    """The check also covers CSV dumps, whose jumps file sorts before the
    systems file and is read first."""
    (tmp_path / "solar_systems.csv").write_text(
        "solar_system_id,solar_system_name,security,constellation_id,region_id\n"
        "30000001,Tanoo,0.86,20000001,10000001\n"
        "30000002,Lashesih,0.75,20000001,10000001\n"
    )
    (tmp_path / "solar_system_jumps.csv").write_text(
        "from_solar_system_id,to_solar_system_id\n"
        "30000001,30000002\n"
        "39999999,30000001\n"
    )

    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)

    assert caught.value.title == "invalid SDE record"
    assert caught.value.message.startswith(
        f"{tmp_path / 'solar_system_jumps.csv'} row 3: field 'from_solar_system_id'"
        " is 39999999, a solar system"
    )
    assert static_counts(db)["solar_systems"] == 0
    assert static_counts(db)["stargate_jumps"] == 0


def test_truncated_zip_member(db: Database, tmp_path: Path) -> None:
    broken = tmp_path / "sde.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr(
            "types.jsonl", '{"_key": 587, "groupID": 25, "name": {"en": "Rif'
        )
    with pytest.raises(SdeError) as caught:
        import_sde(db, broken)
    assert "types.jsonl line 1" in caught.value.message
    assert "not valid JSON" in caught.value.message
    assert caught.value.hint.endswith("the file is probably truncated")


def test_bad_utf8_line_is_called_damaged(db: Database, tmp_path: Path) -> None:
    """Bad bytes in a whole line were blamed on a truncated file."""
    broken = tmp_path / "sde.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr(
            "types.jsonl",
            b'{"_key": 587, "groupID": 25, "name": {"en": "Rif\xfer"}}\n',
        )
    with pytest.raises(SdeError) as caught:
        import_sde(db, broken)
    assert "types.jsonl line 1" in caught.value.message
    assert "Invalid UTF-8" in caught.value.message
    assert caught.value.hint.endswith("the file is probably damaged")


def test_truncated_zip_file(db: Database, tmp_path: Path) -> None:
    whole = shared_file("sde-jsonl.zip").read_bytes()
    broken = tmp_path / "sde-download"
    broken.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SdeError) as caught:
        import_sde(db, broken)
    assert caught.value.title == "damaged SDE zip"
    assert "probably truncated" in caught.value.message


def _damage_crc(data: bytearray, info: zipfile.ZipInfo) -> None:
    """Flip one bit of the member's CRC-32 in both of the zip's headers."""
    old = struct.pack("<I", info.CRC)
    new = struct.pack("<I", info.CRC ^ 1)
    assert data.count(old) == 2
    data[:] = data.replace(old, new)


def _damage_deflate(data: bytearray, info: zipfile.ZipInfo) -> None:
    """Invert 50 bytes inside the member's deflate stream."""
    start = info.header_offset + 30 + len(info.filename) + 100
    data[start : start + 50] = bytes(b ^ 0xFF for b in data[start : start + 50])


def damaged_sde_zip(
    folder: Path, damage: Callable[[bytearray, zipfile.ZipInfo], None] = _damage_crc
) -> Path:
    """Write a zip of the real mapRegions.jsonl and a damaged categories.jsonl."""
    with zipfile.ZipFile(shared_file("sde-jsonl.zip")) as source:
        members = {
            name: source.read(name) for name in ("mapRegions.jsonl", "categories.jsonl")
        }
    damaged = folder / "sde.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        info = archive.getinfo("categories.jsonl")
    data = bytearray(damaged.read_bytes())
    damage(data, info)
    damaged.write_bytes(data)
    return damaged


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        (_damage_crc, "(bad CRC-32)"),
        (_damage_deflate, "(its compressed data cannot be decompressed: Error -3"),
    ],
)
def test_damaged_zip_member(
    db: Database,
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[bytearray, zipfile.ZipInfo], None],
    detail: str,
) -> None:
    """A member whose data fails its CRC-32 or cannot be inflated, in a zip
    whose directory is intact, ended the import with a Python traceback."""
    damaged = damaged_sde_zip(tmp_path, damage)

    status = main(["--dsn", db_url, "sde", "import", "--no-detect", str(damaged)])

    err = capsys.readouterr().err
    assert status == 2
    assert f"damaged SDE zip: {damaged}: member categories.jsonl is corrupt" in err
    assert detail in err
    assert "hint: download the SDE zip again" in err
    assert "Traceback" not in err
    # mapRegions.jsonl is read first and is sound, but nothing is stored.
    assert set(static_counts(db).values()) == {0}


def test_missing_path(db: Database, tmp_path: Path) -> None:
    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path / "nothing-here")
    assert "does not exist" in caught.value.message


def test_folder_without_sde_files(db: Database, tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(SdeError) as caught:
        import_sde(db, tmp_path)
    assert caught.value.title == "no SDE files found"


def test_import_redetects_stored_battles(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Battles detected before the static data keep no region and stay split
    across a gate unless the SDE import detects them again."""
    side_a = fleet(6, 98_000_501, 99_000_501) + fleet(3, 98_000_505, 99_000_501)
    side_b = fleet(6, 98_000_502, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=20))
    insert_kills(db, brawl(side_a, side_b, kills=20, system=PERIMETER))
    assert main(["--dsn", db_url, "battles", "detect", "--rebuild"]) == 0
    before = db.fetch_all("SELECT battle_id, region_ids FROM battles")
    assert len(before) == 2
    assert all(regions == [] for _, regions in before)
    surviving_id = min(battle_id for battle_id, _ in before)
    move = [
        "battles",
        "move",
        str(surviving_id),
        "corporation",
        "98000505",
        "--new-side",
    ]
    assert main(["--dsn", db_url, *move]) == 0
    capsys.readouterr()

    sde = str(shared_file("sde-jsonl.zip"))
    assert main(["--dsn", db_url, "sde", "import", sde]) == 0

    out = capsys.readouterr().out
    assert "static data changed: detected every battle again" in out
    after = db.fetch_all("SELECT battle_id, region_ids, side_count FROM battles")
    assert [(battle_id, regions) for battle_id, regions, _ in after] == [
        (surviving_id, [10000002])
    ]
    overrides = db.fetch_value(
        "SELECT count(*) FROM battle_side_overrides WHERE battle_id = %s",
        (surviving_id,),
    )
    assert overrides == 1


def test_import_without_detect_names_command(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    insert_kills(
        db, brawl(fleet(4, 98_000_503, None), fleet(4, 98_000_504, None), kills=12)
    )
    assert main(["--dsn", db_url, "battles", "detect"]) == 0
    capsys.readouterr()
    sde = str(shared_file("sde-jsonl.zip"))
    assert main(["--dsn", db_url, "sde", "import", sde, "--no-detect"]) == 0

    assert "run 'evedmv battles detect --rebuild'" in capsys.readouterr().out
    assert db.fetch_value("SELECT region_ids FROM battles") == []

    # The same export again changes no rows. The line used to say that the
    # static data changed, as if this import had changed it.
    assert main(["--dsn", db_url, "sde", "import", sde, "--no-detect"]) == 0
    out = capsys.readouterr().out
    assert "static data changed" not in out
    assert (
        "stored battles are out of date from an earlier change (an import with"
        " --no-detect, or new side rules); run 'evedmv battles detect --rebuild'"
    ) in out

    # With detection, the battles of the old static data are detected again.
    assert main(["--dsn", db_url, "sde", "import", sde]) == 0
    out = capsys.readouterr().out
    assert "static data changed" not in out
    assert (
        "stored battles were out of date from an earlier change (an import with"
        " --no-detect, or new side rules): detected every battle again"
    ) in out
    assert db.fetch_value("SELECT region_ids FROM battles") != []

    # After that full detection, nothing is stale.
    assert main(["--dsn", db_url, "sde", "import", sde]) == 0
    assert "static data changed" not in capsys.readouterr().out


def test_totals_progress_writes_a_line_now_and_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    progress = sde_command.TotalsProgress(stream)
    progress(10, 100)
    assert stream.getvalue() == ""  # not yet PROGRESS_INTERVAL seconds
    monkeypatch.setattr(sde_command, "PROGRESS_INTERVAL", 0.0)
    progress(40_000, 100_000)
    progress(100_000, 100_000)  # the command prints the result itself
    assert stream.getvalue() == (
        "evedmv:  40% ship classes changed: refiling ships in the entity"
        " totals, 40,000 of 100,000 killmails\n"
    )
