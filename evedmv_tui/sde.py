"""Import CCP's static data export: map, stargates, categories, groups, types.

Two input forms are read:

* CCP's JSON Lines SDE (``eve-online-static-data-<build>-jsonl.zip``), as
  the zip or an unpacked folder. Only the files below are read, wherever
  they sit in the zip; CCP's other files are ignored.
* Fuzzwork-style CSV dumps, one file per table, with either snake_case
  headers (``solar_systems.csv``, ``solar_system_id``) or Fuzzwork's own
  names and CamelCase headers (``mapSolarSystems.csv``, ``solarSystemID``),
  plain or ``.bz2``.

Every table is loaded the same way, inside one transaction: rows are
copied into a temporary staging table, then merged with ``INSERT ... ON
CONFLICT DO UPDATE`` that only rewrites changed rows, so importing the same
export twice changes nothing. Rows that a newer export dropped are kept.

A system's wormhole class is its own when the export has one. Otherwise a
known-space system takes the class of its security band, and any other
system its constellation's, else its region's (see
:func:`resolve_wormhole_classes`). An export that leaves a class blank keeps
the class that another export stored, so the CSV and JSON Lines exports
store the same classes in either order.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import dataclasses
import logging
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import msgspec
import psycopg
from psycopg import sql

from evedmv_tui import ship_classes
from evedmv_tui.errors import EvedmvError
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import operation

log = logging.getLogger(__name__)


class SdeError(EvedmvError):
    """The static data export is missing, unreadable or malformed."""


# ---------------------------------------------------------------------------
# Target tables


@dataclasses.dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


TABLES: Mapping[str, Table] = {
    "regions": Table(
        "regions",
        ("region_id", "region_name", "faction_id", "wormhole_class_id"),
        ("region_id",),
    ),
    "constellations": Table(
        "constellations",
        (
            "constellation_id",
            "constellation_name",
            "region_id",
            "faction_id",
            "wormhole_class_id",
        ),
        ("constellation_id",),
    ),
    "solar_systems": Table(
        "solar_systems",
        (
            "solar_system_id",
            "solar_system_name",
            "constellation_id",
            "region_id",
            "security",
            "security_class",
            "wormhole_class_id",
            "x",
            "y",
            "z",
        ),
        ("solar_system_id",),
    ),
    "stargate_jumps": Table(
        "stargate_jumps",
        ("from_solar_system_id", "to_solar_system_id"),
        ("from_solar_system_id", "to_solar_system_id"),
    ),
    "categories": Table(
        "categories", ("category_id", "category_name", "published"), ("category_id",)
    ),
    "groups": Table(
        "groups",
        ("group_id", "group_name", "category_id", "published", "ship_class"),
        ("group_id",),
    ),
    "types": Table(
        "types",
        (
            "type_id",
            "type_name",
            "group_id",
            "published",
            "market_group_id",
            "meta_group_id",
            "faction_id",
            "race_id",
        ),
        ("type_id",),
    ),
}
"""Tables in load order, with the columns each import writes."""

Row = tuple[Any, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class TableResult:
    table: str
    read: int
    inserted: int
    updated: int


@dataclasses.dataclass(frozen=True, slots=True)
class SdeSummary:
    """Row counts of one ``evedmv sde import``, per table."""

    path: str
    format: str
    """``jsonl`` or ``csv``."""
    build: int | None
    """CCP's build number from ``_sde.jsonl``, when the export has one."""
    tables: tuple[TableResult, ...]
    missing: tuple[str, ...]
    """Tables the export has no file for, which the import left unchanged."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "build": self.build,
            "tables": {
                t.table: {"read": t.read, "inserted": t.inserted, "updated": t.updated}
                for t in self.tables
            },
            "missing": list(self.missing),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class _JumpSource:
    """The place a stargate jump was read from, kept for errors found once
    the whole export is read."""

    place: str
    """The file and line or row, as error messages name them."""
    fields: tuple[str, str]
    """The names of the jump's from and to system fields in that file."""


@dataclasses.dataclass(slots=True)
class _MapRows:
    """Rows read so far, keyed for de-duplication (a later row wins)."""

    tables: dict[str, dict[tuple[Any, ...], Row]] = dataclasses.field(
        default_factory=dict
    )
    read: dict[str, int] = dataclasses.field(default_factory=dict)
    system_class: dict[int, int | None] = dataclasses.field(default_factory=dict)
    """Wormhole classes by location id, from a separate class file."""
    jump_sources: dict[Row, _JumpSource] = dataclasses.field(default_factory=dict)
    """The source of each stargate jump, by its row."""

    def add(self, table: str, row: Row) -> None:
        key_length = len(TABLES[table].key)
        self.tables.setdefault(table, {})[row[:key_length]] = row
        self.read[table] = self.read.get(table, 0) + 1


# ---------------------------------------------------------------------------
# JSON Lines (CCP's own format)


class _Position(msgspec.Struct):
    x: float
    y: float
    z: float


class _Region(msgspec.Struct, rename={"key": "_key"}):
    key: int
    name: dict[str, str]
    factionID: int | None = None
    wormholeClassID: int | None = None


class _Constellation(msgspec.Struct, rename={"key": "_key"}):
    key: int
    name: dict[str, str]
    regionID: int
    factionID: int | None = None
    wormholeClassID: int | None = None


class _SolarSystem(msgspec.Struct, rename={"key": "_key"}):
    key: int
    name: dict[str, str]
    constellationID: int
    regionID: int
    securityStatus: float
    securityClass: str | None = None
    wormholeClassID: int | None = None
    position: _Position | None = None


class _Destination(msgspec.Struct):
    solarSystemID: int


class _Stargate(msgspec.Struct, rename={"key": "_key"}):
    key: int
    solarSystemID: int
    destination: _Destination


class _Category(msgspec.Struct, rename={"key": "_key"}):
    key: int
    name: dict[str, str]
    published: bool = False


class _Group(msgspec.Struct, rename={"key": "_key"}):
    key: int
    name: dict[str, str]
    categoryID: int
    published: bool = False


class _Type(msgspec.Struct, rename={"key": "_key"}):
    key: int
    name: dict[str, str]
    groupID: int
    published: bool = False
    marketGroupID: int | None = None
    metaGroupID: int | None = None
    factionID: int | None = None
    raceID: int | None = None


class _Build(msgspec.Struct, rename={"key": "_key"}):
    key: str
    buildNumber: int | None = None


def _english(name: Mapping[str, str]) -> str:
    if "en" in name:
        return name["en"]
    for value in name.values():
        return value
    return ""


def _jsonl_region(record: _Region) -> tuple[str, Row]:
    return "regions", (
        record.key,
        _english(record.name),
        record.factionID,
        record.wormholeClassID,
    )


def _jsonl_constellation(record: _Constellation) -> tuple[str, Row]:
    return "constellations", (
        record.key,
        _english(record.name),
        record.regionID,
        record.factionID,
        record.wormholeClassID,
    )


def _jsonl_system(record: _SolarSystem) -> tuple[str, Row]:
    position = record.position
    return "solar_systems", (
        record.key,
        _english(record.name),
        record.constellationID,
        record.regionID,
        record.securityStatus,
        record.securityClass,
        record.wormholeClassID,
        position.x if position else None,
        position.y if position else None,
        position.z if position else None,
    )


def _jsonl_stargate(record: _Stargate) -> tuple[str, Row]:
    return "stargate_jumps", (record.solarSystemID, record.destination.solarSystemID)


def _jsonl_category(record: _Category) -> tuple[str, Row]:
    return "categories", (record.key, _english(record.name), record.published)


def _jsonl_group(record: _Group) -> tuple[str, Row]:
    return "groups", (
        record.key,
        _english(record.name),
        record.categoryID,
        record.published,
        ship_classes.ship_class(record.key, record.categoryID),
    )


def _jsonl_type(record: _Type) -> tuple[str, Row]:
    return "types", (
        record.key,
        _english(record.name),
        record.groupID,
        record.published,
        record.marketGroupID,
        record.metaGroupID,
        record.factionID,
        record.raceID,
    )


# file name -> (Struct, converter)
JSONL_FILES: Mapping[
    str, tuple[type[msgspec.Struct], Callable[[Any], tuple[str, Row]]]
] = {
    "mapRegions.jsonl": (_Region, _jsonl_region),
    "mapConstellations.jsonl": (_Constellation, _jsonl_constellation),
    "mapSolarSystems.jsonl": (_SolarSystem, _jsonl_system),
    "mapStargates.jsonl": (_Stargate, _jsonl_stargate),
    "categories.jsonl": (_Category, _jsonl_category),
    "groups.jsonl": (_Group, _jsonl_group),
    "types.jsonl": (_Type, _jsonl_type),
}
JSONL_JUMP_FIELDS = ("solarSystemID", "destination.solarSystemID")
"""The fields of a ``mapStargates.jsonl`` record that become a jump's systems."""
JSONL_TABLE = {
    "mapRegions.jsonl": "regions",
    "mapConstellations.jsonl": "constellations",
    "mapSolarSystems.jsonl": "solar_systems",
    "mapStargates.jsonl": "stargate_jumps",
    "categories.jsonl": "categories",
    "groups.jsonl": "groups",
    "types.jsonl": "types",
}


def _read_jsonl(kind: str, name: str, stream: IO[bytes], rows: _MapRows) -> None:
    """Read one JSON Lines file of ``kind`` (its base name in CCP's zip)."""
    struct, convert = JSONL_FILES[kind]
    decoder = msgspec.json.Decoder(struct)
    records = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        records += 1
        try:
            record = decoder.decode(line)
        except msgspec.ValidationError as exc:
            raise SdeError(
                "invalid SDE record",
                f"{name} line {number}{_key_hint(line)}: {exc}",
                "the file does not match CCP's JSON Lines SDE; re-download the"
                " export or fix that record",
            ) from None
        except msgspec.DecodeError as exc:
            # A cut-off download ends inside the last line; any other line
            # that does not parse was damaged or edited.
            cause = "truncated" if str(exc).endswith("truncated") else "damaged"
            raise SdeError(
                "invalid SDE file",
                f"{name} line {number}: not valid JSON ({exc})",
                f"re-download the export; the file is probably {cause}",
            ) from None
        table, row = convert(record)
        rows.add(table, row)
        if isinstance(record, _Stargate):
            place = f"{name} line {number} (_key {record.key})"
            rows.jump_sources[row] = _JumpSource(place, JSONL_JUMP_FIELDS)
    if not records:
        raise SdeError(
            "invalid SDE file",
            f"{name}: the file is empty",
            "download the SDE again; the download or a copy probably failed part way",
        )


def _key_hint(line: bytes) -> str:
    try:
        found = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return ""
    if isinstance(found, dict) and "_key" in found:
        return f" (_key {found['_key']})"
    return ""


def _read_build(stream: IO[bytes]) -> int | None:
    for line in stream:
        if line.strip():
            try:
                return msgspec.json.decode(line, type=_Build).buildNumber
            except (msgspec.ValidationError, msgspec.DecodeError):
                return None
    return None


# ---------------------------------------------------------------------------
# CSV dumps

# table -> file names accepted (lower case, without .csv / .csv.bz2)
CSV_FILES: Mapping[str, tuple[str, ...]] = {
    "regions": ("regions", "mapregions"),
    "constellations": ("constellations", "mapconstellations"),
    "solar_systems": ("solar_systems", "mapsolarsystems"),
    "stargate_jumps": ("solar_system_jumps", "stargate_jumps", "mapsolarsystemjumps"),
    "categories": ("categories", "invcategories"),
    "groups": ("groups", "invgroups"),
    "types": ("types", "invtypes"),
}
WORMHOLE_CLASS_FILES = ("maplocationwormholeclasses",)
CSV_JUMP_FIELDS = ("from_solar_system_id", "to_solar_system_id")

# canonical column -> accepted header names (compared in lower case)
CSV_ALIASES: Mapping[str, tuple[str, ...]] = {
    "region_id": ("region_id", "regionid"),
    "region_name": ("region_name", "regionname"),
    "constellation_id": ("constellation_id", "constellationid"),
    "constellation_name": ("constellation_name", "constellationname"),
    "solar_system_id": ("solar_system_id", "solarsystemid"),
    "solar_system_name": ("solar_system_name", "solarsystemname"),
    "faction_id": ("faction_id", "factionid"),
    "wormhole_class_id": ("wormhole_class_id", "wormholeclassid"),
    "security": ("security", "security_status", "securitystatus"),
    "security_class": ("security_class", "securityclass"),
    "x": ("x",),
    "y": ("y",),
    "z": ("z",),
    "from_solar_system_id": ("from_solar_system_id", "fromsolarsystemid"),
    "to_solar_system_id": ("to_solar_system_id", "tosolarsystemid"),
    "category_id": ("category_id", "categoryid"),
    "category_name": ("category_name", "categoryname"),
    "group_id": ("group_id", "groupid"),
    "group_name": ("group_name", "groupname"),
    "type_id": ("type_id", "typeid"),
    "type_name": ("type_name", "typename"),
    "published": ("published",),
    "market_group_id": ("market_group_id", "marketgroupid"),
    "meta_group_id": ("meta_group_id", "metagroupid"),
    "race_id": ("race_id", "raceid"),
    "location_id": ("location_id", "locationid"),
}

# Columns a CSV file must have; the rest may be absent.
CSV_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "regions": ("region_id", "region_name"),
    "constellations": ("constellation_id", "constellation_name", "region_id"),
    "solar_systems": (
        "solar_system_id",
        "solar_system_name",
        "constellation_id",
        "region_id",
        "security",
    ),
    "stargate_jumps": ("from_solar_system_id", "to_solar_system_id"),
    "categories": ("category_id", "category_name"),
    "groups": ("group_id", "group_name", "category_id"),
    "types": ("type_id", "type_name", "group_id"),
}

_NULLS = {"", "none", "null", "\\n"}
_TRUE = {"1", "true", "t", "yes"}
_FALSE = {"0", "false", "f", "no"}


class _CsvRecord:
    """One CSV row with typed access that names the file, row and field."""

    def __init__(self, name: str, number: int, values: Mapping[str, str]) -> None:
        self.name = name
        self.number = number
        self.values = values

    def _fail(self, column: str, value: str, expected: str) -> SdeError:
        return SdeError(
            "invalid SDE record",
            f"{self.name} row {self.number}: field {column!r} is {value!r},"
            f" expected {expected}",
            "fix that row or re-export the dump",
        )

    def raw(self, column: str) -> str | None:
        value = self.values.get(column)
        if value is None or value.strip().lower() in _NULLS:
            return None
        return value.strip()

    def integer(self, column: str) -> int | None:
        value = self.raw(column)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise self._fail(column, value, "an integer") from None
            if not number.is_integer():
                raise self._fail(column, value, "an integer") from None
            return int(number)

    def number_(self, column: str) -> float | None:
        value = self.raw(column)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise self._fail(column, value, "a number") from None

    def boolean(self, column: str) -> bool:
        value = self.raw(column)
        if value is None:
            return False
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise self._fail(column, value, "0/1 or true/false")

    def required_int(self, column: str) -> int:
        value = self.integer(column)
        if value is None:
            raise self._fail(column, "", "a value")
        return value

    def required_text(self, column: str) -> str:
        value = self.raw(column)
        if value is None:
            raise self._fail(column, "", "a value")
        return value

    def required_number(self, column: str) -> float:
        value = self.number_(column)
        if value is None:
            raise self._fail(column, "", "a number")
        return value


def _csv_row(table: str, record: _CsvRecord) -> Row:
    if table == "regions":
        return (
            record.required_int("region_id"),
            record.required_text("region_name"),
            record.integer("faction_id"),
            record.integer("wormhole_class_id"),
        )
    if table == "constellations":
        return (
            record.required_int("constellation_id"),
            record.required_text("constellation_name"),
            record.required_int("region_id"),
            record.integer("faction_id"),
            record.integer("wormhole_class_id"),
        )
    if table == "solar_systems":
        return (
            record.required_int("solar_system_id"),
            record.required_text("solar_system_name"),
            record.required_int("constellation_id"),
            record.required_int("region_id"),
            record.required_number("security"),
            record.raw("security_class"),
            record.integer("wormhole_class_id"),
            record.number_("x"),
            record.number_("y"),
            record.number_("z"),
        )
    if table == "stargate_jumps":
        return (
            record.required_int("from_solar_system_id"),
            record.required_int("to_solar_system_id"),
        )
    if table == "categories":
        return (
            record.required_int("category_id"),
            record.required_text("category_name"),
            record.boolean("published"),
        )
    if table == "groups":
        group_id = record.required_int("group_id")
        category_id = record.required_int("category_id")
        return (
            group_id,
            record.required_text("group_name"),
            category_id,
            record.boolean("published"),
            ship_classes.ship_class(group_id, category_id),
        )
    return (
        record.required_int("type_id"),
        record.required_text("type_name"),
        record.required_int("group_id"),
        record.boolean("published"),
        record.integer("market_group_id"),
        record.integer("meta_group_id"),
        record.integer("faction_id"),
        record.integer("race_id"),
    )


def _canonical_headers(headers: Sequence[str]) -> dict[str, str]:
    """Map each canonical column to the header the file uses for it."""
    lowered = {header.strip().lower(): header for header in headers}
    found: dict[str, str] = {}
    for column, aliases in CSV_ALIASES.items():
        for alias in aliases:
            if alias in lowered:
                found[column] = lowered[alias]
                break
    return found


def _read_csv(name: str, table: str, text: IO[str], rows: _MapRows) -> None:
    reader = csv.reader(text)
    try:
        headers = next(reader)
    except StopIteration:
        raise SdeError(
            "invalid SDE file",
            f"{name}: the file is empty",
            "re-export the dump; a CSV file needs a header row",
        ) from None
    mapping = _canonical_headers(headers)
    required = CSV_REQUIRED.get(table, ("location_id",))
    missing = [column for column in required if column not in mapping]
    if missing:
        raise SdeError(
            "invalid SDE file",
            f"{name}: missing {'column' if len(missing) == 1 else 'columns'}"
            f" {', '.join(missing)}"
            f" (header: {', '.join(headers)})",
            "use a dump with the standard column names",
        )
    index = {column: headers.index(header) for column, header in mapping.items()}
    records = 0
    for number, values in enumerate(reader, start=2):
        if not values or not any(v.strip() for v in values):
            continue
        records += 1
        _check_fields(name, number, headers, values, index)
        record = _CsvRecord(
            name,
            number,
            {c: values[i] if i < len(values) else "" for c, i in index.items()},
        )
        if table == "wormhole_classes":
            location = record.required_int("location_id")
            rows.system_class[location] = record.integer("wormhole_class_id")
            continue
        row = _csv_row(table, record)
        rows.add(table, row)
        if table == "stargate_jumps":
            place = f"{name} row {number}"
            rows.jump_sources[row] = _JumpSource(place, CSV_JUMP_FIELDS)
    if not records:
        raise SdeError(
            "invalid SDE file",
            f"{name}: the file is empty, with a header row and no data rows",
            "re-export the dump; the export or a copy probably failed part way",
        )


UNCLOSED_QUOTE_HINT = "close the quote in that row, or re-export the dump"


def _check_fields(
    name: str,
    number: int,
    headers: Sequence[str],
    values: Sequence[str],
    index: Mapping[str, int],
) -> None:
    """Raise :class:`SdeError` when a quote left open has joined rows into this one.

    The CSV reader takes everything after an opening quote up to the next
    quote, line breaks included, as one field. A quote left open therefore
    joins the rows that follow into one, which has more fields than the
    header or a line break in a column the import reads. Line breaks in other
    columns are valid, as in the descriptions of Fuzzwork's ``invTypes.csv``.
    """
    if len(values) > len(headers):
        detail = f"{len(values)} fields, expected {len(headers)} as in the header"
        joined = next(
            (i for i, value in enumerate(values) if _has_line_break(value)), None
        )
        if joined is not None:
            detail += (
                f"; field {joined + 1} runs over several lines, so a quote in it"
                " is probably not closed"
            )
        raise SdeError(
            "invalid SDE record", f"{name} row {number}: {detail}", UNCLOSED_QUOTE_HINT
        )
    for column, position in index.items():
        if position < len(values) and _has_line_break(values[position]):
            raise SdeError(
                "invalid SDE record",
                f"{name} row {number}: field {column!r} runs over several lines,"
                " so a quote in that row is probably not closed",
                UNCLOSED_QUOTE_HINT,
            )


def _has_line_break(value: str) -> bool:
    return "\n" in value or "\r" in value


def _looks_like_zip(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        return True
    with open(path, "rb") as stream:
        return stream.read(4) == b"PK\x03\x04"


def _csv_table(path: Path) -> str | None:
    stem = path.name.lower()
    for suffix in (".csv.bz2", ".csv"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    else:
        return None
    for table, names in CSV_FILES.items():
        if stem in names:
            return table
    if stem in WORMHOLE_CLASS_FILES:
        return "wormhole_classes"
    return None


@contextlib.contextmanager
def _open_text(path: Path) -> Iterator[IO[str]]:
    """Open a CSV dump, plain or bzip2, as UTF-8 text.

    Raises :class:`SdeError` when reading finds bytes that are not UTF-8 or
    bzip2 data that is damaged or cut off.
    """
    compressed = path.name.lower().endswith(".bz2")
    try:
        if compressed:
            with bz2.open(path, "rt", encoding="utf-8-sig", newline="") as stream:
                yield stream
        else:
            with open(path, encoding="utf-8-sig", newline="") as stream:
                yield stream
    except UnicodeDecodeError as exc:
        raise SdeError(
            "invalid SDE file",
            f"{path}: not UTF-8 text ({exc.reason})",
            "save the dump as UTF-8, or re-export it",
        ) from None
    except EOFError:
        raise SdeError(
            "damaged SDE file",
            f"{path}: the bzip2 data ends early, so the file is probably truncated",
            "download or export the dump again",
        ) from None
    except OSError as exc:
        # The bz2 module raises OSError without a file name for damaged data.
        # Errors that name the file (permissions, say) keep the command's
        # usual message.
        if not compressed or exc.filename is not None:
            raise
        raise SdeError(
            "damaged SDE file",
            f"{path}: not valid bzip2 data ({exc})",
            "download or export the dump again",
        ) from None


# ---------------------------------------------------------------------------
# Reading an export


def read_export(path: Path) -> tuple[str, int | None, _MapRows]:
    """Read every known file of the export at ``path`` into memory.

    Return the format (``jsonl`` or ``csv``), CCP's build number if known,
    and the rows. The largest official file (``types.jsonl``, about 53,000
    records) comes to a few tens of megabytes of tuples.
    """
    if not path.exists():
        raise SdeError(
            "SDE not found",
            f"{path} does not exist",
            "pass the SDE zip, its unpacked folder, or a folder of CSV dumps",
        )
    rows = _MapRows()
    if path.is_file():
        if zipfile.is_zipfile(path):
            return "jsonl", _read_zip(path, rows), rows
        table = _csv_table(path)
        if table is not None:
            with _open_text(path) as text:
                _read_csv(str(path), table, text, rows)
            return "csv", None, rows
        if _looks_like_zip(path):
            raise SdeError(
                "damaged SDE zip",
                f"{path} is named or starts like a zip, but its directory at the"
                " end cannot be read, so the file is probably truncated",
                "download the SDE zip again",
            )
        raise SdeError(
            "unknown SDE format",
            f"{path} is neither a zip nor a known CSV file",
            "pass CCP's JSON Lines SDE zip, its unpacked folder, or a folder of"
            " CSV dumps (regions.csv, solar_systems.csv, types.csv, ...)",
        )
    jsonl = {p.name: p for p in sorted(path.rglob("*.jsonl")) if p.name in JSONL_FILES}
    if jsonl:
        for name in JSONL_FILES:
            if name in jsonl:
                _check_not_directory(
                    jsonl[name],
                    f"replace the directory with {name} from the SDE zip, or unpack"
                    " the zip again",
                )
                with open(jsonl[name], "rb") as stream:
                    _read_jsonl(name, str(jsonl[name]), stream, rows)
        build = None
        sde_file = next((p for p in path.rglob("_sde.jsonl") if p.is_file()), None)
        if sde_file is not None:
            with open(sde_file, "rb") as stream:
                build = _read_build(stream)
        return "jsonl", build, rows
    found = False
    for file in sorted(path.iterdir()):
        table = _csv_table(file)
        if table is None:
            continue
        found = True
        _check_not_directory(
            file, "replace the directory with the CSV file, or re-export the dump"
        )
        with _open_text(file) as text:
            _read_csv(str(file), table, text, rows)
    if not found:
        raise SdeError(
            "no SDE files found",
            f"{path} has no JSON Lines SDE files and no known CSV dumps",
            "expected mapSolarSystems.jsonl, types.jsonl, ... or"
            " solar_systems.csv, types.csv, ...",
        )
    return "csv", None, rows


def _check_not_directory(path: Path, hint: str) -> None:
    """Raise :class:`SdeError` when the export file ``path`` is a directory."""
    if path.is_dir():
        raise SdeError(
            "invalid SDE file",
            f"{path} is a directory, not a file",
            hint,
        )


def _read_zip(path: Path, rows: _MapRows) -> int | None:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SdeError("invalid SDE zip", f"{path}: {exc}", "re-download it") from None
    build = None
    with archive:
        members = {Path(info.filename).name: info for info in archive.infolist()}
        known = [name for name in JSONL_FILES if name in members]
        if not known:
            raise SdeError(
                "no SDE files found",
                f"{path} has none of {', '.join(JSONL_FILES)}",
                "pass CCP's JSON Lines SDE zip (eve-online-static-data-*-jsonl.zip)",
            )
        for name in known:
            member = members[name].filename
            with _damaged_member(path, member), archive.open(member) as stream:
                _read_jsonl(name, f"{path}:{member}", stream, rows)
        if "_sde.jsonl" in members:
            member = members["_sde.jsonl"].filename
            with _damaged_member(path, member), archive.open(member) as stream:
                build = _read_build(stream)
    return build


@contextlib.contextmanager
def _damaged_member(path: Path, member: str) -> Iterator[None]:
    """Raise :class:`SdeError` when reading ``member`` finds its data damaged.

    The zip's directory can be intact while a member's data is not, with a
    bad CRC-32, a damaged local header or a corrupt deflate stream.
    """
    try:
        yield
    except zipfile.BadZipFile as exc:
        detail = "bad CRC-32" if str(exc).startswith("Bad CRC-32") else str(exc)
    except zlib.error as exc:
        detail = f"its compressed data cannot be decompressed: {exc}"
    else:
        return
    raise SdeError(
        "damaged SDE zip",
        f"{path}: member {member} is corrupt ({detail})",
        "download the SDE zip again",
    ) from None


HIGH_SEC, LOW_SEC, NULL_SEC = 7, 8, 9
"""Wormhole classes of known space by security band."""
DRIFTER_CLASSES: Mapping[int, int] = {
    31000001: 14,  # Sentinel MZ
    31000002: 15,  # Liberated Barbican
    31000003: 16,  # Sanctified Vidette
    31000004: 17,  # Conflux Eyrie
    31000006: 18,  # Azdaja Redoubt
}
"""The Drifter wormhole systems' own classes (C14 to C18). Their
constellation and region are class 1, which an export without the systems'
own classes would give them."""


def _security_band(security: float) -> int:
    """Return the wormhole class of a known-space system with this security.

    The bands are CCP's: high-sec from 0.45, low-sec above 0.0, null-sec at
    0.0 and below (``docs/guides/system-security.md`` in esi/esi-docs).
    """
    if security >= 0.45:
        return HIGH_SEC
    return LOW_SEC if security > 0.0 else NULL_SEC


def _system_class(
    row: Row, own: int | None, constellation: int | None, region: int | None
) -> int | None:
    """Return a system's wormhole class: its own, else one derived or inherited.

    CCP's SDE can set a class on a system itself, such as 8 on a low-sec
    system in a high-sec constellation (Asabona, security 0.32, in Anares
    of class 7). An export that drops the systems' own classes, such as a
    JSON Lines extract without ``wormholeClassID`` in ``mapSolarSystems``,
    would put such systems in their constellation's class. So a system
    without a class of its own that would inherit a known-space class takes
    the class of its security band, and a Drifter system takes its class
    from :data:`DRIFTER_CLASSES`.
    """
    if own is not None:
        return own
    inherited = constellation if constellation is not None else region
    if inherited in (HIGH_SEC, LOW_SEC, NULL_SEC) and row[4] is not None:
        return _security_band(row[4])
    return DRIFTER_CLASSES.get(row[0], inherited)


def resolve_wormhole_classes(rows: _MapRows) -> None:
    """Fill each system's wormhole class when the export has none of its own.

    See :func:`_system_class` for the rules.
    """
    regions = rows.tables.get("regions", {})
    constellations = rows.tables.get("constellations", {})
    extra = rows.system_class
    region_class = {key[0]: extra.get(key[0], row[3]) for key, row in regions.items()}
    constellation_class = {
        key[0]: extra.get(key[0], row[4]) for key, row in constellations.items()
    }
    for table, index in (("regions", 3), ("constellations", 4)):
        for key, row in list(rows.tables.get(table, {}).items()):
            if key[0] in extra:
                rows.tables[table][key] = (
                    *row[:index],
                    extra[key[0]],
                    *row[index + 1 :],
                )
    systems = rows.tables.get("solar_systems", {})
    for key, row in list(systems.items()):
        resolved = _system_class(
            row,
            extra.get(key[0], row[6]),
            constellation_class.get(row[2]),
            region_class.get(row[3]),
        )
        if resolved != row[6]:
            systems[key] = (*row[:6], resolved, *row[7:])


# ---------------------------------------------------------------------------
# Loading


KEPT_WHEN_BLANK = frozenset({"wormhole_class_id"})
"""Columns whose stored value an export that leaves them blank keeps.

CCP's JSON Lines SDE sets wormhole class 7 on the region GPMR-01 and its
constellation; CSV dumps built from other sources leave them blank. With
this, importing both kinds of export in either order stores the class,
where each import would otherwise undo the other's.
"""


def _incoming(target: sql.Identifier, column: str) -> sql.Composable:
    """Return the SQL for the value an upsert writes into ``column``."""
    if column in KEPT_WHEN_BLANK:
        return sql.SQL("COALESCE(EXCLUDED.{c}, {t}.{c})").format(
            c=sql.Identifier(column), t=target
        )
    return sql.SQL("EXCLUDED.{c}").format(c=sql.Identifier(column))


def _stage_and_merge(
    db: Database, conn: psycopg.Connection[Any], table: Table, rows: Iterable[Row]
) -> tuple[int, int]:
    """COPY ``rows`` into a staging table and upsert them.

    Return the number of new rows and the number of changed rows.
    """
    stage = sql.Identifier(f"sde_stage_{table.name}")
    target = sql.Identifier(table.name)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
    db.execute(
        sql.SQL(
            "CREATE TEMP TABLE {stage} (LIKE {target} INCLUDING DEFAULTS)"
            " ON COMMIT DROP"
        ).format(stage=stage, target=target),
        conn=conn,
    )
    copy = sql.SQL("COPY {stage} ({columns}) FROM STDIN").format(
        stage=stage, columns=columns
    )
    with (
        db.timed(f"sde.copy_{table.name}", copy.as_string(conn)) as box,
        conn.cursor() as cur,
        cur.copy(copy) as writer,
    ):
        for row in rows:
            writer.write_row(row)
            box[0] += 1

    keys = sql.SQL(", ").join(sql.Identifier(c) for c in table.key)
    others = [c for c in table.columns if c not in table.key]
    if others:
        values = [_incoming(target, c) for c in others]
        assignments = sql.SQL(", ").join(
            sql.SQL("{c} = {value}").format(c=sql.Identifier(c), value=value)
            for c, value in zip(others, values, strict=True)
        )
        current = sql.SQL(", ").join(
            sql.SQL("{t}.{c}").format(t=target, c=sql.Identifier(c)) for c in others
        )
        conflict: sql.Composable = sql.SQL(
            "DO UPDATE SET {assignments}"
            " WHERE ({current}) IS DISTINCT FROM ({incoming})"
        ).format(
            assignments=assignments,
            current=current,
            incoming=sql.SQL(", ").join(values),
        )
    else:
        conflict = sql.SQL("DO NOTHING")

    merge = sql.SQL(
        "WITH merged AS ("
        " INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage}"
        " ON CONFLICT ({keys}) {conflict}"
        " RETURNING (xmax = 0) AS inserted)"
        " SELECT count(*) FILTER (WHERE inserted),"
        " count(*) FILTER (WHERE NOT inserted)"
        " FROM merged"
    ).format(target=target, columns=columns, stage=stage, keys=keys, conflict=conflict)
    found = db.fetch_one(merge, conn=conn)
    assert found is not None
    return int(found[0]), int(found[1])


def load_rows(db: Database, rows: _MapRows) -> tuple[TableResult, ...]:
    """Upsert every table the export had, in one transaction."""
    results: list[TableResult] = []
    with db.connection() as conn, conn.transaction():
        for name, table in TABLES.items():
            table_rows = rows.tables.get(name)
            if table_rows is None:
                continue
            inserted, updated = _stage_and_merge(db, conn, table, table_rows.values())
            results.append(TableResult(name, rows.read.get(name, 0), inserted, updated))
            log.info(
                "sde %s: %d read, %d new, %d changed",
                name,
                rows.read.get(name, 0),
                inserted,
                updated,
            )
    return tuple(results)


def load_tables(
    db: Database, tables: Mapping[str, Iterable[Row]]
) -> tuple[TableResult, ...]:
    """Upsert rows given in the column order of :data:`TABLES`, in one transaction."""
    rows = _MapRows()
    for name, table_rows in tables.items():
        if name not in TABLES:
            raise ValueError(f"unknown static data table {name!r}")
        rows.tables.setdefault(name, {})
        for row in table_rows:
            rows.add(name, row)
    with operation("sde.load"):
        return load_rows(db, rows)


def check_jump_systems(db: Database, rows: _MapRows) -> None:
    """Raise :class:`SdeError` for a stargate jump from or to an unknown system.

    In CCP's export, every gate's destination gate leads back to it, so
    both systems of a jump have gates and are in the export's systems. A
    jump from or to a system that the export lacks comes from a damaged or
    edited file. A system stored by an earlier import counts too, so an
    export of the jumps alone still loads.
    """
    systems = rows.tables.get("solar_systems", {})
    outside = {
        system
        for row in rows.jump_sources
        for system in row
        if (system,) not in systems
    }
    if not outside:
        return
    stored = {
        found[0]
        for found in db.fetch_all(
            "SELECT solar_system_id FROM solar_systems"
            " WHERE solar_system_id = ANY(%s::bigint[])",
            (sorted(outside),),
        )
    }
    for row, source in rows.jump_sources.items():
        for system, field in zip(row, source.fields, strict=True):
            if system in outside and system not in stored:
                raise SdeError(
                    "invalid SDE record",
                    f"{source.place}: field {field!r} is {system}, a solar system"
                    " that is neither in the export nor in the database",
                    "re-download the export or fix that record, because every"
                    " gate leads to a solar system that the export lists",
                )


def import_sde(db: Database, path: Path | str) -> SdeSummary:
    """Read the export at ``path``, upsert it and return the row counts."""
    source = Path(path)
    with operation("sde.import"):
        form, build, rows = read_export(source)
        check_jump_systems(db, rows)
        resolve_wormhole_classes(rows)
        results = load_rows(db, rows)
    missing = tuple(name for name in TABLES if name not in rows.tables)
    if missing:
        log.warning("the SDE at %s has no data for %s", source, ", ".join(missing))
    return SdeSummary(str(source), form, build, results, missing)


STATIC_COUNTS = sql.SQL(
    "SELECT (SELECT count(*) FROM regions), (SELECT count(*) FROM constellations),"
    " (SELECT count(*) FROM solar_systems), (SELECT count(*) FROM stargate_jumps),"
    " (SELECT count(*) FROM categories), (SELECT count(*) FROM groups),"
    " (SELECT count(*) FROM types)"
)


def static_counts(db: Database) -> dict[str, int]:
    """Return the row count of each static data table."""
    found = db.fetch_one(STATIC_COUNTS)
    assert found is not None
    return dict(zip(TABLES, (int(v) for v in found), strict=True))
