"""The monitor's internal caches raise no regression alert."""

from __future__ import annotations

from pathlib import Path

from evedmv_tui.monitor.regressions import (
    AlertService,
    Change,
    RegressionDetector,
    rule_for,
)
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.store.baselines import (
    AlertWrite,
    Baseline,
    SaveBatch,
    StoredAlert,
    open_store,
)

QUERY_TEXTS = "cache:monitor.query_texts:hit_ratio"
NAMES = "cache:names:hit_ratio"


def feed(detector: RegressionDetector, values: list[float], key: str) -> list[Change]:
    """Feed one sample per 2 s poll; return every change."""
    changes: list[Change] = []
    for i, value in enumerate(values):
        sample = Sample(key, value, 1_000_000.0 + i * 2.0, 2.0, True, "")
        changes.extend(detector.observe([sample]))
    return changes


def test_monitor_cache_is_not_judged() -> None:
    """The monitor's query text cache fell to 90.5 % after a server restart
    and opened an alert against 100 %, which the operator cannot act on."""
    detector = RegressionDetector()
    changes = feed(detector, [1.0] * 40 + [0.905] * 10, QUERY_TEXTS)
    assert changes == []
    assert detector.baseline(QUERY_TEXTS) is None
    assert not rule_for("cache:monitor.fingerprints:hit_ratio").baselined


def test_names_cache_is_still_judged() -> None:
    detector = RegressionDetector()
    changes = feed(detector, [1.0] * 40 + [0.6] * 5, NAMES)
    assert [c.kind for c in changes][:1] == ["opened"]


async def test_stored_monitor_cache_alert_cleared(tmp_path: Path) -> None:
    """An alert on a monitor cache stored by an older version is cleared
    when a dashboard opens the file, not left open until it goes stale."""
    path = tmp_path / "baselines.sqlite3"
    store = await open_store(path)
    baseline = Baseline(QUERY_TEXTS, count=40, mean=1.0, regressed=True)
    alert = StoredAlert(QUERY_TEXTS, "", "level", 2, 1.0, 1.0, 1.0, 0.905, 0.905, 0.095)
    await store.save(SaveBatch(baselines=[baseline], alerts=[AlertWrite(alert)]))
    await store.close()

    service = await AlertService.open(path)
    try:
        assert service.active() == []
        await service.flush()
        events = [e.event for e in await service.events(QUERY_TEXTS)]
        assert events[:1] == ["cleared"]
    finally:
        await service.close()
