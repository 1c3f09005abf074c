"""How often the R2Z2 follower requests pending bodies from a loopback ESI."""

from __future__ import annotations

from typing import Any

import httpx

from evedmv_tui.esi import EsiClient
from evedmv_tui.store.db import Database
from tests.conftest import TEST_USER_AGENT
from tests.fakes.server import FakeServer, Reply
from tests.follow_support import FIRST, SECOND, follower
from tests.pending_support import make_pending, real_packages, serve


def without_body(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "esi"}


def pending_count(db: Database) -> int:
    value = db.fetch_value(
        "SELECT count(*) FROM killmail_index WHERE state = 'pending'"
    )
    return int(value)


def test_failing_esi_not_requested_per_document(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """While ESI failed, each new bodyless document started another fetch
    round, which requested every pending body again."""
    fake.publish(FIRST, without_body(documents[FIRST]))
    fake.publish(SECOND, without_body(documents[SECOND]))
    fake.queue("GET", "/esi/killmails/", *[Reply.error(503, "down")] * 20)

    with EsiClient(
        fake.esi_url, user_agent=TEST_USER_AGENT, sleep=lambda _: None, max_attempts=1
    ) as esi:
        summary = follower(db, http, fake, esi=esi).run(once=True, start_sequence=FIRST)

    assert summary.documents == 2
    assert summary.pending == 2
    assert len(fake.requests_to("GET", "/esi/killmails/")) == 1
    assert pending_count(db) == 2


def test_backlog_fetched_in_bounded_rounds(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """One bodyless document fetched every pending body of the database
    before the feed moved on."""
    packages = real_packages()
    make_pending(db, packages)
    serve(fake, packages)
    document = documents[FIRST]
    fake.publish(FIRST, without_body(document))
    fake.add_killmail(document["esi"], document["hash"])

    with EsiClient(
        fake.esi_url, user_agent=TEST_USER_AGENT, sleep=lambda _: None
    ) as esi:
        summary = follower(db, http, fake, esi=esi, pending_round=2).run(once=True)

    # One round at the start and one after the document, 2 bodies each.
    assert summary.fetched == 4
    assert len(fake.requests_to("GET", "/esi/killmails/")) == 4
    assert pending_count(db) == len(packages) + 1 - 4


def test_start_fetches_bodies_left_pending(
    db: Database,
    http: httpx.Client,
    fake: FakeServer,
    documents: dict[int, dict[str, Any]],
) -> None:
    """A body left pending by an earlier run, such as after Ctrl-C, waited
    for the next document without a body."""
    package = real_packages()[0]
    make_pending(db, [package])
    serve(fake, [package])
    fake.publish(FIRST, documents[FIRST])

    with EsiClient(
        fake.esi_url, user_agent=TEST_USER_AGENT, sleep=lambda _: None
    ) as esi:
        summary = follower(db, http, fake, esi=esi).run(once=True, start_sequence=FIRST)

    assert summary.documents == 1
    assert summary.fetched == 1
    assert pending_count(db) == 0
