"""The records imports rejected: where each was, why, and its raw text.

``evedmv rejects list`` prints the same records. The table lists the newest
unresolved rejects first (see :mod:`evedmv_tui.ingest.rejects`), and the
pane under it shows the selected record whole: its file, position, killmail
id, field, reason and raw text (its first :data:`RAW_CHARACTERS`). Tab
moves into the pane, where the arrows scroll.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from evedmv_tui.ingest.rejects import RejectRow, count_rejects, list_rejects
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.status import DATABASE_UNAVAILABLE
from evedmv_tui.widgets.table import KeyedTable
from evedmv_tui.widgets.text import truncate

LIST_LIMIT = 500
"""Newest rejects the table lists; the CLI lists any number."""
RAW_CHARACTERS = 2000
"""Characters of the raw text the detail pane shows; ``evedmv rejects list
--raw`` prints it whole."""
PATH_CHARACTERS = 50
"""Characters of the file's path that the detail shows, ending with its name."""
FIXED_WIDTHS = (11, 16, 12, 14)
"""Maximum widths of the columns before the reason: time, file, position,
field. Each column is only as wide as its longest cell or its label."""
MIN_REASON_WIDTH = 12
COLUMNS = (
    ("rejected", "Rejected UTC"),
    ("file", "File"),
    ("where", "Where"),
    ("field", "Field"),
    ("reason", "Reason"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class RejectList:
    """The newest unresolved rejects, how many there are, and how many resolved."""

    rows: list[RejectRow]
    total: int
    resolved: int = 0


def load_rejects(db: Database) -> RejectList:
    counts = count_rejects(db)
    return RejectList(
        list_rejects(db, limit=LIST_LIMIT), counts.unresolved, counts.resolved
    )


def file_name(path: str) -> str:
    """Return the last part of a stored source path (``/`` or ``\\`` separated)."""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or path


def clip_start(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters from its start, so a path keeps its end."""
    if len(text) <= width:
        return text
    return "\N{HORIZONTAL ELLIPSIS}" + text[len(text) - width + 1 :]


def one_line(text: str) -> str:
    """Return ``text`` with every run of whitespace, newlines included, as a space."""
    return " ".join(text.split())


def describe_summary(rejects: RejectList) -> str:
    total = rejects.total
    if not total and not rejects.resolved:
        return "No rejected records: every imported record was stored."
    if not total:
        text = "No unresolved rejects."
    elif len(rejects.rows) < total:
        text = (
            f"The newest {len(rejects.rows):,} of {total:,} rejected records;"
            " 'evedmv rejects list --limit N' lists more."
        )
    else:
        noun = "record" if total == 1 else "records"
        text = f"{total:,} rejected {noun}, newest first."
    if rejects.resolved:
        text += (
            f" {rejects.resolved:,} resolved (killmail stored or file read"
            " whole since, or dismissed) not shown;"
            " 'evedmv rejects list --all' lists them."
        )
    return text


FEED_NAMES = {"<r2z2>": "the R2Z2 feed", "<esi>": "an ESI fetch"}
"""Readable names of the sources whose documents are imported without a file."""


def _no_import(row: RejectRow) -> str:
    """Return where a reject without an import came from, in words.

    The follower and the ESI fetch of pending killmails import documents
    without an import, under a name such as ``<r2z2>``, and so does
    ``evedmv prices import`` under the price file's path.
    """
    name = row.source_file
    if name.startswith("<") and name.endswith(">"):
        return f"none ({FEED_NAMES.get(name, name[1:-1])})"
    return "none (a price file)"


def describe_reject(row: RejectRow) -> str:
    """Return the selected reject in full, one fact per line, as plain text."""
    imports = ", ".join(str(i) for i in row.import_ids) or _no_import(row)
    where = [row.position]
    if row.killmail_id is not None:
        where.append(f"killmail {row.killmail_id}")
    if row.field_label is not None:
        name = row.field_label
        where.append(name if row.field == "$" else f"field {name}")
    raw = one_line(row.raw)
    return "\n".join(
        [
            f"File: {clip_start(one_line(row.source_file), PATH_CHARACTERS)}"
            f" (imports: {imports})",
            " | ".join(one_line(part) for part in where),
            f"Reason: {one_line(row.reason)}",
            f"Raw: {truncate(raw, RAW_CHARACTERS) if raw else '(no text)'}",
        ]
    )


def fixed_cells(row: RejectRow) -> list[str]:
    """Return the cells of ``row`` before the reason, each cut to its maximum."""
    time_width, file_width, where_width, field_width = FIXED_WIDTHS
    field = row.field_label or "-"
    return [
        f"{row.rejected_at.astimezone(dt.UTC):%m-%d %H:%M}"[:time_width],
        truncate(file_name(row.source_file), file_width),
        truncate(one_line(row.position), where_width),
        truncate(field, field_width),
    ]


def fixed_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """Return the widths DataTable gives the columns before the reason.

    A column is as wide as its widest cell in ``rows`` or its label.
    """
    return [
        max([cell_len(label), *(cell_len(cells[index]) for cells in rows)])
        for index, (_, label) in enumerate(COLUMNS[: len(FIXED_WIDTHS)])
    ]


def reason_width(table_width: int, widths: Sequence[int] = FIXED_WIDTHS) -> int:
    """Return the width the reason may take so that the table fits.

    ``widths`` are those of the columns before the reason. Every column
    takes one space of padding on each side, as DataTable draws it, and
    the vertical scrollbar two columns.
    """
    used = sum(widths) + 2 * (len(widths) + 1) + 2
    return max(MIN_REASON_WIDTH, table_width - used)


def reject_cells(row: RejectRow, reason: int = 40) -> list[str]:
    """Return the table's cells of ``row``, the reason cut to ``reason`` characters."""
    return [*fixed_cells(row), truncate(one_line(row.reason), reason)]


class RejectsScreen(DashboardScreen):
    """Records that imports could not store, newest first."""

    TITLE = "Rejected records"
    AUTO_FOCUS = "#rejects-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Reload", id="rejects.reload"),
    ]
    DEFAULT_CSS = """
    RejectsScreen #rejects-summary { height: auto; padding: 0 1; }
    RejectsScreen #rejects-table { height: 1fr; }
    RejectsScreen #rejects-detail {
        height: 8;
        padding: 0 1;
        border-top: solid $primary;
    }
    """
    HELP_NOTES: ClassVar[tuple[str, ...]] = (
        "The pane under the table shows the selected record in full: Tab"
        " moves into it, where the arrows scroll.",
        "Fix the records the reasons name and import the file again:"
        " 'evedmv rejects list --raw' prints each raw text whole.",
    )

    def __init__(self) -> None:
        super().__init__()
        self.rejects: RejectList | None = None
        self._by_key: dict[str, RejectRow] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("Loading...", id="rejects-summary", markup=False)
        yield KeyedTable(COLUMNS, id="rejects-table")
        with VerticalScroll(id="rejects-detail"):
            yield Static("", id="rejects-detail-text", markup=False)

    def on_mount(self) -> None:
        if self.evedmv_app.db is None:
            summary = self.query_one("#rejects-summary", Static)
            summary.update(DATABASE_UNAVAILABLE)

    def load_data(self) -> None:
        self.run_query(load_rejects, then=self.show_rejects, name="rejects")

    def show_rejects(self, rejects: RejectList) -> None:
        self.rejects = rejects
        self.query_one("#rejects-summary", Static).update(describe_summary(rejects))
        self._by_key = {str(row.reject_id): row for row in rejects.rows}
        self._fill_table()
        self._show_selected()

    def on_resize(self, event: events.Resize) -> None:
        # DashboardScreen.on_resize runs too and checks the minimum size.
        if self.rejects is not None:
            self._fill_table()

    def _fill_table(self) -> None:
        assert self.rejects is not None
        table = self.query_one(KeyedTable)
        rows = self.rejects.rows
        fixed = [fixed_cells(row) for row in rows]
        widths = fixed_widths(fixed)
        width = reason_width(table.size.width or self.app.size.width, widths)
        cells = [
            (str(row.reject_id), [*before, truncate(one_line(row.reason), width)])
            for row, before in zip(rows, fixed, strict=True)
        ]
        table.update_rows(cells)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        detail = self.query_one("#rejects-detail-text", Static)
        key = self.query_one(KeyedTable).cursor_key
        row = self._by_key.get(key) if key is not None else None
        detail.update(describe_reject(row) if row is not None else "")

    def action_reload(self) -> None:
        if self.evedmv_app.db is None:
            self.evedmv_app.set_status("not connected; reloads on reconnect")
            return
        self.load_data()
