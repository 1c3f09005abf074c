"""Column choice by pg_stat_statements version, fingerprints and text checks."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from evedmv_tui.monitor.capabilities import MonitorCapabilities
from evedmv_tui.monitor.delta import StatementDelta
from evedmv_tui.monitor.findings import build_samples
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import StatementView
from evedmv_tui.monitor.statements import (
    MONITOR_MARKER,
    Counters,
    QueryText,
    StatementKey,
    clip,
    fingerprint,
    has_info_view,
    has_single_statement,
    in_schema,
    is_monitor_query,
    normalize_query,
    parse_version,
    statements_query_name,
)
from evedmv_tui.store.db import load_sql

OUTPUT_COLUMNS = (
    "userid",
    "dbid",
    "toplevel",
    "queryid",
    "calls",
    "total_exec_time",
    "total_plan_time",
    "rows",
    "shared_blks_hit",
    "shared_blks_read",
    "blk_read_time",
    "blk_write_time",
)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.2", "statements_1_2"),
        ("1.7", "statements_1_2"),
        ("1.8", "statements_1_8"),
        ("1.9", "statements_1_9"),
        ("1.10", "statements_1_9"),
        ("1.11", "statements_1_11"),
        ("1.12", "statements_1_11"),
        ("2.0", "statements_1_11"),
    ],
)
def test_query_chosen_by_extension_version(version: str, expected: str) -> None:
    assert statements_query_name(parse_version(version)) == expected


def test_version_without_queryid_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"1\.2 or later"):
        statements_query_name(parse_version("1.1"))


def test_invalid_version_text_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid pg_stat_statements version"):
        parse_version("one.two")


def test_version_1_10_sorts_after_1_9() -> None:
    assert parse_version("1.10") > parse_version("1.9")


def source(version: str) -> str:
    return load_sql(
        "evedmv_tui.monitor", statements_query_name(parse_version(version))
    ).text


def test_before_1_8_reads_total_time() -> None:
    text = source("1.7")
    assert "s.total_time AS total_exec_time" in text
    assert "total_plan_time" in text
    assert "s.toplevel" not in text


def test_1_8_reads_plan_and_exec_time() -> None:
    text = source("1.8")
    assert "s.total_exec_time" in text
    assert "s.total_plan_time" in text
    assert "s.toplevel" not in text
    assert "true AS toplevel" in text


def test_1_9_reads_toplevel() -> None:
    text = source("1.9")
    assert "s.toplevel" in text
    assert "s.blk_read_time" in text


def test_1_11_reads_renamed_block_times() -> None:
    text = source("1.11")
    assert "s.shared_blk_read_time + s.local_blk_read_time AS blk_read_time" in text
    assert "s.shared_blk_write_time + s.local_blk_write_time" in text
    assert "s.blk_read_time" not in text


@pytest.mark.parametrize("version", ["1.2", "1.8", "1.9", "1.11"])
def test_every_version_returns_the_same_columns(version: str) -> None:
    text = source(version)
    for column in OUTPUT_COLUMNS:
        assert column in text, f"{column} missing for {version}"


def test_info_view_from_1_9() -> None:
    assert has_info_view((1, 8)) is False
    assert has_info_view((1, 9)) is True
    assert has_info_view((1, 11)) is True


def test_schema_is_quoted_as_identifier() -> None:
    query = in_schema("statements_1_9", 'odd "schema"')
    assert '"odd ""schema""".pg_stat_statements(false)' in query.text
    assert query.name == "monitor.statements_1_9"


def test_fingerprint_ignores_layout_case_and_constants() -> None:
    normalized = fingerprint("SELECT * FROM killmails WHERE killmail_id = $1")
    assert fingerprint("select *\n  from KILLMAILS where killmail_id=%s") == normalized
    assert fingerprint("SELECT * FROM killmails WHERE killmail_id = 42;") == normalized
    assert (
        fingerprint(
            "/* screen */ SELECT * FROM killmails -- x\n WHERE killmail_id = $7"
        )
        == normalized
    )


def test_fingerprint_folds_lists_and_named_parameters() -> None:
    assert fingerprint("SELECT 1 FROM t WHERE id IN ($1, $2, $3)") == fingerprint(
        "SELECT 1 FROM t WHERE id IN (%(a)s, %(b)s)"
    )


def test_fingerprint_keeps_quoted_identifiers_and_strings_apart() -> None:
    assert fingerprint('SELECT "Name" FROM t') != fingerprint("SELECT name FROM t")
    assert fingerprint("SELECT 'a' FROM t") == fingerprint("SELECT 'it''s' FROM t")
    assert fingerprint("SELECT $$x$$ FROM t") == fingerprint("SELECT $1 FROM t")


def test_fingerprint_tells_different_queries_apart() -> None:
    assert fingerprint("SELECT a FROM t") != fingerprint("SELECT b FROM t")
    assert len(fingerprint("SELECT 1")) == 16


def test_query_text_fingerprint_matches_function() -> None:
    text = "SELECT a FROM t WHERE id = $1"
    loaded = QueryText.of(text)
    assert loaded.own is False
    assert loaded.fingerprint == fingerprint(text)


def test_query_text_size_counts_the_text() -> None:
    """The text cache's approx_bytes must grow with the texts it keeps."""
    short = QueryText.of("SELECT 1")
    long = QueryText.of("SELECT 1 FROM t WHERE x = $1" + " AND y = $2" * 500)
    assert sys.getsizeof(long) - sys.getsizeof(short) >= 500 * len(" AND y = $2")


def test_query_text_of_monitor_query_has_no_fingerprint() -> None:
    loaded = QueryText.of(f"  {MONITOR_MARKER}\nSELECT 1")
    assert loaded.own is True
    assert loaded.fingerprint is None


def test_normalize_query_output() -> None:
    assert (
        normalize_query("SELECT  A, b FROM T WHERE x = 'q' AND y IN (1, 2)")
        == "select a,b from t where x=? and y in(?)"
    )


def test_normalize_query_words_next_to_prefixes_and_digits() -> None:
    """Stored baselines are keyed by these texts' hashes, so they must not move."""
    assert (
        normalize_query("SELECT date'2020-01-01', t2.Col_9 FROM T2 WHERE a$b = $1")
        == "select dat?,t2.col_9 from t2 where a$b=?"
    )
    assert (
        normalize_query("SELECT x FROM t WHERE nameE'y' = E'z' AND c IN ( ?, ? )")
        == "select x from t where name?=? and c in(?)"
    )
    assert normalize_query("SELECT 1e5abc, v1 + 2 FROM t") == "select ?abc,v1+? from t"


def test_single_statement_check() -> None:
    assert has_single_statement("SELECT 1;") is True
    assert has_single_statement("SELECT ';' FROM t") is True
    assert has_single_statement("SELECT 1 -- ; comment") is True
    assert has_single_statement("SELECT 1; DROP TABLE t") is False


def test_monitor_queries_are_recognised() -> None:
    text = load_sql("evedmv_tui.monitor", "activity").text
    assert is_monitor_query(text) is True
    assert is_monitor_query("SELECT 1") is False
    assert is_monitor_query(None) is False


def test_clip_makes_one_line() -> None:
    assert clip("SELECT\n  a,\n  b FROM t") == "SELECT a, b FROM t"
    clipped = clip("x" * 200, 10)
    assert len(clipped) == 10
    assert clipped.endswith("…")


def capabilities(**changes: object) -> MonitorCapabilities:
    """Return the capabilities of a fully set-up server, with ``changes``."""
    ready = MonitorCapabilities(
        server_version="15.18",
        server_version_num=150018,
        pgss_version="1.10",
        pgss_schema="public",
        preloaded=True,
        read_all_stats=True,
        signal_backend=True,
        superuser=True,
        role_name="evedmv",
        server_address=None,
        preload_libraries="auto_explain",
        pgss_track="top",
        compute_query_id="auto",
    )
    return dataclasses.replace(ready, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "case", "fix"),
    [
        (
            {"pgss_version": None, "pgss_schema": None, "preloaded": False},
            "pg_stat_statements is not installed and not preloaded",
            "ALTER SYSTEM SET shared_preload_libraries ="
            " 'auto_explain', 'pg_stat_statements'; restart PostgreSQL;"
            " then CREATE EXTENSION pg_stat_statements;",
        ),
        (
            {"preloaded": False},
            "pg_stat_statements is installed but not preloaded",
            "ALTER SYSTEM SET shared_preload_libraries ="
            " 'auto_explain', 'pg_stat_statements'; then restart PostgreSQL",
        ),
        (
            {"preloaded": False, "preload_libraries": None},
            "pg_stat_statements is installed but not preloaded",
            "as a superuser, run SHOW shared_preload_libraries; then ALTER SYSTEM"
            " SET shared_preload_libraries to that list with pg_stat_statements"
            " added, one quoted name per library; then restart PostgreSQL",
        ),
        (
            {"pgss_track": "none"},
            "pg_stat_statements.track is none: nothing is recorded",
            "ALTER SYSTEM SET pg_stat_statements.track = 'top';"
            " SELECT pg_reload_conf();",
        ),
        (
            {"compute_query_id": "off"},
            "compute_query_id is off: no statement gets a queryid",
            "ALTER SYSTEM SET compute_query_id = 'auto'; SELECT pg_reload_conf();",
        ),
    ],
    ids=["absent", "not-preloaded", "libraries-hidden", "track-none", "no-queryid"],
)
def test_statements_problem_fix(
    changes: dict[str, object], case: str, fix: str
) -> None:
    problem = capabilities(**changes).statements_problem()
    assert problem is not None
    assert problem.panel == "statements"
    assert problem.case == case
    assert problem.fix == fix


def test_statements_problem_none_when_ready() -> None:
    assert capabilities().statements_problem() is None


def test_statement_samples_rows_per_call() -> None:
    """Rows per call are summed per fingerprint, like calls and time."""
    from tests.test_performance_screen import recorded_snapshot

    snapshot = recorded_snapshot()
    feed = StatementView(
        StatementDelta(
            StatementKey(10, 16384, 501, True),
            Counters(calls=4, exec_ms=8.0, rows=4),
            Counters(calls=90, exec_ms=180.0, rows=90),
            2.0,
        ),
        "INSERT INTO killmails VALUES ($1)",
        "00000000000001f5",
        Severity.OK,
    )
    bulk = StatementView(
        StatementDelta(
            StatementKey(11, 16384, 502, True),
            Counters(calls=1, exec_ms=800.0, rows=2000),
            Counters(calls=1, exec_ms=800.0, rows=2000),
            2.0,
        ),
        "INSERT INTO killmails VALUES ($1)",
        "00000000000001f5",
        Severity.OK,
    )
    snapshot = dataclasses.replace(
        snapshot, statements=[*snapshot.statements, feed, bulk]
    )
    samples = {s.key: s for s in build_samples(snapshot, 2.0)}

    mean = samples["statement:00000000000001f5:mean_ms"]
    assert mean.value == pytest.approx(808.0 / 5)
    assert mean.rows_per_call == pytest.approx(2004 / 5)
    # The recorded entries return three rows per call.
    assert samples["statement:0000000000001092:mean_ms"].rows_per_call == 3.0
    assert samples["statement:00000000000001f5:calls_per_s"].rows_per_call is None

    untrusted = dataclasses.replace(snapshot, statements_trusted=False)
    for sample in build_samples(untrusted, 2.0):
        assert sample.rows_per_call is None
