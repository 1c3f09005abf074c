"""Messages, JSON output and recipe files of the ``evedmv battles`` commands."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from evedmv_tui.battles.recipe import read_recipe
from evedmv_tui.cli import main
from evedmv_tui.commands.arguments import parse_time
from evedmv_tui.screens.battles import describe_filter, parse_filter
from tests.test_battle_fixtures import JITA
from tests.test_battles_commands import fought

__all__ = ["fought"]


def test_parse_time_converts_offset_to_utc() -> None:
    moment = parse_time("2030-01-01T00:00+05:00")
    assert moment.utcoffset() == dt.timedelta(0)
    assert moment == dt.datetime(2029, 12, 31, 19, tzinfo=dt.UTC)


def test_filter_with_offset_echoed_in_utc() -> None:
    """The summary showed since=2021-11-29T23:00 for a time given at +05:00,
    and typing that text back selected other battles."""
    typed = parse_filter("since=2021-11-29T23:00+05:00 until=2021-11-30T02:00Z")
    shown = describe_filter(typed)
    assert shown == "since=2021-11-29T18:00Z until=2021-11-30T02:00Z"
    assert parse_filter(shown) == typed


def test_filter_range_error_in_utc() -> None:
    with pytest.raises(ValueError) as caught:
        parse_filter("since=2021-11-30T05:00+05:00 until=2021-11-29T23:00")
    assert str(caught.value) == (
        "since=2021-11-30T00:00Z is not before until=2021-11-29T23:00Z"
    )


def test_list_since_offset_echoed_in_utc(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["--dsn", fought, "battles", "list", "--since", "2030-01-01T00:00+05:00"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("no battles since 2029-12-31 19:00 UTC;")


def test_list_empty_range_in_utc(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["--dsn", fought, "battles", "list", "--since", "2025-01-02T03:00+05:00"]
    assert main([*args, "--until", "2025-01-01T20:00-02:00"]) == 2
    err = capsys.readouterr().err
    assert "--since 2025-01-01T22:00Z is not before --until 2025-01-01T22:00Z" in err


def test_recipe_times_read_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "recipe.json"
    path.write_text(
        json.dumps(
            {
                "systems": [JITA],
                "start": "2021-11-28T00:00+05:00",
                "end": "2021-11-28T01:00+05:00",
            }
        )
    )
    recipe = read_recipe(path)
    assert recipe.start.utcoffset() == dt.timedelta(0)
    assert recipe.start == dt.datetime(2021, 11, 27, 19, tzinfo=dt.UTC)
