"""The help of each command: a description, examples and exit statuses."""

from __future__ import annotations

import argparse

import pytest

from evedmv_tui.cli import build_parser

COMMANDS = [
    ("db",),
    ("db", "start"),
    ("db", "stop"),
    ("db", "status"),
    ("db", "url"),
    ("db", "migrate"),
    ("import",),
    ("rejects",),
    ("rejects", "list"),
    ("repair",),
    ("follow",),
    ("battles",),
    ("battles", "move"),
    ("corp",),
    ("corp", "show"),
    ("alliance", "show"),
    ("character", "show"),
    ("watch",),
    ("watch", "list"),
    ("watch", "add"),
    ("watch", "edit"),
    ("watch", "enable"),
    ("watch", "disable"),
    ("watch", "delete"),
    ("watch", "backfill"),
    ("watch", "matches"),
    ("sde",),
    ("sde", "import"),
    ("sde", "status"),
    ("prices",),
    ("prices", "import"),
    ("generate",),
    ("demo",),
    ("regressions",),
    ("baseline",),
    ("baseline", "show"),
    ("baseline", "reset"),
    ("baseline", "accept"),
    ("performance",),
    ("query-performance",),
    ("memory-analysis",),
    ("config",),
    ("config", "show"),
]


def subparser(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        actions = [
            action
            for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
        ]
        parser = actions[0].choices[name]
    return parser


def help_text(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*path, "--help"])
    return capsys.readouterr().out


def test_main_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    lines = help_text((), capsys).splitlines()
    assert "examples:" in lines
    assert any(line.startswith("  evedmv demo ") for line in lines)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_help_complete(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command describes what it does and shows how it is run."""
    parser = subparser(path)
    text = help_text(path, capsys)

    assert parser.description
    assert parser.description in " ".join(text.split())
    assert parser.epilog is not None
    assert parser.epilog.startswith(("example:", "examples:"))
    for line in parser.epilog.splitlines()[1:]:
        assert line.startswith("  "), line
        assert line in text.splitlines()
    positionals = [
        action
        for action in parser._actions
        if not action.option_strings
        and not isinstance(action, argparse._SubParsersAction)
    ]
    for action in positionals:
        assert action.help, action.dest


@pytest.mark.parametrize(
    "command", ["performance", "query-performance", "memory-analysis"]
)
def test_report_help_gives_exit_status(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = " ".join(help_text((command,), capsys).split())
    assert (
        "Exits with status 0 when all is well, 1 with warnings and 2 with errors"
        in text
    )


def test_memory_help_explains_default_run(capsys: pytest.CaptureFixture[str]) -> None:
    """The help explains why the 2 s default cannot cover the 300 s window."""
    text = " ".join(help_text(("memory-analysis",), capsys).split())
    assert "the default 2 s run reports the memory but judges no leak" in text
    assert "use --interval 300 for that" in text
