"""Rejects whose killmail was stored later: resolved, and hidden by default."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.ingest.follow import import_feed_documents
from evedmv_tui.ingest.rejects import count_rejects, list_rejects
from evedmv_tui.queries.killmail import KillmailLookup
from evedmv_tui.queries.overview import Overview, load_overview
from evedmv_tui.screens.home import describe_overview
from evedmv_tui.screens.killmail import describe_missing, load_lookup
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import read_jsonl
from tests.test_rejects_screen import open_rejects, text_of


@pytest.fixture
def package() -> dict[str, Any]:
    """The smallest real RedisQ package ``{killID, killmail, zkb}``."""
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    packages = sorted(read_jsonl(path), key=lambda p: len(json.dumps(p)))
    return packages[0]


@pytest.fixture
def killmail(package: dict[str, Any]) -> dict[str, Any]:
    """The package's ESI killmail body."""
    body: dict[str, Any] = package["killmail"]
    return body


def broken(killmail: dict[str, Any]) -> dict[str, Any]:
    return {**killmail, "victim": {**killmail["victim"], "damage_taken": "x"}}


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def base(db_url: str, tmp_path: Path) -> list[str]:
    return ["--dsn", db_url, "--data-dir", str(tmp_path)]


def test_fixed_record_resolves_reject(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After a fixed record was imported, its reject was still listed and
    counted on Home as if the killmail were missing."""
    path = tmp_path / "kills.jsonl"
    assert main([*base, "import", "--offline", str(write(path, broken(killmail)))]) == 1
    assert load_overview(db).rejects == 1
    assert main([*base, "import", "--offline", str(write(path, killmail))]) == 0
    capsys.readouterr()

    assert main([*base, "rejects", "list"]) == 0
    listed = capsys.readouterr().out
    assert main([*base, "rejects", "list", "--all"]) == 0
    everything = capsys.readouterr().out
    assert main([*base, "rejects", "list", "--all", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert "no unresolved rejects" in listed
    assert "(1 resolved reject not shown" in listed
    assert "use --all" in listed
    assert f"resolved): {path} line 1, killmail {killmail['killmail_id']}" in (
        everything
    )
    assert [row["resolved"] for row in rows] == [True]
    assert load_overview(db).rejects == 0
    counts = count_rejects(db)
    assert (counts.total, counts.resolved, counts.unresolved) == (1, 1, 0)


def test_other_hash_reject_stays_unresolved(
    db: Database,
    package: dict[str, Any],
    base: list[str],
    tmp_path: Path,
) -> None:
    """A record rejected after its killmail was stored is not resolved by it."""
    good = write(tmp_path / "good.jsonl", package)
    other = write(
        tmp_path / "other.jsonl",
        {"killmail_id": package["killID"], "zkb": {**package["zkb"], "hash": "f" * 40}},
    )
    assert main([*base, "import", "--offline", str(good)]) == 0

    main([*base, "import", "--offline", str(other)])

    rows = list_rejects(db)
    assert len(rows) == 1
    assert rows[0].resolved is False
    assert load_overview(db).rejects == 1


def test_reject_of_stored_killmail_resolved(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A broken record of a killmail stored already stayed unresolved for
    ever, and the summary advised fixing it, although the fixed record
    would be skipped as a duplicate."""
    good = write(tmp_path / "good.jsonl", killmail)
    bad = write(tmp_path / "bad.jsonl", broken(killmail))
    assert main([*base, "import", "--offline", str(good)]) == 0
    capsys.readouterr()

    status = main([*base, "import", "--offline", str(bad)])

    summary = capsys.readouterr().out
    assert status == 1
    assert "Fix the rejected records" not in summary
    assert "1 rejected record is of a killmail stored already" in summary
    assert "so its reject is resolved" in summary
    (row,) = list_rejects(db, resolved=None)
    assert row.killmail_id == killmail["killmail_id"]
    assert row.resolved is True
    assert row.dismissed_at is None
    assert row.raw
    assert load_overview(db).rejects == 0
    assert main([*base, "rejects", "list", "--all"]) == 0
    assert f"resolved): {bad} line 1" in capsys.readouterr().out


def test_fixable_reject_beside_stored_one_advised(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A file with a reject of a stored killmail and one of a new killmail
    still gets the advice to fix and import it again."""
    good = write(tmp_path / "good.jsonl", killmail)
    assert main([*base, "import", "--offline", str(good)]) == 0
    path = tmp_path / "mixed.jsonl"
    other = {**broken(killmail), "killmail_id": 7}
    path.write_text(
        json.dumps(broken(killmail)) + "\n" + json.dumps(other) + "\n",
        encoding="utf-8",
    )
    capsys.readouterr()

    main([*base, "import", "--offline", str(path)])

    summary = capsys.readouterr().out
    assert f"Fix the rejected records and import {path} again" in summary
    assert "1 rejected record is of a killmail stored already" in summary
    assert [row.killmail_id for row in list_rejects(db)] == [7]


def test_migration_marks_earlier_hash_conflicts(
    db: Database,
    package: dict[str, Any],
    base: list[str],
    tmp_path: Path,
) -> None:
    """Hash conflicts stored before the hash_conflict column existed would
    count as resolved under the new rule unless the migration marks them."""
    good = write(tmp_path / "good.jsonl", package)
    other = write(
        tmp_path / "other.jsonl",
        {"killmail_id": package["killID"], "zkb": {**package["zkb"], "hash": "f" * 40}},
    )
    broken_copy = write(tmp_path / "broken.jsonl", broken(package["killmail"]))
    assert main([*base, "import", "--offline", str(good)]) == 0
    main([*base, "import", "--offline", str(other)])
    main([*base, "import", "--offline", str(broken_copy)])
    db.execute("UPDATE rejects SET hash_conflict = false")
    migration = resources.files("evedmv_tui.store.migrations").joinpath(
        "0217_reject_stored_killmail.sql"
    )
    (backfill,) = [
        statement
        for statement in migration.read_text().split(";")
        if "UPDATE rejects" in statement
    ]

    db.execute(backfill)

    marked = db.fetch_all("SELECT source_file, hash_conflict FROM rejects")
    assert sorted((Path(name).name, flag) for name, flag in marked) == [
        ("broken.jsonl", False),
        ("other.jsonl", True),
    ]
    assert [Path(row.source_file).name for row in list_rejects(db)] == ["other.jsonl"]


def test_feed_sequence_read_again_resolves_reject(db: Database) -> None:
    """A feed document rejected because its body was cut off, and so without
    a killmail id, stayed unresolved after the same sequence was read again
    and its killmail stored."""
    body = shared_file("killmails/feeds/r2z2_shrike_testdata_900001.json")
    document = body.read_bytes()
    cut = [document[:200]]
    import_feed_documents(db, cut, (), ["sequence 1106"])
    import_feed_documents(db, cut, (), ["sequence 1107"])
    rejected = list_rejects(db, resolved=None)
    assert [row.killmail_id for row in rejected] == [None, None]

    counts = import_feed_documents(db, [document], (), ["sequence 1106"])

    assert counts.inserted == 1
    unresolved = list_rejects(db)
    assert [row.position for row in unresolved] == ["sequence 1107"]
    (resolved,) = list_rejects(db, resolved=True)
    assert resolved.position == "sequence 1106"
    assert resolved.killmail_id == json.loads(document)["killmail_id"]
    assert load_overview(db).rejects == 1


def test_record_rejected_again_listed_first(
    db: Database, killmail: dict[str, Any], base: list[str], tmp_path: Path
) -> None:
    """Rejects were listed by id while the list was labelled newest first and showed
    each one's latest rejection, so a record rejected again stayed below
    newer ones with older times."""
    first = write(tmp_path / "first.jsonl", broken(killmail))
    second = write(tmp_path / "second.jsonl", {**broken(killmail), "killmail_id": 7})
    assert main([*base, "import", "--offline", str(first)]) == 1
    assert main([*base, "import", "--offline", str(second)]) == 1
    assert main([*base, "import", "--offline", str(first)]) == 1

    rows = list_rejects(db)

    assert [Path(row.source_file).name for row in rows] == [
        "first.jsonl",
        "second.jsonl",
    ]
    assert rows[0].rejected_at > rows[1].rejected_at


def test_rejected_killmail_screen_names_reject(
    db: Database, killmail: dict[str, Any], base: list[str], tmp_path: Path
) -> None:
    """The screen of a killmail whose record was rejected called it unknown,
    to be imported first."""
    path = write(tmp_path / "kills.jsonl", broken(killmail))
    assert main([*base, "import", "--offline", str(path)]) == 1

    lookup, rejects = load_lookup(db, killmail["killmail_id"])
    text = describe_missing(lookup, rejects)

    assert lookup.state == "missing"
    assert "an import rejected a record of it" in text
    assert f"{path} line 1: " in text
    assert "damage_taken" in text
    assert "'evedmv rejects list'" in text
    assert "Import it first" not in text


def test_unknown_killmail_screen_unchanged() -> None:
    text = describe_missing(KillmailLookup(12345, "missing"))

    assert text == (
        "Killmail 12345 is not in the database. Import it first, or check the id."
    )


def test_home_names_pending_command() -> None:
    """Home counted pending bodies without the command that fetches them."""
    overview = Overview(
        stored_killmails=1,
        pending_killmails=11_982,
        first_killmail_time=None,
        last_killmail_time=None,
        latest_killmail_id=None,
        solar_systems=1,
        types=1,
        prices=0,
        names=0,
        rejects=0,
        last_import_at=None,
    )

    text = describe_overview(overview)

    assert "'evedmv import --pending' fetches them" in text


async def test_rejects_screen_hides_resolved(
    settings: Settings,
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
) -> None:
    path = tmp_path / "kills.jsonl"
    assert main([*base, "import", "--offline", str(write(path, broken(killmail)))]) == 1
    assert main([*base, "import", "--offline", str(write(path, killmail))]) == 0

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rejects(app, pilot)
        summary = text_of(screen, "#rejects-summary")

    assert summary.startswith("No unresolved rejects. 1 resolved")
    assert "'evedmv rejects list --all'" in summary
