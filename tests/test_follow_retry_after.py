"""The R2Z2 follower honours ``Retry-After`` on ``sequence.json``."""

from __future__ import annotations

from typing import Any

import httpx

from evedmv_tui.ingest.follow import load_cursor
from evedmv_tui.store.db import Database
from tests.fakes.server import FakeServer, Reply
from tests.follow_support import FIRST, follower


def test_sequence_429_waits_retry_after(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """A 429 on sequence.json paused for the backoff step (10 s) and dropped
    its Retry-After (25 s), which a 429 on a document honoured."""
    fake.publish(FIRST, documents[FIRST])
    fake.queue(
        "GET",
        "/r2z2/sequence.json",
        Reply(429, b"", {"Retry-After": "25"}),
        Reply(503, b"", {"Retry-After": "15"}),
    )
    delays: list[float] = []

    summary = follower(db, http, fake, delays, backoff_seconds=10.0).run(
        start_sequence=FIRST, max_documents=1
    )

    # 25 s beats the first step (10 s); the second step (20 s) beats 15 s.
    assert delays == [25.0, 20.0]
    assert summary.backoffs == 2
    assert load_cursor(db) == FIRST


def test_first_sequence_429_waits_retry_after(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """Without a stored position the first read of sequence.json honours
    Retry-After too."""
    fake.publish(FIRST, documents[FIRST])
    fake.queue("GET", "/r2z2/sequence.json", Reply(429, b"", {"Retry-After": "25"}))
    delays: list[float] = []

    summary = follower(db, http, fake, delays, backoff_seconds=10.0).run(
        max_documents=1
    )

    assert delays == [25.0]
    assert summary.documents == 1


def test_sequence_retry_after_capped_at_max(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    fake.publish(FIRST, documents[FIRST])
    fake.queue("GET", "/r2z2/sequence.json", Reply(429, b"", {"Retry-After": "3600"}))
    delays: list[float] = []

    follower(
        db, http, fake, delays, backoff_seconds=10.0, max_backoff_seconds=600.0
    ).run(start_sequence=FIRST, max_documents=1)

    assert delays == [600.0]
