"""The summary figures of an entity page as label and value pairs.

The dashboard's summary panel and ``evedmv intel`` both lay out these rows,
so the two show the same figures under the same labels.
"""

from __future__ import annotations

from evedmv_tui.intel.pages import EntityPage
from evedmv_tui.widgets.text import format_count, format_isk


def format_percent(value: float | None) -> str:
    """Format a ratio as a percentage with one decimal, or ``-`` when unknown."""
    return "-" if value is None else f"{value * 100:.1f}%"


def _isk_text(value: float, count: int, without_value: int) -> str:
    """Format the ISK of ``count`` killmails, ``without_value`` of them unvalued.

    The sum leaves those out, so it ends in ``+``, or is ``?`` when none of
    the killmails has a value.
    """
    if without_value and without_value >= count:
        return "?"
    return format_isk(value) + ("+" if without_value else "")


def summary_rows(page: EntityPage) -> list[tuple[str, str, str, str]]:
    """Return the summary as (label, value, label, value) rows."""
    s = page.summary
    gang = "-" if s.average_gang_size is None else f"{s.average_gang_size:.1f}"
    return [
        ("Kills", format_count(s.kills), "Losses", format_count(s.losses)),
        (
            "ISK destroyed",
            _isk_text(s.isk_destroyed, s.kills, s.kills_without_value),
            "ISK lost",
            _isk_text(s.isk_lost, s.losses, s.losses_without_value),
        ),
        (
            "ISK efficiency",
            format_percent(s.isk_efficiency),
            "Danger",
            format_percent(s.danger_ratio),
        ),
        ("Solo", format_percent(s.solo_ratio), "Gang", format_percent(s.gang_ratio)),
        ("Avg gang size", gang, "Solo kills", format_count(s.solo_kills)),
    ]
