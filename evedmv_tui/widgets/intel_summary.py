"""The summary figures of an entity page."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from evedmv_tui.intel.pages import EntityPage
from evedmv_tui.widgets.text import format_count, format_isk


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def summary_rows(page: EntityPage) -> list[tuple[str, str, str, str]]:
    """Return the summary as (label, value, label, value) rows."""
    s = page.summary
    gang = "-" if s.average_gang_size is None else f"{s.average_gang_size:.1f}"
    return [
        ("Kills", format_count(s.kills), "Losses", format_count(s.losses)),
        (
            "ISK destroyed",
            format_isk(s.isk_destroyed),
            "ISK lost",
            format_isk(s.isk_lost),
        ),
        (
            "ISK efficiency",
            _percent(s.isk_efficiency),
            "Danger",
            _percent(s.danger_ratio),
        ),
        ("Solo", _percent(s.solo_ratio), "Gang", _percent(s.gang_ratio)),
        ("Avg gang size", gang, "Solo kills", format_count(s.solo_kills)),
    ]


class SummaryPanel(Static):
    """Kills, losses, ISK and the ratios docs/intel.md defines, in two columns."""

    DEFAULT_CSS = """
    SummaryPanel {
        height: auto;
        padding: 0 1;
    }
    """

    def show(self, page: EntityPage) -> None:
        text = Text()
        for left, left_value, right, right_value in summary_rows(page):
            text.append(f"{left:<15}", style="bold")
            text.append(f"{left_value:>10}    ")
            text.append(f"{right:<11}", style="bold")
            text.append(f"{right_value:>10}\n")
        text.rstrip()
        self.update(text)
