"""The R2Z2 follower against a misbehaving loopback feed and a lost database."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import logging
import os
import re
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from evedmv_tui import cli
from evedmv_tui.commands import follow as follow_command
from evedmv_tui.esi import make_http_client
from evedmv_tui.ingest import FOLLOW_LOCK_CLASS
from evedmv_tui.ingest import follow as follow_module
from evedmv_tui.ingest.follow import (
    ONCE_RETRIES,
    FeedUnavailable,
    load_cursor,
    save_cursor,
)
from evedmv_tui.ingest.pending import PendingSummary
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import TEST_USER_AGENT, shared_file
from tests.fakes.server import FakeServer, Reply
from tests.follow_support import (
    FIRST,
    NOW,
    SECOND,
    feed_paths,
    follower,
    stop_after,
)


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the command's backoff pauses short enough for a test."""
    monkeypatch.setattr(follow_module, "BACKOFF_SECONDS", 0.01)


def follower_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "evedmv_tui.ingest.follow" and r.levelno >= logging.WARNING
    ]


# Missing sequence numbers


@pytest.mark.timeout(60)
def test_expired_range_skipped_in_few_requests(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Documents 1 to 19999 have expired: the follower must search for the
    first one left, not ask for every number and sequence.json each time."""
    fake.publish(20000, documents[FIRST])
    fake.publish(20001, documents[SECOND])

    summary = follower(db, http, fake).run(start_sequence=1, once=True)

    paths = feed_paths(fake)
    assert len(paths) < 40
    assert paths.count("/r2z2/sequence.json") == 2
    assert summary.skipped == 19999
    assert summary.documents == 2
    assert summary.last_sequence == 20001
    assert load_cursor(db) == 20001
    warnings = follower_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].startswith("skipped R2Z2 sequences 1 to 19999 (19999 numbers)")
    assert "the search found the next document at 20000" in warnings[0]


def test_single_gap_needs_no_extra_requests(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.publish(FIRST + 2, documents[SECOND])

    summary = follower(db, http, fake).run(start_sequence=FIRST, once=True)

    assert feed_paths(fake) == [
        "/r2z2/sequence.json",
        f"/r2z2/{FIRST}.json",
        f"/r2z2/{FIRST + 1}.json",
        f"/r2z2/{FIRST + 2}.json",
        "/r2z2/sequence.json",
    ]
    assert summary.skipped == 1
    assert summary.documents == 2


def test_gap_search_lands_on_first_document(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """The bisection between the probes stops at the first document left."""
    for sequence in range(1000, 1010):
        document = copy.deepcopy(documents[FIRST])
        document["killmail_id"] = document["esi"]["killmail_id"] = 70_000 + sequence
        fake.publish(sequence, document)

    summary = follower(db, http, fake).run(start_sequence=1, max_documents=1)

    assert summary.skipped == 999
    assert summary.last_sequence == 1000
    assert load_cursor(db) == 1000


def test_requests_keep_interval(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """Skipping and catching up send at most one request per interval."""
    fake.publish(500, documents[FIRST])
    fake.publish(501, documents[SECOND])
    now = [0.0]
    sent_at: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with make_http_client(TEST_USER_AGENT) as client:
        client.event_hooks["request"].append(lambda _request: sent_at.append(now[0]))
        feed = follower(
            db,
            client,
            fake,
            sleep=sleep,
            request_interval=0.5,
            monotonic=lambda: now[0],
        )
        summary = feed.run(start_sequence=1, once=True)

    assert summary.documents == 2
    assert len(sent_at) > 10
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    assert min(gaps) >= 0.5


@pytest.mark.timeout(60)
def test_huge_published_sequence_ends_once(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """A sequence.json value past bigint is invalid data, not a gap to walk."""
    fake.publish(FIRST, documents[FIRST])
    fake.feed_sequence = 99999999999999999999999
    delays: list[float] = []

    with pytest.raises(FeedUnavailable) as caught:
        follower(db, http, fake, sleep=stop_after(delays, 20)).run(
            start_sequence=FIRST, once=True
        )

    assert len(delays) == ONCE_RETRIES
    assert "has no valid 'sequence'" in caught.value.message
    assert load_cursor(db) is None


@pytest.mark.timeout(60)
def test_published_sequence_without_document_ends_once(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """A published number far ahead whose document is missing is a failure."""
    fake.publish(FIRST, documents[FIRST])
    fake.feed_sequence = 10**15
    delays: list[float] = []

    with pytest.raises(FeedUnavailable) as caught:
        follower(db, http, fake, sleep=stop_after(delays, 20)).run(
            start_sequence=FIRST, once=True
        )

    assert len(delays) == ONCE_RETRIES
    assert f"sequence.json reports {10**15}" in caught.value.message
    assert len(feed_paths(fake)) < 300
    assert load_cursor(db) == FIRST


# Documents above the published sequence and bad documents


def test_documents_past_published_not_read(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """A 200 above sequence.json must not move the position past the feed."""
    fake.publish(FIRST, documents[FIRST])
    fake.publish(SECOND, documents[SECOND])
    fake.feed_sequence = FIRST

    summary = follower(db, http, fake).run(start_sequence=FIRST, once=True)

    assert f"/r2z2/{SECOND}.json" not in feed_paths(fake)
    assert summary.documents == 1
    assert load_cursor(db) == FIRST


def test_wrong_shape_documents_end_once(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
) -> None:
    """JSON that is not an R2Z2 document, number after number, is a failing
    feed: the backoff keeps growing and 'once' gives up."""
    for sequence in range(FIRST, FIRST + 100):
        fake.publish(sequence, b'{"hello": "world"}')
    delays: list[float] = []

    with pytest.raises(FeedUnavailable) as caught:
        follower(db, http, fake, delays, backoff_seconds=1.0).run(
            start_sequence=FIRST, once=True
        )

    assert delays == [1.0, 2.0, 4.0]
    assert "is not an R2Z2 document" in caught.value.message
    assert load_cursor(db) == FIRST
    assert db.fetch_value("SELECT count(*) FROM rejects") == 1


def test_wrong_shape_documents_back_off_without_once(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
) -> None:
    for sequence in range(FIRST, FIRST + 100):
        fake.publish(sequence, b'{"hello": "world"}')
    delays: list[float] = []

    summary = follower(
        db, http, fake, sleep=stop_after(delays, 7), backoff_seconds=1.0
    ).run(start_sequence=FIRST)

    # Three tries for the first number, then the pauses keep doubling.
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    assert summary.rejected == 2
    assert summary.last_sequence == FIRST + 1


def test_redisq_bodies_rejected_without_retry(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A RedisQ package or an empty RedisQ poll served as an R2Z2 document
    was fetched three more times with growing pauses, then imported as a
    killmail with no reject, and the backoff kept growing after it."""
    package = shared_file("killmails/feeds/redisq_package_119455394.json")
    fake.publish(FIRST, package.read_bytes())
    fake.publish(FIRST + 1, b'{"package": null}')
    fake.publish(FIRST + 2, documents[SECOND])
    # A failure before each body shows whether the backoff was reset.
    for sequence in (FIRST, FIRST + 1, FIRST + 2):
        fake.queue("GET", f"/r2z2/{sequence}.json", Reply(503))
    delays: list[float] = []

    summary = follower(db, http, fake, delays, backoff_seconds=1.0).run(
        start_sequence=FIRST, max_documents=3
    )

    assert delays == [1.0, 1.0, 1.0]
    assert summary.rejected == 2
    assert summary.inserted == 1
    assert load_cursor(db) == FIRST + 2
    assert db.fetch_value("SELECT count(*) FROM killmails") == 1
    rejects = db.fetch_all(
        "SELECT position, killmail_id, field, reason, raw FROM rejects"
        " WHERE source_file = '<r2z2>' ORDER BY position"
    )
    assert [r[0] for r in rejects] == [f"sequence {FIRST}", f"sequence {FIRST + 1}"]
    assert [r[1] for r in rejects] == [119455394, None]
    assert [r[2] for r in rejects] == ["$", "$"]
    assert "a RedisQ package, not an R2Z2 document" in rejects[0][3]
    assert "an empty RedisQ poll" in rejects[1][3]
    assert rejects[1][4] == '{"package": null}'
    warnings = follower_warnings(caplog)
    assert not any("try 1 of" in w for w in warnings)
    assert any(
        f"sequence {FIRST} (killmail 119455394) was rejected: the body is a"
        " RedisQ package" in w
        for w in warnings
    )


@pytest.mark.timeout(60)
def test_follow_command_once_ends_on_wrong_shape(
    db: Database,
    fake: FakeServer,
    command_env: None,
    fast_backoff: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for sequence in range(1, 20000):
        fake.publish(sequence, b'{"hello": "world"}')
    fake.feed_sequence = 1017

    status = cli.main(["follow", "--once", "--json", "--from-sequence", "1"])

    assert status == 2
    captured = capsys.readouterr()
    assert "is not an R2Z2 document" in captured.err
    assert "follow --once gives up" in captured.err
    assert load_cursor(db) == 1
    # What was done before giving up still reaches stdout, for a cron job.
    summary = json.loads(captured.out)
    assert summary["documents"] == 1
    assert summary["rejected"] == 1
    assert summary["inserted"] == 0


def test_position_ahead_resumes_at_published(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A feed that restarted its numbering below the stored position is read
    again from its published sequence, with a warning."""
    save_cursor(db, SECOND + 17364)
    fake.publish(FIRST, documents[FIRST])
    fake.publish(SECOND, documents[SECOND])

    summary = follower(db, http, fake).run(once=True)

    assert summary.documents == 1
    assert load_cursor(db) == SECOND
    warnings = follower_warnings(caplog)
    assert len(warnings) == 1
    assert f"position {SECOND + 17364} is ahead of the published" in warnings[0]
    assert f"resuming at {SECOND}" in warnings[0]


def test_requested_start_ahead_waits(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """--from-sequence above the feed is kept: the follower waits for it."""
    fake.publish(FIRST, documents[FIRST])

    summary = follower(db, http, fake).run(start_sequence=FIRST + 50, once=True)

    assert summary.documents == 0
    assert load_cursor(db) is None
    assert "is above the published sequence" in caplog.text


def test_negative_published_sequence_is_invalid(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
) -> None:
    fake.feed_sequence = -3
    delays: list[float] = []

    with pytest.raises(FeedUnavailable) as caught:
        follower(db, http, fake, sleep=stop_after(delays, 20)).run(once=True)

    assert len(delays) == ONCE_RETRIES
    assert "has no valid 'sequence'" in caught.value.message
    assert "-3" in caught.value.message
    assert load_cursor(db) is None


# A lost database


def test_lost_database_logged_once_per_pause(
    db_url: str,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database that ends the follower's connections and refuses new ones
    gives one follower line per pause, and the document is stored after it."""
    fake.publish(FIRST, documents[FIRST])
    delays: list[float] = []
    # A database cannot refuse connections from a session inside it.
    database = sql.Identifier(conninfo_to_dict(db_url)["dbname"])
    admin_url = make_conninfo(db_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:

        def refuse_connections(*args: Any) -> Any:
            if not delays:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(
                        database
                    )
                )
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'evedmv-follow-test'"
                )
            return follow_module.import_feed_documents(*args)

        def allow_connections(seconds: float) -> None:
            delays.append(seconds)
            admin.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(database)
            )

        try:
            with Database(
                db_url,
                telemetry=Telemetry(),
                application_name="evedmv-follow-test",
                borrow_timeout=5.0,
            ) as feed_db:
                feed = follower(
                    feed_db,
                    http,
                    fake,
                    sleep=allow_connections,
                    backoff_seconds=5.0,
                    import_documents=refuse_connections,
                )
                summary = feed.run(start_sequence=FIRST, max_documents=1)
                cursor = load_cursor(feed_db)
        finally:
            admin.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(database)
            )

    assert delays == [5.0]
    assert summary.backoffs == 1
    assert summary.documents == 1
    assert cursor == FIRST
    warnings = follower_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].startswith("database un")
    assert "unreachable" in warnings[0]
    assert warnings[0].endswith("; retrying in 5 s")


def test_follow_quiets_pool_log_below_debug(
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    command_env: None,
) -> None:
    """-v shows the follower's own line for a lost database, not the pool's
    record of every reconnection attempt; -vv shows those too."""
    fake.publish(FIRST, documents[FIRST])
    pool_log = logging.getLogger("psycopg.pool")
    level = pool_log.level
    try:
        assert cli.main(["-v", "follow", "--once"]) == 0
        assert not pool_log.isEnabledFor(logging.WARNING)
        assert cli.main(["-vv", "follow", "--once"]) == 0
        assert pool_log.isEnabledFor(logging.WARNING)
    finally:
        pool_log.setLevel(level)


# The command: Ctrl-C, lag wording and --no-esi


def test_interrupt_prints_summary_and_exits_130(
    db: Database,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.publish(SECOND, documents[SECOND])
    batches: list[int] = []

    def interrupt_second_batch(_db: Database, _result: Any) -> None:
        batches.append(1)
        if len(batches) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(
        follow_command, "default_hooks", lambda: [interrupt_second_batch]
    )

    status = cli.main(["follow", "--from-sequence", str(FIRST), "--json"])

    captured = capsys.readouterr()
    assert status == 130
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["documents"] == 1
    assert summary["last_sequence"] == FIRST
    assert "interrupted" in captured.err


class _SigtermNotHandled(Exception):
    """Raised by the test's own SIGTERM handler, which the command should replace."""


@pytest.mark.timeout(60)
def test_sigterm_prints_summary_and_exits_0(
    db: Database,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGTERM, as systemd stops a service, ended the follower with status
    143 and without the saved-position line or the summary."""
    fake.publish(FIRST, documents[FIRST])
    fake.feed_sequence = FIRST

    def terminate_soon(_db: Database, _result: Any) -> None:
        # Sent while the follower waits for the next document.
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()

    def not_handled(_signum: int, _frame: object) -> None:
        raise _SigtermNotHandled

    monkeypatch.setattr(follow_command, "default_hooks", lambda: [terminate_soon])
    # Without the command's handler, SIGTERM would end the test run itself.
    previous = signal.signal(signal.SIGTERM, not_handled)
    try:
        status = cli.main(
            ["follow", "--from-sequence", str(FIRST), "--poll-seconds", "30", "--json"]
        )
        handler_after = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)

    captured = capsys.readouterr()
    assert status == 0
    assert "evedmv: stopped by SIGTERM; the position is saved" in captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["documents"] == 1
    assert summary["last_sequence"] == FIRST
    assert load_cursor(db) == FIRST
    assert handler_after is not_handled


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "0 s"),
        (-0.4, "0 s"),
        (12, "12 s"),
        (-12, "-12 s"),
        (125, "2 min 5 s"),
        (300, "5 min"),
        (7200, "2 h"),
        (3 * 3600 + 61, "3 h 1 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (158509054, "5.0 y"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert follow_module.format_duration(seconds) == text


def test_summary_shows_lag_as_duration(
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.publish(FIRST, documents[FIRST])

    assert cli.main(["follow", "--once"]) == 0

    out = capsys.readouterr().out
    assert re.search(r"max lag \d+\.\d y;", out), out


def bodyless(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "esi"}


def pending_count(db: Database) -> int:
    value = db.fetch_value(
        "SELECT count(*) FROM killmail_index WHERE state = 'pending'"
    )
    return int(value)


@pytest.mark.parametrize("option", ["--no-esi", "--offline"])
def test_no_esi_keeps_bodies_pending(
    option: str,
    db: Database,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--offline after follow is the deprecated name of --no-esi."""
    fake.publish(FIRST, bodyless(documents[FIRST]))

    status = cli.main(["follow", "--once", option])

    assert status == 0
    assert not fake.requests_to("GET", "/esi/")
    assert pending_count(db) == 1
    deprecated = "'follow --offline' is deprecated; use 'follow --no-esi'"
    assert (deprecated in capsys.readouterr().err) is (option == "--offline")


def test_follow_help_lists_no_esi_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["follow", "--help"]) == 0

    out = capsys.readouterr().out
    assert "--no-esi" in out
    assert "--offline" not in out


def test_global_offline_hint_names_no_esi(
    command_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["--offline", "follow", "--once"])

    assert status == 2
    err = capsys.readouterr().err
    assert "'follow --no-esi' reads the feed" in err


@pytest.mark.parametrize(
    ("counts", "delay"),
    [
        ({}, None),
        # ESI as a whole failed: the follower's own short wait.
        ({"failed": 2, "unavailable": 2, "stop_reason": "ESI unavailable"}, 300.0),
        ({"failed": 2, "unavailable": 2}, 300.0),
        # Killmails that failed for their own reason wait 15 minutes first,
        # also when the summary lists only their most common errors.
        ({"failed": 3, "errors": (("HTTP 404: not found", 3),)}, 900.0),
        ({"failed": 5, "errors": (("HTTP 404: not found", 2),)}, 900.0),
        ({"failed": 3, "unavailable": 1}, 300.0),
        # Pairs still waiting are due when the first wait ends.
        ({"waiting": 4, "next_try_at": NOW + dt.timedelta(minutes=40)}, 2400.0),
        ({"waiting": 4, "next_try_at": NOW + dt.timedelta(seconds=5)}, 300.0),
    ],
)
def test_pending_retry_follows_killmail_waits(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    counts: dict[str, Any],
    delay: float | None,
) -> None:
    """The follower fetched pending bodies again after 5 minutes although
    each failed killmail waits 15, so the retry requested nothing."""
    feed = follower(db, http, fake, pending_retry_seconds=300.0)
    summary = PendingSummary(
        requested=counts.get("failed", 0),
        stored=0,
        invalid=0,
        failed=counts.get("failed", 0),
        stop_reason=counts.get("stop_reason"),
        errors=counts.get("errors", ()),
        waiting=counts.get("waiting", 0),
        next_try_at=counts.get("next_try_at"),
        unavailable_failed=counts.get("unavailable", 0),
    )
    assert feed._pending_delay(summary) == delay


def test_second_follower_of_feed_stops(
    db: Database,
    db_url: str,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two followers of one feed fetched every document twice."""
    fake.publish(FIRST, documents[FIRST])
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute(
            "SELECT pg_advisory_lock(%s, hashtext('r2z2'))", (FOLLOW_LOCK_CLASS,)
        )

        assert cli.main(["follow", "--once"]) == 2
        err = capsys.readouterr().err
        assert "follow already running" in err
        assert "another 'evedmv follow' reads the r2z2 feed" in err
        assert feed_paths(fake) == []

    # The lock ends with the other follower's connection.
    assert cli.main(["follow", "--once"]) == 0
    assert load_cursor(db) == FIRST
