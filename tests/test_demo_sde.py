"""``evedmv demo --sde`` on a database that already contains the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.sde import static_counts
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.test_sde import damaged_sde_zip

DEMO = ("demo", "--no-dashboard", "--json", "--count", "400", "--seed", "7")


def run_demo(
    capsys: pytest.CaptureFixture[str], db_url: str, data_dir: Path, *extra: str
) -> tuple[int, str, str]:
    status = main(["--dsn", db_url, "--data-dir", str(data_dir), *DEMO, *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_demo_sde_imported_when_demo_loaded(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--sde used to be ignored once the demo had stored the built-in
    universe: the run printed 'already loaded' and imported nothing."""
    status, out, err = run_demo(capsys, db_url, tmp_path)
    assert status == 0, err
    first = json.loads(out)
    assert first["static_source"] == "builtin"
    builtin_systems = first["static"]["solar_systems"]
    battles_before = db.fetch_value("SELECT max(updated_at) FROM battles")

    sde = shared_file("sde-jsonl.zip")
    status, out, err = run_demo(capsys, db_url, tmp_path, "--sde", str(sde))
    assert status == 0, err
    second = json.loads(out)
    assert second["static_source"] == "sde"
    assert second["static"]["solar_systems"] == 8437
    assert second["static"]["solar_systems"] > builtin_systems
    assert second["killmails_skipped"] is True
    assert second["killmails_total"] == 400
    # The map changed under stored battles, so they were detected again,
    # as 'evedmv sde import' does.
    battles_after = db.fetch_value("SELECT max(updated_at) FROM battles")
    assert battles_after > battles_before
    assert not db.fetch_value("SELECT battles_outdated FROM static_data_version")

    # The same export again changes nothing and still succeeds.
    status, out, err = run_demo(capsys, db_url, tmp_path, "--sde", str(sde))
    assert status == 0, err
    assert json.loads(out)["static_source"] == "sde"
    assert db.fetch_value("SELECT max(updated_at) FROM battles") == battles_after


def test_demo_names_earlier_change_when_sde_changed_nothing(
    db: Database,
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The log reported that the static data changed when only an earlier change had
    left the battles out of date."""
    sde = shared_file("sde-jsonl.zip")
    status, _out, err = run_demo(capsys, db_url, tmp_path, "--sde", str(sde))
    assert status == 0, err
    db.execute("UPDATE static_data_version SET battles_outdated = true")
    with caplog.at_level("INFO", logger="evedmv_tui.commands.demo"):
        status, _out, err = run_demo(capsys, db_url, tmp_path, "--sde", str(sde))
    assert status == 0, err
    detected = [
        r.getMessage() for r in caplog.records if "detected every" in r.getMessage()
    ]
    assert detected == [
        "demo: battles out of date from an earlier change (an import with"
        " --no-detect, or new side rules), detected every battle again"
    ]
    assert not db.fetch_value("SELECT battles_outdated FROM static_data_version")


def test_demo_rejects_path_that_is_not_sde(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not an SDE used to be accepted once the demo was
    loaded. It gets the error 'evedmv sde import' gives for it."""
    status, _, err = run_demo(capsys, db_url, tmp_path)
    assert status == 0, err
    counts = static_counts(db)
    readme = shared_file("README.md")

    status, _, err = run_demo(capsys, db_url, tmp_path, "--sde", str(readme))
    assert status == 2
    assert "unknown SDE format" in err
    assert f"{readme} is neither a zip nor a known CSV file" in err

    status = main(["--dsn", db_url, "sde", "import", str(readme)])
    sde_import = capsys.readouterr()
    assert status == 2
    expected = err.splitlines()[0]
    assert sde_import.err.splitlines()[0] == expected
    assert static_counts(db) == counts


def test_demo_rejects_damaged_sde_zip(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A zip member with a bad CRC-32 ended the demo with a Python traceback."""
    damaged = damaged_sde_zip(tmp_path)

    status, _, err = run_demo(capsys, db_url, tmp_path, "--sde", str(damaged))

    assert status == 2
    assert err.splitlines()[0] == (
        f"evedmv: damaged SDE zip: {damaged}: member categories.jsonl is corrupt"
        " (bad CRC-32)"
    )
    assert "Traceback" not in err
    assert set(static_counts(db).values()) == {0}


def test_demo_sde_variable_only_when_empty(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EVEDMV_SDE replaces the built-in universe on a first run only, so a
    variable set for good does not import the export on every run."""
    monkeypatch.setenv("EVEDMV_SDE", str(shared_file("sde-jsonl.zip")))
    status, out, err = run_demo(capsys, db_url, tmp_path)
    assert status == 0, err
    assert json.loads(out)["static_source"] == "sde"
    status, out, err = run_demo(capsys, db_url, tmp_path)
    assert status == 0, err
    assert json.loads(out)["static_source"] == "existing"
