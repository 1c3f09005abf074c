"""The R2Z2 follower and ``evedmv follow`` against a loopback zKillboard."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from evedmv_tui import cli
from evedmv_tui.esi import EsiClient
from evedmv_tui.ingest import follow as follow_module
from evedmv_tui.ingest.follow import (
    BAD_BODY_RETRIES,
    ONCE_RETRIES,
    FeedUnavailable,
    R2Z2Follower,
    load_cursor,
)
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.writer import WRITE_LOCK_KEY
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import TEST_USER_AGENT
from tests.fakes.server import FakeServer, Reply
from tests.follow_support import (
    FIRST,
    NOW,
    SECOND,
    feed_paths,
    follower,
    stop_after,
)

USER_AGENT = TEST_USER_AGENT


def killmail_count(db: Database) -> int:
    value = db.fetch_value("SELECT count(*) FROM killmails")
    return int(value)


def test_once_reads_until_caught_up(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.publish(SECOND, documents[SECOND])

    summary = follower(db, http, fake).run(once=True)

    # Past the published number it requests sequence.json, not the next document.
    assert feed_paths(fake) == [
        "/r2z2/sequence.json",
        f"/r2z2/{SECOND}.json",
        "/r2z2/sequence.json",
    ]
    assert summary.documents == 1
    assert summary.inserted == 1
    assert summary.last_sequence == SECOND
    assert load_cursor(db) == SECOND
    assert killmail_count(db) == 1


def test_resumes_after_restart(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    follower(db, http, fake).run(once=True)
    fake.publish(SECOND, documents[SECOND])
    fake.clear_requests()

    summary = follower(db, http, fake).run(once=True)

    assert feed_paths(fake)[:2] == ["/r2z2/sequence.json", f"/r2z2/{SECOND}.json"]
    assert summary.documents == 1
    assert load_cursor(db) == SECOND
    assert killmail_count(db) == 2


def test_404_waits_then_continues(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    delays: list[float] = []

    def publish_while_waiting(seconds: float) -> None:
        delays.append(seconds)
        fake.publish(SECOND, documents[SECOND])

    feed = follower(db, http, fake, sleep=publish_while_waiting, poll_seconds=6.0)
    summary = feed.run(max_documents=2)

    assert delays == [6.0]
    assert summary.waits == 1
    assert summary.documents == 2
    assert load_cursor(db) == SECOND


def test_429_and_403_back_off(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.queue(
        "GET",
        f"/r2z2/{FIRST}.json",
        Reply(429, b"", {"Retry-After": "30"}),
        Reply(403, b""),
        Reply(403, b""),
    )
    delays: list[float] = []

    summary = follower(db, http, fake, delays, backoff_seconds=10.0).run(
        max_documents=1
    )

    # Retry-After (30 s) wins over the first backoff step (10 s); then the
    # backoff doubles.
    assert delays == [30.0, 20.0, 40.0]
    assert summary.backoffs == 3
    assert summary.documents == 1
    assert killmail_count(db) == 1


def test_backoff_resets_after_success(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.publish(SECOND, documents[SECOND])
    fake.queue("GET", f"/r2z2/{FIRST}.json", Reply(503, b""))
    fake.queue("GET", f"/r2z2/{SECOND}.json", Reply(429, b""))
    delays: list[float] = []

    follower(db, http, fake, delays, backoff_seconds=10.0).run(
        start_sequence=FIRST, max_documents=2
    )

    assert delays == [10.0, 10.0]


def test_html_body_retried_then_stored(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """A 200 page that is not JSON (a proxy's page) is fetched again later."""
    fake.publish(FIRST, documents[FIRST])
    fake.feed_sequence = FIRST
    page = Reply(200, b"<html>Checking your browser</html>")
    fake.queue("GET", f"/r2z2/{FIRST}.json", page)
    fake.queue("GET", f"/r2z2/{FIRST}.json", page)
    delays: list[float] = []

    summary = follower(db, http, fake, delays, backoff_seconds=10.0).run(
        max_documents=1
    )

    assert delays == [10.0, 20.0]
    assert summary.rejected == 0
    assert summary.inserted == 1
    assert db.fetch_value("SELECT count(*) FROM rejects") == 0


def test_html_body_rejected_after_retries(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sequence that stays unreadable is rejected by number and passed."""
    fake.publish(FIRST, documents[FIRST])
    fake.publish(SECOND, documents[SECOND])
    page = Reply(200, b"<html>Checking your browser</html>")
    for _ in range(BAD_BODY_RETRIES + 1):
        fake.queue("GET", f"/r2z2/{FIRST}.json", page)
    delays: list[float] = []

    summary = follower(db, http, fake, delays, backoff_seconds=1.0).run(
        start_sequence=FIRST, max_documents=2
    )

    assert len(delays) == BAD_BODY_RETRIES
    assert summary.rejected == 1
    assert summary.inserted == 1
    assert load_cursor(db) == SECOND
    reject = db.fetch_one("SELECT source_file, position FROM rejects")
    assert reject == ("<r2z2>", f"sequence {FIRST}")
    assert f"--from-sequence {FIRST}" in caplog.text
    assert "killmail None" not in caplog.text


def test_republished_sequence_upserts(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    follower(db, http, fake).run(start_sequence=FIRST, max_documents=1)
    republished = copy.deepcopy(documents[FIRST])
    republished["zkb"]["totalValue"] = 9_876_543.21
    fake.publish(FIRST, republished)

    summary = follower(db, http, fake).run(start_sequence=FIRST, max_documents=1)

    assert summary.updated == 1
    assert killmail_count(db) == 1
    total_value = db.fetch_value(
        "SELECT total_value FROM killmails WHERE killmail_id = %s",
        (documents[FIRST]["killmail_id"],),
    )
    assert total_value == 9_876_543.21


def test_expired_sequence_is_skipped(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.publish(FIRST + 2, documents[SECOND])
    delays: list[float] = []

    summary = follower(db, http, fake, delays).run(start_sequence=FIRST, once=True)

    assert summary.skipped == 1
    assert summary.documents == 2
    assert summary.last_sequence == FIRST + 2
    assert delays == []


def test_lag_logged_per_killmail(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.publish(SECOND, documents[SECOND])
    killmail_time = dt.datetime.fromisoformat(documents[SECOND]["esi"]["killmail_time"])
    expected = (NOW - killmail_time).total_seconds()

    with caplog.at_level(logging.INFO, logger="evedmv_tui.ingest.follow"):
        summary = follower(db, http, fake).run(once=True)

    assert summary.max_lag_seconds == expected
    assert f"{follow_module.format_duration(expected)} after the kill" in caplog.text


def test_repeated_killmail_logged_as_duplicate(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A document that repeats an earlier number's killmail was logged as
    stored, with its lag, and its lag counted in the maximum again."""
    fake.publish(FIRST, documents[FIRST])
    fake.publish(FIRST + 1, documents[FIRST])
    killmail_id = documents[FIRST]["killmail_id"]
    killmail_time = dt.datetime.fromisoformat(documents[FIRST]["esi"]["killmail_time"])
    stored_at = iter([NOW, NOW + dt.timedelta(hours=1)])
    feed = R2Z2Follower(
        db,
        http,
        fake.r2z2_url,
        sleep=lambda _seconds: None,
        clock=lambda: next(stored_at),
        request_interval=0.0,
    )

    with caplog.at_level(logging.INFO, logger="evedmv_tui.ingest.follow"):
        summary = feed.run(start_sequence=FIRST, max_documents=2)

    assert summary.duplicates == 1
    assert summary.max_lag_seconds == (NOW - killmail_time).total_seconds()
    assert caplog.text.count("after the kill") == 1
    assert (
        f"sequence {FIRST + 1} repeats killmail {killmail_id}, which is stored"
        " already" in caplog.text
    )


def test_user_agent_on_every_request(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])

    follower(db, http, fake).run(once=True)

    assert fake.requests
    assert {r.headers["user-agent"] for r in fake.requests} == {USER_AGENT}


def test_hooks_run_after_each_document(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.publish(SECOND, documents[SECOND])
    results: list[BatchResult] = []

    follower(
        db, http, fake, after_batch=[lambda _db, result: results.append(result)]
    ).run(start_sequence=FIRST, once=True)

    assert [r.inserted_ids for r in results] == [
        (documents[FIRST]["killmail_id"],),
        (documents[SECOND]["killmail_id"],),
    ]


def test_bodyless_document_fetched_from_esi(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    document = documents[FIRST]
    without_body = {k: v for k, v in document.items() if k != "esi"}
    fake.publish(FIRST, without_body)
    fake.add_killmail(document["esi"], document["hash"])

    with EsiClient(fake.esi_url, user_agent=USER_AGENT, sleep=lambda _: None) as esi:
        summary = follower(db, http, fake, esi=esi).run(once=True)

    assert summary.pending == 1
    assert summary.fetched == 1
    assert killmail_count(db) == 1
    state = db.fetch_value(
        "SELECT state FROM killmail_index WHERE killmail_id = %s",
        (document["killmail_id"],),
    )
    assert state == "stored"


def test_pending_body_fetched_again_while_feed_is_quiet(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """A body ESI failed to give is fetched again once the retry wait is
    over, while the feed has nothing new, not only by a later import."""
    document = documents[FIRST]
    fake.publish(FIRST, {k: v for k, v in document.items() if k != "esi"})
    fake.add_killmail(document["esi"], document["hash"])
    fake.queue("GET", "/esi/killmails/", Reply.error(500, "down"))
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds
        return len(waits) >= 3

    with EsiClient(
        fake.esi_url, user_agent=USER_AGENT, sleep=lambda _: None, max_attempts=1
    ) as esi:
        feed = follower(
            db,
            http,
            fake,
            esi=esi,
            sleep=sleep,
            poll_seconds=6.0,
            pending_retry_seconds=10.0,
            monotonic=lambda: now[0],
        )
        summary = feed.run()

    # Asked at the document, then at the third wait (12 s), not the second (6 s).
    assert len(fake.requests_to("GET", "/esi/killmails/")) == 2
    assert waits == [6.0, 6.0, 6.0]
    assert summary.pending == 1
    assert summary.fetched == 1
    state = db.fetch_value(
        "SELECT state FROM killmail_index WHERE killmail_id = %s",
        (document["killmail_id"],),
    )
    assert state == "stored"


def test_unreachable_feed_backs_off(db: Database, http: httpx.Client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delays: list[float] = []

    def stop_on_third_wait(seconds: float) -> bool:
        delays.append(seconds)
        return len(delays) == 3

    feed = R2Z2Follower(
        db,
        http,
        f"http://127.0.0.1:{port}/r2z2",
        sleep=stop_on_third_wait,
        backoff_seconds=5.0,
        request_interval=0.0,
    )
    summary = feed.run(start_sequence=FIRST)

    assert delays == [5.0, 10.0, 20.0]
    assert summary.backoffs == 3
    assert summary.documents == 0
    assert load_cursor(db) is None


def closed_port_url() -> str:
    """Return a loopback feed URL on a port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/r2z2"


def test_once_gives_up_on_unreachable_feed(db: Database, http: httpx.Client) -> None:
    delays: list[float] = []
    sleep = stop_after(delays, ONCE_RETRIES + 5)
    feed = R2Z2Follower(
        db,
        http,
        closed_port_url(),
        sleep=sleep,
        backoff_seconds=5.0,
        request_interval=0.0,
    )

    with pytest.raises(FeedUnavailable) as caught:
        feed.run(once=True)

    assert delays == [5.0, 10.0, 20.0]
    assert len(delays) == ONCE_RETRIES
    assert "sequence.json failed: ConnectError" in caught.value.message
    assert f"({ONCE_RETRIES + 1} tries in a row)" in caught.value.message
    assert caught.value.hint is not None
    assert "EVEDMV_R2Z2_URL" in caught.value.hint
    assert load_cursor(db) is None


def test_once_gives_up_on_server_errors(
    db: Database, http: httpx.Client, fake: FakeServer
) -> None:
    fake.feed_sequence = FIRST
    for _ in range(ONCE_RETRIES + 1):
        fake.queue("GET", f"/r2z2/{FIRST}.json", Reply(503, b""))
    delays: list[float] = []

    with pytest.raises(FeedUnavailable) as caught:
        follower(db, http, fake, sleep=stop_after(delays, ONCE_RETRIES + 5)).run(
            once=True, start_sequence=FIRST
        )

    assert len(delays) == ONCE_RETRIES
    assert f"/r2z2/{FIRST}.json returned HTTP 503" in caught.value.message


def test_without_once_retries_past_limit(db: Database, http: httpx.Client) -> None:
    delays: list[float] = []
    sleep = stop_after(delays, ONCE_RETRIES + 2)

    feed = R2Z2Follower(db, http, closed_port_url(), sleep=sleep, request_interval=0.0)
    summary = feed.run(start_sequence=FIRST)

    assert len(delays) == ONCE_RETRIES + 2
    assert summary.backoffs == ONCE_RETRIES + 2


@pytest.mark.timeout(60)
def test_follow_command_once_ends_on_closed_port(
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """'follow --once' against a closed port ends non-zero with the reason."""
    monkeypatch.setattr(follow_module, "BACKOFF_SECONDS", 0.05)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("EVEDMV_DSN", db.conninfo)
    monkeypatch.setenv("EVEDMV_USER_AGENT", USER_AGENT)
    monkeypatch.setenv("EVEDMV_R2Z2_URL", closed_port_url())
    started = time.monotonic()

    status = cli.main(["follow", "--once"])

    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 2
    assert elapsed < 30
    assert "evedmv: R2Z2 feed unavailable: GET http://127.0.0.1:" in err
    assert "follow --once gives up" in err
    assert "Traceback" not in err


def test_follow_command_once(
    db: Database,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.publish(FIRST, documents[FIRST])

    status = cli.main(["follow", "--once", "--json"])

    assert status == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["documents"] == 1
    assert summary["inserted"] == 1
    assert summary["last_sequence"] == FIRST
    assert load_cursor(db) == FIRST
    assert {r.headers["user-agent"] for r in fake.requests} == {USER_AGENT}


def test_follow_command_exits_1_on_rejects(
    db: Database,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = copy.deepcopy(documents[FIRST])
    broken["esi"]["victim"]["damage_taken"] = "lots"
    fake.publish(FIRST, broken)

    status = cli.main(["follow", "--once", "--json"])

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rejected"] == 1
    assert status == 1


def test_follow_rejects_bad_max_documents(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["follow", "--max-documents", "0"])

    assert caught.value.code == 2
    assert "invalid value '0': give a whole number from 1" in capsys.readouterr().err


def test_failed_write_retried_after_pause(
    db: Database,
    db_url: str,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """Regression: a database error while storing a document must pause the
    feed and fetch the same document again, not end the follower."""
    name = db.fetch_value("SELECT current_database()")
    db.execute(
        sql.SQL("ALTER DATABASE {} SET lock_timeout = '200ms'").format(
            sql.Identifier(name)
        )
    )
    fake.publish(FIRST, documents[FIRST])
    delays: list[float] = []
    with psycopg.connect(db_url, autocommit=True) as holder:
        # Another writer holds the import lock, so this one times out.
        holder.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK_KEY,))

        def release_lock(seconds: float) -> None:
            delays.append(seconds)
            holder.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK_KEY,))

        with Database(db_url, telemetry=Telemetry()) as feed_db:
            feed = R2Z2Follower(
                feed_db,
                http,
                fake.r2z2_url,
                sleep=release_lock,
                backoff_seconds=5.0,
                request_interval=0.0,
            )
            summary = feed.run(start_sequence=FIRST, max_documents=1)

    assert delays == [5.0]
    assert summary.backoffs == 1
    assert summary.documents == 1
    assert feed_paths(fake) == [
        "/r2z2/sequence.json",
        f"/r2z2/{FIRST}.json",
        f"/r2z2/{FIRST}.json",
    ]
    assert killmail_count(db) == 1
    assert load_cursor(db) == FIRST


def test_start_waits_for_sequence_json(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.queue("GET", "/r2z2/sequence.json", Reply(403, b""))
    delays: list[float] = []

    summary = follower(db, http, fake, delays, backoff_seconds=10.0).run(once=True)

    assert delays == [10.0]
    assert summary.backoffs == 1
    assert summary.documents == 1
    assert load_cursor(db) == FIRST


def test_document_with_another_hash_rejected(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A feed document whose hash differs from the stored killmail's is a reject."""
    fake.publish(FIRST, documents[FIRST])
    follower(db, http, fake).run(start_sequence=FIRST, max_documents=1)
    other = copy.deepcopy(documents[FIRST])
    other_hash = "f" * 40
    other["hash"] = other_hash
    other["zkb"]["hash"] = other_hash
    other["zkb"]["totalValue"] = 1.0
    fake.publish(FIRST + 1, other)

    with caplog.at_level(logging.INFO, logger="evedmv_tui.ingest"):
        summary = follower(db, http, fake).run(max_documents=1)

    assert summary.rejected == 1
    assert summary.updated == 0
    assert summary.last_sequence == FIRST + 1
    assert load_cursor(db) == FIRST + 1
    killmail_id = documents[FIRST]["killmail_id"]
    row = db.fetch_one(
        "SELECT killmail_hash, total_value FROM killmails WHERE killmail_id = %s",
        (killmail_id,),
    )
    assert row == (documents[FIRST]["hash"], documents[FIRST]["zkb"]["totalValue"])
    reject = db.fetch_one(
        "SELECT source_file, killmail_id, field, reason, raw, position FROM rejects"
    )
    assert reject is not None
    assert reject[:3] == ("<r2z2>", killmail_id, "$.hash")
    assert other_hash in reject[3]
    assert reject[5] == f"sequence {FIRST + 1}"
    raw = json.loads(reject[4])
    assert raw["hash"] == other_hash
    assert raw["esi"] == other["esi"]
    assert raw["zkb"] == other["zkb"]
    assert f"sequence {FIRST + 1} (killmail {killmail_id}) was rejected" in caplog.text
    assert "after the kill" not in caplog.text
