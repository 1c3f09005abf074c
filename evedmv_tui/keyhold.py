"""Keys typed right after the key that opens a field go into that field.

A terminal hands the app a burst of keys (a quick typist over SSH, a pasted
``/Jita``) in one read, and Textual routes each key to the widget focused at
the moment the app handles it. A screen that shows a field and calls
:meth:`Widget.focus` changes the focus a few messages later, so the keys
right after the one that opened the field went to the table underneath,
where a letter may be a binding (``s`` sorts the battles).

:class:`KeyHold` keeps such keys, in order, until the field has focus, and
the app then routes them as if they had arrived then. The key that opens
the field must be a priority binding, so that it acts when the app reads
it, before the next key is routed. A hold never lasts beyond
:data:`HOLD_SECONDS`.

The opposite case is a priority binding that reads the focused widget, such
as an Enter that opens the row under a table's cursor. It acts before the
arrows typed just before it in the same burst have moved the cursor.
:class:`AfterKeys` runs its action after them instead.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from textual import events
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget

HOLD_SECONDS = 1.0
"""Maximum seconds a key waits for its field to take focus."""
CHECK_SECONDS = 0.02
"""How often a hold with waiting keys checks whether its field has focus."""


@dataclasses.dataclass(slots=True)
class KeyHold:
    """Keys waiting for ``field`` to take focus on its screen."""

    field: Widget
    screen: Screen[Any]
    deadline: float
    keys: list[events.Key] = dataclasses.field(default_factory=list)

    @classmethod
    def start(cls, field: Widget) -> KeyHold:
        return cls(field, field.screen, time.monotonic() + HOLD_SECONDS)

    def ready(self, active: Screen[Any]) -> bool:
        """Tell whether the held keys may go to the focused widget now.

        True once the field has focus, once its screen is no longer the
        active one, or once the hold has lasted its longest.
        """
        return (
            self.screen.focused is self.field
            or active is not self.screen
            or time.monotonic() >= self.deadline
        )


class AfterKeys(Message):
    """Runs ``callback`` in the app once the keys routed before it are handled.

    A key goes to the focused widget and bubbles up its queues to the app,
    where its binding acts. Posted to the same widget, this message takes
    the same path behind those keys, and the app calls ``callback`` when it
    arrives (see :meth:`after_keys`).
    """

    def __init__(self, callback: Callable[[], object]) -> None:
        super().__init__()
        self.callback = callback


def after_keys(focused: Widget | None, callback: Callable[[], object]) -> None:
    """Call ``callback`` after the keys already routed to ``focused``.

    Without a focused widget no key waits, and ``callback`` runs at once.
    """
    if focused is None:
        callback()
    else:
        focused.post_message(AfterKeys(callback))
