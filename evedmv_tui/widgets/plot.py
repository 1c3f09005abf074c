"""A plotext line plot that owns its figure and keeps bounded sample histories.

Each :class:`SeriesPlot` has its own plotext figure (from textual-plotext),
never the module-level ``plotext`` state, so two plots on one screen do not
draw into each other. The figure is sized from the widget on every render,
so the plot follows terminal resizes. Samples live in one bounded deque per
series; adding a sample redraws the figure from the deques.

The plot has no frame and no label row: the title line names the units, so
a plot six rows high still draws four rows of data.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable

from textual.app import RenderResult
from textual_plotext import PlotextPlot

DEFAULT_MAX_SAMPLES = 300
"""Samples kept per series: ten minutes at one sample every 2 s."""
SERIES_MARKERS = "•x+o*#%="
"""Markers of several series in order, when colours are off (``NO_COLOR``)
or the plot has ``series_markers``.

Otherwise every series is drawn with plotext's default marker in its own
colour, so without colour they would look alike."""
TIME_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
"""Seconds between ticks of a time axis; the smallest giving at most 5 gaps."""


def time_ticks(span: float) -> tuple[list[float], list[str]]:
    """Return tick positions ``-n * step`` and their labels ``n * step``.

    The positions are seconds before the newest sample (0), so the labels
    count seconds ago, falling to 0 at the right edge.
    """
    step = next((s for s in TIME_TICK_STEPS if span / s <= 5), TIME_TICK_STEPS[-1])
    count = int(span // step)
    seconds = [n * step for n in range(count, -1, -1)]
    return [float(-second) for second in seconds], [str(s) for s in seconds]


def value_ticks(
    low: float, high: float, gaps: int = 4
) -> tuple[list[float], list[str]]:
    """Return round tick positions from ``low`` to ``high`` and their labels.

    The step is 1, 2 or 5 times a power of ten, the smallest that gives at
    most ``gaps`` gaps, and every label has the decimals the step needs:
    ``111.50``, ``111.52`` rather than plotext's ``111.5352``. A flat range
    gets one tick at its value with four significant digits.
    """
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        return [], []
    if high == low:
        digits = 0 if low == 0 else max(0, 3 - math.floor(math.log10(abs(low))))
        return [low], [f"{low:,.{digits}f}"]
    rough_step = (high - low) / max(gaps, 1)
    magnitude = 10.0 ** math.floor(math.log10(rough_step))
    step = next(
        m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough_step * 0.999
    )
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    positions = [n * step for n in range(first, last + 1)]
    return positions, [f"{position:,.{decimals}f}" for position in positions]


class SeriesPlot(PlotextPlot):
    """Line plot of one or more named series over a shared x axis.

    Args:
        title: shown above the plot.
        x_label: unit of the x axis, such as ``s``.
        y_label: unit of the y axis, such as ``ms`` or ``MiB``.
        max_samples: samples kept per series; older ones are dropped.
        time_axis: the x values are Unix times, drawn as seconds before the
            newest sample, so the axis ends at 0 on the right.
        y_floor: the y axis reaches down to at least this value, such as 0
            for counts, so that small changes do not look large. None fits
            the axis to the data.
        x_floor: the x axis starts at this value or below, such as 0 for
            time since a start, with round ticks, and spans at least 1 when
            every point has the same x. None fits the axis to the data.
            Ignored on a time axis.
        name_series: name the series even when there is only one, in the
            title, since a legend is drawn only for several.
        series_markers: draw several series with markers of their own
            (:data:`SERIES_MARKERS`) even with colour, in the lines and the
            legend.
    """

    def __init__(
        self,
        title: str,
        *,
        x_label: str = "",
        y_label: str = "",
        max_samples: int = DEFAULT_MAX_SAMPLES,
        time_axis: bool = False,
        y_floor: float | None = None,
        x_floor: float | None = None,
        name_series: bool = False,
        series_markers: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        if max_samples < 2:
            raise ValueError(f"max_samples must be at least 2, got {max_samples}")
        super().__init__(id=id, classes=classes)
        self.plot_title = title
        self.time_axis = time_axis
        self.x_label = x_label or ("seconds ago" if time_axis else "")
        self.y_label = y_label
        self.max_samples = max_samples
        self.y_floor = y_floor
        self.x_floor = x_floor
        self.name_series = name_series
        self.series_markers = series_markers
        self.series: dict[str, collections.deque[tuple[float, float]]] = {}
        self._legend: tuple[int, float, float] | None = None
        """Rows of the legend and the lowest and highest value drawn, or None
        when no legend is drawn."""
        self._y_range: tuple[float, float] | None = None
        """The lowest and highest value drawn, for the y axis ticks."""
        self.time_range: tuple[float, float] | None = None
        """The oldest and newest Unix time a time axis spans, set alike on
        plots that must line up. None fits the axis to this plot's points."""
        self.aligned_plots: tuple[SeriesPlot, ...] = ()
        """Plots whose y tick labels this plot pads its own to, on the left,
        so that their plot areas start at one column. Set alike on each."""
        self._x_range: tuple[float, float] | None = None
        """The x axis limits when ``x_floor`` sets them, for its ticks."""

    def on_mount(self) -> None:
        self.redraw()

    def on_unmount(self) -> None:
        # PlotextPlot subscribes to theme changes with a callback that keeps
        # the widget, so each removed plot and its points would stay in
        # memory until the next theme change.
        self.app.theme_changed_signal.unsubscribe(self)

    def add_sample(self, series: str, x: float, y: float) -> None:
        """Append one point to ``series`` (created on first use) and redraw."""
        self._history(series).append((x, y))
        self.redraw()

    def set_series(self, series: str, points: Iterable[tuple[float, float]]) -> None:
        """Replace the points of ``series``, keeping the newest ``max_samples``."""
        history = self._history(series)
        history.clear()
        history.extend(points)
        self.redraw()

    def clear_series(self) -> None:
        """Forget every series."""
        self.series.clear()
        self.redraw()

    def redraw(self) -> None:
        """Rebuild the figure from the sample histories."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.frame(False)
        newest = max((h[-1][0] for h in self.series.values() if h), default=0.0)
        oldest = min((h[0][0] for h in self.series.values() if h), default=0.0)
        if self.time_axis and self.time_range is not None:
            oldest, newest = self.time_range
        drawn = False
        several = len(self.series) > 1
        self._legend = None
        lows: list[float] = []
        highs: list[float] = []
        markers = several and (self.series_markers or self.app.no_color)
        for index, (name, history) in enumerate(self.series.items()):
            if not history:
                continue
            xs = [x - newest if self.time_axis else x for x, _ in history]
            ys = [y for _, y in history]
            marker = SERIES_MARKERS[index % len(SERIES_MARKERS)] if markers else None
            plt.plot(xs, ys, label=name if several else None, marker=marker)
            lows.append(min(ys))
            highs.append(max(ys))
            drawn = True
        self._y_range = None
        if lows:
            low = min(lows)
            if self.y_floor is not None:
                low = min(low, self.y_floor)
            self._y_range = (low, max(highs))
        # Only several series are labelled, so one series has no legend.
        if several and self._y_range is not None:
            self._legend = (len(lows), *self._y_range)
        if drawn and self.time_axis:
            plt.xticks(*time_ticks(newest - oldest))
            if self.time_range is not None and newest > oldest:
                # plotext fits the axis to the points unless xlim sets it,
                # and it divides by the width of the limits.
                plt.xlim(oldest - newest, 0.0)
        self._x_range = None
        if drawn and not self.time_axis and self.x_floor is not None:
            low = min(oldest, self.x_floor)
            # plotext centres a single x value in -1..1 around it.
            self._x_range = (low, max(newest, low + 1))
        drawn_names = [name for name, history in self.series.items() if history]
        single = drawn_names[0] if self.name_series and len(drawn_names) == 1 else None
        plt.title(self.describe_title(drawn, series=single))
        self.refresh()

    def render(self) -> RenderResult:
        top = self._reserve_legend_rows()
        if self._x_range is not None:
            left, right = self._x_range
            self.plt.xlim(left, right)
            # About one tick per 12 columns, so the labels never crowd.
            gaps = min(5, max(1, self.size.width // 12))
            self.plt.xticks(*value_ticks(left, right, gaps))
        if self._y_range is not None:
            low, high = self._y_range
            high = high if top is None else top
            if self.y_floor is not None and top is None and high > low:
                # plotext fits the axis to the data unless ylim sets its limits.
                self.plt.ylim(low, high)
            positions, labels = self._y_ticks(top)
            width = max(
                (
                    len(label)
                    for plot in self.aligned_plots
                    for label in plot.y_tick_labels()
                ),
                default=0,
            )
            self.plt.yticks(positions, [label.rjust(width) for label in labels])
        return super().render()

    def y_tick_labels(self) -> list[str]:
        """Return the y tick labels the plot draws at its size, unpadded."""
        return self._y_ticks(self._legend_top())[1]

    def _y_ticks(self, top: float | None) -> tuple[list[float], list[str]]:
        if self._y_range is None:
            return [], []
        low, high = self._y_range
        # At least two rows per gap, so the labels never crowd.
        gaps = min(4, max(1, (self.size.height - 2) // 2))
        return value_ticks(low, high if top is None else top, gaps)

    def _reserve_legend_rows(self) -> float | None:
        """Raise the top of the y axis so the data stays below the legend.

        plotext draws the legend of several series over the top left rows
        of the plot, one row per series, where it would hide the highest
        of the first values. The plot draws ``height - 2`` rows of
        data, under the title line and above the tick labels. Returns the
        raised top, or None when the axis was left to fit the data.
        """
        top = self._legend_top()
        if top is not None and self._legend is not None:
            self.plt.ylim(self._legend[1], top)
        return top

    def _legend_top(self) -> float | None:
        """Return the top of the y axis that leaves room for the legend."""
        if self._legend is None:
            return None
        legend_rows, low, high = self._legend
        rows = self.size.height - 2
        free = rows - legend_rows
        if free < 2 or high <= low:
            return None
        return low + (high - low) * rows / free

    def describe_title(self, drawn: bool = True, series: str | None = None) -> str:
        """Return the title line: the title, a lone series' name, the units."""
        parts = [self.plot_title if drawn else f"{self.plot_title} (no data yet)"]
        if series is not None:
            parts.append(series)
        if self.y_label:
            parts.append(f"y: {self.y_label}")
        if self.x_label:
            parts.append(f"x: {self.x_label}")
        return " · ".join(parts)

    def _history(self, series: str) -> collections.deque[tuple[float, float]]:
        history = self.series.get(series)
        if history is None:
            history = self.series[series] = collections.deque(maxlen=self.max_samples)
        return history
