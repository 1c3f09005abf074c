"""Saved battle recipes: systems, a time window and side overrides as JSON.

A recipe rebuilds a report without the stored battles: every player kill in
the recipe's systems and window is one battle, sides are assigned the usual
way and the recipe's overrides are applied on top. The file looks like::

    {
      "version": 1,
      "systems": [30000142, "Perimeter"],
      "start": "2021-11-27T18:00:00+00:00",
      "end": "2021-11-27T19:00:00+00:00",
      "overrides": [
        {"entity_kind": "corporation", "entity_id": 98000102,
         "anchor_kind": "alliance", "anchor_id": 99000102},
        {"entity_kind": "character", "entity_id": 90000001, "new_side": 1}
      ]
    }

Systems are ids or names (any case).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from evedmv_tui.battles.detect import load_ship_types
from evedmv_tui.battles.metrics import build_metrics
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.parameters import load_parameters
from evedmv_tui.battles.report import (
    BattleReport,
    EntityRow,
    KillRow,
    PlaceName,
    report_entity_ids,
    resolve_names,
)
from evedmv_tui.battles.sides import Override, assign_sides
from evedmv_tui.errors import EvedmvError
from evedmv_tui.names import NameResolver
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.store.telemetry import operation

_PACKAGE = "evedmv_tui.battles"
RECIPE_VERSION = 1


class RecipeError(EvedmvError):
    """A recipe file that cannot be read or is invalid."""


@dataclasses.dataclass(frozen=True, slots=True)
class Recipe:
    systems: tuple[int | str, ...]
    start: dt.datetime
    end: dt.datetime
    overrides: tuple[Override, ...]

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
        return {
            "version": RECIPE_VERSION,
            "systems": list(self.systems),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "overrides": overrides,
        }


def _fail(path: Path, field: str, problem: str) -> RecipeError:
    return RecipeError(
        "invalid battle recipe",
        f"{path}: field {field!r} {problem}",
        "fix the file, or write a new one with"
        " 'evedmv battles show ID --save-recipe FILE'",
    )


def _time(path: Path, document: dict[str, Any], field: str) -> dt.datetime:
    raw = document.get(field)
    if not isinstance(raw, str):
        raise _fail(path, field, "is missing or not an ISO 8601 time")
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _fail(path, field, f"has {raw!r}, not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


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
    if not isinstance(document, dict):
        raise _fail(path, "(top level)", "is not a JSON object")
    systems = document.get("systems")
    if not isinstance(systems, list) or not systems:
        raise _fail(path, "systems", "must be a non-empty list of ids or names")
    for system in systems:
        if not isinstance(system, (int, str)) or isinstance(system, bool):
            raise _fail(path, "systems", f"has {system!r}, not an id or a name")
    start = _time(path, document, "start")
    end = _time(path, document, "end")
    if end < start:
        raise _fail(path, "end", "is before 'start'")
    overrides = []
    raw_overrides = document.get("overrides", [])
    if not isinstance(raw_overrides, list):
        raise _fail(path, "overrides", "must be a list")
    for number, entry in enumerate(raw_overrides):
        field = f"overrides[{number}]"
        if not isinstance(entry, dict):
            raise _fail(path, field, "is not an object")
        kind = entry.get("entity_kind")
        if kind not in ("alliance", "corporation", "character"):
            raise _fail(path, f"{field}.entity_kind", f"has {kind!r}")
        entity_id = entry.get("entity_id")
        if not isinstance(entity_id, int):
            raise _fail(path, f"{field}.entity_id", "must be an integer id")
        anchor_id = entry.get("anchor_id")
        new_side = entry.get("new_side")
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
    return Recipe(tuple(systems), start, end, tuple(overrides))


def recipe_of_battle(db: Database, battle_id: int) -> Recipe:
    """Return the recipe that rebuilds a stored battle."""
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
    return Recipe(tuple(systems), start, end, overrides)


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


def _system_ids(db: Database, recipe: Recipe, path: str) -> list[int]:
    ids = [s for s in recipe.systems if isinstance(s, int)]
    names = [s for s in recipe.systems if isinstance(s, str)]
    if names:
        found = dict(
            db.fetch_all(
                load_sql(_PACKAGE, "system_ids_by_name"), ([n.lower() for n in names],)
            )
        )
        missing = [n for n in names if n.lower() not in found]
        if missing:
            raise RecipeError(
                "invalid battle recipe",
                f"{path}: unknown solar system {missing[0]!r}",
                "use a system id, or load static data with 'evedmv sde import'",
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
        RecipeError: a system name is unknown, or no player kill is in the window.
    """
    params = load_parameters(db)
    with operation("battles.recipe"):
        systems = _system_ids(db, recipe, source)
        rows = db.fetch_all(
            load_sql(_PACKAGE, "window_kills"),
            {
                "systems": systems,
                "starts": [recipe.start] * len(systems),
                "ends": [recipe.end] * len(systems),
            },
            row=Kill,
        )
        kills = [k for k in rows if k.is_player_kill()]
        if not kills:
            raise RecipeError(
                "empty battle recipe",
                f"{source}: no player kills in those systems between"
                f" {recipe.start.isoformat()} and {recipe.end.isoformat()}",
                "check the systems and the window, and that the kills are imported",
            )
        sides = assign_sides(kills, params, recipe.overrides)
        ship_ids = {k.victim_ship_type_id for k in kills}
        for k in kills:
            ship_ids.update(s for s in k.attacker_ship_type_ids if s is not None)
        ship_types = load_ship_types(db, ship_ids)
        killmail_ids = [k.killmail_id for k in kills]
        kills_pending = db.fetch_value(
            load_sql(_PACKAGE, "pending_in_id_range"),
            (min(killmail_ids), max(killmail_ids)),
        )
        metrics = build_metrics(
            kills,
            sides,
            ship_types,
            params,
            completeness={"kills_pending": kills_pending or 0},
        )
        entities = tuple(
            EntityRow(
                e.entity_kind,
                e.entity_id,
                e.parent_id,
                e.side_no,
                e.weight_for,
                e.weight_against,
                e.confidence,
                e.reason,
                e.overridden,
            )
            for e in sorted(sides.entities, key=lambda e: (e.side_no, -e.weight_for))
        )
        killmails = tuple(_kill_row(k, sides.side_of) for k in kills)
        ids = report_entity_ids(metrics, entities, killmails)
        names = resolve_names(db, ids, resolver)
        used_systems = sorted({k.solar_system_id for k in kills})
        regions = dict(
            db.fetch_all(load_sql(_PACKAGE, "system_regions"), (used_systems,))
        )
        region_ids = sorted(set(regions.values()))
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
        kind=metrics["kind"],
        confidence=sides.confidence,
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
