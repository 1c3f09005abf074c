"""A filter field that Escape closes without leaving the screen."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from evedmv_tui.widgets.ordered_input import OrderedInput


class FilterInput(OrderedInput):
    """An input shown while a filter is edited; Escape closes it.

    The screen's own Escape goes back to the previous screen, so without
    this binding Escape in the field would leave the screen. The screen
    hides the field and moves focus on :class:`FilterInput.Closed`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close filter", id="filter.close"),
        # Input binds enter without showing it; bound here, the footer names it.
        Binding("enter", "submit", "Apply", id="filter.apply"),
    ]

    class Closed(Message):
        """Escape was pressed in the field; the filter stays as it was."""

        def __init__(self, field: FilterInput) -> None:
            super().__init__()
            self.field = field

        @property
        def control(self) -> FilterInput:
            return self.field

    def action_close(self) -> None:
        self.post_message(self.Closed(self))
