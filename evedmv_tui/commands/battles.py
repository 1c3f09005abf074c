"""``evedmv battles detect | list | show | move``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evedmv_tui.battles.detect import DetectionSummary, detect_all, detect_since_latest
from evedmv_tui.battles.export import FORMATS, isk_total_text, render, round_isk
from evedmv_tui.battles.metrics import duration_text
from evedmv_tui.battles.overrides import ENTITY_KINDS, AlreadyOnSide, move_entity
from evedmv_tui.battles.parameters import (
    load_parameters,
    parse_parameters,
    save_parameters,
)
from evedmv_tui.battles.recipe import (
    read_recipe,
    recipe_of_battle,
    report_from_recipe,
    resolved_recipe,
    write_recipe,
)
from evedmv_tui.battles.report import (
    OUTDATED_HINT,
    BattleFilter,
    SideRow,
    find_battles,
    list_sides,
    load_report,
    side_label_text,
)
from evedmv_tui.battles.report import resolve_names as resolve_names
from evedmv_tui.commands.arguments import (
    BIGINT_MAX,
    isk_amount,
    parse_time,
    utc_minute,
    whole,
)
from evedmv_tui.commands.helptext import examples
from evedmv_tui.config import Settings
from evedmv_tui.errors import ConfigError
from evedmv_tui.names import unnamed
from evedmv_tui.store.connect import open_database
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.text import count_noun

BATTLE_ID = whole(1, BIGINT_MAX)


def register(subparsers: Any) -> None:
    battles = subparsers.add_parser(
        "battles",
        help="detect, list and show battles",
        description="Battles are killmails clustered by system, time and the"
        " pilots involved, with sides assigned from who shot whom. Imports"
        " detect them after every batch; docs/battles.md describes how.",
        **examples(
            "evedmv battles list --since 2d --min-kills 20",
            "evedmv battles show 42 --format discord",
            "evedmv battles move 42 corporation 98000001 --side 2",
        ),
    )
    commands = battles.add_subparsers(
        title="battles commands", metavar="ACTION", required=True
    )

    detect = commands.add_parser(
        "detect",
        help="detect battles in kills imported since the last detection",
        description="Cluster killmails into battles. Imports already do this after"
        " every batch; run it after changing parameters or to catch up.",
    )
    detect.add_argument(
        "--rebuild", action="store_true", help="recluster every stored killmail"
    )
    detect.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="change a detection parameter and keep it for later detections"
        " (see docs/battles.md); implies --rebuild",
    )
    detect.add_argument(
        "--show-parameters",
        action="store_true",
        help="print the parameters in force and exit without detecting;"
        " cannot be combined with --set or --rebuild (run --set first, then"
        " --show-parameters)",
    )
    detect.add_argument(
        "--json",
        action="store_true",
        help="print the counts (or the parameters) as one JSON object",
    )
    detect.set_defaults(handler=detect_command)

    listing = commands.add_parser("list", help="list stored battles, newest first")
    listing.add_argument("--since", type=parse_time, help="ended after (ISO or 6h, 2d)")
    listing.add_argument("--until", type=parse_time, help="started before")
    listing.add_argument("--system", help="in this solar system (name or id)")
    listing.add_argument("--region", help="in this region (name or id)")
    listing.add_argument("--min-kills", type=whole(), help="at least this many kills")
    listing.add_argument("--min-pilots", type=whole(), help="at least this many pilots")
    listing.add_argument(
        "--min-isk",
        type=isk_amount,
        help="at least this much ISK destroyed (1e9, 2.5b, 800m)",
    )
    listing.add_argument(
        "--limit", type=whole(1), default=100, help="at most this many (default 100)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)

    show = commands.add_parser("show", help="show a battle report")
    show.add_argument("battle_id", type=BATTLE_ID, nargs="?", help="battle id")
    show.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (text)"
    )
    show.add_argument(
        "--recipe",
        type=Path,
        help="build the report from a saved recipe instead of a stored battle",
    )
    show.add_argument(
        "--save-recipe",
        type=Path,
        metavar="FILE",
        help="also write the recipe of the report shown (systems, window,"
        " overrides, parameters) to FILE",
    )
    show.set_defaults(handler=show_command)

    move = commands.add_parser(
        "move",
        help="move an alliance, corporation or character to another side",
        description="Move an entity to another side of a battle. The move is"
        " stored and kept when the battle is detected again or gains kills.",
        **examples(
            "evedmv battles move 42 alliance 99000001 --side 1",
            "evedmv battles move 42 character 2112000001 --new-side",
        ),
    )
    move.add_argument(
        "battle_id", type=BATTLE_ID, help="the battle's id, as 'battles list' shows"
    )
    move.add_argument(
        "entity_kind", choices=ENTITY_KINDS, help="the kind of entity to move"
    )
    move.add_argument(
        "entity_id",
        type=whole(1, BIGINT_MAX),
        help=(
            "its id: 'evedmv battles show ID --format json' lists the members"
            " with their ids"
        ),
    )
    target = move.add_mutually_exclusive_group(required=True)
    target.add_argument("--side", type=whole(1), help="the side number to move to")
    target.add_argument("--new-side", action="store_true", help="start a new side")
    move.set_defaults(handler=move_command)


def detect_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.show_parameters and (args.set or args.rebuild):
        detect_option = "--set" if args.set else "--rebuild"
        raise ConfigError(
            "conflicting options",
            f"--show-parameters only prints the parameters, and {detect_option}"
            " detects battles",
            "run 'evedmv battles detect' with --set or --rebuild first, then"
            " with --show-parameters alone",
        )
    with open_database(settings) as db:
        params = load_parameters(db)
        if args.show_parameters:
            if args.json:
                print(json.dumps(params.to_json()))
                return 0
            for name, value in params.to_json().items():
                print(f"{name} = {value}")
            return 0
        rebuild = args.rebuild
        if args.set:
            values = {}
            for item in args.set:
                name, sep, value = item.partition("=")
                if not sep:
                    raise ConfigError(
                        "invalid battle parameter",
                        f"--set {item!r} is not NAME=VALUE",
                        "for example --set quiet_minutes=20",
                    )
                values[name.strip()] = value.strip()
            params = parse_parameters(values, source="--set", base=params)
            # Stored in the detection's transaction: when detection fails,
            # the parameters in force stay those the stored battles used.
            with db.connection() as conn, conn.transaction():
                save_parameters(db, params, conn=conn)
                summary = detect_all(db, params, conn=conn)
            rebuild = True
        elif rebuild:
            summary = detect_all(db, params)
        else:
            summary = detect_since_latest(db, params)
        stored = int(db.fetch_value("SELECT count(*) FROM battles") or 0)
    if args.json:
        # The counts sit under "battles" as in the JSON of 'sde import' and
        # 'prices import', which detect battles again too.
        document = {
            "rebuilt": rebuild,
            "battles": dataclasses.asdict(summary),
            "battles_stored": stored,
        }
        print(json.dumps(document))
        return 0
    print(describe_detection(summary, rebuilt=rebuild, stored=stored))
    return 0


def detect_if_outdated(db: Database, changed: bool, *, detect: bool) -> Redetection:
    """Detect every battle again if stored battles rest on outdated inputs.

    ``changed`` is whether the caller just changed what detection reads
    (static data, or killmail values that weigh the sides). Battles are also
    outdated when an earlier such change skipped detection. Without
    ``detect`` they are marked outdated until a full detection runs. Returns
    whether they were outdated, and the detection's summary if it ran.
    """
    outdated = bool(
        db.fetch_value(
            "SELECT (%s OR battles_outdated) AND EXISTS (SELECT 1 FROM battles)"
            " FROM static_data_version",
            (changed,),
        )
    )
    if not outdated:
        return Redetection(False, None, changed)
    if not detect:
        # Kept until a full detection, which a later import that changes
        # nothing would otherwise never ask for.
        db.execute("UPDATE static_data_version SET battles_outdated = true")
        return Redetection(True, None, changed)
    return Redetection(True, detect_all(db), changed)


EARLIER_CHANGE = "an earlier change (an import with --no-detect, or new side rules)"
"""The causes, other than the current command, that mark battles outdated: a
static data or price import that skipped detection, or a migration to new
side rules."""


@dataclasses.dataclass(frozen=True, slots=True)
class Redetection:
    """The outcome of :func:`detect_if_outdated`, for a command's output."""

    outdated: bool
    battles: DetectionSummary | None
    changed: bool
    """Whether this command changed what detection reads. If not and the
    battles are outdated, an earlier change made them so."""

    def json_fields(self) -> dict[str, Any]:
        return {
            "battles_outdated": self.outdated and self.battles is None,
            "battles": dataclasses.asdict(self.battles) if self.battles else None,
        }

    def report(self, cause: str, left_as: str) -> None:
        """Print what happened to the battles after ``cause`` changed.

        ``left_as`` describes battles that were kept without detection. When
        this command changed nothing, the lines name the earlier change
        instead of ``cause``.
        """
        if self.battles is not None:
            if self.changed:
                print(f"{cause}: detected every battle again")
            else:
                print(
                    f"stored battles were out of date from {EARLIER_CHANGE}:"
                    " detected every battle again"
                )
            print(describe_detection(self.battles, rebuilt=True))
        elif self.outdated and self.changed:
            print(f"{cause}: stored battles {left_as}; {OUTDATED_HINT}")
        elif self.outdated:
            print(
                f"stored battles are out of date from {EARLIER_CHANGE}; {OUTDATED_HINT}"
            )


def describe_detection(
    summary: DetectionSummary, *, rebuilt: bool, stored: int | None = None
) -> str:
    """Return one line on a detection run: battles new, changed and removed.

    A rebuild reads every killmail and counts every battle. An incremental
    run reads the killmails in the systems and hours that the killmails since
    the last detection touched, and counts only the battles among them. Its
    line therefore names that scope and adds ``stored``, the number of
    battles stored, when given. A battle counts as changed when its kills
    changed. A rebuild also recomputes the sides, kind and metrics of every
    battle, which new parameters can change without changing any battle's
    kills.
    """
    changes = (
        f"{summary.created:,} new, {summary.updated:,} with changed kills,"
        f" {summary.deleted:,} removed"
    )
    if rebuilt:
        recomputed = (
            "the battle"
            if summary.battles == 1
            else f"all {count_noun(summary.battles, 'battle')}"
        )
        changes += f"; sides and metrics of {recomputed} recomputed"
    if rebuilt:
        where = f"in the {count_noun(summary.kills_read, 'killmail')} read"
    else:
        where = (
            f"around the {count_noun(summary.kills_read, 'killmail')} read"
            " since the last detection"
        )
    line = (
        f"{count_noun(summary.battles, 'battle')} {where} ({changes})"
        f" in {summary.seconds:.1f} s"
    )
    if stored is not None and not rebuilt:
        line += f"; {count_noun(stored, 'battle')} stored"
    return line + _describe_overrides(summary)


def _describe_overrides(summary: DetectionSummary) -> str:
    """Return what the run did to side overrides, or '' if it moved none.

    Overrides of a removed battle that no battle took kills of are kept
    aside, and a battle that later takes most of those kills adopts them.
    """
    parts = []
    if summary.overrides_kept_aside:
        noun = count_noun(summary.overrides_kept_aside, "side override")
        parts.append(
            f"{noun} of removed battles kept aside until a battle takes"
            " most of their kills"
        )
    if summary.overrides_adopted:
        noun = count_noun(summary.overrides_adopted, "kept side override")
        parts.append(f"{noun} adopted by the battle that took their kills")
    if summary.overrides_dropped:
        noun = count_noun(summary.overrides_dropped, "side override")
        parts.append(
            f"{noun} dropped because the battle taking over already has"
            " an override for the same entity"
        )
    return "".join(f"; {part}" for part in parts)


def _criteria(args: argparse.Namespace) -> BattleFilter:
    return BattleFilter(
        since=args.since,
        until=args.until,
        system=args.system,
        region=args.region,
        min_kills=args.min_kills,
        min_pilots=args.min_pilots,
        min_isk=args.min_isk,
        limit=args.limit,
    )


def _label(side: SideRow, names: Mapping[int, str]) -> str | None:
    """Return a side's name as reports write it, or None without units."""
    if side.label_id is None:
        return None
    label = names.get(side.label_id) or unnamed(side.label_id)
    return side_label_text(label, side.units)


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.since is not None and args.until is not None and args.since >= args.until:
        raise ConfigError(
            "empty time range",
            f"--since {utc_minute(args.since, iso=True)} is not before"
            f" --until {utc_minute(args.until, iso=True)}",
            "give a --since earlier than --until",
        )
    with open_database(settings) as db:
        criteria = _criteria(args)
        found = find_battles(db, criteria)
        battles = found.battles
        unknown = found.unknown_places
        sides = list_sides(db, [b.battle_id for b in battles])
        label_ids = {s.label_id for rows in sides.values() for s in rows if s.label_id}
        names = resolve_names(db, label_ids)
    warn_if_outdated(found.outdated)
    if unknown:
        raise ConfigError(
            "unknown place",
            "; ".join(unknown),
            "check the name or id; places come from the static data"
            " ('evedmv sde status')",
        )
    if args.json:
        document = []
        for battle in battles:
            entry = dataclasses.asdict(battle)
            # The keys that name the same things as in 'battles show
            # --format json' have the same names there.
            entry["regions"] = entry.pop("region_names")
            entry["systems"] = [
                {"solar_system_id": i, "name": n}
                for i, n in zip(
                    battle.solar_system_ids, battle.system_names, strict=True
                )
            ]
            entry["start"] = battle.start_time.isoformat()
            entry["end"] = battle.end_time.isoformat()
            entry["duration_seconds"] = battle.duration.total_seconds()
            for key in ("start_time", "end_time", "solar_system_ids", "system_names"):
                del entry[key]
            entry["updated_at"] = battle.updated_at.isoformat()
            entry["isk_destroyed"] = round_isk(battle.isk_destroyed)
            entry["sides"] = [
                {
                    "side": side.side_no,
                    "label": _label(side, names),
                    "label_id": side.label_id,
                    "pilots": side.pilots,
                    "ships_lost": side.ships_lost,
                    "isk_lost": round_isk(side.isk_lost),
                    "isk_destroyed": round_isk(side.isk_destroyed),
                    "efficiency": side.efficiency,
                    "third_party": side.third_party,
                }
                for side in sides.get(battle.battle_id, [])
            ]
            document.append(entry)
        json.dump(document, sys.stdout, indent=2)
        print()
        return 0
    if not battles and found.latest_end is not None:
        print(
            f"no battles since {utc_minute(args.since)}; the latest ended"
            f" {utc_minute(found.latest_end)}\ngive an earlier --since"
            " to list it"
        )
        return 0
    if not battles:
        print("no battles match; import killmails or widen the filters")
        return 0
    print(
        f"{'id':>6}  {'start (UTC)':<16} {'dur':>5} {'kills':>5} {'pilots':>6}"
        f" {'ISK':>7}  {'sides':<5} systems"
    )
    for battle in battles:
        mark = "*" if battle.ongoing else " "
        # The battles screen marks one-sided battles the same way.
        side_count = f"{battle.side_count}" + (
            "!" if battle.kind == "one-sided" else ""
        )
        # + when the total leaves out kills without an ISK value, ? when no
        # kill has one, as in every battle format.
        isk = isk_total_text(
            battle.isk_destroyed, battle.kills, battle.kills_without_value
        )
        print(
            f"{battle.battle_id:>6}{mark} {battle.start_time:%Y-%m-%d %H:%M}"
            f" {duration_text(battle.start_time, battle.end_time):>5}"
            f" {battle.kills:>5,} {battle.pilots:>6,}"
            f" {isk:>7}  {side_count:<5}"
            f" {', '.join(battle.system_names)}"
        )
    legend = []
    if any(b.ongoing for b in battles):
        legend.append("* ongoing")
    if any(b.kind == "one-sided" for b in battles):
        legend.append("! one-sided: the other sides destroyed almost nothing")
    if any(b.kills_without_value for b in battles):
        legend.append("+ some kills have no ISK value")
    if legend:
        print("; ".join(legend))
    return 0


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    # main() writes an error as a JSON object on stdout for commands whose
    # ``json`` argument is set, so scripts reading the JSON format get one.
    args.json = args.format == "json"
    if args.battle_id is not None and args.recipe is not None:
        raise ConfigError(
            "two battles to show",
            "a battle id and --recipe FILE were both given",
            "give one of them",
        )
    if args.battle_id is None and args.recipe is None:
        raise ConfigError(
            "nothing to show",
            "give either a battle id or --recipe FILE",
            "list battles with 'evedmv battles list'",
        )
    with open_database(settings) as db:
        if args.recipe is not None:
            recipe = read_recipe(args.recipe)
            report = report_from_recipe(db, recipe, source=str(args.recipe))
            if args.save_recipe is not None:
                write_recipe(resolved_recipe(db, recipe), args.save_recipe)
        else:
            report = load_report(db, args.battle_id)
            if args.save_recipe is not None:
                write_recipe(recipe_of_battle(db, args.battle_id), args.save_recipe)
    warn_if_outdated(report.outdated)
    sys.stdout.write(render(report, args.format))
    return 0


def warn_if_outdated(outdated: bool) -> None:
    """Say on stderr that stored battles need a full detection.

    stderr keeps the JSON, Markdown and Discord output on stdout as it is.
    """
    if outdated:
        print(
            "note: the stored battles were detected before the static data,"
            " killmail values or side rules last changed; " + OUTDATED_HINT,
            file=sys.stderr,
        )


def move_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as db:
        side = None if args.new_side else args.side
        try:
            move_entity(db, args.battle_id, args.entity_kind, args.entity_id, side)
        except AlreadyOnSide as exc:
            # The entity is where the user wants it already, as after a
            # second run of the same command.
            print(f"{exc.message}; nothing changed")
            return 0
        report = load_report(db, args.battle_id)
    entity = next(
        (e for e in report.entities if e.entity_id == args.entity_id),
        None,
    )
    where = f"side {entity.side_no}" if entity else "its new side"
    print(f"moved {args.entity_kind} {args.entity_id} to {where}")
    return 0
