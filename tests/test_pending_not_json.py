"""A loopback ESI that responds to killmail requests with HTTP 200 and an HTML page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from evedmv_tui.esi import EsiClient
from evedmv_tui.ingest.pending import OUTAGE_STREAK, fetch_pending
from evedmv_tui.store.db import Database
from tests.conftest import TEST_USER_AGENT
from tests.fakes.server import FakeServer, Reply
from tests.pending_support import make_pending, real_packages, serve

MAINTENANCE_PAGE = b"<html><body>ESI is down for maintenance</body></html>"


@pytest.fixture
def client(fake: FakeServer) -> Iterator[EsiClient]:
    with EsiClient(
        fake.esi_url, user_agent=TEST_USER_AGENT, sleep=lambda _: None
    ) as esi:
        yield esi


def waiting_pairs(db: Database) -> int:
    value = db.fetch_value(
        "SELECT count(*) FROM killmail_index WHERE next_try_at IS NOT NULL"
    )
    return int(value)


def test_html_page_stops_run_without_waits(
    db: Database, fake: FakeServer, client: EsiClient
) -> None:
    """Every pair that got a maintenance page waited 15 minutes, so the run
    after ESI came back requested nothing."""
    packages: list[dict[str, Any]] = real_packages()
    make_pending(db, packages)
    serve(fake, packages)
    # One page for each pair the run requests before it stops.
    fake.queue(
        "GET", "/esi/killmails/", *[Reply(200, MAINTENANCE_PAGE)] * OUTAGE_STREAK
    )

    down = fetch_pending(db, client, workers=1)
    back = fetch_pending(db, client, workers=1)

    assert down.stopped_early
    assert down.stop_reason is not None
    assert "not JSON" in down.stop_reason
    assert down.requested == OUTAGE_STREAK
    assert down.requested < len(packages)
    assert waiting_pairs(db) == 0
    assert back.stored == len(packages)
