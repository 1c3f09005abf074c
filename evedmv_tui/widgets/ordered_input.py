"""An input field that applies the keys of one burst in the order they came."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import Input


class OrderedInput(Input):
    """An :class:`Input` that applies every key of a burst in order.

    Textual queues each key on the widget focused when the key arrives. An
    input inserts printable keys at once, but runs its bindings (backspace,
    ctrl+u, enter) and moves the focus for ``tab`` only once the key has
    bubbled up to the app. Keys that arrive in one burst (a paste, a slow
    SSH link, tmux ``send-keys``) then ran out of order: ``x``, backspace,
    ``a`` left ``x``, and the keys after a ``tab`` went into the field it
    left. This field runs its own bindings and moves the focus itself while
    it handles the key, and hands a key that reaches it after the focus
    moved on to the widget that has the focus now.
    """

    async def _on_key(self, event: events.Key) -> None:
        focused = self.screen.focused
        if focused is not None and focused is not self:
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        if event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                self.screen.focus_next()
            else:
                self.screen.focus_previous()
            return
        binding = self._own_binding(event)
        # An action that does not apply (scrolling a field that cannot
        # scroll) reports that it did nothing, and the key goes on to the
        # screen's bindings as before.
        if binding is not None and await self.app.run_action(binding.action, self):
            event.stop()
            event.prevent_default()

    def _own_binding(self, event: events.Key) -> Binding | None:
        """Return this field's binding of the key, or None."""
        for key in event.aliases:
            bindings = self._bindings.key_to_bindings.get(key)
            if bindings:
                return bindings[0]
        return None
