"""Saved battle recipes: systems, a time window and side overrides as JSON.

A recipe rebuilds a report without the stored battles. Battle detection's
own steps run over the recipe's systems: candidate windows, engagements,
activity runs and merging, with the recipe's parameters. The detected
battles that lie inside the recipe's window make up the report, except a
battle whose time span and systems lie within those of another one there
(a smaller fight next to a larger one). Sides are assigned the usual way
and the recipe's overrides are applied on top. So the recipe of a detected
battle rebuilds that battle's kills, sides and figures, while kills in the
same systems and time that detection put into another battle, or into
none, stay out. The file looks like::

    {
      "version": 2,
      "systems": [30000142, "Perimeter"],
      "start": "2021-11-27T18:00:00+00:00",
      "end": "2021-11-27T19:00:00+00:00",
      "overrides": [
        {"entity_kind": "corporation", "entity_id": 98000102,
         "anchor_kind": "alliance", "anchor_id": 99000102},
        {"entity_kind": "character", "entity_id": 90000001, "new_side": 1}
      ],
      "parameters": {"quiet_minutes": 30}
    }

Systems are ids (1 to 2^63-1) or names (any case), at most
:data:`MAX_SYSTEMS` of them, and the window is at most :data:`MAX_WINDOW`
long. ``parameters`` holds detection
parameters (see ``docs/battles.md``); the ones it leaves out, and all of
them in a recipe without it, are those stored in the database. Version 1
recipes, which have no ``parameters``, are read the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from evedmv_tui.battles.cluster import (
    Window,
    candidate_windows,
    merge_pieces,
    pieces_of_window,
    split_by_window,
)
from evedmv_tui.battles.detect import load_ship_types
from evedmv_tui.battles.incremental import fetch_together, window_kills_read
from evedmv_tui.battles.metrics import build_metrics
from evedmv_tui.battles.model import Cluster, Kill, systems_by_kills
from evedmv_tui.battles.parameters import (
    BattleParameters,
    json_text,
    load_parameters,
    parse_parameters,
)
from evedmv_tui.battles.report import (
    BattleReport,
    EntityRow,
    KillRow,
    PlaceName,
    report_entity_ids,
    resolve_names,
    with_pending,
)
from evedmv_tui.battles.sides import EntitySide, Override, assign_sides
from evedmv_tui.battles.static import static_data
from evedmv_tui.errors import ConfigError, EvedmvError
from evedmv_tui.names import NameResolver
from evedmv_tui.store.db import Database, NamedSql, load_sql
from evedmv_tui.store.telemetry import operation

_PACKAGE = "evedmv_tui.battles"
_AS_JSONB = NamedSql("battles.recipe_metrics", "SELECT %s::jsonb")
_STATIC_LOADED = NamedSql(
    "battles.recipe_static_loaded", "SELECT EXISTS (SELECT 1 FROM solar_systems)"
)
_STORED_SYSTEM_IDS = NamedSql(
    "battles.recipe_stored_system_ids",
    "SELECT solar_system_id FROM solar_systems WHERE solar_system_id = ANY(%s)",
)
RECIPE_VERSION = 2
"""Version that :func:`write_recipe` writes; 1 lacks ``parameters``."""
MAX_ID = 2**63 - 1
"""The largest id a bigint column can store."""
MAX_NEW_SIDE = 2**31 - 1
"""The largest ``new_side`` label: ``battle_side_overrides.new_side`` is an
integer column, and the labels it stores start at 1."""
MAX_SYSTEMS = 500
"""The maximum number of systems in a recipe. Detection merges fights a few
jumps apart at most, so 500 is an estimate well above any real battle."""
MAX_WINDOW = dt.timedelta(days=7)
"""The maximum time from a recipe's ``start`` to its ``end``. Detection reads
every kill of the systems in the window, and the report of years of kills
exceeds PostgreSQL's jsonb size limit."""
EARLIEST_START = dt.datetime(2003, 1, 1, tzinfo=dt.UTC)
"""The earliest recipe start: the importer rejects older killmails."""
LATEST_END = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
"""The latest recipe end, far enough from year 9999 that the margins
detection adds around the window stay within Python's datetimes."""


class RecipeError(EvedmvError):
    """A recipe file that cannot be read or is invalid."""


@dataclasses.dataclass(frozen=True, slots=True)
class Recipe:
    systems: tuple[int | str, ...]
    start: dt.datetime
    end: dt.datetime
    overrides: tuple[Override, ...]
    parameters: Mapping[str, Any] | None = None
    """Detection parameters by name; None uses the stored ones."""

    def to_json(self) -> dict[str, Any]:
        overrides = []
        for o in self.overrides:
            entry: dict[str, Any] = {
                "entity_kind": o.entity_kind,
                "entity_id": o.entity_id,
            }
            if o.anchor_id is not None:
                entry["anchor_kind"] = o.anchor_kind
                entry["anchor_id"] = o.anchor_id
            else:
                entry["new_side"] = o.new_side
            overrides.append(entry)
        document: dict[str, Any] = {
            "version": RECIPE_VERSION,
            "systems": list(self.systems),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "overrides": overrides,
        }
        if self.parameters is not None:
            document["parameters"] = dict(self.parameters)
        return document


def _fail(path: Path, field: str, problem: str) -> RecipeError:
    return RecipeError(
        "invalid battle recipe",
        f"{path}: field {field!r} {problem}",
        "fix the file, or write a new one with"
        " 'evedmv battles show ID --save-recipe FILE'",
    )


RECIPE_KEYS = ("version", "systems", "start", "end", "overrides", "parameters")
"""The keys a recipe object may have."""

OVERRIDE_KEYS = ("entity_kind", "entity_id", "anchor_kind", "anchor_id", "new_side")
"""The keys an object in a recipe's ``overrides`` may have."""


def _check_keys(
    path: Path, field: str, document: dict[str, Any], allowed: Sequence[str]
) -> None:
    """Raise :class:`RecipeError` on the first key of ``document`` not in ``allowed``.

    A misspelt key would otherwise be ignored, and the recipe would rebuild
    the battle without the overrides or parameters it was meant to carry.
    """
    for key in document:
        if key not in allowed:
            raise RecipeError(
                "invalid battle recipe",
                f"{path}: {field} has the unknown key {key!r}",
                f"allowed keys: {', '.join(allowed)}",
            )


def _span_text(span: dt.timedelta) -> str:
    """Return ``span`` in words: ``9,862 days`` or ``7 days 3 h 20 min``.

    Seconds round up, so a span just over a limit never reads as the limit.
    """
    minutes = math.ceil(span.total_seconds() / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days:,} day" if days == 1 else f"{days:,} days")
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    return " ".join(parts) or "less than a minute"


def _time(path: Path, document: dict[str, Any], field: str) -> dt.datetime:
    raw = document.get(field)
    if not isinstance(raw, str):
        raise _fail(path, field, "is missing or not an ISO 8601 time")
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _fail(
            path, field, f"has {json_text(raw)}, not an ISO 8601 time"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    if not EARLIEST_START <= moment <= LATEST_END:
        raise _fail(
            path,
            field,
            f"has {json_text(raw)}, expected a time from {EARLIEST_START:%Y-%m-%d} to"
            f" {LATEST_END:%Y-%m-%d}",
        )
    # Messages and saved recipes then show the window in UTC, as reports do.
    return moment.astimezone(dt.UTC)


def _id(path: Path, field: str, value: object) -> int:
    """Return ``value`` if it is an id a bigint column can store."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(path, field, f"has {json_text(value)}, expected an integer id")
    if not 1 <= value <= MAX_ID:
        raise _fail(
            path, field, f"has {value}, expected a positive bigint (1 to {MAX_ID})"
        )
    return value


def _new_side(path: Path, field: str, value: object) -> int:
    """Return ``value`` if it is a ``new_side`` label the overrides table can store."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(
            path, field, f"has {json_text(value)}, expected an integer side label"
        )
    if not 1 <= value <= MAX_NEW_SIDE:
        raise _fail(
            path,
            field,
            f"has {value}, expected a side label from 1 to {MAX_NEW_SIDE}",
        )
    return value


def _is_report(document: dict[str, Any]) -> bool:
    """Tell whether ``document`` is a report written by ``export.render_json``.

    A report lists its systems as objects with ``solar_system_id`` and
    ``name``, and has ``killmails`` and ``sides``, which no recipe has.
    """
    systems = document.get("systems")
    report_systems = isinstance(systems, list) and any(
        isinstance(s, dict) and "solar_system_id" in s for s in systems
    )
    return report_systems or ("killmails" in document and "sides" in document)


def read_recipe(path: Path) -> Recipe:
    """Read and validate a recipe file.

    Raises:
        RecipeError: the file is unreadable, not JSON, or a field is invalid.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecipeError(
            "cannot read battle recipe", f"{path}: {exc.strerror}", None
        ) from None
    except json.JSONDecodeError as exc:
        raise RecipeError(
            "invalid battle recipe",
            f"{path}: not JSON ({exc.msg} at line {exc.lineno})",
            "fix the file",
        ) from None
    except UnicodeDecodeError as exc:
        raise RecipeError(
            "invalid battle recipe",
            f"{path}: not UTF-8 text (byte {exc.start})",
            "give the JSON file 'battles show --save-recipe' wrote",
        ) from None
    except RecursionError:
        raise RecipeError(
            "invalid battle recipe",
            f"{path}: nested too deeply to be a recipe",
            "give the JSON file 'battles show --save-recipe' wrote",
        ) from None
    except ValueError:
        # Python's json module rejects integers of more than 4300 digits.
        raise RecipeError(
            "invalid battle recipe",
            f"{path}: a number has too many digits to read",
            "ids have at most 19 digits; fix the file",
        ) from None
    if not isinstance(document, dict):
        raise _fail(path, "(top level)", "is not a JSON object")
    if _is_report(document):
        raise RecipeError(
            "not a battle recipe",
            f"{path}: this is a battle report, as 'battles show --format json'"
            " and the report's export write it, not a recipe",
            "write the battle's recipe with 'evedmv battles show ID"
            " --save-recipe FILE', or give the .recipe.json file that the"
            " report's export key (x) writes next to the report",
        )
    _check_keys(path, "the top level", document, RECIPE_KEYS)
    version = document.get("version", 1)
    if version not in (1, RECIPE_VERSION) or isinstance(version, bool):
        raise _fail(
            path,
            "version",
            f"has {json_text(version)}; this program reads versions 1 and 2",
        )
    systems = document.get("systems")
    if not isinstance(systems, list) or not systems:
        raise _fail(path, "systems", "must be a non-empty list of ids or names")
    if len(systems) > MAX_SYSTEMS:
        raise _fail(
            path,
            "systems",
            f"has {len(systems)} systems, more than the maximum of {MAX_SYSTEMS};"
            " list only the systems of the battle",
        )
    for number, system in enumerate(systems):
        if isinstance(system, str):
            continue
        if not isinstance(system, int) or isinstance(system, bool):
            raise _fail(
                path, "systems", f"has {json_text(system)}, not an id or a name"
            )
        _id(path, f"systems[{number}]", system)
    start = _time(path, document, "start")
    end = _time(path, document, "end")
    if end < start:
        raise _fail(path, "end", "is before 'start'")
    if end - start > MAX_WINDOW:
        raise _fail(
            path,
            "end",
            f"is {_span_text(end - start)} after 'start', more than the maximum"
            f" of {MAX_WINDOW.days} days; narrow the window to the battle",
        )
    overrides = []
    raw_overrides = document.get("overrides", [])
    if not isinstance(raw_overrides, list):
        raise _fail(path, "overrides", "must be a list")
    for number, entry in enumerate(raw_overrides):
        field = f"overrides[{number}]"
        if not isinstance(entry, dict):
            raise _fail(path, field, "is not an object")
        _check_keys(path, f"field {field!r}", entry, OVERRIDE_KEYS)
        kind = entry.get("entity_kind")
        if kind not in ("alliance", "corporation", "character"):
            raise _fail(path, f"{field}.entity_kind", f"has {json_text(kind)}")
        entity_id = _id(path, f"{field}.entity_id", entry.get("entity_id"))
        anchor_id = entry.get("anchor_id")
        if anchor_id is not None:
            _id(path, f"{field}.anchor_id", anchor_id)
        new_side = entry.get("new_side")
        if new_side is not None:
            _new_side(path, f"{field}.new_side", new_side)
        if (anchor_id is None) == (new_side is None):
            raise _fail(path, field, "needs exactly one of 'anchor_id' and 'new_side'")
        if anchor_id is not None and entry.get("anchor_kind") not in (
            "alliance",
            "corporation",
            "character",
        ):
            raise _fail(path, f"{field}.anchor_kind", "is missing or invalid")
        overrides.append(
            Override(kind, entity_id, entry.get("anchor_kind"), anchor_id, new_side)
        )
    parameters = document.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise _fail(path, "parameters", "must be an object of name and value")
        try:
            parse_parameters(
                parameters, source=f"{path}: field 'parameters'", quote=json_text
            )
        except ConfigError as exc:
            raise RecipeError("invalid battle recipe", exc.message, exc.hint) from None
    return Recipe(tuple(systems), start, end, tuple(overrides), parameters)


def recipe_of_battle(db: Database, battle_id: int) -> Recipe:
    """Return the recipe that rebuilds a stored battle.

    The recipe carries the detection parameters in force, so it rebuilds
    the same battle after they change or in another database.
    """
    params = load_parameters(db)
    with operation("battles.recipe"):
        scope = db.fetch_one(load_sql(_PACKAGE, "battle_scope"), (battle_id,))
        if scope is None:
            raise RecipeError(
                "battle not found",
                f"no battle has id {battle_id}",
                "list battles with 'evedmv battles list'",
            )
        rows = db.fetch_all(load_sql(_PACKAGE, "overrides_load"), ([battle_id],))
    systems, start, end = scope
    overrides = tuple(Override(*row[1:]) for row in rows)
    return Recipe(tuple(systems), start, end, overrides, params.to_json())


def write_recipe(recipe: Recipe, path: Path) -> None:
    """Write ``recipe`` as JSON to ``path``.

    Raises:
        RecipeError: the file cannot be written.
    """
    try:
        path.write_text(json.dumps(recipe.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RecipeError(
            "cannot write battle recipe",
            f"{path}: {exc.strerror}",
            "give a path in an existing folder you can write to",
        ) from None


def save_battle_recipe(db: Database, battle_id: int, path: Path) -> Path:
    """Write the recipe of stored battle ``battle_id`` to ``path``; return it.

    Raises:
        RecipeError: the battle is not stored, or the file cannot be written.
    """
    write_recipe(recipe_of_battle(db, battle_id), path)
    return path


def resolved_recipe(db: Database, recipe: Recipe) -> Recipe:
    """Return ``recipe`` with system ids for names and every parameter in force.

    Like :func:`recipe_of_battle`, the result rebuilds the same report in
    another database or after the stored parameters change.

    Raises:
        RecipeError: a system name or id is unknown.
    """
    systems = tuple(_system_ids(db, recipe, "recipe"))
    params = recipe_parameters(db, recipe)
    return dataclasses.replace(recipe, systems=systems, parameters=params.to_json())


def _check_overrides(
    recipe: Recipe, entities: Sequence[EntitySide], source: str
) -> None:
    """Raise unless each override's entity and anchor are in the battle.

    Side assignment skips an override whose entity or anchor is not in the
    battle, so without this check a mistyped id changes nothing, silently.
    """
    present = {(e.entity_kind, e.entity_id) for e in entities}
    for number, override in enumerate(recipe.overrides):
        missing = None
        if (override.entity_kind, override.entity_id) not in present:
            missing = (override.entity_kind, override.entity_id)
        elif (
            override.anchor_kind is not None
            and override.anchor_id is not None
            and (override.anchor_kind, override.anchor_id) not in present
        ):
            missing = (override.anchor_kind, override.anchor_id)
        if missing is not None:
            kind, entity_id = missing
            raise RecipeError(
                "invalid battle recipe",
                f"{source}: field 'overrides[{number}]' names {kind} {entity_id},"
                " which is not in the battle",
                "fix the id or remove the override; the entities tab of the"
                " battle's report lists the entities that can move",
            )


def _system_ids(db: Database, recipe: Recipe, path: str) -> list[int]:
    """Return the ids of the recipe's systems, names resolved.

    Raises:
        RecipeError: a name or an id is not a stored solar system. Ids are
            checked only when static data is loaded, because without it no
            system is stored and detection still reads the killmails' systems.
    """
    ids = [s for s in recipe.systems if isinstance(s, int)]
    # A stray space around a name is easy to type and no stored name has one.
    names = [s.strip() for s in recipe.systems if isinstance(s, str)]
    static_loaded = bool(db.fetch_value(_STATIC_LOADED))
    if static_loaded and ids:
        stored = {
            row[0] for row in db.fetch_all(_STORED_SYSTEM_IDS, (sorted(set(ids)),))
        }
        unknown_ids = list(dict.fromkeys(i for i in ids if i not in stored))
        if unknown_ids:
            listed = ", ".join(str(i) for i in unknown_ids)
            noun = "id" if len(unknown_ids) == 1 else "ids"
            raise RecipeError(
                "invalid battle recipe",
                f"{path}: no solar system is stored with the {noun} {listed}",
                "fix or remove the ids in field 'systems'",
            )
    if names:
        found = dict(
            db.fetch_all(
                load_sql(_PACKAGE, "system_ids_by_name"), ([n.lower() for n in names],)
            )
        )
        missing = [n for n in names if n.lower() not in found]
        if missing:
            hint = (
                "check the spelling, or use a system id"
                if static_loaded
                else "static data is not loaded: load it with 'evedmv sde import',"
                " or use a system id"
            )
            raise RecipeError(
                "invalid battle recipe",
                f"{path}: unknown solar system {json_text(missing[0])}",
                hint,
            )
        ids.extend(found[n.lower()] for n in names)
    return sorted(set(ids))


def report_from_recipe(
    db: Database,
    recipe: Recipe,
    *,
    source: str = "recipe",
    resolver: NameResolver | None = None,
) -> BattleReport:
    """Build the report a recipe describes, without touching stored battles.

    Raises:
        RecipeError: a system name or id is unknown, detection finds no battle
            in those systems within the window, or an override names an
            entity that is not in the battle.
    """
    params = recipe_parameters(db, recipe)
    with operation("battles.recipe"):
        systems = _system_ids(db, recipe, source)
        kills = detected_kills(db, systems, recipe.start, recipe.end, params)
        if not kills:
            raise RecipeError(
                "empty battle recipe",
                f"{source}: battle detection finds no battle in those systems"
                f" between {recipe.start.isoformat()} and {recipe.end.isoformat()}",
                "check the systems and the window, and that the kills are"
                " imported; the window must hold a battle from its first kill"
                " to its last",
            )
        sides = assign_sides(kills, params, recipe.overrides)
        _check_overrides(recipe, sides.entities, source)
        ship_ids = {k.victim_ship_type_id for k in kills}
        for k in kills:
            ship_ids.update(s for s in k.attacker_ship_type_ids if s is not None)
        ship_types = load_ship_types(db, ship_ids)
        killmail_ids = [k.killmail_id for k in kills]
        kills_pending = db.fetch_value(
            load_sql(_PACKAGE, "pending_in_id_range"),
            (min(killmail_ids), max(killmail_ids)),
        )
        # Stored battles keep their metrics as jsonb, which reorders object
        # keys. A round trip through jsonb gives the order a stored report has.
        built = build_metrics(kills, sides, ship_types, params)
        try:
            stored = db.fetch_value(_AS_JSONB, (json.dumps(built),))
        except psycopg.errors.ProgramLimitExceeded:
            raise RecipeError(
                "battle recipe too large",
                f"{source}: the {len(kills)} kills of the battles in the window"
                " make a report larger than PostgreSQL's jsonb limit",
                "narrow the window or list fewer systems",
            ) from None
        metrics = with_pending(stored, kills_pending or 0)
        entities = tuple(
            EntityRow(
                e.entity_kind,
                e.entity_id,
                e.parent_id,
                e.side_no,
                e.weight_for,
                e.weight_against,
                _real(e.confidence),
                e.reason,
                e.overridden,
            )
            for e in sorted(sides.entities, key=_entity_order)
        )
        killmails = tuple(_kill_row(k, sides.side_of) for k in kills)
        ids = report_entity_ids(metrics, entities, killmails)
        names = resolve_names(db, ids, resolver)
        used_systems = list(systems_by_kills(kills))
        regions = dict(
            db.fetch_all(load_sql(_PACKAGE, "system_regions"), (used_systems,))
        )
        # In the order of their first system, as a stored battle's report has.
        region_ids = list(
            dict.fromkeys(regions[s] for s in used_systems if s in regions)
        )
        places = db.fetch_all(
            load_sql(_PACKAGE, "place_names"),
            (sorted(ship_ids), used_systems, region_ids),
            row=PlaceName,
        )
    return BattleReport(
        battle_id=0,
        start_time=kills[0].killmail_time,
        end_time=kills[-1].killmail_time,
        solar_system_ids=used_systems,
        region_ids=region_ids,
        kills=len(kills),
        pilots=metrics["pilots"],
        isk_destroyed=metrics["isk_destroyed"],
        side_count=sides.side_count,
        kind=metrics["kind"],
        confidence=_real(sides.confidence),
        unclear=bool(metrics["unclear"]),
        changed=False,
        ongoing=False,
        metrics=metrics,
        entities=entities,
        killmails=killmails,
        names=names,
        type_names={p.place_id: p.name for p in places if p.kind == "type"},
        system_names={p.place_id: p.name for p in places if p.kind == "system"},
        region_names={p.place_id: p.name for p in places if p.kind == "region"},
    )


def recipe_parameters(db: Database, recipe: Recipe) -> BattleParameters:
    """Return the recipe's parameters over those stored in the database."""
    stored = load_parameters(db)
    if recipe.parameters is None:
        return stored
    return parse_parameters(
        recipe.parameters, source="recipe", base=stored, quote=json_text
    )


def detected_kills(
    db: Database,
    systems: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
    params: BattleParameters,
) -> list[Kill]:
    """Return the kills of the battles detection finds in ``systems`` in a window.

    Detection runs as :func:`evedmv_tui.battles.detect.detect_all` does, on
    the kills of ``systems`` only: whole candidate windows around
    ``start``..``end``, their pieces, then merging. Battles with a kill
    outside ``start``..``end`` are left out, and so is a battle whose time
    span and systems lie within those of another battle in the window.
    Returns the kills in time order.
    """
    with db.connection() as conn, conn.transaction():
        windows = _whole_windows(db, conn, systems, start, end, params)
        rows: list[Kill] = []
        if windows:
            (rows,) = fetch_together(db, conn, [window_kills_read(windows)])
        static = static_data(db, conn)
    pieces = []
    for window_kills in split_by_window(rows, windows):
        pieces.extend(pieces_of_window(window_kills, params))
    near = static.jumps.neighbourhoods(
        {p.solar_system_id for p in pieces}, params.merge_max_jumps
    )
    inside = [
        c
        for c in merge_pieces(pieces, params, near)
        if start <= c.start and c.end <= end
    ]
    chosen = [c for c in inside if not any(_nested(c, other) for other in inside)]
    kills = [kill for cluster in chosen for kill in cluster.kills]
    kills.sort(key=lambda k: (k.killmail_time, k.killmail_id))
    return kills


def _nested(cluster: Cluster, other: Cluster) -> bool:
    """Return whether ``cluster`` lies within ``other`` in time and systems.

    NOTE: two battles with the same first and last kill times in the same
    systems lie within each other, so the recipe keeps both.
    """
    same = (cluster.start, cluster.end, cluster.solar_system_ids) == (
        other.start,
        other.end,
        other.solar_system_ids,
    )
    return (
        not same
        and other.start <= cluster.start
        and cluster.end <= other.end
        and set(cluster.solar_system_ids) <= set(other.solar_system_ids)
    )


def _whole_windows(
    db: Database,
    conn: psycopg.Connection[Any],
    systems: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
    params: BattleParameters,
) -> list[Window]:
    """Return the candidate windows of ``systems`` around ``start``..``end``.

    A full detection counts active segments over all time. Here they are
    counted over a range that grows until no window ends near its edges, so
    each window found is the whole window a full detection would find.
    Active segments join when at most ``2 * quiet_minutes`` lie between
    them, so a window whose active segments stay that far plus a segment
    inside the range cannot continue beyond it.
    """
    segment = params.segment_minutes * 60
    quiet = dt.timedelta(minutes=params.quiet_minutes)
    reach = 2 * quiet + dt.timedelta(seconds=2 * segment)
    step = reach + dt.timedelta(minutes=params.merge_gap_minutes)
    low, high = start - step, end + step
    while True:
        # Segments are counted whole from ``low``: a partial first segment
        # could miss its threshold.
        low = _segment_floor(low, segment)
        rows = db.fetch_all(
            load_sql(_PACKAGE, "segment_counts"),
            {
                "segment_seconds": segment,
                "min_kills": params.segment_min_kills,
                "start": low,
                "end": high,
                "systems": list(systems),
            },
            conn=conn,
        )
        windows = candidate_windows(rows, params)
        # A window spans its active segments widened by quiet_minutes.
        early = any(w.start + quiet - low < reach for w in windows)
        late = any(high - (w.end - quiet) < reach for w in windows)
        if not early and not late:
            return windows
        step *= 2
        if early:
            low -= step
        if late:
            high += step


def _segment_floor(moment: dt.datetime, segment_seconds: int) -> dt.datetime:
    seconds = moment.timestamp() // segment_seconds * segment_seconds
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _real(value: float) -> float:
    """Return ``value`` as a PostgreSQL ``real`` column gives it back.

    Stored battles keep confidences as ``real``, which the server sends as the
    shortest decimal text that reads back as the same single-precision number.
    """
    single = _single(value)
    for digits in range(1, 10):
        text = f"{single:.{digits}g}"
        if _single(float(text)) == single:
            return float(text)
    return single


def _single(value: float) -> float:
    rounded: float = struct.unpack("f", struct.pack("f", value))[0]
    return rounded


def _entity_order(entity: EntitySide) -> tuple[int, float, str, int]:
    """Return the sort key of ``battle_entities.sql``, which lists stored ones."""
    return (entity.side_no, -entity.weight_for, entity.entity_kind, entity.entity_id)


def _kill_row(kill: Kill, side_of: Any) -> KillRow:
    return KillRow(
        kill.killmail_id,
        kill.killmail_time,
        kill.solar_system_id,
        kill.victim_character_id,
        kill.victim_corporation_id,
        kill.victim_alliance_id,
        kill.victim_ship_type_id,
        kill.total_value,
        side_of(
            kill.victim_alliance_id,
            kill.victim_corporation_id,
            kill.victim_character_id,
        ),
        kill.final_blow_character_id,
        len(kill.attacker_damage),
    )
