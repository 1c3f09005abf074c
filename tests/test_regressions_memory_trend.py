"""The memory trend alert stays quiet while a dashboard starts."""

from __future__ import annotations

import random

from evedmv_tui.monitor.regressions import (
    MIB,
    TREND_SUFFIX,
    Change,
    RegressionDetector,
    rule_for,
)
from evedmv_tui.monitor.samples import Sample

RSS = "memory:rss_bytes"


def trend_changes(values: list[float], *, start: float = 1_000_000.0) -> list[Change]:
    """Feed RSS values one per 2 s poll; return the changes of its trend."""
    detector = RegressionDetector()
    changes: list[Change] = []
    for i, value in enumerate(values):
        sample = Sample(RSS, value, start + i * 2.0, 2.0, True, "")
        changes.extend(detector.observe([sample]))
    return [c for c in changes if c.key == RSS + TREND_SUFFIX]


def test_start_growth_opens_no_trend() -> None:
    """RSS that grew from 68 to 89 MiB over the first 11 minutes while
    screens opened raised a critical trend alert ("growing 90.6 MiB per
    hour") that cleared two minutes later."""
    polls = 330
    growing = [68 * MIB + i * (21 * MIB / polls) for i in range(polls)]
    rng = random.Random(7)
    level = [89 * MIB * (1 + rng.uniform(-0.002, 0.002)) for _ in range(900)]
    assert trend_changes(growing + level) == []


def test_first_screens_after_warmup_open_no_trend() -> None:
    """Screens opened for the first time after the warm-up add 40 MiB once,
    below the trend's minimum growth."""
    level = [70 * MIB] * 600
    growing = [70 * MIB + i * (40 * MIB / 300) for i in range(300)]
    after = [110 * MIB] * 600
    assert trend_changes(level + growing + after) == []


def test_leak_opens_trend_after_warmup() -> None:
    """A leak of 8 MiB a minute from the start opens a trend alert once the
    warm-up and a window of points after it have passed."""
    start = 1_000_000.0
    values = [70 * MIB + i * (8 * MIB / 30) for i in range(900)]
    changes = trend_changes(values, start=start)
    assert changes
    assert changes[0].kind == "opened"
    # 600 s of warm-up, then 20 points 30 s apart.
    assert changes[0].at - start >= 600.0 + 19 * 30.0


def test_trend_needs_64_mib_of_growth() -> None:
    assert rule_for(RSS).trend_min_delta == 64 * MIB
