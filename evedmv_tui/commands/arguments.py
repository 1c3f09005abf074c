"""Argument types shared by the commands.

Each type turns the text of one option into a value the database and the
rest of the program accept, or raises ``argparse.ArgumentTypeError`` with a
message that names the expected value. Argparse then prints the usage and
exits with status 2, so a bad value never reaches a query as an overflow or
a negative ``LIMIT``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
from collections.abc import Callable

INT_MAX = 2**31 - 1
"""Largest PostgreSQL ``integer``: counts, limits and side numbers."""
BIGINT_MAX = 2**63 - 1
"""Largest PostgreSQL ``bigint``: killmail, entity and battle ids."""

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def whole(minimum: int = 0, maximum: int = INT_MAX) -> Callable[[str], int]:
    """Return a type for whole numbers from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"invalid value {text!r}: give a whole number from {minimum:,}"
                f" to {maximum:,}"
            )
        return value

    return parse


_ISK_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def isk_amount(text: str) -> float:
    """Parse an ISK amount of 0 or more, plain or with a unit as tables show it.

    ``1e9``, ``1000000000``, ``1b`` and ``1000m`` are the same amount; the
    units are ``k``, ``m``, ``b`` and ``t`` in either case.
    """
    value = text.strip()
    scale = _ISK_SUFFIXES.get(value[-1:].lower(), 1.0) if value else 1.0
    if scale != 1.0:
        value = value[:-1]
    try:
        return number()(value) * scale
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"invalid ISK amount {text!r}: give a number of 0 or more, such as"
            " 1e9, 2.5b or 800m"
        ) from None


def number(
    minimum: float = 0.0, maximum: float = math.inf, *, above: bool = False
) -> Callable[[str], float]:
    """Return a type for finite numbers from ``minimum`` to ``maximum``.

    With ``above``, the number must be larger than ``minimum``.
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        low_ok = value > minimum if above else value >= minimum
        if not (math.isfinite(value) and low_ok and value <= maximum):
            bound = f"over {minimum:g}" if above else f"of {minimum:g} or more"
            if math.isfinite(maximum):
                bound += f" and up to {maximum:g}"
            raise argparse.ArgumentTypeError(
                f"invalid value {text!r}: give a finite number {bound}"
            )
        return value

    return parse


SECONDS = number(0.0, 86_400.0, above=True)
"""Intervals and waits: over 0 and at most a day."""


def id_list(text: str) -> tuple[int, ...]:
    """Parse ids separated by commas, each a positive ``bigint``."""
    parse = whole(1, BIGINT_MAX)
    invalid = argparse.ArgumentTypeError(
        f"invalid id list {text!r}: give ids from 1 to {BIGINT_MAX:,},"
        " separated by commas"
    )
    try:
        ids = tuple(parse(part.strip()) for part in text.split(",") if part.strip())
    except argparse.ArgumentTypeError:
        raise invalid from None
    # Commas alone would drop the condition, so a watch profile meant to be
    # narrow could match every killmail.
    if not ids:
        raise invalid
    return ids


def parse_time(text: str) -> dt.datetime:
    """Parse an ISO 8601 time or an age like ``6h`` into a UTC time.

    A time without a zone is UTC. A time with a UTC offset is converted to
    UTC, so messages that echo it show the time the filter uses.
    """
    match = _RELATIVE.match(text.strip())
    if match:
        try:
            delta = dt.timedelta(**{_UNITS[match[2]]: int(match[1])})
            return dt.datetime.now(dt.UTC) - delta
        except OverflowError:
            raise argparse.ArgumentTypeError(
                f"invalid age {text!r}: it reaches before the year 1; give a"
                " smaller age such as 30d, or an ISO 8601 time"
            ) from None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: give ISO 8601 (2021-11-27T18:00) or an age"
            " such as 30m, 6h, 2d or 1w"
        ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: in UTC it falls outside the years 1 to 9999"
        ) from None


def utc_minute(moment: dt.datetime, *, iso: bool = False) -> str:
    """Return ``moment`` in UTC to the minute, marked as UTC.

    The text reads ``2021-11-29 18:00 UTC``, or with ``iso`` is ISO 8601
    (``2021-11-29T18:00Z``), which :func:`parse_time` reads back as the same
    minute.
    """
    utc = moment.astimezone(dt.UTC)
    if iso:
        return f"{utc:%Y-%m-%dT%H:%M}Z"
    return f"{utc:%Y-%m-%d %H:%M} UTC"
