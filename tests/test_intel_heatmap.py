"""The plain-text heatmap of ``evedmv corp|alliance|character show``."""

from __future__ import annotations

import io

from evedmv_tui.commands.intel import write_heatmap
from evedmv_tui.intel.heatmap import DAYS, Heatmap, HeatmapCell, shade_level
from evedmv_tui.widgets.intel_heatmap import render_heatmap

# Monday 00:00 is the busiest hour with 90 events, so one event is 1/90 of
# the peak and rounds to shade 0 before the non-zero minimum applies.
CELLS = (
    HeatmapCell(dow=1, hour=0, kills=60, losses=30),
    HeatmapCell(dow=1, hour=1, kills=1, losses=0),
    HeatmapCell(dow=2, hour=23, kills=0, losses=3),
    HeatmapCell(dow=3, hour=12, kills=50, losses=0),
    HeatmapCell(dow=7, hour=21, kills=2, losses=0),
)
ROW_PREFIX = len("  Mon ")


def cli_lines(heatmap: Heatmap) -> list[str]:
    out = io.StringIO()
    write_heatmap(heatmap, out)
    return out.getvalue().splitlines()


def cell(lines: list[str], dow: int, hour: int) -> str:
    return lines[dow][ROW_PREFIX + hour]


def test_shade_level_scale() -> None:
    assert shade_level(0, 90) == 0
    assert shade_level(1, 90) == 1
    assert shade_level(3, 90) == 1
    assert shade_level(50, 90) == 5
    assert shade_level(90, 90) == 9
    assert shade_level(0, 0) == 0


def test_heatmap_labels_over_their_hours() -> None:
    lines = cli_lines(Heatmap(CELLS))
    header = lines[0]
    assert header.endswith("  (UTC)")
    for hour in range(0, 24, 3):
        label = str(hour)
        start = ROW_PREFIX + hour
        assert header[start : start + len(label)] == label, hour
        assert header[start - 1] == " ", hour
    for dow, day in enumerate(DAYS, start=1):
        assert lines[dow].startswith(f"  {day} ")
        assert len(lines[dow]) == ROW_PREFIX + 24


def test_heatmap_marks_every_active_hour() -> None:
    lines = cli_lines(Heatmap(CELLS))
    assert cell(lines, 1, 0) == "@"
    assert cell(lines, 3, 12) == "+"
    assert cell(lines, 1, 1) == "."
    assert cell(lines, 2, 23) == "."
    assert cell(lines, 7, 21) == "."
    active = {(c.dow, c.hour) for c in CELLS}
    for dow in range(1, 8):
        for hour in range(24):
            if (dow, hour) not in active:
                assert cell(lines, dow, hour) == " ", (dow, hour)


def test_heatmap_blanks_match_tui() -> None:
    heatmap = Heatmap(CELLS)
    lines = cli_lines(heatmap)
    tui_rows = render_heatmap(heatmap, cell_width=1).plain.splitlines()
    tui_prefix = len("Mon ")
    for dow in range(1, 8):
        for hour in range(24):
            shown_in_tui = tui_rows[dow][tui_prefix + hour] != " "
            shown_in_cli = cell(lines, dow, hour) != " "
            assert shown_in_cli == shown_in_tui, (dow, hour)
