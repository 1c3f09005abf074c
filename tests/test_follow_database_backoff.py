"""The R2Z2 follower backs off for the database apart from the feed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
import psycopg
import pytest

from evedmv_tui.ingest import follow as follow_module
from evedmv_tui.ingest.follow import ImportCounts, load_cursor
from evedmv_tui.ingest.hooks import BatchHook
from evedmv_tui.store.db import Database
from tests.fakes.server import FakeServer, Reply
from tests.follow_support import FIRST, SECOND, follower


def failing_imports(failures: int) -> follow_module.ImportDocuments:
    """Return an import that loses the connection ``failures`` times, then works."""
    remaining = [failures]

    def import_documents(
        db: Database,
        bodies: list[bytes],
        hooks: Sequence[BatchHook],
        positions: Sequence[str],
    ) -> ImportCounts:
        if remaining[0] > 0:
            remaining[0] -= 1
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return follow_module.import_feed_documents(db, bodies, hooks, positions)

    return import_documents


def database_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "evedmv_tui.ingest.follow"
        and r.levelno >= logging.WARNING
        and r.getMessage().startswith("database")
    ]


def test_database_pause_starts_at_first_step(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database lost after three feed pauses paused 80 s, the feed's next
    step, instead of the first step of its own backoff."""
    fake.publish(FIRST, documents[FIRST])
    fake.queue(
        "GET", f"/r2z2/{FIRST}.json", Reply(503, b""), Reply(503, b""), Reply(503, b"")
    )
    delays: list[float] = []

    summary = follower(
        db,
        http,
        fake,
        delays,
        backoff_seconds=10.0,
        import_documents=failing_imports(2),
    ).run(start_sequence=FIRST, max_documents=1)

    assert delays == [10.0, 20.0, 40.0, 10.0, 20.0]
    assert summary.backoffs == 5
    assert load_cursor(db) == FIRST
    warnings = database_warnings(caplog)
    assert len(warnings) == 2
    assert warnings[0].endswith("; retrying in 10 s")
    assert warnings[1].endswith("; retrying in 20 s")


def test_database_backoff_resets_after_store(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """A stored document resets the database backoff, and a database pause
    does not raise the feed's."""
    fake.publish(FIRST, documents[FIRST])
    fake.publish(SECOND, documents[SECOND])
    fake.queue("GET", f"/r2z2/{SECOND}.json", Reply(503, b""))
    delays: list[float] = []
    # Each document loses the connection on its first import only.
    lost_once: set[str] = set()

    def import_documents(
        db: Database,
        bodies: list[bytes],
        hooks: Sequence[BatchHook],
        positions: Sequence[str],
    ) -> ImportCounts:
        if positions[0] not in lost_once:
            lost_once.add(positions[0])
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return follow_module.import_feed_documents(db, bodies, hooks, positions)

    summary = follower(
        db,
        http,
        fake,
        delays,
        backoff_seconds=10.0,
        import_documents=import_documents,
    ).run(start_sequence=FIRST, max_documents=2)

    # The database (10 s), the feed's 503 (10 s), the database again (10 s).
    assert delays == [10.0, 10.0, 10.0]
    assert summary.documents == 2
    assert load_cursor(db) == SECOND
