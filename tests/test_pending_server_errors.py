"""Pending pairs that ESI responds to with 5xx, one pair or all of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from evedmv_tui.esi import EsiClient
from evedmv_tui.ingest.pending import OUTAGE_STREAK, PendingSummary, fetch_pending
from evedmv_tui.store.db import Database
from tests.conftest import TEST_USER_AGENT
from tests.fakes.server import FakeServer, Reply
from tests.pending_support import make_pending, real_packages, serve


@pytest.fixture
def client(fake: FakeServer) -> Iterator[EsiClient]:
    with EsiClient(
        fake.esi_url, user_agent=TEST_USER_AGENT, sleep=lambda _: None
    ) as esi:
        yield esi


@pytest.fixture
def packages() -> list[dict[str, Any]]:
    return real_packages()


def always_fail(fake: FakeServer, killmail_id: int) -> None:
    """Make ESI respond to every request for the killmail with HTTP 500."""
    fake.queue(
        "GET",
        f"/esi/killmails/{killmail_id}/",
        *[Reply.error(500, "Internal Server Error")] * 100,
    )


def next_try_set(db: Database, killmail_id: int) -> bool:
    value = db.fetch_value(
        "SELECT next_try_at IS NOT NULL FROM killmail_index WHERE killmail_id = %s",
        (killmail_id,),
    )
    return bool(value)


def test_500_pairs_wait_behind_others(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    """A pair ESI always responds to with 500 once stopped every later run at its
    first request, because it got no wait and was requested first."""
    make_pending(db, packages)
    serve(fake, packages)
    broken = [packages[0]["killID"], packages[1]["killID"]]
    for killmail_id in broken:
        always_fail(fake, killmail_id)

    first = fetch_pending(db, client, workers=4)
    fake.clear_requests()
    second = fetch_pending(db, client, workers=4)

    assert not first.stopped_early
    assert first.stored == len(packages) - 2
    assert first.failed == 2
    assert first.unavailable_failed == 0
    assert all(next_try_set(db, killmail_id) for killmail_id in broken)
    assert [kind for kind, _ in first.errors] == ["HTTP 500: Internal Server Error"]
    assert second.requested == 0
    assert second.waiting == 2
    assert not second.stopped_early
    assert fake.requests_to("GET", "/esi/killmails/") == []


def test_500_streak_stops_run(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    """After ESI responded to a pair, a streak of 5xx pairs still stops the run."""
    make_pending(db, packages)
    serve(fake, packages)
    failing = [p["killID"] for p in packages[1 : 1 + OUTAGE_STREAK]]
    for killmail_id in failing:
        always_fail(fake, killmail_id)

    summary = fetch_pending(db, client, workers=1)

    assert summary.stopped_early
    assert summary.stored == 1
    assert summary.requested == 1 + OUTAGE_STREAK
    assert summary.unavailable_failed == OUTAGE_STREAK
    assert summary.not_tried == len(packages) - 1 - OUTAGE_STREAK
    assert not any(next_try_set(db, killmail_id) for killmail_id in failing)


def test_outage_counts_untried_pairs_of_run(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    """The stop counted only the untried pairs of its batch: 0 when ESI
    failed every pair of a first, short batch."""
    make_pending(db, packages)
    fake.queue("GET", "/esi/killmails/", *[Reply.error(503, "down")] * 400)

    summary = fetch_pending(db, client, workers=1, batch_size=4)

    assert summary.stopped_early
    assert summary.requested == 4
    assert summary.not_tried == len(packages) - 4
    assert f"{len(packages) - 4} due pairs were not tried" in str(summary)


def test_summary_names_unavailable_failures() -> None:
    """The text listed the kinds of own failures only, so its parts did not
    add up to the failed count."""
    summary = PendingSummary(
        400,
        20,
        1,
        379,
        "ESI is failing (HTTP 500): GET /x/ failed",
        (("HTTP 404: Killmail not found", 376), ("another killmail", 1)),
        unavailable_failed=2,
        not_tried=375,
    )

    text = str(summary)

    assert "376 × HTTP 404: Killmail not found, 1 × another killmail," in text
    assert "2 × ESI unavailable, tried again without a wait" in text
    assert "375 due pairs were not tried" in text


def test_503_with_retry_after_stops_at_first_pair(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    """A 503 with Retry-After, which ESI sends while it is down, still took
    5 pairs in a row to stop the run: minutes of waits with Retry-After: 60."""
    make_pending(db, packages)
    serve(fake, packages)
    fake.queue(
        "GET",
        "/esi/killmails/",
        *[Reply.error(503, "down", {"Retry-After": "60"})] * 100,
    )

    summary = fetch_pending(db, client, workers=1)

    assert summary.stopped_early
    assert summary.requested == 1
    assert summary.not_tried == len(packages) - 1
    assert len(fake.requests_to("GET", "/esi/killmails/")) == client.max_attempts
