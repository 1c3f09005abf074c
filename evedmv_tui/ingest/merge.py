"""Merging the records of one batch per killmail id, and hash conflicts.

A batch may carry several records of one killmail: the same kill from
several sources, or a file named twice. :func:`merge_duplicates` keeps one
record per id before the batch's ids are looked up. A body beats a
reference, and a later zkb block beats an earlier one.

Each killmail id has one hash. Once a killmail's body is stored, a record
that brings another hash for its id belongs to another kill or is corrupt.
:func:`resolve_hashes` turns such a record into a reject of the hash's
field (``$.killmail_hash`` in most records), and the stored killmail stays
as it is. Within a batch the first body with a hash counts as stored,
because the batch stores it.
References without a body do not fix the hash, so a pending or invalid
entry takes the hash of a later record (``refresh_pending.sql``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import msgspec

from evedmv_tui.ingest.encode import EncodedKillmail, WritableRecord, reencode
from evedmv_tui.ingest.shapes import (
    RAW_LIMIT,
    ParsedKillmail,
    PendingKillmail,
    RejectedRecord,
    parse_document,
)

Keyed = EncodedKillmail | PendingKillmail


@dataclasses.dataclass(slots=True)
class Merged:
    """The records of one batch, one per killmail id, and its rejects."""

    chosen: dict[int, Keyed]
    rejects: list[RejectedRecord]
    duplicates: int
    """Records merged into another record of the same killmail."""
    contested: set[int]
    """Ids whose records in the batch carry different hashes."""
    rejected_positions: list[int] = dataclasses.field(default_factory=list)
    """Positions in the batch of records rejected for their hash."""


def merge_duplicates(
    records: Sequence[WritableRecord],
    seen_at: dt.datetime,
    prices: Mapping[int, float],
) -> Merged:
    """Keep one record per killmail id, preferring bodies and later zkb blocks.

    Ids whose records disagree on the hash are only marked as contested,
    because which record to keep depends on what is stored.
    :func:`resolve_hashes` decides that after the lookup.
    """
    chosen: dict[int, Keyed] = {}
    rejects: list[RejectedRecord] = []
    contested: set[int] = set()
    duplicates = 0
    for record in records:
        if isinstance(record, RejectedRecord):
            rejects.append(record)
            continue
        earlier = chosen.get(record.killmail_id)
        if earlier is None:
            chosen[record.killmail_id] = record
            continue
        duplicates += 1
        if hashes_differ(earlier.killmail_hash, record.killmail_hash):
            contested.add(record.killmail_id)
        if record.killmail_id in contested:
            continue
        chosen[record.killmail_id] = combine(earlier, record, seen_at, prices)
    return Merged(chosen, rejects, duplicates, contested)


def combine(
    earlier: Keyed, later: Keyed, seen_at: dt.datetime, prices: Mapping[int, float]
) -> Keyed:
    """Return the one record of a killmail that two records with one hash make."""
    if isinstance(earlier, EncodedKillmail):
        if later.zkb_body is None:
            return earlier
        if isinstance(later, EncodedKillmail):
            return later
        return reencode(earlier, seen_at, prices=prices, zkb_body=later.zkb_body)
    if isinstance(later, EncodedKillmail):
        if later.zkb_body is None and earlier.zkb_body is not None:
            return reencode(later, seen_at, prices=prices, zkb_body=earlier.zkb_body)
        return later
    if later.zkb_body is None and earlier.zkb_body is not None:
        return dataclasses.replace(later, zkb_body=earlier.zkb_body)
    return later


def hashes_differ(first: str | None, second: str | None) -> bool:
    """Return True when both hashes are known and differ."""
    return first is not None and second is not None and first != second


def resolve_hashes(
    records: Sequence[WritableRecord],
    merged: Merged,
    stored: Mapping[int, str | None],
    seen_at: dt.datetime,
    prices: Mapping[int, float],
) -> None:
    """Reject the records whose hash differs from their killmail's stored hash.

    ``stored`` maps the ids of the batch that have a stored body to its
    hash. Only ids that are contested or conflict with ``stored`` are
    merged again, record by record in batch order, so a batch without
    conflicts costs one dictionary lookup per stored id.
    """
    conflicted = set(merged.contested)
    for killmail_id, stored_hash in stored.items():
        chosen = merged.chosen.get(killmail_id)
        if chosen is not None and hashes_differ(stored_hash, chosen.killmail_hash):
            conflicted.add(killmail_id)
    if not conflicted:
        return
    groups: dict[int, list[tuple[int, Keyed]]] = {key: [] for key in conflicted}
    for position, record in enumerate(records):
        if isinstance(record, RejectedRecord):
            continue
        group = groups.get(record.killmail_id)
        if group is not None:
            group.append((position, record))
    for killmail_id, group in groups.items():
        merged.duplicates -= len(group) - 1
        kept = _fold(
            group,
            merged,
            stored=killmail_id in stored,
            stored_hash=stored.get(killmail_id),
            seen_at=seen_at,
            prices=prices,
        )
        if kept is None:
            del merged.chosen[killmail_id]
        else:
            merged.chosen[killmail_id] = kept
    merged.contested.clear()


def _fold(
    group: Sequence[tuple[int, Keyed]],
    merged: Merged,
    *,
    stored: bool,
    stored_hash: str | None,
    seen_at: dt.datetime,
    prices: Mapping[int, float],
) -> Keyed | None:
    """Merge one killmail's records in batch order, rejecting other hashes.

    Return the record to write, or None when every record was rejected.
    """
    pinned = stored_hash
    kept: Keyed | None = None
    for position, record in group:
        if pinned is not None and hashes_differ(pinned, record.killmail_hash):
            merged.rejects.append(hash_reject(record, pinned))
            merged.rejected_positions.append(position)
            continue
        if kept is None:
            kept = record
        elif hashes_differ(kept.killmail_hash, record.killmail_hash):
            # Nothing has fixed the hash yet, so the later record replaces
            # the earlier one, as it would in a later batch.
            merged.duplicates += 1
            kept = record
        else:
            merged.duplicates += 1
            kept = combine(kept, record, seen_at, prices)
        if pinned is None and _fixes_hash(kept, stored=stored):
            pinned = kept.killmail_hash
    return kept


def _fixes_hash(record: Keyed, *, stored: bool) -> bool:
    """Return whether writing ``record`` stores its hash as the killmail's."""
    if stored:
        # A killmail stored without a hash takes the hash of the first zkb
        # block merged into it (merge_zkb.sql).
        return record.zkb_body is not None
    return isinstance(record, EncodedKillmail)


def hash_reject(record: Keyed, stored_hash: str) -> RejectedRecord:
    """Return the reject of ``record``, whose hash differs from ``stored_hash``."""
    killmail_id = record.killmail_id
    # TODO: no command replaces a stored killmail whose hash is wrong, so the
    # reason can only point to ESI for finding out which hash is right.
    reason = (
        f"killmail_hash {record.killmail_hash} differs from {stored_hash}, the hash"
        f" of stored killmail {killmail_id}, so the record was not imported and"
        " the stored killmail is unchanged. ESI returns 422 for a wrong pair"
        f" (GET /killmails/{killmail_id}/<hash>/), which shows which hash is"
        " right. No evedmv command replaces a stored killmail."
    )
    text, field = _reject_text(record)
    return RejectedRecord(
        record.source_file,
        record.position,
        killmail_id,
        field,
        reason,
        text[:RAW_LIMIT],
        killmail_shaped=True,
        hash_conflict=True,
    )


class _HashKey(msgspec.Struct):
    """The top-level key of an ESI body that may hold its hash."""

    killmail_hash: msgspec.Raw = msgspec.Raw()


def record_text(record: Keyed) -> str:
    """Return JSON text that imports as ``record`` again.

    For a killmail whose ESI fields were at the top level of its document
    (ESI, EVE Ref, zKillboard API style), that is the document as received.
    Otherwise the received body and zkb texts are put into an R2Z2-shaped
    document. A reference becomes a zKillboard list entry, or a zKillboard
    history entry when it has no zkb block.
    """
    return _reject_text(record)[0]


def _reject_text(record: Keyed) -> tuple[str, str]:
    """Return :func:`record_text` and the JSON path of the hash in it."""
    killmail_id = record.killmail_id
    killmail_hash = msgspec.json.encode(record.killmail_hash).decode()
    if isinstance(record, PendingKillmail):
        if record.zkb_body is None:
            return f'{{"{killmail_id}":{killmail_hash}}}', f"$.{killmail_id}"
        return (
            f'{{"killmail_id":{killmail_id},"killmail_hash":{killmail_hash},'
            f'"zkb":{record.zkb_body}}}'
        ), "$.killmail_hash"
    body = record.esi_body()
    if _reproduces(body, record):
        # The hash is the body's killmail_hash, or else its zkb block's.
        key = bytes(msgspec.json.decode(body, type=_HashKey).killmail_hash)
        has_key = key not in (b"", b"null")
        return body, "$.killmail_hash" if has_key else "$.zkb.hash"
    zkb = "" if record.zkb_body is None else f',"zkb":{record.zkb_body}'
    return (
        f'{{"killmail_id":{killmail_id},"hash":{killmail_hash},"esi":{body}{zkb}}}'
    ), "$.hash"


def _reproduces(body: str, record: EncodedKillmail) -> bool:
    """Return whether ``body`` alone parses to ``record``'s hash and zkb block."""
    parsed = parse_document(body.encode(), source_file="", position="")
    return (
        len(parsed) == 1
        and isinstance(parsed[0], ParsedKillmail)
        and parsed[0].killmail_hash == record.killmail_hash
        and parsed[0].zkb_body == record.zkb_body
    )
