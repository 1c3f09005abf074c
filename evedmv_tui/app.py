"""The Textual application: screens, global bindings and worker start-up."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from evedmv_tui.config import Settings


class EvedmvApp(App[int]):
    """The evedmv dashboard."""

    TITLE = "evedmv"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("evedmv")
        yield Footer()
