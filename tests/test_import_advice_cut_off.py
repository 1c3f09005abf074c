"""Import advice for a JSON file whose text ends inside a record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

ESI_BODY = "killmails/real/esi_killmail_seb-odessa.json"
SAMPLES = "killmails/real/everef_cluster_samples.jsonl"
CUT_OFF_ADVICE = "so the file is cut off"


def test_cut_json_file_gets_fetch_advice(
    tmp_path: Path,
    db: Database,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A JSON document cut off part way got the advice to leave the file out
    as not a killmail file, not to fetch it again."""
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(shared_file(ESI_BODY).read_bytes()[:1500])

    status = main(["--dsn", db_url, "--offline", "import", str(truncated)])
    out = capsys.readouterr().out

    assert status == 1
    assert "1 rejected" in out
    assert "every record was rejected" not in out
    assert "leave it out" not in out
    assert f"{truncated}: " in out
    assert CUT_OFF_ADVICE in out
    assert "Fetch it again, then import it" in out


def test_cut_last_line_gets_fetch_advice(
    tmp_path: Path,
    db: Database,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """JSON Lines whose last line was cut off got the advice to fix the
    rejected record, which only fetching the file again can do."""
    lines = shared_file(SAMPLES).read_bytes().splitlines()[:3]
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"\n".join(lines)[:-40])

    status = main(["--dsn", db_url, "--offline", "import", "--json", str(cut)])
    summary = json.loads(capsys.readouterr().out)
    main(["--dsn", db_url, "--offline", "import", str(cut)])
    out = capsys.readouterr().out

    assert status == 1
    (item,) = summary["files"]
    assert item["rejected"] == 1
    assert item["cut_off"] == 1
    assert "Fix the rejected records" not in out
    assert CUT_OFF_ADVICE in out


def test_cut_and_invalid_records_both_advised(
    tmp_path: Path,
    db: Database,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cut-off file with another invalid record still gets the advice to
    fix that record, besides the advice to fetch the file again."""
    lines = shared_file(SAMPLES).read_bytes().splitlines()[:3]
    cut = tmp_path / "mixed.jsonl"
    cut.write_bytes(b"\n".join([lines[0], b'{"killmail_id": "x"}', *lines[1:]])[:-40])

    status = main(["--dsn", db_url, "--offline", "import", str(cut)])
    out = capsys.readouterr().out

    assert status == 1
    assert "2 records rejected" in out
    assert "Fix the rejected records" in out
    assert CUT_OFF_ADVICE in out


@pytest.mark.parametrize(
    "ending", [b", ", b"", b",\n  "], ids=["comma", "no-bracket", "comma-newline"]
)
def test_array_without_closing_bracket_rejected(
    tmp_path: Path,
    db: Database,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    ending: bytes,
) -> None:
    """A JSON array cut between two elements, or missing only its closing
    bracket, imported as complete: no reject, exit 0, and the records after
    the cut dropped without a word."""
    lines = shared_file(SAMPLES).read_bytes().splitlines()[:3]
    cut = tmp_path / "cut.json"
    cut.write_bytes(b"[" + b", ".join(lines) + ending)

    status = main(["--dsn", db_url, "--offline", "import", "--json", str(cut)])
    summary = json.loads(capsys.readouterr().out)
    with db.connection() as conn:
        rejects = conn.execute("SELECT position, reason FROM rejects").fetchall()

    assert status == 1
    assert summary["inserted"] == 3
    (item,) = summary["files"]
    assert item["damaged"] is True
    assert item["rejected"] == 1
    (reject,) = rejects
    assert reject[0] == f"byte {cut.stat().st_size}"
    assert "without its closing ']'" in reject[1]
    assert "fetch it again" in reject[1]
