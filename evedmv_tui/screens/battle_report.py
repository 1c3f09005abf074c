"""The battle report: sides, composition, timeline, killmails and entities.

Keys on the entities tab move the selected alliance, corporation or
character to the previous or next side, or to a new one. The move is stored
as an override, and a worker recomputes the report.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tabs
from textual.worker import Worker, WorkerState

from evedmv_tui.battles.export import (
    PILOTLESS_NOTE,
    THIRD_PARTY_MARK,
    cut_side_label,
    efficiency_text,
    kills_text,
    missing_value_note,
    pilots_text,
    render,
    side_isk_lost_text,
    side_mark,
    split_side_label,
)
from evedmv_tui.battles.export import isk_total_text as export_isk_total_text
from evedmv_tui.battles.metrics import period_text
from evedmv_tui.battles.overrides import (
    AlreadyOnSide,
    NotInBattle,
    clear_overrides,
    move_entity,
)
from evedmv_tui.battles.recipe import RecipeError, recipe_of_battle, write_recipe
from evedmv_tui.battles.report import (
    OUTDATED_HINT,
    BattleNotFound,
    BattleReport,
    EntityRow,
    load_report,
)
from evedmv_tui.errors import EvedmvError
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.screens.killmail import ENTITY_KINDS, EntityKey, EntityTable
from evedmv_tui.ship_classes import role_label
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen
from evedmv_tui.widgets.plot import SeriesPlot
from evedmv_tui.widgets.status import (
    DATABASE_UNAVAILABLE,
    LoggedMessage,
    Severity,
    message_log,
)
from evedmv_tui.widgets.table import KeyedTable, KillmailTable, right
from evedmv_tui.widgets.text import format_isk, truncate

ENTITY_COLUMNS = (
    ("side", "Side"),
    ("kind", "Kind"),
    ("name", "Name"),
    ("confidence", "Conf"),
    ("reason", "Reason"),
)
ENTITY_NAME_WIDTH = 26
"""Characters of an entity's name shown in the entities table."""
MIN_REASON_WIDTH = 16
REASON_LINES = 3
"""Maximum height in lines of the whole reason under the entities table,
the ``max-height`` set in :attr:`BattleReportScreen.DEFAULT_CSS`."""
TIMELINE_TITLES = {
    "kills": "Kills per {bucket}, by losing side",
    "isk": "ISK lost per {bucket} (millions), by losing side",
}
"""Titles of the timeline's measures; ``{bucket}`` is the time each point
counts, ``minute`` or a number of seconds."""
SHORT_BATTLE_SECONDS = 5 * 60
"""Battles whose kills span less time are plotted per few seconds, since
their per-minute timeline has one to five points."""
BUCKET_SECONDS = (1, 2, 5)
"""Seconds a point of a short battle's timeline counts: the smallest that
gives at most 60 points."""
TIMELINE_MAX_MINUTES = 7 * 24 * 60
"""Minutes of timeline a plot keeps; a longer battle shows its last week."""
SIDE_MIN_WIDTH = 26
"""Columns a side needs to be read next to the others."""
SHORT_THIRD_PARTY_MARK = " (3rd party)"
"""Third-party mark of a side heading too narrow for the whole one."""
MIN_LABEL_WIDTH = 8
"""Characters of a side's name that a one-line heading keeps beside its mark."""
_ID_LABEL = re.compile(r"#\d+")
"""A name shown as an id, because the name is not stored."""
ENTITY_ACTIONS = frozenset({"move", "move_new", "reset_sides"})
"""Actions that act on the entities tab only."""
STORED_BATTLE_ACTIONS = ENTITY_ACTIONS | {"export"}
"""Actions that need a stored battle; for one that is not, they notify why."""
REPORT_ACTIONS = frozenset(
    {*ENTITY_ACTIONS, "export", "show_timeline", "toggle_timeline"}
)
"""Actions that need a loaded report."""
EXPORT_WRITE_HINT = (
    "Rename or remove what is at that path if it is in the way, or point"
    " EVEDMV_STATE_DIR at a writable directory."
)
"""Next step shown when an export file or its folder cannot be written."""
KILL_COLUMNS = (
    ("time", "Time"),
    ("side", "Side"),
    ("victim", "Victim"),
    ("ship", "Ship"),
    ("value", "ISK"),
)


def _pack(
    items: list[str], width: int, separator: str = "  ", label: str = ""
) -> list[str]:
    """Join ``label`` and ``items`` into lines of at most ``width`` characters.

    A line breaks only between items, so a label stays next to its value,
    and keeps the separator's punctuation, a comma or a semicolon, at its
    end. Other separators, such as `` | ``, are left out at a break, so no
    line ends in one. An item longer than ``width`` gets a line of its own,
    cut with an ellipsis.
    """
    mark = separator.rstrip() if separator.strip() in (",", ";") else ""
    lines = [truncate(label, width)] if label else []
    for index, item in enumerate(items):
        joiner = " " if label and index == 0 else separator
        # Room for the separator's mark after every item but the last.
        end = mark if index < len(items) - 1 else ""
        if lines and len(lines[-1]) + len(joiner) + len(item) + len(end) <= width:
            lines[-1] += joiner + item
            continue
        if lines and index > 0:
            lines[-1] += mark
        lines.append(truncate(item, width - len(end)))
    return lines


def isk_total_text(value: float, kills: int, without_value: int) -> str:
    """Format an ISK total with two digits after the point, marked as in exports."""
    return export_isk_total_text(value, kills, without_value, decimals=2)


def _side_title(number: int, label: str, mark: str, width: int) -> str:
    """Return a side's heading in lines of at most ``width`` characters.

    The heading is one line, ``Side 3: name +2 (third party)``, when the
    name fits or keeps at least ``MIN_LABEL_WIDTH`` characters beside the
    count of other units (``+2``) and the side's ``mark``, using the shorter
    :data:`SHORT_THIRD_PARTY_MARK` where the whole one leaves too little.
    The count and the mark are never cut, and neither is a name that is an
    id (``#99003214``). Otherwise the label gets a line of its own under
    ``Side 3 (third party)``.
    """
    head = f"Side {number}: "
    name, others = split_side_label(label)
    is_id = _ID_LABEL.fullmatch(name) is not None
    marks = [mark]
    if mark == THIRD_PARTY_MARK:
        marks.append(SHORT_THIRD_PARTY_MARK)
    for candidate in marks:
        room = width - len(head) - len(candidate)
        if len(label) <= room:
            return head + label + candidate
        if room - len(others) >= MIN_LABEL_WIDTH and not is_id:
            return head + cut_side_label(label, room) + candidate
    first = f"Side {number}{marks[0]}"
    if len(first) > width:
        first = truncate(f"Side {number}{marks[-1]}", width)
    # Only a column narrower than the label itself cuts it.
    return first + "\n" + cut_side_label(label, width)


def _side_text(report: BattleReport, side: Mapping[str, Any], width: int = 80) -> Text:
    """Return a side's figures in lines of at most ``width`` characters."""
    number = side["side"]
    text = Text(no_wrap=True, overflow="ellipsis")
    title = _side_title(number, report.side_label(number), side_mark(side), width)
    text.append(title + "\n", style="bold")
    figures = [f"pilots {side['pilots']:,}"]
    # The note is a figure of its own, so a narrow column wraps before it.
    if pilots_text(side) != figures[0]:
        figures.append(PILOTLESS_NOTE)
    figures += [
        f"fielded {side['ships_fielded']:,}",
        f"lost {side['ships_lost']:,}",
        "ISK lost " + side_isk_lost_text(report, side, decimals=2),
        f"destroyed {format_isk(side['isk_destroyed'])}",
        f"loot {format_isk(side['loot_dropped'])}",
    ]
    # A third party's efficiency names the sides it counts against. It comes
    # last, so no other figure reads as part of it, and takes a line of its
    # own when it is wider than the side.
    efficiency = f"efficiency {efficiency_text(side)}"
    if len(efficiency) <= width or not side["third_party"]:
        figures.append(efficiency)
    else:
        label, value, qualifier = efficiency.split(" ", 2)
        figures += [f"{label} {value}", qualifier]
    lines = _pack(figures, width)
    roles = side["roles_present"]
    if roles:
        lost = side["roles_lost"]
        role_counts = [
            f"{role_label(r)} {n:,}/{lost.get(r, 0):,}" for r, n in roles.items()
        ]
        lines += _pack(role_counts, width, ", ", label="roles (fielded/lost):")
    top = side["top_damage"][:3]
    if top:
        names = [report.name(pilot) for pilot, _ in top]
        lines += _pack(names, width, ", ", label="top damage:")
    text.append("".join(line + "\n" for line in lines))
    return text


class BattleEntityTable(EntityTable):
    """The entities table; enter opens the page of the entity under the cursor."""

    # The footer shows "Open" for every kind, because a kind's name would not
    # fit beside the keys of this tab. The Kind column and the line under the
    # table name the entity.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", f"open_entity('{kind}')", "Open", id=f"open.{kind}")
        for kind in ENTITY_KINDS
    ]

    def entity_at(self, coordinate: Coordinate) -> EntityKey | None:
        if not 0 <= coordinate.row < self.row_count:
            return None
        key = str(self.ordered_rows[coordinate.row].key.value)
        kind, _, entity_id = key.partition(":")
        if kind not in ENTITY_KINDS or not entity_id.isdigit():
            return None
        return kind, int(entity_id)


class SideSummary(Widget):
    """One side's figures, laid out for the width the widget gets."""

    DEFAULT_CSS = "SideSummary { height: auto; }"

    def __init__(
        self, report: BattleReport, side: Mapping[str, Any], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.report = report
        self.side = side

    def render(self) -> Text:
        return _side_text(self.report, self.side, self.content_size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(_side_text(self.report, self.side, width).plain.splitlines())


def _header(report: BattleReport, width: int = 80) -> Text:
    """Return the battle's place and time, then its figures in lines of at
    most ``width`` characters, broken between figures."""
    text = Text()
    text.append(f"{report.system_label}", style="bold")
    regions = report.region_label
    if regions:
        text.append(f" ({regions})")
    text.append(f"  {period_text(report.start_time, report.end_time)}\n")
    parts = [
        report.kind,
        kills_text(report),
        f"{report.pilots:,} pilots",
        isk_total_text(report.isk_destroyed, report.kills, report.kills_without_value)
        + " ISK",
    ]
    # The note follows the total it explains.
    note = missing_value_note(report)
    if note:
        parts.append(note)
    parts.append(f"confidence {report.confidence:.0%}")
    if report.unclear:
        parts.append("side split unclear")
    if report.ongoing:
        parts.append("ongoing")
    if report.changed:
        parts.append("changed after it closed")
    if report.outdated:
        parts.append(f"out of date: {OUTDATED_HINT}")
    text.append("\n".join(_pack(parts, width, " | ")))
    return text


def _composition(report: BattleReport, width: int) -> Text:
    """Return ships fielded and lost per class, one column per side.

    Sides that do not fit in ``width`` next to the class column continue in
    another block below, so no line wraps.
    """
    sides = report.sides
    classes = sorted(
        {c for s in sides for c in s["ships_fielded_by_class"]}
        | {c for s in sides for c in s["ships_lost_by_class"]}
    )
    columns = []
    for side in sides:
        cells = [
            f"{side['ships_fielded_by_class'].get(ship_class, 0):,}"
            f" / {side['ships_lost_by_class'].get(ship_class, 0):,}"
            for ship_class in classes
        ]
        title = f"side {side['side']}"
        columns.append((title, cells, 2 + max(map(len, [title, *cells]))))
    first = max(map(len, ["class", *classes])) + 1
    blocks: list[list[tuple[str, list[str], int]]] = [[]]
    used = first
    for column in columns:
        if blocks[-1] and used + column[2] > width:
            blocks.append([])
            used = first
        blocks[-1].append(column)
        used += column[2]
    text = Text()
    for block in blocks:
        text.append(f"{'class':<{first}}", style="bold")
        for title, _, size in block:
            text.append(f"{title:>{size}}", style="bold")
        text.append("\n")
        for row, ship_class in enumerate(classes):
            text.append(f"{ship_class:<{first}}")
            for _, cells, size in block:
                text.append(f"{cells[row]:>{size}}")
            text.append("\n")
        text.append("\n")
    text.append("(ships fielded / lost)")
    return text


class BattleReportScreen(DashboardScreen):
    """One battle's report."""

    TITLE = "Battle report"
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        Binding("1", "tab('sides')", "Sides", id="battle.sides", show=False),
        Binding(
            "2", "tab('composition')", "Ships", id="battle.composition", show=False
        ),
        Binding("3", "tab('timeline')", "Timeline", id="battle.timeline", show=False),
        Binding("4", "tab('killmails')", "Kills", id="battle.killmails", show=False),
        Binding("5", "tab('entities')", "Entities", id="battle.entities", show=False),
        # One key, two actions: i shows the timeline from the other tabs, and
        # switches its measure on the timeline tab (TAB_ACTIONS picks one).
        Binding("i", "show_timeline", "Timeline", id="battle.timeline_show"),
        Binding("i", "toggle_timeline", "Kills/ISK", id="battle.timeline_measure"),
        Binding("left_square_bracket", "move(-1)", "Side -", id="battle.move_back"),
        Binding("right_square_bracket", "move(1)", "Side +", id="battle.move_next"),
        Binding("n", "move_new", "New side", id="battle.move_new"),
        Binding("x", "export", "Export", id="battle.export"),
        # Help only, so that the entities tab's keys fit 80 columns; the
        # notification after each move names it.
        Binding("u", "reset_sides", "Undo", id="battle.reset_sides", show=False),
        Binding("r", "reload", "Reload", show=False, id="battle.reload"),
        Binding("enter", "open_killmail", "Killmail", id="battle.open", show=False),
    ]
    # The entity actions act on the entities table's cursor row and store an
    # override.
    TAB_ACTIONS: ClassVar[Mapping[str, frozenset[str]]] = {
        **dict.fromkeys(ENTITY_ACTIONS, frozenset({"entities"})),
        "toggle_timeline": frozenset({"timeline"}),
        "show_timeline": frozenset({"sides", "composition", "killmails", "entities"}),
    }
    DEFAULT_CSS = """
    BattleReportScreen #battle-header { height: auto; max-height: 4; }
    BattleReportScreen TabbedContent { height: 1fr; }
    BattleReportScreen #battle-sides { height: auto; }
    BattleReportScreen #battle-sides.-stacked { layout: vertical; }
    BattleReportScreen .battle-side { width: 1fr; height: auto; padding: 0 1; }
    BattleReportScreen #battle-sides.-stacked .battle-side {
        width: 100%;
        margin-bottom: 1;
    }
    BattleReportScreen SeriesPlot { height: 1fr; }
    BattleReportScreen #entities { height: 1fr; }
    BattleReportScreen #battle-entities { height: 1fr; }
    BattleReportScreen #entity-reason { height: auto; max-height: 3; padding: 0 1; }
    """

    def __init__(self, battle_id: int) -> None:
        super().__init__()
        self.battle_id = battle_id
        self.report: BattleReport | None = None
        self.timeline_measure = "kills"
        """Measure the timeline plots per minute: ``kills`` or ``isk`` lost."""
        self._queued_moves: collections.deque[_MoveRequest] = collections.deque()
        """Moves asked for while another was being applied, oldest first."""
        self._missing = False
        """True once a load found no stored battle with this id."""
        self._removed = False
        """True once a battle this screen showed was found removed."""
        self._resumed = False
        self._changes = 0
        """Count of moves and resets started, so that a load started before
        one of them does not show the sides from before it."""

    def compose_body(self) -> ComposeResult:
        yield Static(
            f"loading battle {self.battle_id}", id="battle-header", markup=False
        )
        with TabbedContent(initial="sides"):
            with TabPane("1 Sides", id="sides"), VerticalScroll(id="sides-scroll"):
                yield Horizontal(id="battle-sides")
            with TabPane("2 Ships", id="composition"), VerticalScroll():
                yield Static("", id="battle-composition")
            with TabPane("3 Timeline", id="timeline"):
                yield SeriesPlot(
                    TIMELINE_TITLES["kills"].format(bucket="minute"),
                    x_label="min",
                    max_samples=TIMELINE_MAX_MINUTES,
                    y_floor=0.0,
                    x_floor=0.0,
                    name_series=True,
                    series_markers=True,
                )
            with TabPane("4 Kills", id="killmails"):
                yield KillmailTable(KILL_COLUMNS, id="battle-killmails")
            with TabPane("5 Entities", id="entities"):
                yield BattleEntityTable(ENTITY_COLUMNS, id="battle-entities")
                yield Static("", id="entity-reason", markup=False)

    def on_mount(self) -> None:
        if self.evedmv_app.db is None:
            self._show_unavailable()
        self.action_tab("sides")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in REPORT_ACTIONS and self.report is None:
            # Nothing to export or move while loading, or for a missing battle.
            return False
        return super().check_action(action, parameters)

    def load_data(self) -> None:
        changes = self._changes

        def loaded(report: BattleReport | BattleNotFound) -> None:
            if changes == self._changes:
                self.show_report(report)

        self.run_query(_load_or_missing, self.battle_id, then=loaded)

    def on_screen_resume(self) -> None:
        """Load the report again when the screen is shown again.

        Opening this battle from the palette or another screen shows this
        screen, which may hold a report that another process has changed or
        removed since. The first resume comes with the mount, which loads
        already.
        """
        # A move or reset being stored shows its own report when it ends.
        if (
            self._resumed
            and self.evedmv_app.db is not None
            and not self._move_running()
        ):
            self.load_data()
        self._resumed = True

    def on_key(self, event: events.Key) -> None:
        """Say why export and move keys do nothing for a battle not stored."""
        if not self._missing:
            return
        bound = self._bindings.key_to_bindings.get(event.key, [])
        if any(b.action.partition("(")[0] in STORED_BATTLE_ACTIONS for b in bound):
            event.stop()
            self._notify_not_stored()

    def _notify_not_stored(self) -> None:
        self.notify(
            f"Battle {self.battle_id} is not stored, so it cannot be exported"
            " or changed. Press b to list the stored battles.",
            severity="warning",
            markup=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Start a queued move once the one before it has finished, and
        replace the loading line when the report fails to load."""
        from evedmv_tui.app import is_connection_error

        worker = event.worker
        if worker.group == "move":
            # The next move starts only now, because starting it from the
            # worker's own callback would cancel that worker, its group
            # being exclusive. A rejected move ends in SUCCESS too; a move
            # that failed (a lost connection) drops the moves queued after it.
            if event.state is WorkerState.SUCCESS:
                self._start_queued_move()
            elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
                self._drop_queued_moves("the move before it failed")
            return
        if (
            event.state is not WorkerState.ERROR
            or worker.group != "load"
            or self.report is not None
        ):
            return
        if worker.error is not None and is_connection_error(worker.error):
            self._show_unavailable()
        else:
            self.query_one("#battle-header", Static).update(
                f"Battle {self.battle_id} failed to load; the notification says why."
            )

    def _show_unavailable(self) -> None:
        self.query_one("#battle-header", Static).update(
            f"Battle {self.battle_id}: {DATABASE_UNAVAILABLE}"
        )

    def show_report(self, report: BattleReport | BattleNotFound) -> None:
        if isinstance(report, BattleNotFound):
            self._show_missing(report)
            return
        self._missing = self._removed = False
        self.report = report
        self.refresh_bindings()
        self._fit_header(self.size.width)
        sides = self.query_one("#battle-sides", Horizontal)
        self._fit_sides(self.size.width)
        sides.remove_children()
        sides.mount_all(
            SideSummary(report, side, classes="battle-side") for side in report.sides
        )
        self._fit_composition(self.size.width)
        self._show_timeline()
        self.query_one("#battle-killmails", KeyedTable).update_rows(
            (
                k.killmail_id,
                [
                    f"{k.killmail_time:%H:%M:%S}",
                    right(str(k.side_no or "-")),
                    truncate(
                        report.name(k.victim_character_id or k.victim_corporation_id),
                        24,
                    ),
                    truncate(report.type_names.get(k.victim_ship_type_id, "?"), 18),
                    # A kill without a value is stored as 0 and shown as ?.
                    right(format_isk(k.total_value if k.total_value > 0 else None)),
                ],
            )
            for k in report.killmails
        )
        self._fit_entities(self.size.width)
        self._show_reason()

    def _show_missing(self, error: BattleNotFound) -> None:
        """Clear the report of a battle that is not stored, or no longer is."""
        self._removed = self._removed or self.report is not None
        self._missing = True
        self.report = None
        self._drop_queued_moves("the battle is not stored")
        # The error's hint names commands; here the keys do the same.
        if self._removed:
            text = (
                f"Battle {self.battle_id} is no longer stored: battle detection"
                " ran again and removed it.\nPress b to list the stored battles."
            )
        else:
            text = (
                f"{error.message}.\nPress b for the stored battles; new ones are"
                " found as killmails are imported."
            )
        self.query_one("#battle-header", Static).update(text)
        self.query_one("#battle-sides", Horizontal).remove_children()
        self.query_one("#battle-composition", Static).update("")
        self._show_timeline()
        self.query_one("#battle-killmails", KeyedTable).update_rows([])
        entities = self.query_one(BattleEntityTable)
        entities.update_rows([])
        entities.refresh_entity_binding()
        self._show_reason()
        self.refresh_bindings()

    def on_resize(self, event: events.Resize) -> None:
        # DashboardScreen.on_resize runs too and checks the minimum size.
        self._fit_header(event.size.width)
        self._fit_sides(event.size.width)
        self._fit_composition(event.size.width)
        self._fit_entities(event.size.width)

    def _fit_entities(self, width: int) -> None:
        """Fill the entities table, cutting reasons to the width left for them.

        The line under the table shows the selected entity's whole reason.
        """
        report = self.report
        if report is None:
            return
        table = self.query_one(BattleEntityTable)
        rows: list[tuple[str, list[Text | str]]] = [
            (
                f"{e.entity_kind}:{e.entity_id}",
                [
                    right(str(e.side_no)),
                    e.entity_kind[:4] + ("*" if e.overridden else ""),
                    truncate(
                        ("  " if e.parent_id else "") + report.name(e.entity_id),
                        ENTITY_NAME_WIDTH,
                    ),
                    right(f"{e.confidence:.0%}"),
                ],
            )
            for e in report.entities
        ]
        # A long reason grows the line under the table to REASON_LINES lines,
        # so the table shrinks by as much. The rows must fit that smaller
        # table, because a vertical scroll bar would push the reasons past
        # the right edge.
        line = self.query_one("#entity-reason", Static)
        height = table.size.height + line.outer_size.height - REASON_LINES
        reason_width = _reason_width(
            table, [cells for _, cells in rows], width, max(0, height)
        )
        table.update_rows(
            (key, [*cells, truncate(e.reason, reason_width)])
            for (key, cells), e in zip(rows, report.entities, strict=True)
        )
        table.refresh_entity_binding()

    def on_tabbed_content_tab_activated(
        self, event: TabbedContent.TabActivated
    ) -> None:
        # The entities table is laid out once its tab is shown, and only
        # then is it known whether its rows need a scroll bar.
        if event.pane.id == "entities":
            self.call_after_refresh(lambda: self._fit_entities(self.size.width))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "battle-entities":
            self._show_reason()

    def _show_reason(self) -> None:
        """Show the whole reason of the entity under the cursor."""
        line = self.query_one("#entity-reason", Static)
        entity = self._selected_entity()
        if self.report is None or entity is None:
            line.update("")
            return
        line.update(f"{self.report.name(entity.entity_id)}: {entity.reason}")

    def _fit_header(self, width: int) -> None:
        if self.report is not None:
            self.query_one("#battle-header", Static).update(_header(self.report, width))

    def _fit_composition(self, width: int) -> None:
        if self.report is not None:
            # The pane's padding and scroll bar take 3 columns.
            text = _composition(self.report, width - 3)
            self.query_one("#battle-composition", Static).update(text)

    def _fit_sides(self, width: int) -> None:
        """Lay the sides side by side while each gets 26 columns, else stack them."""
        if self.report is None:
            return
        stacked = len(self.report.sides) * SIDE_MIN_WIDTH > width
        self.query_one("#battle-sides", Horizontal).set_class(stacked, "-stacked")

    def _show_timeline(self) -> None:
        """Plot kills or ISK lost by losing side, per minute or, for a short
        battle, per few seconds since its first kill."""
        plot = self.query_one(SeriesPlot)
        plot.clear_series()
        title = TIMELINE_TITLES[self.timeline_measure]
        if self.report is None:
            plot.plot_title = title.format(bucket="minute")
            plot.x_label = "min"
            return
        short = _short_timeline(self.report, self.timeline_measure)
        if short is not None:
            step, series = short
            plot.plot_title = title.format(
                bucket="second" if step == 1 else f"{step} s"
            )
            plot.x_label = "s"
            for side, values in series.items():
                points = [(index * step, value) for index, value in enumerate(values)]
                plot.set_series(f"side {side}", points)
            return
        plot.plot_title = title.format(bucket="minute")
        plot.x_label = "min"
        timeline = self.report.metrics["timeline"]
        if self.timeline_measure == "kills":
            for side, counts in timeline["kills"].items():
                plot.set_series(f"side {side}", list(enumerate(counts)))
        else:
            for side, values in timeline["isk"].items():
                millions = [value / 1e6 for value in values]
                plot.set_series(f"side {side}", list(enumerate(millions)))

    def action_tab(self, tab: str) -> None:
        """Show ``tab`` and focus its content, so arrows and Enter act on it."""
        tabs = self.query_one(TabbedContent)
        tabs.active = tab
        pane = tabs.get_pane(tab)
        # The sides pane focuses its scrolling container, so the arrows, page
        # keys, Home and End scroll it. A pane with nothing to focus leaves
        # focus on the tab strip, where Left and Right switch tabs.
        target: Widget | None = next(
            (widget for widget in pane.query("*") if widget.can_focus), None
        )
        if target is None:
            target = tabs.query_one(Tabs)
        target.focus()

    def action_show_timeline(self) -> None:
        """Show the timeline tab in the measure it had last."""
        self.action_tab("timeline")

    def action_toggle_timeline(self) -> None:
        """Switch the shown timeline between kills and ISK lost per minute."""
        self.timeline_measure = "isk" if self.timeline_measure == "kills" else "kills"
        self._show_timeline()

    def _selected_entity(self) -> EntityRow | None:
        """Return the entity under the entities table's cursor, if any."""
        if self.report is None:
            return None
        key = self.query_one("#battle-entities", KeyedTable).cursor_key
        if key is None:
            return None
        kind, _, entity_id = key.partition(":")
        return next(
            (
                e
                for e in self.report.entities
                if e.entity_kind == kind and e.entity_id == int(entity_id)
            ),
            None,
        )

    def _move_running(self) -> bool:
        return any(w.group == "move" and w.is_running for w in self.workers)

    def _request_move(self, step: int | None) -> None:
        """Move the selected entity ``step`` sides on, or to a new side (None).

        A key pressed while an earlier move is being applied waits for it:
        keys typed in a burst then act in order, each on the sides the moves
        before it produced.
        """
        selected = self._selected_entity()
        if selected is None or self.report is None:
            self.notify("select an entity on the Entities tab (5) first")
            return
        request = _MoveRequest(selected.entity_kind, selected.entity_id, step)
        if self._move_running():
            self._queued_moves.append(request)
            return
        # A move that failed (a lost connection) dropped its queue already.
        self._drop_queued_moves("the move before it failed")
        self._start_move(request)

    def _start_move(self, request: _MoveRequest) -> bool:
        """Start ``request`` against the report now shown; False if refused."""
        if self.report is None:
            return False
        entity = next(
            (
                e
                for e in self.report.entities
                if e.entity_kind == request.kind and e.entity_id == request.entity_id
            ),
            None,
        )
        if entity is None:
            return False
        side_no: int | None = None
        if request.step is not None:
            count = len(self.report.sides)
            side_no = entity.side_no + request.step
            # The ends do not wrap around, because a wrapped move would put the
            # entity with the side at the other end of the list.
            if side_no < 1:
                self._tell("already on side 1; n moves it to a new side")
                return False
            if side_no > count:
                self._tell(
                    f"already on the last side, {count}; n moves it to a new side"
                )
                return False
        kind, entity_id = request.kind, request.entity_id
        # Sides are numbered again after the move, so the message names the
        # side the entity joins by its label in the report before the move.
        joined = None if side_no is None else self.report.side_label(side_no)

        def run(db: Database) -> BattleReport | BattleNotFound | _RejectedMove:
            from evedmv_tui.app import is_connection_error

            try:
                move_entity(db, self.battle_id, kind, entity_id, side_no)
            except BattleNotFound as exc:
                return exc
            except EvedmvError as exc:
                # Not a failure of the worker: the sides already are as
                # requested or the move was rejected, often because another
                # dashboard or command changed the sides since the report
                # loaded. The report is loaded again to show the stored sides,
                # and the keys after it still act.
                if is_connection_error(exc):
                    raise
                return _RejectedMove(exc, _load_or_missing(db, self.battle_id))
            return _load_or_missing(db, self.battle_id)

        self._changes += 1

        self.run_query(
            run,
            then=lambda result: self._moved(
                result, kind, entity_id, joined, new_side=side_no is None
            ),
            group="move",
            on_error=self._move_failed,
        )
        return True

    def _move_failed(self, error: Exception) -> None:
        """Say that a move that failed on a lost connection was not stored."""
        from evedmv_tui.app import is_connection_error

        if is_connection_error(error):
            self.notify(
                "The move was not stored: the database is unavailable."
                " Press the key again once the status bar says connected.",
                title="Not moved",
                severity="warning",
                markup=False,
            )

    def _moved(
        self,
        result: BattleReport | BattleNotFound | _RejectedMove,
        kind: str,
        entity_id: int,
        joined: str | None,
        *,
        new_side: bool,
    ) -> None:
        """Show the report after a move, and notify the entity's new side.

        Sides are numbered again after every move, so the entity can land on
        the number it had. The notification names the side by ``joined``, the
        label the side had before the move (None: a new side), and then by
        its new number.
        """
        if isinstance(result, BattleNotFound):
            self.show_report(result)
            self._notify_not_stored()
            return
        if isinstance(result, _RejectedMove):
            self.show_report(result.report)
            if isinstance(result.report, BattleNotFound):
                self._notify_not_stored()
                return
            self._tell_rejected(result.error, new_side=new_side)
            return
        self.show_report(result)
        entity = next(
            (
                e
                for e in result.entities
                if e.entity_kind == kind and e.entity_id == entity_id
            ),
            None,
        )
        where = " to a new side" if joined is None else f" to the side of {joined}"
        if entity is not None:
            where += (
                f" (now side {entity.side_no}; sides are renumbered by ISK destroyed)"
            )
        text = f"moved {result.name(entity_id)}{where}; u puts every moved entity back"
        self._tell(text, timeout=6)

    def _tell_rejected(self, error: EvedmvError, *, new_side: bool) -> None:
        """Say why a move was rejected, with the keys that move the entity.

        The hints of ``move_entity`` name the command's options, such as
        ``--new-side``, so the keys of this screen replace them.
        """
        if isinstance(error, AlreadyOnSide):
            if new_side:
                keys = "[ or ] moves it to one of the other sides"
            else:
                keys = "[ or ] moves it to another side, n to a new side"
            self._tell(f"{error.message}; {keys}")
            return
        if isinstance(error, NotInBattle):
            # Its hint lists members and a command; the reloaded Entities
            # tab shows them all.
            self._tell(
                f"not moved: {error.message} any more; the Entities tab shows"
                " its members now",
                Severity.WARNING,
            )
            return
        hint = f"; {error.hint}" if error.hint else ""
        self._tell(f"not moved: {error.title}: {error.message}{hint}", Severity.WARNING)

    def _tell(
        self, text: str, severity: Severity = Severity.INFO, timeout: float = 5
    ) -> None:
        """Pop up ``text`` about a move key, or only log it while more keys wait.

        A pop-up per key of a burst would cover the screen, so only the last
        key's message pops up, and the message log (``l``) keeps every one.
        """
        if self._queued_moves:
            logged = LoggedMessage(dt.datetime.now(), severity, text)
            message_log(self.app).add(logged)
            return
        if severity >= Severity.WARNING:
            self.notify(text, severity="warning", timeout=timeout, markup=False)
        else:
            self.notify(text, timeout=timeout, markup=False)

    def _drop_queued_moves(self, reason: str) -> None:
        """Forget the move keys still waiting, logging each as not applied."""
        while self._queued_moves:
            request = self._queued_moves.popleft()
            name = self.report.name(request.entity_id) if self.report else None
            label = name or f"{request.kind} {request.entity_id}"
            logged = LoggedMessage(
                dt.datetime.now(),
                Severity.WARNING,
                f"not moved: {label} ({request.key_name}): {reason}",
            )
            message_log(self.app).add(logged)

    def _start_queued_move(self) -> None:
        """Start the oldest queued move that still applies, if any."""
        while self._queued_moves:
            if self._start_move(self._queued_moves.popleft()):
                return

    def action_reload(self) -> None:
        self.load_data()

    def action_reset_sides(self) -> None:
        if self.report is None:
            return
        if not any(entity.overridden for entity in self.report.entities):
            self.notify("no entity was moved; the sides are as detected")
            return

        def reset(db: Database) -> BattleReport | BattleNotFound:
            try:
                clear_overrides(db, self.battle_id)
            except BattleNotFound as exc:
                return exc
            return _load_or_missing(db, self.battle_id)

        def reset_done(result: BattleReport | BattleNotFound) -> None:
            self.show_report(result)
            if isinstance(result, BattleNotFound):
                self._notify_not_stored()

        def answered(yes: bool | None) -> None:
            if yes:
                self._changes += 1
                self.run_query(reset, then=reset_done, group="move")

        self.app.push_screen(
            ConfirmScreen("Put every moved entity back on its detected side?"),
            answered,
        )

    def action_move(self, step: int) -> None:
        self._request_move(step)

    def action_move_new(self) -> None:
        self._request_move(None)

    def action_export(self) -> None:
        """Write the report as Markdown and JSON, and the battle's recipe.

        The recipe is the file ``battles show ID --save-recipe`` writes. It
        comes from the database, so while connected a worker loads the
        report again and writes all three files: a battle that another
        process changed is exported as stored, and one it removed is not
        exported. While the database is unavailable, the report shown is
        written without the recipe. A file that cannot be written becomes
        a notification naming its path.
        """
        if self.report is None:
            if self._missing:
                self._notify_not_stored()
            return
        folder = Path(self.evedmv_app.settings.state_dir) / "exports"
        if self.evedmv_app.db is None:
            written = _write_report_files(self.report, folder, self.battle_id)
            if isinstance(written, str):
                self._export_failed(written)
                return
            self.notify(
                f"exported {' and '.join(map(str, written))}; the recipe needs"
                " the database, so export again once the dashboard reconnects",
                severity="warning",
                markup=False,
            )
            return
        changes = self._changes

        def exported(result: _Export | BattleNotFound) -> None:
            if isinstance(result, BattleNotFound):
                self.show_report(result)
                self._notify_not_stored()
                return
            if changes == self._changes:
                self.show_report(result.report)
            files = [str(path) for path in result.written]
            if result.failure is not None:
                done = f"exported {' and '.join(files)}, but " if files else ""
                self._export_failed(done + result.failure)
                return
            self.notify(
                f"exported {', '.join(files)} and the recipe {result.recipe}",
                markup=False,
            )

        def failed(exc: Exception) -> None:
            # The app's failure handler has shown why the export failed.
            self.notify(
                "the report was not exported; press x to try again",
                severity="warning",
                markup=False,
            )

        self.run_query(
            _export_battle,
            self.battle_id,
            folder,
            then=exported,
            group="export",
            on_error=failed,
        )

    def _export_failed(self, text: str) -> None:
        self.notify(
            f"{text[:1].upper()}{text[1:]}. {EXPORT_WRITE_HINT}",
            title="Export failed",
            severity="error",
            markup=False,
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Open the killmail when Enter selects a row of the killmail list."""
        event.stop()
        if event.data_table.id == "battle-killmails":
            self.action_open_killmail()

    def action_open_killmail(self) -> None:
        if self.query_one(TabbedContent).active != "killmails":
            return
        key = self.query_one("#battle-killmails", KeyedTable).cursor_key
        if key is not None:
            self.evedmv_app.open_screen("killmail", int(key))


@dataclasses.dataclass(frozen=True, slots=True)
class _RejectedMove:
    """A move that ``move_entity`` rejected, and the report loaded after it."""

    error: EvedmvError
    report: BattleReport | BattleNotFound


@dataclasses.dataclass(frozen=True, slots=True)
class _MoveRequest:
    """A move key's request: the entity, and sides to step (None: a new side)."""

    kind: str
    entity_id: int
    step: int | None

    @property
    def key_name(self) -> str:
        """The move the key asked for, as the footer names it."""
        if self.step is None:
            return "new side"
        return "side -" if self.step < 0 else "side +"


def _reason_width(
    table: DataTable[Any], rows: list[list[Text | str]], width: int, height: int
) -> int:
    """Return the columns of a ``width`` wide entities table left for the reason.

    The other columns take their widest cell or label, as DataTable sizes
    them, and every column a padding on each side. The vertical scroll bar
    takes its width too, unless the rows are known to fit in ``height``
    lines.
    """
    padding = 2 * table.cell_padding
    used = padding
    for index, (_, label) in enumerate(ENTITY_COLUMNS[:-1]):
        cells = (
            Text(cell) if isinstance(cell, str) else cell
            for cell in (row[index] for row in rows)
        )
        used += max([len(label), *(cell.cell_len for cell in cells)]) + padding
    # The header takes one row.
    fits = 0 < len(rows) + 1 <= height
    if not fits:
        used += table.styles.scrollbar_size_vertical
    return max(MIN_REASON_WIDTH, width - used)


def _short_timeline(
    report: BattleReport, measure: str
) -> tuple[int, dict[int, list[float]]] | None:
    """Count a short battle's kills, or sum their ISK in millions, per few
    seconds since its first kill, by losing side.

    Returns the seconds each value counts and the values of each side, or
    None when the kills span :data:`SHORT_BATTLE_SECONDS` or more. As in
    the per-minute timeline, a kill whose victim is on no side is left out.
    """
    kills = report.killmails
    if not kills:
        return None
    first = min(kill.killmail_time for kill in kills)
    span = (max(kill.killmail_time for kill in kills) - first).total_seconds()
    if span >= SHORT_BATTLE_SECONDS:
        return None
    step = next((s for s in BUCKET_SECONDS if span / s <= 60), BUCKET_SECONDS[-1])
    buckets = int(span // step) + 1
    series: dict[int, list[float]] = {}
    for kill in kills:
        if kill.side_no is None:
            continue
        values = series.setdefault(kill.side_no, [0.0] * buckets)
        index = int((kill.killmail_time - first).total_seconds() // step)
        values[index] += 1 if measure == "kills" else kill.total_value / 1e6
    return step, dict(sorted(series.items()))


def _load_or_missing(db: Database, battle_id: int) -> BattleReport | BattleNotFound:
    """Load the report, or return the BattleNotFound error for an unknown id."""
    try:
        return load_report(db, battle_id)
    except BattleNotFound as exc:
        return exc


def _write_report_files(
    report: BattleReport, folder: Path, battle_id: int
) -> list[Path] | str:
    """Write ``report`` as Markdown and JSON into ``folder``.

    Returns the paths written, or why the folder or a file could not be
    written, naming its path.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"could not create the folder {folder}: {_reason(exc)}"
    written = []
    for fmt, suffix in (("markdown", "md"), ("json", "json")):
        path = folder / f"battle-{battle_id}.{suffix}"
        try:
            path.write_text(render(report, fmt), encoding="utf-8")
        except OSError as exc:
            return f"could not write {path}: {_reason(exc)}"
        written.append(path)
    return written


def _reason(error: OSError) -> str:
    """Return the system's reason for ``error``, such as ``File exists``."""
    return error.strerror or str(error)


@dataclasses.dataclass(frozen=True, slots=True)
class _Export:
    """The files an export wrote, from the report it loaded."""

    report: BattleReport
    written: list[Path]
    """The report's Markdown and JSON files, or none if they failed."""
    recipe: Path | None
    failure: str | None
    """Reason a file could not be written, naming its path; None on success."""


def _export_battle(
    db: Database, battle_id: int, folder: Path
) -> _Export | BattleNotFound:
    """Load the battle's report, and write it and the recipe into ``folder``.

    Returns the BattleNotFound error when the battle is not stored, so that
    nothing is written for it.
    """
    try:
        report = load_report(db, battle_id)
    except BattleNotFound as exc:
        return exc
    recipe = recipe_of_battle(db, battle_id)
    written = _write_report_files(report, folder, battle_id)
    if isinstance(written, str):
        return _Export(report, [], None, written)
    path = folder / f"battle-{battle_id}.recipe.json"
    try:
        write_recipe(recipe, path)
    except RecipeError as exc:
        # The message is the path and the system's reason.
        return _Export(
            report, written, None, f"could not write the recipe {exc.message}"
        )
    return _Export(report, written, path, None)
