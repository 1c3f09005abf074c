"""Incremental search by name or id, and its command palette provider.

Each keystroke starts one search statement in an exclusive thread worker, so
a newer keystroke cancels the wait for an older result. Picking a character,
corporation or alliance opens its page.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from evedmv_tui.intel.search import SEARCH_LIMIT, SearchHit, parse_id, search
from evedmv_tui.names import has_stored_names, unresolved_names_hint
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.screens.watch import FORM_FIELDS
from evedmv_tui.widgets.ordered_input import OrderedInput
from evedmv_tui.widgets.status import StatusState
from evedmv_tui.widgets.text import count_noun

if TYPE_CHECKING:
    from evedmv_tui.app import EvedmvApp
    from evedmv_tui.store.db import Database

KIND_LABELS = {
    "character": "character",
    "corporation": "corporation",
    "alliance": "alliance",
    "solar_system": "system",
}
SYSTEMS_LABEL = next(
    label for field, label, _ in FORM_FIELDS if field == "solar_system_ids"
)
"""Label of the watch profile form's field that takes solar system ids."""
PALETTE_LIMIT = 8
"""Results the command palette shows for one query."""
MAX_SEARCH_LENGTH = 100
"""Characters the search input takes: names have at most 50, ids 19 digits.

Each key runs a search, so without a cap a held key or text sent by a
script runs thousands of ever longer searches and the screen falls behind."""
ENTITY_CATEGORIES = ("character", "corporation", "alliance")
"""The ``names`` categories that search finds by name besides systems."""
NAMES_COMMAND = "evedmv corp|alliance|character show ID"
"""The commands that resolve and store the names on an entity's page."""
DISCONNECTED = "Cannot search while disconnected; the search runs on reconnecting."
"""The status line while the database is down; one line at 80 columns."""


def search_checking_names(db: Database, text: str) -> tuple[list[SearchHit], bool]:
    """Run the search, and tell whether any character, corporation or
    alliance name is stored when a name found nothing.

    The second value is True when hits were found or the text is an id.
    """
    hits = search(db, text)
    if hits or parse_id(text.strip()) is not None:
        return hits, True
    return hits, has_stored_names(db, ENTITY_CATEGORIES)


def describe_no_hits(text: str, *, names_stored: bool, offline: bool) -> str:
    """Return the status line of a search for ``text`` that found nothing.

    Killmails carry ids only, so when names were never requested from ESI
    (offline mode, or none is stored) the line states where names come from.
    """
    if parse_id(text.strip()) is not None or (names_stored and not offline):
        return "Nothing matches."
    missing = "" if names_stored else " No character, corporation or alliance"
    if missing:
        missing += " names are stored."
    hint = unresolved_names_hint(NAMES_COMMAND, offline=offline)
    return f"Nothing matches.{missing} {hint}."


def hit_label(hit: SearchHit) -> Text:
    """Return the option text of a hit: name, kind and id, never markup."""
    text = Text(hit.label, style="bold")
    text.append(f"  {KIND_LABELS.get(hit.kind, hit.kind)} {hit.entity_id}", "dim")
    return text


class SearchScreen(DashboardScreen):
    """Find characters, corporations, alliances and systems as you type."""

    TITLE = "Search"
    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding, so the keys typed with it in one burst wait for
        # the results to take focus (see evedmv_tui.keyhold). check_action
        # hands Down on to the results once they have focus.
        Binding(
            "down",
            "focus_results",
            "Results",
            show=False,
            priority=True,
            id="search.results",
        ),
        # A slash starts no name or id, so it selects the query instead of
        # going into the field, as going back to this screen does.
        Binding(
            "slash",
            "select_query",
            "Search",
            show=False,
            priority=True,
            id="search.select",
        ),
    ]
    DEFAULT_CSS = """
    SearchScreen #search-results {
        height: 1fr;
    }
    SearchScreen #search-status {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.initial_text = text
        self.hits: list[SearchHit] = []
        self.hits_text: str | None = None
        """The text whose search gave ``hits``; None before any search."""
        self.open_pending = False
        """Enter came while the search for the current text was running."""

    def compose_body(self) -> ComposeResult:
        yield OrderedInput(
            value=self.initial_text,
            placeholder="Name or id of a character, corporation, alliance or system",
            max_length=MAX_SEARCH_LENGTH,
            id="search-input",
        )
        yield Static("Type to search.", id="search-status", markup=False)
        yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self.watch(self.app, "status", self._on_status_change, init=False)
        if self.evedmv_app.db is None:
            self._show_disconnected()

    def on_screen_resume(self) -> None:
        """Focus the field with the last query selected, so typing replaces it.

        Going back to this screen (``/`` from a page opened from it) shows the
        last query and its results again.
        """
        self.action_select_query()

    def load_data(self) -> None:
        self._search(self.query_one(Input).value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.evedmv_app.db is not None:
            self._search(event.value)
        else:
            self._show_disconnected()

    def _on_status_change(self, state: StatusState) -> None:
        if state.connection.phase == "disconnected":
            self._show_disconnected()

    def _show_disconnected(self) -> None:
        """Say why typing finds nothing; keep the results of the last search."""
        typed = self.query_one(Input).value.strip()
        status = self.query_one("#search-status", Static)
        status.update(DISCONNECTED if typed else "Type to search.")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Open the first hit, or the first one the running search finds.

        Enter typed right after the query would otherwise act on the
        results of an older, shorter text.
        """
        if self.hits_text != event.value:
            self.open_pending = bool(event.value.strip())
        elif self.hits:
            self._open(self.hits[0])

    def _search(self, text: str) -> None:
        self.open_pending = False
        if not text.strip():
            self.show_hits([], text)
            return
        self.run_query(
            search_checking_names,
            text,
            then=functools.partial(self._show_result, text=text),
            name="intel.search",
        )

    def _show_result(self, result: tuple[list[SearchHit], bool], text: str) -> None:
        hits, names_stored = result
        self.show_hits(hits, text, names_stored=names_stored)

    def show_hits(
        self,
        hits: list[SearchHit],
        text: str | None = None,
        *,
        names_stored: bool = True,
    ) -> None:
        """Show the hits of the search for ``text`` (default: the field's).

        ``names_stored`` is False when no entity name is stored at all.
        """
        field_text = self.query_one(Input).value
        self.hits = hits
        self.hits_text = field_text if text is None else text
        results = self.query_one("#search-results", OptionList)
        results.clear_options()
        results.add_options(
            Option(hit_label(hit), id=f"{hit.kind}:{hit.entity_id}") for hit in hits
        )
        status = self.query_one("#search-status", Static)
        if not self.query_one(Input).value.strip():
            status.update("Type to search.")
        elif not hits:
            status.update(
                describe_no_hits(
                    self.hits_text,
                    names_stored=names_stored,
                    offline=self.evedmv_app.settings.offline,
                )
            )
        else:
            status.update(describe_hits(len(hits)))
        if self.open_pending and self.hits_text == field_text:
            self.open_pending = False
            if hits:
                self._open(hits[0])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(self.hits[event.option_index])

    def action_select_query(self) -> None:
        """Focus the field with the query selected, so typing replaces it."""
        field = self.query_one(Input)
        self.evedmv_app.hold_keys_for(field)
        field.focus()
        field.select_all()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_results":
            return isinstance(self.focused, Input)
        return super().check_action(action, parameters)

    def action_focus_results(self) -> None:
        """Focus the results with the first one highlighted, so Enter opens it."""
        results = self.query_one("#search-results", OptionList)
        if results.highlighted is None and results.option_count:
            results.highlighted = 0
        self.evedmv_app.hold_keys_for(results)
        results.focus()

    def _open(self, hit: SearchHit) -> None:
        open_hit(self.evedmv_app, hit)


def describe_hits(count: int, limit: int = SEARCH_LIMIT) -> str:
    """Return the status line for ``count`` hits of a search capped at ``limit``."""
    if count == 1:
        return "1 match; Enter opens it, Down to pick."
    found = (
        f"First {limit} matches"
        if count >= limit
        else count_noun(count, "match", "matches")
    )
    return f"{found}; Enter opens the first, Down to pick."


def open_hit(evedmv: EvedmvApp, hit: SearchHit) -> None:
    """Open the page of a search hit; a system opens its battles."""
    if hit.kind == "solar_system":
        # The battles filter takes a system's name or, without one, its id.
        evedmv.open_screen("battles", hit.name or str(hit.entity_id))
        evedmv.notify(
            f"Battles in {hit.label} (solar system {hit.entity_id}); f changes the"
            f" filter. To watch the system, give its name in the {SYSTEMS_LABEL}"
            " field of a watch profile (w, then a or e).",
            title="Solar system",
            markup=False,
        )
        return
    evedmv.open_screen(hit.kind, hit.entity_id)


class SearchProvider(Provider):
    """Command palette entries for characters, corporations, alliances, systems."""

    async def search(self, query: str) -> Hits:
        app = cast("EvedmvApp", self.app)
        db = app.db
        if db is None or len(query.strip()) < 2:
            return
        # The query blocks on the database, so it runs in a thread.
        hits = await asyncio.to_thread(search, db, query, limit=PALETTE_LIMIT)
        for hit in hits:
            label = f"{hit.label} ({KIND_LABELS.get(hit.kind, hit.kind)})"
            yield Hit(
                score=1.0 - hit.rank / 5,
                match_display=Text(label),
                command=functools.partial(open_hit, app, hit),
                text=label,
                help=f"id {hit.entity_id}",
            )
