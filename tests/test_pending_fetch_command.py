"""'evedmv import --pending', the pending hint, and the fetch summary's counts."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from evedmv_tui import cli
from evedmv_tui.esi import EsiClient
from evedmv_tui.ingest.pending import PendingSummary, fetch_pending
from evedmv_tui.store.db import Database
from tests.conftest import TEST_USER_AGENT
from tests.fakes.server import FakeServer, Reply, esi_body
from tests.pending_support import make_pending, real_packages, write_listing


@pytest.fixture
def packages() -> list[dict[str, Any]]:
    return real_packages()


def state_of(db: Database, killmail_id: int) -> str:
    value = db.fetch_value(
        "SELECT state FROM killmail_index WHERE killmail_id = %s", (killmail_id,)
    )
    return str(value)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_pending_flag_fetches_without_path(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Pending bodies could be fetched only by naming a file to import."""
    chosen = packages[:3]
    listing = write_listing(tmp_path, chosen)
    assert cli.main(["import", "--offline", str(listing)]) == 0
    capsys.readouterr()
    for package in chosen:
        fake.add_killmail(package["killmail"], package["zkb"]["hash"])

    status = cli.main(["import", "--pending"])

    out = capsys.readouterr().out
    assert status == 0
    assert "3 requested, 3 stored, 0 invalid, 0 failed" in out
    assert "0 still pending in total" in out
    assert len(fake.requests_to("GET", "/esi/killmails/")) == 3
    assert all(state_of(db, p["killID"]) == "stored" for p in chosen)


def test_pending_flag_prints_json(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_pending(db, packages[:2])
    fake.add_killmail(packages[0]["killmail"], packages[0]["zkb"]["hash"])

    status = cli.main(["import", "--pending", "--json"])

    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert result["requested"] == 2
    assert result["stored"] == 1
    assert result["invalid"] == 1
    assert result["still_pending"] == 0


def test_pending_flag_refused_offline(
    db: Database,
    packages: list[dict[str, Any]],
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_pending(db, packages[:1])
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")

    status = cli.main(["import", "--pending"])

    err = capsys.readouterr().err
    assert status == 2
    assert "EVEDMV_OFFLINE=1" in err
    assert state_of(db, packages[0]["killID"]) == "pending"


def test_pending_flag_with_path_refused(
    tmp_path: Path, command_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["import", "--pending", str(tmp_path)])

    assert status == 2
    assert "--pending takes no PATH" in capsys.readouterr().err


def test_import_without_path_names_pending(
    command_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["import"])

    err = capsys.readouterr().err
    assert status == 2
    assert "missing PATH" in err
    assert "--pending" in err


def test_offline_summary_hints_pending_command(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An offline import's summary counted pending killmails and never
    explained them, the command that fetches them, or the offline setting."""
    listing = write_listing(tmp_path, packages[:4])
    monkeypatch.setenv("EVEDMV_OFFLINE", "yes")

    assert cli.main(["import", str(listing)]) == 0
    out = capsys.readouterr().out
    assert cli.main(["import", "--json", str(listing)]) == 0
    result = json.loads(capsys.readouterr().out)

    assert "4 killmails are pending: known by id and hash" in out
    assert "Run 'evedmv import --pending' to fetch them" in out
    assert "EVEDMV_OFFLINE=yes made this run offline" in out
    assert result["still_pending"] == 4
    assert result["offline_because"] == "EVEDMV_OFFLINE=yes"
    assert "'evedmv import --pending'" in result["pending_hint"]
    assert fake.requests_to("GET", "/esi/killmails/") == []


def test_config_offline_named_in_hint(
    db: Database,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listing = write_listing(tmp_path, packages[:1])
    config = tmp_path / "config.toml"
    config.write_text("offline = true\n", encoding="utf-8")

    assert cli.main(["--config", str(config), "import", str(listing)]) == 0

    out = capsys.readouterr().out
    assert "1 killmail is pending" in out
    assert f"offline = true in {config} made this run offline" in out


def test_errors_grouped_by_kind(
    db: Database, fake: FakeServer, packages: list[dict[str, Any]]
) -> None:
    """Errors that named killmail ids were each a group of one, and the pairs
    of the groups left out of the summary were never counted."""
    chosen = packages[:7]
    make_pending(db, chosen)
    others = packages[7:10]
    fake.queue(
        "GET",
        "/esi/killmails/",
        Reply.error(404, "Not found"),
        Reply.error(404, "Not found"),
        Reply(200, esi_body(others[0]["killmail"])),
        Reply(200, esi_body(others[1]["killmail"])),
        Reply(200, esi_body(others[2]["killmail"])),
        Reply.error(403, "Forbidden"),
        Reply(200, b"[1, 2]"),
    )

    with EsiClient(fake.esi_url, user_agent=TEST_USER_AGENT) as client:
        summary = fetch_pending(db, client, workers=1)

    assert summary.failed == 7
    assert summary.errors == (
        ("ESI returned the body of another killmail", 3),
        ("HTTP 404: Not found", 2),
        ("HTTP 403: Forbidden", 1),
    )
    text = str(summary)
    assert (
        "7 failed (3 × ESI returned the body of another killmail,"
        " 2 × HTTP 404: Not found, 1 × HTTP 403: Forbidden and 1 more)"
    ) in text
    assert "7 still pending in total" in text


def test_summary_counts_rest_of_errors() -> None:
    summary = PendingSummary(
        10, 0, 0, 10, errors=(("a", 4), ("b", 3), ("c", 1)), still_pending=12
    )

    assert str(summary) == (
        "10 requested, 0 stored, 0 invalid, 10 failed"
        " (4 × a, 3 × b, 1 × c and 2 more); 12 still pending in total"
    )


def test_cancelled_tried_pair_counts_failed(
    db: Database, packages: list[dict[str, Any]]
) -> None:
    """With ESI down, a pair whose request failed before another pair's
    stopped the run was logged as failing but counted as never requested."""
    chosen = packages[:2]
    make_pending(db, chosen)
    sent: list[httpx.Request] = []
    sleeps: list[float] = []
    lock = threading.Lock()

    def sleep(delay: float) -> None:
        # The first worker to wait retries once both first tries are sent,
        # and then fails for good. The second waits until that retry, so the
        # stop finds it between its tries.
        with lock:
            sleeps.append(delay)
            expected = 2 if len(sleeps) == 1 else 3
        deadline = time.monotonic() + 5
        while len(sent) < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        if expected == 3:
            time.sleep(0.3)

    http = httpx.Client(event_hooks={"request": [sent.append]})
    url = f"http://127.0.0.1:{closed_port()}/latest"
    esi = EsiClient(url, user_agent=TEST_USER_AGENT, http=http, sleep=sleep)
    esi.max_attempts = 2
    with http, esi:
        summary = fetch_pending(db, esi, workers=2)

    assert len(sent) == 3
    assert summary.requested == 2
    assert summary.failed == 2
    assert summary.unavailable_failed == 2
    assert summary.still_pending == 2
    attempts = db.fetch_all(
        "SELECT attempts FROM killmail_index WHERE state = 'pending'"
    )
    assert sorted(row[0] for row in attempts) == [1, 1]


def test_import_exits_1_when_esi_stops(
    db: Database,
    fake: FakeServer,
    packages: list[dict[str, Any]],
    tmp_path: Path,
    command_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An import exited 0 when ESI stopped responding during its fetch,
    although 'import --pending' exits 1 in the same case, so a cron job
    could not tell that the bodies stayed pending."""
    listing = write_listing(tmp_path, packages[:3])
    fake.queue(
        "GET",
        "/esi/killmails/",
        *[Reply.error(503, "down", {"Retry-After": "0.01"})] * 100,
    )

    status = cli.main(["import", str(listing)])

    out = capsys.readouterr().out
    assert status == 1
    assert "stopped early because ESI is failing (HTTP 503)" in out
    assert state_of(db, packages[0]["killID"]) == "pending"
