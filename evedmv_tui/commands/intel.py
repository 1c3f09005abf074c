"""``evedmv corp|alliance|character show`` and ``evedmv watch ...``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import shlex
import sys
from collections.abc import Collection, Iterator, Mapping
from typing import Any, TextIO

from evedmv_tui.commands.arguments import id_list, isk_amount, parse_time, whole
from evedmv_tui.commands.helptext import examples
from evedmv_tui.config import Settings
from evedmv_tui.errors import EvedmvError
from evedmv_tui.esi import EsiClient
from evedmv_tui.intel import watch
from evedmv_tui.intel.entities import (
    MAX_CANDIDATES,
    EntityKind,
    EntityRef,
    Period,
    candidates_heading,
    find_entities,
)
from evedmv_tui.intel.heatmap import DAYS, Heatmap, shade_level
from evedmv_tui.intel.pages import (
    ONE_SIDED_LISTS,
    TOP_LISTS,
    EntityPage,
    load_page,
    period_heading,
    period_note,
    recent_heading,
)
from evedmv_tui.intel.search import MIN_SUBSTRING, id_range_hint, parse_id
from evedmv_tui.intel.summary import summary_rows
from evedmv_tui.names import (
    NameResolver,
    has_stored_names,
    is_resolvable,
    unresolved_names_hint,
)
from evedmv_tui.ship_classes import SHIP_CLASSES
from evedmv_tui.store.connect import open_database
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.text import count_noun, format_isk, quote_value

# Command word of each page kind; "corp" is what players type, and
# "corporation", the palette's word, works too (_KIND_ALIASES).
_KIND_COMMANDS = {
    "corp": EntityKind.CORPORATION,
    "alliance": EntityKind.ALLIANCE,
    "character": EntityKind.CHARACTER,
}
_KIND_ALIASES = {"corp": ["corporation"]}

TOP_TITLES = {
    "pilots": "Top pilots",
    # A kill counts for each class on it, so these rows can add up to more
    # than the kills.
    "ships_flown": "Ship classes flown, by kills each class was on",
    "ships_lost": "Ship classes lost",
    "systems": "Top systems",
    "regions": "Top regions",
    "with_corporations": "Corporations flown with",
    "with_alliances": "Alliances flown with",
    "against_corporations": "Corporations fought",
    "against_alliances": "Alliances fought",
}


class EntityNotFound(EvedmvError):
    """No entity, or more than one, matches the id or name given."""


def register(subparsers: Any) -> None:
    for word, kind in _KIND_COMMANDS.items():
        parser = subparsers.add_parser(
            word,
            aliases=_KIND_ALIASES.get(word, []),
            help=f"the {kind.value} page: summary, top lists, heatmap",
            description=f"Print the intel page of one {kind.value}: kills and"
            " losses, ISK efficiency, top lists and the activity heatmap, from"
            " the stored killmails.",
            **examples(f"evedmv {word} show {_EXAMPLE_NAMES[word]}"),
        )
        actions = parser.add_subparsers(
            title=f"{word} commands", metavar="ACTION", required=True
        )
        show = actions.add_parser(
            "show",
            help=f"print the page of one {kind.value}, by id or name",
            description=f"Print the page of one {kind.value}, found by id or by"
            " name, ignoring case. A name that matches no stored name in full"
            " matches the names that start with it and, from"
            f" {MIN_SUBSTRING} characters on, those with a later word that"
            " starts with it. Names on the page that are not stored are"
            " requested from ESI unless --offline is given. Exits with status 2"
            f" when no {kind.value} or more than one matches.",
            **examples(
                f"evedmv {word} show {_EXAMPLE_NAMES[word]} --period 7d",
                f"evedmv {word} show {_EXAMPLE_NAMES[word]} --json",
            ),
        )
        show.add_argument(
            "entity",
            type=_entity_query,
            metavar="ID|NAME",
            help="an id, a whole name, or the start of the name or of a word in it",
        )
        show.add_argument(
            "--period",
            choices=[p.value for p in Period],
            default=Period.MONTH.value,
            help="days up to the entity's newest kill or loss, or all (default 30d)",
        )
        show.add_argument(
            "--json", action="store_true", help="print the figures as one JSON object"
        )
        show.add_argument(
            "--offline",
            action="store_true",
            help="resolve names from the database only, never from ESI",
        )
        show.set_defaults(handler=show_command, kind=kind)
    _register_watch(subparsers)


_EXAMPLE_NAMES = {
    "corp": "'Brave Newbies Inc.'",
    "alliance": "99003214",
    "character": "'Dread Pirate'",
}
"""An entity to name in each page command's help example."""


def _register_watch(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="watch profiles: conditions that flag matching killmails",
        description="Manage watch profiles. A profile is a set of conditions"
        " (entities, places, ship types or classes, value, attacker count);"
        " every killmail imported or followed afterwards that meets all of them"
        " is recorded as a match and shown in the dashboard.",
        **examples(
            "evedmv watch add caps --ship-classes capital,supercapital --regions Delve",
            "evedmv watch matches caps",
        ),
    )
    actions = parser.add_subparsers(
        title="watch commands", metavar="ACTION", required=True
    )
    listing = actions.add_parser(
        "list",
        help="list the profiles with their match counts",
        description="List every profile with its conditions, whether it is"
        " enabled, and its match count.",
        **examples("evedmv watch list", "evedmv watch list --json"),
    )
    listing.add_argument(
        "--json",
        action="store_true",
        help="print the profiles as a JSON array: each condition with ids, and"
        " 'conditions', one line with names",
    )
    listing.set_defaults(handler=watch_list)
    add = actions.add_parser(
        "add",
        help="create a profile",
        description="Create a watch profile. A killmail matches when it meets"
        " every condition given; a list condition is met by any of its"
        " entries.",
        **examples(
            "evedmv watch add jita-ganks --systems Jita --min-value 1b",
            "evedmv watch add our-losses --corporations 98000001 --disabled",
        ),
    )
    add.add_argument("name", help="the new profile's name, unique among profiles")
    _add_condition_options(add)
    add.add_argument(
        "--disabled", action="store_true", help="create the profile disabled"
    )
    add.set_defaults(handler=watch_add)
    edit = actions.add_parser(
        "edit",
        help="change a profile; options given replace those conditions",
        description="Change a profile. Each condition option given replaces"
        " that condition; --clear removes one; the others stay as they are."
        " When the conditions change, the profile's matches are checked again"
        " and those that do not meet the new conditions are dropped.",
        **examples(
            "evedmv watch edit jita-ganks --min-value 5b --clear systems",
            "evedmv watch edit jita-ganks --rename hisec-ganks",
        ),
    )
    edit.add_argument("name", help="the profile to change")
    edit.add_argument(
        "--rename", metavar="NEW_NAME", help="give the profile a new name"
    )
    _add_condition_options(edit)
    edit.add_argument(
        "--clear",
        action="append",
        default=[],
        choices=sorted(_CONDITION_FIELDS),
        help="remove one condition (repeatable)",
    )
    edit.set_defaults(handler=watch_edit)
    for action, text in (
        ("enable", "enable profiles"),
        ("disable", "disable profiles"),
        ("delete", "delete profiles and their matches"),
    ):
        sub = actions.add_parser(
            action,
            help=f"{text}, in one statement",
            description=f"{text[0].upper()}{text[1:]}, all in one statement."
            " Names that are not found are listed in an error (exit status 2),"
            " and the others are changed all the same.",
            **examples(f"evedmv watch {action} jita-ganks our-losses"),
        )
        sub.add_argument("names", nargs="+", metavar="NAME", help="profile names")
        sub.set_defaults(handler=watch_bulk, action=action)
    backfill = actions.add_parser(
        "backfill",
        help="match a profile against killmails stored already"
        " (profiles match new killmails only)",
        description="Match a profile against the killmails stored already,"
        " from --since on, and record the matches; a profile otherwise matches"
        " only killmails imported after it was created.",
        **examples("evedmv watch backfill jita-ganks --since 30d"),
    )
    backfill.add_argument("name", help="the profile to match")
    backfill.add_argument(
        "--since",
        type=parse_time,
        default="7d",
        help="killmails from this time on (ISO or 6h, 30d; default 7d)",
    )
    backfill.add_argument(
        "--json",
        action="store_true",
        help="print the result, with the time span of the stored killmails,"
        " as one JSON object",
    )
    backfill.set_defaults(handler=watch_backfill)
    matches = actions.add_parser(
        "matches",
        help="list recorded matches, newest kill first",
        description="List recorded matches by kill time, newest first, of one"
        " profile or of all of them.",
        **examples("evedmv watch matches", "evedmv watch matches caps --limit 10"),
    )
    matches.add_argument("name", nargs="?", help="only this profile's matches")
    matches.add_argument(
        "--limit", type=whole(1), default=50, help="rows to print (default 50)"
    )
    matches.add_argument(
        "--json", action="store_true", help="print the matches as a JSON array"
    )
    matches.set_defaults(handler=watch_matches)


_CONDITION_FIELDS = {
    "characters": "character_ids",
    "corporations": "corporation_ids",
    "alliances": "alliance_ids",
    "systems": "solar_system_ids",
    "regions": "region_ids",
    "ship-types": "ship_type_ids",
    "ship-classes": "ship_classes",
    "min-value": "min_value",
    "min-attackers": "min_attackers",
    "max-attackers": "max_attackers",
}


def _class_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _place_list(text: str) -> tuple[int | str, ...]:
    """Parse system or region names and ids separated by commas."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(
            f"invalid list {quote_value(text)}: give names or ids separated by commas"
        )
    return tuple(id_list(part)[0] if part.isdigit() else part for part in parts)


def _add_condition_options(parser: argparse.ArgumentParser) -> None:
    for option in ("characters", "corporations", "alliances"):
        parser.add_argument(
            f"--{option}",
            type=id_list,
            metavar="ID,...",
            help=f"match killmails with any of these {option} (comma-separated ids)",
        )
    for option in ("systems", "regions"):
        parser.add_argument(
            f"--{option}",
            type=_place_list,
            metavar="NAME|ID,...",
            help=f"match killmails in any of these {option} (comma-separated"
            " names or ids)",
        )
    parser.add_argument(
        "--ship-types",
        type=id_list,
        metavar="ID,...",
        help="match when the victim or an attacker flies one of these type ids",
    )
    parser.add_argument(
        "--ship-classes",
        type=_class_list,
        metavar="CLASS,...",
        help=f"as --ship-types, by class: {', '.join(SHIP_CLASSES)}",
    )
    parser.add_argument(
        "--min-value",
        type=isk_amount,
        metavar="ISK",
        help="lowest total value in ISK, 1 or more (1e9, 2.5b, 800m); kept as"
        " given and shown to the cent",
    )
    parser.add_argument(
        "--min-attackers", type=whole(), metavar="N", help="minimum attacker count"
    )
    parser.add_argument(
        "--max-attackers", type=whole(), metavar="N", help="maximum attacker count"
    )


def _spec_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for option, field in _CONDITION_FIELDS.items():
        value = getattr(args, option.replace("-", "_"))
        if value is None:
            continue
        if field in watch.NAME_FIELDS:
            changes[field] = tuple(v for v in value if isinstance(v, int))
            changes[watch.NAME_FIELDS[field]] = tuple(
                v for v in value if isinstance(v, str)
            )
        else:
            changes[field] = value
    return changes


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    with open_database(settings) as db:
        yield db


class _PageNames:
    """Resolve a page's names; count those left to ESI when there is no client."""

    def __init__(self, client: EsiClient | None) -> None:
        self.client = client
        self.not_requested = 0
        """Ids without a stored name that ESI could resolve but were not requested."""

    def __call__(self, db: Database, ids: Collection[int]) -> Mapping[int, str]:
        found = NameResolver(db, self.client).resolve(ids)
        if self.client is None:
            self.not_requested += sum(
                1 for i in ids if i not in found and is_resolvable(i)
            )
        return {entity_id: entry.name for entity_id, entry in found.items()}


@contextlib.contextmanager
def _name_resolver(settings: Settings, *, offline: bool) -> Iterator[_PageNames]:
    """Yield a resolver over the names table and, unless offline, ESI."""
    client = (
        None if offline else EsiClient(settings.esi_url, user_agent=settings.user_agent)
    )
    try:
        yield _PageNames(client)
    finally:
        if client is not None:
            client.close()


def _entity_query(text: str) -> str:
    """Return an id or name argument, rejecting one that is empty or blank.

    ``#98000001``, the way the dashboard shows an entity without a stored
    name, is read as the id.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the id or name is empty, so give an id or a name"
        )
    stripped = text.strip()
    if stripped.startswith("#") and stripped[1:].isdigit():
        return stripped[1:]
    return text


def resolve_entity(
    db: Database, kind: EntityKind, query: str, *, offline: bool = False
) -> EntityRef:
    """Return the one entity ``query`` names, or raise :class:`EntityNotFound`.

    ``offline`` is True when no name was requested from ESI, for the
    not-found hint.
    """
    found = find_entities(db, kind, query)
    if not found:
        raise EntityNotFound(
            f"{kind.value} not found",
            f"no {kind.value} with the id or name {quote_value(query)} is stored",
            id_range_hint(query)
            or _other_kind_hint(db, kind, query)
            or _not_found_hint(db, kind, query, offline=offline),
        )
    if len(found) > 1:
        listed = "\n".join(
            f"  {ref.entity_id}  {ref.name}" for ref in found[:MAX_CANDIDATES]
        )
        hint = "run the command again with one of these ids"
        if found.more_than_listed:
            hint = f"type more of the name to narrow the list, or {hint}"
        heading = candidates_heading(kind, found, query)
        raise EntityNotFound(heading, f"\n{listed}", hint)
    return found[0]


def _not_found_hint(
    db: Database, kind: EntityKind, query: str, *, offline: bool
) -> str:
    """Return what to try when no entity has the id or name ``query``.

    Killmails carry no names, so for a name the hint states where names come
    from: ESI, which offline mode never queries.
    """
    if parse_id(query.strip()) is not None:
        return (
            "no stored killmail or name mentions this id; import killmails"
            " that mention it, or give a name"
        )
    word = next(word for word, other in _KIND_COMMANDS.items() if other is kind)
    names = unresolved_names_hint(f"evedmv {word} show ID", offline=offline)
    if not has_stored_names(db, [kind.value]):
        return f"no {kind.value} names are stored. {names}"
    return (
        "a name matches a whole stored name, or the start of one or (from"
        f" {MIN_SUBSTRING} characters) of a word in one, ignoring case. {names}"
    )


def _other_kind_hint(db: Database, kind: EntityKind, query: str) -> str | None:
    """Return a hint naming the command for ``query`` when it is another kind."""
    for word, other in _KIND_COMMANDS.items():
        if other is not kind and find_entities(db, other, query):
            return (
                f"{quote_value(query)} names a stored {other.value}: run"
                f" evedmv {word} show {shlex.quote(query)}"
            )
    return None


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    kind: EntityKind = args.kind
    period = Period(args.period)
    offline = args.offline or settings.offline
    with _database(settings) as db:
        entity = resolve_entity(db, kind, args.entity, offline=offline)
        with _name_resolver(settings, offline=offline) as resolve:
            page = load_page(db, entity, period, resolve_names=resolve)
    if resolve.not_requested:
        unnamed = count_noun(resolve.not_requested, "entity", "entities")
        print(
            f"evedmv: offline: the names of {unnamed} without a stored name"
            " were not requested from ESI, so they show as ids",
            file=sys.stderr,
        )
    if args.json:
        json.dump(page.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_page(page, sys.stdout)
    return 0


def print_page(page: EntityPage, out: TextIO) -> None:
    """Write a page as plain text: summary, heatmap, top lists, recent kills.

    For an entity that no stored killmail mentions, one line stating that
    replaces the figures, which would all be zero.
    """
    _write_header(page, out)
    if page.entity_newest is None:
        kind = page.entity.kind.value
        out.write(f"no kills, losses or battles of this {kind} are stored\n")
        return
    _write_summary(page, out)
    zone = page.heatmap.timezone()
    if zone is not None:
        out.write(
            f"\nmost active {zone.window} ({zone.share * 100:.0f}% of activity):"
            f" suggests {zone.label}\n"
        )
        write_heatmap(page.heatmap, out)
    _write_tops(page, out)
    _write_recent(page, out)


def _write_header(page: EntityPage, out: TextIO) -> None:
    entity = page.entity
    if entity.name is None:
        out.write(f"{entity.title}\n")
    else:
        out.write(f"{entity.title} ({entity.kind.value} {entity.entity_id})\n")
    seen = [page.latest_alliance]
    if entity.kind is EntityKind.CHARACTER:
        seen.insert(0, page.latest_corporation)
    affiliation = [ref.title for ref in seen if ref]
    if affiliation and entity.kind is not EntityKind.ALLIANCE:
        out.write(f"latest seen in: {' / '.join(affiliation)}\n")
    out.write(f"period: {period_heading(page)}\n")
    note = period_note(page)
    if note is not None:
        out.write(f"note: {note}\n")
    out.write("\n")


def _write_summary(page: EntityPage, out: TextIO) -> None:
    rows = summary_rows(page)
    for left, left_value, right, right_value in rows:
        out.write(f"{left:<15}{left_value:>12}   {right:<15}{right_value:>12}\n")


def _write_tops(page: EntityPage, out: TextIO) -> None:
    for name in TOP_LISTS:
        entries = page.tops[name]
        if not entries:
            continue
        out.write(f"\n{TOP_TITLES[name]}\n")
        one_side = ONE_SIDED_LISTS.get(name)
        for entry in entries:
            parts = []
            if one_side != "losses":
                word = "kill " if entry.kills == 1 else "kills"
                parts.append(f"{entry.kills:>7,} {word}")
            if one_side != "kills" and (entry.losses or one_side == "losses"):
                word = "loss" if entry.losses == 1 else "losses"
                parts.append(f"{entry.losses:>6,} {word}")
            out.write(f"  {entry.name[:40]:<40} {' '.join(parts)}\n")


def _write_recent(page: EntityPage, out: TextIO) -> None:
    if page.recent:
        out.write(f"\n{recent_heading(page.period)}\n")
    for item in page.recent:
        when = item.killmail_time.strftime("%Y-%m-%d %H:%M")
        ship = item.ship_name or str(item.victim_ship_type_id)
        out.write(
            f"  {when} {item.role:<4} {item.killmail_id:>10} {ship[:20]:<20}"
            f" {(item.solar_system_name or '')[:14]:<14}"
            f" {format_isk(item.total_value):>8}\n"
        )
    if page.battles:
        out.write("\nBattles\n")
    for battle in page.battles:
        when = battle.start_time.strftime("%Y-%m-%d %H:%M")
        out.write(
            f"  {when} battle {battle.battle_id:>6} {battle.kind:<9}"
            f" {battle.kills:>5} kills {(battle.system_names or '')[:30]}\n"
        )


_SHADES = " .:-=+*#%@"
"""One character per :func:`shade_level`, blank for no activity."""
_HOURS_PER_LABEL = 3


def write_heatmap(heatmap: Heatmap, out: TextIO) -> None:
    """Write the 7x24 grid, one character per hour, under an hour axis.

    Each hour label starts in its hour's column.
    """
    indent = " " * len(f"  {DAYS[0]} ")
    labels = "".join(
        f"{hour:<{_HOURS_PER_LABEL}d}" for hour in range(0, 24, _HOURS_PER_LABEL)
    )
    out.write(f"{indent}{labels.rstrip()}  (UTC)\n")
    grid = heatmap.grid()
    peak = max(max(row) for row in grid)
    for day, row in zip(DAYS, grid, strict=True):
        cells = "".join(_SHADES[shade_level(count, peak)] for count in row)
        out.write(f"  {day} {cells}\n")


def watch_list(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as db:
        profiles = watch.list_profiles(db)
    if args.json:
        _print_json([_profile_json(profile) for profile in profiles])
        return 0
    if not profiles:
        print("no watch profiles; create one with 'evedmv watch add NAME ...'")
        return 0
    for profile in profiles:
        state = "on " if profile.enabled else "off"
        counts = f"{profile.matches:>6} matches"
        print(f"{state} {profile.name:<24} {counts}  {profile.describe()}")
    return 0


def watch_add(args: argparse.Namespace, settings: Settings) -> int:
    spec = watch.ProfileSpec(
        args.name, enabled=not args.disabled, **_spec_changes(args)
    )
    with _database(settings) as db:
        spec = watch.resolve_places(db, spec)
        profile_id = watch.create_profile(db, spec)
        conditions = watch.get_profile(db, args.name).describe()
    print(
        f"created watch profile {quote_value(args.name)} ({profile_id}): {conditions}"
    )
    return 0


def watch_edit(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as db:
        current = watch.get_profile(db, args.name).spec()
        cleared: dict[str, Any] = {}
        for option in args.clear:
            field = _CONDITION_FIELDS[option]
            cleared[field] = () if field.endswith(("_ids", "classes")) else None
        spec = dataclasses.replace(
            current,
            # An empty --rename is a name to validate, not a missing option.
            name=current.name if args.rename is None else args.rename,
            **cleared,
            **_spec_changes(args),
        )
        spec = watch.resolve_places(db, spec)
        update = watch.update_profile(db, args.name, spec)
        conditions = watch.get_profile(db, spec.name).describe()
    print(f"updated watch profile {quote_value(spec.name)}: {conditions}")
    summary = update.summary()
    if summary is not None:
        print(summary)
    return 0


def watch_bulk(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as db:
        # The names found before the change are the ones it changes when it
        # raises for the others. NOTE: a profile that another process deletes
        # or creates in between is reported wrongly.
        existing = {profile.name for profile in watch.list_profiles(db)}
        try:
            if args.action == "delete":
                done = watch.delete_profiles(db, args.names)
            else:
                done = watch.set_enabled(db, args.names, args.action == "enable")
        except watch.WatchError:
            done = sorted(set(args.names) & existing)
            if done:
                _print_bulk(args.action, done)
            raise
    _print_bulk(args.action, done)
    return 0


def _print_bulk(action: str, done: list[str]) -> None:
    noun = "watch profile" if len(done) == 1 else "watch profiles"
    print(f"{action}d {len(done)} {noun}: {', '.join(done)}")


def watch_backfill(args: argparse.Namespace, settings: Settings) -> int:
    since = args.since.astimezone(dt.UTC)
    with _database(settings) as db:
        recorded = watch.match_stored(db, args.name, since)
        span = watch.stored_span(db)
        hint = None
        if recorded == 0:
            hint = _backfill_hint(db, watch.get_profile(db, args.name), since, span)
    if args.json:
        oldest, newest = span if span is not None else (None, None)
        document = {
            "profile": args.name,
            "since": since.isoformat(),
            "new_matches": recorded,
            "oldest_stored_killmail": oldest.isoformat() if oldest else None,
            "newest_stored_killmail": newest.isoformat() if newest else None,
            "hint": hint,
        }
        json.dump(document, sys.stdout, indent=2)
        print()
        return 0
    noun = "match" if recorded == 1 else "matches"
    print(
        f"watch profile {quote_value(args.name)}: {recorded:,} new {noun} among"
        " killmails"
        f" since {since:%Y-%m-%d %H:%M} UTC"
    )
    if hint:
        print(hint)
    return 0


def _backfill_hint(
    db: Database,
    profile: watch.WatchProfile,
    since: dt.datetime,
    span: tuple[dt.datetime, dt.datetime] | None,
) -> str:
    """Explain why a backfill from ``since`` recorded no new matches."""
    if span is None:
        return "no killmails are stored; import some first ('evedmv import --help')"
    oldest, newest = (moment.astimezone(dt.UTC) for moment in span)
    if newest < since:
        return (
            f"the stored killmails are from {oldest:%Y-%m-%d %H:%M} to"
            f" {newest:%Y-%m-%d %H:%M} UTC, all before --since; give an earlier"
            f" --since, such as --since {oldest:%Y-%m-%d}"
        )
    before = watch.count_matches_since(db, profile.profile_id, since)
    if before:
        noun = "match was" if before == 1 else "matches were"
        return f"its {before:,} {noun} recorded already"
    return (
        "none of the stored killmails since then meets its conditions:"
        f" {profile.describe()}"
    )


def watch_matches(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as db:
        profile_id = None
        if args.name is not None:
            profile_id = watch.get_profile(db, args.name).profile_id
        matches = watch.list_matches(
            db, profile_id=profile_id, limit=args.limit, by_kill_time=True
        )
    if args.json:
        _print_json([_match_json(match) for match in matches])
        return 0
    if not matches:
        print("no matches recorded")
        return 0
    for match in matches:
        when = match.killmail_time.strftime("%Y-%m-%d %H:%M")
        print(
            f"{when} {match.killmail_id:>10} {match.profile_name:<24}"
            f" {format_isk(match.total_value):>8}"
        )
    return 0


def _print_json(document: object) -> None:
    json.dump(document, sys.stdout, indent=2)
    print()


def _profile_json(profile: watch.WatchProfile) -> dict[str, object]:
    """Return a profile as a JSON object: its conditions, state and counts."""
    document: dict[str, object] = {
        "name": profile.name,
        "enabled": profile.enabled,
    }
    spec = profile.spec()
    for field in _CONDITION_FIELDS.values():
        value = getattr(spec, field)
        document[field] = list(value) if isinstance(value, tuple) else value
    document["conditions"] = profile.describe()
    document["matches"] = profile.matches
    document["last_match"] = _utc_text(profile.last_match)
    return document


def _match_json(match: watch.WatchMatch) -> dict[str, object]:
    return {
        "profile": match.profile_name,
        "killmail_id": match.killmail_id,
        "killmail_time": _utc_text(match.killmail_time),
        "matched_at": _utc_text(match.matched_at),
        "solar_system_id": match.solar_system_id,
        "victim_ship_type_id": match.victim_ship_type_id,
        "total_value": match.total_value,
    }


def _utc_text(moment: dt.datetime | None) -> str | None:
    """Return ``moment`` in ISO 8601 in UTC, or None."""
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()
