"""Fetching bodies of pending killmails from a loopback ESI."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evedmv_tui import cli
from evedmv_tui.esi import EsiClient
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.importer import import_records
from evedmv_tui.ingest.pending import PendingSummary, fetch_pending
from evedmv_tui.store.db import Database
from tests.conftest import TEST_USER_AGENT, shared_file
from tests.fakes.server import FakeServer, Reply, esi_body, read_jsonl
from tests.pending_support import serve, write_listing

USER_AGENT = TEST_USER_AGENT


@pytest.fixture
def client(fake: FakeServer) -> Iterator[EsiClient]:
    with EsiClient(fake.esi_url, user_agent=USER_AGENT, sleep=lambda _: None) as esi:
        yield esi


@pytest.fixture
def packages() -> list[dict[str, Any]]:
    """The real RedisQ package bodies ``{killID, killmail, zkb}``, small first."""
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    return sorted(read_jsonl(path), key=lambda p: len(json.dumps(p)))


def reference(package: dict[str, Any], killmail_hash: str | None = None) -> bytes:
    """A zKillboard API list entry for the package: id and zkb, no body."""
    zkb = dict(package["zkb"])
    if killmail_hash is not None:
        zkb["hash"] = killmail_hash
    return json.dumps({"killmail_id": package["killID"], "zkb": zkb}).encode()


def make_pending(db: Database, packages: list[dict[str, Any]]) -> None:
    summary = import_records(db, [reference(p) for p in packages], source="zkb-api")
    assert summary.pending == len(packages)


def index_row(db: Database, killmail_id: int) -> tuple[Any, ...]:
    row = db.fetch_one(
        "SELECT state, killmail_hash, attempts, last_error FROM killmail_index"
        " WHERE killmail_id = %s",
        (killmail_id,),
    )
    assert row is not None
    return row


def test_pending_bodies_stored(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    make_pending(db, packages)
    serve(fake, packages)

    summary = fetch_pending(db, client)

    assert summary.requested == len(packages)
    assert summary.stored == len(packages)
    assert summary.invalid == 0
    assert summary.failed == 0
    assert not summary.stopped_early
    states = db.fetch_all("SELECT DISTINCT state FROM killmail_index")
    assert states == [("stored",)]
    assert db.fetch_value("SELECT count(*) FROM killmails") == len(packages)
    requests = fake.requests_to("GET", "/esi/killmails/")
    assert len(requests) == len(packages)
    assert {r.headers["user-agent"] for r in requests} == {USER_AGENT}


def test_pending_joins_zkb_block(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    package = packages[0]
    make_pending(db, [package])
    serve(fake, [package])

    fetch_pending(db, client)

    row = db.fetch_one(
        "SELECT total_value, value_source, esi_body FROM killmails"
        " WHERE killmail_id = %s",
        (package["killID"],),
    )
    assert row is not None
    total_value, value_source, esi_body = row
    assert total_value == package["zkb"]["totalValue"]
    assert value_source == "zkb"
    assert json.loads(esi_body) == package["killmail"]


def test_422_marks_pair_invalid(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    package = packages[0]
    make_pending(db, [package])

    summary = fetch_pending(db, client)

    assert summary.invalid == 1
    assert summary.stored == 0
    assert not summary.stopped_early
    state, _, attempts, last_error = index_row(db, package["killID"])
    assert state == "invalid"
    assert attempts == 1
    assert "422" in last_error


def test_invalid_pair_not_retried(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    package = packages[0]
    make_pending(db, [package])
    fetch_pending(db, client)
    fake.clear_requests()

    again = fetch_pending(db, client)
    import_records(db, [reference(package)], source="zkb-api")
    after_same_hash = fetch_pending(db, client)

    assert again.requested == 0
    assert after_same_hash.requested == 0
    assert fake.requests == []
    assert index_row(db, package["killID"])[0] == "invalid"


def test_new_hash_replaces_invalid_pair(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    package = packages[0]
    right_hash = package["zkb"]["hash"]
    wrong_hash = "0" * 40
    import_records(db, [reference(package, wrong_hash)], source="zkb-api")
    fetch_pending(db, client)
    assert index_row(db, package["killID"])[0] == "invalid"
    serve(fake, [package])

    import_records(db, [reference(package)], source="zkb-api")
    state, stored_hash, _, _ = index_row(db, package["killID"])
    summary = fetch_pending(db, client)

    assert (state, stored_hash) == ("pending", right_hash)
    assert summary.stored == 1
    assert index_row(db, package["killID"])[:2] == ("stored", right_hash)


def test_outage_leaves_pairs_pending(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    package = packages[0]
    make_pending(db, [package])
    serve(fake, [package])
    fake.queue("GET", "/esi/killmails/", *[Reply.error(503, "down")] * 4)

    summary = fetch_pending(db, client)
    state, _, attempts, last_error = index_row(db, package["killID"])
    retried = fetch_pending(db, client)

    assert summary.stopped_early
    assert summary.failed == 1
    assert state == "pending"
    assert attempts == 1
    assert "HTTP 503" in last_error
    assert retried.stored == 1
    assert index_row(db, package["killID"])[0] == "stored"


def pending_attempts(db: Database) -> list[tuple[int, int]]:
    """The ``(killmail_id, attempts)`` of every pending pair, in id order."""
    rows = db.fetch_all(
        "SELECT killmail_id, attempts FROM killmail_index WHERE state = 'pending'"
        " ORDER BY killmail_id"
    )
    return [(row[0], row[1]) for row in rows]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("workers", [1, 4])
def test_unreachable_esi_stops_run(
    db: Database, packages: list[dict[str, Any]], workers: int
) -> None:
    """Refused connections stop the run after one pair's retries per worker."""
    make_pending(db, packages)
    sent: list[httpx.Request] = []
    delays: list[float] = []
    http = httpx.Client(event_hooks={"request": [sent.append]})
    url = f"http://127.0.0.1:{_closed_port()}/latest"
    esi = EsiClient(url, user_agent=USER_AGENT, http=http, sleep=delays.append)
    with http, esi:
        summary = fetch_pending(db, esi, workers=workers)

    attempts = esi.max_attempts
    assert len(sent) > 0
    # Trying every pair would take len(packages) * attempts requests.
    assert len(sent) <= workers * attempts
    if workers == 1:
        assert len(sent) == attempts
    assert summary.stopped_early
    assert summary.stored == 0
    assert summary.requested == summary.failed
    assert summary.failed <= workers
    assert "stopped early because ESI is unreachable" in str(summary)
    assert "ConnectError" in str(summary)
    tried = [pair for pair in pending_attempts(db) if pair[1]]
    assert len(pending_attempts(db)) == len(packages)
    assert len(tried) == summary.failed


def test_rate_limited_esi_stops_run(
    db: Database, fake: FakeServer, packages: list[dict[str, Any]]
) -> None:
    """429 to everything: one pair's retries, each after Retry-After, then stop."""
    make_pending(db, packages)
    serve(fake, packages)
    too_many = Reply.error(429, "Too many requests", {"Retry-After": "2"})
    fake.queue("GET", "/esi/killmails/", *[too_many] * (4 * len(packages)))
    delays: list[float] = []

    with EsiClient(fake.esi_url, user_agent=USER_AGENT, sleep=delays.append) as esi:
        summary = fetch_pending(db, esi, workers=1)

    assert len(fake.requests_to("GET", "/esi/killmails/")) == esi.max_attempts
    assert delays == [2.0] * (esi.max_attempts - 1)
    assert summary.requested == 1
    assert summary.failed == 1
    assert summary.stored == 0
    assert summary.stop_reason is not None
    assert "rate-limiting" in summary.stop_reason
    assert "HTTP 429" in summary.stop_reason
    first = min(p["killID"] for p in packages)
    assert pending_attempts(db) == [
        (killmail_id, 1 if killmail_id == first else 0)
        for killmail_id in sorted(p["killID"] for p in packages)
    ]


def test_404_does_not_stop_run(
    db: Database, fake: FakeServer, packages: list[dict[str, Any]], client: EsiClient
) -> None:
    make_pending(db, packages)
    serve(fake, packages)
    fake.queue("GET", "/esi/killmails/", Reply.error(404, "not found"))

    summary = fetch_pending(db, client)

    assert not summary.stopped_early
    assert summary.requested == len(packages)
    assert summary.stored == len(packages) - 1
    assert summary.failed == 1


def next_try(db: Database, killmail_id: int) -> Any:
    """Seconds from now to the pair's next try, or None when it may be tried now."""
    return db.fetch_value(
        "SELECT extract(epoch FROM next_try_at - now()) FROM killmail_index"
        " WHERE killmail_id = %s",
        (killmail_id,),
    )


def test_404_pair_waits_before_retry(
    db: Database, fake: FakeServer, packages: list[dict[str, Any]], client: EsiClient
) -> None:
    """A pair that returned 404 is not requested again by the next run."""
    chosen = packages[:3]
    make_pending(db, chosen)
    fake.queue("GET", "/esi/killmails/", *[Reply.error(404, "not found")] * 3)
    first_id = chosen[0]["killID"]

    first = fetch_pending(db, client)
    first_wait = next_try(db, first_id)
    fake.clear_requests()
    second = fetch_pending(db, client)

    assert first.failed == 3
    assert first.waiting == 3
    assert 14 * 60 < first_wait <= 15 * 60
    assert second.requested == 0
    assert second.waiting == 3
    assert fake.requests == []


def test_wait_doubles_per_failure(
    db: Database, fake: FakeServer, packages: list[dict[str, Any]], client: EsiClient
) -> None:
    package = packages[0]
    make_pending(db, [package])
    waits = []
    for _ in range(3):
        fake.queue("GET", "/esi/killmails/", Reply.error(404, "not found"))
        fetch_pending(db, client)
        waits.append(round(next_try(db, package["killID"]) / 60))
        db.execute("UPDATE killmail_index SET next_try_at = now() - interval '1 s'")

    assert waits == [15, 30, 60]
    assert index_row(db, package["killID"])[2] == 3


def test_wait_capped_at_a_day(
    db: Database, fake: FakeServer, packages: list[dict[str, Any]], client: EsiClient
) -> None:
    package = packages[0]
    make_pending(db, [package])
    db.execute("UPDATE killmail_index SET attempts = 40")
    fake.queue("GET", "/esi/killmails/", Reply.error(404, "not found"))

    fetch_pending(db, client)

    assert round(next_try(db, package["killID"]) / 3600) == 24


def test_new_hash_ends_wait(
    db: Database, fake: FakeServer, packages: list[dict[str, Any]], client: EsiClient
) -> None:
    package = packages[0]
    import_records(db, [reference(package, "0" * 40)], source="zkb-api")
    fake.queue("GET", "/esi/killmails/", Reply.error(404, "not found"))
    fetch_pending(db, client)
    serve(fake, [package])

    import_records(db, [reference(package)], source="zkb-api")
    summary = fetch_pending(db, client)

    assert summary.stored == 1
    assert summary.waiting == 0


def test_outage_sets_no_wait(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    """Pairs that failed because ESI was down are not held back for a wait."""
    package = packages[0]
    make_pending(db, [package])
    fake.queue("GET", "/esi/killmails/", *[Reply.error(503, "down")] * 4)

    summary = fetch_pending(db, client)

    assert summary.failed == 1
    assert summary.waiting == 0
    assert next_try(db, package["killID"]) is None


def test_failures_logged_once(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    client: EsiClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Many 404s make one summary line, not a warning per killmail."""
    chosen = packages[:5]
    make_pending(db, chosen)
    fake.queue("GET", "/esi/killmails/", *[Reply.error(404, "not found")] * 5)

    with caplog.at_level("DEBUG", logger="evedmv_tui.ingest.pending"):
        summary = fetch_pending(db, client)

    records = [r for r in caplog.records if r.name == "evedmv_tui.ingest.pending"]
    warnings = [r for r in records if r.levelname == "WARNING"]
    debug_ids = {r.args[0] for r in records if r.levelname == "DEBUG"}  # type: ignore[index]
    assert warnings == []
    assert debug_ids == {p["killID"] for p in chosen}
    assert summary.errors == (("HTTP 404: not found", 5),)
    text = str(summary)
    assert "5 failed (5 × HTTP 404: not found)" in text
    assert "5 pending killmails wait for a retry" in text
    assert "any 'evedmv import PATH' from" in text


def test_summary_gives_stop_reason() -> None:
    summary = PendingSummary(3, 1, 0, 2, "ESI is unreachable: GET /x/ failed")

    assert str(summary) == (
        "3 requested, 1 stored, 0 invalid, 2 failed (stopped early because ESI is"
        " unreachable: GET /x/ failed; 0 due pairs were not tried and stay pending)"
    )
    assert not PendingSummary(3, 3, 0, 0).stopped_early


def test_limit_bounds_requests(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    make_pending(db, packages)
    serve(fake, packages)

    summary = fetch_pending(db, client, limit=5, batch_size=2)

    assert summary.requested == 5
    assert len(fake.requests) == 5
    pending = db.fetch_value(
        "SELECT count(*) FROM killmail_index WHERE state = 'pending'"
    )
    assert pending == len(packages) - 5


def test_wrong_body_stays_pending(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    first, second = packages[0], packages[1]
    make_pending(db, [first])
    # ESI returns the second killmail's body for the first one's id and hash.
    fake.killmails[first["killID"], first["zkb"]["hash"]] = esi_body(second["killmail"])

    summary = fetch_pending(db, client)

    assert summary.failed == 1
    state, _, attempts, last_error = index_row(db, first["killID"])
    assert state == "pending"
    assert attempts == 1
    assert str(second["killID"]) in last_error
    assert db.fetch_value("SELECT count(*) FROM killmails") == 0


def test_hooks_see_fetched_killmails(
    db: Database, fake: FakeServer, client: EsiClient, packages: list[dict[str, Any]]
) -> None:
    chosen = packages[:3]
    make_pending(db, chosen)
    serve(fake, chosen)
    results: list[BatchResult] = []

    fetch_pending(db, client, after_batch=[lambda _db, result: results.append(result)])

    inserted = sorted(i for r in results for i in r.inserted_ids)
    assert inserted == sorted(p["killID"] for p in chosen)


def test_import_command_fetches_pending(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chosen = packages[:4]
    listing = write_listing(tmp_path, chosen)
    serve(fake, chosen)

    offline_status = cli.main(["import", "--offline", str(listing)])
    offline_requests = len(fake.requests)
    online_status = cli.main(["import", str(listing)])

    assert offline_status == 0
    assert offline_requests == 0
    assert online_status == 0
    assert f"{len(chosen)} stored" in capsys.readouterr().out
    assert len(fake.requests_to("GET", "/esi/killmails/")) == len(chosen)
    assert db.fetch_value("SELECT count(*) FROM killmails") == len(chosen)
    pending = db.fetch_value(
        "SELECT count(*) FROM killmail_index WHERE state = 'pending'"
    )
    assert pending == 0


def test_import_command_names_invalid_pairs(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A pair ESI rejects is named, and not counted as a stored record."""
    good, invalid = packages[:2]
    entries = [json.loads(reference(p)) for p in (good, invalid)]
    entries.append({"killmail_id": 88888888, "zkb": {"hash": "nothex"}})
    listing = tmp_path / "zkb_api_list.json"
    listing.write_text(json.dumps(entries), encoding="utf-8")
    serve(fake, [good])

    status = cli.main(["import", str(listing)])

    out = capsys.readouterr().out
    assert status == 1
    assert "1 stored, 1 invalid" in out
    assert "1 record rejected; 1 valid record stored." in out
    assert "ESI rejected the hash of 1 killmail as invalid" in caplog.text
    assert f"({invalid['killID']})" in caplog.text


def test_later_import_skips_failed_pairs(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An unrelated import does not repeat the requests that returned 404."""
    failing, other = packages[:3], packages[3]
    listing = write_listing(tmp_path, failing)
    unrelated = tmp_path / "esi.json"
    unrelated.write_text(json.dumps(other["killmail"]), encoding="utf-8")
    fake.queue("GET", "/esi/killmails/", *[Reply.error(404, "not found")] * 3)

    first_status = cli.main(["import", str(listing)])
    first_out = capsys.readouterr().out
    fake.clear_requests()
    second_status = cli.main(["import", str(unrelated)])
    second_out = capsys.readouterr().out

    assert first_status == 0
    assert "3 failed (3 × HTTP 404: not found)" in first_out
    assert "any 'evedmv import PATH' from" in first_out
    assert second_status == 0
    assert fake.requests_to("GET", "/esi/killmails/") == []
    assert "0 requested" in second_out
    assert "3 pending killmails wait for a retry" in second_out
