"""Shape detection and parsing of one killmail document.

Every source (files, archives, the live feeds, ESI fetches) hands single
JSON documents to :func:`parse_document`. It decides the shape from the
document's own keys, never from a file name. It returns parsed killmails,
pending references (an id and hash whose body must still come from ESI)
and rejects that name the field and the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from evedmv_tui.ingest.invalid_fields import find_invalid_fields
from evedmv_tui.killmails import (
    MAX_ISK,
    ZKB_VALUE_KEYS,
    Killmail,
    Zkb,
    decode_killmail,
    decode_zkb,
    flatten_items,
    normalize_hash,
)

# Killmails before EVE Online's launch or in the future are typos or corrupt
# input. A future time would also become the newest killmail, which ends the
# periods of every intel page, and would make partitions for absurd months.
EARLIEST_TIME = dt.datetime(2003, 1, 1, tzinfo=dt.UTC)
FUTURE_TOLERANCE = dt.timedelta(days=1)
"""How far past this machine's clock a killmail time may lie, for a clock
that runs slow."""
RAW_LIMIT = 16_000_000
"""Characters of a rejected record's text kept in the rejects table; the rest is cut."""


class Shape(enum.StrEnum):
    """The kinds of killmail document the importer recognises."""

    ESI = "esi"
    """A plain ESI body."""
    EVEREF = "everef"
    """An EVE Ref archive member: ESI plus ``killmail_hash``, ``http_last_modified``."""
    ZKB_API = "zkb-api"
    """zKillboard API style: ESI fields with a ``zkb`` object beside them."""
    ZKB_ONLY = "zkb-only"
    """A zKillboard API list entry: ``killmail_id`` and ``zkb`` only, no body."""
    REDISQ = "redisq"
    """A RedisQ message ``{"package": ...}`` or its ``{killID, killmail, zkb}`` body."""
    R2Z2 = "r2z2"
    """An R2Z2 feed document ``{killmail_id, hash, esi, zkb, sequence_id, ...}``."""
    ZKB_HISTORY = "zkb-history"
    """A zKillboard history object mapping killmail ids to hashes."""
    EMPTY = "empty"
    """A RedisQ poll that returned no killmail (``{"package": null}``)."""
    UNKNOWN = "unknown"


class _Probe(msgspec.Struct):
    """The top-level keys that tell the shapes apart, left undecoded.

    An empty ``Raw`` means the key was absent.
    """

    killmail_id: msgspec.Raw = msgspec.Raw()
    killmail_time: msgspec.Raw = msgspec.Raw()
    victim: msgspec.Raw = msgspec.Raw()
    attackers: msgspec.Raw = msgspec.Raw()
    killmail_hash: msgspec.Raw = msgspec.Raw()
    http_last_modified: msgspec.Raw = msgspec.Raw()
    zkb: msgspec.Raw = msgspec.Raw()
    package: msgspec.Raw = msgspec.Raw()
    killID: msgspec.Raw = msgspec.Raw()
    killmail: msgspec.Raw = msgspec.Raw()
    esi: msgspec.Raw = msgspec.Raw()
    hash: msgspec.Raw = msgspec.Raw()
    sequence_id: msgspec.Raw = msgspec.Raw()


_PROBE_FIELDS = tuple(f.name for f in msgspec.structs.fields(_Probe))
_probe_decoder = msgspec.json.Decoder(_Probe)


class _EsiDocument(Killmail, frozen=True, gc=False):
    """An ESI body, with the top-level keys that tell ESI-like shapes apart.

    Decoding a document as this type reads it once, where the general path
    decodes it as a :class:`_Probe` and then again as a
    :class:`~evedmv_tui.killmails.Killmail`. An empty ``Raw`` means the key
    was absent.
    """

    zkb: msgspec.Raw = msgspec.Raw()
    http_last_modified: msgspec.Raw = msgspec.Raw()
    package: msgspec.Raw = msgspec.Raw()
    killID: msgspec.Raw = msgspec.Raw()
    killmail: msgspec.Raw = msgspec.Raw()
    esi: msgspec.Raw = msgspec.Raw()
    sequence_id: msgspec.Raw = msgspec.Raw()


_esi_decoder = msgspec.json.Decoder(_EsiDocument)
_generic_decoder = msgspec.json.Decoder()
_int_decoder = msgspec.json.Decoder(int)
_NULL = b"null"


def _is_decimal(key: str) -> bool:
    # str.isdigit alone accepts digits such as "¹" that int() cannot read.
    return key.isascii() and key.isdigit()


def classify_keys(keys: set[str]) -> Shape:
    """Return the shape of a document with these top-level keys."""
    if "package" in keys:
        return Shape.REDISQ
    if "killID" in keys or "killmail" in keys:
        return Shape.REDISQ
    if "esi" in keys or ("sequence_id" in keys and "killmail_id" in keys):
        return Shape.R2Z2
    if keys & {"victim", "attackers", "killmail_time"}:
        if "zkb" in keys:
            return Shape.ZKB_API
        if "http_last_modified" in keys:
            return Shape.EVEREF
        return Shape.ESI
    if "killmail_id" in keys and "zkb" in keys:
        return Shape.ZKB_ONLY
    if keys and all(_is_decimal(key) for key in keys):
        return Shape.ZKB_HISTORY
    return Shape.UNKNOWN


def classify(document: Mapping[str, Any]) -> Shape:
    """Return the shape of one decoded JSON document."""
    if "package" in document and document["package"] is None:
        return Shape.EMPTY
    return classify_keys(set(document))


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedKillmail:
    """A validated killmail with its rows for the ``killmails`` table family."""

    killmail: Killmail
    killmail_hash: str | None
    esi_body: str
    zkb: Zkb | None
    zkb_body: str | None
    source: str
    attacker_rows: tuple[tuple[Any, ...], ...]
    item_rows: tuple[tuple[Any, ...], ...]

    @property
    def killmail_id(self) -> int:
        return self.killmail.killmail_id


@dataclasses.dataclass(frozen=True, slots=True)
class PendingKillmail:
    """A killmail known by id and hash whose body must be fetched from ESI."""

    killmail_id: int
    killmail_hash: str
    zkb_body: str | None
    source: str
    source_file: str = ""
    """The file the reference was read from, as a reject would name it."""
    position: str = ""
    """The reference's position in that file, as a reject would name it."""


@dataclasses.dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A record that could not be parsed or failed validation."""

    source_file: str
    position: str
    killmail_id: int | None
    field: str | None
    reason: str
    raw: str
    killmail_shaped: bool = False
    """Whether the record has the keys of a killmail document and was
    rejected for its values. Text that is not JSON, and JSON of another
    kind, is not killmail-shaped."""
    is_record: bool = True
    """False for the reject of a file, or its rest, that could not be read,
    which counts as rejected but not as a record read."""
    hash_conflict: bool = False
    """Whether the record was rejected because its killmail hash differs
    from the stored killmail's. Storing a killmail does not resolve such a
    reject (see the view ``reject_states``)."""


ParsedRecord = ParsedKillmail | PendingKillmail | RejectedRecord


class _Invalid(Exception):
    """A validation failure at a JSON path; becomes a :class:`RejectedRecord`."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `([^`]+)`")
_BOUND = re.compile(r"^Expected `(?:int|float)` (<=|>=|<|>) (\S+)$")
_BOUND_WORDS = {"<=": "at most", ">=": "at least", "<": "below", ">": "above"}
"""msgspec's comparison in a range error, in the words of a reject's reason."""
_LENGTH = re.compile(r"^Expected `(array|str|object)` of length (<=|>=) (\d+)$")
_LENGTH_UNITS = {
    "array": ("entry", "entries"),
    "str": ("character", "characters"),
    "object": ("key", "keys"),
}
"""Units of a length in msgspec's length error, singular and plural, by the
value's type."""
_WRONG_TYPE = re.compile(r"^Expected `([^`]+)`, got `([^`]+)`$")
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
    "datetime": "a date and time",
}
"""msgspec's type names, in the words of a reject's reason."""
_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
VALUE_SHOWN = 60
"""Characters of an offending value a reason shows; longer values are cut."""


def clip_value(value: object) -> str:
    """Return a value as JSON text, cut to :data:`VALUE_SHOWN` characters."""
    try:
        text = msgspec.json.encode(value).decode()
    except (TypeError, msgspec.MsgspecError):
        text = repr(value)
    return _clip_text(text)


def _clip_text(text: str) -> str:
    return text if len(text) <= VALUE_SHOWN else text[: VALUE_SHOWN - 1] + "…"


_NO_VALUE = object()


def _value_at(raw: bytes | msgspec.Raw | None, path: str) -> object:
    """Return the value at a msgspec path such as ``$.victim.items[2].flag``.

    Return :data:`_NO_VALUE` when ``raw`` is not JSON or has no such value.
    """
    if raw is None:
        return _NO_VALUE
    try:
        value: object = _generic_decoder.decode(raw)
    except (msgspec.MsgspecError, RecursionError):
        return _NO_VALUE
    for key, index in _PATH_STEP.findall(path):
        if key and isinstance(value, dict) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _NO_VALUE
    return value


def _invalid_from_msgspec(
    exc: msgspec.MsgspecError,
    base: str,
    raw: bytes | msgspec.Raw | None = None,
    *,
    names_from: str | None = None,
) -> _Invalid:
    """Turn a msgspec error into a field path under ``base`` and a reason.

    ``raw`` is the JSON text that failed to decode. Its value at the error's
    path is named in the reason, cut to :data:`VALUE_SHOWN` characters. The
    reason names the field by its last key, or by its path from
    ``names_from`` when that is given.
    """
    message = str(exc)
    path: str | None = None
    relative = "$"
    match = _AT_PATH.search(message)
    if match:
        relative = match[1]
        path = base + relative[1:]
        message = message[: match.start()]
    elif isinstance(exc, msgspec.ValidationError):
        path = base
    if not isinstance(exc, msgspec.ValidationError):
        # A DecodeError that is no ValidationError: the text is not JSON.
        return _Invalid(path, f"invalid JSON: {_plain_syntax_error(message, raw)}")
    missing = _MISSING.match(message)
    if missing:
        if path is not None:
            path = f"{path}.{missing[1]}"
        name = _field_name(path, names_from) if names_from else missing[1]
        return _Invalid(path, f"required field {name} is missing")
    name = _field_name(path, names_from)
    value = _value_at(raw, relative)
    if value is not _NO_VALUE:
        value_text = clip_value(value)
    elif relative == "$" and raw is not None:
        # Too deeply nested to decode: show the start of the text instead.
        value_text = _clip_text(_text(raw))
    else:
        value_text = ""
    return _Invalid(path, f"{name} {_plain_problem(message, value_text)}")


MAX_FIELDS_NAMED = 10
"""Maximum invalid fields that a reject's reason names. It counts the rest."""


def _every_invalid_field(
    exc: msgspec.ValidationError, base: str, raw: bytes | msgspec.Raw
) -> _Invalid:
    """Return the first invalid field of a killmail body, naming all of them.

    The field is msgspec's first error; the reason lists every invalid
    field, each by its path from the body, when there are several.
    """
    first = _invalid_from_msgspec(exc, base, raw)
    others = [
        _invalid_from_msgspec(
            found.error, base + found.path[1:], found.text, names_from=base
        )
        for found in find_invalid_fields(raw, Killmail)
    ]
    if not any(other.field != first.field for other in others):
        return first
    named = [_invalid_from_msgspec(exc, base, raw, names_from=base)]
    named += [other for other in others if other.field != first.field]
    reasons = [invalid.reason for invalid in named[:MAX_FIELDS_NAMED]]
    if len(named) > MAX_FIELDS_NAMED:
        reasons.append(
            f"{len(named) - MAX_FIELDS_NAMED:,} more invalid fields are not shown"
        )
    return _Invalid(
        first.field, f"{len(named):,} invalid fields: " + "; ".join(reasons)
    )


def explain_decode_error(
    exc: msgspec.MsgspecError, raw: bytes
) -> tuple[str | None, str]:
    """Return the JSON path and a plain reason for a failed decode of ``raw``."""
    invalid = _invalid_from_msgspec(exc, "$", raw)
    return invalid.field, invalid.reason


_MALFORMED = re.compile(r"^JSON is malformed: (.+) \(byte (\d+)\)$")
_SYNTAX_WORDS = {"trailing characters": "more text after the end of the record"}
"""msgspec's syntax problems that read unclearly, in plain words."""


CUT_OFF_REASON = "the text ends inside a value, so the record was cut off"
"""The end of the reason of a record whose JSON text stops part way."""


def _plain_syntax_error(message: str, raw: bytes | msgspec.Raw | None) -> str:
    """Return msgspec's syntax error in plain words, with the text where it is."""
    if message == "Input data was truncated":
        return CUT_OFF_REASON
    malformed = _MALFORMED.match(message)
    if malformed is None:
        return message
    offset = int(malformed[2])
    problem_words = _SYNTAX_WORDS.get(malformed[1], malformed[1])
    problem = f"{problem_words} at byte {offset}"
    if raw is None:
        return problem
    near = bytes(raw)[max(0, offset - 20) : offset + 20]
    return f"{problem}, near {_clip_text(near.decode('utf-8', 'replace'))!r}"


def _field_name(path: str | None, names_from: str | None = None) -> str:
    """Return the last key of a path, or "the record" for the whole record.

    With ``names_from``, return the path from there instead, such as
    ``victim.items[2].flag``.
    """
    if names_from is not None and path is not None and path.startswith(names_from):
        relative = path[len(names_from) :].lstrip(".")
        return relative or "the record"
    keys: list[str] = [key for key, _ in _PATH_STEP.findall(path or "") if key]
    if path is None or not keys:
        return "the record"
    if path.endswith("]"):
        return f"{keys[-1]} entry"
    return keys[-1]


def _type_words(types: str) -> str:
    """Return msgspec's ``float | null`` as "a number or null"."""
    return " or ".join(
        _TYPE_WORDS.get(name, f"`{name}`") for name in types.split(" | ")
    )


def _plain_problem(message: str, value: str) -> str:
    """Return what is wrong with ``value``, after the field name, in plain words.

    ``value`` is the offending value as JSON text, or empty when unknown.
    """
    wrong_type = _WRONG_TYPE.match(message)
    if wrong_type:
        got = _type_words(wrong_type[2])
        # The value shows nothing that its type does not when it is null.
        shown = f" ({value})" if value and wrong_type[2] != "null" else ""
        return f"is {got}{shown}, expected {_type_words(wrong_type[1])}"
    problem = f"{value} " if value else ""
    bound = _BOUND.match(message)
    if bound:
        return (
            f"{problem}is out of range: it must be {_BOUND_WORDS[bound[1]]} {bound[2]}"
        )
    length = _LENGTH.match(message)
    if length:
        one, many = _LENGTH_UNITS[length[1]]
        if length[2] == ">=" and length[3] == "1":
            return f"{problem}is empty, expected at least one {one}"
        limit = _BOUND_WORDS[length[2]]
        return f"{problem}has the wrong length: it must have {limit} {length[3]} {many}"
    if message.startswith("Invalid RFC3339 encoded datetime"):
        return (
            f"{problem}is not a valid time: expected an RFC 3339 date and time"
            " such as 2024-05-01T12:34:56Z"
        )
    if message.startswith("Invalid enum value"):
        return f"{problem}is not one of the allowed values"
    return f"{problem}is invalid: {message[:1].lower()}{message[1:]}"


def _text(raw: bytes | msgspec.Raw) -> str:
    return bytes(raw).decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _present(raw: msgspec.Raw) -> bool:
    """Return whether the key was in the document with a value other than null."""
    return len(raw) > 0 and bytes(raw) != _NULL


def _int_or_none(raw: msgspec.Raw) -> int | None:
    if not _present(raw):
        return None
    try:
        value = _int_decoder.decode(raw)
    except msgspec.MsgspecError:
        return None
    return value if 0 < value < 2**63 else None


def _require_id(raw: msgspec.Raw, field: str) -> int:
    if not _present(raw):
        raise _Invalid(field, "missing killmail id")
    value = _int_or_none(raw)
    if value is None:
        raise _Invalid(
            field, f"killmail id {_text(raw)[:40]} is not a positive integer"
        )
    return value


def _hash(raw: msgspec.Raw | str | None, field: str) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, msgspec.Raw):
        if not _present(raw):
            return None
        try:
            raw = _generic_decoder.decode(raw)
        except msgspec.MsgspecError as exc:
            raise _invalid_from_msgspec(exc, field) from None
    if not isinstance(raw, str):
        raise _Invalid(
            field,
            f"invalid killmail hash {clip_value(raw)}: expected a string of 40"
            " lowercase hexadecimal digits",
        )
    try:
        return normalize_hash(raw)
    except ValueError as exc:
        raise _Invalid(field, f"invalid killmail hash: {exc}") from None


def _agree(hashes: list[tuple[str, str | None]]) -> str | None:
    """Return the one hash the named fields agree on; raise if two differ."""
    chosen: tuple[str, str] | None = None
    for field, value in hashes:
        if value is None:
            continue
        if chosen is None:
            chosen = (field, value)
        elif chosen[1] != value:
            raise _Invalid(field, f"hash {value} differs from {chosen[0]} {chosen[1]}")
    return None if chosen is None else chosen[1]


def _zkb(raw: msgspec.Raw, field: str) -> tuple[Zkb | None, str | None]:
    if not _present(raw):
        return None, None
    try:
        zkb = decode_zkb(raw)
    except msgspec.MsgspecError as exc:
        raise _invalid_from_msgspec(exc, field, raw) from None
    for name, key in ZKB_VALUE_KEYS:
        value = getattr(zkb, name)
        if value is not None and value > MAX_ISK:
            raise _Invalid(
                f"{field}.{key}",
                f"{key} {value:.3g} ISK is more than {MAX_ISK:.0e} ISK, far above"
                " any real killmail; fix the value, or leave the zkb block out to"
                " have the killmail valued from prices",
            )
    return zkb, _text(raw)


def _killmail(raw: bytes | msgspec.Raw, field: str) -> Killmail:
    try:
        killmail = decode_killmail(raw)
    except msgspec.ValidationError as exc:
        raise _every_invalid_field(exc, field, raw) from None
    except msgspec.MsgspecError as exc:
        raise _invalid_from_msgspec(exc, field, raw) from None
    reason = time_problem(killmail.killmail_time)
    if reason is not None:
        raise _Invalid(f"{field}.killmail_time", reason)
    return killmail


def time_problem(killmail_time: dt.datetime) -> str | None:
    """Return why a killmail time cannot be right, or None when it can."""
    if killmail_time < EARLIEST_TIME:
        return (
            f"killmail_time {killmail_time.isoformat()} is before"
            f" {EARLIEST_TIME.year}; EVE Online was launched in May 2003"
        )
    latest = dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE
    if killmail_time > latest:
        return (
            f"killmail_time {killmail_time.isoformat()} is in the future (after"
            f" {latest:%Y-%m-%d %H:%M} UTC, a day past this machine's clock);"
            " fix the time in the source, or this machine's clock"
        )
    return None


def build_parsed(
    killmail: Killmail,
    *,
    killmail_hash: str | None,
    esi_body: str,
    zkb: Zkb | None,
    zkb_body: str | None,
    source: str,
) -> ParsedKillmail:
    """Build the attacker and item rows of a validated killmail."""
    # List comprehensions, not generators: the rows of every killmail pass
    # through here, and generators took about 0.3 s instead of 0.2 s for
    # the 17,047 killmails of one EVE Ref day archive.
    killmail_id = killmail.killmail_id
    time = killmail.killmail_time
    attacker_rows = tuple(
        [
            (
                killmail_id,
                time,
                index,
                a.character_id,
                a.corporation_id,
                a.alliance_id,
                a.faction_id,
                a.ship_type_id,
                a.weapon_type_id,
                a.damage_done,
                a.final_blow,
                a.security_status,
            )
            for index, a in enumerate(killmail.attackers)
        ]
    )
    items = killmail.victim.items
    if any([item.items for item in items]):
        item_rows = tuple(
            [
                (
                    killmail_id,
                    time,
                    index,
                    parent,
                    item.item_type_id,
                    item.flag,
                    item.singleton,
                    item.quantity_destroyed,
                    item.quantity_dropped,
                )
                for index, (parent, item) in enumerate(flatten_items(items))
            ]
        )
    else:
        item_rows = tuple(
            [
                (
                    killmail_id,
                    time,
                    index,
                    None,
                    item.item_type_id,
                    item.flag,
                    item.singleton,
                    item.quantity_destroyed,
                    item.quantity_dropped,
                )
                for index, item in enumerate(items)
            ]
        )
    return ParsedKillmail(
        killmail,
        killmail_hash,
        esi_body,
        zkb,
        zkb_body,
        str(source),
        attacker_rows,
        item_rows,
    )


def _parse_with_body(
    body: bytes | msgspec.Raw,
    body_field: str,
    *,
    zkb_raw: msgspec.Raw,
    zkb_field: str,
    hashes: list[tuple[str, str | None]],
    expected_id: tuple[str, int] | None,
    source: str,
) -> ParsedKillmail:
    return _finish_with_body(
        _killmail(body, body_field),
        body,
        body_field,
        zkb_raw=zkb_raw,
        zkb_field=zkb_field,
        hashes=hashes,
        expected_id=expected_id,
        source=source,
    )


def _finish_with_body(
    killmail: Killmail,
    body: bytes | msgspec.Raw,
    body_field: str,
    *,
    zkb_raw: msgspec.Raw,
    zkb_field: str,
    hashes: list[tuple[str, str | None]],
    expected_id: tuple[str, int] | None,
    source: str,
) -> ParsedKillmail:
    """Check a decoded body against the rest of its document and build rows."""
    if expected_id is not None and expected_id[1] != killmail.killmail_id:
        raise _Invalid(
            f"{body_field}.killmail_id",
            f"killmail_id {killmail.killmail_id} differs from "
            f"{expected_id[0]} {expected_id[1]}",
        )
    zkb, zkb_body = _zkb(zkb_raw, zkb_field)
    body_hash = _hash(killmail.killmail_hash, f"{body_field}.killmail_hash")
    zkb_hash = _hash(zkb.hash, f"{zkb_field}.hash") if zkb else None
    chosen = _agree(
        [
            *hashes,
            (f"{body_field}.killmail_hash", body_hash),
            (f"{zkb_field}.hash", zkb_hash),
        ]
    )
    return build_parsed(
        killmail,
        killmail_hash=chosen,
        esi_body=_text(body),
        zkb=zkb,
        zkb_body=zkb_body,
        source=source,
    )


def _parse_pending(
    killmail_id: int,
    *,
    zkb_raw: msgspec.Raw,
    zkb_field: str,
    hashes: list[tuple[str, str | None]],
    source: str,
) -> PendingKillmail:
    zkb, zkb_body = _zkb(zkb_raw, zkb_field)
    zkb_hash = _hash(zkb.hash, f"{zkb_field}.hash") if zkb else None
    chosen = _agree([*hashes, (f"{zkb_field}.hash", zkb_hash)])
    if chosen is None:
        raise _Invalid(
            f"{zkb_field}.hash",
            "no body and no hash, so the killmail cannot be fetched from ESI",
        )
    return PendingKillmail(killmail_id, chosen, zkb_body, str(source))


def _parse_redisq(probe: _Probe, base: str) -> ParsedRecord | None:
    if _present(probe.package):
        try:
            inner = _probe_decoder.decode(probe.package)
        except msgspec.MsgspecError as exc:
            raise _invalid_from_msgspec(exc, f"{base}.package", probe.package) from None
        return _parse_redisq(inner, f"{base}.package")
    if len(probe.package):
        return None
    killmail_id = _require_id(probe.killID, f"{base}.killID")
    if _present(probe.killmail):
        return _parse_with_body(
            probe.killmail,
            f"{base}.killmail",
            zkb_raw=probe.zkb,
            zkb_field=f"{base}.zkb",
            hashes=[],
            expected_id=(f"{base}.killID", killmail_id),
            source=Shape.REDISQ,
        )
    return _parse_pending(
        killmail_id,
        zkb_raw=probe.zkb,
        zkb_field=f"{base}.zkb",
        hashes=[],
        source=Shape.REDISQ,
    )


def _parse_r2z2(probe: _Probe) -> ParsedRecord:
    killmail_id = _require_id(probe.killmail_id, "$.killmail_id")
    envelope_hash = _hash(probe.hash, "$.hash")
    if _present(probe.esi):
        return _parse_with_body(
            probe.esi,
            "$.esi",
            zkb_raw=probe.zkb,
            zkb_field="$.zkb",
            hashes=[("$.hash", envelope_hash)],
            expected_id=("$.killmail_id", killmail_id),
            source=Shape.R2Z2,
        )
    return _parse_pending(
        killmail_id,
        zkb_raw=probe.zkb,
        zkb_field="$.zkb",
        hashes=[("$.hash", envelope_hash)],
        source=Shape.R2Z2,
    )


def _parse_history(raw: bytes, source_file: str, position: str) -> list[ParsedRecord]:
    try:
        entries = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
    except msgspec.MsgspecError as exc:
        invalid = _invalid_from_msgspec(exc, "$", raw)
        return [
            RejectedRecord(
                source_file, position, None, invalid.field, invalid.reason, _text(raw)
            )
        ]
    if not any(_is_valid_hash(value) for value in entries.values()):
        return [_not_history(raw, entries, source_file, position)]
    key_positions = _key_positions(raw, entries, position)
    records: list[ParsedRecord] = []
    for key, value in entries.items():
        field = f"$.{key}"
        key_position = key_positions.get(key, f"{position} key {key}")
        try:
            killmail_id = int(key)
            if not 0 < killmail_id < 2**63:
                raise _Invalid(field, f"killmail id {key} is out of range")
            killmail_hash = _hash(value, field)
            if killmail_hash is None:
                raise _Invalid(
                    field, "the killmail hash is null, so it cannot be fetched"
                )
            records.append(
                PendingKillmail(
                    killmail_id,
                    killmail_hash,
                    None,
                    Shape.ZKB_HISTORY.value,
                    source_file,
                    key_position,
                )
            )
        except _Invalid as exc:
            records.append(
                RejectedRecord(
                    source_file,
                    key_position,
                    int(key) if _is_decimal(key) and int(key) < 2**63 else None,
                    exc.field,
                    exc.reason,
                    msgspec.json.encode({key: value}).decode(),
                    killmail_shaped=True,
                )
            )
    return records


def _is_valid_hash(value: msgspec.Raw) -> bool:
    try:
        return _hash(value, "$") is not None
    except _Invalid:
        return False


def _not_history(
    raw: bytes, entries: dict[str, msgspec.Raw], source_file: str, position: str
) -> RejectedRecord:
    """Reject an object of killmail ids to values none of which is a hash.

    Such an object (a list of labels or names by killmail id) is not a
    zKillboard history object, so it is one reject that is not
    killmail-shaped, and the file counts as probably not a killmail file.
    """
    key, value = next(iter(entries.items()))
    text = _text(raw)
    return RejectedRecord(
        source_file,
        position,
        None,
        "$",
        "unrecognised document: an object of killmail ids whose values are"
        f" not killmail hashes, such as {clip_value(key)}:"
        f" {_clip_text(_text(value))}. A zKillboard history object maps"
        " killmail ids to hashes of 40 lowercase hexadecimal digits",
        text[:RAW_LIMIT],
    )


_LINE_POSITION = re.compile(r"^(.*\bline )(\d+)$")


def _key_positions(
    raw: bytes, entries: dict[str, msgspec.Raw], position: str
) -> dict[str, str]:
    """Return the position of each top-level key, such as ``line 5 key 123``.

    When ``position`` names the line the document starts on, each key is
    named by the line it is on. Keys are found in document order, each
    after the previous key's value, so values that contain the same digits
    are skipped.
    """
    line = _LINE_POSITION.match(position)
    if line is None or b"\n" not in raw:
        return {}
    positions: dict[str, str] = {}
    number = int(line[2])
    # The line number already counts the blank lines before the document.
    cursor = len(raw) - len(raw.lstrip())
    for key, value in entries.items():
        pattern = rb'"' + re.escape(key.encode()) + rb'"\s*:\s*'
        found = re.compile(pattern).search(raw, cursor)
        if found is None:
            break
        number += raw.count(b"\n", cursor, found.start())
        positions[key] = f"{line[1]}{number} key {key}"
        value_end = found.end() + len(value)
        if raw[found.end() : value_end] == bytes(value):
            number += raw.count(b"\n", found.start(), value_end)
            cursor = value_end
        else:
            number += raw.count(b"\n", found.start(), found.end())
            cursor = found.end()
    return positions


def _parse_probed(probe: _Probe, raw: bytes, shape: Shape) -> ParsedRecord | None:
    if shape is Shape.REDISQ:
        return _parse_redisq(probe, "$")
    if shape is Shape.R2Z2:
        return _parse_r2z2(probe)
    if shape in (Shape.ESI, Shape.EVEREF, Shape.ZKB_API):
        return _parse_with_body(
            raw,
            "$",
            zkb_raw=probe.zkb,
            zkb_field="$.zkb",
            hashes=[],
            expected_id=None,
            source=shape,
        )
    if shape is Shape.ZKB_ONLY:
        killmail_id = _require_id(probe.killmail_id, "$.killmail_id")
        return _parse_pending(
            killmail_id,
            zkb_raw=probe.zkb,
            zkb_field="$.zkb",
            hashes=[("$.killmail_hash", _hash(probe.killmail_hash, "$.killmail_hash"))],
            source=shape,
        )
    raise _Invalid(
        "$",
        "unrecognised document: expected an ESI killmail, a zKillboard, RedisQ "
        "or R2Z2 document, or an EVE Ref archive member",
    )


def _parse_esi(raw: bytes, source: str | None) -> ParsedKillmail | None:
    """Parse an ESI, EVE Ref or zKillboard API document that is valid.

    Return None for any other document, and for one that fails a check, so
    that :func:`parse_document`'s general path handles it and words any
    reject exactly as before.
    """
    try:
        document = _esi_decoder.decode(raw)
    except (msgspec.MsgspecError, RecursionError):
        return None
    if (
        len(document.package)
        or len(document.killID)
        or len(document.killmail)
        or len(document.esi)
        or len(document.sequence_id)
    ):
        # RedisQ or R2Z2 keys: classify_keys would not call this an ESI body.
        return None
    if len(document.zkb):
        shape = Shape.ZKB_API
    elif len(document.http_last_modified):
        shape = Shape.EVEREF
    else:
        shape = Shape.ESI
    killmail_time = document.killmail_time
    if killmail_time.tzinfo is None:
        killmail_time = killmail_time.replace(tzinfo=dt.UTC)
    if time_problem(killmail_time) is not None:
        return None
    killmail = Killmail(
        document.killmail_id,
        killmail_time,
        document.solar_system_id,
        document.victim,
        document.attackers,
        document.moon_id,
        document.war_id,
        document.killmail_hash,
    )
    try:
        return _finish_with_body(
            killmail,
            raw,
            "$",
            zkb_raw=document.zkb,
            zkb_field="$.zkb",
            hashes=[],
            expected_id=None,
            source=source or shape,
        )
    except _Invalid:
        return None


def _probe_shape(probe: _Probe, raw: bytes) -> Shape:
    keys = {name for name in _PROBE_FIELDS if len(getattr(probe, name))}
    if not keys:
        try:
            document = _generic_decoder.decode(raw)
        except msgspec.MsgspecError:
            return Shape.UNKNOWN
        return classify(document) if isinstance(document, dict) else Shape.UNKNOWN
    if len(probe.package) and not _present(probe.package):
        return Shape.EMPTY
    return classify_keys(keys)


def _readable_id(raw: msgspec.Raw) -> int | None:
    """Return a killmail id as written, valid or not, if a bigint can hold it.

    A reject names the killmail even when its id is the invalid field, so
    negative ids and ids written as decimal strings count as readable.
    """
    if not _present(raw):
        return None
    try:
        value = _generic_decoder.decode(raw)
    except msgspec.MsgspecError:
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,19}\s*", value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**63 else None
    return None


def _known_id(probe: _Probe | None) -> int | None:
    if probe is None:
        return None
    for raw in (probe.killmail_id, probe.killID):
        value = _readable_id(raw)
        if value is not None:
            return value
    if _present(probe.package):
        try:
            return _known_id(_probe_decoder.decode(probe.package))
        except msgspec.MsgspecError:
            return None
    return None


def parse_document(
    document: bytes | Mapping[str, Any],
    *,
    source_file: str,
    position: str,
    source: str | None = None,
) -> list[ParsedRecord]:
    """Parse one JSON document into killmails, pending references and rejects.

    ``source`` names where the document came from (``esi``, ``r2z2``) for the
    stored rows; by default it is the detected shape.

    ``document`` is the raw JSON text of one document, or an already decoded
    object (which is re-encoded, so its stored body is equal in value to what
    was received). Most documents yield one record; a zKillboard history
    object yields one per entry, and an empty RedisQ poll yields none.
    """
    raw = document if isinstance(document, bytes) else msgspec.json.encode(document)
    parsed = _parse_esi(raw, source)
    if parsed is not None:
        return [parsed]
    probe: _Probe | None = None
    shape = Shape.UNKNOWN
    try:
        try:
            probe = _probe_decoder.decode(raw)
        except msgspec.MsgspecError as exc:
            raise _invalid_from_msgspec(exc, "$", raw) from None
        except RecursionError:
            raise _Invalid(
                "$", "invalid JSON: nested too deeply to be a killmail"
            ) from None
        shape = _probe_shape(probe, raw)
        if shape is Shape.EMPTY:
            return []
        if shape is Shape.ZKB_HISTORY:
            return _parse_history(raw, source_file, position)
        record = _parse_probed(probe, raw, shape)
        if isinstance(record, PendingKillmail):
            record = dataclasses.replace(
                record,
                source=source or record.source,
                source_file=source_file,
                position=position,
            )
        elif isinstance(record, ParsedKillmail) and source:
            record = dataclasses.replace(record, source=source)
    except _Invalid as exc:
        text = _text(raw)
        if len(text) > RAW_LIMIT:
            text = text[:RAW_LIMIT]
        return [
            RejectedRecord(
                source_file,
                position,
                _known_id(probe),
                exc.field,
                exc.reason,
                text,
                killmail_shaped=shape is not Shape.UNKNOWN,
            )
        ]
    return [] if record is None else [record]
