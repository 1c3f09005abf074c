"""Data of a corporation, alliance or character page, in a few statements.

:func:`load_page` runs four statements: the aggregates (summary, top lists
and heatmap, one statement), the recent killmails, the battles, and one
batch of names. The aggregates of corporations and alliances come mostly
from daily totals (:mod:`evedmv_tui.intel.totals`).
All counting happens in PostgreSQL; no killmail is loaded into Python.
docs/intel.md defines each figure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
from collections.abc import Callable, Collection, Mapping
from typing import Any

from evedmv_tui.intel.entities import EntityKind, EntityRef, Period, kind_sql
from evedmv_tui.intel.heatmap import Heatmap, HeatmapCell
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.store.telemetry import operation

TOP_LIMIT = 10
"""Rows kept in each top list."""
RECENT_LIMIT = 20
"""Kills and losses (each) in the recent list."""
BATTLE_LIMIT = 20
"""Battles listed on a page."""

TOP_LISTS = (
    "pilots",
    "ships_flown",
    "ships_lost",
    "systems",
    "regions",
    "with_corporations",
    "with_alliances",
    "against_corporations",
    "against_alliances",
)
"""Top list names, in page order. Pilots are empty on a character page."""
ONE_SIDED_LISTS = {
    "pilots": "kills",
    "ships_flown": "kills",
    "ships_lost": "losses",
    "with_corporations": "kills",
    "with_alliances": "kills",
}
"""Top lists that count only kills or only losses; the other count is 0."""

NameResolver = Callable[[Database, Collection[int]], Mapping[int, str]]
"""Return the names known for the given character, corporation or alliance ids."""


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    """Counts and ISK of one entity over one period."""

    kills: int
    losses: int
    isk_destroyed: float
    isk_lost: float
    solo_kills: int
    gang_kills: int
    players_on_kills: int
    """Player attackers summed over the kills that had any."""
    kills_with_players: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    kills_without_value: int = 0
    """Kills with no ISK value, which ``isk_destroyed`` leaves out."""
    losses_without_value: int = 0
    """Losses with no ISK value, which ``isk_lost`` leaves out."""

    @property
    def isk_efficiency(self) -> float | None:
        total = self.isk_destroyed + self.isk_lost
        return self.isk_destroyed / total if total else None

    @property
    def danger_ratio(self) -> float | None:
        total = self.kills + self.losses
        return self.kills / total if total else None

    @property
    def solo_ratio(self) -> float | None:
        return self.solo_kills / self.kills if self.kills else None

    @property
    def gang_ratio(self) -> float | None:
        return self.gang_kills / self.kills if self.kills else None

    @property
    def average_gang_size(self) -> float | None:
        if not self.kills_with_players:
            return None
        return self.players_on_kills / self.kills_with_players


@dataclasses.dataclass(frozen=True, slots=True)
class TopEntry:
    """One row of a top list: an entity, system or region id, or a ship class."""

    key: int | None
    ship_class: str | None
    name: str
    kills: int
    losses: int


@dataclasses.dataclass(frozen=True, slots=True)
class RecentKillmail:
    """A recent kill or loss of the entity."""

    role: str
    """``kill`` or ``loss``."""
    killmail_id: int
    killmail_time: dt.datetime
    solar_system_id: int
    solar_system_name: str | None
    victim_character_id: int | None
    victim_corporation_id: int | None
    victim_alliance_id: int | None
    victim_ship_type_id: int
    ship_name: str | None
    total_value: float | None
    attacker_count: int
    victim_name: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class EntityBattle:
    """A battle with at least one kill or loss of the entity."""

    battle_id: int
    start_time: dt.datetime
    end_time: dt.datetime
    solar_system_ids: list[int]
    system_names: str | None
    kills: int
    pilots: int
    isk_destroyed: float
    kind: str
    entity_killmails: int
    """The entity's kills and losses in the battle."""
    kills_without_value: int = 0
    """The battle's kills with no ISK value, which ``isk_destroyed`` leaves out."""


def recent_heading(period: Period) -> str:
    """Return the heading of the recent list, which the period does not limit.

    The list shows an entity's latest activity even when the period has
    none, so its heading states that it can reach back before the period.
    """
    if period is Period.ALL:
        return "Latest kills and losses"
    return f"Latest kills and losses, at any time, not only the {period.label}"


@dataclasses.dataclass(frozen=True, slots=True)
class EntityPage:
    """Everything a corporation, alliance or character page shows."""

    entity: EntityRef
    period: Period
    since: dt.datetime | None
    """Start of the period (exclusive), None for all time."""
    until: dt.datetime
    """End of the period: the entity's newest kill or loss. For an entity
    without killmails, the newest killmail stored for anyone, or the time
    of loading when none is stored."""
    summary: Summary
    tops: Mapping[str, tuple[TopEntry, ...]]
    heatmap: Heatmap
    recent: tuple[RecentKillmail, ...]
    battles: tuple[EntityBattle, ...]
    latest_corporation: EntityRef | None
    latest_alliance: EntityRef | None
    newest_stored: dt.datetime | None = None
    """The newest killmail stored for anyone, None when none is stored."""
    entity_newest: dt.datetime | None = None
    """The entity's newest kill or loss, None when no killmail mentions it."""
    battles_stored: bool = True
    """Whether a battle with a kill or loss of the entity is stored at any
    time; False only when none is, so an empty period's battles do not
    point to an all-time view that is empty too."""

    @property
    def ends_before_newest(self) -> bool:
        """Whether killmails of others are stored after the period's end.

        The period ends at the entity's newest kill or loss, so this is
        True for an entity that has been quiet while others were not.
        """
        return self.newest_stored is not None and self.until < self.newest_stored

    def as_json(self) -> dict[str, Any]:
        """Return the figures as plain JSON types, for ``--json``."""
        summary = self.summary
        zone = self.heatmap.timezone()
        return {
            "entity": _ref_json(self.entity),
            "period": self.period.value,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat(),
            "newest_stored_killmail": _iso(self.newest_stored),
            "latest_corporation": _ref_json(self.latest_corporation),
            "latest_alliance": _ref_json(self.latest_alliance),
            "summary": {
                "kills": summary.kills,
                "losses": summary.losses,
                "isk_destroyed": summary.isk_destroyed,
                "isk_lost": summary.isk_lost,
                "kills_without_value": summary.kills_without_value,
                "losses_without_value": summary.losses_without_value,
                "isk_efficiency": summary.isk_efficiency,
                "danger_ratio": summary.danger_ratio,
                "solo_kills": summary.solo_kills,
                "solo_ratio": summary.solo_ratio,
                "gang_kills": summary.gang_kills,
                "gang_ratio": summary.gang_ratio,
                "average_gang_size": summary.average_gang_size,
                "first_seen": _iso(summary.first_seen),
                "last_seen": _iso(summary.last_seen),
            },
            "tops": {
                name: [dataclasses.asdict(entry) for entry in entries]
                for name, entries in self.tops.items()
            },
            "heatmap": {
                "cells": [dataclasses.asdict(cell) for cell in self.heatmap.cells],
                "timezone": None
                if zone is None
                else {
                    "label": zone.label,
                    "window": zone.window,
                    "share": zone.share,
                },
            },
            "recent": [
                {
                    **dataclasses.asdict(item),
                    "killmail_time": item.killmail_time.isoformat(),
                }
                for item in self.recent
            ],
            "battles": [
                {
                    **dataclasses.asdict(battle),
                    "start_time": battle.start_time.isoformat(),
                    "end_time": battle.end_time.isoformat(),
                }
                for battle in self.battles
            ],
        }


def period_heading(page: EntityPage) -> str:
    """Return the period and where it ends, as the command and the title show it.

    ``last 30 days up to its newest kill or loss, 2021-12-03 11:09 UTC``.
    """
    end = f"{page.until:%Y-%m-%d %H:%M} UTC"
    if page.entity_newest is not None:
        anchor = "its newest kill or loss"
    elif page.newest_stored is not None:
        anchor = "the newest stored killmail"
    else:
        anchor = "now"
    return f"{page.period.label} up to {anchor}, {end}"


def period_note(page: EntityPage) -> str | None:
    """Return a note when other killmails are stored after the period's end.

    Without it, a page of an entity that stopped fighting long ago would
    read as recent activity.
    """
    if not page.ends_before_newest or page.newest_stored is None:
        return None
    return (
        "no kills or losses since; the newest stored killmail is"
        f" {page.newest_stored:%Y-%m-%d %H:%M} UTC"
    )


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _ref_json(ref: EntityRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"kind": ref.kind.value, "id": ref.entity_id, "name": ref.name}


@dataclasses.dataclass(frozen=True, slots=True)
class _AggregateRow:
    kills: int
    losses: int
    isk_destroyed: decimal.Decimal
    """Exact numeric sum, so it equals the sum of the daily totals."""
    isk_lost: decimal.Decimal
    solo_kills: int
    gang_kills: int
    players_on_kills: int
    kills_with_players: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    kills_without_value: int
    losses_without_value: int
    latest_corporation_id: int | None
    latest_alliance_id: int | None
    since: dt.datetime | None
    until: dt.datetime
    newest_stored: dt.datetime | None
    entity_newest: dt.datetime | None
    heatmap: list[list[int]]
    tops: list[list[Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class _NameRow:
    entity_id: int
    category: str
    name: str


def stored_names(db: Database, ids: Collection[int]) -> dict[int, str]:
    """Return the names stored in ``names`` for ``ids``, in one statement."""
    if not ids:
        return {}
    rows = db.fetch_all(
        load_sql("evedmv_tui.intel", "entity_names"),
        {"ids": sorted(ids)},
        row=_NameRow,
    )
    return {row.entity_id: row.name for row in rows}


# Entity kind of each top list's key, for the name resolver.
_ENTITY_LISTS = {
    "pilots": EntityKind.CHARACTER,
    "with_corporations": EntityKind.CORPORATION,
    "against_corporations": EntityKind.CORPORATION,
    "with_alliances": EntityKind.ALLIANCE,
    "against_alliances": EntityKind.ALLIANCE,
}


def load_page(
    db: Database,
    entity: EntityRef,
    period: Period = Period.MONTH,
    *,
    resolve_names: NameResolver = stored_names,
    top: int = TOP_LIMIT,
    recent: int = RECENT_LIMIT,
    battles: int = BATTLE_LIMIT,
    from_totals: bool = True,
) -> EntityPage:
    """Compute the page of ``entity`` over ``period``.

    The period ends at the entity's newest kill or loss, not at the newest
    killmail stored for anyone, so a quiet entity's page shows its last
    activity (see :attr:`EntityPage.until`).

    Runs the aggregate, recent-killmail and battle statements, and calls
    ``resolve_names`` once for every character, corporation and alliance on
    the page. Corporation and alliance figures come from the daily totals of
    :mod:`evedmv_tui.intel.totals` plus the killmails of a partial first day.
    ``from_totals=False`` reads them all from the killmails instead, which
    gives the same page more slowly.
    """
    params = {
        "entity_id": entity.entity_id,
        "kind": entity.kind.value,
        "days": period.days,
        "top": top,
        # Characters have no daily totals: their pages read few killmails.
        "from_totals": from_totals and entity.kind is not EntityKind.CHARACTER,
    }
    with operation(f"intel.page.{entity.kind.value}"):
        aggregate = db.fetch_one(
            kind_sql("entity_page", entity.kind),
            params,
            row=_AggregateRow,
        )
        assert aggregate is not None  # the statement always returns one row
        recent_rows = db.fetch_all(
            kind_sql("entity_recent", entity.kind),
            {"entity_id": entity.entity_id, "limit": recent},
            row=RecentKillmail,
        )
        battle_query = kind_sql("entity_battles", entity.kind)
        battle_params = {
            "entity_id": entity.entity_id,
            "since": aggregate.since,
            "until": aggregate.until,
            "limit": battles,
        }
        battle_rows = db.fetch_all(battle_query, battle_params, row=EntityBattle)
        battles_stored = bool(battle_rows) or (
            aggregate.since is not None
            and db.fetch_one(battle_query, {**battle_params, "since": None, "limit": 1})
            is not None
        )
        ids = _ids_to_name(entity, aggregate, recent_rows)
        names = dict(resolve_names(db, ids)) if ids else {}
    if entity.name is not None:
        names[entity.entity_id] = entity.name
    page = _build_page(entity, period, aggregate, recent_rows, names)
    return dataclasses.replace(
        page, battles=tuple(battle_rows), battles_stored=battles_stored
    )


def _ids_to_name(
    entity: EntityRef, aggregate: _AggregateRow, recent: list[RecentKillmail]
) -> set[int]:
    ids = {entity.entity_id} if entity.name is None else set()
    for list_name, key, *_ in aggregate.tops:
        if list_name in _ENTITY_LISTS and key is not None:
            ids.add(int(key))
    for item in recent:
        if item.victim_character_id is not None:
            ids.add(item.victim_character_id)
        elif item.victim_corporation_id is not None:
            ids.add(item.victim_corporation_id)
    for extra in (aggregate.latest_corporation_id, aggregate.latest_alliance_id):
        if extra is not None:
            ids.add(extra)
    return ids


def _build_page(
    entity: EntityRef,
    period: Period,
    row: _AggregateRow,
    recent: list[RecentKillmail],
    names: Mapping[int, str],
) -> EntityPage:
    tops: dict[str, list[TopEntry]] = {name: [] for name in TOP_LISTS}
    for list_name, key, ship_class, kills, losses, static_name in row.tops:
        if list_name == "pilots" and entity.kind is EntityKind.CHARACTER:
            continue  # a character's only pilot is itself
        kind = _ENTITY_LISTS.get(list_name)
        if kind is not None:
            name = names.get(key) or f"{kind.value} {key}"
        elif ship_class is not None:
            name = ship_class
        else:
            name = static_name or str(key)
        tops[list_name].append(TopEntry(key, ship_class, name, kills, losses))
    heatmap = Heatmap(
        tuple(
            HeatmapCell(dow, hour, kills, losses)
            for dow, hour, kills, losses in row.heatmap
        )
    )
    named_recent = tuple(
        dataclasses.replace(
            item,
            victim_name=names.get(item.victim_character_id or 0)
            or names.get(item.victim_corporation_id or 0),
        )
        for item in recent
    )
    summary = Summary(
        row.kills,
        row.losses,
        float(row.isk_destroyed),
        float(row.isk_lost),
        row.solo_kills,
        row.gang_kills,
        row.players_on_kills,
        row.kills_with_players,
        row.first_seen,
        row.last_seen,
        row.kills_without_value,
        row.losses_without_value,
    )
    return EntityPage(
        entity=dataclasses.replace(entity, name=names.get(entity.entity_id)),
        period=period,
        since=row.since,
        until=row.until,
        newest_stored=row.newest_stored,
        entity_newest=row.entity_newest,
        summary=summary,
        tops={name: tuple(entries) for name, entries in tops.items()},
        heatmap=heatmap,
        recent=named_recent,
        battles=(),
        latest_corporation=_latest(
            EntityKind.CORPORATION, row.latest_corporation_id, names
        ),
        latest_alliance=_latest(EntityKind.ALLIANCE, row.latest_alliance_id, names),
    )


def _latest(
    kind: EntityKind, entity_id: int | None, names: Mapping[int, str]
) -> EntityRef | None:
    if entity_id is None:
        return None
    return EntityRef(kind, entity_id, names.get(entity_id))
