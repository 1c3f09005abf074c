"""Killmails encoded as binary COPY rows, ready to send.

Formatting rows for ``COPY ... (FORMAT BINARY)`` costs as much CPU as
parsing the JSON, so the reader process does it: it turns each parsed
killmail into an :class:`EncodedKillmail` whose ``killmail_index``,
``killmails``, ``attackers`` and ``items`` rows are already bytes, and the
writer only concatenates the rows of the killmails it keeps. Pickling bytes
across the process boundary is a copy; pickling the parsed structs costs
more than parsing them again.

The rows are formatted by psycopg's own binary COPY row formatter, with
the same dumpers a cursor's ``Copy.set_types`` would pick, so the bytes are
exactly what ``Copy.write_row`` would send.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from psycopg import adapters, pq

# NOTE: psycopg's row formatter is internal (psycopg 3.2 and 3.3 keep it in
# psycopg._copy_base, backed by the C extension when installed).
from psycopg._copy_base import format_row_binary
from psycopg.adapt import Transformer

from evedmv_tui.ingest.shapes import (
    ParsedKillmail,
    PendingKillmail,
    RejectedRecord,
    parse_document,
)
from evedmv_tui.killmails import Zkb, decode_zkb
from evedmv_tui.valuation import ComputedValues, compute_values

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
"""Header of a binary COPY stream: signature, flags, header extension length."""
TRAILER = b"\xff\xff"

KILLMAIL_COLUMNS = (
    ("killmail_id", "int8"),
    ("killmail_time", "timestamptz"),
    ("solar_system_id", "int8"),
    ("moon_id", "int8"),
    ("war_id", "int8"),
    ("killmail_hash", "text"),
    ("victim_character_id", "int8"),
    ("victim_corporation_id", "int8"),
    ("victim_alliance_id", "int8"),
    ("victim_faction_id", "int8"),
    ("victim_ship_type_id", "int8"),
    ("victim_damage_taken", "int8"),
    ("position_x", "float8"),
    ("position_y", "float8"),
    ("position_z", "float8"),
    ("attacker_count", "int4"),
    ("total_value", "float8"),
    ("fitted_value", "float8"),
    ("dropped_value", "float8"),
    ("destroyed_value", "float8"),
    ("value_source", "text"),
    ("points", "int4"),
    ("npc", "bool"),
    ("solo", "bool"),
    ("awox", "bool"),
    ("location_id", "int8"),
    ("labels", "text[]"),
    ("esi_body", "text"),
    ("zkb_body", "text"),
    ("zkb_seen_at", "timestamptz"),
    ("source", "text"),
)
ESI_BODY_FIELD = 27
"""Position of ``esi_body`` in :data:`KILLMAIL_COLUMNS`."""
ATTACKER_COLUMNS = (
    ("killmail_id", "int8"),
    ("killmail_time", "timestamptz"),
    ("attacker_index", "int4"),
    ("character_id", "int8"),
    ("corporation_id", "int8"),
    ("alliance_id", "int8"),
    ("faction_id", "int8"),
    ("ship_type_id", "int8"),
    ("weapon_type_id", "int8"),
    ("damage_done", "int8"),
    ("final_blow", "bool"),
    ("security_status", "float4"),
)
INDEX_COLUMNS = (
    ("killmail_id", "int8"),
    ("killmail_hash", "text"),
    ("killmail_time", "timestamptz"),
    ("state", "text"),
    ("source", "text"),
    ("pending_zkb", "jsonb"),
)
ITEM_COLUMNS = (
    ("killmail_id", "int8"),
    ("killmail_time", "timestamptz"),
    ("item_index", "int4"),
    ("parent_index", "int4"),
    ("item_type_id", "int8"),
    ("flag", "int4"),
    ("singleton", "int4"),
    ("quantity_destroyed", "int8"),
    ("quantity_dropped", "int8"),
)


class RowEncoder:
    """Format rows of fixed column types as binary COPY rows."""

    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        self.columns = tuple(columns)
        self._transformer = Transformer()
        oids = [adapters.types.get_oid(kind) for _, kind in columns]
        self._transformer.set_dumper_types(oids, pq.Format.BINARY)

    def encode(self, rows: Iterable[Sequence[Any]]) -> bytes:
        """Return the rows formatted back to back, without header or trailer."""
        out = bytearray()
        transformer = self._transformer
        for row in rows:
            format_row_binary(row, transformer, out)
        return bytes(out)


_encoders: dict[str, RowEncoder] = {}


def encoder(table: str) -> RowEncoder:
    """Return the (cached) encoder of one of the tables the importer COPYs into.

    ``table`` is ``killmail_index``, ``killmails``, ``attackers`` or ``items``.
    """
    found = _encoders.get(table)
    if found is None:
        columns = {
            "killmail_index": INDEX_COLUMNS,
            "killmails": KILLMAIL_COLUMNS,
            "attackers": ATTACKER_COLUMNS,
            "items": ITEM_COLUMNS,
        }[table]
        found = _encoders[table] = RowEncoder(columns)
    return found


class EncodedKillmail(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """A validated killmail whose rows are binary COPY bytes.

    A msgspec struct, so that reader processes send batches of them as one
    MessagePack message (:func:`pack_killmails`) instead of pickling each
    one. It holds no reference to another object that could form a cycle,
    so the cyclic garbage collector need not track it.
    """

    killmail_id: int
    killmail_time: dt.datetime
    solar_system_id: int
    victim_ship_type_id: int
    killmail_hash: str | None
    source: str
    zkb_body: str | None
    has_zkb_values: bool
    """Whether the zkb block carries ISK values (else they are computed)."""
    index_copy: bytes
    """The ``killmail_index`` row that records this killmail as stored."""
    killmail_copy: bytes
    attackers_copy: bytes
    items_copy: bytes
    source_file: str = ""
    """The file the killmail was read from, as a reject would name it."""
    position: str = ""
    """The killmail's position in that file, as a reject would name it."""

    @property
    def zkb(self) -> Zkb | None:
        """The zkb block, decoded again (only rare paths need it)."""
        return None if self.zkb_body is None else decode_zkb(self.zkb_body.encode())

    def esi_body(self) -> str:
        """Return the stored ESI body, read back from the encoded row."""
        return read_text_field(self.killmail_copy, ESI_BODY_FIELD)


_killmails_encoder = msgspec.msgpack.Encoder()
_killmails_decoder = msgspec.msgpack.Decoder(list[EncodedKillmail])


def pack_killmails(records: Sequence[EncodedKillmail]) -> bytes:
    """Return ``records`` as one MessagePack message.

    Packing and unpacking the 17,047 killmails of one EVE Ref day archive,
    in messages of 500, took 0.05 to 0.07 s and 0.03 to 0.04 s of CPU.
    Pickling them one by one took 0.09 to 0.12 s and 0.07 to 0.14 s.
    """
    return _killmails_encoder.encode(records)


def unpack_killmails(message: bytes) -> list[EncodedKillmail]:
    """Return the records of a :func:`pack_killmails` message.

    A ``killmail_time`` with another UTC offset comes back as the same
    instant in UTC. PostgreSQL stores a ``timestamptz`` without its offset
    too.
    """
    return _killmails_decoder.decode(message)


def zkb_values(
    zkb: Zkb | None, computed: ComputedValues | None = None
) -> tuple[Any, ...]:
    """Return the zkb columns of ``killmails``, from total_value to labels.

    ``computed`` fills the four ISK values when the zkb block has none.
    """
    if zkb is None or zkb.total_value is None:
        values: tuple[Any, ...] = (None,) * 5
        if computed is not None:
            values = (
                computed.total_value,
                computed.fitted_value,
                computed.dropped_value,
                computed.destroyed_value,
                "computed",
            )
        if zkb is None:
            return (*values, *(None,) * 6)
    else:
        values = (
            zkb.total_value,
            zkb.fitted_value,
            zkb.dropped_value,
            zkb.destroyed_value,
            "zkb",
        )
    return (
        *values,
        zkb.points,
        zkb.npc,
        zkb.solo,
        zkb.awox,
        zkb.location_id,
        zkb.labels,
    )


def killmail_row(
    record: ParsedKillmail,
    zkb: Zkb | None,
    zkb_body: str | None,
    seen_at: dt.datetime,
    computed: ComputedValues | None = None,
) -> tuple[Any, ...]:
    """Return the ``killmails`` row of ``record`` with the given zkb block.

    ``computed`` gives the ISK values when the zkb block has none.
    """
    killmail = record.killmail
    victim = killmail.victim
    position = victim.position
    return (
        killmail.killmail_id,
        killmail.killmail_time,
        killmail.solar_system_id,
        killmail.moon_id,
        killmail.war_id,
        record.killmail_hash,
        victim.character_id,
        victim.corporation_id,
        victim.alliance_id,
        victim.faction_id,
        victim.ship_type_id,
        victim.damage_taken,
        None if position is None else position.x,
        None if position is None else position.y,
        None if position is None else position.z,
        len(killmail.attackers),
        *zkb_values(zkb, computed),
        record.esi_body,
        zkb_body,
        seen_at if zkb_body is not None else None,
        record.source,
    )


def encode_parsed(
    record: ParsedKillmail,
    seen_at: dt.datetime,
    *,
    prices: Mapping[int, float],
    zkb: Zkb | None = None,
    zkb_body: str | None = None,
    source_file: str = "",
    position: str = "",
) -> EncodedKillmail:
    """Encode ``record``; ``zkb``/``zkb_body`` replace its own block if given.

    A killmail whose zkb block has no ISK values is valued from ``prices``
    (a :func:`evedmv_tui.valuation.load_price_book` result). ``source_file``
    and ``position`` name where it was read, for a reject of its hash.
    """
    if zkb_body is None:
        zkb, zkb_body = record.zkb, record.zkb_body
    killmail = record.killmail
    has_zkb_values = zkb is not None and zkb.total_value is not None
    computed = None
    if not has_zkb_values:
        computed = compute_values(
            prices,
            killmail.victim.ship_type_id,
            record.item_rows,
            killmail_id=killmail.killmail_id,
        )
    return EncodedKillmail(
        killmail.killmail_id,
        killmail.killmail_time,
        killmail.solar_system_id,
        killmail.victim.ship_type_id,
        record.killmail_hash,
        record.source,
        zkb_body,
        has_zkb_values,
        encoder("killmail_index").encode(
            [
                (
                    killmail.killmail_id,
                    record.killmail_hash,
                    killmail.killmail_time,
                    "stored",
                    record.source,
                    None,
                )
            ]
        ),
        encoder("killmails").encode(
            [killmail_row(record, zkb, zkb_body, seen_at, computed)]
        ),
        encoder("attackers").encode(record.attacker_rows),
        encoder("items").encode(record.item_rows),
        source_file,
        position,
    )


def reencode(
    record: EncodedKillmail,
    seen_at: dt.datetime,
    *,
    prices: Mapping[int, float],
    zkb_body: str | None = None,
    killmail_hash: str | None = None,
) -> EncodedKillmail:
    """Return ``record`` encoded again with another zkb block or hash."""
    parsed = parse_document(
        record.esi_body().encode(), source_file="", position="", source=record.source
    )
    body = parsed[0]
    assert isinstance(body, ParsedKillmail), "a stored body parses again"
    body = dataclasses.replace(
        body, killmail_hash=killmail_hash or record.killmail_hash
    )
    zkb_body = zkb_body or record.zkb_body
    if zkb_body is None:
        return encode_parsed(
            body,
            seen_at,
            prices=prices,
            source_file=record.source_file,
            position=record.position,
        )
    return encode_parsed(
        body,
        seen_at,
        prices=prices,
        zkb=decode_zkb(zkb_body.encode()),
        zkb_body=zkb_body,
        source_file=record.source_file,
        position=record.position,
    )


WritableRecord = EncodedKillmail | PendingKillmail | RejectedRecord
"""A record the writer accepts: an encoded killmail, a reference or a reject."""

_LENGTH = struct.Struct("!i")


def read_text_field(row: bytes, index: int) -> str:
    """Return text field ``index`` of one binary COPY row."""
    offset = 2
    for _ in range(index):
        (length,) = _LENGTH.unpack_from(row, offset)
        offset += 4 + max(length, 0)
    (length,) = _LENGTH.unpack_from(row, offset)
    if length < 0:
        raise ValueError(f"field {index} is NULL")
    return row[offset + 4 : offset + 4 + length].decode("utf-8")


def prepare_document(
    document: bytes | Mapping[str, Any],
    *,
    source_file: str,
    position: str,
    seen_at: dt.datetime,
    prices: Mapping[int, float],
    source: str | None = None,
) -> list[WritableRecord]:
    """Parse one document and encode its killmails for the writer.

    Killmails without zkb ISK values are valued from ``prices``.
    """
    records = parse_document(
        document, source_file=source_file, position=position, source=source
    )
    return [
        encode_parsed(
            record,
            seen_at,
            prices=prices,
            source_file=source_file,
            position=position,
        )
        if isinstance(record, ParsedKillmail)
        else record
        for record in records
    ]
