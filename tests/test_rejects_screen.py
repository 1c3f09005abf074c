"""The Rejected records screen, on rejects a real import stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.commands.ingest import describe_reject as cli_line
from evedmv_tui.config import Settings
from evedmv_tui.ingest.rejects import RejectRow
from evedmv_tui.screens import DatabaseConnected
from evedmv_tui.screens.rejects import (
    RejectsScreen,
    clip_start,
    describe_reject,
    reject_cells,
)
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.status import DATABASE_UNAVAILABLE
from evedmv_tui.widgets.table import KeyedTable
from tests.test_app import until, wait_connected


async def open_rejects(app: EvedmvApp, pilot: object) -> RejectsScreen:
    await wait_connected(app, pilot)
    app.open_screen("rejects")
    await until(pilot, lambda: isinstance(app.screen, RejectsScreen))
    screen = app.screen
    assert isinstance(screen, RejectsScreen)
    await until(pilot, lambda: screen.rejects is not None)
    return screen


def text_of(screen: RejectsScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_rejects_list_and_detail(
    settings: Settings, db: Database, db_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"killmail_id": 5, "x": 1}\n'
        '{"killmail_id": 6, "killmail_time": "2025-01-01T00:00:00Z",'
        ' "solar_system_id": 30000142, "victim": {}, "attackers": 5}\n'
    )
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    assert main([*base, "import", "--offline", str(bad)]) == 1
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rejects(app, pilot)
        assert (
            text_of(screen, "#rejects-summary") == "2 rejected records, newest first."
        )
        table = screen.query_one(KeyedTable)
        assert table.row_count == 2
        assert app.focused is table
        first = text_of(screen, "#rejects-detail-text")
        assert first.startswith("File: ")
        assert "bad.jsonl" in first
        assert "line 2 | killmail 6 | field " in first
        await pilot.press("down")
        second = text_of(screen, "#rejects-detail-text")
        assert "line 1 | killmail 5" in second
        assert '"x": 1' in second


async def test_empty_rejects_list(settings: Settings, db: Database) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rejects(app, pilot)
        assert text_of(screen, "#rejects-summary").startswith("No rejected records")
        assert screen.query_one(KeyedTable).row_count == 0
        assert text_of(screen, "#rejects-detail-text") == ""


def test_long_path_keeps_its_file_name() -> None:
    path = "/srv/imports/" + "x" * 80 + "/killmails-2025-01-01.tar.bz2"
    clipped = clip_start(path, 50)
    assert len(clipped) == 50
    assert clipped.startswith("\N{HORIZONTAL ELLIPSIS}")
    assert clipped.endswith("/killmails-2025-01-01.tar.bz2")
    assert clip_start("short", 50) == "short"


def test_time_column_is_utc() -> None:
    """A server in another time zone returns local times; the column shows UTC."""
    berlin = dt.timezone(dt.timedelta(hours=1))
    row = RejectRow(
        1,
        2,
        dt.datetime(2025, 1, 1, 1, 30, tzinfo=berlin),
        "f.jsonl",
        "line 1",
        None,
        None,
        "bad",
        "{}",
    )
    assert reject_cells(row)[0] == "01-01 00:30"


async def test_opened_while_disconnected_says_so(
    settings: Settings, db: Database
) -> None:
    """Opened without a connection, the summary read "Loading..." until the
    database came back."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        connected = app.db
        assert connected is not None
        app.db = None
        app.open_screen("rejects")
        await until(pilot, lambda: isinstance(app.screen, RejectsScreen))
        screen = app.screen
        assert isinstance(screen, RejectsScreen)
        await pilot.pause()
        summary = screen.query_one("#rejects-summary", Static)
        assert str(summary.render()) == DATABASE_UNAVAILABLE
        # The sentence wraps at 80 columns instead of being cut.
        assert summary.size.height == 2

        app.db = connected
        screen.post_message(DatabaseConnected())
        await until(pilot, lambda: screen.rejects is not None)
        assert text_of(screen, "#rejects-summary").startswith("No rejected records")


async def test_long_reason_shown_whole(
    settings: Settings, db: Database, db_url: str, tmp_path: Path
) -> None:
    """The reason was cut after 150 characters, before the advice at its end;
    the table's reason column ran past the edge without an ellipsis."""
    fake = tmp_path / "fake.json.gz"
    fake.write_text('{"killmail_id": 5}\n')
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    main([*base, "import", "--offline", str(fake)])
    reason = db.fetch_value("SELECT reason FROM rejects")
    assert isinstance(reason, str)
    assert len(reason) > 150
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rejects(app, pilot)
        detail = text_of(screen, "#rejects-detail-text")
        assert " ".join(reason.split()) in " ".join(detail.split())
        table = screen.query_one(KeyedTable)
        cell = str(table.get_row_at(0)[-1])
        assert cell.endswith("\N{HORIZONTAL ELLIPSIS}")
        assert table.virtual_size.width <= table.size.width
        await pilot.press("tab")
        assert app.focused is screen.query_one("#rejects-detail")


async def test_reason_takes_width_left(
    settings: Settings, db: Database, db_url: str, tmp_path: Path
) -> None:
    """The reason column takes the width the other columns leave.

    It was cut to leave room for the widest possible file, position and
    field, so 18 of 80 columns stayed empty. The field also showed as
    ``$.attackers`` where 'evedmv rejects list' prints "field attackers"."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"killmail_id": 6, "killmail_time": "2025-01-01T00:00:00Z",'
        ' "solar_system_id": 30000142,'
        ' "victim": {"ship_type_id": 670, "damage_taken": 1}, "attackers": 5}\n'
    )
    base = ["--dsn", db_url, "--data-dir", str(tmp_path)]
    assert main([*base, "import", "--offline", str(bad)]) == 1
    app = EvedmvApp(settings)
    async with app.run_test(size=(120, 24)) as pilot:
        screen = await open_rejects(app, pilot)
        table = screen.query_one(KeyedTable)
        assert table.virtual_size.width <= table.size.width

        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: table.size.width == 80)
        await until(pilot, lambda: table.virtual_size.width <= table.size.width)
        # Two columns stay free for the vertical scroll bar.
        assert table.size.width - table.virtual_size.width == 2
        cells = [str(cell) for cell in table.get_row_at(0)]
        assert cells[3] == "attackers"
        assert cells[4].startswith("attackers is an integer (5)")
        assert cells[4].endswith("\N{HORIZONTAL ELLIPSIS}")
        detail = text_of(screen, "#rejects-detail-text")
        assert "line 1 | killmail 6 | field attackers" in detail
        assert "$." not in detail


def test_field_labels_match_cli() -> None:
    """The screen names fields as 'evedmv rejects list' does."""
    row = RejectRow(
        1,
        2,
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        "f.jsonl",
        "line 1",
        5,
        "$",
        "bad",
        "{}",
    )
    assert reject_cells(row)[3] == "whole record"
    nested = dataclasses.replace(row, field="$.victim.ship_type_id")
    assert reject_cells(nested)[3] == "victim.ship_t\N{HORIZONTAL ELLIPSIS}"
    assert "field victim.ship_type_id" in describe_reject(nested)
    assert "field victim.ship_type_id" in cli_line(nested)
    assert "whole record" in describe_reject(row)
    assert "whole record" in cli_line(row)


def test_feed_reject_names_its_source() -> None:
    """A reject of the R2Z2 follower, which has no import either, was labelled
    as coming from a price file."""
    row = RejectRow(
        1,
        None,
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        "<r2z2>",
        "sequence 1203",
        97089618,
        "$.killmail_id",
        "bad",
        "{}",
    )
    prices = dataclasses.replace(row, source_file="/data/prices.json")
    esi = dataclasses.replace(row, source_file="<esi>")

    assert "(imports: none (the R2Z2 feed))" in describe_reject(row)
    assert "price file" not in describe_reject(row)
    assert "(imports: none (an ESI fetch))" in describe_reject(esi)
    assert "(imports: none (a price file))" in describe_reject(prices)
