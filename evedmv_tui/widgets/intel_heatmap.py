"""The activity heatmap: ISO weekday by UTC hour, shaded by count."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Static

from evedmv_tui.intel.heatmap import DAYS, Heatmap, shade_level

# One glyph per tenth of the busiest cell, so the map reads without colour.
SHADES = " ·░░▒▒▓▓██"
MODES = ("all", "kills", "losses")


EMPTY_TEXT = "No activity in this period."


def render_heatmap(
    heatmap: Heatmap, mode: str = "all", cell_width: int = 2, empty: str = EMPTY_TEXT
) -> Text:
    """Return the 7x24 grid as text, one row per weekday, hours across.

    ``empty`` is the line under the grid when the heatmap counts nothing.
    """
    grid = heatmap.grid(kills=mode != "losses", losses=mode != "kills")
    peak = max(max(row) for row in grid)
    text = Text()
    header = "".join(f"{hour:<{cell_width * 3}d}" for hour in range(0, 24, 3)).rstrip()
    text.append(f"    {header}  UTC\n", style="dim")
    for day, row in zip(DAYS, grid, strict=True):
        text.append(f"{day} ", style="bold")
        for count in row:
            text.append(SHADES[shade_level(count, peak)] * cell_width)
        text.append("\n")
    zone = heatmap.timezone()
    counted = {"all": "kills and losses", "kills": "kills", "losses": "losses"}[mode]
    if zone is None:
        text.append(empty)
    else:
        text.append(
            f"{counted}; busiest {zone.window}"
            f" ({zone.share * 100:.0f}% of activity), suggests {zone.label}"
        )
    return text


class HeatmapView(Static, can_focus=True):
    """Kills and losses by weekday and hour; ``m`` cycles all, kills, losses."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "cycle_mode", "Kills/losses", id="heatmap.mode"),
    ]
    DEFAULT_CSS = """
    HeatmapView {
        height: auto;
        padding: 0 1;
    }
    """

    mode: reactive[str] = reactive("all")
    """Events the shading counts: ``all``, ``kills`` or ``losses``."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.heatmap = Heatmap(())
        self.empty_text = EMPTY_TEXT
        """The line under an empty grid."""

    def show(self, heatmap: Heatmap, empty: str = EMPTY_TEXT) -> None:
        """Show ``heatmap``, with ``empty`` under the grid when it counts nothing."""
        self.heatmap = heatmap
        self.empty_text = empty
        self._render_map()

    def watch_mode(self) -> None:
        self._render_map()

    def on_resize(self) -> None:
        self._render_map()

    def action_cycle_mode(self) -> None:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]

    def _render_map(self) -> None:
        # Two columns per hour need 4 + 48 cells; narrower panes get one.
        width = 2 if self.size.width == 0 or self.size.width >= 56 else 1
        self.update(render_heatmap(self.heatmap, self.mode, width, self.empty_text))
