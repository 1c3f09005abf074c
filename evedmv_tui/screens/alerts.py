"""The alerts screen, and the glue between the alert service and the dashboard.

:func:`start_alert_center` opens the
:class:`~evedmv_tui.monitor.regressions.AlertService` on the baseline file of
the database the app connects to (:func:`~evedmv_tui.store.target.baseline_file`)
in a task of the app, sets ``app.alert_center`` and keeps the service open until
the task is cancelled at shutdown. The monitor feeds it with
``app.alert_center.subscribe(monitor)``; every poll then updates the status
bar count, and new high and critical alerts become notifications.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Static

from evedmv_tui.monitor.regressions import (
    RULES,
    TREND_SUFFIX,
    Alert,
    AlertService,
    Rule,
    Severity,
    baseline_name,
    describe,
    format_value,
    rule_for,
    severity_text,
)
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.store.baselines import AlertEvent, Baseline
from evedmv_tui.store.target import baseline_file, settings_target
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen
from evedmv_tui.widgets.table import Cell, KeyedTable, right
from evedmv_tui.widgets.text import count_noun, truncate

if TYPE_CHECKING:
    from evedmv_tui.monitor.poller import Monitor

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
OPEN_ALERT_ACTIONS = frozenset({"acknowledge", "accept"})
"""Actions on the selected alert while it is open."""
NOTIFY_SECONDS = 10.0
"""Seconds a notification of new alerts stays on screen."""
EVENTS_SEARCHED = 20
"""Log lines of a key searched for the event that cleared one of its alerts."""
EVENTS_SHOWN = 20
"""Log lines of the selected alert that the detail panel shows, newest first."""
SAMPLES_SHOWN = 6
"""Recorded samples of the selected alert that the detail panel shows."""
STATUS_SEVERITY = {
    Severity.LOW: "info",
    Severity.MEDIUM: "warning",
    Severity.HIGH: "error",
    Severity.CRITICAL: "critical",
}
"""Status bar severity name of each alert severity."""
COLUMNS = (
    ("severity", "Severity"),
    ("state", "State"),
    ("since", "Since"),
    ("baseline", "Baseline"),
    ("value", "Latest"),
    ("label", "Statement or key"),
)
ALERT_HINTS = {
    "cache:names:hit_ratio": (
        "This is the share of entity name lookups answered from memory, not"
        " from the names table or ESI. Pages that show entities not shown"
        " since the dashboard started lower it, which only makes them slower."
        " If it stays low, accept it as normal: n on the alerts screen."
    ),
}
"""Hints of the keys whose alerts do not explain themselves: what the key
measures and what to do. The notification and the detail panel show them."""
LABEL_COLUMN = len(COLUMNS) - 1
MIN_LABEL_WIDTH = 12
"""Cells the statement column keeps when the other columns fill the table."""
SCROLLBAR_WIDTH = 2


class AlertCenter:
    """The dashboard's alert service: fed by the monitor, shown in the status bar.

    All methods run on the app's event loop except :meth:`observe_threadsafe`,
    which the monitor's polling thread calls.
    """

    def __init__(self, app: App[Any], service: AlertService) -> None:
        self.app = app
        self.service = service
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        self._unsubscribe: list[Callable[[], None]] = []
        self._unannounced: list[Alert] = []
        self._announced: dict[str, tuple[Alert, float]] = {}
        """Alerts named in a notification, by key, with the monotonic time
        of that notification."""
        self._status_shown = service.status.text
        """The baseline file's status text last put in the status bar."""
        service.add_listener(self._unannounced.append)

    @property
    def status_message(self) -> str:
        """The baseline file's problem and its fix, or an empty string."""
        return self.service.status.text

    def subscribe(self, monitor: Monitor) -> None:
        """Judge the samples of every snapshot ``monitor`` takes."""
        self._unsubscribe.append(
            monitor.subscribe(
                lambda snapshot: self.observe_threadsafe(snapshot.samples)
            )
        )

    def observe_threadsafe(self, samples: Sequence[Sample]) -> None:
        """Queue one poll's samples from any thread; never waits for the result."""
        future = asyncio.run_coroutine_threadsafe(self.observe(samples), self._loop)
        future.add_done_callback(_log_failure)

    async def observe(self, samples: Sequence[Sample]) -> list[Alert]:
        """Judge one poll's samples and update the status bar."""
        async with self._lock:
            raised = await self.service.observe(list(samples))
        self._show_status()
        self.update_count()
        self._announce_cleared()
        self._announce()
        return raised

    def _show_status(self) -> None:
        """Show a new problem of the baseline file, such as a reopened or
        removed file, in the status bar and the message log."""
        status = self.service.status
        text = status.text
        if text == self._status_shown:
            return
        self._status_shown = text
        if not text:
            return
        app: Any = self.app
        app.set_status(text, status.level)
        app.notify(
            text,
            title="Baseline file",
            severity="error" if status.level == "error" else "warning",
            timeout=NOTIFY_SECONDS,
            markup=False,
        )

    def update_count(self) -> None:
        """Show the open alerts in the status bar, and how many are acknowledged.

        The worst severity is that of the unacknowledged alerts whose value
        still reaches a threshold. When all of them are recovering, it is
        their peak in the table's words (``was high``) and colours as info.
        """
        active = self.service.active()
        pending = [a for a in active if not a.acknowledged]
        current = [a for a in pending if not a.recovering]
        level, label = "info", ""
        if current:
            worst = max(current, key=lambda a: a.severity)
            level, label = STATUS_SEVERITY[worst.severity], severity_text(worst)
        elif pending:
            label = severity_text(max(pending, key=lambda a: a.severity))
        app: Any = self.app
        app.set_alert_count(
            len(active), level, label, acknowledged=len(active) - len(pending)
        )

    async def acknowledge(self, key: str) -> Alert | None:
        alert = await self.service.acknowledge(key)
        self.update_count()
        return alert

    async def accept(self, key: str, level: float | None = None) -> bool:
        accepted = await self.service.accept(key, level=level)
        self.update_count()
        return accepted

    def _announce(self) -> None:
        """Show one notification for the alerts one poll raised, worst first.

        After a restart or an outage many keys can regress in the same poll;
        one notification per key covered the screen.
        """
        alerts = sorted(self._unannounced, key=lambda a: a.severity, reverse=True)
        self._unannounced.clear()
        if not alerts:
            return
        worst = alerts[0]
        source = worst.key.removesuffix(TREND_SUFFIX)
        headline = "memory keeps growing" if worst.kind == "trend" else "regression"
        text = (
            f"{worst.label or worst.key}\n"
            f"latest {format_value(source, worst.value)},"
            f" {baseline_name(worst)} {format_value(source, worst.baseline)}"
        )
        hint = ALERT_HINTS.get(worst.key)
        if hint is not None:
            text += f"\n{hint}"
        title = f"{worst.severity.label.capitalize()} {headline}"
        if len(alerts) > 1:
            title = f"{len(alerts)} new alerts, worst {worst.severity.label}"
            text += f"\nand {len(alerts) - 1} more: press a for the list"
        self.app.notify(
            text,
            title=title,
            severity="error" if worst.severity >= Severity.HIGH else "warning",
            timeout=NOTIFY_SECONDS,
            markup=False,
        )
        self._announced[worst.key] = (worst, time.monotonic())

    def _announce_cleared(self) -> None:
        """Notify when an alert clears while its notification is still shown.

        An alert clears after three good polls (6 s at the default interval),
        before its notification times out, which would otherwise still name
        an alert that the status bar no longer counts.
        """
        now = time.monotonic()
        active = {alert.key for alert in self.service.active()}
        for key, (alert, shown_at) in list(self._announced.items()):
            if key in active and now - shown_at < NOTIFY_SECONDS:
                continue
            del self._announced[key]
            if key in active or now - shown_at >= NOTIFY_SECONDS:
                continue
            self.app.notify(
                f"{alert.label or alert.key}\nback to normal: press a for its history",
                title=f"Cleared: {alert.severity.label} regression",
                severity="information",
                timeout=NOTIFY_SECONDS,
                markup=False,
            )

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        await self.service.close()


def _log_failure(future: Any) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        log.error("judging samples failed: %s", exc, exc_info=exc)


def start_alert_center(app: App[Any]) -> asyncio.Task[None]:
    """Start the alert service for ``app``; it sets ``app.alert_center`` when open.

    The service lives in a task of the app's event loop rather than in a
    worker, so tests that wait for the app's workers do not wait for it. The
    task closes the service when it is cancelled, which ``asyncio.run``
    does to every task left when the app's loop ends.
    """
    task = asyncio.get_running_loop().create_task(
        run_alert_center(app), name=f"alert-center-{id(app)}"
    )
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return task


_TASKS: set[asyncio.Task[None]] = set()
"""Running alert center tasks; asyncio keeps only weak references to tasks."""
CLOSE_TIMEOUT = 5.0
"""Seconds the app waits at exit for the alert service to commit its writes."""


async def stop_alert_center(app: App[Any]) -> None:
    """Cancel the alert center tasks of ``app`` and wait for them to close.

    The app calls this while its event loop still runs, so the baseline
    store's writer task commits the queued writes before the loop ends.
    """
    tasks = [task for task in _TASKS if task.get_name() == f"alert-center-{id(app)}"]
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
    if pending:
        log.warning(
            "the alert service did not close within %.0f s; queued writes are lost",
            CLOSE_TIMEOUT,
        )


async def run_alert_center(app: App[Any]) -> None:
    """Open the alert service, set ``app.alert_center``, and close it on cancel.

    A baseline file that cannot be used is reported in the status bar; the
    service then keeps baselines in memory. Any failure here is logged and
    leaves the dashboard running without regression alerts.
    """
    try:
        settings = app.settings  # type: ignore[attr-defined]
        path = baseline_file(settings)
        log.info(
            "regression baselines of %s in %s", settings_target(settings).conninfo, path
        )
        service = await AlertService.open(path)
    except Exception:
        log.exception("cannot start regression alerts")
        app.set_status(  # type: ignore[attr-defined]
            "regression alerts could not start; see the log", "error"
        )
        return
    center = AlertCenter(app, service)
    app.alert_center = center  # type: ignore[attr-defined]
    status = service.status
    if status.message:
        app.set_status(status.text, status.level)  # type: ignore[attr-defined]
    center.update_count()
    try:
        await asyncio.Event().wait()
    finally:
        app.alert_center = None  # type: ignore[attr-defined]
        await center.close()


def _since(at: float, now: float) -> str:
    seconds = max(now - at, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


def alert_state(alert: Alert, now: float) -> str:
    if alert.cleared_at is not None:
        return "cleared"
    if alert.stale(now):
        return "stale"
    if alert.acknowledged:
        return "acknowledged"
    if alert.recovering:
        return "recovering"
    if alert.suppressed:
        return alert.suppressed
    return "open"


def alert_threshold(rule: Rule, level: float) -> float | None:
    """Return the first value that deviates enough from an accepted ``level``.

    This mirrors the detector's deviation size and minimum change
    (``RegressionDetector._measure`` and ``_observe_level``): a value must
    reach the rule's low tier and differ by ``min_delta``. The detector also
    needs the value 3 standard deviations off and 3 deviating polls of 4, so
    an alert can open later than this value, never sooner. None for a rule
    whose direction is ``both``, which ignores an accepted level.
    """
    low = rule.tiers[0]
    if rule.direction == "up" and rule.measure == "ratio":
        rise = low * max(level, rule.sigma_floor, rule.ratio_floor)
        return max(rise, level + rule.min_delta, rule.min_value)
    if rule.direction == "up":
        return max(level + max(low, rule.min_delta), rule.min_value)
    if rule.direction == "down" and rule.measure == "ratio":
        return min(level / low, level - rule.min_delta)
    if rule.direction == "down":
        return level - max(low, rule.min_delta)
    return None


def accept_question(
    alert: Alert, rules: Sequence[Rule] = RULES
) -> tuple[str, str, float | None]:
    """Return the question, warning and level of accepting ``alert`` as normal.

    A level alert accepts its latest value, the one the question names, as
    the baseline. The warning names the value below which the key does not
    alert. A trend alert has no level: accepting it only clears it.
    """
    if alert.kind == "trend":
        source = alert.key.removesuffix(TREND_SUFFIX)
        return (
            f"Accept the growth of {source} as normal and clear its alert?",
            "Its growth window starts anew, so steady growth alerts again later.",
            None,
        )
    level = format_value(alert.key, alert.value)
    rule = rule_for(alert.key, rules)
    threshold = alert_threshold(rule, alert.value)
    until = f"until 'evedmv baseline reset {alert.key}'"
    if threshold is None:
        warning = f"The key's baseline becomes {level} {until}."
    else:
        bound = format_value(alert.key, threshold)
        if rule.direction == "up" and threshold == rule.tiers[0] * alert.value:
            bound += f" ({rule.tiers[0]:g} times this level)"
        side = "below" if rule.direction == "up" else "above"
        warning = f"Values {side} {bound} will not alert for this key {until}."
    return (f"Accept {level} as the normal level of {alert.key}?", warning, alert.value)


def cleared_by_accept(alert: Alert, events: Sequence[AlertEvent]) -> bool:
    """Return True when the log of ``alert``'s key shows an accept cleared it."""
    return alert.cleared_at is not None and any(
        event.event == "accepted" and event.at == alert.cleared_at for event in events
    )


def learning_text(baselines: Sequence[Baseline], min_samples: int) -> str | None:
    """Return the line that counts the keys still learning, or None if none is.

    A key alerts only once its baseline has ``min_samples`` samples, so an
    empty list may only mean that nothing could alert yet.
    """
    ready = sum(1 for baseline in baselines if baseline.count >= min_samples)
    if baselines and ready == len(baselines):
        return None
    counted = "no key sampled yet"
    if baselines:
        counted = f"{ready} of {count_noun(len(baselines), 'key')} ready"
    return (
        f"Learning baselines: {counted}. A key can alert after {min_samples}"
        " samples, one per poll ('evedmv baseline show' lists them)."
    )


def row_key_of(alert: Alert) -> str:
    """Return the key of ``alert``'s row in the alert table."""
    return f"{alert.key}@{alert.opened_at}"


async def accepted_rows(center: AlertCenter, history: Sequence[Alert]) -> set[str]:
    """Return the row keys of the level alerts in ``history`` that an accept
    cleared, reading the alert log once for each key that has any."""
    cleared = [a for a in history if a.kind == "level" and a.cleared_at is not None]
    events: dict[str, Sequence[AlertEvent]] = {}
    for alert in cleared:
        if alert.key not in events:
            events[alert.key] = await center.service.events(
                alert.key, limit=EVENTS_SEARCHED
            )
    return {
        row_key_of(alert)
        for alert in cleared
        if cleared_by_accept(alert, events[alert.key])
    }


def label_width(
    table_width: int, rows: Sequence[Sequence[Cell]], *, scrollbar: bool
) -> int:
    """Return the width the statement column may take so that the table fits.

    Every column is as wide as its header or its widest cell, plus one space
    of padding on each side, as DataTable draws it. The statement column is
    the last, so only its left padding must fit. ``scrollbar`` leaves room
    for the vertical scroll bar of a table with more rows than it shows.
    """
    used = 1 + (SCROLLBAR_WIDTH if scrollbar else 0)
    for index, (_, header) in enumerate(COLUMNS):
        if index == LABEL_COLUMN:
            continue
        widths = [len(str(row[index])) for row in rows]
        used += max([len(header), *widths]) + 2
    return max(MIN_LABEL_WIDTH, table_width - used)


def severity_cell(alert: Alert, now: float) -> Text:
    """Return the severity cell, dim unless the alert's value still deviates."""
    style = {
        Severity.CRITICAL: "bold red",
        Severity.HIGH: "red",
        Severity.MEDIUM: "yellow",
        Severity.LOW: "",
    }[alert.severity]
    if alert.cleared_at is not None or alert.recovering or alert.stale(now):
        style = "dim"
    return Text(severity_text(alert), style=style)


class AlertsScreen(DashboardScreen):
    """Active and past regression alerts, with the log of the selected one."""

    TITLE = "Alerts"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Acknowledge", id="alerts.acknowledge"),
        Binding("n", "accept", "Accept as normal", id="alerts.accept"),
        Binding("r", "refresh", "Refresh", id="alerts.refresh"),
    ]
    DEFAULT_CSS = """
    AlertsScreen #alerts-status {
        height: auto;
        color: $text-muted;
    }
    AlertsScreen #alerts-table {
        height: 1fr;
    }
    AlertsScreen #alerts-detail-pane {
        height: 9;
        border-top: solid $primary-muted;
    }
    """
    HELP_NOTES: ClassVar[tuple[str, ...]] = (
        "The panel under the table shows the selected alert, its samples and"
        " its log: Tab moves into it, where the arrows scroll.",
    )

    def __init__(self) -> None:
        super().__init__()
        self._alerts: dict[str, Alert] = {}
        self._last_shown: (
            tuple[AlertCenter, list[Alert], list[Alert], set[str]] | None
        ) = None
        """The last alerts shown, drawn again when the screen is resized."""
        self._reload: Timer | None = None
        """The pending reload; each refresh arms the next one."""
        self._asking = False
        """True while the accept dialog is open, so no reload runs until it
        closes."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="alerts-status", markup=False)
        yield KeyedTable(COLUMNS, id="alerts-table")
        with VerticalScroll(id="alerts-detail-pane"):
            yield Static("", id="alerts-detail", markup=False)

    def on_mount(self) -> None:
        self.refresh_alerts()

    def on_resize(self, event: events.Resize) -> None:
        # DashboardScreen.on_resize runs too and checks the minimum size.
        if self._last_shown is not None:
            self._show(*self._last_shown)

    def load_data(self) -> None:
        # Alerts come from the baseline file, not the database.
        return

    @property
    def center(self) -> AlertCenter | None:
        return getattr(self.app, "alert_center", None)

    def refresh_alerts(self) -> None:
        self.run_worker(self._refresh(), group="alerts", exclusive=True)

    async def _refresh(self) -> None:
        try:
            center = self.center
            if center is None:
                self._show_unavailable()
                return
            active = center.service.active()
            history = await center.service.history(200)
            accepted = await accepted_rows(center, history)
            self._show(center, active, history, accepted)
            await self._show_detail()
        finally:
            # The next reload replaces any pending one, so a manual refresh
            # does not start a second chain of reloads.
            if self._reload is not None:
                self._reload.stop()
                self._reload = None
            if not self._asking:
                self._reload = self.set_timer(REFRESH_SECONDS, self.refresh_alerts)

    def _show_unavailable(self) -> None:
        self.query_one("#alerts-status", Static).update(
            "Regression alerts are starting, or could not start; see the log."
        )
        self.query_one(KeyedTable).update_rows([])

    def _show(
        self,
        center: AlertCenter,
        open_alerts: list[Alert],
        history: list[Alert],
        accepted: set[str],
    ) -> None:
        self._last_shown = (center, open_alerts, history, accepted)
        active = {a.key: a for a in open_alerts}
        merged = list(active.values()) + [
            a for a in history if a.cleared_at is not None or a.key not in active
        ]
        now = time.time()
        rows: list[tuple[str, list[Cell]]] = []
        self._alerts = {}
        for alert in merged:
            row_key = row_key_of(alert)
            if row_key in self._alerts:
                continue
            self._alerts[row_key] = alert
            source = alert.key.removesuffix(TREND_SUFFIX)
            # An accepted level is the key's baseline from then on.
            baseline = alert.value if row_key in accepted else alert.baseline
            rows.append(
                (
                    row_key,
                    [
                        severity_cell(alert, now),
                        alert_state(alert, now),
                        _since(alert.opened_at, now),
                        right(format_value(source, baseline)),
                        right(format_value(source, alert.value)),
                        " ".join((alert.label or alert.key).split()),
                    ],
                )
            )
        table = self.query_one(KeyedTable)
        # DataTable cuts a cell at the screen's edge without a mark, so the
        # statement text is cut here to the width left, ending with "…".
        table_width = table.size.width or self.app.size.width
        scrollbar = len(rows) + 1 > table.size.height
        width = label_width(
            table_width, [cells for _, cells in rows], scrollbar=scrollbar
        )
        for _, cells in rows:
            cells[LABEL_COLUMN] = truncate(str(cells[LABEL_COLUMN]), width)
        table.update_rows(rows)
        self.refresh_bindings()
        unacknowledged = center.service.unacknowledged()
        # The status bar shows the same count. Setting it here keeps the two
        # equal even if a change to the alerts missed its update.
        center.update_count()
        text = (
            f"{len(active)} active, {len(unacknowledged)} unacknowledged,"
            f" {len(merged) - len(active)} cleared."
        )
        if center.status_message:
            text = f"{center.status_message}\n{text}"
        detector = center.service.detector
        learning = learning_text(detector.baselines(), detector.config.min_samples)
        if learning is not None:
            text = f"{text}\n{learning}"
        self.query_one("#alerts-status", Static).update(text)

    def selected(self) -> Alert | None:
        key = self.query_one(KeyedTable).cursor_key
        return None if key is None else self._alerts.get(key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in OPEN_ALERT_ACTIONS:
            # Only an open alert can be acknowledged or accepted, so the keys
            # leave the footer on an empty list or a cleared alert.
            alert = self.selected()
            if alert is None or alert.cleared_at is not None:
                return False
        return super().check_action(action, parameters)

    async def _show_detail(self) -> None:
        detail = self.query_one("#alerts-detail", Static)
        alert = self.selected()
        center = self.center
        if alert is None or center is None:
            detail.update("No alert selected.")
            return
        events = await center.service.alert_events(alert, limit=EVENTS_SHOWN)
        # Samples of the alert's own span: a later alert of the key has its
        # own samples, and none is newer than the row's Latest value.
        evidence = await center.service.evidence(
            alert.key,
            limit=SAMPLES_SHOWN,
            since=alert.opened_at,
            until=alert.updated_at,
        )
        source = alert.key.removesuffix(TREND_SUFFIX)
        now = time.time()
        accepted = cleared_by_accept(alert, events)
        lines = [
            f"{alert.key}",
            describe(alert, now, accepted=accepted),
            f"peak {format_value(source, alert.peak)}",
        ]
        if evidence:
            values = ", ".join(format_value(source, s.value) for s in evidence)
            lines.append(f"recent: {values}")
        hint = ALERT_HINTS.get(alert.key)
        if hint is not None:
            lines.append(hint)
        for event in events:
            ago = _since(event.at, now)
            lines.append(f"{ago} ago: {event.event} {event.note}".rstrip())
        detail.update("\n".join(lines))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()
        self.run_worker(self._show_detail(), group="alerts-detail", exclusive=True)

    async def action_acknowledge(self) -> None:
        alert = self.selected()
        center = self.center
        if alert is None or center is None or alert.cleared_at is not None:
            self.app.notify("Select an open alert first.", severity="warning")
            return
        # The row can be up to one refresh old, so the open alert decides.
        current = next((a for a in center.service.active() if a.key == alert.key), None)
        if current is not None and current.acknowledged:
            self.app.notify(
                f"{alert.key} is already acknowledged; it alerts again if it worsens.",
                markup=False,
            )
        elif await center.acknowledge(alert.key) is None:
            self.app.notify(f"{alert.key} is no longer open.", severity="warning")
        else:
            self.app.notify(f"Acknowledged {alert.key}; quiet until it worsens.")
        self.refresh_alerts()

    def action_accept(self) -> None:
        """Ask to accept the selected alert's latest value as normal, then do so.

        The level asked about and accepted is the Latest value of the row, as
        the table shows it. The reloads wait until the dialog closes, so a
        newer sample cannot change the row behind the dialog.
        """
        alert = self.selected()
        center = self.center
        if alert is None or center is None or alert.cleared_at is not None:
            self.app.notify("Select an open alert first.", severity="warning")
            return
        rules = center.service.detector.config.rules
        question, warning, level = accept_question(alert, rules)
        self._asking = True
        self.workers.cancel_group(self, "alerts")
        if self._reload is not None:
            self._reload.stop()
            self._reload = None

        def answered(yes: bool | None) -> None:
            self._asking = False
            if yes:
                self.run_worker(
                    self._accept(center, alert, level), group="alerts-accept"
                )
            else:
                self.refresh_alerts()

        self.app.push_screen(
            ConfirmScreen(question, subject=alert.label or None, warning=warning),
            answered,
        )

    async def _accept(
        self, center: AlertCenter, alert: Alert, level: float | None
    ) -> None:
        if not await center.accept(alert.key, level):
            self.app.notify(f"No baseline or open alert for {alert.key}.", markup=False)
        elif level is None:
            self.app.notify(
                f"Accepted the growth of {alert.key} as normal.", markup=False
            )
        else:
            value = format_value(alert.key, level)
            self.app.notify(
                f"Accepted {value} as normal for {alert.key}.", markup=False
            )
        self.refresh_alerts()

    def action_refresh(self) -> None:
        self.refresh_alerts()
