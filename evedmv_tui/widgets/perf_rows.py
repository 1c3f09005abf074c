"""Rows and text blocks of the performance screen, built from one snapshot.

Pure functions, so the panels' content is testable without running the app.
Every severity is shown as a glyph and a word; the style only adds weight.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text

from evedmv_tui.ingest.follow import format_duration
from evedmv_tui.monitor import regressions
from evedmv_tui.monitor.activity import ActivitySummary, Backend, DatabaseBackends
from evedmv_tui.monitor.ingest import ImportRun, IngestHealth
from evedmv_tui.monitor.memory import (
    ALLOCATION_SITES_INTERVAL_SECONDS,
    MIB,
    AllocationSite,
)
from evedmv_tui.monitor.poller import SLOW_COLLECTOR_SECONDS
from evedmv_tui.monitor.server import LARGE_TABLE_ROWS
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import Snapshot
from evedmv_tui.monitor.statements import HIDDEN_LABEL, clip
from evedmv_tui.widgets.table import Cell, plain, right
from evedmv_tui.widgets.text import count_noun, quote_value, truncate

Row = tuple[str, Sequence[Cell]]

STATEMENT_COLUMNS = (
    ("severity", "Sev"),
    ("calls", "Calls"),
    ("total", "Total ms"),
    ("mean", "Mean ms"),
    ("rows", "Rows"),
    ("blocks", "Blocks"),
    ("query", "Query"),
)
ACTIVITY_COLUMNS = (
    ("severity", "Sev"),
    ("pid", "Pid"),
    ("seconds", "Secs"),
    ("state", "State"),
    ("wait", "Wait"),
    ("blocked", "Blocked by"),
    ("query", "Query"),
)
OPERATION_COLUMNS = (
    ("severity", "Sev"),
    ("operation", "Operation"),
    ("calls", "Calls"),
    ("interval", "Now"),
    ("p50", "p50 ms"),
    ("p95", "p95 ms"),
    ("max", "Max ms"),
    ("errors", "Errors"),
)
SLOW_COLUMNS = (
    ("severity", "Sev"),
    ("operation", "Operation"),
    ("name", "Query"),
    ("seconds", "Secs"),
    ("at", "At"),
)
BACKEND_COLUMNS = (
    ("pid", "Pid"),
    ("role", "Process"),
    ("rss", "RSS MiB"),
    ("cpu", "CPU %"),
    ("note", "Note"),
)
CACHE_COLUMNS = (
    ("name", "Cache"),
    ("entries", "Entries"),
    ("size", "MiB"),
    ("hits", "Hits"),
    ("misses", "Misses"),
    ("ratio", "Hit %"),
    ("now", "Now %"),
    ("evictions", "Evicted"),
)
ALERT_COLUMNS = (
    ("severity", "Sev"),
    ("source", "Panel"),
    ("message", "Message"),
)
HINT_COLUMNS = (
    ("table", "Table"),
    ("rows", "Live rows"),
    ("seq", "Seq scans"),
    ("idx", "Idx scans"),
    ("per_scan", "Rows/scan"),
)


def severity_cell(severity: Severity) -> Text:
    style = {Severity.OK: "", Severity.WARNING: "bold", Severity.ERROR: "bold reverse"}
    return Text(severity.label, style=style[severity])


def _ms(value: float | None) -> Cell:
    return right("—") if value is None else right(f"{value:,.1f}")


def _percent(value: float | None) -> Cell:
    return right("—") if value is None else right(f"{value:.1%}")


def statement_rows(
    snapshot: Snapshot, *, sort: str, text_filter: str = "", limit: int = 100
) -> list[Row]:
    rows: list[Row] = []
    for view in snapshot.top_statements(sort, limit, text_filter):
        delta = view.delta
        text = HIDDEN_LABEL if delta.hidden else view.one_line(200)
        if delta.trusted:
            figures: list[Cell] = [
                delta.calls,
                _ms(delta.total_ms),
                _ms(delta.mean_ms),
                delta.rows,
                delta.shared_blks,
            ]
        else:
            total = delta.total
            figures = [
                right(f"Σ{total.calls:,}"),
                right(f"Σ{total.exec_ms + total.plan_ms:,.1f}"),
                right("—"),
                right(f"Σ{total.rows:,}"),
                right("—"),
            ]
        rows.append((view.row_key, [severity_cell(view.severity), *figures, text]))
    return rows


def activity_rows(snapshot: Snapshot) -> list[Row]:
    if snapshot.activity is None:
        return []
    rows: list[Row] = []
    for running in snapshot.activity.running:
        backend = running.backend
        blocked = ",".join(str(pid) for pid in backend.blocked_by)
        query = clip(backend.query, 200) if backend.query else HIDDEN_LABEL
        rows.append(
            (
                str(backend.pid),
                [
                    severity_cell(running.severity),
                    right(str(backend.pid)),
                    right(f"{running.seconds:.1f}"),
                    backend.state or "?",
                    backend.wait,
                    blocked,
                    query,
                ],
            )
        )
    return rows


def backend_owner_line(backend: Backend | None) -> Text:
    """Return the line under the Activity table: whose the selected backend is.

    The table has no room for the role and application at 80 columns next
    to the query, so this line names them for the row the cursor is on.
    """
    if backend is None:
        return Text("")
    return Text(f"backend {backend.pid}: {backend.identity}")


def blocking_text(activity: ActivitySummary) -> str:
    """Return the ``blocking:`` line above the Activity table, each chain once.

    A chain that is the tail of a longer listed chain is left out: in
    ``4711 ← 4702 ← 4690``, 4702 waits on 4690 too, so ``4702 ← 4690``
    adds nothing.
    """
    listed: list[tuple[int, ...]] = []
    for chain in sorted(activity.chains, key=len, reverse=True):
        if not any(longer[len(longer) - len(chain) :] == chain for longer in listed):
            listed.append(chain)
    return "blocking: " + "; ".join(activity.chain_text(chain) for chain in listed)


def backend_detail(backend: Backend) -> str:
    """Return a backend's detail text: role, application, client, state, query."""
    state = backend.state or "(hidden from this role)"
    if backend.state is not None and backend.state.startswith("idle"):
        # An idle session's query is its last one, which has finished.
        # query_start is when that query started, xact_start when the open
        # transaction did.
        if backend.xact_seconds is not None:
            state += f", transaction open for {backend.xact_seconds:.1f} s"
        if backend.query_seconds is not None:
            state += f", last query started {backend.query_seconds:.1f} s ago"
    elif backend.query_seconds is not None:
        state += f", query running for {backend.query_seconds:.1f} s"
    if backend.wait:
        state += f", waiting on {backend.wait}"
    if backend.client_addr:
        client = backend.client_addr
    elif backend.state is None:
        client = "(hidden from this role)"
    else:
        client = "(none: a Unix-domain socket)"
    lines = [
        f"role: {backend.role_name or 'unknown'}",
        f"application_name: {backend.application_name or '(none)'}",
        f"client address: {client}",
        f"database: {backend.database or 'unknown'}",
        f"state: {state}",
        "",
        backend.query or "(hidden)",
    ]
    return "\n".join(lines)


def operation_rows(snapshot: Snapshot) -> list[Row]:
    return [
        (
            row.operation,
            [
                severity_cell(row.severity),
                row.operation,
                row.calls,
                "" if row.interval_calls is None else row.interval_calls,
                _ms(row.p50_ms),
                _ms(row.p95_ms),
                _ms(row.max_ms),
                row.errors,
            ],
        )
        for row in snapshot.operations
    ]


def slow_rows(snapshot: Snapshot) -> list[Row]:
    rows: list[Row] = []
    for slow in snapshot.slow_app_queries:
        record = slow.record
        rows.append(
            (
                f"{record.operation}:{record.name}:{record.started}",
                [
                    severity_cell(slow.severity),
                    record.operation,
                    record.name,
                    right(f"{record.seconds:.2f}"),
                    _clock(record.started),
                ],
            )
        )
    return rows


def _clock(epoch: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.localtime(epoch))


def sample_age_note(snapshot: Snapshot, sampled_at: float | None) -> str:
    """Return ``as of HH:MM:SS`` for a figure read before this poll began, else "".

    The monitor repeats an idle backend's last sample and a process's last
    USS reading for a while, so such a figure can be older than the snapshot.
    """
    poll_started = snapshot.at - snapshot.cost.wall_seconds
    if sampled_at is None or sampled_at >= poll_started:
        return ""
    return f"as of {_clock(sampled_at)}"


def backend_rows(snapshot: Snapshot) -> list[Row]:
    memory = snapshot.memory
    if memory is None:
        return []
    rows: list[Row] = []
    for process in [memory.app, *memory.backends]:
        rows.append(
            (
                str(process.pid),
                [
                    right(str(process.pid)),
                    process.role,
                    right("n/a")
                    if process.rss is None
                    else right(f"{process.rss / MIB:,.1f}"),
                    right("n/a")
                    if process.cpu_percent is None
                    else right(f"{process.cpu_percent:.1f}"),
                    process.error or sample_age_note(snapshot, process.sampled_at),
                ],
            )
        )
    return rows


def cache_rows(snapshot: Snapshot) -> list[Row]:
    return [
        (
            row.stats.name,
            [
                row.stats.name,
                right(f"{row.stats.entries:,}/{row.stats.max_entries:,}"),
                right(f"{row.stats.approx_bytes / MIB:,.2f}"),
                row.stats.hits,
                row.stats.misses,
                _percent(row.stats.hit_ratio),
                _percent(row.interval_hit_ratio),
                row.stats.evictions,
            ],
        )
        for row in snapshot.caches
    ]


def alert_rows(snapshot: Snapshot) -> list[Row]:
    ordered = sorted(snapshot.alerts, key=lambda a: a.severity, reverse=True)
    seen: set[str] = set()
    rows: list[Row] = []
    for alert in ordered:
        if alert.key in seen:
            continue
        seen.add(alert.key)
        rows.append(
            (alert.key, [severity_cell(alert.severity), alert.source, alert.message])
        )
    return rows


def fit_last_cells(
    rows: Sequence[Row],
    columns: Sequence[tuple[str, str]],
    width: int,
    cell_padding: int = 1,
    shown_widths: Sequence[int] = (),
) -> list[Row]:
    """Cut each row's last cell, with an ellipsis, to fit ``width`` columns.

    The cut is that of :func:`fit_column_cells` for the last column.
    """
    return fit_column_cells(
        rows, columns, len(columns) - 1, width, cell_padding, shown_widths
    )


def fit_column_cells(
    rows: Sequence[Row],
    columns: Sequence[tuple[str, str]],
    column: int,
    width: int,
    cell_padding: int = 1,
    shown_widths: Sequence[int] = (),
) -> list[Row]:
    """Cut each row's cell of ``column``, with an ellipsis, to fit ``width`` columns.

    ``column`` is an index into ``columns``. The other columns are as wide
    as their widest cell or label, and DataTable adds ``cell_padding`` on
    each side of every cell. A cell that is not a string is kept as it is.
    ``shown_widths`` are the content widths the table's columns have now,
    which are kept when larger: DataTable keeps a column as wide as the
    cells of rows it removed until it measures that column again. Widths
    are in terminal cells, so a wide character (CJK, most emoji) counts as
    two.
    """
    fixed = 2 * cell_padding
    for index, (_key, label) in enumerate(columns):
        if index == column:
            continue
        texts = [label] + [_cell_text(cells[index]) for _row_key, cells in rows]
        column_width = max(cell_len(text) for text in texts)
        if index < len(shown_widths):
            column_width = max(column_width, shown_widths[index])
        fixed += column_width + 2 * cell_padding
    room = max(width - fixed, 1)
    fitted: list[Row] = []
    for key, cells in rows:
        cut = cells[column]
        if isinstance(cut, str):
            cells = [*cells[:column], truncate(cut, room), *cells[column + 1 :]]
        fitted.append((key, cells))
    return fitted


def _cell_text(cell: Cell) -> str:
    """Return the text the table shows for ``cell``, numbers with separators."""
    shown = plain(cell)
    return shown.plain if isinstance(shown, Text) else shown


def regression_level(alert: regressions.Alert) -> Severity:
    """Return the monitor's level of a regression alert: high and above are errors."""
    if alert.severity >= regressions.Severity.HIGH:
        return Severity.ERROR
    return Severity.WARNING


def regression_rows(alerts: Sequence[regressions.Alert], now: float) -> list[Row]:
    """Return rows for the open regression alerts, worst first.

    They are the alerts the status bar counts and the notifications name, so
    the Alerts tab lists them with the same severity words (``critical``).
    """
    rows: list[Row] = []
    for alert in sorted(alerts, key=lambda a: a.severity, reverse=True):
        level = regression_level(alert)
        word = regressions.severity_text(alert)
        cell = Text(f"{level.glyph} {word}", style=severity_cell(level).style)
        message = f"{alert.label or alert.key}: {regressions.describe(alert, now)}"
        rows.append((f"regression:{alert.key}", [cell, "regression", message]))
    return rows


def hint_rows(snapshot: Snapshot) -> list[Row]:
    return [
        (
            f"{hint.table.schema_name}.{hint.table.table_name}",
            [
                f"{hint.table.schema_name}.{hint.table.table_name}",
                hint.table.live_rows,
                hint.table.seq_scan,
                hint.table.idx_scan,
                right(f"{hint.rows_per_scan:,.0f}"),
            ],
        )
        for hint in snapshot.index_hints
    ]


def summary_text(
    snapshot: Snapshot,
    *,
    paused: bool,
    interval: float | None = None,
    app_lost_at: float | None = None,
    regression_alerts: Sequence[regressions.Alert] = (),
) -> Text:
    """Return the screen's top line: server, interval, cost and alert counts.

    The counts are of every row of the Alerts tab: the snapshot's alerts
    and ``regression_alerts``, the open regression alerts listed with them.

    ``interval`` is the poll interval now set, when it changed after the
    snapshot was taken; the snapshot's own interval is shown otherwise.
    ``app_lost_at`` is when the app's own connection was lost, if it is:
    the monitor's connection may notice a few seconds later, and the line
    then gives the same time as the header.
    """
    if not snapshot.connected:
        lost_at = snapshot.disconnected_since or snapshot.at
        if app_lost_at is not None:
            lost_at = min(lost_at, app_lost_at)
        since = _clock(lost_at)
        # The line is one row high, so it shows the error last and only its
        # first line. The screen cuts a long one, and the message log keeps it.
        error = (snapshot.error or "").split("\n", 1)[0]
        return Text(f"✖ disconnected since {since}, retrying: {error}", style="bold")
    caps = snapshot.capabilities
    # The major version is enough here: the header gives the whole one, and
    # the line must leave room for the alert counts and the poll's cost.
    version = caps.server_version.split(".")[0] if caps is not None else "?"
    levels = [a.severity for a in snapshot.alerts]
    levels += [regression_level(a) for a in regression_alerts]
    errors = levels.count(Severity.ERROR)
    warnings = levels.count(Severity.WARNING)
    cost = snapshot.cost
    every = snapshot.interval if interval is None else interval
    text = Text(f"PostgreSQL {version} · every {every:g} s · ")
    if errors:
        text.append(f"✖ {count_noun(errors, 'error')}", style="bold reverse")
    if warnings:
        text.append(" " if errors else "")
        text.append(f"▲ {count_noun(warnings, 'warning')}", style="bold")
    if not errors and not warnings:
        text.append("no alerts")
    # While paused no poll runs, so the pause mark replaces the cost. The cost comes
    # last because a narrow terminal cuts the end of the line.
    if paused:
        text.append(" · ⏸ paused", style="bold")
    else:
        text.append(
            f" · poll {_milliseconds(cost.wall_seconds)} ms,"
            f" CPU {_milliseconds(cost.cpu_seconds)} ms"
        )
    return text


def _milliseconds(seconds: float) -> str:
    """Return ``seconds`` in milliseconds, with a decimal only below 10 ms."""
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f}" if milliseconds < 10 else f"{milliseconds:.0f}"


def problems_text(snapshot: Snapshot, panel: str) -> Text | None:
    """Return what blocks or limits ``panel``, with the fix, or None."""
    found = [p for p in [*snapshot.problems, *snapshot.notes] if p.panel == panel]
    if not found:
        return None
    text = Text()
    for index, problem in enumerate(found):
        if index:
            text.append("\n")
        text.append(f"{problem.severity.glyph} {problem.case}", style="bold")
        if problem.fix and problem.fix != "-":
            text.append(f"\n  fix: {problem.fix}")
    return text


MIN_FILTER_WIDTH = 12
"""Cells the Statements line gives the quoted filter at least, when cut."""


def statements_state(
    snapshot: Snapshot,
    sort: str,
    text_filter: str,
    *,
    empty: bool = False,
    width: int | None = None,
) -> Text:
    """Return the line above the statements: order, interval, trust, filter.

    With ``empty`` (the table has no row), the line also gives the reason.
    The filter is quoted as typed (see :func:`quote_value`). With ``width``,
    it is cut so that the line fits that many cells, down to
    :data:`MIN_FILTER_WIDTH`: a pasted filter of a few hundred characters
    wrapped over every line of the table.
    """
    state = "trusted" if snapshot.statements_trusted else "not trusted"
    text = Text(f"by {sort} over {snapshot.elapsed or 0:.1f} s ({state}")
    if snapshot.statements_reason:
        text.append(f": {snapshot.statements_reason}")
    text.append(")")
    ending = ""
    if empty and not snapshot.connected:
        pass  # The disconnection reason above explains the empty table.
    elif empty and text_filter:
        ending = " · no statement matches"
    elif empty:
        ending = " · no statement ran in the interval"
    if text_filter:
        text.append(" · filter ")
        room = None
        if width is not None:
            room = max(width - text.cell_len - cell_len(ending), MIN_FILTER_WIDTH)
        text.append(_quoted_filter(text_filter, room))
    text.append(ending)
    return text


def _quoted_filter(text_filter: str, width: int | None) -> str:
    """Quote ``text_filter``; with ``width``, cut it inside the quotes to fit."""
    quoted = quote_value(text_filter)
    if width is None or cell_len(quoted) <= width:
        return quoted
    return truncate(quoted[:-1], width - 1) + "'"


def hints_state(count: int) -> Text:
    """Return the line above the tables that may lack an index."""
    text = Text(f"tables with sequential scans of {LARGE_TABLE_ROWS:,}+ rows: ")
    text.append(str(count) if count else "none; no index looks missing")
    return text


def database_text(snapshot: Snapshot) -> Text:
    database = snapshot.database
    if database is None:
        return Text("no pg_stat_database figures yet")
    text = Text()
    text.append(f"{database.database}: ", style="bold")
    text.append(
        f"{_plain_ms(database.tps)} tps ({_plain_ms(database.commits_per_s)} commits,"
        f" {_plain_ms(database.rollbacks_per_s)} rollbacks per s)\n"
    )
    hit = database.cache_hit_ratio
    text.append(
        f"cache hit {'—' if hit is None else f'{hit:.2%}'} in the interval,"
        f" rows {_plain_ms(database.rows_per_s)}/s\n"
    )
    text.append(
        f"deadlocks {_count(database.deadlocks)}, temp files"
        f" {_count(database.temp_files)} ({_count((database.temp_bytes or 0) / MIB)}"
        " MiB) in the interval\n"
    )
    text.append(f"backends {database.backends} of {database.max_connections}")
    activity = snapshot.activity
    if activity is not None:
        # The same backends as numbackends: this database's, the monitor's
        # own included, so that the parts add up to the total.
        counts = activity.databases.get(database.database)
        if counts is None:
            counts = DatabaseBackends({}, 0, 0)
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.by_state.items()))
        text.append(f" ({states or 'none'}); monitor {counts.monitor}")
        if counts.other:
            text.append(f"; other {counts.other}")
    if database.reason:
        text.append(f"\nrates n/a: {database.reason}")
    return text


def _plain_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def clip_left(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters from the left, starting with an ellipsis.

    A path cut this way keeps its file name and line number.
    """
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :]


def allocation_site_line(site: AllocationSite, width: int | None = None) -> str:
    """Return one allocation site on one line: size right-aligned, then its place.

    With ``width``, the ``file:line`` is cut from the left to fit that many
    columns, so a long path never wraps onto a line of its own.
    """
    size = f"  {site.size_bytes / 1024:>9,.1f} KiB  "
    location = f"{site.file}:{site.line}"
    if width is not None:
        location = clip_left(location, width - len(size))
    return size + location


def memory_text(snapshot: Snapshot, *, tracing: bool, width: int | None = None) -> Text:
    """Describe the app's memory, its trend, the collector and allocation sites.

    ``width`` is the columns the text has. The allocation sites are cut to
    fit it, one per line. The other lines may wrap.
    """
    memory = snapshot.memory
    if memory is None:
        return Text("no memory sample yet")
    app = memory.app
    text = Text()
    text.append(f"app pid {app.pid}: ", style="bold")
    uss = _mib(app.uss)
    uss_age = sample_age_note(snapshot, app.uss_at)
    if uss_age:
        uss = f"{uss} ({uss_age})"
    text.append(
        f"RSS {_mib(app.rss)}, USS {uss}, CPU"
        f" {'n/a' if app.cpu_percent is None else f'{app.cpu_percent:.1f} %'}\n"
    )
    trend = memory.trend
    if trend is None:
        text.append("trend: not enough samples yet\n")
    else:
        verdict = f"▲ {trend.verdict}" if trend.leak_suspected else trend.verdict
        fit = "flat" if trend.r_squared is None else f"R² {trend.r_squared:.2f}"
        text.append(
            f"trend {trend.slope_bytes_per_min / MIB:+.2f} MiB/min over"
            f" {trend.span_seconds:.0f} s, {fit}: {verdict}\n"
        )
    collections = ", ".join(f"gen{g.generation} {g.collections}" for g in memory.gc)
    text.append(f"gc collections: {collections}\n")
    if memory.backends_hidden_reason:
        text.append(f"server processes: {memory.backends_hidden_reason}\n")
    interval = ALLOCATION_SITES_INTERVAL_SECONDS
    if memory.top_allocations is None:
        text.append(
            "tracemalloc: off (t starts tracing, which slows every allocation)"
            if not tracing
            else f"tracemalloc: on, the top sites show within {interval:.0f} s"
        )
    else:
        text.append(
            f"top allocation sites, read every {interval:.0f} s"
            " (tracing slows every allocation):\n",
            style="bold",
        )
        for site in memory.top_allocations[:5]:
            text.append(allocation_site_line(site, width) + "\n")
    return text


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:,.1f} MiB"


def _import_rate(run: ImportRun, read_at: float | None) -> str:
    """Return ``, N read/min`` for a running or finished import, else "".

    The live rate above counts recent kill times only, so a bulk import of
    old killmails shows its speed here.
    """
    end = run.finished if run.finished is not None else read_at
    if end is None or not (run.finished is not None or run.locked):
        return ""
    minutes = (end - run.started) / 60
    if minutes <= 0:
        return ""
    return f", {run.read / minutes:,.0f} read/min"


def ingest_text(snapshot: Snapshot, last: IngestHealth | None = None) -> Text:
    """Describe ingest health; while disconnected, ``last`` figures with their age.

    ``last`` is the ingest health of the latest snapshot that had one.
    """
    ingest = snapshot.ingest
    stale = ingest is None and not snapshot.connected and last is not None
    if stale:
        ingest = last
    if ingest is None:
        return Text("no ingest figures yet")
    counts = ingest.counts
    text = Text()
    note = sample_age_note(snapshot, ingest.read_at)
    if stale:
        read = f" at {_clock(ingest.read_at)}" if ingest.read_at else ""
        text.append(
            f"not connected: the figures below were read{read},"
            " before the connection was lost\n"
        )
    elif note:
        text.append(
            f"{note}: these figures are read every"
            f" {SLOW_COLLECTOR_SECONDS:g} s, not every poll\n"
        )
    lag = counts.median_lag_seconds
    text.append(
        f"live: {ingest.kills_per_minute:.1f} killmails/min over the last"
        f" {ingest.window_seconds // 60} min, median lag"
        f" {'—' if lag is None else format_duration(lag)} (kill time to stored)\n"
    )
    bodies = f"pending bodies {counts.pending:,}"
    if counts.invalid:
        # The rejects get a line of their own, so each line fits 80 columns.
        bodies += f", known invalid {counts.invalid:,}\n"
    else:
        bodies += ", "
    text.append(
        # The count matches 'evedmv rejects list' without --all, which
        # leaves out the resolved and dismissed rejects.
        f"{bodies}unresolved rejects {counts.rejects:,}"
        f" ({counts.rejects_last_hour:,} in the last hour)\n"
    )
    for cursor in ingest.cursors:
        text.append(
            f"feed {cursor.feed}: sequence {cursor.sequence},"
            f" moved {format_duration(cursor.age_seconds)} ago\n"
        )
    if not ingest.cursors:
        text.append("no live feed cursor yet\n")
    if ingest.last_import is not None:
        run = ingest.last_import
        state = run.state
        if state == "interrupted":
            state += " (run 'evedmv repair')"
        elif state == "failed":
            # It may have read its files part way. Its committed batches are
            # stored, and another import skips those, so it reads the rest.
            state += " (import its files again)"
        text.append(
            f"last import #{run.import_id} {state}: {run.read:,} read,"
            f" {run.inserted:,} inserted, {run.rejected:,} rejected"
            f"{_import_rate(run, ingest.read_at)}\n"
        )
    esi = ingest.esi
    if esi is None:
        text.append("ESI: not used by this process yet")
    else:
        budget = []
        if esi.errors_remain is not None:
            reset = (
                "" if esi.reset_seconds is None else f", reset in {esi.reset_seconds} s"
            )
            errors = count_noun(esi.errors_remain, "error")
            budget.append(f"{errors} left in the window{reset}")
        if esi.rate_limit_remaining is not None:
            tokens = count_noun(esi.rate_limit_remaining, "rate-limit token")
            budget.append(f"{tokens} left")
        if not budget:
            budget.append("no error or rate-limit budget reported yet")
        text.append(
            f"ESI: {', '.join(budget)}; {count_noun(esi.requests_sent, 'request')},"
            f" {count_noun(esi.retries, 'retry', 'retries')}"
        )
    return text
