"""A baseline file the dashboard cannot use: the messages of the dashboard
and of the commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.store.baselines import open_store
from tests.test_regressions_cli import baselines_of, run, state_dir

__all__ = ["state_dir"]


async def test_file_in_place_of_folder_named(tmp_path: Path) -> None:
    """A file named 'baselines' gave "cannot create ... (File exists)", with
    no fix and no word that alerts are not saved."""
    blocker = tmp_path / "baselines"
    blocker.write_text("a file where the baselines folder should be")
    store = await open_store(blocker / "target.sqlite3")
    try:
        status = store.status
    finally:
        await store.close()
    assert status.message == (
        f"cannot create {blocker} ({blocker} is a file, where the folder of"
        " target.sqlite3 should be); baselines and alerts are kept in memory"
        " only, not saved"
    )
    assert status.hint == (
        f"remove or rename the file {blocker}, or set EVEDMV_STATE_DIR to"
        " another folder"
    )
    assert status.text == f"{status.message}. Hint: {status.hint}"


async def test_folder_in_place_of_file_named(tmp_path: Path) -> None:
    path = tmp_path / "target.sqlite3"
    path.mkdir()
    store = await open_store(path)
    try:
        status = store.status
    finally:
        await store.close()
    assert status.message.endswith(
        "baselines and alerts are kept in memory only, not saved"
    )
    assert status.hint.startswith(f"remove or rename the folder {path}")


def test_command_does_not_promise_the_file(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """'evedmv regressions' printed "the dashboard creates it" and exited 0
    where a file stood in the way of the folder, so nothing could create it."""
    state_dir.mkdir()
    blocker = state_dir / "baselines"
    blocker.write_text("a file where the baselines folder should be")
    path = baselines_of(state_dir)
    expected = (
        f"{blocker} is a file, where the folder of {path.name} should be, so"
        f" the dashboard cannot create {path}"
    )
    for argv in (("regressions",), ("baseline", "show")):
        status, out, err = run(capsys, *argv)
        assert status == 2
        assert out == ""
        assert expected in err
        assert f"remove or rename the file {blocker}, or set EVEDMV_STATE_DIR" in err
    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 2
    document = json.loads(out)
    assert document["error"] == "cannot create the baseline file"
    assert expected in document["message"]
