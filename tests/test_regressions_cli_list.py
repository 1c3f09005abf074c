"""The list of ``evedmv baseline show``: each key with its statement text."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from evedmv_tui.monitor.regressions import AlertService
from evedmv_tui.monitor.samples import Sample
from tests.test_regressions_cli import baselines_of, run, state_dir

__all__ = ["state_dir"]

LONG = "statement:ad3a4b31e3358849:mean_ms"
SHORT = "statement:00aa00aa00aa00aa:mean_ms"
LONG_TEXT = (
    "select count(*) from t7work\n  where owner_id = $1 and state = any($2)"
    " and updated_at > now() - interval '1 day' order by updated_at desc"
)
SHORT_TEXT = "SELECT 1"


def record(state: Path) -> None:
    """Write 30 polls of two statements, one with a long multi-line text."""

    async def write() -> None:
        service = await AlertService.open(baselines_of(state))
        at = time.time() - 100.0
        for _ in range(30):
            at += 2.0
            await service.observe(
                [
                    Sample(LONG, 10.0, at, 2.0, True, LONG_TEXT),
                    Sample(SHORT, 3.0, at, 2.0, True, SHORT_TEXT),
                    Sample("database:tps", 50.0, at, 2.0),
                ]
            )
        await service.close()

    asyncio.run(write())


def test_list_shows_statement_text(
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The list showed keys by fingerprint only, so an operator could not
    tell which of about 240 statements a key was without asking for each."""
    monkeypatch.setenv("COLUMNS", "120")
    record(state_dir)
    status, out, _ = run(capsys, "baseline", "show")
    assert status == 0
    header, *rows = out.splitlines()
    assert header.endswith("STATEMENT OR LABEL")
    by_key = {
        key: line
        for key in (LONG, SHORT, "database:tps")
        for line in rows
        if f" {key} " in line
    }
    assert by_key[SHORT].endswith(f"  {SHORT_TEXT}")
    assert by_key["database:tps"].endswith("  -")
    long_line = by_key[LONG]
    assert len(long_line) == 120
    assert long_line.endswith("…")
    shown = long_line.split(f"{LONG}  ", 1)[1].lstrip().removesuffix("…")
    assert " ".join(LONG_TEXT.split()).startswith(shown)
    # The key column lines up whatever the length of the key.
    assert (
        len({line.index("  statement") for line in (by_key[LONG], by_key[SHORT])}) == 1
    )

    status, out, _ = run(capsys, "baseline", "show", "--json")
    labels = {b["key"]: b["label"] for b in json.loads(out)["baselines"]}
    assert labels[LONG] == LONG_TEXT


def test_narrow_terminal_keeps_some_text(
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    record(state_dir)
    _, out, _ = run(capsys, "baseline", "show")
    [line] = [line for line in out.splitlines() if LONG in line]
    shown = line.split(f"{LONG}  ", 1)[1]
    assert len(shown) == 24
    assert shown.endswith("…")
