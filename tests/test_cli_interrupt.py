"""Ctrl-C at any point of a command ends it with one line and status 130."""

from __future__ import annotations

from typing import NoReturn

import pytest

from evedmv_tui import cli


def test_interrupt_while_building_parser(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The parser imports every command's module in its first second, and a
    Ctrl-C then ended in a KeyboardInterrupt traceback."""

    def interrupted_build() -> NoReturn:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted_build)

    assert cli.main(["db", "status"]) == 130
    assert capsys.readouterr().err == "evedmv: interrupted\n"
