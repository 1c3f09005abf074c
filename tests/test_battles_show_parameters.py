"""``battles detect --show-parameters`` with options that detect battles."""

from __future__ import annotations

import json

import pytest

from evedmv_tui.battles.parameters import load_parameters
from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.test_battle_moves import uneven

__all__ = ["uneven"]


@pytest.mark.parametrize(
    "options",
    [
        ["--set", "quiet_minutes=20"],
        ["--set", "quiet_minutes=20", "--json"],
        ["--rebuild"],
        ["--rebuild", "--json"],
    ],
)
def test_show_parameters_with_detection_rejected(
    options: list[str],
    uneven: str,
    db: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = load_parameters(db)
    capsys.readouterr()

    status = main(["--dsn", uneven, "battles", "detect", "--show-parameters", *options])

    assert status == 2
    out, err = capsys.readouterr()
    assert "conflicting options" in err
    assert options[0] in err
    if "--json" in options:
        document = json.loads(out)
        assert document["error"] == "conflicting options"
        assert document["exit_status"] == 2
    else:
        assert out == ""
    assert load_parameters(db) == before
