"""Regression detection: baselines learned from samples, alerts and their suppression.

Three layers, each usable on its own:

* :class:`RegressionDetector` is pure logic. It learns a robust baseline per
  sample key (median and MAD over the first samples, then an exponentially
  weighted mean and variance with outliers clipped) and reports
  :class:`Change` records when a key enters, worsens in or leaves a
  regression. Keys whose rule asks for it are also checked for steady growth,
  a leak trend, with a Theil–Sen slope and Kendall's tau over a window.
* :class:`AlertBook` is pure logic too. It turns changes into
  :class:`Alert` records and decides which ones to raise: a cooldown per key,
  deduplication, damping of flapping keys, a cap per minute and
  acknowledgements.
* :class:`AlertService` connects both to the SQLite
  :class:`~evedmv_tui.store.baselines.BaselineStore` and to listeners in the
  dashboard.

Time always comes from :attr:`Sample.at`, so recorded samples replay exactly.
``docs/regressions.md`` documents the rules and the severity levels.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import enum
import fnmatch
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

from evedmv_tui.monitor.samples import Sample
from evedmv_tui.store.baselines import (
    AlertEvent,
    AlertWrite,
    Baseline,
    BaselineStore,
    RecordedSample,
    SaveBatch,
    StoredAlert,
    StoreStatus,
    open_store,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
TREND_SUFFIX = ":trend"
"""Appended to a sample key to name the alert of its growth trend."""
PROCESS_KEYS: tuple[str, ...] = ("memory:*", "monitor:*", "operation:*", "cache:*")
"""Patterns of keys that measure the dashboard process itself (its RSS, its
own queries and caches), which differ between two dashboards on one file.
Keys of the database, such as ``statement:*``, are the same for both."""
STALE_AFTER = 900.0
"""Seconds without a sample of its key after which an open alert is stale.

A statement's samples come only from polls in which it ran, so the alert of
a statement that stopped running (a one-off bulk import, say) gets no
samples that could clear it. A stale alert no longer counts in the exit
status of ``evedmv regressions``, and the dashboard clears it as expired."""


class Severity(enum.IntEnum):
    """How bad a regression is; the value is the number of tiers it reached."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def clamp(cls, tier: int) -> Severity:
        return cls(min(max(tier, cls.LOW), cls.CRITICAL))


Direction = Literal["up", "down", "both"]
Measure = Literal["ratio", "difference"]


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """How the sample keys that match ``pattern`` are judged."""

    pattern: str
    """An :mod:`fnmatch` pattern on the whole key, such as ``*_ms``."""
    direction: Direction
    """Which way is worse: ``up`` (slower, bigger), ``down`` (fewer cache hits)
    or ``both``."""
    measure: Measure
    """``ratio``: value over baseline (or its inverse for ``down``);
    ``difference``: the absolute change, in the key's unit."""
    tiers: tuple[float, float, float, float]
    """Deviation sizes for low, medium, high and critical."""
    min_delta: float
    """Smallest absolute change that counts, in the key's unit."""
    sigma_floor: float
    """Smallest standard deviation assumed, in the key's unit."""
    trend: bool = False
    """Also check for steady growth (a leak)."""
    baselined: bool = True
    """False for keys that are derived figures, such as another trend estimate."""
    ratio_floor: float = 0.0
    """Smallest baseline a rise is measured against, in the key's unit."""
    trend_min_delta: float | None = None
    """Smallest growth over the trend window that counts as a leak, in the
    key's unit; None uses ``min_delta``."""
    min_value: float = 0.0
    """Smallest value that can deviate, in the key's unit. A lower value never
    counts as deviating, and in an open regression it counts as recovered.
    Only rules whose worse direction is ``up`` set it."""


RULES: tuple[Rule, ...] = (
    # Figures about the monitor itself or derived from other keys: the poll
    # cost follows the machine's load, and memory growth is judged from
    # ``memory:rss_bytes`` by the trend check.
    Rule("monitor:*", "up", "ratio", (2.0, 4.0, 8.0, 16.0), 0, 0, False, False),
    Rule(
        "*trend_bytes_per_min", "up", "ratio", (2.0, 4.0, 8.0, 16.0), 0, 0, False, False
    ),
    # The monitor's own caches (``monitor.query_texts``, ``monitor.fingerprints``)
    # miss whenever new statements appear, as after a server restart or a
    # statistics reset, and the operator cannot act on that. The caches of the
    # dashboard's data, such as entity names, are still judged.
    Rule(
        "cache:monitor.*",
        "down",
        "difference",
        (1.0, 1.0, 1.0, 1.0),
        0,
        0,
        False,
        False,
    ),
    # The dashboard's own operations (a screen's queries, the connection
    # heartbeat) take a few milliseconds. On a loaded machine, scheduling and
    # garbage collection move their p95 by tens of milliseconds: an idle
    # heartbeat of 0.4 ms was measured at 12 ms. A user notices no delay
    # under 100 ms, so an operation's latency deviates only from 100 ms on,
    # and only when it is also 50 ms above its baseline.
    Rule(
        "operation:*_ms",
        "up",
        "ratio",
        (1.5, 2.0, 4.0, 10.0),
        50.0,
        0.05,
        min_value=100.0,
    ),
    # Changes under 5 ms are scheduling noise on a busy machine (a 0.3 ms
    # statement measured at 2 ms), not something an operator should chase.
    Rule("*_ms", "up", "ratio", (1.5, 2.0, 4.0, 10.0), 5.0, 0.05),
    Rule("*per_s", "up", "ratio", (3.0, 5.0, 10.0, 30.0), 1.0, 0.1),
    Rule("*hit_ratio", "down", "difference", (0.03, 0.08, 0.15, 0.30), 0.01, 0.005),
    # The dashboard's own memory grows by tens of MiB as screens open and
    # caches fill, after a baseline learned in its first minute. So only a
    # rise of 256 MiB counts, and the trend check finds a leak sooner. Screens
    # opened for the first time after the trend's warm-up still add tens of
    # MiB once: 68 to 89 MiB in one observed start, 40 MiB in the measurement
    # behind LEAK_WARMUP_SECONDS. So a trend needs 64 MiB of growth across
    # its window. Slower leaks are left to the leak rule of
    # :mod:`evedmv_tui.monitor.memory` (1 MiB a minute).
    Rule(
        "memory:rss_bytes",
        "up",
        "ratio",
        (1.5, 2.0, 3.0, 4.0),
        256 * MIB,
        MIB,
        True,
        trend_min_delta=64 * MIB,
    ),
    Rule("*bytes", "up", "ratio", (1.25, 1.5, 2.0, 4.0), 16 * MIB, 1 * MIB, True),
    # More transactions mostly means more users; only a collapse counts.
    Rule("*tps", "down", "ratio", (4.0, 8.0, 16.0, 32.0), 5.0, 0.5),
    # A count's rise is measured against a baseline of at least 2, so 0 -> 3
    # other clients is a low deviation (3 / 2), not a critical one (3 / 0.5).
    Rule("*count", "up", "ratio", (1.5, 2.0, 3.0, 5.0), 2.0, 0.5, ratio_floor=2.0),
    Rule("*", "up", "ratio", (1.5, 2.0, 4.0, 10.0), 0.0, 1e-9),
)
"""Rules in order; the first whose pattern matches a key applies."""


def rule_for(key: str, rules: Sequence[Rule] = RULES) -> Rule:
    """Return the first rule whose pattern matches ``key``."""
    for rule in rules:
        if fnmatch.fnmatchcase(key, rule.pattern):
            return rule
    return RULES[-1]


def measures_the_process(key: str) -> bool:
    """Return True when ``key`` (or its trend) measures the dashboard process."""
    source = key.removesuffix(TREND_SUFFIX)
    return any(fnmatch.fnmatchcase(source, pattern) for pattern in PROCESS_KEYS)


def lower_is_worse(key: str) -> bool:
    """Return True when a lower value of ``key`` is worse, as for a hit ratio."""
    return not key.endswith(TREND_SUFFIX) and rule_for(key).direction == "down"


def worst(key: str, first: float, second: float) -> float:
    """Return the worse of two values of ``key``: the lower where down is worse.

    An alert's peak is its worst value so far, so a falling hit ratio's peak
    is its lowest reading.
    """
    if lower_is_worse(key):
        return min(first, second)
    return max(first, second)


@dataclasses.dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Thresholds of the detector; the defaults suit 2-second polls."""

    min_samples: int = 20
    """Trusted samples a key learns before it can alert."""
    alpha: float = 0.05
    """Weight of a new sample in the exponentially weighted mean and variance."""
    z_open: float = 3.0
    """Standard deviations a sample must be off, in the worse direction."""
    z_clear: float = 2.0
    """A sample closer than this to the baseline counts as recovered."""
    clip_sigmas: float = 3.0
    """Learned values are clipped to this many standard deviations."""
    relative_sigma_floor: float = 0.05
    """Smallest standard deviation assumed, as a fraction of the mean, for
    rules that measure a ratio."""
    confirm_window: int = 4
    confirm_polls: int = 3
    """A regression opens when this many of the last ``confirm_window`` polls
    deviate."""
    clear_polls: int = 3
    """Consecutive recovered polls that clear a regression."""
    persistence_steps: tuple[float, ...] = (300.0, 1800.0)
    """Seconds in regression after which severity rises one more tier each."""
    trend_window: int = 30
    trend_min_samples: int = 20
    trend_spacing: float = 30.0
    """Seconds between the points of a trend window: a sample closer to the
    last point than this is skipped, so the window covers 15 minutes and
    the growth of the first minute after a start never fills it."""
    trend_warmup: float = 600.0
    """Seconds after a key's first sample in which the trend check keeps no
    points. A dashboard's RSS climbs while screens open for the first time
    (see :data:`~evedmv_tui.monitor.memory.LEAK_WARMUP_SECONDS`), so the
    first window starts after it and is judged about 20 minutes after a
    start."""
    trend_tau: float = 0.7
    """Kendall's tau above which the window counts as steadily growing."""
    trend_min_growth: float = 0.05
    """Growth over the window, as a fraction of its median, that counts."""
    trend_tiers: tuple[float, float, float, float] = (0.1, 0.25, 0.5, 1.0)
    """Growth per hour, as a fraction of the current level, for each severity."""
    rows_factor: float = 10.0
    """Factor, either way, between a sample's rows per call and its baseline's
    at which the sample is neither compared nor learned (rows per call under 1
    count as 1). A call that handles 2,000 rows is not a slow one-row call."""
    rows_relearn_seconds: float = 3600.0
    """Seconds over which every sample of a statement must differ from its
    baseline's rows per call by ``rows_factor`` before the baseline starts
    learning anew at the new rows per call (with at least ``min_samples`` of
    them). Shorter runs, such as an import's batch calls, are only skipped."""
    rules: tuple[Rule, ...] = RULES


_DEFAULTS = DetectorConfig()

ChangeKind = Literal["opened", "escalated", "updated", "cleared"]


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """A step in the life of one regression, as the detector sees it."""

    kind: ChangeKind
    key: str
    """The alert key: the sample key, plus ``:trend`` for a growth trend."""
    alert_kind: Literal["level", "trend"]
    label: str
    severity: Severity
    at: float
    opened_at: float
    baseline: float
    value: float
    peak: float
    size: float
    detail: str = ""


def reference(rule: Rule, baseline: Baseline) -> float:
    """Return the level a value of ``baseline``'s key is judged against.

    That is the learned mean, or the level last accepted as normal where it
    is worse than the mean (higher, or lower for a rule where down is worse).
    After ``evedmv baseline accept`` the mean falls back as the key returns
    to its usual values, but values up to the accepted level stay normal.
    """
    accepted = baseline.accepted
    if accepted is None or rule.direction == "both":
        return baseline.mean
    if rule.direction == "up":
        return max(baseline.mean, accepted)
    return min(baseline.mean, accepted)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def median_absolute_deviation(values: Sequence[float]) -> float:
    center = median(values)
    return median([abs(v - center) for v in values])


def theil_sen_slope(points: Sequence[tuple[float, float]]) -> float:
    """Return the median of the pairwise slopes, in value units per second."""
    slopes = [
        (y2 - y1) / (x2 - x1)
        for i, (x1, y1) in enumerate(points)
        for x2, y2 in points[i + 1 :]
        if x2 != x1
    ]
    return median(slopes) if slopes else 0.0


def kendall_tau(values: Sequence[float]) -> float:
    """Return Kendall's tau of ``values`` against their order (1 is monotone up)."""
    concordant = discordant = 0
    for i, first in enumerate(values):
        for second in values[i + 1 :]:
            if second > first:
                concordant += 1
            elif second < first:
                discordant += 1
    pairs = len(values) * (len(values) - 1) // 2
    return (concordant - discordant) / pairs if pairs else 0.0


def format_value(key: str, value: float) -> str:
    """Format ``value`` in the unit of ``key``'s metric name."""
    metric = key.removesuffix(TREND_SUFFIX).rsplit(":", 1)[-1]
    if metric.endswith("bytes"):
        return f"{value / MIB:.1f} MiB"
    if metric.endswith("_ms"):
        return f"{value:.3g} ms" if value < 100 else f"{value:.0f} ms"
    if metric.endswith("ratio"):
        return f"{value * 100:.1f} %"
    if metric.endswith(("per_s", "tps")):
        return f"{value:.3g}/s"
    return f"{value:.4g}"


@dataclasses.dataclass(slots=True)
class _Open:
    opened_at: float
    severity: Severity
    peak: float
    size: float


@dataclasses.dataclass(slots=True)
class _Level:
    rule: Rule
    baseline: Baseline
    recent: collections.deque[float | None]
    """Deviation size of each recent poll, or None where it did not deviate."""
    recovered: int = 0
    open: _Open | None = None
    off_rows_since: float | None = None
    """Time of the first of the latest run of samples skipped for their rows
    per call, or None when the last sample was within the factor."""
    off_rows: int = 0
    """Samples in that run."""


@dataclasses.dataclass(slots=True)
class _Trend:
    points: collections.deque[tuple[float, float]]
    run: int = 0
    recovered: int = 0
    open: _Open | None = None
    start_value: float = 0.0
    first_at: float | None = None
    """Time of the key's first sample, from which the warm-up counts."""


def _usable(sample: Sample) -> bool:
    if not sample.trusted or not math.isfinite(sample.value):
        return False
    # Counters that went backwards without the interval being marked as
    # untrusted give negative rates and means; no measured key is negative.
    return sample.value >= 0


class RegressionDetector:
    """Learn baselines from samples and report regressions as :class:`Change`.

    Untrusted samples (counters reset or wrapped), non-finite values and
    negative values are skipped: they neither update a baseline nor count
    towards opening or clearing a regression. A key learns nothing while it
    is in regression or while a deviation is waiting for confirmation, so a
    regression is never learned as normal. ``evedmv baseline accept`` makes a
    new level the normal one, and values up to it stay normal after the mean
    has fallen back (see :func:`reference`).

    A statement's mean time is skipped the same way in an interval whose rows
    per call differ from its baseline's by :attr:`DetectorConfig.rows_factor`
    or more, once the baseline has left its warmup: a call that imports 2,000
    killmails is not a slow call that imports one. Skipping, rather than
    judging time per row, keeps statements whose time does not follow their
    rows (a scan that returns one row, a ``LIMIT``) judged as before.

    When every sample of a statement for :attr:`DetectorConfig.rows_relearn_seconds`
    was skipped that way, its workload changed for good: the baseline learns
    anew from the next sample, as after ``evedmv baseline reset KEY``, and
    :attr:`relearned_rows` counts it. An open regression keeps its baseline.
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._levels: dict[str, _Level] = {}
        self._trends: dict[str, _Trend] = {}
        self._dirty: set[str] = set()
        self.skipped = 0
        """Samples skipped as untrusted, non-finite or negative."""
        self.skipped_rows = 0
        """Samples skipped because their rows per call differ from the
        baseline's by :attr:`DetectorConfig.rows_factor` or more."""
        self.relearned_rows = 0
        """Baselines restarted after a lasting change of rows per call."""

    # State -------------------------------------------------------------------

    def load(self, baselines: Iterable[Baseline]) -> None:
        """Start from stored baselines; a stored regression stays open.

        Baselines of keys that are no longer baselined (stored by an older
        version) are left out, so their open alerts are cleared on load.
        """
        for baseline in baselines:
            state = self._new_level(baseline.key, baseline)
            if not state.rule.baselined:
                continue
            if baseline.regressed:
                # The alert row contains the details; the open marker stops learning
                # until the key recovers or is accepted.
                state.open = _Open(baseline.updated_at, Severity.LOW, 0.0, 0.0)
            self._levels[baseline.key] = state

    def restore_open(self, alert: Alert, baseline: Baseline | None = None) -> bool:
        """Carry a stored open alert into the detector so it can clear later.

        ``baseline``, the stored baseline a level alert opened against,
        replaces the key's own, so its samples are judged as the alert was.
        Return False when the detector cannot follow the alert: a level alert
        whose key has no learned baseline.
        """
        if alert.kind == "trend":
            key = alert.key.removesuffix(TREND_SUFFIX)
            trend = self._trends.get(key)
            if trend is None:
                trend = self._trends[key] = _Trend(
                    collections.deque(maxlen=self.config.trend_window)
                )
            trend.open = _Open(alert.opened_at, alert.severity, alert.peak, alert.size)
            trend.start_value = alert.baseline
            return True
        if baseline is not None:
            adopted = self._levels.get(alert.key) or self._new_level(alert.key)
            adopted.baseline = baseline
            adopted.recent.clear()
            adopted.recovered = 0
            self._levels[alert.key] = adopted
        state = self._levels.get(alert.key)
        if state is None or state.baseline.count < self.config.min_samples:
            return False
        size = state.open.size if state.open is not None else alert.size
        state.open = _Open(alert.opened_at, alert.severity, alert.peak, size)
        state.baseline = dataclasses.replace(state.baseline, regressed=True)
        return True

    def adopt(self, baseline: Baseline) -> None:
        """Replace the state of a key by a baseline that a reset or accept wrote."""
        self._levels[baseline.key] = self._new_level(baseline.key, baseline)
        self._trends.pop(baseline.key, None)
        self._dirty.discard(baseline.key)

    def expire(self, key: str) -> None:
        """Forget the open regression of the alert ``key``, without a change.

        For an alert that went stale or was cleared by another process: the
        key learns again, and a later regression opens a new alert.
        """
        if key.endswith(TREND_SUFFIX):
            trend = self._trends.get(key.removesuffix(TREND_SUFFIX))
            if trend is not None:
                trend.open = None
                trend.run = 0
                trend.recovered = 0
            return
        state = self._levels.get(key)
        if state is None or state.open is None:
            return
        state.open = None
        state.recent.clear()
        state.recovered = 0
        state.baseline = dataclasses.replace(state.baseline, regressed=False)
        self._dirty.add(key)

    def drop_trend(self, key: str) -> None:
        """Forget the growth window of ``key`` (after its trend alert was accepted)."""
        self._trends.pop(key, None)

    def baseline(self, key: str) -> Baseline | None:
        state = self._levels.get(key)
        return state.baseline if state is not None else None

    def baselines(self) -> list[Baseline]:
        return [state.baseline for state in self._levels.values()]

    def take_dirty(self) -> list[Baseline]:
        """Return the baselines changed since the last call."""
        dirty = [self._levels[key].baseline for key in sorted(self._dirty)]
        self._dirty.clear()
        return dirty

    def _new_level(self, key: str, baseline: Baseline | None = None) -> _Level:
        return _Level(
            rule_for(key, self.config.rules),
            baseline or Baseline(key),
            collections.deque(maxlen=self.config.confirm_window),
        )

    # Observation -------------------------------------------------------------

    def observe(self, samples: Iterable[Sample]) -> list[Change]:
        """Take one poll's samples; return the changes they cause."""
        changes: list[Change] = []
        for sample in samples:
            if not _usable(sample):
                self.skipped += 1
                continue
            state = self._levels.get(sample.key)
            if state is None:
                state = self._new_level(sample.key)
                if not state.rule.baselined:
                    continue
                self._levels[sample.key] = state
            change = self._observe_level(state, sample)
            if change is not None:
                changes.append(change)
            if state.rule.trend:
                change = self._observe_trend(state.rule, sample)
                if change is not None:
                    changes.append(change)
        return changes

    def _sigma(self, rule: Rule, baseline: Baseline) -> float:
        sigma = max(math.sqrt(max(baseline.variance, 0.0)), rule.sigma_floor)
        if rule.measure == "ratio":
            sigma = max(sigma, self.config.relative_sigma_floor * abs(baseline.mean))
        return sigma

    def _measure(
        self, rule: Rule, baseline: Baseline, value: float
    ) -> tuple[float, float]:
        """Return the deviation size and z-score of ``value`` in the worse direction.

        Both are measured from :func:`reference`: the mean, or an accepted level
        where that is worse. The standard deviation stays the learned one, with the
        relative floor taken of the reference.
        """
        mean = reference(rule, baseline)
        sigma = self._sigma(rule, baseline)
        if rule.measure == "ratio":
            sigma = max(sigma, self.config.relative_sigma_floor * abs(mean))
        z_up = (value - mean) / sigma
        if rule.measure == "difference":
            up_size, down_size = value - mean, mean - value
        else:
            up_size = value / max(mean, rule.sigma_floor, rule.ratio_floor)
            down_size = mean / max(value, rule.sigma_floor)
        if rule.direction == "up":
            return up_size, z_up
        if rule.direction == "down":
            return down_size, -z_up
        if value >= mean:
            return up_size, z_up
        return down_size, -z_up

    def _tier(self, tiers: Sequence[float], size: float) -> int:
        return sum(1 for threshold in tiers if size >= threshold)

    def _learn_rows(self, baseline: Baseline, sample: Sample) -> float | None:
        """Return the baseline's rows per call after learning ``sample``'s.

        A geometric mean, so that a few batch calls during the warmup move it
        by a factor rather than by their rows. Of 19 samples at 1 row per call
        and one at 2,000 it makes 1.5, where an arithmetic mean makes 101.
        Over the warmup every sample weighs the same, then ``alpha``.
        """
        rows = sample.rows_per_call
        typical = baseline.rows_per_call
        if rows is None:
            return typical
        if rows < 1.0:
            rows = 1.0
        if typical is None:
            return rows
        config = self.config
        if baseline.count < config.min_samples:
            weight = 1 / (baseline.count + 1)
        else:
            weight = config.alpha
        growth: float = (rows / typical) ** weight
        return typical * growth

    def _learn(self, state: _Level, sample: Sample) -> Baseline:
        baseline = state.baseline
        value = sample.value
        config = self.config
        if baseline.count < config.min_samples:
            warmup = (*baseline.warmup, value)
            spread = 1.4826 * median_absolute_deviation(warmup)
            done = len(warmup) >= config.min_samples
            return Baseline(
                baseline.key,
                sample.label or baseline.label,
                len(warmup),
                median(warmup),
                spread * spread,
                () if done else warmup,
                value,
                sample.at,
                baseline.regressed,
                baseline.epoch,
                self._learn_rows(baseline, sample),
                baseline.accepted,
            )
        sigma = self._sigma(state.rule, baseline)
        limit = config.clip_sigmas * sigma
        clipped = min(max(value, baseline.mean - limit), baseline.mean + limit)
        difference = clipped - baseline.mean
        increment = config.alpha * difference
        # Built directly: dataclasses.replace is several times slower, and
        # this runs for every sample of every key.
        return Baseline(
            baseline.key,
            sample.label or baseline.label,
            baseline.count + 1,
            baseline.mean + increment,
            (1 - config.alpha) * (baseline.variance + difference * increment),
            baseline.warmup,
            value,
            sample.at,
            baseline.regressed,
            baseline.epoch,
            self._learn_rows(baseline, sample),
            baseline.accepted,
        )

    def _relearn_rows(self, state: _Level, sample: Sample) -> bool:
        """Count a sample skipped for its rows per call; restart the baseline
        and return True when such samples have lasted long enough."""
        if state.off_rows_since is None:
            state.off_rows_since = sample.at
            state.off_rows = 0
        state.off_rows += 1
        config = self.config
        lasting = (
            sample.at - state.off_rows_since >= config.rows_relearn_seconds
            and state.off_rows >= config.min_samples
        )
        if not lasting or state.open is not None:
            return False
        old = state.baseline
        log.info(
            "%s: rows per call moved from %.1f to %.1f for %.0f s; learning anew",
            sample.key,
            old.rows_per_call or 0.0,
            sample.rows_per_call or 0.0,
            sample.at - state.off_rows_since,
        )
        state.baseline = Baseline(old.key, old.label, epoch=old.epoch)
        state.recent.clear()
        state.off_rows_since = None
        self.relearned_rows += 1
        return True

    def _observe_level(self, state: _Level, sample: Sample) -> Change | None:
        config = self.config
        rule = state.rule
        baseline = state.baseline
        rows_per_call = sample.rows_per_call
        typical_rows = baseline.rows_per_call
        if (
            rows_per_call is not None
            and typical_rows is not None
            and baseline.count >= config.min_samples
        ):
            # Inline rather than a method: this runs for every statement of
            # every poll. Rows per call under 1 count as 1, as when learned.
            ratio = (rows_per_call if rows_per_call > 1.0 else 1.0) / typical_rows
            factor = config.rows_factor
            if ratio >= factor or ratio * factor <= 1.0:
                if not self._relearn_rows(state, sample):
                    self.skipped_rows += 1
                    return None
                baseline = state.baseline
            else:
                state.off_rows_since = None
        self._dirty.add(sample.key)
        if baseline.count < config.min_samples and state.open is None:
            state.baseline = self._learn(state, sample)
            return None

        size, z = self._measure(rule, baseline, sample.value)
        deviant = (
            z >= config.z_open
            and size >= rule.tiers[0]
            and abs(sample.value - reference(rule, baseline)) >= rule.min_delta
            and sample.value >= rule.min_value
        )
        state.recent.append(size if deviant else None)
        if state.open is None and not deviant:
            state.baseline = self._learn(state, sample)
            return None

        seen = dataclasses.replace(
            baseline,
            label=sample.label or baseline.label,
            last_value=sample.value,
            updated_at=sample.at,
        )
        if state.open is not None:
            state.baseline = dataclasses.replace(seen, regressed=True)
            return self._follow_level(state, sample, size, z)

        # A deviating sample is not learned, even before it is confirmed.
        state.baseline = seen
        hits = [s for s in state.recent if s is not None]
        if len(hits) < config.confirm_polls:
            return None
        severity = Severity.clamp(self._tier(rule.tiers, median(hits)))
        state.open = _Open(sample.at, severity, sample.value, size)
        state.recovered = 0
        state.baseline = dataclasses.replace(seen, regressed=True)
        return self._level_change("opened", state, sample, size)

    def _follow_level(
        self, state: _Level, sample: Sample, size: float, z: float
    ) -> Change:
        """Update an open level regression; clear it after enough good polls."""
        assert state.open is not None
        rule = state.rule
        if rule.measure == "ratio":
            clear_size = 1 + (rule.tiers[0] - 1) / 2
        else:
            clear_size = rule.tiers[0] / 2
        if (
            size < clear_size
            or z < self.config.z_clear
            or sample.value < rule.min_value
        ):
            state.recovered += 1
        else:
            state.recovered = 0

        if state.recovered >= self.config.clear_polls:
            change = self._level_change("cleared", state, sample, size)
            state.open = None
            state.recent.clear()
            state.recovered = 0
            state.baseline = dataclasses.replace(state.baseline, regressed=False)
            return change
        return self._update_open(
            state.open,
            rule.tiers,
            state.recent,
            sample,
            size,
            lambda kind: self._level_change(kind, state, sample, size),
        )

    def _update_open(
        self,
        current: _Open,
        tiers: Sequence[float],
        recent: Iterable[float | None],
        sample: Sample,
        size: float,
        make: Callable[[ChangeKind], Change],
    ) -> Change:
        hits = [s for s in recent if s is not None]
        tier = self._tier(tiers, median(hits)) if hits else 0
        lasted = sample.at - current.opened_at
        tier += sum(1 for step in self.config.persistence_steps if lasted >= step)
        severity = max(current.severity, Severity.clamp(tier))
        current.peak = worst(sample.key, current.peak, sample.value)
        current.size = size
        escalated = severity > current.severity
        current.severity = severity
        return make("escalated" if escalated else "updated")

    def _level_change(
        self, kind: ChangeKind, state: _Level, sample: Sample, size: float
    ) -> Change:
        assert state.open is not None
        baseline = state.baseline
        level = reference(state.rule, baseline)
        return Change(
            kind,
            sample.key,
            "level",
            sample.label or baseline.label,
            state.open.severity,
            sample.at,
            state.open.opened_at,
            level,
            sample.value,
            worst(sample.key, state.open.peak, sample.value),
            size,
            f"{format_value(sample.key, sample.value)} against"
            f" {format_value(sample.key, level)}",
        )

    def _observe_trend(self, rule: Rule, sample: Sample) -> Change | None:
        config = self.config
        state = self._trends.get(sample.key)
        if state is None:
            state = self._trends[sample.key] = _Trend(
                collections.deque(maxlen=config.trend_window)
            )
        if state.first_at is None:
            state.first_at = sample.at
        if sample.at - state.first_at < config.trend_warmup:
            return None
        if state.points and sample.at - state.points[-1][0] < config.trend_spacing:
            return None
        state.points.append((sample.at, sample.value))
        if len(state.points) < config.trend_min_samples:
            return None
        points = list(state.points)
        values = [value for _, value in points]
        level = max(median(values), rule.sigma_floor)
        # The rate is the lowest slope of the whole window, its recent half
        # and its recent quarter. Memory that grew while the dashboard
        # started or its caches filled, then stayed level, still ranks as
        # rising, but its recent part does not grow.
        slope = min(
            theil_sen_slope(points),
            theil_sen_slope(points[len(points) // 2 :]),
            theil_sen_slope(points[-(len(points) // 4) :]),
        )
        growth = slope * (points[-1][0] - points[0][0])
        per_hour = slope * 3600 / level
        min_growth = rule.min_delta
        if rule.trend_min_delta is not None:
            min_growth = rule.trend_min_delta
        leaking = kendall_tau(values) >= config.trend_tau and growth >= max(
            min_growth, config.trend_min_growth * level
        )
        key = sample.key + TREND_SUFFIX
        detail = f"growing {format_value(sample.key, slope * 3600)} per hour"

        def make(kind: ChangeKind) -> Change:
            assert state.open is not None
            return Change(
                kind,
                key,
                "trend",
                sample.label,
                state.open.severity,
                sample.at,
                state.open.opened_at,
                state.start_value,
                sample.value,
                worst(sample.key, state.open.peak, sample.value),
                per_hour,
                detail,
            )

        if state.open is None:
            state.run = state.run + 1 if leaking else 0
            if state.run < config.confirm_polls:
                return None
            severity = Severity.clamp(self._tier(config.trend_tiers, per_hour))
            state.open = _Open(sample.at, severity, sample.value, per_hour)
            state.start_value = values[0]
            state.recovered = 0
            return make("opened")
        state.recovered = 0 if leaking else state.recovered + 1
        if state.recovered >= config.clear_polls:
            change = make("cleared")
            state.open = None
            state.run = 0
            return change
        recent = [per_hour] if leaking else [None]
        return self._update_open(
            state.open, config.trend_tiers, recent, sample, per_hour, make
        )


# Alerts ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Alert:
    """A regression as ops staff see it: key, baseline, current value, severity."""

    key: str
    label: str
    kind: Literal["level", "trend"]
    severity: Severity
    opened_at: float
    updated_at: float
    baseline: float
    """The key's learned mean, or the first value of the growth window for a
    trend alert."""
    value: float
    """Latest value of the key, or the value that cleared it once the alert cleared."""
    peak: float
    size: float
    detail: str = ""
    """The detector's text for ``value``: ``300 ms against 10 ms``, or
    ``growing 40 MiB per hour`` for a trend alert."""
    cleared_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_severity: Severity | None = None
    acknowledged_size: float | None = None
    suppressed: str = ""
    """Why no notification was sent: ``flapping``, ``rate limit`` or empty."""
    opened_value: float | None = None
    """Value of the key when the alert opened, or None for alerts stored without it."""

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def recovering(self) -> bool:
        """True when the current value reaches no severity threshold any more.

        ``severity`` is the highest the alert reached: it does not fall while
        the key recovers, and the alert clears only after
        :attr:`DetectorConfig.clear_polls` recovered samples. Until then the
        screen and the commands show the severity as the peak.
        """
        if self.kind == "trend":
            return self.size < _DEFAULTS.trend_tiers[0]
        rule = rule_for(self.key)
        return (
            self.size < rule.tiers[0]
            or abs(self.value - self.baseline) < rule.min_delta
            or self.value < rule.min_value
        )

    def stale(self, now: float, after: float = STALE_AFTER) -> bool:
        """True for an open alert whose key had no sample for ``after`` seconds."""
        return self.cleared_at is None and now - self.updated_at >= after

    def write(
        self,
        *,
        reopen: bool = False,
        write_acknowledgement: bool = False,
        update_only: bool = False,
    ) -> AlertWrite:
        """Return the store write of this alert, which keeps its worst peak."""
        return AlertWrite(
            self.stored(),
            reopen=reopen,
            write_acknowledgement=write_acknowledgement,
            lower_is_worse=lower_is_worse(self.key),
            update_only=update_only,
        )

    def stored(self) -> StoredAlert:
        return StoredAlert(
            self.key,
            self.label,
            self.kind,
            int(self.severity),
            self.opened_at,
            self.updated_at,
            self.baseline,
            self.value,
            self.peak,
            self.size,
            self.detail,
            self.cleared_at,
            self.acknowledged_at,
            None
            if self.acknowledged_severity is None
            else int(self.acknowledged_severity),
            self.acknowledged_size,
            self.suppressed,
            self.opened_value,
        )

    @classmethod
    def from_stored(cls, row: StoredAlert) -> Alert:
        kind: Literal["level", "trend"] = "trend" if row.kind == "trend" else "level"
        return cls(
            row.key,
            row.label,
            kind,
            Severity.clamp(row.severity),
            row.opened_at,
            row.updated_at,
            row.baseline,
            row.value,
            row.peak,
            row.size,
            row.detail,
            row.cleared_at,
            row.acknowledged_at,
            None
            if row.acknowledged_severity is None
            else Severity.clamp(row.acknowledged_severity),
            row.acknowledged_size,
            row.suppressed,
            row.opened_value,
        )


def baseline_name(alert: Alert) -> str:
    """Return the name of ``alert.baseline``: ``window start`` for a trend alert."""
    return "window start" if alert.kind == "trend" else "baseline"


def figures(alert: Alert, *, accepted: bool = False) -> str:
    """Return the values of ``alert``, each with its name.

    ``opened at 300 ms, latest 7 ms, baseline 10 ms``: the value that opened
    the alert, the latest value and the baseline. Once the alert cleared,
    ``latest`` becomes ``cleared at``, or ``accepted as normal at`` when
    ``accepted`` says that ``evedmv baseline accept`` cleared it, and the
    baseline is then named ``previous baseline``. An alert stored without
    its opening value leaves that out.
    """
    source = alert.key.removesuffix(TREND_SUFFIX)
    parts = []
    if alert.opened_value is not None:
        parts.append(f"opened at {format_value(source, alert.opened_value)}")
    if alert.cleared_at is None:
        latest = "latest"
    elif accepted:
        latest = "accepted as normal at"
    else:
        latest = "cleared at"
    parts.append(f"{latest} {format_value(source, alert.value)}")
    # The accepted level is the baseline now, so name the one it replaced.
    name = f"{'previous ' if accepted else ''}{baseline_name(alert)}"
    parts.append(f"{name} {format_value(source, alert.baseline)}")
    return ", ".join(parts)


def describe(alert: Alert, now: float, *, accepted: bool = False) -> str:
    """Describe ``alert`` in one line, naming its severity as the peak unless
    the current value still deviates.

    ``critical level: opened at 300 ms, latest 280 ms, baseline 10 ms`` while
    it deviates, ``level peaked at critical; opened at 300 ms, latest
    0.459 ms, baseline 0.614 ms`` once the value is back below the low
    threshold, and ``cleared at`` in place of ``latest`` once it cleared
    (``accepted as normal at`` when ``accepted``, see :func:`figures`). A
    trend alert puts its growth rate first. A stale alert gets
    ``; stale, no samples for 20 min`` at the end.
    """
    measured = figures(alert, accepted=accepted)
    if alert.kind == "trend" and alert.detail:
        measured = f"{alert.detail}, {measured}"
    if alert.cleared_at is not None or alert.recovering:
        text = f"{alert.kind} peaked at {alert.severity.label}; {measured}"
    else:
        text = f"{alert.severity.label} {alert.kind}: {measured}"
    if alert.stale(now):
        minutes = (now - alert.updated_at) / 60
        text += f"; stale, no samples for {minutes:.0f} min"
    return text


def severity_text(alert: Alert) -> str:
    """Return the severity as lists show it: ``was critical`` when recovering."""
    if alert.cleared_at is None and alert.recovering:
        return f"was {alert.severity.label}"
    return alert.severity.label


@dataclasses.dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Suppression settings of :class:`AlertBook`."""

    cooldown: float = 600.0
    """Seconds after a clear during which the same key reopens its old alert,
    quietly unless the new severity is higher."""
    flap_penalty: float = 1.0
    """Penalty added to a key each time its alert clears."""
    flap_half_life: float = 900.0
    """Seconds in which a key's flap penalty halves."""
    flap_suppress: float = 2.0
    """Penalty at which a key counts as flapping and its alerts stay quiet."""
    flap_reuse: float = 0.75
    """Penalty below which a flapping key may raise alerts again."""
    max_per_minute: int = 10
    """Alerts raised in any 60 seconds; more are recorded but not raised."""
    worsen_factor: float = 2.0
    """An acknowledged alert is raised again when its deviation grows by this
    factor, or when its severity rises."""


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one poll's changes did to the alert book."""

    raised: list[Alert]
    """New or worsened alerts that should reach the user."""
    writes: list[AlertWrite]
    events: list[AlertEvent]


class AlertBook:
    """Active alerts of one process and the suppression that applies to them."""

    def __init__(self, policy: AlertPolicy | None = None) -> None:
        self.policy = policy or AlertPolicy()
        self._active: dict[str, Alert] = {}
        self._cleared: dict[str, Alert] = {}
        self._penalty: dict[str, tuple[float, float]] = {}
        self._flapping: set[str] = set()
        self._raised_at: collections.deque[float] = collections.deque()
        self.rate_limited = 0
        """Alerts recorded without being raised because of the cap per minute."""

    def active(self) -> list[Alert]:
        """Return the open alerts, most severe first, then oldest first."""
        return sorted(self._active.values(), key=lambda a: (-a.severity, a.opened_at))

    def get(self, key: str) -> Alert | None:
        return self._active.get(key)

    def restore(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            if alert.active:
                self._active[alert.key] = alert

    def drop(self, key: str) -> bool:
        """Forget the open alert of ``key`` without an event (cleared elsewhere)."""
        return self._active.pop(key, None) is not None

    def adopt(self, alert: Alert) -> None:
        """Hold ``alert``, stored by another process, as the open alert of its key.

        It replaces this book's own alert of the key, and a cooldown of the
        key ends because the key is open again.
        """
        self._active[alert.key] = alert
        self._cleared.pop(alert.key, None)

    def penalty(self, key: str, at: float) -> float:
        """Return the flap penalty of ``key`` at time ``at``, decayed."""
        value, since = self._penalty.get(key, (0.0, at))
        decay: float = 0.5 ** (max(at - since, 0.0) / self.policy.flap_half_life)
        return value * decay

    def is_flapping(self, key: str, at: float) -> bool:
        penalty = self.penalty(key, at)
        if key in self._flapping and penalty < self.policy.flap_reuse:
            self._flapping.discard(key)
        elif penalty >= self.policy.flap_suppress:
            self._flapping.add(key)
        return key in self._flapping

    def set_acknowledgement(
        self, key: str, at: float, severity: Severity, size: float
    ) -> Alert | None:
        alert = self._active.get(key)
        if alert is None:
            return None
        alert = dataclasses.replace(
            alert,
            acknowledged_at=at,
            acknowledged_severity=severity,
            acknowledged_size=size,
        )
        self._active[key] = alert
        return alert

    def acknowledge(self, key: str, at: float) -> Alert | None:
        """Acknowledge the open alert of ``key`` at its current severity and size."""
        alert = self._active.get(key)
        if alert is None:
            return None
        return self.set_acknowledgement(key, at, alert.severity, alert.size)

    def _rate_allows(self, at: float) -> bool:
        while self._raised_at and at - self._raised_at[0] >= 60.0:
            self._raised_at.popleft()
        return len(self._raised_at) < self.policy.max_per_minute

    def _worsened(self, alert: Alert) -> bool:
        if alert.acknowledged_severity is None:
            return True
        if alert.severity > alert.acknowledged_severity:
            return True
        acknowledged = alert.acknowledged_size or 0.0
        return (
            acknowledged > 0 and alert.size >= acknowledged * self.policy.worsen_factor
        )

    def apply(self, changes: Iterable[Change]) -> Outcome:
        """Turn detector changes into alert writes, log events and raised alerts."""
        outcome = Outcome([], [], [])
        for change in changes:
            if change.kind == "cleared":
                self._clear(change, outcome)
            elif change.key in self._active:
                self._update(change, outcome)
            else:
                self._open(change, outcome)
        return outcome

    def _event(
        self, outcome: Outcome, alert: Alert, event: str, note: str = ""
    ) -> None:
        outcome.events.append(
            AlertEvent(
                alert.key,
                alert.updated_at,
                event,
                int(alert.severity),
                alert.value,
                note,
            )
        )

    def _raise(self, outcome: Outcome, alert: Alert) -> Alert:
        """Raise ``alert`` unless the cap per minute is reached; return it as stored."""
        if not self._rate_allows(alert.updated_at):
            self.rate_limited += 1
            alert = dataclasses.replace(alert, suppressed="rate limit")
            self._event(
                outcome,
                alert,
                "rate limited",
                f"more than {self.policy.max_per_minute} alerts in a minute",
            )
            return alert
        self._raised_at.append(alert.updated_at)
        alert = dataclasses.replace(alert, suppressed="")
        outcome.raised.append(alert)
        return alert

    def _open(self, change: Change, outcome: Outcome) -> None:
        previous = self._cleared.get(change.key)
        reopen = (
            previous is not None
            and previous.cleared_at is not None
            and change.at - previous.cleared_at < self.policy.cooldown
        )
        if reopen and previous is not None:
            alert = dataclasses.replace(
                previous,
                severity=max(previous.severity, change.severity),
                updated_at=change.at,
                baseline=change.baseline,
                value=change.value,
                peak=worst(change.key, previous.peak, change.peak),
                size=change.size,
                detail=change.detail,
                cleared_at=None,
            )
            self._event(outcome, alert, "reopened", "within the cooldown")
            loud = change.severity > previous.severity and self._worsened(alert)
        else:
            alert = Alert(
                change.key,
                change.label,
                change.alert_kind,
                change.severity,
                change.opened_at,
                change.at,
                change.baseline,
                change.value,
                change.peak,
                change.size,
                change.detail,
                opened_value=change.value,
            )
            self._event(outcome, alert, "opened", alert.detail)
            loud = True
        if self.is_flapping(change.key, change.at):
            alert = dataclasses.replace(alert, suppressed="flapping")
            self._event(outcome, alert, "suppressed", "the key is flapping")
        elif loud:
            alert = self._raise(outcome, alert)
        self._cleared.pop(change.key, None)
        self._active[change.key] = alert
        outcome.writes.append(alert.write(reopen=reopen))

    def _update(self, change: Change, outcome: Outcome) -> None:
        old = self._active[change.key]
        # A level alert keeps the baseline it opened with, which may come from
        # another dashboard's row (see AlertService.sync). The detector learns
        # nothing while the key is open, so its own baseline stays put too.
        baseline = change.baseline if old.kind == "trend" else old.baseline
        alert = dataclasses.replace(
            old,
            severity=max(old.severity, change.severity),
            updated_at=change.at,
            baseline=baseline,
            value=change.value,
            peak=worst(change.key, old.peak, change.peak),
            size=change.size,
            detail=change.detail,
        )
        write_acknowledgement = False
        if alert.severity > old.severity:
            self._event(
                outcome,
                alert,
                "escalated",
                f"from {old.severity.label} to {alert.severity.label}",
            )
        if alert.acknowledged and self._worsened(alert):
            alert = dataclasses.replace(
                alert,
                acknowledged_at=None,
                acknowledged_severity=None,
                acknowledged_size=None,
            )
            write_acknowledgement = True
            self._event(
                outcome, alert, "unacknowledged", "worse than when acknowledged"
            )
            alert = self._raise(outcome, alert)
        elif (
            alert.severity > old.severity
            and not alert.acknowledged
            and not self.is_flapping(change.key, change.at)
        ):
            alert = self._raise(outcome, alert)
        self._active[change.key] = alert
        outcome.writes.append(
            alert.write(write_acknowledgement=write_acknowledgement, update_only=True)
        )

    def expire(self, key: str, at: float, outcome: Outcome) -> None:
        """Clear the open alert of ``key`` because its key had no recent sample.

        Unlike a recovery this adds no flap penalty and starts no cooldown: a
        later regression of the key opens a new alert.
        """
        old = self._active.pop(key, None)
        if old is None:
            return
        silent_minutes = (at - old.updated_at) / 60
        alert = dataclasses.replace(old, updated_at=at, cleared_at=at)
        note = f"no samples for {silent_minutes:.0f} min"
        self._event(outcome, alert, "expired", note)
        outcome.writes.append(alert.write())

    def _clear(self, change: Change, outcome: Outcome) -> None:
        old = self._active.pop(change.key, None)
        if old is None:
            return
        alert = dataclasses.replace(
            old,
            updated_at=change.at,
            value=change.value,
            detail=change.detail,
            cleared_at=change.at,
        )
        penalty = self.penalty(change.key, change.at) + self.policy.flap_penalty
        self._penalty[change.key] = (penalty, change.at)
        self._cleared[change.key] = alert
        self._event(outcome, alert, "cleared")
        outcome.writes.append(alert.write())


# Service ---------------------------------------------------------------------

AlertListener = Callable[[Alert], None]


class AlertService:
    """The detector, the alert book and the baseline store, for the dashboard.

    :meth:`observe` takes each poll's samples and returns the alerts raised;
    listeners added with :meth:`add_listener` get those of ``notify_severity``
    and above (high and critical by default). Nothing here raises because of
    the baseline file. :attr:`status` reports what is wrong with it instead.
    """

    def __init__(
        self,
        store: BaselineStore,
        detector: RegressionDetector | None = None,
        book: AlertBook | None = None,
        *,
        notify_severity: Severity = Severity.HIGH,
        flush_interval: float = 10.0,
        evidence_retention: float = 24 * 3600.0,
        stale_after: float = STALE_AFTER,
    ) -> None:
        self.store = store
        self.detector = detector or RegressionDetector()
        self.book = book or AlertBook()
        self.notify_severity = notify_severity
        self.flush_interval = flush_interval
        """Seconds of sample time between writes of learned baselines."""
        self.evidence_retention = evidence_retention
        """Seconds that samples recorded as alert evidence are kept."""
        self.stale_after = stale_after
        """Seconds of sample time without a sample of its key after which an
        open alert expires."""
        self._listeners: list[AlertListener] = []
        self._revision = 0
        self._last_flush: float | None = None
        self._read_problem = ""
        self._unsaved: asyncio.Future[None] | None = None
        """The write of the last poll's batch until it commits."""
        self.busy_timeout = 5.0
        """SQLite's wait for a lock, in seconds, when the file is reopened."""

    @classmethod
    async def open(
        cls,
        path: Path | None,
        *,
        config: DetectorConfig | None = None,
        policy: AlertPolicy | None = None,
        busy_timeout: float = 5.0,
    ) -> AlertService:
        """Open the baseline file (or memory) and load its state; never raise."""
        store = await open_store(path, busy_timeout=busy_timeout)
        service = cls(store, RegressionDetector(config), AlertBook(policy))
        service.busy_timeout = busy_timeout
        await service.load()
        return service

    @property
    def status(self) -> StoreStatus:
        status = self.store.status
        if self._read_problem and status.level == "ok":
            return StoreStatus(
                status.persistent, status.path, self._read_problem, "warning"
            )
        return status

    def add_listener(self, listener: AlertListener) -> None:
        self._listeners.append(listener)

    def active(self) -> list[Alert]:
        return self.book.active()

    def unacknowledged(self, minimum: Severity = Severity.LOW) -> list[Alert]:
        return [
            a
            for a in self.book.active()
            if not a.acknowledged and a.severity >= minimum
        ]

    async def load(self) -> None:
        """Load baselines and open alerts from the store."""
        try:
            self.detector.load(await self.store.load_baselines())
            stored = [Alert.from_stored(row) for row in await self.store.open_alerts()]
            self._revision = await self.store.revision()
        except Exception as exc:  # any sqlite3 or I/O failure
            self._note_read_problem(exc)
            return
        followed = [alert for alert in stored if self.detector.restore_open(alert)]
        self.book.restore(followed)
        orphans = [alert for alert in stored if alert not in followed]
        if orphans:
            # Without a baseline nothing can clear these alerts later.
            now = time.time()
            self.store.save_later(
                SaveBatch(
                    alerts=[
                        dataclasses.replace(a, cleared_at=now, updated_at=now).write()
                        for a in orphans
                    ],
                    events=[
                        AlertEvent(
                            a.key,
                            now,
                            "cleared",
                            int(a.severity),
                            a.value,
                            "no baseline to compare with",
                        )
                        for a in orphans
                    ],
                )
            )

    def _note_read_problem(self, exc: BaseException) -> None:
        message = f"cannot read the baseline file ({exc}); working from memory"
        if message != self._read_problem:
            log.warning("%s", message)
        self._read_problem = message

    async def sync(self) -> None:
        """Pick up resets, accepts, acknowledgements and alert rows of other
        processes.

        Does not wait for writes: while this process's last batch is not committed,
        the stored rows lack its own alerts, so the next poll syncs instead.
        """
        if self._unsaved is not None and not self._unsaved.done():
            return
        try:
            revision = await self.store.revision()
            if revision == self._revision:
                return
            baselines = await self.store.load_baselines()
            open_rows = {row.key: row for row in await self.store.open_alerts()}
        except Exception as exc:  # any sqlite3 or I/O failure
            self._note_read_problem(exc)
            return
        self._read_problem = ""
        self._revision = revision
        for stored in baselines:
            mine = self.detector.baseline(stored.key)
            if mine is None or stored.epoch > mine.epoch:
                self.detector.adopt(stored)
                if mine is not None:
                    self.book.drop(stored.key)
                    self.book.drop(stored.key + TREND_SUFFIX)
        by_key = {stored.key: stored for stored in baselines}
        for open_row in open_rows.values():
            self._adopt(open_row, by_key.get(open_row.key))
        for alert in self.book.active():
            row = open_rows.get(alert.key)
            if row is None:
                self.book.drop(alert.key)
                if alert.kind == "trend":
                    self.detector.drop_trend(alert.key.removesuffix(TREND_SUFFIX))
                else:
                    # Another process cleared it, so the key learns again
                    # instead of reopening the alert on its next sample.
                    self.detector.expire(alert.key)
            elif row.acknowledged_at is not None and not alert.acknowledged:
                self.book.set_acknowledgement(
                    alert.key,
                    row.acknowledged_at,
                    Severity.clamp(row.acknowledged_severity or row.severity),
                    row.acknowledged_size or row.size,
                )

    def _adopt(self, row: StoredAlert, baseline: Baseline | None) -> None:
        """Hold the stored open alert ``row`` in place of this process's own.

        Another dashboard opened it, or opened it first, so this one shows
        the same opening and baseline and follows it to its clearing. Alerts
        of keys that measure the dashboard process are its own and stay.
        """
        if measures_the_process(row.key):
            return
        stored = Alert.from_stored(row)
        mine = self.book.get(row.key)
        if mine is not None and (
            mine.opened_at,
            mine.baseline,
            mine.opened_value,
        ) == (stored.opened_at, stored.baseline, stored.opened_value):
            return
        # Judge the key against the baseline the alert opened with, which the
        # opening process stored with it, unless a later write replaced it.
        opened_with = None
        if (
            stored.kind == "level"
            and baseline is not None
            and reference(rule_for(row.key), baseline) == stored.baseline
        ):
            opened_with = baseline
        if not self.detector.restore_open(stored, opened_with):
            return
        if mine is not None:
            # Keep this process's latest measurement; the row's opening,
            # baseline and acknowledgement replace its own.
            stored = dataclasses.replace(
                stored,
                value=mine.value,
                size=mine.size,
                updated_at=max(mine.updated_at, stored.updated_at),
                severity=max(mine.severity, stored.severity),
            )
        self.book.adopt(stored)

    async def observe(self, samples: Sequence[Sample]) -> list[Alert]:
        """Judge one poll's samples; return the alerts raised by them."""
        if self.store.replaced():
            await self.reopen()
        await self.sync()
        outcome = self.book.apply(self.detector.observe(samples))
        latest = max((s.at for s in samples), default=None)
        if latest is not None:
            self._expire(latest, outcome)
        batch = self._batch(samples, outcome, latest)
        try:
            self._unsaved = self.store.save_later(batch)
        except Exception as exc:  # the store closed or failed
            log.warning("cannot queue baseline write: %s", exc)
        for alert in outcome.raised:
            if alert.severity < self.notify_severity:
                continue
            for listener in self._listeners:
                try:
                    listener(alert)
                except Exception:
                    log.exception("alert listener failed for %s", alert.key)
        return outcome.raised

    def _expire(self, latest: float, outcome: Outcome) -> None:
        """Clear the open alerts whose keys had no sample for ``stale_after``."""
        for alert in self.book.active():
            if alert.stale(latest, self.stale_after):
                self.detector.expire(alert.key)
                self.book.expire(alert.key, latest, outcome)

    def _batch(
        self, samples: Sequence[Sample], outcome: Outcome, latest: float | None
    ) -> SaveBatch:
        flush_due = latest is not None and (
            self._last_flush is None or latest - self._last_flush >= self.flush_interval
        )
        baselines: list[Baseline] = []
        if flush_due or outcome.writes:
            baselines = self.detector.take_dirty()
            self._last_flush = latest
            self.store.check_file()
        alerted = {a.key.removesuffix(TREND_SUFFIX) for a in self.book.active()}
        alerted.update(w.alert.key.removesuffix(TREND_SUFFIX) for w in outcome.writes)
        evidence = [
            RecordedSample(s.key, s.at, s.value, s.interval, s.trusted)
            for s in samples
            if s.key in alerted and math.isfinite(s.value)
        ]
        prune = None
        if flush_due and latest is not None:
            prune = latest - self.evidence_retention
        return SaveBatch(baselines, outcome.writes, outcome.events, evidence, prune)

    async def reopen(self) -> None:
        """Open the file now at the store's path, and save what memory holds.

        Another process replaced the file, as ``evedmv regressions`` does
        with a damaged one, so writes to the old file would reach no reader.
        Every baseline and open alert of this process goes to the new file,
        and :attr:`status` reports the reopening.
        """
        old = self.store
        path = old.status.path
        try:
            await old.close()
        except Exception as exc:  # the moved file may be damaged
            log.warning("closing the replaced baseline file failed: %s", exc)
        self.store = await open_store(path, busy_timeout=self.busy_timeout)
        self._unsaved = None
        if not self.store.status.persistent or self.store.status.message:
            # The new file's own status explains what went wrong with it.
            return
        baselines = self.detector.baselines()
        alerts = [a.write(write_acknowledgement=True) for a in self.book.active()]
        try:
            await self.store.save(SaveBatch(baselines, alerts))
            self._revision = await self.store.revision()
        except Exception as exc:  # reported in status by the store
            log.warning("cannot save to the reopened baseline file: %s", exc)
            return
        self.store.note(
            f"{path} was replaced while in use; reopened the new file and saved"
            " the baselines and open alerts kept in memory"
            f" ({len(baselines)} and {len(alerts)})"
        )
        log.warning("%s", self.store.status.message)

    async def flush(self) -> None:
        """Write every learned baseline and wait for queued writes."""
        baselines = self.detector.take_dirty()
        try:
            if baselines:
                await self.store.save(SaveBatch(baselines))
            await self.store.flush()
        except Exception as exc:  # reported in status
            log.warning("cannot write baselines: %s", exc)

    async def acknowledge(self, key: str, at: float | None = None) -> Alert | None:
        """Acknowledge the open alert of ``key``; it stays quiet until it worsens."""
        at = time.time() if at is None else at
        alert = self.book.acknowledge(key, at)
        if alert is None:
            return None
        try:
            await self.store.acknowledge(key, at)
            self._revision = await self.store.revision()
        except Exception as exc:  # reported in status
            log.warning("cannot store the acknowledgement of %s: %s", key, exc)
        return alert

    async def accept(
        self, key: str, at: float | None = None, level: float | None = None
    ) -> bool:
        """Make ``level``, or the latest value of ``key``, its baseline and
        clear its alert."""
        at = time.time() if at is None else at
        await self.flush()
        try:
            accepted = await self.store.accept(key, at, level)
        except Exception as exc:  # reported in status
            log.warning("cannot accept the baseline of %s: %s", key, exc)
            return False
        await self.sync()
        return accepted

    async def history(self, limit: int = 200) -> list[Alert]:
        """Return open and past alerts from the log, or the open ones on failure."""
        try:
            rows = await self.store.alerts(limit)
        except Exception as exc:  # reported in status
            self._note_read_problem(exc)
            return self.active()
        return [Alert.from_stored(row) for row in rows]

    async def events(self, key: str, limit: int = 50) -> list[AlertEvent]:
        try:
            return await self.store.events(key, limit)
        except Exception as exc:  # reported in status
            self._note_read_problem(exc)
            return []

    async def alert_events(self, alert: Alert, limit: int = 50) -> list[AlertEvent]:
        """Return the log of ``alert`` alone, newest first."""
        try:
            return await self.store.alert_events(alert.key, alert.opened_at, limit)
        except Exception as exc:  # reported in status
            self._note_read_problem(exc)
            return []

    async def evidence(
        self,
        key: str,
        limit: int = 60,
        *,
        since: float | None = None,
        until: float | None = None,
    ) -> list[RecordedSample]:
        """Return recent samples recorded for the alert of ``key``, of the
        span from ``since`` to ``until`` when given."""
        try:
            return await self.store.recent_samples(
                key.removesuffix(TREND_SUFFIX), limit, since=since, until=until
            )
        except Exception as exc:  # reported in status
            self._note_read_problem(exc)
            return []

    async def close(self) -> None:
        await self.flush()
        await self.store.close()
