"""ESI client against a loopback server: headers, errors, pacing and retries."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator

import pytest

from evedmv_tui.esi import (
    EsiCancelled,
    EsiClient,
    EsiError,
    EsiInvalidKillmail,
    EsiNotFound,
    EsiUnavailable,
    rate_limit_interval,
    retry_after_seconds,
)
from evedmv_tui.monitor.ingest import budget_of_client
from tests.conftest import shared_file
from tests.fakes.server import FakeServer, Reply, read_json

USER_AGENT = "evedmv-tui tests (tests@example.invalid)"


@pytest.fixture
def delays() -> list[float]:
    """Waits the client asked for, in order; nothing really sleeps."""
    return []


@pytest.fixture
def client(fake: FakeServer, delays: list[float]) -> Iterator[EsiClient]:
    with EsiClient(fake.esi_url, user_agent=USER_AGENT, sleep=delays.append) as esi:
        yield esi


def _real_killmail(fake: FakeServer) -> tuple[int, str]:
    document = read_json(
        shared_file("killmails/feeds/r2z2_shrike_testdata_900001.json")
    )
    fake.add_killmail(document["esi"], document["hash"])
    return document["killmail_id"], document["hash"]


def test_killmail_returns_esi_body(fake: FakeServer, client: EsiClient) -> None:
    killmail_id, killmail_hash = _real_killmail(fake)

    body = client.killmail(killmail_id, killmail_hash)

    assert body == fake.killmails[killmail_id, killmail_hash]
    (request,) = fake.requests
    assert request.path == f"/esi/killmails/{killmail_id}/{killmail_hash}/"
    assert request.headers["user-agent"] == USER_AGENT


def test_killmail_422_raises_without_retry(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    with pytest.raises(EsiInvalidKillmail) as caught:
        client.killmail(435341, "0" * 40)

    assert caught.value.status == 422
    assert "435341" in caught.value.message
    assert len(fake.requests) == 1
    assert delays == []


def test_429_waits_retry_after(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    killmail_id, killmail_hash = _real_killmail(fake)
    fake.queue(
        "GET",
        "/esi/killmails/",
        Reply.error(429, "Too many requests", {"Retry-After": "7"}),
    )

    body = client.killmail(killmail_id, killmail_hash)

    assert body == fake.killmails[killmail_id, killmail_hash]
    assert len(fake.requests) == 2
    assert delays == [7.0]
    assert client.retries == 1


def test_420_waits_error_limit_reset(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    killmail_id, killmail_hash = _real_killmail(fake)
    fake.queue(
        "GET",
        "/esi/killmails/",
        Reply.error(420, "error limited", {"X-ESI-Error-Limit-Reset": "42"}),
    )

    client.killmail(killmail_id, killmail_hash)

    assert delays[0] == 42.0
    assert len(fake.requests) == 2


def test_420_waits_reset_once(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    """A spent error limit is waited out once, not again before the retry."""
    killmail_id, killmail_hash = _real_killmail(fake)
    spent = {"X-ESI-Error-Limit-Remain": "0", "X-ESI-Error-Limit-Reset": "5"}
    fake.queue(
        "GET",
        "/esi/killmails/",
        Reply.error(420, "error limited", spent),
        Reply.error(420, "error limited", spent),
    )

    client.killmail(killmail_id, killmail_hash)

    assert delays == [5.0, 5.0]
    assert len(fake.requests) == 3


def test_retry_covers_longer_reset(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    """A 503 that leaves few errors waits for the reset, not the backoff too."""
    killmail_id, killmail_hash = _real_killmail(fake)
    low = {"X-ESI-Error-Limit-Remain": "3", "X-ESI-Error-Limit-Reset": "20"}
    fake.queue("GET", "/esi/killmails/", Reply.error(503, "unavailable", low))

    client.killmail(killmail_id, killmail_hash)

    assert delays == [20.0]
    assert len(fake.requests) == 2


def test_cancel_stops_next_try(fake: FakeServer, delays: list[float]) -> None:
    cancel = threading.Event()
    fake.queue("GET", "/esi/killmails/", *[Reply.error(503, "down")] * 4)

    def sleep_then_cancel(seconds: float) -> None:
        delays.append(seconds)
        cancel.set()

    client = EsiClient(fake.esi_url, user_agent=USER_AGENT, sleep=sleep_then_cancel)
    with client, pytest.raises(EsiCancelled):
        client.killmail(435341, "a" * 40, cancel=cancel)

    assert len(fake.requests) == 1
    assert delays == [1.0]


def test_5xx_backs_off_exponentially(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    killmail_id, killmail_hash = _real_killmail(fake)
    fake.queue(
        "GET",
        "/esi/killmails/",
        Reply.error(502, "bad gateway"),
        Reply.error(503, "unavailable"),
        Reply.error(504, "timeout"),
    )

    body = client.killmail(killmail_id, killmail_hash)

    assert body == fake.killmails[killmail_id, killmail_hash]
    assert delays == [1.0, 2.0, 4.0]
    assert len(fake.requests) == 4


def test_retries_are_bounded(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    fake.queue("GET", "/esi/killmails/", *[Reply.error(503, "down")] * 10)

    with pytest.raises(EsiUnavailable) as caught:
        client.killmail(435341, "a" * 40)

    assert len(fake.requests) == client.max_attempts
    assert len(delays) == client.max_attempts - 1
    assert caught.value.status == 503
    assert "HTTP 503" in caught.value.message


def test_low_error_limit_waits_for_reset(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    killmail_id, killmail_hash = _real_killmail(fake)
    fake.error_limit_remain = 6
    fake.error_limit_reset = 33

    with pytest.raises(EsiInvalidKillmail):
        client.killmail(killmail_id, "b" * 40)
    assert delays == []
    client.killmail(killmail_id, killmail_hash)

    # The 422 left 5 errors, under the floor of 10, so the second request
    # waited for the window reset before it was sent.
    assert delays == [33.0]
    assert len(fake.requests) == 2


def test_error_budget_is_public(fake: FakeServer, client: EsiClient) -> None:
    fake.error_limit_remain = 80
    fake.error_limit_reset = 17

    with pytest.raises(EsiInvalidKillmail):
        client.killmail(435341, "c" * 40)

    assert client.errors_remain == 79
    assert client.reset_seconds == 17
    assert client.requests_sent == 1


def test_transport_error_is_retried_then_raised(delays: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = EsiClient(
        f"http://127.0.0.1:{port}", user_agent=USER_AGENT, sleep=delays.append
    )

    with client, pytest.raises(EsiUnavailable) as caught:
        client.universe_names([2112000001])

    assert caught.value.status is None
    assert "ConnectError" in caught.value.message
    assert delays == [1.0, 2.0, 4.0]


def test_universe_names_returns_rows(fake: FakeServer, client: EsiClient) -> None:
    fake.add_names(
        [(500001, "faction", "Caldari State"), (98600992, "corporation", "C")]
    )

    rows = client.universe_names([500001, 98600992])

    assert {(r.id, r.category, r.name) for r in rows} == {
        (500001, "faction", "Caldari State"),
        (98600992, "corporation", "C"),
    }
    (request,) = fake.requests
    assert request.json() == [500001, 98600992]
    assert request.headers["user-agent"] == USER_AGENT


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "is not JSON: JSON is malformed"),
        (b'{"error": "x"}', "is not a list of names: Expected `array`, got `object`"),
    ],
)
def test_universe_names_bad_body_raises(
    fake: FakeServer, client: EsiClient, body: bytes, reason: str
) -> None:
    fake.queue("POST", "/esi/universe/names/", Reply(200, body))

    with pytest.raises(EsiError) as caught:
        client.universe_names([500001])

    assert caught.value.title == "unexpected ESI response"
    assert (
        f"POST /universe/names/ returned a body that {reason}" in caught.value.message
    )


def test_universe_names_404_raises(fake: FakeServer, client: EsiClient) -> None:
    fake.add_names([(500001, "faction", "Caldari State")])

    with pytest.raises(EsiNotFound) as caught:
        client.universe_names([500001, 2112000001])

    assert caught.value.status == 404
    assert "Ensure all IDs are valid" in caught.value.message


def test_universe_names_rejects_over_1000(fake: FakeServer, client: EsiClient) -> None:
    with pytest.raises(ValueError, match="at most 1000"):
        client.universe_names(list(range(90_000_000, 90_001_001)))

    assert fake.requests == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 0.0),
        ("", 0.0),
        ("12", 12.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Fri, 04 Dec 2026 10:00:30 GMT", 30.0),
        ("Fri, 04 Dec 2026 09:59:00 GMT", 0.0),
        ("not a date", 0.0),
    ],
)
def test_retry_after_parsing(header: str | None, expected: float) -> None:
    now = dt.datetime(2026, 12, 4, 10, 0, 0, tzinfo=dt.UTC)

    assert retry_after_seconds(header, now=now) == expected


def test_low_rate_limit_spaces_requests(
    fake: FakeServer, client: EsiClient, delays: list[float]
) -> None:
    killmail_id, killmail_hash = _real_killmail(fake)
    body = fake.killmails[killmail_id, killmail_hash]
    low = {"X-Ratelimit-Limit": "150/15m", "X-Ratelimit-Remaining": "3"}
    plenty = {"X-Ratelimit-Limit": "150/15m", "X-Ratelimit-Remaining": "140"}
    fake.queue(
        "GET", "/esi/killmails/", Reply(200, body, low), Reply(200, body, plenty)
    )

    for _ in range(3):
        client.killmail(killmail_id, killmail_hash)

    # 15 minutes over 150 tokens: one token comes back every 6 s. Only the
    # request after the low count waits.
    assert delays == [6.0]
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [("150/15m", 6.0), ("20/1s", 0.05), ("3600/1h", 1.0), ("0/15m", None), ("x", None)],
)
def test_rate_limit_interval(header: str, expected: float | None) -> None:
    assert rate_limit_interval(header) == expected


def test_budget_reports_error_and_rate_limits(
    fake: FakeServer, client: EsiClient
) -> None:
    killmail_id, killmail_hash = _real_killmail(fake)
    body = fake.killmails[killmail_id, killmail_hash]
    headers = {
        "X-Ratelimit-Limit": "150/15m",
        "X-Ratelimit-Remaining": "97",
        "X-ESI-Error-Limit-Remain": "88",
        "X-ESI-Error-Limit-Reset": "31",
    }
    fake.queue("GET", "/esi/killmails/", Reply(200, body, headers))

    before = budget_of_client(client)
    client.killmail(killmail_id, killmail_hash)
    after = budget_of_client(client)

    assert before.rate_limit_remaining is None
    assert before.errors_remain is None
    assert after.rate_limit_remaining == 97
    assert after.errors_remain == 88
    assert after.reset_seconds == 31
    assert after.requests_sent == before.requests_sent + 1
