"""Tables of an entity page: top lists, recent killmails and battles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text

from evedmv_tui.intel.pages import EntityBattle, RecentKillmail, TopEntry
from evedmv_tui.names import unnamed
from evedmv_tui.widgets.table import (
    KeyedTable,
    Row,
    cell_width,
    narrow_columns,
    plain,
    right,
)
from evedmv_tui.widgets.text import format_isk, time_format, truncate

MAX_NAME_WIDTH = 24
"""Maximum cells of a name in a top list, when its table is wide enough."""

MIN_NAME_WIDTH = 8
"""Minimum cells of a name in a top list, however narrow its table is."""


class TopListTable(KeyedTable):
    """One top list: name, and kills, losses or both (``counts``).

    ``labels`` gives a count column a header other than its title-cased name.
    Names are cut to the width that the count columns leave, so the counts
    stay in view in a narrow table. It has no horizontal scroll bar: a table
    of auto height that briefly needed one also got a vertical one, and the
    two kept each other on, leaving a row of cells and the counts cut off.
    """

    DEFAULT_CSS = """
    TopListTable {
        height: auto;
        max-height: 12;
        overflow-x: hidden;
    }
    """

    def __init__(
        self,
        title: str,
        *,
        counts: Sequence[str] = ("kills", "losses"),
        labels: Mapping[str, str] | None = None,
        id: str | None = None,
    ) -> None:
        self.counts = tuple(counts)
        labels = labels or {}
        columns = [("name", title)]
        columns += [(count, labels.get(count, count.title())) for count in self.counts]
        super().__init__(columns, id=id)
        self._entries: tuple[TopEntry, ...] = ()

    def on_resize(self) -> None:
        self.show(self._entries)

    def show(self, entries: Sequence[TopEntry]) -> None:
        self._entries = tuple(entries)
        # Counts too wide to leave a name its minimum width are shown
        # compactly (1.99b), as the table cuts what runs past its edge.
        compact = self._name_width(compact=False) < MIN_NAME_WIDTH
        width = max(MIN_NAME_WIDTH, self._name_width(compact=compact))
        self.update_rows(
            (
                entry.key if entry.key is not None else entry.ship_class,
                [
                    truncate(entry.name, width),
                    *(self._count(entry, count, compact) for count in self.counts),
                ],
            )
            for entry in self._entries
        )

    @staticmethod
    def _count(entry: TopEntry, count: str, compact: bool) -> int | Text:
        value: int = getattr(entry, count)
        return right(format_isk(value)) if compact else value

    def _name_width(self, *, compact: bool) -> int:
        """Return the cells left for names once the count columns are drawn.

        The result is at most MAX_NAME_WIDTH and may be below MIN_NAME_WIDTH
        (or negative) when the counts leave less.
        """
        room = self.scrollable_content_region.width
        if room <= 0:
            # Not laid out yet: on_resize shows the rows again once it is.
            return MAX_NAME_WIDTH
        padding = 2 * self.cell_padding
        for count, (_, label) in zip(self.counts, self.column_specs[1:], strict=True):
            cells = [
                str(plain(self._count(entry, count, compact)))
                for entry in self._entries
            ]
            widest = max(cell_len(text) for text in [label, *cells])
            room -= widest + padding
        return min(MAX_NAME_WIDTH, room - padding)


def _victim_id(item: RecentKillmail) -> str:
    """Return the victim's id for display when no name is stored."""
    entity_id = item.victim_character_id or item.victim_corporation_id
    return "" if entity_id is None else unnamed(entity_id)


class RecentTable(KeyedTable):
    """Recent kills and losses; the row key is ``KILLMAIL_ID:ROLE``.

    A killmail where the entity shot its own side is both a kill and a loss,
    so it has two rows. Ship, victim and system names are cut, the longest
    first, so that the Value column and its unit (``95.00m``) stay in view.
    """

    NARROWABLE: ClassVar[frozenset[str]] = frozenset({"ship", "victim", "system"})
    """Columns whose names are cut to fit the table's width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            [
                ("time", "Time (UTC)"),
                ("role", ""),
                ("ship", "Ship"),
                ("victim", "Victim"),
                ("system", "System"),
                ("value", "Value"),
            ],
            id=id,
        )
        self._items: tuple[RecentKillmail, ...] = ()
        self._until: dt.datetime | None = None

    def on_resize(self) -> None:
        self.show(self._items, self._until)

    def show(
        self, items: Sequence[RecentKillmail], until: dt.datetime | None = None
    ) -> None:
        """Show ``items``, with the year unless all are in the year of ``until``.

        ``until`` is the end of the page's period. The list is not limited
        to the period, so a row of an earlier year must show that year.
        """
        self._items, self._until = tuple(items), until
        times = [item.killmail_time for item in items]
        when = time_format([*times, until] if until is not None else times)
        rows: list[Row] = [
            (
                f"{item.killmail_id}:{item.role}",
                [
                    item.killmail_time.strftime(when),
                    item.role,
                    item.ship_name or unnamed(item.victim_ship_type_id),
                    item.victim_name or _victim_id(item),
                    item.solar_system_name or unnamed(item.solar_system_id),
                    right(format_isk(item.total_value)),
                ],
            )
            for item in items
        ]
        self.update_rows(self._fit(rows))

    def _fit(self, rows: Sequence[Row]) -> list[Row]:
        """Cut the names in ``rows`` so that the table fits its width.

        The vertical scroll bar takes its width too, unless the rows are
        known to fit the table's height under its header.
        """
        width = self.size.width
        if width <= 0:
            # Not laid out yet: on_resize shows the rows again once it is.
            return list(rows)
        if len(rows) + 1 > self.size.height:
            width -= self.styles.scrollbar_size_vertical
        value_label = self.column_specs[-1][1]
        value_width = max(
            [cell_len(value_label)] + [cell_width(cells[-1]) for _key, cells in rows]
        )
        return narrow_columns(
            rows,
            self.column_specs,
            self.NARROWABLE,
            width,
            self.cell_padding,
            value_width,
        )


def _system_ids(battle: EntityBattle) -> str:
    """Return the battle's system ids for display when no name is stored."""
    return ", ".join(unnamed(system_id) for system_id in battle.solar_system_ids)


class BattleTable(KeyedTable):
    """Battles with the entity's kills or losses; the row key is the battle id."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            [
                ("start", "Start (UTC)"),
                ("systems", "Systems"),
                ("kind", "Kind"),
                ("kills", "Kills"),
                ("own", "Ours"),
                ("isk", "ISK"),
            ],
            id=id,
        )

    def show(
        self, battles: Sequence[EntityBattle], until: dt.datetime | None = None
    ) -> None:
        """Show ``battles``, with the year unless all are in the year of ``until``.

        ``until`` is the end of the page's period. A period can reach back
        past the new year, or be unbounded, so a battle of an earlier year must
        show that year.
        """
        times = [battle.start_time for battle in battles]
        when = time_format([*times, until] if until is not None else times)
        self.update_rows(
            (
                battle.battle_id,
                [
                    battle.start_time.strftime(when),
                    truncate(battle.system_names or _system_ids(battle), 22),
                    battle.kind,
                    battle.kills,
                    battle.entity_killmails,
                    # + as in the battles list: the ISK leaves out kills
                    # without a value.
                    right(
                        format_isk(battle.isk_destroyed)
                        + ("+" if battle.kills_without_value else "")
                    ),
                ],
            )
            for battle in battles
        )
