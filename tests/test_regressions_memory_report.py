"""The RSS trend line of ``evedmv memory-analysis`` and the leak rule's fit."""

from __future__ import annotations

import pytest

from evedmv_tui.cli import main
from evedmv_tui.monitor.memory import MIB, MemoryTrend, least_squares


def test_flat_series_has_no_r_squared() -> None:
    assert least_squares([(0.0, 100), (1.0, 100), (2.0, 100)]) == (0.0, None)


def test_flat_trend_line_names_no_fit() -> None:
    """A flat RSS series was reported with "(R² 1.00)", a fit that R² cannot
    give a series without variance."""
    trend = MemoryTrend()
    for second in range(0, 301, 10):
        trend.add(float(second), 200 * MIB)
    fit = trend.trend()
    assert fit is not None
    assert fit.r_squared is None
    assert fit.leak_suspected is False
    assert fit.describe() == "trend flat over 300 s: no leak"


def test_short_trend_line_claims_no_slope() -> None:
    """Two seconds of samples were reported as "trend +0.00 MiB/min over 2 s",
    a slope the leak rule does not judge before its window."""
    trend = MemoryTrend(window_seconds=300.0)
    for step in range(5):
        trend.add(step * 0.5, 200 * MIB + step * 4096)
    fit = trend.trend()
    assert fit is not None
    line = fit.describe()
    assert line == "trend: not judged before 300 s"
    assert "MiB/min" not in line
    assert "R²" not in line


def test_judged_trend_line_gives_slope_and_fit() -> None:
    trend = MemoryTrend()
    for second in range(0, 301, 10):
        trend.add(float(second), 200 * MIB + second * MIB // 30)
    fit = trend.trend()
    assert fit is not None
    assert fit.describe() == "trend +2.00 MiB/min (R² 1.00) over 300 s: leak suspected"


def test_memory_analysis_short_run_line(
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    status = main(["--dsn", db_url, "memory-analysis", "--interval", "2"])
    out = capsys.readouterr().out
    assert status == 0
    [line] = [line for line in out.splitlines() if line.strip().startswith("trend")]
    assert "R²" not in line
    assert "MiB/min" not in line
    assert "not judged before 300 s" in line
