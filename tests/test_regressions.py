"""The regression detector on recorded and generated samples (no database)."""

from __future__ import annotations

import random

import pytest

from evedmv_tui.monitor.regressions import (
    MIB,
    Change,
    DetectorConfig,
    RegressionDetector,
    Severity,
    kendall_tau,
    median,
    median_absolute_deviation,
    reference,
    rule_for,
    theil_sen_slope,
)
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.store.baselines import Baseline

KEY = "statement:3f2a9c0d11e4b7a8:mean_ms"
POLL = 2.0


def feed(
    detector: RegressionDetector,
    values: list[float],
    *,
    key: str = KEY,
    start: float = 1_000_000.0,
    trusted: bool = True,
    every: float = POLL,
) -> list[Change]:
    """Feed one sample per poll, ``every`` seconds apart; return every change."""
    changes: list[Change] = []
    for i, value in enumerate(values):
        sample = Sample(key, value, start + i * every, POLL, trusted, "SELECT 1")
        changes.extend(detector.observe([sample]))
    return changes


def noisy(level: float, count: int, spread: float = 0.05, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [level * (1 + rng.uniform(-spread, spread)) for _ in range(count)]


def kinds(changes: list[Change]) -> list[str]:
    return [c.kind for c in changes]


def test_statistics_helpers() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert median_absolute_deviation([1.0, 2.0, 3.0, 100.0]) == 1.0
    points = [(0.0, 0.0), (1.0, 2.0), (2.0, 4.0), (3.0, 6.0), (4.0, 100.0)]
    assert theil_sen_slope(points) == 2.0
    assert kendall_tau([1.0, 2.0, 3.0, 4.0]) == 1.0
    assert kendall_tau([4.0, 3.0, 2.0, 1.0]) == -1.0


def test_rule_for_metric_names() -> None:
    assert rule_for("statement:abc:mean_ms").pattern == "*_ms"
    assert rule_for("operation:battle_report:p95_ms").pattern == "operation:*_ms"
    assert rule_for("operation:app.heartbeat:p50_ms").min_value == 100.0
    assert not rule_for("monitor:poll_ms").baselined
    assert not rule_for("memory:trend_bytes_per_min").baselined
    assert rule_for("database:hit_ratio").direction == "down"
    assert rule_for("cache:names:hit_ratio").measure == "difference"
    assert rule_for("memory:rss_bytes").trend
    assert rule_for("database:tps").direction == "down"
    assert rule_for("statement:abc:calls_per_s").pattern == "*per_s"
    assert rule_for("processes:count").tiers[0] == 1.5
    assert rule_for("something:else").pattern == "*"


def test_steady_workload_raises_nothing() -> None:
    detector = RegressionDetector()
    rng = random.Random(7)
    # Jittery timings with an occasional lone spike, as a busy machine gives.
    values = []
    for _ in range(1000):
        value = 12.0 * (1 + rng.gauss(0, 0.08))
        if rng.random() < 0.02:
            value *= 3
        values.append(max(value, 0.1))
    changes = feed(detector, values)
    assert changes == []
    baseline = detector.baseline(KEY)
    assert baseline is not None
    assert baseline.mean == pytest.approx(12.0, rel=0.1)


def test_no_alert_before_minimum_samples() -> None:
    detector = RegressionDetector(DetectorConfig(min_samples=20))
    changes = feed(detector, [10.0] * 5 + [500.0] * 10)
    assert changes == []


def test_step_regression_opens_once_and_clears() -> None:
    detector = RegressionDetector()
    steady = noisy(10.0, 40)
    regressed = noisy(50.0, 30, seed=2)
    changes = feed(detector, steady + regressed + steady)
    opened = [c for c in changes if c.kind == "opened"]
    cleared = [c for c in changes if c.kind == "cleared"]
    assert len(opened) == 1
    assert len(cleared) == 1
    assert opened[0].severity == Severity.HIGH
    # Opened on the third deviating poll, cleared on the third good one.
    assert opened[0].at == 1_000_000.0 + (40 + 2) * POLL
    assert cleared[0].at == 1_000_000.0 + (40 + 30 + 2) * POLL
    assert set(kinds(changes)) == {"opened", "updated", "cleared"}


def test_regression_is_not_learned() -> None:
    detector = RegressionDetector()
    feed(detector, noisy(10.0, 40))
    before = detector.baseline(KEY)
    assert before is not None
    feed(detector, noisy(40.0, 500, seed=3), start=2_000_000.0)
    after = detector.baseline(KEY)
    assert after is not None
    assert after.regressed
    assert after.mean == before.mean
    assert after.count == before.count
    assert after.last_value == pytest.approx(40.0, rel=0.06)


def test_untrusted_samples_change_nothing() -> None:
    detector = RegressionDetector()
    feed(detector, noisy(10.0, 40))
    before = detector.baseline(KEY)
    changes = feed(detector, [5000.0] * 10, start=2_000_000.0, trusted=False)
    assert changes == []
    assert detector.baseline(KEY) == before
    assert detector.skipped == 10


def test_negative_and_nan_samples_are_skipped() -> None:
    detector = RegressionDetector()
    feed(detector, noisy(10.0, 40))
    before = detector.baseline(KEY)
    changes = feed(detector, [-3.0, float("nan"), float("inf")], start=2_000_000.0)
    assert changes == []
    assert detector.baseline(KEY) == before
    assert detector.skipped == 3


def test_lone_spikes_do_not_open() -> None:
    detector = RegressionDetector()
    values = [*noisy(10.0, 40), 100.0, 10.0, 100.0, 10.0, 10.0, 100.0, 10.0]
    assert feed(detector, values) == []


def test_warmup_is_robust_to_outliers() -> None:
    detector = RegressionDetector()
    values = noisy(10.0, 20)
    values[3] = 900.0
    values[11] = 700.0
    feed(detector, values)
    baseline = detector.baseline(KEY)
    assert baseline is not None
    assert baseline.count == 20
    assert baseline.mean == pytest.approx(10.0, rel=0.05)
    assert baseline.warmup == ()


@pytest.mark.parametrize(
    ("factor", "expected"),
    [
        (1.7, Severity.LOW),
        (2.5, Severity.MEDIUM),
        (5.0, Severity.HIGH),
        (20.0, Severity.CRITICAL),
    ],
)
def test_severity_from_size(factor: float, expected: Severity) -> None:
    detector = RegressionDetector()
    changes = feed(detector, noisy(10.0, 40, spread=0.02) + [10.0 * factor] * 3)
    assert kinds(changes) == ["opened"]
    assert changes[0].severity == expected


def test_small_absolute_change_is_ignored() -> None:
    """A 0.02 ms query that takes 0.2 ms is ten times slower but harmless."""
    detector = RegressionDetector()
    changes = feed(detector, noisy(0.02, 40) + [0.2] * 20)
    assert changes == []


HEARTBEAT = "operation:app.heartbeat:p95_ms"


@pytest.mark.parametrize(
    ("key", "usual", "slower"),
    [
        (HEARTBEAT, 0.412, 6.62),
        (HEARTBEAT, 0.938, 12.1),
        ("operation:battles.parameters:p95_ms", 3.36, 11.3),
        ("operation:battles.list:p95_ms", 10.5, 20.0),
        ("operation:intel.watch:p95_ms", 1.08, 10.2),
        ("operation:battles.list:p95_ms", 60.0, 99.0),
        ("operation:battles.list:p95_ms", 80.0, 125.0),
    ],
)
def test_operation_latency_noise_ignored(key: str, usual: float, slower: float) -> None:
    """An operation that stays fast, or gets a few ms slower, raises nothing.

    On a loaded machine an idle operation's p95 can rise to tens of times
    its sub-millisecond baseline. A user notices no such change while the
    operation stays under 100 ms, or within 50 ms of its baseline.
    """
    detector = RegressionDetector()
    changes = feed(detector, noisy(usual, 40) + noisy(slower, 60, seed=4), key=key)
    assert changes == []


@pytest.mark.parametrize(
    ("usual", "slower", "severity"),
    [
        (5.0, 400.0, Severity.CRITICAL),
        (200.0, 1800.0, Severity.HIGH),
        (80.0, 140.0, Severity.LOW),
        (0.4, 150.0, Severity.CRITICAL),
    ],
)
def test_operation_latency_regression_opens(
    usual: float, slower: float, severity: Severity
) -> None:
    detector = RegressionDetector()
    changes = feed(
        detector, noisy(usual, 40) + noisy(slower, 10, seed=4), key=HEARTBEAT
    )
    opened = [c for c in changes if c.kind == "opened"]
    assert len(opened) == 1
    assert opened[0].severity == severity
    assert opened[0].at == 1_000_000.0 + (40 + 2) * POLL


def test_operation_under_min_value_recovers() -> None:
    """An operation back under 100 ms clears, though still above its baseline."""
    detector = RegressionDetector()
    changes = feed(detector, noisy(5.0, 40) + [400.0] * 4 + [60.0] * 3, key=HEARTBEAT)
    assert kinds(changes) == ["opened", "updated", "updated", "updated", "cleared"]


def test_reference_is_the_worse_of_mean_and_accepted() -> None:
    slower = rule_for(KEY)
    assert reference(slower, Baseline(KEY, mean=10.0)) == 10.0
    assert reference(slower, Baseline(KEY, mean=10.0, accepted=200.0)) == 200.0
    assert reference(slower, Baseline(KEY, mean=300.0, accepted=200.0)) == 300.0
    ratio = "database:cache_hit_ratio"
    lower = rule_for(ratio)
    assert reference(lower, Baseline(ratio, mean=0.99, accepted=0.9)) == 0.9
    assert reference(lower, Baseline(ratio, mean=0.8, accepted=0.9)) == 0.8


def test_severity_rises_with_persistence() -> None:
    detector = RegressionDetector()
    changes = feed(detector, noisy(10.0, 40, spread=0.02) + [17.0] * 1000)
    assert changes[0].kind == "opened"
    assert changes[0].severity == Severity.LOW
    escalations = [c for c in changes if c.kind == "escalated"]
    assert [c.severity for c in escalations] == [Severity.MEDIUM, Severity.HIGH]
    opened_at = changes[0].at
    assert escalations[0].at - opened_at == pytest.approx(300.0, abs=POLL)
    assert escalations[1].at - opened_at == pytest.approx(1800.0, abs=POLL)


def test_hit_ratio_drop_is_a_difference() -> None:
    detector = RegressionDetector()
    key = "database:hit_ratio"
    changes = feed(detector, noisy(0.99, 40, spread=0.002) + [0.88] * 3, key=key)
    assert kinds(changes) == ["opened"]
    assert changes[0].severity == Severity.MEDIUM
    assert changes[0].size == pytest.approx(0.11, abs=0.01)


def test_hit_ratio_rise_is_not_a_regression() -> None:
    detector = RegressionDetector()
    key = "cache:names:hit_ratio"
    assert feed(detector, noisy(0.5, 40, spread=0.01) + [0.99] * 10, key=key) == []


def test_tps_collapse_alerts_and_rise_does_not() -> None:
    detector = RegressionDetector()
    changes = feed(detector, noisy(200.0, 40) + [20.0] * 3, key="database:tps")
    assert kinds(changes) == ["opened"]
    assert changes[0].severity == Severity.MEDIUM
    assert changes[0].size == pytest.approx(10.0, rel=0.1)
    rising = RegressionDetector()
    assert feed(rising, noisy(200.0, 40) + [2000.0] * 10, key="database:tps") == []


NO_TREND_WARMUP = DetectorConfig(trend_warmup=0.0)
"""Detector settings that judge trends from the first sample, for tests of
the trend check itself."""


def test_memory_growth_opens_a_trend_alert() -> None:
    detector = RegressionDetector(NO_TREND_WARMUP)
    key = "memory:rss_bytes"
    rng = random.Random(5)
    values = [300 * MIB + i * 10 * MIB + rng.uniform(-MIB, MIB) for i in range(60)]
    changes = feed(detector, values, key=key, every=30.0)
    trend = [c for c in changes if c.key == key + ":trend"]
    assert trend
    assert trend[0].kind == "opened"
    assert trend[0].alert_kind == "trend"
    assert trend[0].severity == Severity.CRITICAL
    assert "per hour" in trend[0].detail
    # It opens after 22 points; 10 MiB every 30 s on their median of about
    # 405 MiB is about three times that size per hour.
    assert trend[0].size == pytest.approx(1200 / 405, rel=0.15)


def test_growth_after_a_start_opens_no_trend() -> None:
    detector = RegressionDetector()
    key = "memory:rss_bytes"
    # Polls every 2 s: 67 to 85 MiB over the first minute as screens and
    # caches fill, then level for half an hour.
    start_up = [67 * MIB + i * 0.6 * MIB for i in range(31)]
    level = noisy(85 * MIB, 900, spread=0.01)
    changes = feed(detector, start_up + level, key=key)
    assert [c for c in changes if c.key.endswith(":trend")] == []


def test_growth_that_stopped_opens_no_trend() -> None:
    detector = RegressionDetector()
    key = "memory:rss_bytes"
    # Polls every 2 s: 67 to 127 MiB over five minutes of opening screens,
    # then almost level (0.12 MiB a minute) for twenty minutes.
    start_up = [67 * MIB + i * 0.4 * MIB for i in range(150)]
    level = [127 * MIB + i * 0.004 * MIB for i in range(600)]
    changes = feed(detector, start_up + level, key=key)
    assert [c for c in changes if c.key.endswith(":trend")] == []


def test_dashboard_memory_after_warmup_not_alerted() -> None:
    """The dashboard's RSS doubling from 67 MiB as screens open is normal use,
    not a regression, but a rise of several hundred MiB is one."""
    key = "memory:rss_bytes"
    start_up = [67 * MIB + i * 0.4 * MIB for i in range(150)]
    level = noisy(127 * MIB, 300, spread=0.01)
    filling = feed(RegressionDetector(), start_up + level, key=key)
    assert [c for c in filling if c.key == key] == []
    jump = feed(RegressionDetector(), start_up + [600 * MIB] * 10, key=key)
    assert [c.kind for c in jump if c.key == key][:1] == ["opened"]


def test_trend_points_are_spaced() -> None:
    detector = RegressionDetector(NO_TREND_WARMUP)
    key = "memory:rss_bytes"
    start = 1_000_000.0
    # Steady growth at 2 s polls: points are kept 30 s apart, so the window
    # contains the 20 points it needs only after ten minutes.
    values = [300 * MIB + i * MIB for i in range(420)]
    changes = feed(detector, values, key=key, start=start)
    [opened] = [c for c in changes if c.key.endswith(":trend")][:1]
    assert opened.kind == "opened"
    assert opened.at - start >= 600.0


def test_flat_memory_has_no_trend() -> None:
    detector = RegressionDetector()
    key = "memory:rss_bytes"
    changes = feed(detector, noisy(300 * MIB, 200, spread=0.02), key=key)
    assert changes == []


def test_memory_trend_clears_when_growth_stops() -> None:
    detector = RegressionDetector()
    key = "memory:rss_bytes"
    growing = [300 * MIB + i * 10 * MIB for i in range(40)]
    flat = noisy(700 * MIB, 60, spread=0.001)
    fed = feed(detector, growing + flat, key=key, every=30.0)
    changes = [c for c in fed if c.key.endswith("trend")]
    assert [c.kind for c in changes if c.kind != "updated"][:1] == ["opened"]
    assert changes[-1].kind == "cleared"


def test_loaded_regression_stays_unlearned() -> None:
    first = RegressionDetector()
    feed(first, noisy(10.0, 40) + [60.0] * 5)
    stored = first.baseline(KEY)
    assert stored is not None
    assert stored.regressed
    second = RegressionDetector()
    second.load([stored])
    changes = feed(second, [60.0] * 50, start=2_000_000.0)
    assert "opened" not in kinds(changes)
    resumed = second.baseline(KEY)
    assert resumed is not None
    assert resumed.mean == stored.mean
    assert resumed.count == stored.count


def test_derived_keys_are_not_baselined() -> None:
    detector = RegressionDetector()
    feed(detector, [0.0] * 30 + [50.0 * MIB] * 10, key="memory:trend_bytes_per_min")
    assert detector.baseline("memory:trend_bytes_per_min") is None


def test_take_dirty_returns_changed_keys_once() -> None:
    detector = RegressionDetector()
    feed(detector, [1.0, 2.0], key="a:x_ms")
    feed(detector, [1.0], key="b:x_ms")
    assert [b.key for b in detector.take_dirty()] == ["a:x_ms", "b:x_ms"]
    assert detector.take_dirty() == []


def test_falling_ratio_peaks_at_its_lowest() -> None:
    detector = RegressionDetector()
    key = "database:cache_hit_ratio"
    baseline = noisy(0.99, 40, spread=0.002)
    # The third low reading opens the alert; then it falls further and
    # recovers a little.
    changes = feed(detector, [*baseline, 0.80, 0.79, 0.78, 0.60, 0.70], key=key)
    assert kinds(changes)[0] == "opened"
    assert changes[-1].peak == pytest.approx(0.60)
    assert changes[-1].value == pytest.approx(0.70)


def test_count_from_zero_is_a_low_rise() -> None:
    detector = RegressionDetector()
    key = "process:count"
    changes = feed(detector, [0.0] * 40 + [3.0] * 3, key=key)
    assert kinds(changes) == ["opened"]
    assert changes[0].severity == Severity.LOW
    assert changes[0].size == pytest.approx(1.5)


def test_trend_clears_soon_after_growth_stops() -> None:
    detector = RegressionDetector(NO_TREND_WARMUP)
    key = "memory:rss_bytes"
    # Points 30 s apart: growth of 8 MiB a minute for twelve minutes, then
    # level.
    growing = [125 * MIB + i * 4 * MIB for i in range(25)]
    level = [growing[-1]] * 10
    fed = feed(detector, growing + level, key=key, every=30.0)
    changes = [c for c in fed if c.key.endswith(":trend")]
    assert changes[0].kind == "opened"
    assert changes[-1].kind == "cleared"


def feed_rows(
    detector: RegressionDetector,
    values: list[float],
    rows_per_call: float | None,
    *,
    start: float = 1_000_000.0,
) -> list[Change]:
    """Feed one statement sample per poll, each with ``rows_per_call``."""
    changes: list[Change] = []
    for i, value in enumerate(values):
        at = start + i * POLL
        sample = Sample(KEY, value, at, POLL, True, "INSERT", rows_per_call)
        changes.extend(detector.observe([sample]))
    return changes


def test_batch_calls_raise_no_alert() -> None:
    """A statement learned from one-row calls (the live feed) once raised a
    critical alert when a bulk import ran it with 2,000 rows per call."""
    detector = RegressionDetector()
    feed_rows(detector, noisy(2.0, 40), 1.0)
    before = detector.baseline(KEY)
    assert before is not None
    assert before.rows_per_call == pytest.approx(1.0)

    batch = feed_rows(detector, noisy(800.0, 30), 2000.0, start=2_000_000.0)
    assert batch == []
    assert detector.skipped_rows == 30
    assert detector.baseline(KEY) == before

    # The batch left the baseline alone, so one-row calls are judged as before.
    assert feed_rows(detector, noisy(2.0, 20), 1.0, start=3_000_000.0) == []
    assert detector.skipped_rows == 30


def test_slow_calls_at_usual_rows_still_alert() -> None:
    detector = RegressionDetector()
    feed_rows(detector, noisy(2.0, 40), 1.0)
    changes = feed_rows(detector, noisy(20.0, 10), 1.0, start=2_000_000.0)
    opened = [c for c in changes if c.kind == "opened"]
    assert len(opened) == 1
    assert opened[0].severity == Severity.CRITICAL
    assert detector.skipped_rows == 0


@pytest.mark.parametrize(
    ("rows_per_call", "skipped"),
    [
        (9.9, False),
        (10.0, True),
        (0.0, False),
        (2000.0, True),
    ],
)
def test_rows_factor_bounds(rows_per_call: float, skipped: bool) -> None:
    detector = RegressionDetector()
    feed_rows(detector, noisy(2.0, 40), 1.0)
    changes = feed_rows(detector, [40.0] * 5, rows_per_call, start=2_000_000.0)
    assert detector.skipped_rows == (5 if skipped else 0)
    assert ("opened" in kinds(changes)) is not skipped


def test_fewer_rows_not_learned() -> None:
    """One-row calls of a batch statement must not teach its baseline a
    one-row time, or the next batch would look slow."""
    detector = RegressionDetector()
    feed_rows(detector, noisy(800.0, 40), 2000.0)
    before = detector.baseline(KEY)
    feed_rows(detector, noisy(2.0, 200), 1.0, start=2_000_000.0)
    assert detector.baseline(KEY) == before
    assert detector.skipped_rows == 200
    assert feed_rows(detector, noisy(800.0, 20), 2000.0, start=3_000_000.0) == []


HOUR_OF_POLLS = int(3600 / POLL) + 1


def test_lasting_rows_change_learns_anew() -> None:
    """A statement that now always handles 2,000 rows per call is judged
    again after an hour, against what its calls take at that size."""
    detector = RegressionDetector()
    feed_rows(detector, noisy(2.0, 40), 1.0)

    assert feed_rows(detector, noisy(800.0, HOUR_OF_POLLS), 2000.0, start=2e6) == []
    assert detector.relearned_rows == 1
    assert detector.skipped_rows == HOUR_OF_POLLS - 1
    learned = detector.baseline(KEY)
    assert learned is not None
    assert learned.count == 1
    assert learned.rows_per_call == 2000.0

    feed_rows(detector, noisy(800.0, 30), 2000.0, start=3e6)
    changes = feed_rows(detector, [8000.0] * 5, 2000.0, start=4e6)
    assert "opened" in kinds(changes)


def test_interrupted_rows_change_keeps_baseline() -> None:
    detector = RegressionDetector()
    feed_rows(detector, noisy(2.0, 40), 1.0)
    before = detector.baseline(KEY)
    polls = HOUR_OF_POLLS // 2
    feed_rows(detector, noisy(800.0, polls), 2000.0, start=2e6)
    feed_rows(detector, [2.0], 1.0, start=2e6 + polls * POLL)
    feed_rows(detector, noisy(800.0, polls), 2000.0, start=2e6 + (polls + 1) * POLL)

    assert detector.relearned_rows == 0
    learned = detector.baseline(KEY)
    assert learned is not None and before is not None
    assert learned.rows_per_call == before.rows_per_call
    assert learned.count == before.count + 1


def test_open_regression_keeps_baseline_on_rows_change() -> None:
    detector = RegressionDetector()
    feed_rows(detector, noisy(2.0, 40), 1.0)
    assert "opened" in kinds(feed_rows(detector, [40.0] * 5, 1.0, start=2e6))

    feed_rows(detector, noisy(800.0, HOUR_OF_POLLS), 2000.0, start=3e6)

    assert detector.relearned_rows == 0
    baseline = detector.baseline(KEY)
    assert baseline is not None
    assert baseline.regressed
    assert baseline.rows_per_call == pytest.approx(1.0)


def test_warmup_rows_geometric_mean() -> None:
    detector = RegressionDetector()
    rows = [1.0] * 19
    rows[7] = 2000.0
    for i, rows_per_call in enumerate([*rows, 1.0]):
        sample = Sample(KEY, 2.0, 1_000_000.0 + i * POLL, POLL, True, "", rows_per_call)
        detector.observe([sample])
    baseline = detector.baseline(KEY)
    assert baseline is not None
    assert baseline.count == 20
    assert baseline.rows_per_call == pytest.approx(2000.0 ** (1 / 20))

    # A batch interval during the warmup does not stop later batches from
    # being skipped.
    assert feed_rows(detector, [800.0] * 10, 2000.0, start=2_000_000.0) == []
    assert detector.skipped_rows == 10


def test_baseline_without_rows_learns_them() -> None:
    """A baseline stored before rows per call existed is compared as before
    and takes the rows per call of its next learned sample."""
    detector = RegressionDetector()
    detector.load([Baseline(KEY, "INSERT", 40, 2.0, 0.01, (), 2.0, 900_000.0)])
    feed_rows(detector, [2.0], 3.0)
    learned = detector.baseline(KEY)
    assert learned is not None
    assert learned.count == 41
    assert learned.rows_per_call == 3.0

    changes = feed_rows(detector, [20.0] * 5, 3.0, start=2_000_000.0)
    assert "opened" in kinds(changes)


def test_samples_without_rows_judged() -> None:
    detector = RegressionDetector()
    feed_rows(detector, noisy(2.0, 40), 1.0)
    changes = feed_rows(detector, [40.0] * 5, None, start=2_000_000.0)
    assert "opened" in kinds(changes)
    assert detector.skipped_rows == 0
