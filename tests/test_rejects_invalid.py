"""Killmail references whose hash ESI rejected, listed by ``rejects list --invalid``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from evedmv_tui import cli
from evedmv_tui.store.db import Database

HASH_A = "a" * 40
HASH_B = "b" * 40
HASH_C = "c" * 40
MARKED = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)


@pytest.fixture
def base(db_url: str, tmp_path: Path) -> list[str]:
    return ["--dsn", db_url, "--data-dir", str(tmp_path)]


def add_reference(
    db: Database,
    killmail_id: int,
    killmail_hash: str,
    state: str,
    *,
    marked_at: dt.datetime = MARKED,
    attempts: int = 1,
    error: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO killmail_index"
        " (killmail_id, killmail_hash, state, source, attempts, last_error,"
        " updated_at)"
        " VALUES (%s, %s, %s, 'zkb-only', %s, %s, %s)",
        (killmail_id, killmail_hash, state, attempts, error, marked_at),
    )


def add_invalid_references(db: Database) -> None:
    """Store two invalid references, an older and a newer one, and others."""
    add_reference(
        db, 128_000_001, HASH_A, "invalid", error="ESI has no killmail 128000001"
    )
    add_reference(
        db,
        128_000_002,
        HASH_B,
        "invalid",
        marked_at=MARKED + dt.timedelta(hours=1),
        attempts=3,
        error="ESI has no killmail 128000002",
    )
    add_reference(db, 128_000_003, HASH_C, "pending")
    add_reference(db, 128_000_004, HASH_C, "stored")


def run(base: list[str], capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert cli.main([*base, "rejects", "list", *args]) == 0
    return capsys.readouterr().out


def test_invalid_list_text_newest_first(
    db: Database, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    add_invalid_references(db)

    lines = run(base, capsys, "--invalid").splitlines()

    assert lines == [
        f"killmail 128000002 hash {HASH_B}: marked invalid 2026-01-02 04:04 UTC,"
        " source zkb-only, 3 fetch attempts",
        "    ESI has no killmail 128000002",
        f"killmail 128000001 hash {HASH_A}: marked invalid 2026-01-02 03:04 UTC,"
        " source zkb-only, 1 fetch attempt",
        "    ESI has no killmail 128000001",
    ]


def test_invalid_list_json_lines(
    db: Database, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    add_invalid_references(db)

    out = run(base, capsys, "--invalid", "--json")
    rows = [json.loads(line) for line in out.splitlines()]

    assert rows == [
        {
            "killmail_id": 128000002,
            "killmail_hash": HASH_B,
            "source": "zkb-only",
            "attempts": 3,
            "last_error": "ESI has no killmail 128000002",
            "marked_at": "2026-01-02T04:04:00+00:00",
        },
        {
            "killmail_id": 128000001,
            "killmail_hash": HASH_A,
            "source": "zkb-only",
            "attempts": 1,
            "last_error": "ESI has no killmail 128000001",
            "marked_at": "2026-01-02T03:04:00+00:00",
        },
    ]


def test_invalid_list_honours_limit(
    db: Database, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    add_invalid_references(db)

    text = run(base, capsys, "--invalid", "--limit", "1").splitlines()
    rows = run(base, capsys, "--invalid", "--limit", "1", "--json").splitlines()

    assert text[0].startswith("killmail 128000002 ")
    assert len(text) == 3
    assert text[-1] == "(1 of 2 shown; use --limit)"
    assert [json.loads(row)["killmail_id"] for row in rows] == [128000002]


def test_invalid_list_empty(
    db: Database, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    add_reference(db, 128_000_003, HASH_C, "pending")

    assert run(base, capsys, "--invalid") == "no killmail references known invalid\n"
    assert run(base, capsys, "--invalid", "--json") == ""


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--import", "1"], "--import"),
        (["--raw"], "--raw"),
        (["--all", "--raw"], "--raw and --all"),
    ],
    ids=["import", "raw", "all-and-raw"],
)
def test_invalid_list_conflicting_options(
    base: list[str],
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    named: str,
) -> None:
    """References have no import, raw text or resolved state, so the options
    that choose by them are an error instead of being ignored."""
    status = cli.main([*base, "rejects", "list", "--invalid", *options])
    err = capsys.readouterr().err

    assert status == 2
    assert f"so it cannot be combined with {named}" in err


def test_rejects_list_counts_invalid_last(
    db: Database, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """'rejects list' showed nothing of the references ESI rejected, although
    their killmails are missing, so users could not find which they were."""
    db.execute(
        "INSERT INTO rejects (source_file, position, reason, raw)"
        " VALUES ('a.json', '1', 'invalid killmail_time', '{}')"
    )
    without = run(base, capsys)
    add_invalid_references(db)

    lines = run(base, capsys).splitlines()
    rows = run(base, capsys, "--json").splitlines()

    assert "known invalid" not in without
    assert lines[0].startswith("reject ")
    assert lines[-1] == (
        "(2 killmails known invalid: ESI rejected the id and hash before, so no"
        " body is fetched again. A reference with the right hash is fetched as"
        " new; 'evedmv rejects list --invalid' lists them)"
    )
    assert [json.loads(row)["reason"] for row in rows] == ["invalid killmail_time"]


def test_rejects_list_counts_invalid_without_rejects(
    db: Database, base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    add_reference(db, 128_000_001, HASH_A, "invalid")

    lines = run(base, capsys).splitlines()

    assert lines[0] == "no rejected records"
    assert lines[1].startswith("(1 killmail known invalid: ")
    assert lines[1].endswith("'evedmv rejects list --invalid' lists it)")
    assert len(lines) == 2
