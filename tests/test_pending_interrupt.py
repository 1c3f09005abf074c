"""Ctrl-C while pending bodies are fetched from a loopback ESI that is failing."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from evedmv_tui.esi import EsiClient
from evedmv_tui.ingest.follow import load_cursor
from evedmv_tui.ingest.pending import fetch_pending
from evedmv_tui.store.db import Database
from tests.conftest import TEST_USER_AGENT
from tests.fakes.server import FakeServer, Reply
from tests.follow_support import FIRST, follower
from tests.pending_support import make_pending, real_packages, serve

INTERRUPT_AFTER = 1.0
"""Seconds before the test sends Ctrl-C, long enough for the first requests."""


@pytest.fixture(autouse=True)
def default_sigint() -> Iterator[None]:
    """Give SIGINT Python's default handler, which raises KeyboardInterrupt,
    as in the command line.

    In one run of the whole suite both tests' Ctrl-C raised nothing, as if
    an earlier test in the same worker process had left another handler
    installed (an asyncio runner's handler, for one, only cancels its task).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupt_later(fake: FakeServer, sent: list[int]) -> threading.Timer:
    """Send SIGINT to the main thread later, and note the requests sent by then."""
    main = threading.main_thread().ident
    assert main is not None

    def interrupt() -> None:
        sent.append(len(fake.requests_to("GET", "/esi/killmails/")))
        signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Timer(INTERRUPT_AFTER, interrupt)
    timer.start()
    return timer


def states(db: Database, packages: list[dict[str, Any]]) -> dict[int, tuple[str, bool]]:
    rows = db.fetch_all(
        "SELECT killmail_id, state, next_try_at IS NOT NULL FROM killmail_index"
        " WHERE killmail_id = ANY(%s)",
        ([p["killID"] for p in packages],),
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def test_ctrl_c_abandons_retry_after_waits(db: Database, fake: FakeServer) -> None:
    """Ctrl-C during a 30 s Retry-After ended the run only after every pair
    of the batch had been tried with all its retries, minutes later."""
    packages = real_packages()
    make_pending(db, packages)
    serve(fake, packages)
    healthy, failing = packages[0], packages[1:]
    for package in failing:
        fake.queue(
            "GET",
            f"/esi/killmails/{package['killID']}/",
            *[Reply.error(503, "down", {"Retry-After": "30"})] * 10,
        )
    sent: list[int] = []
    with EsiClient(fake.esi_url, user_agent=TEST_USER_AGENT) as client:
        timer = interrupt_later(fake, sent)
        started = time.monotonic()
        try:
            with pytest.raises(KeyboardInterrupt):
                fetch_pending(db, client, workers=2)
        finally:
            timer.cancel()
        elapsed = time.monotonic() - started

    assert elapsed < INTERRUPT_AFTER + 2
    assert len(fake.requests_to("GET", "/esi/killmails/")) == sent[0]
    found = states(db, packages)
    assert found[healthy["killID"]] == ("stored", False)
    assert {found[p["killID"]] for p in failing} == {("pending", False)}


def test_ctrl_c_ends_follow_during_esi_retries(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """Ctrl-C while the follower fetched a body from a failing ESI took
    minutes to end the follower."""
    document = documents[FIRST]
    fake.publish(FIRST, {k: v for k, v in document.items() if k != "esi"})
    fake.queue(
        "GET",
        "/esi/killmails/",
        *[Reply.error(503, "down", {"Retry-After": "30"})] * 10,
    )
    sent: list[int] = []
    with EsiClient(fake.esi_url, user_agent=TEST_USER_AGENT) as esi:
        timer = interrupt_later(fake, sent)
        started = time.monotonic()
        try:
            with pytest.raises(KeyboardInterrupt):
                follower(db, http, fake, esi=esi).run(once=True, start_sequence=FIRST)
        finally:
            timer.cancel()
        elapsed = time.monotonic() - started

    assert elapsed < INTERRUPT_AFTER + 2
    assert len(fake.requests_to("GET", "/esi/killmails/")) == sent[0]
    assert load_cursor(db) == FIRST
