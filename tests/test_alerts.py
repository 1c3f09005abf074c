"""The alerts screen and the alert count in the dashboard, driven with Pilot."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.monitor.regressions import Alert, Severity, format_value
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.screens.alerts import AlertCenter, AlertsScreen
from evedmv_tui.store.baselines import AlertWrite, RecordedSample, SaveBatch
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.target import baseline_file
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen
from evedmv_tui.widgets.table import KeyedTable
from tests.conftest import _create_database, _drop_database

SLOW = "statement:3f2a9c0d11e4b7a8:mean_ms"
LABEL = "SELECT * FROM killmail WHERE killmail_id = $1"
HIT_RATIO = "database:cache_hit_ratio"


async def wait_for_center(app: EvedmvApp, pilot: object) -> AlertCenter:
    for _ in range(200):
        center = getattr(app, "alert_center", None)
        if center is not None:
            return center
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    raise AssertionError("the alert center did not start")


async def feed(center: AlertCenter, slow_values: list[float], start: float) -> None:
    rng = random.Random(len(slow_values))
    at = start
    for value in slow_values:
        at += 2.0
        await center.observe(
            [Sample(SLOW, value * (1 + rng.uniform(-0.03, 0.03)), at, 2.0, True, LABEL)]
        )


async def settle(app: EvedmvApp, pilot: object) -> None:
    await pilot.pause()  # type: ignore[attr-defined]
    await app.screen.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


def active_actions(app: EvedmvApp) -> set[str]:
    return {b.binding.action for b in app.screen.active_bindings.values()}


def cells(app: EvedmvApp) -> list[list[str]]:
    table = app.screen.query_one(KeyedTable)
    return [[str(cell) for cell in table.get_row(key)] for key in table.row_keys]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_regression_shows_in_status_and_screen(
    settings: Settings, size: tuple[int, int]
) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        center = await wait_for_center(app, pilot)
        await feed(center, [10.0] * 40 + [300.0] * 4, time.time() - 200.0)
        await pilot.pause()
        assert app.status.alert_count == 1
        assert app.status.describe_alerts() == "1 alert, worst critical"
        titles = [note.title for note in app._notifications]
        assert "Critical regression" in titles

        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, AlertsScreen)
        rows = cells(app)
        assert len(rows) == 1
        assert rows[0][0] == "critical"
        assert rows[0][1] == "open"
        assert rows[0][3].endswith(" ms")
        assert 9.0 < float(rows[0][3].split()[0]) < 11.0
        assert 280 < float(rows[0][4].split()[0]) < 320
        detail = str(app.screen.query_one("#alerts-detail", Static).render())
        assert SLOW in detail
        assert "opened" in detail
        assert {"acknowledge", "accept"} <= active_actions(app)

        await pilot.press("a")
        await settle(app, pilot)
        assert cells(app)[0][1] == "acknowledged"
        assert center.service.unacknowledged(Severity.HIGH) == []
        # The status bar showed "no alerts" while the alert was still open.
        assert app.status.alert_count == 1
        assert app.status.describe_alerts() == "1 alert acknowledged"

        # A second a logged a second event and repeated the confirmation.
        await pilot.press("a")
        await settle(app, pilot)
        events = await center.service.events(SLOW, limit=10)
        assert [e.event for e in events].count("acknowledged") == 1
        messages = [note.message for note in app._notifications]
        assert sum(m.startswith("Acknowledged ") for m in messages) == 1
        assert f"{SLOW} is already acknowledged; it alerts again if it worsens." in (
            messages
        )
        assert app.status.describe_alerts() == "1 alert acknowledged"


async def test_quick_clear_follows_notification(settings: Settings) -> None:
    """An alert that clears while its notification is still shown gets a
    second one, so the notifications agree with the status bar's count."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        start = time.time() - 200.0
        await feed(center, [10.0] * 40 + [300.0] * 4, start)
        await pilot.pause()
        titles = [note.title for note in app._notifications]
        assert "Critical regression" in titles
        await feed(center, [10.0] * 4, start + 2.0 * 44)
        await pilot.pause()
        assert app.status.alert_count == 0
        assert app.status.describe_alerts() == "no alerts"
        cleared = [n for n in app._notifications if n.title.startswith("Cleared")]
        assert [n.title for n in cleared] == ["Cleared: critical regression"]
        assert cleared[0].message.startswith(LABEL)
        await feed(center, [10.0] * 4, start + 2.0 * 48)
        await pilot.pause()
        cleared = [n for n in app._notifications if n.title.startswith("Cleared")]
        assert len(cleared) == 1


async def test_status_agrees_with_alerts_screen(settings: Settings) -> None:
    """The status bar showed "worst ERROR" for an alert the table calls critical,
    and could show another count than the Alerts screen's header."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        await feed(center, [10.0] * 40 + [300.0] * 4, time.time() - 200.0)
        await pilot.pause()
        # A count that no longer matches the alerts, as a missed update leaves it.
        app.set_alert_count(5, "warning")
        await pilot.press("a")
        await settle(app, pilot)
        header = str(app.screen.query_one("#alerts-status", Static).render())
        [row] = cells(app)
        assert "1 active, 1 unacknowledged" in header
        assert app.status.alert_count == 1
        assert app.status.describe_alerts() == f"1 alert, worst {row[0]}"
        status_text = app.screen.query_one("#status-alerts", Static).render()
        assert str(status_text) == app.status.describe_alerts()


async def test_cleared_alert_stays_in_history(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        await feed(center, [10.0] * 40 + [300.0] * 4 + [10.0] * 4, time.time() - 200.0)
        await center.service.flush()
        await pilot.press("a")
        await settle(app, pilot)
        rows = cells(app)
        assert [row[1] for row in rows] == ["cleared"]
        assert app.status.alert_count == 0
        # A cleared alert cannot be acknowledged or accepted: the footer
        # leaves those keys out and keeps refresh.
        assert active_actions(app) & {"acknowledge", "accept"} == set()
        assert "refresh" in active_actions(app)


async def test_empty_alert_list_offers_only_refresh(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_center(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert cells(app) == []
        assert active_actions(app) & {"acknowledge", "accept"} == set()
        assert "refresh" in active_actions(app)


async def test_medium_alert_counts_without_notification(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        await feed(center, [10.0] * 40 + [25.0] * 4, time.time() - 200.0)
        await pilot.pause()
        assert app.status.describe_alerts() == "1 alert, worst medium"
        titles = [note.title or "" for note in app._notifications]
        assert not any("regression" in title for title in titles)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_accept_clears_the_alert(
    settings: Settings, size: tuple[int, int]
) -> None:
    """Accepting needs a confirmation that names the level. The cleared alert
    then reads "accepted as normal at" that level, with that level in its
    Baseline column.
    """
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        center = await wait_for_center(app, pilot)
        await feed(center, [10.0] * 40 + [300.0] * 4, time.time() - 200.0)
        await pilot.press("a")
        await settle(app, pilot)
        [alert] = center.service.active()
        level = format_value(SLOW, alert.value)
        old_baseline = format_value(SLOW, alert.baseline)
        assert old_baseline != level
        assert [row[3] for row in cells(app)] == [old_baseline]
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == f"Accept {level} as the normal level of {SLOW}?"
        assert center.service.active() == [alert]

        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, AlertsScreen)
        await app.screen.workers.wait_for_complete()
        await settle(app, pilot)
        assert app.status.alert_count == 0
        assert center.service.active() == []
        baseline = center.service.detector.baseline(SLOW)
        assert baseline is not None
        assert baseline.mean == alert.value
        assert baseline.accepted == alert.value
        detail = str(app.screen.query_one("#alerts-detail", Static).render())
        assert f"accepted as normal at {level}" in detail
        assert "cleared at" not in detail
        # The Baseline column shows the accepted level, as the key's baseline.
        assert [row[1:4:2] for row in cells(app)] == [["cleared", level]]


async def test_accept_declined_keeps_the_alert(settings: Settings) -> None:
    """The dialog names the bound below which the key does not alert, which
    is 1.5 times the accepted level, not the level itself. Declining keeps
    the alert and the baseline as they were."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        await feed(center, [10.0] * 40 + [300.0] * 4, time.time() - 200.0)
        await pilot.press("a")
        await settle(app, pilot)
        [alert] = center.service.active()
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        bound = format_value(SLOW, 1.5 * alert.value)
        assert app.screen.warning == (
            f"Values below {bound} (1.5 times this level) will not alert for"
            f" this key until 'evedmv baseline reset {SLOW}'."
        )
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, AlertsScreen)
        assert [a.key for a in center.service.active()] == [SLOW]
        baseline = center.service.detector.baseline(SLOW)
        assert baseline is not None
        assert baseline.accepted is None


async def test_unusable_baseline_file_is_reported(
    settings: Settings, tmp_path: Path
) -> None:
    """A directory where the baseline file belongs must not stop the dashboard."""
    path = baseline_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir()
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        await pilot.pause()
        assert "alerts are kept in memory only, not saved" in app.status.message
        assert f"Hint: remove or rename the folder {path}" in app.status.message
        await feed(center, [10.0] * 40 + [300.0] * 4, time.time() - 200.0)
        await pilot.pause()
        assert app.status.alert_count == 1
        await pilot.press("a")
        await settle(app, pilot)
        status = str(app.screen.query_one("#alerts-status", Static).render())
        assert "alerts are kept in memory only, not saved" in status
        assert len(cells(app)) == 1


@pytest.fixture
def other_settings(
    settings: Settings, pg_cluster: PrivateCluster
) -> Iterator[Settings]:
    """Settings of a second database on the same server, sharing the state dir."""
    name = _create_database(pg_cluster)
    try:
        yield dataclasses.replace(settings, dsn=pg_cluster.url(name))
    finally:
        _drop_database(pg_cluster, name)


async def test_dashboard_keeps_baselines_per_database(
    settings: Settings, other_settings: Settings
) -> None:
    """A restart finds its database's baselines; another database starts empty."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        assert center.service.status.path == baseline_file(settings)
        await feed(center, [10.0] * 40, time.time() - 200.0)

    app = EvedmvApp(other_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        assert center.service.status.path == baseline_file(other_settings)
        assert center.service.detector.baseline(SLOW) is None
        await feed(center, [300.0] * 44, time.time() - 200.0)
        await pilot.pause()
        assert app.status.alert_count == 0

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        baseline = center.service.detector.baseline(SLOW)
        assert baseline is not None
        assert 9.0 < baseline.mean < 11.0


RATE = "statement:5e1ec7000000abcd:calls_per_s"


def open_slow_alert(now: float) -> Alert:
    """Return a critical alert of SLOW opened 300 s before ``now`` at 300 ms,
    now at 120 ms against a 10 ms baseline."""
    return Alert(
        SLOW,
        LABEL,
        "level",
        Severity.CRITICAL,
        now - 300,
        now - 10,
        baseline=10.0,
        value=120.0,
        peak=310.0,
        size=12.0,
        detail="120 ms against 10 ms",
        opened_value=300.0,
    )


async def test_alert_table_and_detail_agree(settings: Settings) -> None:
    """Each figure reads the same in the table and the detail, under its own name.

    The cleared rate alert opened at 3/s, cleared at 0.458/s, and its
    baseline is 0.498/s. The open one opened at 300 ms, its latest value is
    120 ms, and its baseline is 10 ms.
    """
    now = time.time()
    cleared = Alert(
        RATE,
        "SELECT $1",
        "level",
        Severity.MEDIUM,
        now - 300,
        now - 60,
        baseline=0.498,
        value=0.458,
        peak=3.2,
        size=0.92,
        detail="0.458/s against 0.498/s",
        cleared_at=now - 60,
        opened_value=3.0,
    )
    still_open = open_slow_alert(now)
    evidence = [
        RecordedSample(RATE, now - 70 + i, value, 2.0)
        for i, value in enumerate([3.0, 3.2, 1.4, 0.51, 0.458])
    ] + [
        RecordedSample(SLOW, now - 20 + i, value, 2.0)
        for i, value in enumerate([300.0, 310.0, 120.0])
    ]
    app = EvedmvApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        center = await wait_for_center(app, pilot)
        # The store clears only a row it has open, as the service writes it.
        opened = dataclasses.replace(cleared, cleared_at=None)
        writes = [still_open, opened, cleared]
        batch = SaveBatch(
            alerts=[AlertWrite(alert.stored()) for alert in writes],
            samples=evidence,
        )
        await center.service.store.save(batch)
        await pilot.press("a")
        await settle(app, pilot)

        rows = cells(app)
        assert [row[1] for row in rows] == ["open", "cleared"]
        assert rows[0][3:5] == ["10 ms", "120 ms"]
        assert rows[1][3:5] == ["0.498/s", "0.458/s"]
        detail = str(app.screen.query_one("#alerts-detail", Static).render())
        assert "critical level: opened at 300 ms, latest 120 ms, baseline 10 ms" in (
            detail
        )
        assert "peak 310 ms" in detail
        assert "recent: 300 ms, 310 ms, 120 ms" in detail

        await pilot.press("down")
        await settle(app, pilot)
        detail = str(app.screen.query_one("#alerts-detail", Static).render())
        assert RATE in detail
        assert (
            "level peaked at medium; opened at 3/s, cleared at 0.458/s,"
            " baseline 0.498/s"
        ) in detail
        assert "peak 3.2/s" in detail
        assert detail.count("0.458/s") == 2
        assert "recent: 3/s, 3.2/s, 1.4/s, 0.51/s, 0.458/s" in detail


async def test_monitor_snapshots_reach_the_detector(
    settings: Settings, db_url: str
) -> None:
    """Samples from the monitor's polling thread are judged on the app's loop."""
    import asyncio

    from evedmv_tui.monitor.poller import Monitor
    from evedmv_tui.store.telemetry import Telemetry

    app = EvedmvApp(settings)
    monitor = Monitor(None, settings, conninfo=db_url, telemetry=Telemetry())
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            center = await wait_for_center(app, pilot)
            center.subscribe(monitor)
            for _ in range(3):
                await asyncio.to_thread(monitor.poll)
            for _ in range(100):
                if center.service.detector.baseline("database:tps") is not None:
                    break
                await pilot.pause(0.02)
            baseline = center.service.detector.baseline("database:tps")
            assert baseline is not None
            assert baseline.count >= 1
    finally:
        monitor.close()


async def test_alerts_of_one_poll_share_a_notification(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        keys = [f"operation:screen{n}:p95_ms" for n in range(3)]
        at = time.time() - 200.0
        for step in range(44):
            at += 2.0
            value = 10.0 if step < 40 else 300.0
            await center.observe(
                [Sample(key, value, at, 2.0, True, key) for key in keys]
            )
        await pilot.pause()
        assert app.status.alert_count == 3
        notes = [note for note in app._notifications if "alerts" in (note.title or "")]
        assert len(notes) == 1
        assert notes[0].title == "3 new alerts, worst critical"
        assert "and 2 more: press a for the list" in notes[0].message


async def test_recovering_alert_shows_peak_severity(
    settings: Settings,
) -> None:
    """One fast call after slow ones: still open, but not shown as critical."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        center = await wait_for_center(app, pilot)
        await feed(center, [10.0] * 40 + [300.0] * 4 + [7.5], time.time() - 200.0)
        await center.service.flush()
        await pilot.pause()
        # The status bar showed a bare "1 alert" while the table showed
        # "was critical".
        assert app.status.describe_alerts() == "1 alert, worst was critical"
        await pilot.press("a")
        await settle(app, pilot)
        rows = cells(app)
        assert [row[:2] for row in rows] == [["was critical", "recovering"]]
        detail = str(app.screen.query_one("#alerts-detail", Static).render())
        assert "level peaked at critical; opened at " in detail
        assert " ms, latest 7" in detail
        assert "critical level" not in detail


async def test_screen_says_baselines_are_learning(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With baselines still learning, the screen read only "0 active" and
    "No alert selected.", as if nothing could ever alert."""
    # Only the samples fed below count: the dashboard's own monitor would add
    # keys of its own polls whenever a poll finishes on a busy machine.
    monkeypatch.setattr(AlertCenter, "observe_threadsafe", lambda *_args: None)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        status = " ".join(str(app.screen.query_one("#alerts-status").render()).split())
        assert "Learning baselines: no key sampled yet." in status
        assert "A key can alert after 20 samples, one per poll" in status

        await feed(center, [10.0] * 25, time.time() - 200.0)
        at = time.time() - 100.0
        for step in range(5):
            other = Sample(HIT_RATIO, 0.99, at + 2.0 * step, 2.0, True, "hit ratio")
            await center.observe([other])
        await pilot.press("r")
        await settle(app, pilot)
        status = " ".join(str(app.screen.query_one("#alerts-status").render()).split())
        assert "Learning baselines: 1 of 2 keys ready." in status

        for step in range(5, 25):
            other = Sample(HIT_RATIO, 0.99, at + 2.0 * step, 2.0, True, "hit ratio")
            await center.observe([other])
        await pilot.press("r")
        await settle(app, pilot)
        status = str(app.screen.query_one("#alerts-status").render())
        assert "Learning" not in status
