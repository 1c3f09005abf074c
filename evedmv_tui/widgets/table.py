"""A DataTable that refreshes its rows in place by a stable key.

Monitors and lists refresh every few seconds. Clearing and refilling a
DataTable moves the cursor to the top; :meth:`KeyedTable.update_rows`
instead updates changed cells of rows it already has, removes rows whose key
is gone and adds new ones, so the cursor stays on the same row (by key) and
the scroll position is kept. String cells are shown as plain text, never
parsed as markup, because they often hold names and query texts.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowKey

from evedmv_tui.widgets.text import strip_control, truncate

Cell = str | int | float | Text | None
Row = tuple[str, Sequence[Cell]]
"""A row's key and its cells, in column order."""


def plain(value: Cell) -> Text | str:
    """Convert a cell value to an unstyled Text; numbers are right-aligned."""
    if value is None:
        return Text("")
    if isinstance(value, Text):
        return value
    if isinstance(value, bool):
        return Text("yes" if value else "")
    if isinstance(value, int | float):
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
        return Text(shown, justify="right")
    return Text(strip_control(value))


def right(text: str) -> Text:
    """Return ``text`` as a right-aligned plain cell (for formatted numbers)."""
    return Text(strip_control(text), justify="right")


def cell_width(cell: Cell) -> int:
    """Return the terminal cells that the table takes to show ``cell``."""
    shown = plain(cell)
    return cell_len(shown.plain if isinstance(shown, Text) else shown)


def narrow_columns(
    rows: Sequence[Row],
    columns: Sequence[tuple[str, str]],
    narrowable: Collection[str],
    width: int,
    cell_padding: int,
    minimum: int,
) -> list[Row]:
    """Cut cells of the ``narrowable`` columns so the last column keeps ``minimum``.

    Every column is as wide as its widest cell or label, and DataTable adds
    ``cell_padding`` on each side of every cell. The widest narrowable column
    loses one cell at a time, down to the width of its label, and its longer
    cells end in an ellipsis. The last column takes what the others leave
    of ``width``. Only string cells are cut.
    """
    widths = [
        max([cell_len(label)] + [cell_width(cells[index]) for _key, cells in rows])
        for index, (_column, label) in enumerate(columns[:-1])
    ]
    room = width - 2 * cell_padding - sum(w + 2 * cell_padding for w in widths)
    floors = {
        index: cell_len(label)
        for index, (column, label) in enumerate(columns[:-1])
        if column in narrowable
    }
    while room < minimum:
        cut = [index for index, floor in floors.items() if widths[index] > floor]
        if not cut:
            break
        widest = max(cut, key=widths.__getitem__)
        widths[widest] -= 1
        room += 1
    return [
        (
            key,
            [
                truncate(cell, widths[index])
                if index in floors and isinstance(cell, str)
                else cell
                for index, cell in enumerate(cells)
            ],
        )
        for key, cells in rows
    ]


class KeyedTable(DataTable[Any]):
    """A row-cursor DataTable whose rows are replaced by key, not by position.

    Args:
        columns: ``(key, label)`` of each column, in display order.
    """

    # DataTable binds home and end to the first and last column, which a row
    # cursor does not use, so with a row cursor they only scrolled sideways.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]
    # Under NO_COLOR, Textual 8 turns colours into greys that a 16-colour
    # terminal shows alike: the cursor row was bold on grey like the header,
    # and an unfocused table's cursor had the grey of the zebra stripes.
    # Reverse video keeps the cursor row apart from both.
    DEFAULT_CSS = """
    KeyedTable:nocolor > .datatable--cursor {
        text-style: reverse;
    }
    KeyedTable:nocolor:focus > .datatable--cursor {
        text-style: bold reverse;
    }
    """

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            id=id,
            classes=classes,
            cursor_type="row",
            zebra_stripes=True,
        )
        self.column_specs = tuple(columns)
        self._drawn_column_widths: tuple[int, ...] = ()
        """Column widths at the last render, which the render caches were built for."""
        for key, label in self.column_specs:
            self.add_column(label, key=key)

    def render_lines(self, crop: Region) -> list[Strip]:
        # DataTable measures added and updated cells on idle, and its render
        # caches are not keyed by column width (Textual 8.2). A row drawn
        # before that measurement, often the cursor row, would keep its cut
        # cells until its cache key changes, so widths that changed since the
        # last render drop the caches.
        widths = tuple(column.get_render_width(self) for column in self.ordered_columns)
        if widths != self._drawn_column_widths:
            self._drawn_column_widths = widths
            # DataTable implements this public hook by clearing its render caches.
            self.notify_style_update()
        return super().render_lines(crop)

    @property
    def row_keys(self) -> list[str]:
        """Keys of the rows in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    @property
    def cursor_key(self) -> str | None:
        """Key of the row under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        return str(self.ordered_rows[row].key.value)

    def update_rows(self, rows: Iterable[tuple[Hashable, Sequence[Cell]]]) -> None:
        """Show ``rows`` (key, cells) in this order, changing only what differs.

        Raises:
            ValueError: two rows share a key, or a row has the wrong width.
        """
        wanted = [(str(key), [plain(c) for c in cells]) for key, cells in rows]
        keys = [key for key, _ in wanted]
        if len(set(keys)) != len(keys):
            raise ValueError("update_rows: duplicate row keys")
        width = len(self.column_specs)
        for key, cells in wanted:
            if len(cells) != width:
                raise ValueError(
                    f"update_rows: row {key!r} has {len(cells)} cells, expected {width}"
                )
        if not wanted:
            self._clear_to_headers()
            return
        cursor_key = self.cursor_key
        scroll_x, scroll_y = self.scroll_x, self.scroll_y
        current = self.row_keys
        wanted_keys = set(keys)
        known = set(current)
        order_after_update = [k for k in current if k in wanted_keys] + [
            k for k in keys if k not in known
        ]
        if order_after_update == keys:
            widest_removed = self._update_in_place(wanted)
        else:
            # DataTable has no public way to reorder rows, so a changed order
            # refills the table; cursor and scroll are restored below.
            self.clear()
            for key, cells in wanted:
                self.add_row(*cells, key=key)
            widest_removed = True
        if widest_removed:
            self.measure_columns()
        if cursor_key is not None and cursor_key in wanted_keys:
            self.move_cursor(row=keys.index(cursor_key), scroll=False)
        self.scroll_to(scroll_x, scroll_y, animate=False, immediate=True)

    def measure_columns(self) -> None:
        """Size every column to its widest cell or label again, when idle.

        DataTable keeps a column as wide as the widest cell it ever measured,
        also after ``clear`` and ``remove_row`` (Textual 8.2). A column of
        names cut narrower after a refill therefore stayed wide and pushed
        the columns after it past the table's edge. An update with
        ``update_width`` makes DataTable measure the column's cells again.
        :meth:`update_rows` calls this after removing the widest row.
        """
        if not self.row_count:
            return
        first = self.ordered_rows[0].key
        for column in self.ordered_columns:
            value = self.get_cell(first, column.key)
            self.update_cell(first, column.key, value, update_width=True)

    def _clear_to_headers(self) -> None:
        """Remove every row and size the columns to their labels again.

        DataTable keeps a column as wide as the widest cell it ever had, so
        an emptied table of long query texts kept a horizontal scroll bar.
        """
        if not self.row_count and self.scroll_x == 0:
            widths = [column.content_width for column in self.ordered_columns]
            if widths == [column.label.cell_len for column in self.ordered_columns]:
                return
        self.clear(columns=True)
        for key, label in self.column_specs:
            self.add_column(label, key=key)

    def _update_in_place(self, wanted: list[tuple[str, list[Text | str]]]) -> bool:
        """Remove the rows not in ``wanted`` and put the others.

        Returns whether a removed row had a cell as wide as its column, so
        the column may now be wider than its cells (DataTable measures
        again only when a cell is updated).
        """
        keep = {key for key, _ in wanted}
        widths = [column.content_width for column in self.ordered_columns]
        widest_removed = False
        for row in list(self.ordered_rows):
            if row.key.value not in keep:
                cells = self.get_row(row.key)
                widest_removed = widest_removed or any(
                    cell_width(cell) >= width
                    for cell, width in zip(cells, widths, strict=False)
                )
                self.remove_row(row.key)
        for key, cells in wanted:
            self.put_row(key, cells)
        return widest_removed

    def put_row(self, key: str, cells: list[Text | str]) -> None:
        """Add the row ``key``, or update the cells of it that changed."""
        if RowKey(key) not in self.rows:
            self.add_row(*cells, key=key)
            return
        current = self.get_row(key)
        for (column_key, _), old, new in zip(
            self.column_specs, current, cells, strict=True
        ):
            if old != new:
                try:
                    self.update_cell(key, column_key, new, update_width=True)
                except CellDoesNotExist:
                    continue


class QueryTable(KeyedTable):
    """A keyed table whose enter shows the selected row's query text.

    DataTable binds enter without showing it, and that binding hides the
    screen's own enter from the footer while the table has focus.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Query", id="table.query"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # An empty table has no query to show, so its enter leaves the footer.
        if action == "select_cursor" and not self.row_count:
            return False
        return super().check_action(action, parameters)


class MessageTable(QueryTable):
    """A keyed table whose enter shows the selected row's whole message."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Message", id="table.message"),
    ]


class KillmailTable(KeyedTable):
    """A keyed table of killmails whose enter opens the selected one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Killmail", id="table.killmail"),
    ]
