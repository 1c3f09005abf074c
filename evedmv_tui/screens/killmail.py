"""One killmail: victim, attackers with the final blow, and the item tree."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar, NamedTuple, cast

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import (
    DataTable,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
    Tree,
)
from textual.widgets.data_table import CellDoesNotExist
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState

from evedmv_tui.ingest.pending import FETCH_PENDING_COMMAND, OFFLINE_SETTINGS
from evedmv_tui.ingest.rejects import RejectRow, list_rejects
from evedmv_tui.names import NameResolver, unnamed
from evedmv_tui.queries.killmail import (
    AttackerRow,
    ItemNode,
    KillmailDetail,
    KillmailHeader,
    KillmailLookup,
    SlotGroup,
    ValueSum,
    load_killmail,
    missing_name_ids,
    value_sums,
    with_names,
)
from evedmv_tui.screens import DashboardScreen, find_entry
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.status import DATABASE_UNAVAILABLE, KeyFooter, Severity
from evedmv_tui.widgets.table import Cell, KeyedTable, plain, right
from evedmv_tui.widgets.text import (
    count_noun,
    fold_parts,
    format_count,
    format_isk,
    strip_control,
    truncate,
)

if TYPE_CHECKING:
    from evedmv_tui.app import EvedmvApp

# Damage comes before ship and weapon so that it stays visible at 80 columns.
ATTACKER_COLUMNS = (
    ("final", "FB"),
    ("name", "Attacker"),
    ("damage", "Damage"),
    ("share", "%"),
    ("ship", "Ship"),
    ("weapon", "Weapon"),
    ("corporation", "Corporation"),
    ("alliance", "Alliance"),
)
NAME_WIDTH = 24
"""Characters of a name shown in a table cell before it is cut."""
FIRST_ROWS = 60
"""Attackers added before the screen is first drawn: a screenful at 200x60."""
ROWS_PER_STEP = 200
"""Attackers added in each later step; keys are handled between steps."""
NAMES_FAILED = "shown as #id, r tries again"
DETAIL_ACTIONS = frozenset({"show_tab", "expand_items", "victim"})
"""Actions that act on a shown killmail, hidden until one is shown."""
"""The status message's words after a name lookup that ESI cut short."""

TreeData = SlotGroup | ItemNode | None
EntityKey = tuple[str, int]
"""An entity that has a page: its kind (``character``, ``corporation`` or
``alliance``, the name of its screen) and its id."""
ENTITY_KINDS = ("character", "corporation", "alliance")
LABEL_WIDTH = 9
"""Columns of the victim panel's labels (``Victim   ``), where its values start."""


def entity_label(entity_id: int | None, name: str | None) -> str | None:
    """Return the name, ``#id`` while the name is unknown, or None without an id."""
    if name:
        return strip_control(name)
    if entity_id:
        return unnamed(entity_id)
    return None


def type_label(type_id: int | None, name: str | None) -> str:
    """Return a type's name, ``type #id`` when the SDE lacks it, or ``-``."""
    if name:
        return strip_control(name)
    return f"type #{type_id}" if type_id else "-"


def attacker_name(attacker: AttackerRow) -> str:
    """Name a pilot, or an NPC or structure by its faction, then its ship."""
    return (
        entity_label(attacker.character_id, attacker.character_name)
        or entity_label(attacker.faction_id, attacker.faction_name)
        or entity_label(attacker.corporation_id, attacker.corporation_name)
        or type_label(attacker.ship_type_id, attacker.ship_name)
    )


def describe_security(security: float | None) -> str:
    """Return the security status with one decimal, as the game shows it."""
    return "?" if security is None else f"{security:.1f}"


def describe_header(detail: KillmailDetail, width: int = 80) -> str:
    """Return the victim panel: time, place, victim, ship, values, final blow.

    Each line is folded to ``width`` columns between its parts, and its
    continuation is indented under the value column.
    """
    h = detail.header
    place = strip_control(h.solar_system_name or f"system #{h.solar_system_id}")
    if h.region_name:
        place += f" ({strip_control(h.region_name)})"
    place += f" {describe_security(h.security)}"
    ship = type_label(h.victim_ship_type_id, h.victim_ship_name)
    if h.victim_ship_group:
        ship += f" ({strip_control(h.victim_ship_group)})"
    attackers = f"attacker{'s' if h.attacker_count != 1 else ''}"
    lines = [
        fold_labelled(
            "Killmail",
            [
                ("", str(h.killmail_id)),
                ("  ", f"{h.killmail_time:%Y-%m-%d %H:%M:%S} UTC"),
                ("  ", place),
            ],
            width,
        ),
        fold_labelled("Victim", victim_parts(h), width),
        fold_labelled(
            "Ship",
            [
                ("", ship),
                (", ", f"{format_count(h.victim_damage_taken)} damage taken"),
                (", ", f"{h.attacker_count:,} {attackers}"),
            ],
            width,
        ),
        fold_labelled("Value", value_parts(detail, width), width),
    ]
    final = detail.final_blow
    if final is not None:
        weapon = type_label(final.weapon_type_id, final.weapon_name)
        final_parts = [
            ("", attacker_name(final)),
            (" ", f"in {type_label(final.ship_type_id, final.ship_name)}"),
            (" ", f"with {weapon}"),
        ]
        lines.append(fold_labelled("Final", final_parts, width))
    return "\n".join(lines)


def fold_labelled(label: str, parts: Sequence[tuple[str, str]], width: int) -> str:
    """Return a panel line: ``label``, then ``parts`` folded under the values."""
    return f"{label:<{LABEL_WIDTH}}" + fold_parts(parts, width, LABEL_WIDTH)


def victim_parts(h: KillmailHeader) -> list[tuple[str, str]]:
    """Return the victim's character, corporation, alliance and faction."""
    names = [
        entity_label(h.victim_character_id, h.victim_character_name),
        entity_label(h.victim_corporation_id, h.victim_corporation_name),
        entity_label(h.victim_alliance_id, h.victim_alliance_name),
        entity_label(h.victim_faction_id, h.victim_faction_name),
    ]
    shown = [name for name in names if name]
    if not shown:
        return [("", "unknown (a structure or NPC)")]
    return [("", shown[0]), *((" / ", name) for name in shown[1:])]


def format_sum(value: ValueSum) -> str:
    """Format a sum of ISK: ``?`` when no row in it has a price, and a ``+``
    after the amount when some rows lack one, because it is then a lower
    bound."""
    if value.unpriced and not value.priced:
        return "?"
    return format_isk(value.isk) + ("+" if value.unpriced else "")


def hull_sum(header: KillmailHeader) -> ValueSum:
    """Return the destroyed hull's value, unknown without a price."""
    return ValueSum.of_price(header.hull_price, 1)


def describe_unpriced(detail: KillmailDetail) -> str:
    """Return what has no price: ``13 unpriced``, ``hull and 2 unpriced``."""
    items = sum(1 for item in detail.items if item.unit_price is None)
    parts = ["hull"] if detail.header.hull_price is None else []
    if items:
        parts.append(f"{items:,}")
    return " and ".join(parts) + " unpriced" if parts else ""


def value_parts(detail: KillmailDetail, width: int = 80) -> list[tuple[str, str]]:
    """Return the killmail's ISK values, saying where they come from.

    A value from prices that leaves out unpriced items or the hull ends in
    ``+``, or reads ``?`` when nothing in it has a price. The source then
    names how many are unpriced. It drops ``from prices`` when the line,
    with its ``Value`` label, would be wider than ``width`` columns. The
    result is ``(separator, text)`` parts, for :func:`fold_parts`.
    """
    h = detail.header
    flags = [
        word for word, on in (("solo", h.solo), ("NPC", h.npc), ("awox", h.awox)) if on
    ]
    suffix = [("; ", ", ".join(flags))] if flags else []
    if h.total_value is not None and h.value_source != "computed":
        source = "zKillboard" if h.value_source == "zkb" else "source unknown"
        return [
            ("", f"{format_isk(h.total_value)} total"),
            (", ", f"{format_isk(h.dropped_value)} dropped"),
            (", ", f"{format_isk(h.destroyed_value)} destroyed"),
            (" ", f"({source})"),
            *suffix,
        ]
    if not detail.items and h.hull_price is None:
        return [("", "unknown: no prices for this ship or its items"), *suffix]
    dropped, destroyed = value_sums(detail.items)
    destroyed += hull_sum(h)
    total = dropped + destroyed
    if h.total_value is not None:
        # Valuation stored these from the same prices, so the sums above
        # count the rows they leave out.
        dropped = dataclasses.replace(dropped, isk=h.dropped_value or 0.0)
        destroyed = dataclasses.replace(destroyed, isk=h.destroyed_value or 0.0)
        total = dataclasses.replace(total, isk=h.total_value)
    values = [
        ("", f"{format_sum(total)} total"),
        (", ", f"{format_sum(dropped)} dropped"),
        (", ", f"{format_sum(destroyed)} destroyed"),
    ]
    unpriced = describe_unpriced(detail)
    source = f"(from prices{', ' + unpriced if unpriced else ''})"
    parts = [*values, (" ", source), *suffix]
    if unpriced and LABEL_WIDTH + cell_len(join_parts(parts)) > width:
        parts = [*values, (" ", f"({unpriced})"), *suffix]
    return parts


def join_parts(parts: Iterable[tuple[str, str]]) -> str:
    """Return ``(separator, text)`` parts on one line."""
    return "".join(separator + text for separator, text in parts)


def attacker_cells(attacker: AttackerRow, damage_taken: int) -> tuple[str, list[Cell]]:
    """Return the table key and cells of one attacker."""
    share = 100.0 * attacker.damage_done / damage_taken if damage_taken else 0.0
    corporation = entity_label(attacker.corporation_id, attacker.corporation_name)
    alliance = entity_label(attacker.alliance_id, attacker.alliance_name)
    return str(attacker.attacker_index), [
        "FB" if attacker.final_blow else "",
        truncate(attacker_name(attacker), NAME_WIDTH),
        attacker.damage_done,
        right(f"{share:.1f}"),
        truncate(type_label(attacker.ship_type_id, attacker.ship_name), NAME_WIDTH),
        truncate(type_label(attacker.weapon_type_id, attacker.weapon_name), NAME_WIDTH),
        truncate(corporation or "", NAME_WIDTH),
        truncate(alliance or "", NAME_WIDTH),
    ]


def attacker_entity(attacker: AttackerRow, column: str) -> EntityKey | None:
    """Return the entity a column of an attacker's row names, if it has a page.

    The Corporation and Alliance columns name those; every other column
    names the attacker's character, which NPCs and structures lack.
    """
    if column == "corporation":
        key: tuple[str, int | None] = ("corporation", attacker.corporation_id)
    elif column == "alliance":
        key = ("alliance", attacker.alliance_id)
    else:
        key = ("character", attacker.character_id)
    kind, entity_id = key
    return None if entity_id is None else (kind, entity_id)


def open_entity(app: EvedmvApp, entity: EntityKey) -> None:
    """Open the page of a character, corporation or alliance, if registered."""
    kind, entity_id = entity
    try:
        find_entry(kind, app.screen_entries)
    except KeyError:
        app.set_status(f"{kind} pages are not available")
        return
    app.open_screen(kind, entity_id)


def describe_quantities(node: ItemNode) -> str:
    item = node.item
    parts = []
    if item.quantity_dropped:
        parts.append(f"dropped {format_count(item.quantity_dropped)}")
    if item.quantity_destroyed:
        parts.append(f"destroyed {format_count(item.quantity_destroyed)}")
    return ", ".join(parts) or "quantity 0"


def item_label(node: ItemNode) -> Text:
    """Return a tree label: name, quantities, value, and a container's total."""
    item = node.item
    name = type_label(item.item_type_id, item.type_name)
    if item.singleton == 2:
        name += " (copy)"
    label = Text(name, style="bold" if item.quantity_dropped else "")
    label.append(f"  {describe_quantities(node)}")
    if item.unit_price is None:
        label.append("  no price")
    else:
        own = item.dropped_value + item.destroyed_value
        label.append(f"  {format_isk(own)}")
    if node.children:
        # Values of zero are left out, so the line fits 80 columns more often.
        dropped, destroyed = value_sums(node.rows())
        values = [
            f"{format_sum(value)} {verb}"
            for value, verb in ((dropped, "dropped"), (destroyed, "destroyed"))
            if value.isk or value.unpriced
        ]
        label.append(f"  [{', '.join([f'{len(node.children)} inside', *values])}]")
    return label


def group_label(group: SlotGroup) -> Text:
    label = Text(group.title, style="bold")
    dropped, destroyed = value_sums(group.rows())
    label.append(f"  {format_sum(dropped)} dropped, {format_sum(destroyed)} destroyed")
    return label


def root_label(detail: KillmailDetail) -> Text:
    """Return the tree root: item totals, the hull price and unpriced rows."""
    unpriced = sum(1 for item in detail.items if item.unit_price is None)
    dropped, destroyed = value_sums(detail.items)
    label = Text(f"{len(detail.items)} items", style="bold")
    label.append(
        f"  {format_sum(dropped)} dropped, {format_sum(destroyed)} destroyed,"
        f" hull {format_isk(detail.header.hull_price)}"
    )
    if unpriced:
        # The value line's word; "without a price" cut the line at 80 columns.
        label.append(f", {unpriced} unpriced")
    return label


class ResolvedNames(NamedTuple):
    """The names a lookup found, and why it stopped early, if it did."""

    names: dict[int, str]
    missing: int
    """Ids asked for that still have no name."""
    error: str | None


def resolve_missing_names(
    db: Database, ids: Collection[int], resolver: NameResolver
) -> ResolvedNames:
    """Resolve ``ids`` through the app's name resolver (runs in a worker)."""
    del db  # the resolver holds its own database
    resolved = resolver.resolve(ids)
    error = resolver.last_error
    return ResolvedNames(
        {entity_id: entry.name for entity_id, entry in resolved.items()},
        len(set(ids) - resolved.keys()),
        None if error is None else error.message,
    )


class EntityTable(KeyedTable):
    """A keyed table whose enter opens the entity under the cursor.

    Enter has one binding per kind of entity, so the footer names the kind
    the cursor is on, and shows no enter where the cursor names none.
    Subclasses implement :meth:`entity_at`, which maps a cell to its entity.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", f"open_entity('{kind}')", kind.title(), id=f"open.{kind}")
        for kind in ENTITY_KINDS
    ]
    """The footer names the kind of entity enter opens."""

    _footer_entity: EntityKey | None = None
    """The entity the footer's enter was last shown for."""

    def entity_at(self, coordinate: Coordinate) -> EntityKey | None:
        """Return the entity the cell at ``coordinate`` names, if it has a page."""
        raise NotImplementedError

    def cursor_entity(self) -> EntityKey | None:
        """Return the entity under the cursor, or None."""
        if not self.row_count:
            return None
        return self.entity_at(self.cursor_coordinate)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_entity":
            entity = self.cursor_entity()
            return entity is not None and entity[0] == parameters[0]
        return super().check_action(action, parameters)

    def watch_cursor_coordinate(
        self, old_coordinate: Coordinate, new_coordinate: Coordinate
    ) -> None:
        super().watch_cursor_coordinate(old_coordinate, new_coordinate)
        self.refresh_entity_binding()

    def refresh_entity_binding(self) -> None:
        """Update the footer when the entity under the cursor changes."""
        entity = self.cursor_entity()
        if entity != self._footer_entity:
            self._footer_entity = entity
            self.refresh_bindings()

    def action_open_entity(self, kind: str) -> None:
        entity = self.cursor_entity()
        if entity is not None and entity[0] == kind:
            open_entity(cast("EvedmvApp", self.app), entity)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        """Open the entity of a clicked cell (enter runs the bindings above)."""
        entity = self.entity_at(event.coordinate)
        if entity is not None:
            open_entity(cast("EvedmvApp", self.app), entity)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Open the entity of a clicked row (enter runs the bindings above)."""
        entity = self.entity_at(Coordinate(event.cursor_row, 0))
        if entity is not None:
            open_entity(cast("EvedmvApp", self.app), entity)


class AttackerTable(EntityTable):
    """The attackers table, which adds the rows of a large killmail in steps.

    Textual's DataTable converts and measures every cell of a new row on the
    UI thread, about 0.3 ms per attacker on a 2-core machine. Added at once,
    the 3,753 attackers of a Keepstar kill kept the screen blank for over a
    second. This table adds the first :data:`FIRST_ROWS` at once and
    the rest :data:`ROWS_PER_STEP` at a time after each screen refresh.
    Moving to the last row adds every remaining row first.

    The cursor is on a cell, so enter opens the corporation or alliance of
    the column it is in, and the character elsewhere in the row.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(ATTACKER_COLUMNS, id=id)
        self.cursor_type = "cell"
        self._attackers: dict[str, AttackerRow] = {}
        self._pending: deque[AttackerRow] = deque()
        self._damage_taken = 0
        self._fill_serial = 0

    def show_attackers(
        self, attackers: Sequence[AttackerRow], damage_taken: int
    ) -> None:
        """Show ``attackers`` in this order, the first screenful at once.

        Rows already shown for the same attackers in the same order are
        updated in place, so the cursor stays where it is when names arrive.
        """
        current_keys = self.row_keys
        expected = [str(a.attacker_index) for a in attackers[: len(current_keys)]]
        if expected != current_keys:
            self.clear()
        self._attackers = {str(a.attacker_index): a for a in attackers}
        self._pending = deque(attackers)
        self._damage_taken = damage_taken
        self._fill_serial += 1
        self._add_rows(self._fill_serial, FIRST_ROWS)

    def _add_rows(self, serial: int, count: int) -> None:
        # A newer show_attackers call starts its own chain of steps.
        if serial != self._fill_serial or not self.is_attached:
            return
        for _ in range(min(count, len(self._pending))):
            key, cells = attacker_cells(self._pending.popleft(), self._damage_taken)
            self.put_row(key, [plain(cell) for cell in cells])
        if self._pending:
            self.call_after_refresh(self._add_rows, serial, ROWS_PER_STEP)
        self.refresh_entity_binding()

    def entity_at(self, coordinate: Coordinate) -> EntityKey | None:
        try:
            row_key, column_key = self.coordinate_to_cell_key(coordinate)
        except CellDoesNotExist:
            return None
        attacker = self._attackers.get(str(row_key.value))
        if attacker is None:
            return None
        return attacker_entity(attacker, str(column_key.value))

    def action_scroll_bottom(self) -> None:
        """Move the cursor to the last attacker, adding any rows still pending."""
        self._add_rows(self._fill_serial, len(self._pending))
        super().action_scroll_bottom()


class VictimPanel(Static):
    """The victim panel, folded again to its width when that changes."""

    detail: KillmailDetail | None = None
    """The killmail shown, or None while the panel shows a message."""

    def on_resize(self) -> None:
        if self.detail is not None:
            self._fold(self.detail)

    def show_detail(self, detail: KillmailDetail) -> None:
        """Show the victim, ship, values and final blow of ``detail``."""
        self.detail = detail
        self._fold(detail)

    def show_text(self, text: str) -> None:
        """Show a message in place of a killmail."""
        self.detail = None
        self.update(text)

    def _fold(self, detail: KillmailDetail) -> None:
        width = self.content_region.width or self.app.size.width
        self.update(describe_header(detail, width))


class KillmailScreen(DashboardScreen):
    """Victim and values on top; attackers and items in two tabs below."""

    TITLE = "Killmail"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_tab('attackers')", "Attackers", id="killmail.attackers"),
        Binding("2", "show_tab('items')", "Items", id="killmail.items"),
        Binding("e", "expand_items", "Containers", id="killmail.expand"),
        Binding("v", "victim", "Victim", id="killmail.victim"),
        # Left off the footer so that it fits 80 columns with enter's label.
        Binding("r", "reload", "Reload", id="killmail.reload", show=False),
    ]
    # The tabs take the height left under the victim panel, so the attackers
    # table scrolls by itself and draws only its visible rows.
    DEFAULT_CSS = """
    KillmailScreen #killmail-tabs { height: 1fr; }
    KillmailScreen #killmail-tabs > ContentSwitcher { height: 1fr; }
    KillmailScreen #killmail-tabs TabPane { height: 1fr; }
    KillmailScreen #attacker-table { height: 1fr; }
    """

    def __init__(self, killmail_id: int) -> None:
        super().__init__()
        self.killmail_id = int(killmail_id)
        self.title = f"Killmail {self.killmail_id}"
        self.detail: KillmailDetail | None = None
        self._resumed = False

    def compose_body(self) -> ComposeResult:
        yield VictimPanel("Loading...", id="victim", markup=False)
        with TabbedContent(id="killmail-tabs", initial="attackers"):
            with TabPane("Attackers", id="attackers"):
                yield AttackerTable(id="attacker-table")
            with TabPane("Items", id="items"):
                tree: Tree[TreeData] = Tree("Items", id="item-tree")
                tree.show_root = True
                yield tree

    def on_mount(self) -> None:
        if self.evedmv_app.db is None:
            self._show_unavailable()

    def on_screen_resume(self) -> None:
        """Reload a pending, invalid or missing killmail when the screen shows again.

        A killmail shown as pending, invalid or missing may have been
        imported while a screen on top of this one was open. A killmail
        shown whole stays as it is (``r`` reloads it). The first resume
        comes with the mount, which loads already.
        """
        if self._resumed and self.detail is None and self.evedmv_app.db is not None:
            self.load_data()
        self._resumed = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in DETAIL_ACTIONS and self.detail is None:
            # No killmail to show the tabs of: loading, missing or pending.
            return False
        return super().check_action(action, parameters)

    def load_data(self) -> None:
        self.run_query(
            load_lookup, self.killmail_id, then=self._show_loaded, name="killmail"
        )

    def _show_loaded(self, loaded: tuple[KillmailLookup, list[RejectRow]]) -> None:
        self.show_lookup(*loaded)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Replace the loading line when the killmail fails to load."""
        from evedmv_tui.app import is_connection_error

        worker = event.worker
        if (
            event.state is not WorkerState.ERROR
            or worker.group != "load"
            or self.detail is not None
        ):
            return
        if worker.error is not None and is_connection_error(worker.error):
            self._show_unavailable()
        else:
            self.query_one(VictimPanel).show_text(
                f"Killmail {self.killmail_id} failed to load; the notification"
                " says why. Press r to try again."
            )

    def _show_unavailable(self) -> None:
        self.query_one(VictimPanel).show_text(
            f"Killmail {self.killmail_id}: {DATABASE_UNAVAILABLE}"
        )

    def show_lookup(
        self, lookup: KillmailLookup, rejects: Sequence[RejectRow] = ()
    ) -> None:
        """Show the killmail, or the reason it cannot be shown.

        ``rejects`` are the unresolved rejects of a missing killmail.
        """
        if lookup.detail is None:
            self.detail = None
            self.refresh_bindings()
            self.query_one(VictimPanel).show_text(describe_missing(lookup, rejects))
            self.query_one(AttackerTable).show_attackers((), 0)
            self.query_one("#item-tree", Tree).clear()
            return
        self.show_detail(lookup.detail)
        self.query_one(AttackerTable).focus()
        missing = missing_name_ids(lookup.detail)
        resolver = self.evedmv_app.name_resolver()
        if missing and resolver is not None:
            self.run_query(
                resolve_missing_names,
                missing,
                resolver,
                then=self.show_names,
                name="killmail.names",
                group="names",
            )

    def show_detail(self, detail: KillmailDetail) -> None:
        """Fill the victim panel, the attackers table and the item tree."""
        first = self.detail is None
        self.detail = detail
        if first:
            self.refresh_bindings()
        self.query_one(VictimPanel).show_detail(detail)
        self.query_one(AttackerTable).show_attackers(
            detail.attackers, detail.header.victim_damage_taken
        )
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("attackers").label = f"Attackers ({len(detail.attackers):,})"
        tabs.get_tab("items").label = f"Items ({len(detail.items)})"
        if first or not self.query_one("#item-tree", Tree).root.children:
            self._fill_tree(detail)

    def show_names(self, resolved: ResolvedNames) -> None:
        """Redraw with names that ESI resolved after the first display.

        When ESI failed, the status bar gives the reason the rest still show
        as ids.
        """
        if self.detail is not None and resolved.names:
            self.show_detail(with_names(self.detail, resolved.names))
        app = self.evedmv_app
        if resolved.error is not None and resolved.missing:
            # The hint comes before the error, which the bar may cut at 80
            # columns.
            app.set_status(
                f"{count_noun(resolved.missing, 'name')} {NAMES_FAILED}:"
                f" {resolved.error}",
                Severity.WARNING,
            )
        elif NAMES_FAILED in app.status.message:
            # A warning stays until replaced: clear the one an earlier lookup left.
            app.set_status("")

    def _fill_tree(self, detail: KillmailDetail) -> None:
        tree: Tree[TreeData] = self.query_one("#item-tree", Tree)
        tree.clear()
        tree.root.set_label(root_label(detail))
        for group in detail.item_groups():
            branch = tree.root.add(group_label(group), data=group, expand=True)
            for node in group.nodes:
                self._add_item(branch, node)
        tree.root.expand()

    def _add_item(self, parent: TreeNode[TreeData], node: ItemNode) -> None:
        if not node.children:
            parent.add_leaf(item_label(node), data=node)
            return
        branch = parent.add(item_label(node), data=node, expand=False)
        for child in node.children:
            self._add_item(branch, child)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        target = "#attacker-table" if tab == "attackers" else "#item-tree"
        self.query_one(target).focus()

    def action_expand_items(self) -> None:
        """Open every container in the item tree, or close them all if open."""
        self.action_show_tab("items")
        tree: Tree[TreeData] = self.query_one("#item-tree", Tree)
        containers = [
            node for group in tree.root.children for node in _branches(group.children)
        ]
        if not containers:
            if self.detail is not None:
                self.notify("no item on this killmail holds other items")
            return
        if all(node.is_expanded for node in containers):
            for node in containers:
                node.collapse()
        else:
            for node in containers:
                node.expand()

    def action_victim(self) -> None:
        """Ask which of the victim's character, corporation or alliance to open."""
        if self.detail is None:
            return
        choices = victim_choices(self.detail.header)
        if not choices:
            self.notify("the victim has no character, corporation or alliance page")
            return

        def chosen(entity: EntityKey | None) -> None:
            if entity is not None:
                open_entity(self.evedmv_app, entity)

        self.app.push_screen(VictimScreen(choices), chosen)

    def action_reload(self) -> None:
        if self.evedmv_app.db is None:
            self.evedmv_app.set_status("not connected; reloads on reconnect")
            return
        self.detail = None
        self.refresh_bindings()
        self.load_data()


def victim_choices(header: KillmailHeader) -> list[tuple[EntityKey, str]]:
    """Return the victim's entities that have a page, each with its label."""
    entities = (
        ("character", header.victim_character_id, header.victim_character_name),
        ("corporation", header.victim_corporation_id, header.victim_corporation_name),
        ("alliance", header.victim_alliance_id, header.victim_alliance_name),
    )
    return [
        ((kind, entity_id), f"{kind.title():<12} {entity_label(entity_id, name)}")
        for kind, entity_id, name in entities
        if entity_id is not None
    ]


class VictimOptions(OptionList):
    """The victim's pages, with enter shown in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Open", id="victim.open"),
    ]


class VictimScreen(ModalScreen[EntityKey | None]):
    """Pick the victim's character, corporation or alliance to open its page."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="victim.close"),
    ]
    DEFAULT_CSS = """
    VictimScreen { align: center middle; }
    VictimScreen > Vertical {
        width: 60;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    VictimScreen VictimOptions, VictimScreen VictimOptions:focus {
        height: auto;
        border: none;
    }
    """

    def __init__(self, choices: Sequence[tuple[EntityKey, str]]) -> None:
        super().__init__()
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Open a page of the victim:")
            yield VictimOptions(
                *(
                    Option(Text(truncate(label, 54)), id=str(index))
                    for index, (_, label) in enumerate(self.choices)
                )
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        options = self.query_one(VictimOptions)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index][0])


def _branches(nodes: Iterable[TreeNode[TreeData]]) -> Iterator[TreeNode[TreeData]]:
    """Yield the nodes that hold others, at every depth below ``nodes``."""
    for node in nodes:
        if node.children:
            yield node
            yield from _branches(node.children)


MISSING_REJECTS_SHOWN = 2
"""Rejects of a missing killmail whose reasons the killmail screen shows."""


def load_lookup(
    db: Database, killmail_id: int
) -> tuple[KillmailLookup, list[RejectRow]]:
    """Load one killmail and, when it is missing, its unresolved rejects."""
    lookup = load_killmail(db, killmail_id)
    if lookup.state != "missing":
        return lookup, []
    rejects = list_rejects(db, limit=MISSING_REJECTS_SHOWN + 1, killmail_id=killmail_id)
    return lookup, rejects


def describe_missing(
    lookup: KillmailLookup,
    rejects: Sequence[RejectRow] = (),
    now: dt.datetime | None = None,
) -> str:
    """Explain why a killmail cannot be shown, and what to do.

    ``now`` is the time a retry wait is compared with; the clock's by default.
    """
    if lookup.state == "pending":
        text = (
            f"Killmail {lookup.killmail_id} is known by id and hash, but its body"
            " has not been fetched from ESI yet: it was imported offline, or the"
            " fetch failed.\n"
            f"To fetch it, run '{FETCH_PENDING_COMMAND}', which fetches every"
            " pending body from ESI. It is refused while offline"
            f" ({OFFLINE_SETTINGS})."
        )
        now = now or dt.datetime.now(dt.UTC)
        if lookup.attempts:
            times = "once" if lookup.attempts == 1 else f"{lookup.attempts} times"
            text += f"\nIts fetch failed {times}"
            if lookup.next_try_at is not None and lookup.next_try_at > now:
                utc = lookup.next_try_at.astimezone(dt.UTC)
                text += (
                    f"; imports skip it until {utc:%Y-%m-%d %H:%M} UTC, and each"
                    " further failure doubles the wait, up to a day"
                )
            text += "."
    elif lookup.state == "invalid":
        text = f"ESI rejected the hash of killmail {lookup.killmail_id}."
    elif rejects:
        return describe_rejected(lookup.killmail_id, rejects)
    else:
        return (
            f"Killmail {lookup.killmail_id} is not in the database. Import it"
            " first, or check the id."
        )
    if lookup.last_error:
        text += f"\nLast error: {strip_control(lookup.last_error)}"
    return text


def describe_rejected(killmail_id: int, rejects: Sequence[RejectRow]) -> str:
    """Explain that a missing killmail's records were rejected, and why."""
    count = len(rejects)
    noun = "a record" if count == 1 else "records"
    lines = [
        f"Killmail {killmail_id} is not in the database: an import rejected"
        f" {noun} of it."
    ]
    for row in rejects[:MISSING_REJECTS_SHOWN]:
        lines.append(
            f"- {strip_control(row.source_file)} {strip_control(row.position)}:"
            f" {strip_control(row.reason)}"
        )
    if count > MISSING_REJECTS_SHOWN:
        lines.append("- and more")
    lines.append(
        "Fix the record and import it again; 'evedmv rejects list' and the"
        " Rejected records screen list every reject."
    )
    return "\n".join(lines)
