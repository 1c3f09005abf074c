"""Detection parameters: their defaults, validation and storage.

``docs/battles.md`` explains what each parameter does in the algorithm. The
parameters in force live in the ``battle_parameters`` table, so incremental
detection after an import batch clusters the same way the last full
rebuild did.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import psycopg

from evedmv_tui.errors import ConfigError
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.store.telemetry import operation


@dataclasses.dataclass(frozen=True, slots=True)
class BattleParameters:
    """Thresholds of battle detection and side assignment."""

    segment_minutes: int = 5
    """Length of the time segments that activity is counted in."""
    segment_min_kills: int = 5
    """A segment with at least this many player kills of one engagement is active."""
    quiet_minutes: int = 30
    """This long without an active segment ends a battle."""
    edge_minutes: int = 10
    """Kills at most this far apart extend a battle before its first and after
    its last active segment."""
    hour_min_kills: int = 10
    """A battle needs at least this many kills within some 60 minutes."""
    link_min_kills: int = 2
    """Two groups belong to one engagement when they killed each other (in
    either direction) at least this many times."""
    negligible_damage_share: float = 0.05
    """Attackers who did less than this share of the top player attacker's damage
    on a kill are ignored for engagements and hostility, and count as having
    this share for fellowship (they still count as pilots)."""
    merge_max_jumps: int = 3
    """Engagements in systems at most this many stargate jumps apart may merge."""
    merge_gap_minutes: int = 15
    """Merging engagements must overlap in time, give or take this much."""
    merge_min_shared_pilots: int = 5
    """Merging engagements must share at least this many pilots ..."""
    merge_min_shared_fraction: float = 0.1
    """... and at least this share of the smaller engagement's pilots."""
    one_sided_ratio: float = 0.05
    """A battle is one-sided when the losing sides destroyed at most this share
    of the ISK the winning side destroyed."""
    unclear_confidence: float = 0.8
    """Below this confidence the report calls the side split unclear."""

    @property
    def margin_seconds(self) -> float:
        """Time around new kills that incremental detection reclusters."""
        return 60.0 * (max(self.quiet_minutes, 60) + self.segment_minutes) + (
            60.0 * self.edge_minutes
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {field.name: field for field in dataclasses.fields(BattleParameters)}
_MINUTES_MAX = 7 * 24 * 60
_COUNT_MAX = 1_000_000
MAXIMUM: Mapping[str, float] = {
    "segment_minutes": _MINUTES_MAX,
    "segment_min_kills": _COUNT_MAX,
    "quiet_minutes": _MINUTES_MAX,
    "edge_minutes": _MINUTES_MAX,
    "hour_min_kills": _COUNT_MAX,
    "link_min_kills": _COUNT_MAX,
    "negligible_damage_share": 1.0,
    "merge_max_jumps": 1_000,
    "merge_gap_minutes": _MINUTES_MAX,
    "merge_min_shared_pilots": _COUNT_MAX,
    "merge_min_shared_fraction": 1.0,
    "one_sided_ratio": 1.0,
    "unclear_confidence": 1.0,
}
"""The largest value of each parameter: a week of minutes, a million of a
count, 1 for a share. Larger ones mean nothing for battles, and times that
far apart overflow the dates detection computes."""


def json_text(value: object) -> str:
    """Return ``value`` as JSON text, for a message about a value read from JSON.

    A file's author wrote ``true``, ``null`` and ``"text"``, which
    :func:`repr` would show as ``True``, ``None`` and ``'text'``.
    """
    return json.dumps(value, ensure_ascii=False)


def parse_parameters(
    values: Mapping[str, Any],
    *,
    source: str,
    base: BattleParameters | None = None,
    quote: Callable[[object], str] = repr,
) -> BattleParameters:
    """Build parameters from ``values`` over ``base`` (defaults when None).

    ``quote`` formats a name or value for an error message: :func:`json_text`
    for values read from JSON, :func:`repr` for command-line text.

    Raises:
        ConfigError: an unknown name, or a value that is not a positive,
            finite number of the parameter's type (booleans are rejected).
    """
    changes: dict[str, Any] = {}
    for name, raw in values.items():
        field = _FIELDS.get(name)
        if field is None:
            raise ConfigError(
                "invalid battle parameter",
                f"{source}: unknown parameter {quote(name)}",
                f"known parameters: {', '.join(sorted(_FIELDS))}",
            )
        whole = field.type in (int, "int")
        value = _parse_value(raw, whole=whole)
        if value is None:
            expected = "a whole number" if whole else "a number"
            raise ConfigError(
                "invalid battle parameter",
                f"{source}: {name}={quote(raw)} is not {expected}",
                f"give {name} {expected}, for example {name}={field.default}",
            )
        if value <= 0 and name != "negligible_damage_share":
            raise ConfigError(
                "invalid battle parameter",
                f"{source}: {name}={quote(raw)} must be positive",
                "give a positive number",
            )
        if value < 0:
            raise ConfigError(
                "invalid battle parameter",
                f"{source}: {name}={quote(raw)} must not be negative",
                "give zero or a positive number",
            )
        if value > MAXIMUM[name]:
            raise ConfigError(
                "invalid battle parameter",
                f"{source}: {name}={quote(raw)} is above its largest value,"
                f" {MAXIMUM[name]:g}",
                f"give {name} at most {MAXIMUM[name]:g}, for example"
                f" {name}={field.default}",
            )
        changes[name] = value
    return dataclasses.replace(base or BattleParameters(), **changes)


def _parse_value(raw: Any, *, whole: bool) -> int | float | None:
    """Return ``raw`` as an int (``whole``) or a finite float, or None if invalid.

    Booleans are rejected although Python treats them as 0 and 1, and so is
    a float with a fraction for a whole-number parameter, which ``int()``
    would truncate. A float without one, such as 2.0 in JSON, is accepted.
    """
    if isinstance(raw, bool):
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number):
        return None
    if not whole:
        return number
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() else None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def load_parameters(db: Database) -> BattleParameters:
    """Return the stored parameters, or the defaults when none are stored."""
    with operation("battles.parameters"):
        stored = db.fetch_value(load_sql("evedmv_tui.battles", "parameters_load"))
    return stored_parameters(stored)


def stored_parameters(stored: Mapping[str, Any] | None) -> BattleParameters:
    """Return the parameters of a ``parameters_load.sql`` row's value."""
    if stored is None:
        return BattleParameters()
    # Names that older versions stored but this one lacks are skipped.
    known = {k: v for k, v in stored.items() if k in _FIELDS}
    return parse_parameters(known, source="table battle_parameters")


def save_parameters(
    db: Database,
    parameters: BattleParameters,
    *,
    conn: psycopg.Connection[Any] | None = None,
) -> None:
    """Store ``parameters`` as the ones in force.

    Pass ``conn`` to store them in the caller's transaction together with
    the detection that applies them, so a failed detection stores neither.
    """
    with operation("battles.parameters"):
        db.execute(
            load_sql("evedmv_tui.battles", "parameters_save"),
            (json.dumps(parameters.to_json()),),
            conn=conn,
        )
