"""User moves of an alliance, corporation or character to another side."""

from __future__ import annotations

from typing import Any

import psycopg

from evedmv_tui.battles.detect import DetectionSummary, detect_range
from evedmv_tui.battles.report import BattleNotFound
from evedmv_tui.errors import EvedmvError
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.store.telemetry import operation

_PACKAGE = "evedmv_tui.battles"
ENTITY_KINDS = ("alliance", "corporation", "character")


class AlreadyOnSide(EvedmvError):
    """The entity to move is on the side it was asked to move to."""


class NotInBattle(EvedmvError):
    """The entity to move is not one of the battle's members."""


def move_entity(
    db: Database,
    battle_id: int,
    entity_kind: str,
    entity_id: int,
    side_no: int | None,
) -> DetectionSummary:
    """Move an entity to side ``side_no`` (None: a new side) and recompute.

    The override names the side by its most involved other entity (the
    anchor), so it keeps pointing at the same group when sides are
    renumbered after new kills.

    Raises:
        EvedmvError: an unknown entity kind, a side without other members,
            or a move that would leave every member on one side.
        NotInBattle: the entity is not one of the battle's members.
        AlreadyOnSide: the entity is on side ``side_no`` already, or it is
            alone on its side and ``side_no`` is None. Nothing is stored,
            so detection keeps deciding its side.
        BattleNotFound: no battle has ``battle_id``.
    """
    if entity_kind not in ENTITY_KINDS:
        raise EvedmvError(
            "invalid entity kind",
            f"{entity_kind!r} is not one of {', '.join(ENTITY_KINDS)}",
        )
    # The override and the recomputed battle are committed together, so a
    # failed recomputation (a lost connection, a missing privilege) leaves
    # no stored move behind that a later detection would apply.
    with (
        operation("battles.override"),
        db.connection() as conn,
        conn.transaction(),
    ):
        side_now = _current_side(db, conn, battle_id, entity_kind, entity_id)
        if side_no == side_now:
            raise AlreadyOnSide(
                "nothing to move",
                f"{entity_kind} {entity_id} is on side {side_no} already",
                "pick another side, or --new-side for a side of its own",
            )
        staying = _staying_sides(db, conn, battle_id, entity_kind, entity_id)
        if side_no is None and side_now not in staying:
            raise AlreadyOnSide(
                "nothing to move",
                f"{entity_kind} {entity_id} is alone on side {side_now} already",
                "move it to one of the other sides, or move another entity",
            )
        anchor = None
        new_side = None
        if side_no is None:
            new_side = db.fetch_value(
                load_sql(_PACKAGE, "override_next_new"), (battle_id,), conn=conn
            )
        else:
            anchor = db.fetch_one(
                load_sql(_PACKAGE, "override_anchor"),
                {
                    "battle_id": battle_id,
                    "side_no": side_no,
                    "entity_kind": entity_kind,
                    "entity_id": entity_id,
                },
                conn=conn,
            )
            if anchor is None:
                raise EvedmvError(
                    "cannot move to that side",
                    f"battle {battle_id} has no side {side_no} with other members",
                    "pick an existing side, or move the entity to a new side",
                )
            if staying <= {side_no}:
                raise EvedmvError(
                    "cannot move to that side",
                    f"moving {entity_kind} {entity_id} to side {side_no} would"
                    f" put every member of battle {battle_id} on one side",
                    f"move members of side {side_no} to side {side_now} instead",
                )
        db.execute(
            load_sql(_PACKAGE, "override_save"),
            {
                "battle_id": battle_id,
                "entity_kind": entity_kind,
                "entity_id": entity_id,
                "anchor_kind": anchor[0] if anchor else None,
                "anchor_id": anchor[1] if anchor else None,
                "new_side": new_side,
            },
            conn=conn,
        )
        return recompute(db, battle_id, conn=conn)


def _current_side(
    db: Database,
    conn: psycopg.Connection[Any],
    battle_id: int,
    entity_kind: str,
    entity_id: int,
) -> int:
    """Return the entity's side; raise unless the battle has it as a member."""
    found = db.fetch_one(
        load_sql(_PACKAGE, "override_member"),
        {"battle_id": battle_id, "entity_kind": entity_kind, "entity_id": entity_id},
        conn=conn,
    )
    assert found is not None
    battle_exists, side_no = found
    if not battle_exists:
        raise _battle_not_found(battle_id)
    if side_no is None:
        raise NotInBattle(
            "entity not in battle",
            f"{entity_kind} {entity_id} is not in battle {battle_id}",
            _members_hint(db, conn, battle_id, entity_kind),
        )
    return int(side_no)


def _staying_sides(
    db: Database,
    conn: psycopg.Connection[Any],
    battle_id: int,
    entity_kind: str,
    entity_id: int,
) -> set[int]:
    """Return the sides of the members that do not move with the entity."""
    rows = db.fetch_all(
        load_sql(_PACKAGE, "override_staying_sides"),
        {"battle_id": battle_id, "entity_kind": entity_kind, "entity_id": entity_id},
        conn=conn,
    )
    return {int(side_no) for (side_no,) in rows}


MEMBERS_IN_HINT = 5
"""Members of the named kind that the hint of a failed move lists."""


def _members_hint(
    db: Database, conn: psycopg.Connection[Any], battle_id: int, entity_kind: str
) -> str:
    """Name the battle's most involved members of ``entity_kind`` with their ids."""
    rows = db.fetch_all(
        load_sql(_PACKAGE, "override_candidates"),
        {
            "battle_id": battle_id,
            "entity_kind": entity_kind,
            "limit": MEMBERS_IN_HINT + 1,
        },
        conn=conn,
    )
    every = f"'evedmv battles show {battle_id} --format json' lists every member"
    if not rows:
        return f"battle {battle_id} has no {entity_kind} members; {every}"
    listed = ", ".join(
        f"{entity_id} {name or '(no name)'} (side {side_no})"
        for entity_id, name, side_no in rows[:MEMBERS_IN_HINT]
    )
    more = " and more" if len(rows) > MEMBERS_IN_HINT else ""
    return f"its {entity_kind} members include {listed}{more}; {every}"


def _battle_not_found(battle_id: int) -> BattleNotFound:
    return BattleNotFound(
        "battle not found",
        f"no battle has id {battle_id}",
        "list battles with 'evedmv battles list'",
    )


def clear_overrides(db: Database, battle_id: int) -> DetectionSummary:
    """Drop every override of a battle and recompute its sides.

    Both are committed together, or neither is when the recomputation fails.
    """
    with (
        operation("battles.override"),
        db.connection() as conn,
        conn.transaction(),
    ):
        db.execute(load_sql(_PACKAGE, "overrides_clear"), (battle_id,), conn=conn)
        return recompute(db, battle_id, conn=conn)


def recompute(
    db: Database, battle_id: int, *, conn: psycopg.Connection[Any] | None = None
) -> DetectionSummary:
    """Recluster the systems and time of one battle (sides, metrics).

    With ``conn``, it runs in the transaction that the caller opened on it.
    """
    scope = db.fetch_one(load_sql(_PACKAGE, "battle_scope"), (battle_id,), conn=conn)
    if scope is None:
        raise _battle_not_found(battle_id)
    systems, start, end = scope
    return detect_range(db, systems, start, end, conn=conn)
