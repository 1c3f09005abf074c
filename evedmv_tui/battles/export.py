"""Battle reports as text, JSON, Markdown or a Discord message."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from evedmv_tui.battles.metrics import period_text
from evedmv_tui.battles.report import BattleReport
from evedmv_tui.battles.sides import format_isk
from evedmv_tui.widgets import text as text_format

FORMATS = ("text", "json", "markdown", "discord")
THIRD_PARTY_MARK = " (third party)"
"""Mark after the name of a side that is not one of the two principal sides."""
VICTIMS_MARK = " (victims only)"
"""Mark after the name of a side whose members attacked no one in the battle."""
DISCORD_LIMIT = 2000
"""Discord's maximum message length, in characters."""
DISCORD_TITLE_MAX = 300
"""Characters of the title kept in a Discord message, before escaping."""
DISCORD_NAME_WIDTH = 28
"""Columns of a Discord side row's name cell, its mark included."""
_OTHER_UNITS = re.compile(r" \+\d+$")
"""End of a side's label that counts its other units, as in ``Name +2``."""


def render(report: BattleReport, fmt: str) -> str:
    """Render ``report`` in one of :data:`FORMATS`."""
    renderers: Mapping[str, Callable[[BattleReport], str]] = {
        "text": render_text,
        "json": render_json,
        "markdown": render_markdown,
        "discord": render_discord,
    }
    return renderers[fmt](report)


def side_mark(side: Mapping[str, Any]) -> str:
    """Return the mark after a side's name: third party, victims only or none."""
    if side.get("victims_only"):
        return VICTIMS_MARK
    return THIRD_PARTY_MARK if side.get("third_party") else ""


def split_side_label(label: str) -> tuple[str, str]:
    """Split a side's label into its name and the count of other units.

    ``"Pandemic Horde +2"`` gives ``("Pandemic Horde", " +2")``, and a label
    without a count gives an empty count.
    """
    match = _OTHER_UNITS.search(label)
    others = match.group() if match else ""
    return label[: len(label) - len(others)], others


def cut_side_label(label: str, width: int) -> str:
    """Cut a side's label to ``width`` characters but keep its count of units.

    The name is cut with an ellipsis and the count of other units follows
    it, as in ``Frozen Arrow Alliance With… +3``, so a reader sees both that
    the name was cut and that the side has other units. A space before the
    ellipsis is dropped, so a name cut after a word reads ``Stellar Arrow…``.
    A width that leaves no room for the name cuts the whole label instead.
    """
    if len(label) <= width:
        return label
    name, others = split_side_label(label)
    room = width - len(others)
    if room < 1:
        return text_format.truncate(label, width)
    cut = text_format.truncate(name, room)
    if cut.endswith(" …"):
        cut = cut[:-2].rstrip() + "…"
    return cut + others


def efficiency_text(side: Mapping[str, Any]) -> str:
    """Return a side's efficiency as a percentage, or "-" when it has none.

    A third party's efficiency counts only the sides it fought (those whose
    ships it destroyed or that destroyed its ships), so its text names them,
    for example "0.0% against sides 1, 2" or "100.0% against side 4".
    """
    value, qualifier = _efficiency_parts(side)
    return value + qualifier


def _efficiency_parts(side: Mapping[str, Any]) -> tuple[str, str]:
    """Return a side's efficiency split into the percentage and its qualifier.

    The qualifier is empty for a principal side. A table aligns the
    percentages and lets the qualifier run on after them.
    """
    value = side.get("efficiency")
    text = "-" if value is None else f"{value:.1%}"
    qualifier = ""
    if side.get("third_party"):
        numbers = sorted(side.get("opponents", []))
        opponents = ", ".join(str(n) for n in numbers)
        noun = "side" if len(numbers) == 1 else "sides"
        qualifier = f" against {noun} {opponents}" if opponents else " (third party)"
    return text, qualifier


PILOTLESS_NOTE = "(losses had no pilot)"
"""Note after ``pilots 0`` on a side that lost ships, such as structures.

A victim without a character adds to a side's ships lost but not to its
pilots, so the note explains the 0 next to a count of losses.
"""


def pilots_text(side: Mapping[str, Any]) -> str:
    """Return a side's pilot count, with :data:`PILOTLESS_NOTE` when it needs one."""
    text = f"pilots {side['pilots']:,}"
    if side["pilots"] == 0 and side["ships_lost"] > 0:
        text += " " + PILOTLESS_NOTE
    return text


def missing_value_note(report: BattleReport) -> str | None:
    """Return a note counting the kills without an ISK value, or None if none.

    ISK totals leave those kills out, so every format that shows a total
    shows this note with it.
    """
    completeness = report.metrics.get("completeness") or {}
    missing = completeness.get("kills_without_value")
    if not missing:
        return None
    verb = "has" if missing == 1 else "have"
    return f"{missing:,} of {report.kills:,} kills {verb} no ISK value"


def isk_total_text(
    value: float, kills: int, without_value: int, *, decimals: int = 1
) -> str:
    """Format an ISK total, marking the kills it leaves out for lack of a value.

    ``without_value`` of the total's ``kills`` kills have no value. A total
    that leaves out kills ends in ``+``, because it is a lower bound, as a
    killmail's value that leaves out unpriced items does. A total of kills
    that all lack a value is ``?``. Battle texts show one digit after the
    point and the dashboard two, as ``decimals`` sets.
    """
    if without_value and without_value >= kills:
        return "?"
    total = text_format.format_isk(value, decimals=decimals)
    return total + ("+" if without_value else "")


def side_isk_lost_text(
    report: BattleReport, side: Mapping[str, Any], *, decimals: int = 1
) -> str:
    """Format a side's ISK lost, marked as :func:`isk_total_text` marks totals.

    Only ISK lost is marked. The report keeps each kill's victim side but
    not its attackers' sides, so it cannot tell whose ISK destroyed leaves
    out a kill without a value.
    """
    without_value = report.losses_without_value(side["side"])
    return isk_total_text(
        side["isk_lost"], side["ships_lost"], without_value, decimals=decimals
    )


def side_isk_destroyed_text(report: BattleReport, side: Mapping[str, Any]) -> str:
    """Format a side's ISK destroyed: ``?`` when no kill of the battle has a value.

    A side's share of kills without a value is not known (see
    :func:`side_isk_lost_text`), so a total is marked only when it is
    unknown for every side.
    """
    if report.kills and report.kills_without_value >= report.kills:
        return "?"
    return format_isk(side["isk_destroyed"])


def _title(report: BattleReport) -> str:
    regions = report.region_label
    where = report.system_label + (f" ({regions})" if regions else "")
    period = period_text(report.start_time, report.end_time)
    name = f"Battle {report.battle_id}" if report.battle_id else "Battle from a recipe"
    return f"{name}: {where}, {period}"


def kills_text(report: BattleReport) -> str:
    """Return the kill count, with the pending killmails that may add to it."""
    text = f"{report.kills:,} kills"
    if report.kills_pending:
        text += f", up to {report.kills_pending:,} more reported but not fetched"
    return text


def _status(report: BattleReport) -> str:
    parts = [
        report.kind,
        kills_text(report),
        f"{report.pilots:,} pilots",
        isk_total_text(report.isk_destroyed, report.kills, report.kills_without_value)
        + " ISK",
        f"confidence {report.confidence:.0%}",
    ]
    if report.unclear:
        parts.append("side split unclear")
    if report.ongoing:
        parts.append("ongoing")
    if report.changed:
        parts.append("changed after it closed")
    return " | ".join(parts)


def render_text(report: BattleReport) -> str:
    lines = [_title(report), _status(report), ""]
    for side in report.sides:
        number = side["side"]
        lines.append(f"Side {number}: {report.side_label(number)}{side_mark(side)}")
        lines.append(
            f"  {pilots_text(side)}  ships lost {side['ships_lost']:,}"
            f"  ISK lost {side_isk_lost_text(report, side)}"
            f"  ISK destroyed {side_isk_destroyed_text(report, side)}"
            f"  efficiency {efficiency_text(side)}"
        )
        lost = ", ".join(
            f"{ship_class} {count:,}"
            for ship_class, count in classes_by_count(side["ships_lost_by_class"])
        )
        if lost:
            lines.append(f"  lost: {lost}")
        members = [
            e for e in report.entities if e.side_no == number and e.parent_id is None
        ]
        for entity in members[:8]:
            lines.append(f"  - {report.name(entity.entity_id)}: {entity.reason}")
        if len(members) > 8:
            lines.append(f"  - and {len(members) - 8:,} more")
    note = missing_value_note(report)
    if note:
        lines.extend(["", note])
    return "\n".join(lines) + "\n"


def classes_by_count(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Return ship classes with their counts, most first, then by class name."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


SIDE_ISK_KEYS = (
    "isk_lost",
    "isk_destroyed",
    "isk_destroyed_of_opponents",
    "loot_dropped",
)
"""Keys of a side's metrics whose values are ISK."""


def round_isk(value: float | None) -> float | None:
    """Return an ISK figure rounded to 0.01 ISK, the precision EVE shows, or None.

    Sums of killmail values carry float noise (270000.04000000004), which
    JSON output would otherwise print in full.
    """
    return None if value is None else round(value, 2)


def report_document(report: BattleReport) -> dict[str, Any]:
    """Return the report as plain JSON-ready data, names included.

    A name that is not stored is null, next to the id it would name.
    """
    sides = []
    for side in report.sides:
        entry = dict(side)
        entry["label"] = report.side_label(side["side"])
        entry["label_id"] = report.side_label_id(side["side"])
        for key in SIDE_ISK_KEYS:
            if key in entry:
                entry[key] = round_isk(entry[key])
        for key in ("top_final_blows", "top_damage"):
            entry[key] = [
                {"character_id": pilot, "name": report.names.get(pilot), "value": value}
                for pilot, value in side[key]
            ]
        sides.append(entry)
    return {
        "battle_id": report.battle_id or None,
        "systems": [
            {"solar_system_id": s, "name": report.system_names.get(s)}
            for s in report.solar_system_ids
        ],
        "regions": [report.region_names.get(r, str(r)) for r in report.region_ids],
        "start": report.start_time.isoformat(),
        "end": report.end_time.isoformat(),
        "duration_seconds": (report.end_time - report.start_time).total_seconds(),
        "kind": report.kind,
        "kills": report.kills,
        "pilots": report.pilots,
        "isk_destroyed": round_isk(report.isk_destroyed),
        "kills_without_value": report.kills_without_value,
        "side_count": report.side_count,
        "confidence": report.confidence,
        "unclear": report.unclear,
        "ongoing": report.ongoing,
        "changed": report.changed,
        "sides": sides,
        "entities": [
            {
                "kind": e.entity_kind,
                "id": e.entity_id,
                "name": report.names.get(e.entity_id),
                "parent_id": e.parent_id,
                "side": e.side_no,
                "weight_for": e.weight_for,
                "weight_against": e.weight_against,
                "confidence": e.confidence,
                "reason": e.reason,
                "overridden": e.overridden,
            }
            for e in report.entities
        ],
        "timeline": _timeline_document(report.metrics.get("timeline")),
        "completeness": report.metrics.get("completeness"),
        "killmails": [
            {
                "killmail_id": k.killmail_id,
                "time": k.killmail_time.isoformat(),
                "solar_system_id": k.solar_system_id,
                "victim": report.names.get(k.victim_character_id or 0),
                "victim_character_id": k.victim_character_id,
                "victim_corporation": report.names.get(k.victim_corporation_id or 0),
                "victim_corporation_id": k.victim_corporation_id,
                "victim_alliance_id": k.victim_alliance_id,
                "victim_ship_type_id": k.victim_ship_type_id,
                "ship": report.type_names.get(k.victim_ship_type_id),
                "ship_type_id": k.victim_ship_type_id,
                # Metrics count a kill valued at 0 as one without a value.
                "value": round_isk(k.total_value) if k.total_value > 0 else None,
                "side": k.side_no,
            }
            for k in report.killmails
        ],
    }


def _timeline_document(timeline: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return the stored timeline with its ISK per minute rounded to 0.01 ISK.

    ``timeline["isk"]`` maps a victim side to its ISK lost in each minute.
    """
    if timeline is None:
        return None
    document = dict(timeline)
    if "isk" in document:
        document["isk"] = {
            side: [round_isk(value) for value in minutes]
            for side, minutes in document["isk"].items()
        }
    return document


def render_json(report: BattleReport) -> str:
    return json.dumps(report_document(report), indent=2) + "\n"


# Characters with a meaning inline in CommonMark and GitHub tables: emphasis,
# code, links, HTML tags and entities, strikethrough and cell separators.
_MARKDOWN_SPECIAL = frozenset("\\`*_[]<>&|~")
# Discord markdown outside a code block: emphasis, code, spoilers, quotes.
_DISCORD_SPECIAL = frozenset("\\`*_~|>")
_ZERO_WIDTH_SPACE = "\u200b"
_GRAVE_LOOKALIKE = "\u02cb"
"""MODIFIER LETTER GRAVE ACCENT, one column wide like the backtick it replaces."""


# C0 and C1 control characters and DEL. A name must not reach a terminal or
# a chat client with escape sequences in it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _one_line(text: str) -> str:
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", " ".join(text.splitlines()))


def _backslash_escape(text: str, special: frozenset[str]) -> str:
    return "".join("\\" + c if c in special else c for c in text)


def _cell(text: str) -> str:
    """Return ``text`` as literal Markdown on one line (a table cell or heading)."""
    return _backslash_escape(_one_line(text), _MARKDOWN_SPECIAL)


def _no_mentions(text: str) -> str:
    """Break ``@everyone``, ``@here`` and user mentions with a zero-width space."""
    return text.replace("@", "@" + _ZERO_WIDTH_SPACE)


def _discord_text(text: str) -> str:
    """Return ``text`` as literal Discord markdown outside a code block."""
    return _no_mentions(_backslash_escape(_one_line(text), _DISCORD_SPECIAL))


def _discord_code(label: str, width: int, suffix: str = "") -> str:
    """Return a side's label and ``suffix`` in ``width`` columns for a code block.

    ``label`` is cut as :func:`cut_side_label` does, so that all of
    ``suffix`` fits after it, then padded. A code block shows backslashes as
    written, so a backtick is replaced by a look-alike that cannot close the
    block. Mentions are broken after padding, because a zero-width space
    takes no column.
    """
    code = _one_line(label).replace("`", _GRAVE_LOOKALIKE)
    code = cut_side_label(code, max(width - len(suffix), 0)) + suffix
    return _no_mentions(f"{code[:width]:<{width}}")


def render_markdown(report: BattleReport) -> str:
    lines = [f"## {_cell(_title(report))}", "", _cell(_status(report)), ""]
    lines.append(
        "| Side | Name | Pilots | Ships lost | ISK lost | ISK destroyed | Efficiency |"
    )
    lines.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for side in report.sides:
        number = side["side"]
        name = report.side_label(number) + side_mark(side)
        lines.append(
            f"| {number} | {_cell(name)} | {pilots_text(side).removeprefix('pilots ')}"
            f" | {side['ships_lost']:,}"
            f" | {side_isk_lost_text(report, side)}"
            f" | {side_isk_destroyed_text(report, side)}"
            f" | {efficiency_text(side)} |"
        )
    note = missing_value_note(report)
    if note:
        lines.extend(["", _cell(note)])
    return "\n".join(lines) + "\n"


def render_discord(report: BattleReport) -> str:
    """Render a message that fits Discord's 2000-character limit.

    The side table is one code block, opened and closed once. Sides that do
    not fit the limit are left out and counted on a last line.
    """
    # Escaping at most doubles a character (a special character gains a
    # backslash, an @ a zero-width space), so the cut title leaves room for
    # the table.
    title = _discord_text(_title(report)[:DISCORD_TITLE_MAX])
    head = [f"**{title}**", _discord_text(_status(report))]
    fence = "```"
    rows = []
    for side in report.sides:
        number = side["side"]
        name = _discord_code(
            report.side_label(number), DISCORD_NAME_WIDTH, side_mark(side)
        )
        efficiency, qualifier = _efficiency_parts(side)
        rows.append(
            f"{number} {name} {side['pilots']:>4,}p {side['ships_lost']:>4,} lost"
            f" {side_isk_lost_text(report, side):>7} {efficiency:>6}{qualifier}"
        )
    notes = []
    if any(side["pilots"] == 0 and side["ships_lost"] > 0 for side in report.sides):
        # The table has no room for the note on its row, so one line explains it.
        notes.append(f"0p {PILOTLESS_NOTE}")
    note = missing_value_note(report)
    if note is not None:
        notes.append(note)
    tail = [fence, *(_discord_text(n) for n in notes)]
    # The longest "... and N more sides" line, with room to spare.
    reserve = len(f"... and {len(rows)} more sides") + 1
    budget = DISCORD_LIMIT - len("\n".join([*head, fence, *tail])) - 1
    shown: list[str] = []
    for index, row in enumerate(rows):
        needed = len(row) + 1 + (reserve if index < len(rows) - 1 else 0)
        if budget < needed:
            break
        shown.append(row)
        budget -= len(row) + 1
    if len(shown) < len(rows):
        shown.append(f"... and {len(rows) - len(shown)} more sides")
    return "\n".join([*head, fence, *shown, *tail]) + "\n"
