"""The timeline of a battle whose kills span seconds, not minutes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from rich.text import Text

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.report import KillRow, list_battles, load_report
from evedmv_tui.config import Settings
from evedmv_tui.screens.battle_report import _short_timeline
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.plot import SeriesPlot
from tests.test_battle_fixtures import brawl, fleet, insert_kills, insert_static
from tests.test_battle_screens import open_report

KILLS = 42
EVERY_SECONDS = 0.3
"""Seconds between kills: the 42 kills span 12.3 s."""


@pytest.fixture
def short_battle(db: Database) -> int:
    """Detect one battle of 42 kills in 12 s and return its id."""
    insert_static(db)
    side_a = fleet(8, 98_000_501, 99_000_501)
    side_b = fleet(8, 98_000_503, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=KILLS, every=EVERY_SECONDS / 60))
    detect_all(db)
    (battle,) = list_battles(db)
    assert battle.kills == KILLS
    return battle.battle_id


def axis_line(plot: SeriesPlot) -> str:
    """Return the plot's last line: the x axis tick labels."""
    rendered = plot.render()
    assert isinstance(rendered, Text)
    return rendered.plain.splitlines()[-1]


async def test_short_battle_plotted_per_second(
    short_battle: int, db: Database, settings: Settings
) -> None:
    """A battle of 12 s was one point of one minute on an axis from -1 to
    1; its kills are now counted per second on an axis from 0."""
    report = load_report(db, short_battle)
    timeline = report.metrics["timeline"]
    assert timeline["minutes"] == 1
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, short_battle)
        await pilot.press("3")
        await pilot.pause()
        plot = screen.query_one(SeriesPlot)
        assert plot.plot_title == "Kills per second, by losing side"
        assert plot.x_label == "s"
        assert set(plot.series) == {f"side {n}" for n in timeline["kills"]}
        for side, counts in timeline["kills"].items():
            points = list(plot.series[f"side {side}"])
            assert [x for x, _ in points] == list(range(13))
            assert sum(y for _, y in points) == sum(counts)
            assert max(y for _, y in points) < sum(counts)
        ticks = axis_line(plot).split()
        assert ticks[0] == "0"
        assert float(ticks[-1]) >= 10
        assert not [tick for tick in ticks if tick.startswith("-")]

        await pilot.press("i")
        await pilot.pause()
        assert plot.plot_title == "ISK lost per second (millions), by losing side"
        for side, values in timeline["isk"].items():
            points = list(plot.series[f"side {side}"])
            assert len(points) == 13
            total = sum(y for _, y in points)
            assert total == pytest.approx(sum(values) / 1e6)
        assert axis_line(plot).split()[0] == "0"


def test_short_timeline_steps_with_span(db: Database) -> None:
    """Points count 1 s up to 60 s of kills, then 2 s and 5 s; from 5
    minutes on the timeline stays per minute."""
    insert_static(db)
    side_a = fleet(4, 98_000_501, 99_000_501)
    side_b = fleet(4, 98_000_503, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=12))
    detect_all(db)
    (battle,) = list_battles(db)
    report = load_report(db, battle.battle_id)
    first = report.killmails[0].killmail_time
    cases = [(12, 1, 13), (60, 1, 61), (61, 2, 31), (120, 2, 61), (299, 5, 60)]
    for span, step, buckets in cases:
        stretched = stretch(report.killmails, first, span)
        short = _short_timeline(
            dataclasses.replace(report, killmails=stretched), "kills"
        )
        assert short is not None, span
        assert short[0] == step, span
        assert {len(values) for values in short[1].values()} == {buckets}, span
        assert sum(sum(v) for v in short[1].values()) == len(stretched), span
    for span in (300, 900):
        stretched = stretch(report.killmails, first, span)
        replaced = dataclasses.replace(report, killmails=stretched)
        assert _short_timeline(replaced, "kills") is None, span


def stretch(kills: list[KillRow], first: dt.datetime, span: float) -> list[KillRow]:
    """Spread ``kills`` evenly over ``span`` seconds from ``first``."""
    gap = span / (len(kills) - 1)
    return [
        dataclasses.replace(kill, killmail_time=first + dt.timedelta(seconds=i * gap))
        for i, kill in enumerate(kills)
    ]
