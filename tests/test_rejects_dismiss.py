"""``evedmv rejects dismiss``: rejects that importing cannot resolve."""

from __future__ import annotations

import bz2
import json
from pathlib import Path
from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.ingest.rejects import count_rejects, list_rejects
from evedmv_tui.queries.overview import load_overview
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from tests.test_rejects_resolved import broken, killmail, package, write
from tests.test_rejects_screen import open_rejects, text_of

__all__ = ["killmail", "package"]


@pytest.fixture
def base(db_url: str, tmp_path: Path) -> list[str]:
    return ["--dsn", db_url, "--data-dir", str(tmp_path)]


def import_renamed(
    killmail: dict[str, Any], base: list[str], tmp_path: Path
) -> tuple[Path, Path]:
    """Import JSON Lines named as a bzip2 archive, then under its new name."""
    misnamed = write(tmp_path / "notbz.tar.bz2", killmail)
    assert main([*base, "import", "--offline", str(misnamed)]) == 1
    renamed = misnamed.rename(tmp_path / "notbz.json")
    assert main([*base, "import", "--offline", str(renamed)]) == 0
    return misnamed, renamed


def test_renamed_file_reject_stays_until_dismissed(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The reject of a misnamed file stayed unresolved after its renamed
    copy was stored, with no way to mark it as dealt with."""
    misnamed, _ = import_renamed(killmail, base, tmp_path)
    [reject] = list_rejects(db)
    assert reject.source_file == str(misnamed)
    assert reject.killmail_id is None
    assert load_overview(db).rejects == 1
    capsys.readouterr()

    assert main([*base, "rejects", "dismiss", str(reject.reject_id)]) == 0
    dismissed = capsys.readouterr().out
    assert main([*base, "rejects", "list"]) == 0
    listed = capsys.readouterr().out
    assert main([*base, "rejects", "list", "--all"]) == 0
    everything = capsys.readouterr().out
    assert main([*base, "rejects", "list", "--all", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert dismissed == "dismissed 1 reject\n"
    assert "no unresolved rejects" in listed
    assert "or the reject was dismissed; use --all" in listed
    assert f"reject {reject.reject_id} (import {reject.import_id}, dismissed 2" in (
        everything
    )
    assert " UTC): " in everything
    assert [row["resolved"] for row in rows] == [True]
    assert rows[0]["dismissed_at"] is not None
    assert rows[0]["raw"] == reject.raw
    assert load_overview(db).rejects == 0
    counts = count_rejects(db)
    assert (counts.total, counts.resolved) == (1, 1)


def test_dismiss_unknown_ids_changes_nothing(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(tmp_path / "kills.jsonl", broken(killmail))
    assert main([*base, "import", "--offline", str(path)]) == 1
    [reject] = list_rejects(db)
    capsys.readouterr()

    code = main(
        [*base, "rejects", "dismiss", str(reject.reject_id), "999999", "999998"]
    )
    error = capsys.readouterr().err

    assert code == 2
    assert "no rejects with the ids 999998, 999999 are stored" in error
    assert "none was dismissed" in error
    assert list_rejects(db)[0].dismissed_at is None
    assert load_overview(db).rejects == 1


def test_dismiss_import_dismisses_all(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "kills.jsonl"
    path.write_text(
        json.dumps(broken(killmail))
        + "\n"
        + json.dumps({**broken(killmail), "killmail_id": 7})
        + "\n",
        encoding="utf-8",
    )
    other = write(tmp_path / "other.jsonl", {**broken(killmail), "killmail_id": 8})
    assert main([*base, "import", "--offline", str(path)]) == 1
    assert main([*base, "import", "--offline", str(other)]) == 1
    first = max(row.import_id or 0 for row in list_rejects(db) if row.killmail_id == 7)
    capsys.readouterr()

    assert main([*base, "rejects", "dismiss", "--import", str(first)]) == 0
    output = capsys.readouterr().out
    assert main([*base, "rejects", "dismiss", "--import", str(first)]) == 0
    again = capsys.readouterr().out

    assert output == f"dismissed 2 rejects of import {first}\n"
    assert again == (
        f"dismissed 0 rejects of import {first} (2 dismissed before kept that time)\n"
    )
    assert [row.killmail_id for row in list_rejects(db)] == [8]
    assert load_overview(db).rejects == 1


def test_dismiss_unknown_import_fails(
    db: Database, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*base, "rejects", "dismiss", "--import", "424242"])

    assert code == 2
    assert "no import with the id 424242 is recorded" in capsys.readouterr().err


def test_dismiss_needs_ids_or_import(
    db: Database, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """With neither ids nor --import given, the error ended in "not both"."""
    code = main([*base, "rejects", "dismiss"])
    neither = capsys.readouterr().err
    both_code = main([*base, "rejects", "dismiss", "1", "--import", "1"])
    both = capsys.readouterr().err

    assert code == 2
    assert "needs reject ids or --import N, and neither was given" in neither
    assert "not both" not in neither
    assert "hint: give the ids that 'evedmv rejects list' prints" in neither
    assert both_code == 2
    assert "takes reject ids or --import N, not both" in both


def test_rejected_again_after_dismissal(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
) -> None:
    """A record rejected again after its reject was dismissed is unresolved."""
    path = write(tmp_path / "kills.jsonl", broken(killmail))
    assert main([*base, "import", "--offline", str(path)]) == 1
    [reject] = list_rejects(db)
    assert main([*base, "rejects", "dismiss", str(reject.reject_id)]) == 0
    assert load_overview(db).rejects == 0

    assert main([*base, "import", "--offline", str(path)]) == 1

    [again] = list_rejects(db)
    assert again.reject_id == reject.reject_id
    assert again.dismissed_at is None
    assert again.resolved is False
    assert load_overview(db).rejects == 1


async def test_rejects_screen_hides_dismissed(
    settings: Settings,
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
) -> None:
    import_renamed(killmail, base, tmp_path)
    [reject] = list_rejects(db)
    assert main([*base, "rejects", "dismiss", str(reject.reject_id)]) == 0

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rejects(app, pilot)
        summary = text_of(screen, "#rejects-summary")
        rows = screen.query_one(KeyedTable).row_count

    assert summary.startswith("No unresolved rejects. 1 resolved")
    assert "or dismissed" in summary
    assert rows == 0


def test_misnamed_advice_names_dismiss(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The advice to rename a misnamed file did not mention its reject,
    which the renamed copy cannot resolve."""
    misnamed = write(tmp_path / "notbz.tar.bz2", killmail)
    assert main([*base, "import", "--offline", str(misnamed)]) == 1
    [reject] = list_rejects(db)

    advice = capsys.readouterr().out

    assert "rename it to notbz.json and import it again" in advice
    assert (
        f"{misnamed}: a copy imported under a new name (renamed or converted)"
        " leaves its reject unresolved; once the copy is stored, dismiss it with"
        f" 'evedmv rejects dismiss --import {reject.import_id}'\n"
    ) in advice


def test_dismiss_advice_with_other_rejects(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With invalid records beside the misnamed file, the advice names the
    ids to dismiss rather than every reject of the import."""
    misnamed = write(tmp_path / "notbz.tar.bz2", killmail)
    bad = write(tmp_path / "bad.jsonl", broken(killmail))
    assert main([*base, "import", "--offline", str(misnamed), str(bad)]) == 1
    import_id = list_rejects(db)[0].import_id

    advice = capsys.readouterr().out

    assert (
        "dismiss it with 'evedmv rejects dismiss ID', taking its id from"
        f" 'evedmv rejects list --import {import_id}'\n"
    ) in advice
    assert f"'evedmv rejects dismiss --import {import_id}'" not in advice


def test_damaged_advice_names_no_dismiss(
    db: Database,
    killmail: dict[str, Any],
    base: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cut archive fetched again resolves its reject, so its advice needs
    no dismissal."""
    data = bz2.compress((json.dumps(killmail) + "\n").encode())
    path = tmp_path / "cut.jsonl.bz2"
    path.write_bytes(data[: len(data) // 2])
    assert main([*base, "import", "--offline", str(path)]) == 1

    advice = capsys.readouterr().out

    assert "Fetch it again" in advice
    assert "rejects dismiss" not in advice
