"""The ``evedmv regressions`` and ``evedmv baseline show | reset | accept`` commands.

Both read the baseline file that the dashboard writes for the database the
settings connect to (:func:`~evedmv_tui.store.target.baseline_file`), and
may run while dashboards have it open. ``evedmv regressions`` exits 1 while an
unacknowledged high or critical alert is open whose key still deviates and
is not stale, so a cron job or a login script can check it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from evedmv_tui.commands.helptext import examples
from evedmv_tui.config import Settings
from evedmv_tui.errors import EvedmvError
from evedmv_tui.monitor.regressions import (
    STALE_AFTER,
    TREND_SUFFIX,
    Alert,
    DetectorConfig,
    Severity,
    describe,
    format_value,
    severity_text,
)
from evedmv_tui.store.baselines import (
    MEMORY_ONLY,
    AlertEvent,
    Baseline,
    BaselineStore,
    creation_problem,
    open_store,
)
from evedmv_tui.store.target import baseline_file, settings_target
from evedmv_tui.widgets.text import strip_control, truncate

LIST_WIDTH = 120
"""Columns assumed for ``baseline show`` when the output is not a terminal."""
MIN_LABEL_WIDTH = 24
"""Characters of statement text each line of ``baseline show`` keeps."""
EXIT_ALERTING = 1
"""Exit status of ``evedmv regressions`` while an unacknowledged high or
critical alert is open whose latest value still deviates and that is not
stale (see :func:`alerting`)."""


def alerting(alert: Alert, now: float) -> bool:
    """True for an alert that makes ``evedmv regressions`` exit 1.

    A recovering alert (its latest value reaches no threshold) and a stale
    one (no sample for :data:`~evedmv_tui.monitor.regressions.STALE_AFTER`
    seconds, a statement that stopped running) do not count.
    """
    return (
        alert.active
        and not alert.acknowledged
        and alert.severity >= Severity.HIGH
        and not alert.recovering
        and not alert.stale(now)
    )


def register(subparsers: Any) -> None:
    regressions = subparsers.add_parser(
        "regressions",
        help="list active performance regression alerts",
        description="List active regression alerts of one database: the"
        " server of --dsn, or the private cluster without it. Exits 1 while an"
        " unacknowledged high or critical alert is open whose latest value"
        " still deviates; a recovering alert and a stale one (no sample for"
        f" {STALE_AFTER / 60:.0f} minutes) do not count. Exits 0 otherwise.",
        **examples("evedmv regressions", "evedmv regressions --ack KEY"),
    )
    regressions.add_argument("--json", action="store_true", help="print JSON")
    regressions.add_argument(
        "--ack",
        metavar="KEY",
        help="acknowledge the open alert of KEY first; it stays quiet until it worsens",
    )
    regressions.set_defaults(handler=regressions_command)

    baseline = subparsers.add_parser(
        "baseline",
        help="inspect and manage regression baselines",
        description="Inspect and manage the regression baselines of one"
        " database: the server of --dsn, or the private cluster without it.",
        **examples("evedmv baseline show", "evedmv baseline accept KEY"),
    )
    actions = baseline.add_subparsers(
        title="baseline commands", metavar="ACTION", required=True
    )
    show = actions.add_parser(
        "show",
        help="list baselines, or show one key",
        description="List every baseline, or show one sample key's baseline in detail.",
        **examples("evedmv baseline show", "evedmv baseline show KEY --json"),
    )
    show.add_argument("key", nargs="?", metavar="KEY", help="one sample key")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=baseline_show)
    reset = actions.add_parser(
        "reset",
        help="forget the baseline of KEY, or of every key with --all; it is"
        " learned anew",
        description="Forget the baseline of one sample key, or of every key"
        " with --all, and clear their alerts. Each baseline is then learned"
        " anew from the next samples.",
        **examples("evedmv baseline reset KEY", "evedmv baseline reset --all"),
    )
    target = reset.add_mutually_exclusive_group()
    target.add_argument("key", nargs="?", metavar="KEY", help="one sample key")
    target.add_argument(
        "--all",
        action="store_true",
        help="forget every baseline and clear every alert",
    )
    reset.set_defaults(handler=baseline_reset)
    accept = actions.add_parser(
        "accept",
        help="make the latest value of KEY its baseline and clear its alert",
        description="Make the latest value of a sample key its baseline and"
        " clear its alert, after a change that made it slower for good.",
        **examples("evedmv baseline accept KEY"),
    )
    accept.add_argument("key", metavar="KEY", help="a sample or alert key")
    accept.set_defaults(handler=baseline_accept)


def _when(at: float | None) -> str:
    if at is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


async def _open(settings: Settings, *, writes: bool = False) -> BaselineStore:
    """Open the baseline file of ``settings``' database for a command.

    Raises EvedmvError when the store would fall back to memory: an
    empty store would read as "no regressions", and a change to it (an
    acknowledgement, a reset, an accept, ``writes``) would be lost.
    """
    path = baseline_file(settings)
    if not path.exists():
        _check_creatable(path)
        raise EvedmvError(
            "no baseline file",
            f"{path} does not exist yet for {settings_target(settings).conninfo}",
            "run the dashboard on this database first (same --dsn or data"
            " directory); it creates the file on its first poll",
        )
    # The command reports the store's status itself, once, as an error or as
    # a warning, so the store does not log it too.
    store = await open_store(path, log_status=False)
    status = store.status
    if status.moved_to is not None:
        # The new file is empty, so listing it would read as "no regressions".
        await store.close()
        raise EvedmvError(
            "cannot read the baseline file",
            f"{path} was damaged and has been moved to {status.moved_to.name};"
            " its baselines and alerts are lost",
            "the next run reads the new file, which the dashboard fills as it"
            " learns the baselines anew",
        )
    if not status.persistent and (writes or not status.read_file):
        await store.close()
        raise EvedmvError(
            f"cannot {'change' if writes else 'read'} the baseline file",
            status.message.removesuffix(f"; {MEMORY_ONLY}"),
            status.hint
            or "when another process holds the file, try again once it is done;"
            " otherwise check the file's permissions, or move it away to start"
            " anew",
        )
    if status.message:
        print(f"evedmv: warning: {status.message}", file=sys.stderr)
    return store


def _check_creatable(path: Path) -> None:
    """Raise EvedmvError when the dashboard cannot create the file ``path``."""
    problem = creation_problem(path)
    if problem is None:
        return
    reason, hint = problem
    raise EvedmvError(
        "cannot create the baseline file",
        f"{reason}, so the dashboard cannot create {path} and keeps its"
        " baselines and alerts in memory only",
        hint,
    )


def _alert_state(alert: Alert, now: float) -> str:
    if alert.cleared_at is not None:
        return "cleared"
    if alert.stale(now):
        return "stale"
    if alert.acknowledged:
        return "acknowledged"
    if alert.recovering:
        return "recovering"
    if alert.suppressed:
        return f"open ({alert.suppressed})"
    return "open"


def _alert_json(alert: Alert, now: float) -> dict[str, Any]:
    data = dataclasses.asdict(alert)
    data["severity"] = alert.severity.label
    if alert.acknowledged_severity is not None:
        data["acknowledged_severity"] = alert.acknowledged_severity.label
    data["state"] = _alert_state(alert, now)
    data["recovering"] = alert.recovering
    data["stale"] = alert.stale(now)
    data["description"] = describe(alert, now)
    return data


def _print_alerts(alerts: list[Alert], now: float) -> None:
    if not alerts:
        print("no active regressions")
        return
    print(
        f"{'SEVERITY':<12} {'STATE':<14} {'FOR':>7}  {'BASELINE':>12}"
        f" {'LATEST':>12}  KEY"
    )
    for alert in alerts:
        source = alert.key.removesuffix(TREND_SUFFIX)
        print(
            f"{severity_text(alert):<12} {_alert_state(alert, now):<14}"
            f" {_duration(now - alert.opened_at):>7}"
            f"  {format_value(source, alert.baseline):>12}"
            f" {format_value(source, alert.value):>12}  {alert.key}"
        )
        if alert.label:
            print(f"{'':<12} {alert.label[:100]}")
        print(f"{'':<12} {describe(alert, now)}")


async def _regressions(args: argparse.Namespace, settings: Settings) -> int:
    path = baseline_file(settings)
    target = settings_target(settings).conninfo
    if not path.exists() and args.ack is None:
        # "The dashboard creates it" would be false, and exit 0 all clear.
        _check_creatable(path)
        if args.json:
            print(json.dumps({"alerts": [], "file": str(path), "target": target}))
        else:
            print(
                f"no active regressions (no baseline file for {target} at"
                f" {path} yet; the dashboard creates it)"
            )
        return 0
    store = await _open(settings, writes=args.ack is not None)
    try:
        if args.ack is not None:
            at = time.time()
            acknowledged = await store.acknowledge(args.ack, at)
            if acknowledged is None:
                raise EvedmvError(
                    "no open alert",
                    f"no open alert has the key {args.ack!r}",
                    "run 'evedmv regressions' to list the open alerts and keys",
                )
            # An alert acknowledged before keeps its earlier acknowledged_at.
            already = acknowledged.acknowledged_at != at
            if already and not args.json:
                print(
                    f"{args.ack} is already acknowledged; it alerts again if it worsens"
                )
            elif not args.json:
                print(f"acknowledged {args.ack}")
        alerts = [Alert.from_stored(row) for row in await store.open_alerts()]
    finally:
        await store.close()
    now = time.time()
    failing = [a for a in alerts if alerting(a, now)]
    if args.json:
        print(
            json.dumps(
                {
                    "alerts": [_alert_json(a, now) for a in alerts],
                    "file": str(path),
                    "target": target,
                    "unacknowledged_high_or_critical": len(failing),
                },
                indent=2,
            )
        )
    else:
        _print_alerts(alerts, now)
    return EXIT_ALERTING if failing else 0


def regressions_command(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_regressions(args, settings))


def _baseline_state(baseline: Baseline, min_samples: int) -> str:
    if baseline.regressed:
        return "regressed"
    if baseline.count < min_samples:
        return f"learning {baseline.count}/{min_samples}"
    return "normal"


def _baseline_json(baseline: Baseline, min_samples: int) -> dict[str, Any]:
    data = dataclasses.asdict(baseline)
    data["warmup"] = list(baseline.warmup)
    data["stddev"] = math.sqrt(max(baseline.variance, 0.0))
    data["state"] = _baseline_state(baseline, min_samples)
    return data


def _one_line(text: str, width: int) -> str:
    """Return ``text`` on one line without control characters, cut to ``width``."""
    return truncate(strip_control(" ".join(text.split())), width)


def _print_baselines(baselines: list[Baseline], min_samples: int) -> None:
    """Print one line per baseline: its figures, key and statement text.

    The statement text (the key's label) is cut to the terminal's width, at
    least :data:`MIN_LABEL_WIDTH` characters; ``--json`` has it in full.
    """
    if not baselines:
        print("no baselines yet")
        return
    key_width = max(len(b.key) for b in baselines)
    columns = shutil.get_terminal_size((LIST_WIDTH, 24)).columns
    label_width = max(MIN_LABEL_WIDTH, columns - (14 + 3 * 13 + 2 + key_width + 2))
    print(
        f"{'STATE':<14} {'MEAN':>12} {'STDDEV':>12} {'LAST':>12}"
        f"  {'KEY':<{key_width}}  STATEMENT OR LABEL"
    )
    for b in baselines:
        label = _one_line(b.label, label_width) or "-"
        print(
            f"{_baseline_state(b, min_samples):<14}"
            f" {format_value(b.key, b.mean):>12}"
            f" {format_value(b.key, math.sqrt(max(b.variance, 0.0))):>12}"
            f" {format_value(b.key, b.last_value or 0.0):>12}"
            f"  {b.key:<{key_width}}  {label}"
        )


def _print_baseline(
    baseline: Baseline, events: list[AlertEvent], min_samples: int
) -> None:
    key = baseline.key
    rows = [
        ("key", key),
        ("label", baseline.label or "-"),
        ("state", _baseline_state(baseline, min_samples)),
        ("mean", format_value(key, baseline.mean)),
        ("stddev", format_value(key, math.sqrt(max(baseline.variance, 0.0)))),
        ("samples learned", str(baseline.count)),
        (
            "rows per call",
            "-" if baseline.rows_per_call is None else f"{baseline.rows_per_call:.3g}",
        ),
        (
            "latest value",
            "-"
            if baseline.last_value is None
            else format_value(key, baseline.last_value),
        ),
        (
            "accepted level",
            "-" if baseline.accepted is None else format_value(key, baseline.accepted),
        ),
        ("updated", _when(baseline.updated_at)),
        ("epoch", f"{baseline.epoch} (resets and accepts so far)"),
    ]
    for name, value in rows:
        print(f"{name + ':':<17} {value}")
    if events:
        print("alert log:")
        for event in events:
            print(
                f"  {_when(event.at)}  {event.event:<14}"
                f" {Severity.clamp(event.severity or 1).label:<9} {event.note}"
            )


async def _show(args: argparse.Namespace, settings: Settings) -> int:
    min_samples = DetectorConfig().min_samples
    path = baseline_file(settings)
    if args.key is None and not path.exists():
        _check_creatable(path)
        if args.json:
            print(json.dumps({"baselines": []}))
        else:
            target = settings_target(settings).conninfo
            print(f"no baselines yet (no file for {target} at {path})")
        return 0
    store = await _open(settings)
    try:
        if args.key is None:
            baselines = await store.load_baselines()
            if args.json:
                listed = [_baseline_json(b, min_samples) for b in baselines]
                print(json.dumps({"baselines": listed}, indent=2))
            else:
                _print_baselines(baselines, min_samples)
            return 0
        baseline = await store.get_baseline(args.key)
        if baseline is None:
            raise _unknown_key(args.key)
        events = await store.events(args.key, limit=20)
        events += await store.events(args.key + TREND_SUFFIX, limit=20)
        events.sort(key=lambda e: e.at, reverse=True)
    finally:
        await store.close()
    if args.json:
        data = _baseline_json(baseline, min_samples)
        data["events"] = [dataclasses.asdict(e) for e in events]
        print(json.dumps(data, indent=2))
    else:
        _print_baseline(baseline, events, min_samples)
    return 0


def _unknown_key(key: str) -> EvedmvError:
    return EvedmvError(
        "baseline not found",
        f"no baseline or open alert has the key {key!r}",
        "run 'evedmv baseline show' to list the keys",
    )


def baseline_show(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_show(args, settings))


async def _reset(args: argparse.Namespace, settings: Settings) -> int:
    if args.key is None and not args.all:
        raise EvedmvError(
            "nothing to reset",
            "give the KEY of one baseline, or --all to forget every baseline",
            "run 'evedmv baseline show' to list the keys",
        )
    store = await _open(settings, writes=True)
    try:
        changed = await store.reset(args.key, time.time())
    finally:
        await store.close()
    if args.key is not None and changed == 0:
        raise _unknown_key(args.key)
    noun = "baseline" if changed == 1 else "baselines"
    print(f"reset {changed} {noun}; running dashboards learn them anew")
    return 0


def baseline_reset(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_reset(args, settings))


async def _accept(args: argparse.Namespace, settings: Settings) -> int:
    store = await _open(settings, writes=True)
    try:
        accepted = await store.accept(args.key, time.time())
        baseline = await store.get_baseline(args.key)
    finally:
        await store.close()
    if not accepted:
        raise _unknown_key(args.key)
    if baseline is not None:
        value = format_value(args.key, baseline.mean)
        print(
            f"accepted {value} as the baseline of {args.key};"
            " values up to it stay normal until 'evedmv baseline reset'"
        )
    else:
        print(f"cleared the alert of {args.key}")
    return 0


def baseline_accept(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_accept(args, settings))
