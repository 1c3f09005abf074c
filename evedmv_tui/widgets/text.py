"""Text helpers for everything that reaches Rich or Textual markup.

Names come from ESI and query texts from ``pg_stat_statements``: both are
untrusted and may contain ``[`` (markup tags) or terminal control
characters. Pass them through :func:`escape_markup` before putting them in a
markup string, or render them as :class:`rich.text.Text` without markup.
This module does not import Textual, so non-UI code may format values too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator, Sequence

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text

# C0 and C1 control characters, DEL included. Tab and newline are kept
# because multi-line query texts are shown in detail panes.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def strip_control(text: str) -> str:
    """Replace control characters (escape sequences included) with U+FFFD."""
    return _CONTROL.sub(REPLACEMENT, text)


# Every C0 and C1 control character, tab and newline included, so that a quoted
# value stays on one line.
_QUOTED_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def quote_value(value: object) -> str:
    """Quote a user's value for a message, as it was typed.

    The value is put between single quotes. Unlike :func:`repr`, backslashes
    and quotes are kept as they are, and only control characters are shown
    escaped (``\\t``, ``\\x1b``). The result may still contain ``[``, so pass
    it through :func:`escape_markup` before it reaches markup.
    """
    text = _QUOTED_CONTROL.sub(lambda match: repr(match.group())[1:-1], str(value))
    return f"'{text}'"


def escape_markup(text: object) -> str:
    """Return ``text`` safe to embed in a Rich or Textual markup string.

    Square brackets are escaped so ``[b]`` in a character name prints as
    written, and control characters are replaced so a name cannot move the
    cursor or change the terminal's colours.
    """
    return escape(strip_control(str(text)))


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` terminal cells, ending with an ellipsis if cut.

    A wide character (CJK, most emoji) takes two cells. One that the cut
    would split is dropped and a space takes its place.
    """
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    cropped = Text(text)
    cropped.truncate(width, overflow="ellipsis")
    return cropped.plain


_ISK_UNITS = ((1.0, ""), (1e3, "k"), (1e6, "m"), (1e9, "b"), (1e12, "t"))


def format_isk(value: float | None, decimals: int = 2) -> str:
    """Format an ISK amount compactly: ``1.25b``, ``830.00m``, ``12.40k``, ``950``.

    ``decimals`` is the number of digits after the point of an amount with a
    unit. The smallest unit that keeps the rounded amount under 1000 is
    used, so 999,999 is ``1.00m``, not ``1000.00k``. None (no price known)
    and NaN are shown as ``?``, so a missing price is never mistaken for a
    worthless item.
    """
    if value is None or math.isnan(value):
        return "?"
    magnitude = abs(value)
    if magnitude >= 1e15 or math.isinf(magnitude):
        # Past the largest unit (999.99t) it would need more digits than a
        # column has.
        return f"{value:.{decimals}e}"
    # Start at the largest unit not above the amount and format once. Only
    # an amount that rounds up to 1000 of that unit moves to the next one.
    index = (
        0
        if magnitude < 1e3
        else 1
        if magnitude < 1e6
        else 2
        if magnitude < 1e9
        else 3
        if magnitude < 1e12
        else 4
    )
    for scale, suffix in _ISK_UNITS[index:]:
        if scale == 1.0:
            formatted = f"{value:.0f}"
        else:
            formatted = f"{value / scale:.{decimals}f}{suffix}"
        if not formatted.lstrip("-").startswith("1000"):
            return formatted
    return f"{value:.{decimals}e}"


def format_count(value: int) -> str:
    """Format an integer with thousands separators: ``83,228``."""
    return f"{value:,}"


def count_noun(count: int, noun: str, plural: str | None = None) -> str:
    """Return ``count`` and ``noun`` in agreement: ``1 battle``, ``2 battles``.

    ``plural`` is the plural form when adding ``s`` does not make it
    (``entity``, ``entities``). Counts get thousands separators.
    """
    word = noun if count == 1 else (plural or f"{noun}s")
    return f"{count:,} {word}"


def time_format(times: Iterable[dt.datetime]) -> str:
    """Return a strftime format for a column of ``times``.

    Month, day and time fit narrow columns. The year is added when the times
    span more than one year, so that rows of two years cannot be mistaken.
    """
    years = {time.year for time in times}
    return "%Y-%m-%d %H:%M" if len(years) > 1 else "%m-%d %H:%M"


def fold_parts(parts: Sequence[tuple[str, str]], width: int, indent: int = 0) -> str:
    """Join ``(separator, text)`` parts into lines of at most ``width`` cells.

    Lines break only between parts, and a part that starts a line drops its
    separator. Lines after the first start with ``indent`` spaces, and the
    first leaves the same room for a label that the caller puts before it.
    A part wider than the room is left whole for the widget to wrap at its
    spaces. With an indent it breaks at its spaces here instead, so that
    its continuation is indented too.
    """
    room = width - indent
    lines: list[str] = []
    for separator, text in _split_wide(parts, room) if indent else parts:
        if lines and cell_len(lines[-1] + separator + text) <= room:
            lines[-1] += separator + text
        else:
            lines.append(text)
    return ("\n" + " " * indent).join(lines)


def _split_wide(
    parts: Iterable[tuple[str, str]], room: int
) -> Iterator[tuple[str, str]]:
    """Yield ``parts`` with each one wider than ``room`` split into words."""
    for separator, text in parts:
        if cell_len(text) <= room:
            yield separator, text
            continue
        first, *rest = text.split(" ")
        yield separator, first
        for word in rest:
            yield " ", word
