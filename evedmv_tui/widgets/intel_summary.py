"""The summary figures of an entity page."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from evedmv_tui.intel.pages import EntityPage
from evedmv_tui.intel.summary import summary_rows


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
