"""Battle lists and reports as typed rows, ready to render or export.

:func:`load_report` costs a fixed number of statements whatever the
battle's size. It reads the battle row with its stored metrics and its
count of pending killmails, the parameters, its entities and its killmails,
then resolves names in one batch (the ``names`` table, then ESI when a client
is given) and reads the names of types, systems and regions in one more
query.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evedmv_tui.battles.parameters import load_parameters
from evedmv_tui.errors import EvedmvError
from evedmv_tui.names import NameResolver, unnamed
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.store.telemetry import operation
from evedmv_tui.widgets.text import quote_value

_PACKAGE = "evedmv_tui.battles"


class BattleNotFound(EvedmvError):
    """No stored battle has the requested id."""


@dataclasses.dataclass(frozen=True, slots=True)
class BattleFilter:
    """Criteria of a battle list; None leaves a criterion out."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    system: str | None = None
    """A solar system name (any case) or id."""
    region: str | None = None
    """A region name (any case) or id."""
    min_kills: int | None = None
    min_pilots: int | None = None
    min_isk: float | None = None
    limit: int = 500

    def __post_init__(self) -> None:
        # Names come from a shell or a text field, where a stray space is easy
        # to type and EVE system and region names never start or end with one.
        for field in ("system", "region"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, value.strip())


def unknown_places(db: Database, criteria: BattleFilter) -> list[str]:
    """Return the system and region filters that name no stored place.

    The caller reports them, so an empty list does not read as if no
    battle happened there.
    """
    unknown = []
    for kind, value, sql in (
        (
            "solar system",
            criteria.system,
            "SELECT EXISTS (SELECT 1 FROM solar_systems"
            " WHERE lower(solar_system_name) = lower(%(value)s)"
            " OR solar_system_id::text = %(value)s)",
        ),
        (
            "region",
            criteria.region,
            "SELECT EXISTS (SELECT 1 FROM regions"
            " WHERE lower(region_name) = lower(%(value)s)"
            " OR region_id::text = %(value)s)",
        ),
    ):
        if value is not None and not db.fetch_value(sql, {"value": value}):
            if value.isascii() and value.isdigit():
                unknown.append(f"no {kind} with id {value} is stored")
            else:
                unknown.append(f"no {kind} named {quote_value(value)} is stored")
    return unknown


@dataclasses.dataclass(frozen=True, slots=True)
class BattleSummary:
    """One row of the battle list."""

    battle_id: int
    start_time: dt.datetime
    end_time: dt.datetime
    solar_system_ids: list[int]
    system_names: list[str]
    region_names: list[str]
    kills: int
    pilots: int
    isk_destroyed: float
    side_count: int
    kind: str
    confidence: float
    changed: bool
    ongoing: bool
    updated_at: dt.datetime
    kills_without_value: int = 0
    """Kills with no ISK value, which ``isk_destroyed`` leaves out."""

    @property
    def duration(self) -> dt.timedelta:
        return self.end_time - self.start_time


@dataclasses.dataclass(frozen=True, slots=True)
class _ListedBattle(BattleSummary):
    matches: int = 0
    """Battles the filter matches, counted before the limit."""
    outdated: bool = False
    """``static_data_version.battles_outdated``, the same on every row."""


_SUMMARY_FIELDS = tuple(
    field.name
    for field in dataclasses.fields(BattleSummary)
    if field.name != "kills_without_value"
)

OUTDATED_HINT = "run 'evedmv battles detect --rebuild'"
"""The fix for battles stored before a change to what detection reads."""


@dataclasses.dataclass(frozen=True, slots=True)
class BattleList:
    """The first battles of a list in one order, and how many match in all."""

    battles: list[BattleSummary]
    matches: int
    """Battles the filter matches; more than ``len(battles)`` when cut."""
    latest_end: dt.datetime | None = None
    """When nothing matches because every stored battle ended before
    ``since``: the end of the latest one, so the caller can say how far
    back to look."""
    unknown_places: list[str] = dataclasses.field(default_factory=list)
    """When nothing matches: the system and region filters that name no
    stored place (see :func:`unknown_places`)."""
    outdated: bool = False
    """The stored battles were detected before a change to the static data,
    the killmail values or the way sides and metrics are built, and keep
    the old results until a full detection (see :data:`OUTDATED_HINT`)."""


BATTLE_ORDERS = ("start", "kills", "pilots", "isk", "duration")
"""Orders of a battle list, each largest (or newest) first, ties by higher id."""


@dataclasses.dataclass(frozen=True, slots=True)
class SideRow:
    battle_id: int
    side_no: int
    pilots: int
    ships_lost: int
    isk_lost: float
    isk_destroyed: float
    efficiency: float | None
    third_party: bool
    label_id: int | None
    """The side's most involved unit, which names the side."""
    units: int
    """The side's top-level units, ``label_id``'s among them."""


@dataclasses.dataclass(frozen=True, slots=True)
class EntityRow:
    entity_kind: str
    entity_id: int
    parent_id: int | None
    side_no: int
    weight_for: float
    weight_against: float
    confidence: float
    reason: str
    overridden: bool


@dataclasses.dataclass(frozen=True, slots=True)
class KillRow:
    killmail_id: int
    killmail_time: dt.datetime
    solar_system_id: int
    victim_character_id: int | None
    victim_corporation_id: int | None
    victim_alliance_id: int | None
    victim_ship_type_id: int
    total_value: float
    side_no: int | None
    final_blow_character_id: int | None
    attacker_count: int


@dataclasses.dataclass(frozen=True, slots=True)
class _BattleRow:
    battle_id: int
    start_time: dt.datetime
    end_time: dt.datetime
    solar_system_ids: list[int]
    region_ids: list[int]
    kills: int
    pilots: int
    isk_destroyed: float
    side_count: int
    kind: str
    confidence: float
    changed: bool
    updated_at: dt.datetime
    metrics: dict[str, Any]
    kills_pending: int
    """Pending killmails with ids inside the battle's killmail id range."""
    outdated: bool


@dataclasses.dataclass(frozen=True, slots=True)
class PlaceName:
    kind: str
    place_id: int
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class BattleReport:
    """Everything a report shows, with names resolved."""

    battle_id: int
    """The stored battle's id; 0 for a report rebuilt from a recipe."""
    start_time: dt.datetime
    end_time: dt.datetime
    solar_system_ids: list[int]
    region_ids: list[int]
    kills: int
    pilots: int
    isk_destroyed: float
    side_count: int
    """Sides in contact with another, as the battle list counts them."""
    kind: str
    confidence: float
    unclear: bool
    changed: bool
    ongoing: bool
    metrics: Mapping[str, Any]
    entities: tuple[EntityRow, ...]
    killmails: tuple[KillRow, ...]
    names: Mapping[int, str]
    """Characters, corporations, alliances and factions."""
    type_names: Mapping[int, str]
    system_names: Mapping[int, str]
    region_names: Mapping[int, str]
    outdated: bool = False
    """Stored before a change that a full detection has not applied yet
    (see :attr:`BattleList.outdated`); False for a report from a recipe,
    which is built afresh."""

    @property
    def kills_pending(self) -> int:
        """Pending killmails with ids inside this battle's killmail id range.

        The sources reported them, and they may belong to the battle, but
        their bodies are not fetched yet.
        """
        return int(self.metrics.get("completeness", {}).get("kills_pending") or 0)

    @property
    def kills_without_value(self) -> int:
        """Kills with no ISK value, which ``isk_destroyed`` leaves out."""
        completeness = self.metrics.get("completeness") or {}
        return int(completeness.get("kills_without_value") or 0)

    def losses_without_value(self, side_no: int) -> int:
        """Count the kills of side ``side_no``'s ships that have no ISK value.

        Metrics count a kill valued at 0 as one without a value, as here.
        """
        return sum(
            1 for k in self.killmails if k.side_no == side_no and k.total_value <= 0
        )

    def name(self, entity_id: int | None) -> str:
        if entity_id is None:
            return "-"
        return self.names.get(entity_id) or unnamed(entity_id)

    @property
    def sides(self) -> list[Mapping[str, Any]]:
        return list(self.metrics.get("sides", []))

    def side_label_id(self, side_no: int) -> int | None:
        """Return the id of the side's most involved unit, which names it."""
        units = self._side_units(side_no)
        if not units:
            return None
        return max(units, key=lambda e: (e.weight_for, -e.entity_id)).entity_id

    def side_label(self, side_no: int) -> str:
        """Name a side after its most involved alliance, corporation or pilot."""
        top = self.side_label_id(side_no)
        if top is None:
            return f"side {side_no}"
        return side_label_text(self.name(top), len(self._side_units(side_no)))

    def _side_units(self, side_no: int) -> list[EntityRow]:
        return [
            e
            for e in self.entities
            if e.side_no == side_no and (e.parent_id is None or e.overridden)
        ]

    @property
    def system_label(self) -> str:
        """The systems' names, ``#id`` for a system the static data lacks."""
        return ", ".join(
            self.system_names.get(s, f"#{s}") for s in self.solar_system_ids
        )

    @property
    def region_label(self) -> str:
        """The regions' names, ``#id`` for a region the static data lacks."""
        return ", ".join(self.region_names.get(r, f"#{r}") for r in self.region_ids)


def _ongoing_seconds(db: Database) -> float:
    return float(load_parameters(db).quiet_minutes * 60)


def list_battles(
    db: Database, criteria: BattleFilter | None = None
) -> list[BattleSummary]:
    """Return stored battles matching ``criteria``, newest first."""
    return find_battles(db, criteria).battles


def find_battles(
    db: Database, criteria: BattleFilter | None = None, order: str = "start"
) -> BattleList:
    """Return the first ``criteria.limit`` matching battles in ``order``.

    The database sorts every matching battle, so the list contains the largest
    ones of the whole store, and counts how many match in all.

    Raises:
        ValueError: ``order`` is not one of :data:`BATTLE_ORDERS`.
    """
    if order not in BATTLE_ORDERS:
        raise ValueError(f"unknown battle order {order!r}; use one of {BATTLE_ORDERS}")
    criteria = criteria or BattleFilter()
    with operation("battles.list"):
        quiet = _ongoing_seconds(db)
        rows = db.fetch_all(
            load_sql(_PACKAGE, "battles_list"),
            {
                "since": criteria.since,
                "until": criteria.until,
                "system": criteria.system,
                "region": criteria.region,
                "min_kills": criteria.min_kills,
                "min_pilots": criteria.min_pilots,
                "min_isk": criteria.min_isk,
                "limit": criteria.limit,
                "order": order,
                "quiet_seconds": quiet,
            },
            row=_ListedBattle,
        )
        latest_end = None
        unknown = [] if rows else unknown_places(db, criteria)
        if not rows and criteria.since is not None:
            latest = db.fetch_value(load_sql(_PACKAGE, "battles_latest_end"))
            if latest is not None and latest < criteria.since:
                latest_end = latest
        # A second statement reads the stored metrics of the listed battles
        # only. The list statement evaluates its columns for every matching
        # battle before its LIMIT, so there it would decompress them all.
        without_value = dict(
            db.fetch_all(
                load_sql(_PACKAGE, "battles_kills_without_value"),
                ([row.battle_id for row in rows],),
            )
        )
    battles = [
        BattleSummary(
            **{name: getattr(row, name) for name in _SUMMARY_FIELDS},
            kills_without_value=without_value.get(row.battle_id, 0),
        )
        for row in rows
    ]
    if not rows:
        return BattleList(battles, 0, latest_end, unknown)
    return BattleList(battles, rows[0].matches, outdated=rows[0].outdated)


def side_label_text(label: str, units: int) -> str:
    """Name a side of ``units`` top-level units after its top one, ``label``."""
    return f"{label} +{units - 1}" if units > 1 else label


def list_sides(db: Database, battle_ids: Sequence[int]) -> dict[int, list[SideRow]]:
    """Return the sides of each battle, in side order."""
    with operation("battles.list"):
        rows = db.fetch_all(
            load_sql(_PACKAGE, "sides_of_battles"), (list(battle_ids),), row=SideRow
        )
    found: dict[int, list[SideRow]] = {}
    for row in rows:
        found.setdefault(row.battle_id, []).append(row)
    return found


def load_report(
    db: Database, battle_id: int, resolver: NameResolver | None = None
) -> BattleReport:
    """Load a battle's report with every name resolved in one batch.

    Raises:
        BattleNotFound: no battle has ``battle_id``.
    """
    with operation("battles.report"):
        battle = db.fetch_one(
            load_sql(_PACKAGE, "battle_load"), (battle_id,), row=_BattleRow
        )
        if battle is None:
            raise BattleNotFound(
                "battle not found",
                f"no battle has id {battle_id}",
                "list battles with 'evedmv battles list'; after an import run"
                " 'evedmv battles detect'",
            )
        entities = db.fetch_all(
            load_sql(_PACKAGE, "battle_entities"), (battle_id,), row=EntityRow
        )
        killmails = db.fetch_all(
            load_sql(_PACKAGE, "battle_killmails"), (battle_id,), row=KillRow
        )
        names = resolve_names(
            db, report_entity_ids(battle.metrics, entities, killmails), resolver
        )
        type_ids = sorted({k.victim_ship_type_id for k in killmails})
        places = db.fetch_all(
            load_sql(_PACKAGE, "place_names"),
            (type_ids, battle.solar_system_ids, battle.region_ids),
            row=PlaceName,
        )
        quiet = _ongoing_seconds(db)
    ongoing = battle.end_time > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=quiet)
    # Bodies arrive without a detection run touching this battle, so the
    # pending count is read at every load instead of stored with the metrics.
    metrics = with_pending(battle.metrics, battle.kills_pending)
    return BattleReport(
        battle_id=battle.battle_id,
        start_time=battle.start_time,
        end_time=battle.end_time,
        solar_system_ids=battle.solar_system_ids,
        region_ids=battle.region_ids,
        kills=battle.kills,
        pilots=battle.pilots,
        isk_destroyed=battle.isk_destroyed,
        side_count=battle.side_count,
        kind=battle.kind,
        confidence=battle.confidence,
        unclear=bool(metrics.get("unclear")),
        changed=battle.changed,
        ongoing=ongoing,
        metrics=metrics,
        entities=tuple(entities),
        killmails=tuple(killmails),
        names=names,
        type_names={p.place_id: p.name for p in places if p.kind == "type"},
        system_names={p.place_id: p.name for p in places if p.kind == "system"},
        region_names={p.place_id: p.name for p in places if p.kind == "region"},
        outdated=battle.outdated,
    )


def with_pending(metrics: Mapping[str, Any], kills_pending: int) -> dict[str, Any]:
    """Return ``metrics`` with ``kills_pending`` set in its completeness."""
    completeness = dict(metrics.get("completeness") or {})
    completeness["kills_pending"] = kills_pending
    return {**metrics, "completeness": completeness}


def report_entity_ids(
    metrics: Mapping[str, Any],
    entities: Iterable[EntityRow],
    killmails: Iterable[KillRow],
) -> set[int]:
    ids: set[int] = set()
    for entity in entities:
        ids.add(entity.entity_id)
    for kill in killmails:
        for value in (
            kill.victim_character_id,
            kill.victim_corporation_id,
            kill.victim_alliance_id,
            kill.final_blow_character_id,
        ):
            if value is not None:
                ids.add(value)
    for side in metrics.get("sides", []):
        for key in ("top_final_blows", "top_damage"):
            ids.update(pilot for pilot, _ in side.get(key, []))
    return ids


def resolve_names(
    db: Database, ids: Iterable[int], resolver: NameResolver | None = None
) -> dict[int, str]:
    """Return the names of ``ids`` in one batch (cache, database, then ESI)."""
    resolver = resolver or NameResolver(db, None)
    return {i: entry.name for i, entry in resolver.resolve(ids).items()}
