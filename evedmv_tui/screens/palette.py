"""The command palette, with Enter acting on the text typed so far.

Textual's palette (``textual.command.CommandPalette``, version 8.2) keeps the
list of the previous query on screen while a new search runs. Its search
worker replaces that list only when every provider has finished, or after
0.25 s of results. The database search provider returns its hits after a query
in a thread. So an Enter right after the typing selected the entry
highlighted in the old list: Help for the empty query, or ``Open Killmail``
without its id for ``killmail 96812093``. This palette keeps such an Enter
waiting until the search for the current text has finished, then submits it.
"""

from __future__ import annotations

from textual import on
from textual.command import CommandInput, CommandPalette
from textual.widgets import Input
from textual.worker import Worker, WorkerState

# NOTE: the group of the palette's search worker is a private name of
# Textual 8.2; the palette tests in tests/test_search.py fail if it changes.
SEARCH_GROUP = CommandPalette._GATHER_COMMANDS_GROUP


class SearchingCommandPalette(CommandPalette):
    """A command palette whose Enter waits for the search of the typed text."""

    _submit_waiting = False
    """True while an Enter waits for the running search to finish."""

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
