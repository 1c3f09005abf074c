"""The command palette, with Enter acting on the text typed so far.

Textual's palette (``textual.command.CommandPalette``, version 8.2) keeps the
list of the previous query on screen while a new search runs. Its search
worker replaces that list only when every provider has finished, or after
0.25 s of results. The database search provider returns its hits after a query
in a thread. So an Enter right after the typing selected the entry
highlighted in the old list: Help for the empty query, or ``Open Killmail``
without its id for ``killmail 96812093``. This palette keeps such an Enter
waiting until the search for the current text has finished, then submits it.

It also adds :class:`InvalidArgumentCommands`, so a screen name followed by
an argument that screen rejects (``battle abc``) shows why instead of only
"No matches found".
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.command import (
    CommandInput,
    CommandList,
    CommandPalette,
    Hit,
    Hits,
    Provider,
)
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from evedmv_tui.widgets.status import KeyFooter
from evedmv_tui.widgets.text import strip_control

if TYPE_CHECKING:
    from evedmv_tui.app import EvedmvApp
    from evedmv_tui.screens import ScreenEntry

# NOTE: the group of the palette's search worker is a private name of
# Textual 8.2; the palette tests in tests/test_search.py fail if it changes.
SEARCH_GROUP = CommandPalette._GATHER_COMMANDS_GROUP

# Textual's search coroutine without its ``@work`` wrapper, so that
# SearchingCommandPalette can run it inside a worker of its own.
_textual_gather_commands = inspect.unwrap(CommandPalette._gather_commands)

INVALID_ARGUMENT_SCORE = 0.5
"""Rank of an invalid-argument hit, below the 1.0 of a screen opened directly."""


def names_entry(words: list[str], entry: ScreenEntry) -> bool:
    """Tell whether ``words`` start the words of ``entry``'s title, in order.

    ``battle`` and ``battle rep`` name "Battle report", ignoring case.
    """
    title_words = entry.title.lower().split()
    if len(words) > len(title_words):
        return False
    return all(
        title_word.startswith(word.lower())
        for word, title_word in zip(words, title_words, strict=False)
    )


def argument_error(entry: ScreenEntry, words: list[str]) -> str | None:
    """Return why ``entry`` rejects the argument in ``words``, or None.

    ``words`` is a screen name and then its argument, and the name may take
    one word or more of the title (``battle`` or ``battle report``). None
    also means that some split gives an argument the entry accepts, or
    that no split names the entry, or that all of ``words`` name it
    (``battle report`` is the title still being typed, not an argument).
    """
    if names_entry(words, entry):
        return None
    error = None
    for count in range(min(len(entry.title.split()), len(words) - 1), 0, -1):
        if not names_entry(words[:count], entry):
            continue
        try:
            entry.parse_argument(" ".join(words[count:]))
        except ValueError as exc:
            # The longest name leaves the shortest argument, which is
            # probably the one the user meant.
            error = error or str(exc)
            continue
        return None
    if error is None or entry.argument != "id":
        return error
    text = f"{error}. Type the id after the name, as in '{entry.name} 42'."
    return f"{text} {entry.argument_hint}" if entry.argument_hint else text


class InvalidArgumentCommands(Provider):
    """Palette hits that show why a typed screen argument is invalid.

    ``ScreenCommands`` offers ``Open Battle report 42`` for ``battle 42``
    but nothing for ``battle abc``. This provider offers a hit with the
    reason, and Enter on it opens the screen's prompt for the argument.
    """

    async def search(self, query: str) -> Hits:
        app = cast("EvedmvApp", self.app)
        words = query.split()
        if len(words) < 2:
            return
        for entry in app.screen_entries:
            if not entry.prompt:
                continue
            error = argument_error(entry, words)
            if error is None:
                continue
            prompt = entry.prompt.lower()
            # The error quotes what the user typed, so it must not be parsed as
            # markup. A Content is shown as it is.
            yield Hit(
                INVALID_ARGUMENT_SCORE,
                Content(strip_control(error)),
                functools.partial(app.open_screen, entry.name),
                text=error,
                help=f"Enter opens {entry.title} and asks for the {prompt}",
            )


class SearchingCommandPalette(CommandPalette):
    """A command palette whose Enter waits for the search of the typed text."""

    _submit_waiting = False
    """True while an Enter waits for the running search to finish."""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        # Else the footer of the screen under the palette stays in view,
        # with keys that do not act while the palette is open.
        yield KeyFooter()

    @work(exclusive=True, group=SEARCH_GROUP)
    async def _gather_commands(self, search_value: str) -> None:
        """Run Textual's search, ignoring a palette closed before it started.

        A search worker can start after the palette was dismissed, when its
        widgets are already removed (Textual 8.2, on a busy event loop). Its
        ``query_one(CommandList)`` then raised NoMatches, and the failed
        worker made the app exit.
        """
        try:
            await _textual_gather_commands(self, search_value)
        except NoMatches:
            if self.query(CommandList):
                raise
            self.log.warning(
                f"Ignored the search for {search_value!r}: the palette was closed"
            )

    @property
    def searching(self) -> bool:
        """True while a search worker of this palette has not finished."""
        return any(
            worker.node is self
            and worker.group == SEARCH_GROUP
            and not worker.is_finished
            and not worker.is_cancelled
            for worker in self.workers
        )

    @on(Input.Submitted)
    def _wait_for_search(self, event: Input.Submitted) -> None:
        """Hold an Enter back while the list still shows an older query's hits."""
        if not self.searching:
            return
        # prevent_default keeps CommandPalette's own Submitted handler from
        # selecting in the old list; on_worker_state_changed submits again.
        event.stop()
        event.prevent_default()
        self._submit_waiting = True

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Submit a held Enter once the search of the current text is done."""
        if event.worker.group != SEARCH_GROUP or not self._submit_waiting:
            return
        # A cancelled search was replaced by the search of a newer keystroke,
        # whose own state change comes later.
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if self.searching:
            return
        self._submit_waiting = False
        await self.query_one(CommandInput).action_submit()
