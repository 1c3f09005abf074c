"""The activity heatmap (ISO day of week by UTC hour) and the timezone it suggests."""

from __future__ import annotations

import dataclasses

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PEAK_HOURS = 4
"""Width of the busiest window of hours that decides the suggested timezone."""
SHADE_LEVELS = 10
"""Shades of a heatmap cell: 0 for no activity, up to 9 for the busiest cell."""

# Prime time of the three playing populations of EVE, as the hour of UTC
# where a four-hour peak window starts. A window starting at 14-21 reads as
# EU evening, 22-05 as US evening, 06-13 as Australia and East Asia.
_TIMEZONES = (
    (range(14, 22), "EUTZ"),
    (range(6, 14), "AUTZ"),
)


def shade_level(count: int, peak: int) -> int:
    """Return the shade (0 to 9) of a cell with ``count`` events.

    ``peak`` is the busiest cell's count. The shade is the count's share of
    it, rounded to ninths, but any non-zero count gets at least shade 1, so
    a quiet hour stays visible next to a busy one.
    """
    if count <= 0 or peak <= 0:
        return 0
    level = min(SHADE_LEVELS - 1, round(count / peak * (SHADE_LEVELS - 1)))
    return max(level, 1)


@dataclasses.dataclass(frozen=True, slots=True)
class HeatmapCell:
    """Kills and losses in one hour of one weekday (``dow`` 1 = Monday)."""

    dow: int
    hour: int
    kills: int
    losses: int


@dataclasses.dataclass(frozen=True, slots=True)
class Timezone:
    """The busiest :data:`PEAK_HOURS` UTC hours and the timezone they suggest."""

    label: str
    start_hour: int
    share: float
    """Fraction of all kills and losses that fall in the window."""

    @property
    def window(self) -> str:
        end = (self.start_hour + PEAK_HOURS) % 24
        return f"{self.start_hour:02d}:00-{end:02d}:00 UTC"


@dataclasses.dataclass(frozen=True, slots=True)
class Heatmap:
    """Kills and losses by weekday and hour; cells with no activity are absent."""

    cells: tuple[HeatmapCell, ...]

    def grid(self, *, kills: bool = True, losses: bool = True) -> list[list[int]]:
        """Return counts as 7 rows (Monday first) of 24 hours."""
        rows = [[0] * 24 for _ in range(7)]
        for cell in self.cells:
            rows[cell.dow - 1][cell.hour] += (cell.kills if kills else 0) + (
                cell.losses if losses else 0
            )
        return rows

    def by_hour(self) -> list[int]:
        """Return kills plus losses for each UTC hour, all weekdays together."""
        hours = [0] * 24
        for cell in self.cells:
            hours[cell.hour] += cell.kills + cell.losses
        return hours

    def timezone(self) -> Timezone | None:
        """Suggest a timezone from the busiest window of hours, or None if empty."""
        hours = self.by_hour()
        total = sum(hours)
        if total == 0:
            return None
        best_start, best = 0, -1
        for start in range(24):
            events = sum(hours[(start + i) % 24] for i in range(PEAK_HOURS))
            if events > best:
                best_start, best = start, events
        label = next(
            (name for window, name in _TIMEZONES if best_start in window), "USTZ"
        )
        return Timezone(label, best_start, best / total)
