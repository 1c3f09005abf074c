"""Watch profiles: named conditions on killmails, matched as they arrive.

Every import path runs :func:`on_batch` after a batch commits (it is listed
in :data:`evedmv_tui.ingest.hooks.DEFAULT_HOOKS`). It matches the whole
batch against all enabled profiles in one statement, records the matches in
``watch_matches`` and hands the new ones to the listeners registered with
:func:`add_listener`; the dashboard registers one that raises a
notification. Another process (``evedmv import`` while the dashboard runs)
is seen through :func:`list_matches` with ``after``, because ``match_id``
only grows.

Operations on several profiles (enable, disable, delete) are one statement
each, whatever the number of profiles.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg

from evedmv_tui.errors import EvedmvError
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.killmails import MAX_ISK
from evedmv_tui.names import BIGINT_MAX
from evedmv_tui.ship_classes import SHIP_CLASSES
from evedmv_tui.store.db import Database, NamedSql, load_sql
from evedmv_tui.store.telemetry import operation
from evedmv_tui.widgets.text import count_noun, quote_value

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
MIN_VALUE_FLOOR = 1.0
"""Lowest minimum value in ISK a profile takes."""
MAX_ATTACKERS = 2**31 - 1
"""Largest attacker count a profile takes (a PostgreSQL integer)."""


class WatchError(EvedmvError):
    """A watch profile is invalid, missing or already exists."""


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """One invalid field of a watch profile, with what to do about it."""

    field: str
    """The :class:`ProfileSpec` field, or empty for the profile as a whole."""
    message: str
    hint: str


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileSpec:
    """The conditions of a watch profile; an empty group means "any"."""

    name: str
    enabled: bool = True
    character_ids: tuple[int, ...] = ()
    corporation_ids: tuple[int, ...] = ()
    alliance_ids: tuple[int, ...] = ()
    solar_system_ids: tuple[int, ...] = ()
    region_ids: tuple[int, ...] = ()
    ship_type_ids: tuple[int, ...] = ()
    ship_classes: tuple[str, ...] = ()
    min_value: float | None = None
    """Lowest total value in ISK."""
    min_attackers: int | None = None
    max_attackers: int | None = None
    system_names: tuple[str, ...] = ()
    """Solar system names that :func:`resolve_places` turns into ids."""
    region_names: tuple[str, ...] = ()
    """Region names that :func:`resolve_places` turns into ids."""

    def validate(self) -> None:
        """Raise :class:`WatchError` naming the first invalid field."""
        problems = self.problems()
        if not problems:
            return
        first = problems[0]
        message = first.message
        if first.field != "name":
            message = f"watch profile {quote_value(self.name)}: {message}"
        raise WatchError("invalid watch profile", message, first.hint)

    def problems(self) -> list[Problem]:
        """Return every invalid field, in the order of the fields."""
        found = []
        if not self.name.strip():
            found.append(
                Problem(
                    "name",
                    "the profile has no name",
                    "give it a name, such as capitals or home-fleets",
                )
            )
        control = next((c for c in self.name if unicodedata.category(c) == "Cc"), None)
        if control is not None:
            # A tab shifts the columns of 'watch list', and an escape sequence
            # redraws the terminal, in the list and in the dashboard's form.
            found.append(
                Problem(
                    "name",
                    f"name {quote_value(self.name)} contains a control character"
                    f" ({quote_value(control)})",
                    "use letters, digits, spaces and punctuation only",
                )
            )
        if len(self.name) > MAX_NAME_LENGTH:
            found.append(
                Problem(
                    "name",
                    f"name {quote_value(self.name[:20])}... is {len(self.name)}"
                    f" characters long, more than {MAX_NAME_LENGTH}",
                    "choose a shorter name",
                )
            )
        for field in _ID_FIELDS:
            # The same rule as the command line's id lists: a positive bigint.
            bad = [i for i in getattr(self, field) if not 0 < i <= BIGINT_MAX]
            if bad:
                # "ship_type_ids" names the field as "ship type id".
                what = field.removesuffix("s").replace("_", " ")
                found.append(
                    Problem(
                        field,
                        f"{what} {bad[0]} is not a positive id"
                        if bad[0] <= 0
                        else f"{what} {bad[0]} is above the largest id",
                        f"give ids from 1 to {BIGINT_MAX:,}",
                    )
                )
        unknown = [c for c in self.ship_classes if c not in SHIP_CLASSES]
        if unknown:
            names = ", ".join(repr(c) for c in unknown)
            found.append(
                Problem(
                    "ship_classes",
                    f"unknown ship class{'es' if len(unknown) > 1 else ''} {names}",
                    f"known classes: {', '.join(SHIP_CLASSES)}",
                )
            )
        found.extend(self._value_problems())
        if not self.has_conditions:
            found.append(
                Problem(
                    "",
                    "the profile has no conditions and would match every killmail",
                    "add an entity, system, region, ship, value or attacker condition",
                )
            )
        return found

    def _value_problems(self) -> list[Problem]:
        """Return the problems of the value and attacker count bounds."""
        found = []
        if self.min_value is not None and not 0 <= self.min_value < math.inf:
            found.append(
                Problem(
                    "min_value",
                    f"minimum value {self.min_value} is not a finite amount of 0"
                    " or more",
                    "give a value in ISK of 0 or more",
                )
            )
        elif self.min_value is not None and self.min_value < MIN_VALUE_FLOOR:
            # A valued killmail is worth far more than 1 ISK, so a lower bound
            # filters out only the killmails without a value, counted as 0 ISK.
            found.append(
                Problem(
                    "min_value",
                    f"minimum value {self.min_value:g} ISK is below"
                    f" {MIN_VALUE_FLOOR:.0f} ISK, which every killmail with a"
                    " value reaches",
                    "give 1 ISK or more, such as 100m, or leave the minimum value out",
                )
            )
        elif self.min_value is not None and self.min_value > MAX_ISK:
            found.append(
                Problem(
                    "min_value",
                    f"minimum value {self.min_value:.3g} ISK is more than"
                    f" {MAX_ISK:.0e} ISK, the largest value a killmail can have",
                    f"give a value in ISK from 0 to {MAX_ISK:.0e} (1000t)",
                )
            )
        in_range = True
        for field, label in (
            ("min_attackers", "minimum"),
            ("max_attackers", "maximum"),
        ):
            value = getattr(self, field)
            if value is not None and not 1 <= value <= MAX_ATTACKERS:
                in_range = False
                found.append(
                    Problem(
                        field,
                        f"{label} attacker count {value} is out of range",
                        f"give an attacker count from 1 to {MAX_ATTACKERS:,}",
                    )
                )
        if (
            in_range
            and self.min_attackers is not None
            and self.max_attackers is not None
            and self.max_attackers < self.min_attackers
        ):
            found.append(
                Problem(
                    "max_attackers",
                    f"maximum attacker count {self.max_attackers} is below"
                    f" the minimum {self.min_attackers}",
                    "swap or drop one of the bounds",
                )
            )
        return found

    @property
    def has_conditions(self) -> bool:
        groups = (
            *(getattr(self, f) for f in _ID_FIELDS),
            self.ship_classes,
            self.system_names,
            self.region_names,
        )
        bounds = (self.min_value, self.min_attackers, self.max_attackers)
        return any(groups) or any(b is not None for b in bounds)

    def params(self) -> dict[str, object]:
        return {
            field.name: list(value) if isinstance(value, tuple) else value
            for field in dataclasses.fields(self)
            for value in [getattr(self, field.name)]
        }


NAME_FIELDS = {"solar_system_ids": "system_names", "region_ids": "region_names"}
"""The id fields that also take names, and the field for those names."""

_ID_FIELDS = (
    "character_ids",
    "corporation_ids",
    "alliance_ids",
    "solar_system_ids",
    "region_ids",
    "ship_type_ids",
)


@dataclasses.dataclass(frozen=True, slots=True)
class WatchProfile:
    """A stored watch profile with its match count."""

    profile_id: int
    name: str
    enabled: bool
    character_ids: list[int]
    corporation_ids: list[int]
    alliance_ids: list[int]
    solar_system_ids: list[int]
    region_ids: list[int]
    ship_type_ids: list[int]
    ship_classes: list[str]
    min_value: float | None
    min_attackers: int | None
    max_attackers: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    matches: int
    last_match: dt.datetime | None
    system_labels: list[str]
    """Name of each solar system id, or the id as text when not stored."""
    region_labels: list[str]
    """Name of each region id, or the id as text when not stored."""

    def spec(self) -> ProfileSpec:
        """Return the conditions, for editing."""
        return ProfileSpec(
            name=self.name,
            enabled=self.enabled,
            character_ids=tuple(self.character_ids),
            corporation_ids=tuple(self.corporation_ids),
            alliance_ids=tuple(self.alliance_ids),
            solar_system_ids=tuple(self.solar_system_ids),
            region_ids=tuple(self.region_ids),
            ship_type_ids=tuple(self.ship_type_ids),
            ship_classes=tuple(self.ship_classes),
            min_value=self.min_value,
            min_attackers=self.min_attackers,
            max_attackers=self.max_attackers,
        )

    def named_spec(self) -> ProfileSpec:
        """Return the conditions for editing, with places by name.

        A place missing from the static data stays an id. Saving the spec
        looks the names up again, which gives the same ids.
        """
        systems = _split_labels(self.solar_system_ids, self.system_labels)
        regions = _split_labels(self.region_ids, self.region_labels)
        return dataclasses.replace(
            self.spec(),
            solar_system_ids=systems[0],
            system_names=systems[1],
            region_ids=regions[0],
            region_names=regions[1],
        )

    def describe(self) -> str:
        """Return the conditions as one line of text, with place names."""
        named = dataclasses.replace(
            self.spec(),
            solar_system_ids=(),
            region_ids=(),
            system_names=tuple(self.system_labels),
            region_names=tuple(self.region_labels),
        )
        return describe(named)


def _split_labels(
    ids: Sequence[int], labels: Sequence[str]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Split places into the ids without a stored name and the names."""
    unnamed = tuple(i for i, label in zip(ids, labels, strict=True) if label == str(i))
    names = tuple(
        label for i, label in zip(ids, labels, strict=True) if label != str(i)
    )
    return unnamed, names


def describe(spec: ProfileSpec) -> str:
    """Return the conditions of ``spec`` as one line, e.g. for a table cell."""
    parts = []
    labels = {
        "character_ids": "characters",
        "corporation_ids": "corporations",
        "alliance_ids": "alliances",
        "solar_system_ids": "systems",
        "region_ids": "regions",
        "ship_type_ids": "ship types",
    }
    for field, label in labels.items():
        values = getattr(spec, field)
        if field in NAME_FIELDS:
            values = (*values, *getattr(spec, NAME_FIELDS[field]))
        if values:
            parts.append(f"{label} {','.join(str(v) for v in values)}")
    if spec.ship_classes:
        parts.append(f"classes {','.join(spec.ship_classes)}")
    if spec.min_value is not None:
        parts.append(f"value >= {_isk(spec.min_value)} ISK")
    if spec.min_attackers is not None:
        parts.append(f"attackers >= {spec.min_attackers}")
    if spec.max_attackers is not None:
        parts.append(f"attackers <= {spec.max_attackers}")
    return "; ".join(parts) or "no conditions"


def _isk(value: float) -> str:
    """Return an ISK amount with thousands separators, to the cent.

    Whole amounts show no decimals. The stored amount is the one given, so a
    bound of 1,234,567.891 ISK shows as 1,234,567.89.
    """
    text = f"{value:,.2f}"
    return text.removesuffix(".00")


@dataclasses.dataclass(frozen=True, slots=True)
class WatchMatch:
    """A killmail that a profile matched."""

    match_id: int
    profile_id: int
    profile_name: str
    killmail_id: int
    killmail_time: dt.datetime
    matched_at: dt.datetime
    solar_system_id: int | None
    victim_ship_type_id: int | None
    total_value: float | None


MatchListener = Callable[[Sequence[WatchMatch]], None]

_listeners: list[MatchListener] = []
_listeners_lock = threading.Lock()


def add_listener(listener: MatchListener) -> None:
    """Call ``listener`` with the new matches of every batch of this process."""
    with _listeners_lock:
        _listeners.append(listener)


def remove_listener(listener: MatchListener) -> None:
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


def resolve_places(db: Database, spec: ProfileSpec) -> ProfileSpec:
    """Return ``spec`` with its system and region names turned into ids.

    Names match in any case. One query looks up all of them, and another
    checks the ship type ids.

    Raises:
        WatchError: a name matches no stored system or region, or a ship
            type id no stored type. The message lists every such name and id.
    """
    found = _place_ids(db, spec)
    unknown = [*_unknown_places(spec, found), *unknown_types(db, spec)]
    if unknown:
        raise WatchError(
            "invalid watch profile",
            f"watch profile {quote_value(spec.name)}: "
            + "; ".join(problem.message for problem in unknown),
            unknown[0].hint,
        )
    if not spec.system_names and not spec.region_names:
        return spec
    ids = {"system": list(spec.solar_system_ids), "region": list(spec.region_ids)}
    for kind, names in (("system", spec.system_names), ("region", spec.region_names)):
        for name in names:
            place_id = found[(kind, name.strip().lower())]
            if place_id not in ids[kind]:
                ids[kind].append(place_id)
    return dataclasses.replace(
        spec,
        solar_system_ids=tuple(ids["system"]),
        region_ids=tuple(ids["region"]),
        system_names=(),
        region_names=(),
    )


def unknown_places(db: Database, spec: ProfileSpec) -> list[Problem]:
    """Return a problem for each system or region name of ``spec`` not stored."""
    return _unknown_places(spec, _place_ids(db, spec))


def unknown_references(db: Database, spec: ProfileSpec) -> list[Problem]:
    """Return a problem for each place name and ship type id of ``spec`` that
    the static data does not store."""
    return [*unknown_places(db, spec), *unknown_types(db, spec)]


def unknown_types(db: Database, spec: ProfileSpec) -> list[Problem]:
    """Return a problem for each ship type id of ``spec`` not stored.

    Without static data no type is stored, and every id is taken as given.
    An id outside the bigint range is left to :meth:`ProfileSpec.problems`.
    """
    ids = [i for i in spec.ship_type_ids if 0 < i <= BIGINT_MAX]
    if not ids:
        return []
    with operation("intel.watch"):
        rows = db.fetch_all(
            load_sql("evedmv_tui.intel", "unknown_type_ids"), {"ids": ids}
        )
    return [
        Problem(
            "ship_type_ids",
            f"no ship type with id {type_id} is stored",
            "check the id; type ids come from static data, loaded with"
            " 'evedmv sde import'",
        )
        for (type_id,) in rows
    ]


def _place_ids(db: Database, spec: ProfileSpec) -> dict[tuple[str, str], int]:
    """Return the id of each stored place that ``spec`` names, by kind and name."""
    if not spec.system_names and not spec.region_names:
        return {}
    with operation("intel.watch"):
        rows = db.fetch_all(
            load_sql("evedmv_tui.intel", "place_ids_by_name"),
            {
                "systems": [n.strip().lower() for n in spec.system_names],
                "regions": [n.strip().lower() for n in spec.region_names],
            },
        )
    return {(kind, name): place_id for kind, name, place_id in rows}


def _unknown_places(
    spec: ProfileSpec, found: dict[tuple[str, str], int]
) -> list[Problem]:
    problems = []
    for kind, names in (("system", spec.system_names), ("region", spec.region_names)):
        field = "solar_system_ids" if kind == "system" else "region_ids"
        label = "solar system" if kind == "system" else "region"
        for name in names:
            if (kind, name.strip().lower()) not in found:
                problems.append(
                    Problem(
                        field,
                        f"no {label} named {quote_value(name.strip())} is stored",
                        "check the spelling or give the id; names come from static"
                        " data, loaded with 'evedmv sde import'",
                    )
                )
    return problems


def create_profile(db: Database, spec: ProfileSpec) -> int:
    """Store a new profile and return its id."""
    spec.validate()
    spec = resolve_places(db, spec)
    try:
        with operation("intel.watch"):
            profile_id = db.fetch_value(
                load_sql("evedmv_tui.intel", "watch_create"), spec.params()
            )
    except psycopg.errors.UniqueViolation:
        raise WatchError(
            "watch profile exists",
            f"a watch profile named {quote_value(spec.name)} already exists",
            "pick another name, or edit the existing profile",
        ) from None
    log.info("created watch profile %r (%s)", spec.name, profile_id)
    return int(profile_id)


@dataclasses.dataclass(frozen=True, slots=True)
class Update:
    """The outcome of saving a profile for its earlier matches."""

    rechecked: bool
    """True when the conditions changed, so the matches were checked again."""
    dropped: int
    """Earlier matches deleted because they do not meet the new conditions."""
    kept: int
    """Earlier matches that meet the new conditions (all of them when the
    conditions did not change)."""

    def summary(self) -> str | None:
        """Return what happened to the earlier matches, or None when they
        were not checked again."""
        if not self.rechecked:
            return None
        kept = count_noun(self.kept, "earlier match", "earlier matches")
        if not self.dropped:
            verb = "it meets" if self.kept == 1 else "they all meet"
            return f"{kept} kept: {verb} the new conditions"
        dropped = count_noun(self.dropped, "earlier match", "earlier matches")
        verb = "it does" if self.dropped == 1 else "they do"
        return (
            f"{dropped} dropped because {verb} not meet the new conditions;"
            f" {self.kept:,} kept"
        )


def update_profile(db: Database, name: str, spec: ProfileSpec) -> Update:
    """Replace the conditions (and possibly the name) of profile ``name``.

    When the conditions change, the profile's earlier matches are checked
    against the new ones with the conditions that record matches. Those that
    no longer meet them are deleted, so a profile lists only the matches of
    the conditions it shows.
    """
    spec.validate()
    spec = resolve_places(db, spec)
    before = get_profile(db, name)
    params = {**spec.params(), "new_name": spec.name, "name": name}
    recheck = _conditions(before.spec()) != _conditions(spec) and before.matches
    # One transaction, so a lost connection cannot store the new conditions
    # with matches of the old ones.
    try:
        with (
            operation("intel.watch"),
            db.connection() as conn,
            conn.transaction(),
        ):
            found = db.fetch_value(
                load_sql("evedmv_tui.intel", "watch_update"), params, conn=conn
            )
            if found is None:
                raise _not_found([name])
            dropped = recheck_matches(db, int(found), conn=conn) if recheck else 0
    except psycopg.errors.UniqueViolation:
        raise WatchError(
            "watch profile exists",
            f"cannot rename {quote_value(name)}: a profile named"
            f" {quote_value(spec.name)} already exists",
            "pick another name",
        ) from None
    if not recheck:
        return Update(False, 0, before.matches)
    log.info(
        "watch profile %r: conditions changed, %d of %d matches dropped",
        spec.name,
        dropped,
        before.matches,
    )
    return Update(True, dropped, max(before.matches - dropped, 0))


def _conditions(spec: ProfileSpec) -> ProfileSpec:
    """Return ``spec`` without what does not decide a match: name and state."""
    return dataclasses.replace(spec, name="", enabled=True)


def recheck_matches(
    db: Database, profile_id: int, *, conn: psycopg.Connection[Any] | None = None
) -> int:
    """Delete the matches of a profile that no longer meet its conditions.

    The matches are checked in chunks of :data:`STORED_MATCH_CHUNK`, oldest
    first, whether the profile is enabled or not, on ``conn`` when given.
    Returns the number deleted.
    """
    dropped = 0
    after: tuple[dt.datetime | None, int] = (None, -1)
    with operation("intel.watch.recheck"):
        while True:
            rows = db.fetch_all(
                load_sql("evedmv_tui.intel", "watch_profile_matches_chunk"),
                {
                    "profile_id": profile_id,
                    "time": after[0],
                    "id": after[1],
                    "limit": STORED_MATCH_CHUNK,
                },
                conn=conn,
            )
            if not rows:
                return dropped
            deleted = db.fetch_all(
                _matching_sql("watch_match_recheck"),
                {
                    "ids": [row[0] for row in rows],
                    "min_time": rows[0][1],
                    "max_time": rows[-1][1],
                    "profile_id": profile_id,
                    "include_disabled": True,
                },
                conn=conn,
            )
            dropped += len(deleted)
            after = (rows[-1][1], rows[-1][0])


def list_profiles(db: Database) -> list[WatchProfile]:
    with operation("intel.watch"):
        return db.fetch_all(
            load_sql("evedmv_tui.intel", "watch_profiles"), row=WatchProfile
        )


def get_profile(db: Database, name: str) -> WatchProfile:
    """Return profile ``name`` or raise :class:`WatchError`."""
    for profile in list_profiles(db):
        if profile.name == name:
            return profile
    raise _not_found([name])


def set_enabled(db: Database, names: Iterable[str], enabled: bool) -> list[str]:
    """Enable or disable the named profiles in one statement; return their names.

    Raises :class:`WatchError` listing the names that do not exist; the
    existing ones are changed all the same.
    """
    requested = sorted(set(names))
    with operation("intel.watch"):
        rows = db.fetch_all(
            load_sql("evedmv_tui.intel", "watch_set_enabled"),
            {"names": requested, "enabled": enabled},
        )
    changed = sorted(row[0] for row in rows)
    missing = [name for name in requested if name not in changed]
    if missing:
        raise _not_found(missing)
    return changed


def delete_profiles(db: Database, names: Iterable[str]) -> list[str]:
    """Delete the named profiles and their matches in one statement.

    Raises :class:`WatchError` listing the names that do not exist; the
    existing ones are deleted all the same.
    """
    requested = sorted(set(names))
    with operation("intel.watch"):
        rows = db.fetch_all(
            load_sql("evedmv_tui.intel", "watch_delete"), {"names": requested}
        )
    deleted = sorted(row[0] for row in rows)
    missing = [name for name in requested if name not in deleted]
    if missing:
        raise _not_found(missing)
    log.info("deleted watch profiles %s", ", ".join(deleted))
    return deleted


def list_matches(
    db: Database,
    *,
    profile_id: int | None = None,
    after: int | None = None,
    limit: int = 100,
    by_kill_time: bool = False,
) -> list[WatchMatch]:
    """Return recorded matches, newest first (only those after ``after``).

    Newest is the latest recorded, or with ``by_kill_time`` the latest kill:
    a backfill records old kills after new ones, and a list for reading
    shows kills by time.

    The matches and their killmails are two statements. One joined
    statement has no time bound at planning time, so every
    poll would plan every monthly partition of ``killmails``.
    """
    with operation("intel.watch"):
        rows = db.fetch_all(
            load_sql("evedmv_tui.intel", "watch_matches"),
            {
                "profile_id": profile_id,
                "after": after,
                "limit": limit,
                "by_time": by_kill_time,
            },
        )
        if not rows:
            return []
        times = [row[4] for row in rows]
        killmails = {
            (killmail_id, killmail_time): rest
            for killmail_id, killmail_time, *rest in db.fetch_all(
                load_sql("evedmv_tui.intel", "watch_match_killmails"),
                {
                    "ids": sorted({row[3] for row in rows}),
                    "min_time": min(times),
                    "max_time": max(times),
                },
            )
        }
    return [
        WatchMatch(*row, *killmails.get((row[3], row[4]), (None, None, None)))
        for row in rows
    ]


def match_batch(db: Database, result: BatchResult) -> list[WatchMatch]:
    """Match the killmails of ``result`` against all enabled profiles.

    One statement, whatever the number of killmails and profiles. Returns
    the matches not recorded before.
    """
    ids = list(result.killmail_ids)
    if not ids or result.min_time is None or result.max_time is None:
        return []
    with operation("intel.watch.match"):
        return _match(db, ids, result.min_time, result.max_time, None)


def _match(
    db: Database,
    ids: list[int],
    min_time: dt.datetime,
    max_time: dt.datetime,
    profile_id: int | None,
) -> list[WatchMatch]:
    return db.fetch_all(
        _matching_sql("watch_match"),
        {
            "ids": ids,
            "min_time": min_time,
            "max_time": max_time,
            "profile_id": profile_id,
            "include_disabled": False,
        },
        row=WatchMatch,
    )


@functools.cache
def _matching_sql(name: str) -> NamedSql:
    """Return statement ``name`` after the matching CTEs it builds on.

    Recording new matches and re-checking old ones both use the conditions
    of ``watch_matching.sql``, so the two cannot disagree.
    """
    common = load_sql("evedmv_tui.intel", "watch_matching")
    statement = load_sql("evedmv_tui.intel", name)
    return NamedSql(statement.name, f"{common.text}{statement.text}")


STORED_MATCH_CHUNK = 5_000
"""Killmails matched per statement by :func:`match_stored`."""


def match_stored(db: Database, name: str, since: dt.datetime) -> int:
    """Match the stored killmails since ``since`` against profile ``name``.

    Profiles match killmails as they are imported, so a new profile starts
    without matches; this records those it would have had. Other profiles
    are left alone, and no listener is notified, since these kills are not new.
    The killmails are read and matched in chunks of
    :data:`STORED_MATCH_CHUNK`, oldest first. Returns the new matches.
    """
    profile = get_profile(db, name)
    if not profile.enabled:
        raise WatchError(
            "watch profile disabled",
            f"watch profile {quote_value(name)} is disabled, so it matches nothing",
            f"enable it first: evedmv watch enable {name}",
        )
    recorded = 0
    after = (since, -1)
    with operation("intel.watch.match_stored"):
        while True:
            rows = db.fetch_all(
                load_sql("evedmv_tui.intel", "watch_stored_chunk"),
                {"time": after[0], "id": after[1], "limit": STORED_MATCH_CHUNK},
            )
            if not rows:
                return recorded
            matches = _match(
                db,
                [row[0] for row in rows],
                rows[0][1],
                rows[-1][1],
                profile.profile_id,
            )
            recorded += len(matches)
            after = (rows[-1][1], rows[-1][0])


def stored_span(db: Database) -> tuple[dt.datetime, dt.datetime] | None:
    """Return the times of the oldest and newest stored killmails, or None."""
    with operation("intel.watch"):
        row = db.fetch_one(load_sql("evedmv_tui.intel", "watch_stored_span"))
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def count_matches_since(db: Database, profile_id: int, since: dt.datetime) -> int:
    """Return the number of matches of a profile with a killmail from ``since`` on."""
    with operation("intel.watch"):
        count = db.fetch_value(
            load_sql("evedmv_tui.intel", "watch_matches_since"),
            {"profile_id": profile_id, "since": since},
        )
    return int(count)


def on_batch(db: Database, result: BatchResult) -> None:
    """Batch hook: record the batch's matches and tell the listeners."""
    matches = match_batch(db, result)
    if not matches:
        return
    log.info(
        "%d watch matches in a batch of %d killmails",
        len(matches),
        len(result.killmail_ids),
    )
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(matches)
        except Exception:
            log.exception("watch listener %r failed", listener)


def _not_found(names: Sequence[str]) -> WatchError:
    listed = ", ".join(repr(n) for n in names)
    return WatchError(
        "watch profile not found",
        f"no watch profile named {listed}",
        "list the profiles with 'evedmv watch list'",
    )
