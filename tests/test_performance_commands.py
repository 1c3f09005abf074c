"""The report commands: output, JSON and exit statuses for cron and CI."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from evedmv_tui.cli import main
from evedmv_tui.commands import performance as performance_commands
from evedmv_tui.monitor.snapshot import Snapshot


@pytest.fixture
def fast_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVEDMV_SLOW_WARNING_SECONDS", "0.1")
    monkeypatch.setenv("EVEDMV_SLOW_ERROR_SECONDS", "0.4")


def after_first_poll(
    monkeypatch: pytest.MonkeyPatch, url: str, statement: str
) -> threading.Thread:
    """Run ``statement`` once the command's first poll has read the counters.

    A fixed delay raced with a slow start on a busy machine: a statement
    that ran before the first poll was in both polls, and the interval
    showed nothing.
    """
    polled = threading.Event()

    class SignallingMonitor(performance_commands.Monitor):
        def poll(self) -> Snapshot:
            snapshot = super().poll()
            polled.set()
            return snapshot

    monkeypatch.setattr(performance_commands, "Monitor", SignallingMonitor)

    def work() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            if polled.wait(60):
                conn.execute(statement)

    thread = threading.Thread(target=work)
    thread.start()
    return thread


@pytest.fixture
def isolated_config(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    yield


def test_performance_summary_text(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    status = main(["--dsn", db_url, "performance", "--interval", "0.3"])
    out = capsys.readouterr().out
    assert status in (0, 1)
    assert "pg_stat_statements 1." in out
    assert "top statements by total" in out
    assert "app process" in out
    assert "monitor: poll" in out
    assert "(regression alerts: evedmv regressions)" in out


def test_performance_json_is_one_object(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    status = main(["--dsn", db_url, "performance", "--interval", "0.3", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["exit_status"] == status
    assert data["connected"] is True
    assert data["database"]["max_connections"] > 0
    assert data["memory"]["app"]["rss_bytes"] > 0
    assert "monitor_cost" in data


def test_performance_counts_known_invalid(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    """'evedmv performance' left out the references whose id and hash ESI
    rejected; its JSON has the count even when it is 0."""
    command = ["--dsn", db_url, "performance", "--interval", "0.3"]
    main([*command, "--json"])
    before = json.loads(capsys.readouterr().out)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO killmail_index (killmail_id, killmail_hash, state, source)"
            " VALUES (1, repeat('a', 40), 'invalid', 'test')"
        )

    main([*command, "--json"])
    after = json.loads(capsys.readouterr().out)
    main(command)
    text = capsys.readouterr().out

    assert before["ingest"]["invalid"] == 0
    assert after["ingest"]["invalid"] == 1
    [line] = [line for line in text.splitlines() if line.startswith("ingest:")]
    assert ", 0 pending, 1 known invalid, 0 unresolved rejects" in line


def test_query_performance_warning_exits_1(
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fast_thresholds: None,
    isolated_config: None,
) -> None:
    worker = after_first_poll(monkeypatch, db_url, "SELECT pg_sleep(0.2)")
    status = main(["--dsn", db_url, "query-performance", "--interval", "2"])
    worker.join()
    out = capsys.readouterr().out
    assert status == 1
    assert "; statements ▲ warn\n" in out
    assert "SELECT pg_sleep($1)" in out


def test_query_performance_error_exits_2_json(
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fast_thresholds: None,
    isolated_config: None,
) -> None:
    marker = f"q_{uuid.uuid4().hex[:8]}"
    worker = after_first_poll(monkeypatch, db_url, f"SELECT pg_sleep(0.5) AS {marker}")
    status = main(
        [
            "--dsn",
            db_url,
            "query-performance",
            "--interval",
            "2",
            "--json",
            "--sort",
            "mean",
            "--top",
            "3",
        ]
    )
    worker.join()
    data = json.loads(capsys.readouterr().out)
    assert status == 2
    assert data["exit_status"] == 2
    assert data["statements"]["sort"] == "mean"
    assert len(data["statements"]["top"]) <= 3
    (entry,) = [e for e in data["statements"]["top"] if marker in (e["query"] or "")]
    assert entry["severity"] == "error"
    assert isinstance(entry["queryid"], str)
    with psycopg.connect(db_url) as conn:
        queryids = {
            row[0]
            for row in conn.execute(
                "SELECT queryid FROM pg_stat_statements WHERE query LIKE %s",
                (f"%{marker}%",),
            )
        }
    assert int(entry["queryid"]) in queryids


def test_query_performance_quiet_exits_0(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    status = main(["--dsn", db_url, "query-performance", "--interval", "0.3"])
    assert status == 0
    assert "top statements by total (trusted)" in capsys.readouterr().out


def test_query_performance_rejects_unknown_sort(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--dsn", db_url, "query-performance", "--sort", "speed"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'speed'" in capsys.readouterr().err


def test_memory_analysis_with_trace_json(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    status = main(
        ["--dsn", db_url, "memory-analysis", "--trace", "--interval", "0.2", "--json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["memory"]["app"]["rss_bytes"] > 0
    assert data["memory"]["top_allocations"]
    assert data["memory"]["gc"][0]["generation"] == 0
    assert data["leak_rule"]["min_r_squared"] == 0.8
    assert isinstance(data["caches"], list)


def test_memory_analysis_text(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    status = main(["--dsn", db_url, "memory-analysis", "--interval", "0.2"])
    out = capsys.readouterr().out
    assert status == 0
    assert "app process" in out
    assert "garbage collector:" in out
    assert "top allocation sites" not in out
    lines = out.splitlines()
    assert [line for line in lines if line != line.rstrip()] == []
    # The cache sizes line up whatever their number of digits.
    caches = [line for line in lines if " entries " in line]
    assert len(caches) >= 2
    assert len({line.index(" entries ") for line in caches}) == 1


def test_unreachable_server_exits_2(
    tmp_path: object, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    dsn = f"postgresql:///nothing?host={tmp_path}&port=5999"
    status = main(["--dsn", dsn, "performance", "--interval", "0.1"])
    err = capsys.readouterr().err
    assert status == 2
    assert "cannot monitor PostgreSQL" in err
    assert "hint:" in err


def test_memory_analysis_flags_growth_exits_1(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    """Memory that grows steadily through the interval is a suspected leak."""
    hoard: list[bytearray] = []
    stop = threading.Event()

    def grow() -> None:
        # Grow until the command ends, however long a busy machine makes its
        # first poll; the cap (2 GiB) only bounds a run that never ends.
        while not stop.is_set() and len(hoard) < 2000:
            # Written, not only reserved, so the pages count in RSS.
            hoard.append(bytearray(b"\x01") * (1024 * 1024))
            time.sleep(0.02)

    grower = threading.Thread(target=grow)
    grower.start()
    try:
        status = main(
            [
                "--dsn",
                db_url,
                "memory-analysis",
                "--interval",
                "2",
                "--window",
                "1.5",
                "--json",
            ]
        )
    finally:
        stop.set()
        grower.join()
        hoard.clear()
    data = json.loads(capsys.readouterr().out)
    assert status == 1, data["memory"]["trend"]
    assert data["severity"] == "warn"
    assert data["leak_rule"]["window_seconds"] == 1.5
    assert data["memory"]["trend"]["leak_suspected"] is True
    assert data["memory"]["trend"]["judged"] is True
    assert data["memory"]["trend"]["samples"] >= 5


def test_memory_analysis_short_interval_judges_nothing(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    """An interval shorter than the window never flags a leak."""
    status = main(["--dsn", db_url, "memory-analysis", "--interval", "0.5", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    trend = data["memory"]["trend"]
    assert trend is not None
    assert trend["leak_suspected"] is False
    assert trend["judged"] is False
    assert trend["span_seconds"] < data["leak_rule"]["window_seconds"]
    # The text reports it, and the options that measure long enough.
    status = main(["--dsn", db_url, "memory-analysis", "--interval", "0.5"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[1].endswith("not judged before 300 s")
    assert lines[2] == (
        "  leak not judged: the leak rule needs 300 s of samples and this run"
        " measured for 0.5 s; run with --interval 300 or more, or give a"
        " shorter --window"
    )
    assert data["leak_rule"]["judged"] is False
    assert "--interval 300" in data["leak_rule"]["not_judged_because"]


def test_query_performance_without_extension_exits_2(
    db_url: str, capsys: pytest.CaptureFixture[str], isolated_config: None
) -> None:
    """Nothing can be measured without pg_stat_statements: an error, with the fix."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_stat_statements")
    status = main(["--dsn", db_url, "query-performance", "--interval", "0.3"])
    out = capsys.readouterr().out
    assert status == 2
    assert "CREATE EXTENSION pg_stat_statements" in out
    assert "error: no statement was measured" in out
