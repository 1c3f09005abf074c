"""Regression alerts on the names cache: offline lookups and the alert's hint."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cache import CacheRegistry, LRUCache
from evedmv_tui.config import Settings
from evedmv_tui.monitor.regressions import AlertService, rule_for
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.names import EntityName, NameResolver
from evedmv_tui.screens.alerts import ALERT_HINTS, AlertCenter
from evedmv_tui.store.db import Database, NamedSql
from tests.test_alerts import settle, wait_for_center
from tests.test_monitor import make_monitor

NAMES = "cache:names:hit_ratio"
STORED_IDS = list(range(98_000_001, 98_000_031))
UNSTORED_IDS = list(range(99_000_001, 99_000_101))
_INSERT = NamedSql(
    "test.names.insert",
    "INSERT INTO names (entity_id, category, name, fetched_at)"
    " SELECT id, 'character', 'Pilot ' || id, now() FROM unnest(%s::bigint[]) id",
)


def offline_resolver(db: Database, registry: CacheRegistry) -> NameResolver:
    """Return an offline resolver whose caches are in ``registry``, which
    the monitor reads."""
    cache: LRUCache[int, EntityName] = LRUCache("names", 1000, register=False)
    registry.register(cache)
    unresolvable: LRUCache[int, bool] = LRUCache(
        "names.unresolvable", 1000, register=False
    )
    registry.register(unresolvable)
    return NameResolver(db, None, cache=cache, unresolvable=unresolvable)


def test_offline_unstored_names_not_counted(db: Database) -> None:
    registry = CacheRegistry()
    resolver = offline_resolver(db, registry)
    db.execute(_INSERT, (STORED_IDS,))

    names = resolver.resolve(STORED_IDS + UNSTORED_IDS)
    assert sorted(names) == STORED_IDS
    resolver.resolve(STORED_IDS + UNSTORED_IDS)

    stats = {s.name: s for s in registry.stats()}
    # The stored names missed once and then hit. The unstored ids never count.
    assert stats["names"].misses == len(STORED_IDS)
    assert stats["names"].hits == len(STORED_IDS)
    # Offline, no id is requested, so none is checked against those ESI rejected.
    assert stats["names.unresolvable"].misses == 0
    assert stats["names.unresolvable"].hits == 0


async def test_offline_browsing_raises_no_names_alert(
    db: Database, db_url: str, settings: Settings, tmp_path: Path
) -> None:
    """Offline, each id without a stored name missed the names cache every
    time a page showed it, so browsing such entities took the hit ratio to
    0 % and opened a critical regression alert."""
    registry = CacheRegistry()
    resolver = offline_resolver(db, registry)
    db.execute(_INSERT, (STORED_IDS,))
    resolver.resolve(STORED_IDS)
    monitor = make_monitor(db_url, settings, registry=registry)
    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    try:
        monitor.poll()
        # Pages show stored names long enough for the ratio to be learned.
        min_samples = service.detector.config.min_samples
        for _ in range(min_samples + 5):
            resolver.resolve(STORED_IDS)
            await service.observe(monitor.poll().samples)
        baseline = service.detector.baseline(NAMES)
        assert baseline is not None
        assert baseline.count >= min_samples

        # Then they show entities whose names are not stored.
        judged: list[float] = []
        for _ in range(6):
            resolver.resolve(UNSTORED_IDS + STORED_IDS)
            samples = monitor.poll().samples
            judged += [s.value for s in samples if s.key == NAMES]
            await service.observe(samples)
        assert [a for a in service.active() if a.key == NAMES] == []
        assert judged == [1.0] * 6
    finally:
        monitor.close()
        await service.close()


async def test_names_alert_carries_hint(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A names cache alert read only "names, latest 0.0 %, baseline 95.4 %",
    with nothing on where it comes from or what to do."""
    # Only the samples fed here count, not the dashboard's own polls.
    monkeypatch.setattr(AlertCenter, "observe_threadsafe", lambda *_args: None)
    hint = ALERT_HINTS[NAMES]
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        rng = random.Random(4)
        at = time.time() - 200.0
        for step in range(44):
            at += 2.0
            value = 0.2 if step >= 40 else 0.95 + rng.uniform(-0.01, 0.01)
            await center.observe([Sample(NAMES, value, at, 2.0, True, "names")])
        await pilot.pause()
        [note] = [n for n in app._notifications if "regression" in (n.title or "")]
        assert note.title == "Critical regression"
        assert note.message.startswith("names\nlatest 20.0 %")
        assert note.message.endswith(f"\n{hint}")

        await pilot.press("a")
        await settle(app, pilot)
        detail = str(app.screen.query_one("#alerts-detail", Static).render())
        assert NAMES in detail
        assert hint in detail
        assert "names table or ESI" in hint
        assert "accept it as normal" in hint


def test_hint_keys_are_judged() -> None:
    """Each hint belongs to a key the detector judges, or it is never shown."""
    for key in ALERT_HINTS:
        assert rule_for(key).baselined, key
