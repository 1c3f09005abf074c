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
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from textual import events
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
