"""What the R2Z2 follower's test modules share: the real feed documents, a
follower whose waits are recorded instead of slept, and the feed requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from evedmv_tui.ingest.follow import R2Z2Follower
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import FakeServer, read_json

FIRST, SECOND = 900001, 900002
"""Sequence numbers of the two real R2Z2 documents in the shared data."""
NOW = dt.datetime(2026, 1, 21, 12, 0, tzinfo=dt.UTC)


def real_documents() -> dict[int, dict[str, Any]]:
    """The two real R2Z2 documents, by sequence number."""
    return {
        sequence: read_json(
            shared_file(f"killmails/feeds/r2z2_shrike_testdata_{sequence}.json")
        )
        for sequence in (FIRST, SECOND)
    }


def follower(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    delays: list[float] | None = None,
    *,
    sleep: Callable[[float], object] | None = None,
    **kwargs: Any,
) -> R2Z2Follower:
    """A follower whose waits are recorded in ``delays`` instead of slept.

    Requests go back to back unless ``request_interval`` is given.
    """
    recorded = [] if delays is None else delays
    kwargs.setdefault("request_interval", 0.0)
    return R2Z2Follower(
        db,
        http,
        fake.r2z2_url,
        sleep=sleep or recorded.append,
        clock=lambda: NOW,
        **kwargs,
    )


def feed_paths(fake: FakeServer) -> list[str]:
    return [r.path for r in fake.requests_to("GET", "/r2z2/")]


def stop_after(delays: list[float], waits: int) -> Callable[[float], bool]:
    """Return a sleep that records each wait and stops the run at ``waits``."""

    def sleep(seconds: float) -> bool:
        delays.append(seconds)
        return len(delays) >= waits

    return sleep
