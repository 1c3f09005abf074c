"""Errors of commands run with ``--json`` also come as JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.cli import main


def test_import_missing_path_json_error(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script reading 'import --json' got nothing on stdout when a path
    was missing, only text on stderr."""
    missing = tmp_path / "missing.jsonl"
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]

    status = main([*base, "import", "--offline", "--json", str(missing)])

    assert status == 2
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["error"] == "input not found"
    assert document["message"] == f"{missing} is not a file or folder"
    assert document["hint"] == "check the path, or list the folder's files"
    assert document["exit_status"] == 2
    assert f"evedmv: input not found: {missing}" in captured.err


def test_rejects_list_unknown_import_json_error(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]

    status = main([*base, "rejects", "list", "--json", "--import", "999999"])

    assert status == 2
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["error"] == "import not found"


def test_config_error_before_command_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error raised before the command runs is JSON too."""
    config = tmp_path / "absent.toml"

    status = main(["--config", str(config), "battles", "list", "--json"])

    assert status == 2
    document = json.loads(capsys.readouterr().out)
    assert document["error"] == "config file not found"
    assert document["hint"] == "give the path of a TOML file, or leave --config out"


def test_error_without_json_leaves_stdout_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "absent.toml"

    assert main(["--config", str(config), "battles", "list"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "evedmv: config file not found" in captured.err


@pytest.mark.parametrize(
    ("argv", "prog", "message"),
    [
        (
            ["battles", "list", "--json", "--bogus"],
            "evedmv",
            "unrecognized arguments: --bogus",
        ),
        (
            ["battles", "list", "--limit", "-1", "--json"],
            "evedmv battles list",
            "argument --limit: invalid value '-1'",
        ),
        (
            ["battles", "list", "--json", "--since"],
            "evedmv battles list",
            "argument --since: expected one argument",
        ),
        (
            ["battles", "show", "--format", "json", "0"],
            "evedmv battles show",
            "argument battle_id: invalid value '0'",
        ),
        (
            ["battles", "show", "--format=json", "--recipe"],
            "evedmv battles show",
            "argument --recipe: expected one argument",
        ),
    ],
)
def test_argument_error_json(
    argv: list[str], prog: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An argument that argparse rejected printed only the usage, so a
    script reading the command's JSON got nothing on stdout."""
    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("usage: ")
    assert f"{prog}: error: {message}" in captured.err
    lines = captured.out.splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    assert document["error"] == "invalid arguments"
    assert document["message"].startswith(f"{prog}: {message}")
    assert document["hint"] == f"see '{prog} --help'"
    assert document["exit_status"] == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["battles", "list", "--bogus"],
        ["battles", "show", "--format", "text", "0"],
        ["battles", "show", "--recipe", "--", "--json"],
    ],
)
def test_argument_error_without_json_stdout_empty(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error: " in captured.err
