"""The corporation, alliance and character pages: one screen, three kinds.

The screen takes an id or a name. A name that matches several entities
shows them in a list to pick from. The page loads in a thread worker
(:func:`evedmv_tui.intel.pages.load_page`: four statements) and reloads when
the period changes, on ``r``, and when the screen is shown again.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection, Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical, VerticalScroll
from textual.widgets import (
    DataTable,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from evedmv_tui.intel.entities import (
    MAX_CANDIDATES,
    EntityKind,
    EntityMatches,
    EntityRef,
    Period,
    candidates_heading,
    find_entities,
)
from evedmv_tui.intel.pages import (
    ONE_SIDED_LISTS,
    TOP_LISTS,
    EntityPage,
    TopEntry,
    load_page,
    period_heading,
    period_note,
    recent_heading,
)
from evedmv_tui.intel.search import id_range_hint, parse_id
from evedmv_tui.keyhold import after_keys
from evedmv_tui.names import (
    NameResolver,
    has_stored_names,
    unnamed,
    unresolved_names_hint,
)
from evedmv_tui.screens import DashboardScreen, describe_key, find_entry
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.intel_heatmap import HeatmapView
from evedmv_tui.widgets.intel_summary import SummaryPanel
from evedmv_tui.widgets.intel_tables import BattleTable, RecentTable, TopListTable
from evedmv_tui.widgets.status import DATABASE_UNAVAILABLE
from evedmv_tui.widgets.table import KeyedTable
from evedmv_tui.widgets.text import fold_parts, quote_value, strip_control

TOP_TITLES = {
    "pilots": "Pilot",
    "ships_flown": "Class flown",
    "ships_lost": "Class lost",
    "systems": "System",
    "regions": "Region",
    "with_corporations": "Corp flown with",
    "with_alliances": "Alliance flown with",
    "against_corporations": "Corp fought",
    "against_alliances": "Alliance fought",
}

COUNT_LABELS = {"ships_flown": {"kills": "On kills"}}
"""Count headers that differ from the plain "Kills" and "Losses".

A ship class row counts the kills that the entity flew that class on, so the
rows add up to more than the kills when a kill had several classes."""

PERIOD_KEYS = {
    "1": Period.WEEK,
    "2": Period.MONTH,
    "3": Period.QUARTER,
    "4": Period.ALL,
}

RECENT_ROLES = {"kills": "kill", "losses": "loss"}
"""Role of a recent killmail for each side a one-sided top list counts."""

TOP_LIST_KINDS = {
    "pilots": EntityKind.CHARACTER,
    "with_corporations": EntityKind.CORPORATION,
    "against_corporations": EntityKind.CORPORATION,
    "with_alliances": EntityKind.ALLIANCE,
    "against_alliances": EntityKind.ALLIANCE,
}
"""The kind of entity each entity top list names, whose page Enter opens."""

EMPTY_TOP_LISTS = {
    "pilots": "No pilot of this entity is named on its kills.",
    "ships_flown": "No ship class is stored for the ships on its kills.",
    "ships_lost": "No ship class is stored for the ships it lost.",
    "systems": "No system is stored for its kills and losses.",
    "regions": "No region is stored for the systems of its kills and losses.",
    "with_corporations": "No other attacker on its kills is in a corporation.",
    "with_alliances": "No other attacker on its kills is in an alliance.",
    "against_corporations": "No other corporation is on its kills or losses.",
    "against_alliances": "No other alliance is on its kills or losses.",
}
"""The line an empty top list shows when the period has killmails it counts."""

PLACE_LISTS = frozenset({"systems", "regions"})
"""Top lists of solar systems and regions, named from the static data."""

TAB_KEYS = {
    "5": ("tab-summary", "Summary"),
    "6": ("tab-tops", "Top lists"),
    "7": ("tab-recent", "Recent"),
    "8": ("tab-battles", "Battles"),
}
"""Digit key, pane id and label of each tab. The period keys take 1 to 4."""

OPEN_TARGETS = {
    "killmail": "Killmail",
    "battle": "Battle",
    "character": "Character",
    "corporation": "Corporation",
    "alliance": "Alliance",
}
"""Screens that Enter opens from a row of the page, with the footer's label."""

PAGE_ACTIONS = frozenset({"period", "next_tab", "tab"})
"""Actions that act on a shown page, hidden until one is shown."""


def tab_label(pane: str) -> str:
    """Return the tab's label, after the digit key that shows it (``5 Summary``)."""
    for key, (pane_id, label) in TAB_KEYS.items():
        if pane_id == pane:
            return f"{key} {label}"
    raise KeyError(f"no tab key for the pane {pane!r}")


class StoredNames:
    """Resolves names from an in-process cache and the ``names`` table.

    NOTE: the dashboard does not ask ESI for missing names; an entity whose
    name was never stored shows as ``#<id>``.
    """

    def __init__(self) -> None:
        self._resolver: NameResolver | None = None

    def __call__(self, db: Database, ids: Collection[int]) -> Mapping[int, str]:
        if self._resolver is None or self._resolver.db is not db:
            self._resolver = NameResolver(db, None)
        found = self._resolver.resolve(ids)
        return {entity_id: entry.name for entity_id, entry in found.items()}


TITLE_SEPARATOR = " \N{EM DASH} "
"""Separator between the name, the affiliation and the period of a title."""


class EntityTitle(Static):
    """The title line of a page, folded between its parts to fit the width.

    It carries the user's query and stored names, so it is never parsed as
    markup.
    """

    def __init__(self, text: str, *, id: str | None = None) -> None:
        super().__init__(strip_control(text), id=id, markup=False)
        self.parts: tuple[tuple[str, str], ...] = ()
        """The ``(separator, text)`` parts of a page's title, or none for a
        message."""

    def on_resize(self) -> None:
        if self.parts:
            self._fold()

    def show_parts(self, parts: Sequence[tuple[str, str]]) -> None:
        """Show a page's title, whose parts are folded onto lines as a whole."""
        self.parts = tuple(
            (separator, strip_control(text)) for separator, text in parts
        )
        self._fold()

    def show_text(self, text: str) -> None:
        """Show a message in place of a page's title."""
        self.parts = ()
        self.update(strip_control(text))

    def _fold(self) -> None:
        width = self.content_region.width or self.app.size.width
        self.update(fold_parts(self.parts, width))


def describe_ref(ref: EntityRef) -> str:
    """Return the name of ``ref``, or its kind and ``#id`` when none is stored."""
    return ref.name or f"{ref.kind.value} {unnamed(ref.entity_id)}"


def show_unnamed_ids(list_name: str, entry: TopEntry) -> TopEntry:
    """Return ``entry`` with an id that has no stored name shown as ``#id``.

    NOTE: :func:`evedmv_tui.intel.pages.load_page` names such an entry
    ``corporation 98098579`` in entity lists and ``30002737`` in place
    lists. This matches those forms, so a changed form there shows as is.
    """
    if entry.key is None:
        return entry
    kind = TOP_LIST_KINDS.get(list_name)
    if kind is not None:
        fallback = f"{kind.value} {entry.key}"
    elif list_name in PLACE_LISTS:
        fallback = str(entry.key)
    else:
        return entry
    if entry.name != fallback:
        return entry
    return dataclasses.replace(entry, name=unnamed(entry.key))


def lookup_and_load(
    db: Database,
    kind: EntityKind,
    query: int | str,
    period: Period,
    names: StoredNames,
) -> EntityPage | EntityMatches:
    """Load the page of the one entity ``query`` names, or return the candidates.

    When a name finds nothing, the candidates also tell whether any name of
    ``kind`` is stored, for the not-found message.
    """
    found = find_entities(db, kind, str(query))
    if not found and parse_id(str(query).strip()) is None:
        found.names_stored = has_stored_names(db, [kind.value])
    if len(found) != 1:
        return found
    return load_page(db, found[0], period, resolve_names=names)


def describe_empty(
    page: EntityPage, missing: str = "kills or losses", *, stored: bool = True
) -> str:
    """Return the line an empty view shows: the period's dates and the all-time key.

    A period ends at the entity's newest kill or loss, so only a view that
    lists part of them, such as battles, can be empty while the entity has
    any. ``missing`` names what the view lists, and ``stored=False`` says
    that none of them is stored at any time, so all time would be empty too.
    """
    if not stored or page.since is None or page.entity_newest is None:
        return f"No {missing} of this entity are stored."
    all_time = next(key for key, period in PERIOD_KEYS.items() if period.days is None)
    return (
        f"No {missing} from {page.since:%Y-%m-%d %H:%M} to"
        f" {page.until:%Y-%m-%d %H:%M} UTC, the {page.period.label} up to its"
        f" newest kill or loss. Press {all_time} for all time."
    )


def describe_empty_top(page: EntityPage, list_name: str) -> str:
    """Return the line a top list shows when it has no rows.

    A list that counts only kills or only losses is empty in any period
    without them, and points to all time only when the entity has them at
    another time. Otherwise the period has killmails that the list counts,
    and the line names what they lack.
    """
    side = ONE_SIDED_LISTS.get(list_name)
    summary = page.summary
    if side is None:
        counted, missing = summary.kills + summary.losses, "kills or losses"
    else:
        counted, missing = getattr(summary, side), side
    if counted:
        return EMPTY_TOP_LISTS[list_name]
    # The recent list contains the newest kills and losses at any time, so it
    # has a row of this side whenever all time does.
    role = RECENT_ROLES.get(missing)
    stored = role is None or any(item.role == role for item in page.recent)
    return describe_empty(page, missing, stored=stored)


class EntityScreen(DashboardScreen):
    """Summary, heatmap, top lists, recent killmails and battles of one entity."""

    KIND: ClassVar[EntityKind] = EntityKind.CORPORATION
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("1", "period('7d')", "7d", id="entity.period_7d"),
        Binding("2", "period('30d')", "30d", id="entity.period_30d"),
        Binding("3", "period('90d')", "90d", id="entity.period_90d"),
        Binding("4", "period('all')", "All", id="entity.period_all"),
        Binding("r", "reload", "Reload", id="entity.reload"),
        Binding("t", "next_tab", "Next tab", id="entity.next_tab"),
        *(
            Binding(key, f"tab('{pane}')", label, show=False, id=f"entity.{pane}")
            for key, (pane, label) in TAB_KEYS.items()
        ),
        # One Enter per target, so the footer names what the focused row
        # opens. They take priority over the focused table's own Enter, because
        # the footer shows the first binding of a key and the table's is hidden.
        # Where no row opens anything, check_action disables them all and Enter
        # goes on to the focused widget.
        *(
            Binding(
                "enter",
                f"open_row('{target}')",
                label,
                priority=True,
                id=f"entity.open_{target}",
            )
            for target, label in OPEN_TARGETS.items()
        ),
    ]
    # The tabs take the height under the title, so that the recent and battle
    # tables scroll by themselves and keep the cursor row in view.
    DEFAULT_CSS = """
    EntityScreen #entity-tabs,
    EntityScreen #entity-tabs > ContentSwitcher,
    EntityScreen #entity-tabs TabPane,
    EntityScreen #entity-tabs RecentTable,
    EntityScreen #entity-tabs BattleTable {
        height: 1fr;
    }
    EntityScreen #entity-title {
        height: auto;
        padding: 0 1;
        text-style: bold;
    }
    EntityScreen #entity-candidates {
        display: none;
        height: 1fr;
    }
    EntityScreen.-choosing #entity-candidates {
        display: block;
    }
    EntityScreen.-choosing TabbedContent,
    EntityScreen.-not-found TabbedContent,
    EntityScreen.-unavailable TabbedContent {
        display: none;
    }
    EntityScreen #entity-tops {
        grid-size: 2;
        grid-gutter: 0 1;
        height: auto;
    }
    EntityScreen #entity-tops > Vertical {
        height: auto;
    }
    EntityScreen .top-empty {
        display: none;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, query: int | str, period: Period = Period.MONTH) -> None:
        super().__init__()
        self.entity_query = query
        self.period = period
        self.page: EntityPage | None = None
        self.names = StoredNames()
        self._candidates: EntityMatches | None = None
        """The matches shown last for a name that several entities have."""
        self._picked_from: tuple[int | str, EntityMatches] | None = None
        """The query and matches of the list the shown page was picked from."""
        self._resumed = False
        self._loads = 0
        """Count of loads started, so that only the newest one is shown."""

    @property
    def title_text(self) -> str:
        return f"{self.KIND.value.title()} {self.entity_query}"

    def compose_body(self) -> ComposeResult:
        yield EntityTitle(f"Loading {self.title_text}...", id="entity-title")
        yield OptionList(id="entity-candidates")
        with TabbedContent(id="entity-tabs"):
            with (
                TabPane(tab_label("tab-summary"), id="tab-summary"),
                VerticalScroll(id="entity-summary-pane"),
            ):
                yield SummaryPanel(id="entity-summary")
                yield HeatmapView(id="entity-heatmap")
            with (
                TabPane(tab_label("tab-tops"), id="tab-tops"),
                VerticalScroll(),
                Grid(id="entity-tops"),
            ):
                for name in TOP_LISTS:
                    if name == "pilots" and self.KIND is EntityKind.CHARACTER:
                        continue
                    one_side = ONE_SIDED_LISTS.get(name)
                    with Vertical():
                        yield TopListTable(
                            TOP_TITLES[name],
                            counts=(one_side,) if one_side else ("kills", "losses"),
                            labels=COUNT_LABELS.get(name),
                            id=f"top-{name}",
                        )
                        # Shows why the list is empty, under its header.
                        yield Static(
                            id=f"top-{name}-empty", classes="top-empty", markup=False
                        )
            with TabPane(tab_label("tab-recent"), id="tab-recent"):
                yield Static(id="entity-recent-heading")
                yield RecentTable(id="entity-recent")
            with TabPane(tab_label("tab-battles"), id="tab-battles"):
                yield Static(id="entity-battles-note", markup=False)
                yield BattleTable(id="entity-battles")

    def on_mount(self) -> None:
        # Start on the tab strip, where Left and Right switch tabs and the Tab
        # key moves into the shown one.
        self._focus_tabs()
        if self.evedmv_app.db is None:
            self._show_unavailable()

    def _focus_tabs(self) -> None:
        self.query_one("#entity-tabs", TabbedContent).query_one(Tabs).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PAGE_ACTIONS and self.page is None:
            # No page yet: it is loading, not found, or a candidate is to be picked.
            return False
        if action == "open_row":
            target = self._row_target()
            return target is not None and target[0] == parameters[0]
        return super().check_action(action, parameters)

    def _row_target(self) -> tuple[str, int] | None:
        """Return the screen and id that Enter opens from the focused row."""
        table = self.focused
        if self.page is None or not isinstance(table, KeyedTable):
            return None
        key = table.cursor_key
        if key is None:
            return None
        if isinstance(table, RecentTable):
            killmail_id, _, _ = key.partition(":")
            return "killmail", int(killmail_id)
        if isinstance(table, BattleTable):
            return "battle", int(key)
        kind = TOP_LIST_KINDS.get((table.id or "").removeprefix("top-"))
        if kind is not None and key.isdigit():
            return kind.value, int(key)
        return None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Update the footer's Enter, which depends on the row under the cursor."""
        self.refresh_bindings()

    def load_data(self) -> None:
        self._loads += 1
        load = self._loads

        def loaded(result: EntityPage | EntityMatches) -> None:
            # A newer load cancels this worker, but its thread runs on and
            # may finish last, with the period or entity from before.
            if load == self._loads:
                self.show_result(result)

        self.run_query(
            lookup_and_load,
            self.KIND,
            self.entity_query,
            self.period,
            self.names,
            then=loaded,
            name=f"intel.page.{self.KIND.value}",
        )

    def on_screen_resume(self) -> None:
        """Load the page again when the screen is shown again.

        Another process may have changed the killmails, prices or names that
        the page shows while a screen on top of it was open. The reload keeps
        the period, and the tables keep their cursor rows by key. The first
        resume comes with the mount, which loads already. A list of
        candidates to pick from is left as it is, with its highlight.
        """
        if (
            self._resumed
            and self.evedmv_app.db is not None
            and not self.has_class("-choosing")
        ):
            self.load_data()
        self._resumed = True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Say that the database is unavailable when no page could load."""
        from evedmv_tui.app import is_connection_error

        worker = event.worker
        if (
            event.state is WorkerState.ERROR
            and worker.group == "load"
            and self.page is None
            and worker.error is not None
            and is_connection_error(worker.error)
        ):
            self._show_unavailable()

    def _show_unavailable(self) -> None:
        """Replace the loading line and hide the tabs until the page loads.

        Without a page, the tabs would show an empty heatmap and zero figures.
        """
        self.set_class(True, "-unavailable")
        self.query_one(EntityTitle).show_text(
            f"{self.title_text}: {DATABASE_UNAVAILABLE}"
        )

    def show_result(self, result: EntityPage | EntityMatches) -> None:
        self.set_class(False, "-unavailable")
        if isinstance(result, EntityMatches):
            self._show_candidates(result)
            return
        self.set_class(False, "-choosing")
        self.set_class(False, "-not-found")
        self.page = result
        self.period = result.period
        self.refresh_bindings()
        self.entity_query = result.entity.entity_id
        self._show_page(result)

    async def action_back(self) -> None:
        """Show the list the page was picked from again, or close the screen."""
        if self._picked_from is None:
            await self.app.run_action("app.back")
            return
        self.entity_query, candidates = self._picked_from
        self._picked_from = None
        self.page = None
        self.refresh_bindings()
        self._show_candidates(candidates)

    def _show_candidates(self, candidates: EntityMatches) -> None:
        self._candidates = candidates
        title = self.query_one(EntityTitle)
        options = self.query_one("#entity-candidates", OptionList)
        options.clear_options()
        self.set_class(not candidates, "-not-found")
        if not candidates:
            title.show_text(
                f"No {self.KIND.value} with the id or name"
                f" {quote_value(self.entity_query)} is stored."
                f"{self._names_hint(candidates)}{self._search_hint()}"
            )
            self.set_class(False, "-choosing")
            return
        query = strip_control(str(self.entity_query))
        heading = candidates_heading(self.KIND, candidates, query)
        if candidates.more_than_listed:
            palette = describe_key(self.app, self.app.COMMAND_PALETTE_BINDING)
            title.show_text(
                f"{heading}. Pick one, or press {palette} and type more of the"
                " name to narrow the list:"
            )
        else:
            title.show_text(f"{heading}; pick one:")
        options.add_options(
            Option(
                Text(f"{describe_ref(ref)}  ({ref.entity_id})"), id=str(ref.entity_id)
            )
            for ref in candidates[:MAX_CANDIDATES]
        )
        self.set_class(True, "-choosing")
        # Highlight the first candidate so that Enter picks it at once.
        options.highlighted = 0
        options.focus()

    def _names_hint(self, candidates: EntityMatches) -> str:
        """Return the hint for a lookup that found nothing, or an empty string.

        A number outside the id range gets the range. A name not found
        offline, or with no name of this kind stored, gets where names come from.
        """
        offline = self.evedmv_app.settings.offline
        out_of_range = id_range_hint(str(self.entity_query))
        if out_of_range is not None:
            # Digits past the id range are no name to resolve either.
            return f" {out_of_range[0].upper()}{out_of_range[1:]}."
        if parse_id(str(self.entity_query).strip()) is not None:
            return ""
        if not candidates.names_stored:
            hint = unresolved_names_hint(self.names_command, offline=offline)
            return f" No {self.KIND.value} names are stored. {hint}."
        if offline:
            hint = unresolved_names_hint(self.names_command, offline=True)
            return f" {hint}."
        return ""

    @property
    def names_command(self) -> str:
        """The command that resolves and stores the names on a page of this kind."""
        word = "corp" if self.KIND is EntityKind.CORPORATION else self.KIND.value
        return f"evedmv {word} show ID"

    def _search_hint(self) -> str:
        """Return the sentence that points to the search screen and its key."""
        try:
            entry = find_entry("search", self.evedmv_app.screen_entries)
        except KeyError:
            return ""
        if not entry.key:
            return " Search from the palette also finds part of a name."
        key = describe_key(self.app, entry.key)
        return f" Press {key} to search, which also finds part of a name."

    def _show_page(self, page: EntityPage) -> None:
        entity = page.entity
        # An unnamed entity's title is already its kind and id.
        parts = [
            (
                "",
                f"{entity.name} [{entity.kind.value} {entity.entity_id}]"
                if entity.name
                else describe_ref(entity),
            )
        ]
        seen = [page.latest_alliance]
        if entity.kind is EntityKind.CHARACTER:
            seen.insert(0, page.latest_corporation)
        if entity.kind is not EntityKind.ALLIANCE:
            # The corporation and alliance may go on separate lines.
            separators = iter((TITLE_SEPARATOR, " / "))
            parts += [(next(separators), describe_ref(ref)) for ref in seen if ref]
        parts.append((TITLE_SEPARATOR, period_heading(page)))
        quiet_since = period_note(page)
        if quiet_since is not None:
            parts.append((TITLE_SEPARATOR, quiet_since))
        self.query_one(EntityTitle).show_parts(parts)
        self.query_one(SummaryPanel).show(page)
        self.query_one(HeatmapView).show(page.heatmap, describe_empty(page))
        for name, entries in page.tops.items():
            for table in self.query(f"#top-{name}").results(TopListTable):
                table.show([show_unnamed_ids(name, entry) for entry in entries])
            for note in self.query(f"#top-{name}-empty").results(Static):
                note.update("" if entries else describe_empty_top(page, name))
                note.display = not entries
        self.query_one("#entity-recent-heading", Static).update(
            recent_heading(page.period)
        )
        self.query_one(RecentTable).show(page.recent, page.until)
        self.query_one(BattleTable).show(page.battles, page.until)
        note = self.query_one("#entity-battles-note", Static)
        note.update(
            ""
            if page.battles
            else describe_empty(page, "battles", stored=page.battles_stored)
        )
        note.display = not page.battles

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "entity-candidates" or event.option.id is None:
            return
        if self._candidates is not None:
            self._picked_from = (self.entity_query, self._candidates)
        self.entity_query = int(event.option.id)
        self.set_class(False, "-choosing")
        self._focus_tabs()
        self.load_data()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Open the row a click selected; Enter goes through action_open_row."""
        event.data_table.focus()
        target = self._row_target()
        if target is not None:
            self.evedmv_app.open_screen(*target)

    def action_open_row(self, screen: str) -> None:
        """Open the killmail, battle or entity of the focused row.

        Enter is a priority binding, so it acts when the app reads it, before
        arrows typed just before it in one burst have moved the table's
        cursor. The row is read once they have.
        """
        after_keys(self.focused, functools.partial(self._open_focused_row, screen))

    def _open_focused_row(self, screen: str) -> None:
        target = self._row_target()
        if target is not None and target[0] == screen:
            self.evedmv_app.open_screen(*target)

    def action_period(self, value: str) -> None:
        period = Period(value)
        if period is self.period:
            return
        self.period = period
        self.load_data()

    def action_reload(self) -> None:
        self.load_data()

    def action_tab(self, pane: str) -> None:
        """Show the tab ``pane`` and focus its first table with rows.

        With the focus in the table, the arrows and Enter act on its rows at
        once, as after the digit keys of the battle report. A tab without
        rows leaves the focus on the tab strip.
        """
        tabs = self.query_one("#entity-tabs", TabbedContent)
        tabs.active = pane
        tables = tabs.get_pane(pane).query(KeyedTable)
        target = next((table for table in tables if table.row_count), None)
        if target is None:
            self._focus_tabs()
        else:
            target.focus()

    def action_next_tab(self) -> None:
        """Show the next tab (the first after the last) and focus the tab strip."""
        tabs = self.query_one("#entity-tabs", TabbedContent)
        panes = [pane.id for pane in tabs.query(TabPane) if pane.id]
        if not panes:
            return
        current = panes.index(tabs.active) if tabs.active in panes else -1
        tabs.active = panes[(current + 1) % len(panes)]
        self._focus_tabs()


class CorporationScreen(EntityScreen):
    """The corporation page."""

    TITLE = "Corporation"
    KIND = EntityKind.CORPORATION


class AllianceScreen(EntityScreen):
    """The alliance page."""

    TITLE = "Alliance"
    KIND = EntityKind.ALLIANCE


class CharacterScreen(EntityScreen):
    """The character page."""

    TITLE = "Character"
    KIND = EntityKind.CHARACTER
