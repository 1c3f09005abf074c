"""``evedmv regressions`` and ``evedmv baseline`` on a real baseline file."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.monitor.regressions import STALE_AFTER, AlertService
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.store.baselines import open_store
from evedmv_tui.store.target import baseline_file

SLOW = "statement:3f2a9c0d11e4b7a8:mean_ms"
FINE = "statement:00aa00aa00aa00aa:mean_ms"
DSN = "postgresql://127.0.0.1:5999/production"
"""The database the commands read baselines of; none of them connects to it."""
OTHER_DSN = "postgresql://127.0.0.1:5999/staging"


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("EVEDMV_STATE_DIR", str(state))
    monkeypatch.setenv("EVEDMV_DSN", DSN)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return state


def baselines_of(state: Path, dsn: str = DSN) -> Path:
    """Return the baseline file of ``dsn`` under the state directory ``state``."""
    return baseline_file(Settings(dsn=dsn, state_dir=state))


def record(
    state: Path, slow_value: float, *, ago: float = 120.0, dsn: str = DSN
) -> float:
    """Write 40 steady polls, then four with ``SLOW`` at ``slow_value``.

    The polls start ``ago`` seconds before now. By default they end soon
    enough that the alerts are not stale. Return the time of the last poll.
    """
    at = time.time() - ago

    async def write() -> None:
        nonlocal at
        service = await AlertService.open(baselines_of(state, dsn))
        rng = random.Random(3)
        for i in range(44):
            at += 2.0
            slow = slow_value if i >= 40 else 10.0 * (1 + rng.uniform(-0.05, 0.05))
            await service.observe(
                [
                    Sample(SLOW, slow, at, 2.0, True, "SELECT * FROM killmail", 1.0),
                    Sample(FINE, 3.0 * (1 + rng.uniform(-0.05, 0.05)), at, 2.0),
                ]
            )
        await service.close()

    asyncio.run(write())
    return at


def record_more(
    state: Path, slow_value: float, *, after: float, polls: int = 4
) -> float:
    """Write ``polls`` polls 2 s apart after ``after``, ``SLOW`` at ``slow_value``.

    Return the time of the last poll written.
    """
    at = after

    async def write() -> None:
        nonlocal at
        service = await AlertService.open(baselines_of(state))
        for _ in range(polls):
            at += 2.0
            await service.observe(
                [
                    Sample(SLOW, slow_value, at, 2.0, True, "SELECT * FROM killmail"),
                    Sample(FINE, 3.0, at, 2.0),
                ]
            )
        await service.close()

    asyncio.run(write())
    return at


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_commands_without_file(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "regressions")
    assert status == 0
    assert "no active regressions" in out
    status, out, _ = run(capsys, "baseline", "show")
    assert status == 0
    assert "no baselines yet" in out
    status, _, err = run(capsys, "baseline", "accept", SLOW)
    assert status == 2
    assert "no baseline file" in err
    assert not baselines_of(state_dir).exists()


def test_regressions_exit_status_follows_alerts(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(state_dir, 200.0)
    status, out, _ = run(capsys, "regressions")
    assert status == 1
    assert "critical" in out
    assert SLOW in out
    assert "SELECT * FROM killmail" in out

    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 1
    data = json.loads(out)
    assert [a["key"] for a in data["alerts"]] == [SLOW]
    assert data["alerts"][0]["severity"] == "critical"
    assert data["alerts"][0]["baseline"] == pytest.approx(10.0, rel=0.1)
    assert data["alerts"][0]["value"] == 200.0
    assert data["unacknowledged_high_or_critical"] == 1

    status, out, _ = run(capsys, "regressions", "--ack", SLOW)
    assert status == 0
    assert "acknowledged" in out
    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 0
    assert json.loads(out)["alerts"][0]["state"] == "acknowledged"


def test_high_alert_fails_until_acknowledged(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 60 ms on a 10 ms baseline is a ratio of 6: high (4) but not critical (10).
    record(state_dir, 60.0)
    status, out, _ = run(capsys, "regressions")
    assert status == 1
    assert out.splitlines()[1].startswith("high ")
    assert SLOW in out

    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 1
    data = json.loads(out)
    assert [a["key"] for a in data["alerts"]] == [SLOW]
    assert data["alerts"][0]["severity"] == "high"
    assert data["alerts"][0]["state"] == "open"
    assert data["unacknowledged_high_or_critical"] == 1

    status, out, _ = run(capsys, "regressions", "--ack", SLOW)
    assert status == 0
    assert f"acknowledged {SLOW}" in out

    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["alerts"][0]["severity"] == "high"
    assert data["alerts"][0]["state"] == "acknowledged"
    assert data["alerts"][0]["acknowledged_severity"] == "high"
    assert data["unacknowledged_high_or_critical"] == 0


def test_worse_acknowledged_alert_fails_again(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    last = record(state_dir, 60.0)
    status, _, _ = run(capsys, "regressions", "--ack", SLOW)
    assert status == 0

    # The same size again keeps the acknowledgement.
    last = record_more(state_dir, 60.0, after=last)
    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 0
    assert json.loads(out)["alerts"][0]["state"] == "acknowledged"

    # Critical is above the acknowledged severity, so the alert is raised again.
    record_more(state_dir, 200.0, after=last)
    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 1
    data = json.loads(out)
    assert data["alerts"][0]["severity"] == "critical"
    assert data["alerts"][0]["state"] == "open"
    assert data["unacknowledged_high_or_critical"] == 1


def test_recovering_alert_shows_peak_severity(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A critical alert whose latest value is back under the baseline.

    One recovered sample does not clear it (three in a row do), but it is
    not presented as a critical level and does not fail the command.
    """
    last = record(state_dir, 200.0)
    record_more(state_dir, 9.0, after=last, polls=1)
    status, out, _ = run(capsys, "regressions")
    assert status == 0
    lines = out.splitlines()
    assert lines[1].startswith("was critical recovering ")
    assert "critical level" not in out
    assert "level peaked at critical; opened at 200 ms, latest 9 ms" in out
    assert "latest 9 ms, baseline 10" in out

    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 0
    data = json.loads(out)
    [alert] = data["alerts"]
    assert alert["severity"] == "critical"
    assert alert["state"] == "recovering"
    assert alert["recovering"] is True
    assert alert["value"] == 9.0
    assert data["unacknowledged_high_or_critical"] == 0


def test_alert_without_samples_is_stale(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No sample of the key for STALE_AFTER: the statement stopped running."""
    record(state_dir, 200.0, ago=STALE_AFTER + 300.0)
    status, out, _ = run(capsys, "regressions")
    assert status == 0
    assert out.splitlines()[1].startswith("critical     stale ")
    assert "; stale, no samples for 1" in out

    status, out, _ = run(capsys, "regressions", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["alerts"][0]["state"] == "stale"
    assert data["alerts"][0]["stale"] is True
    assert data["unacknowledged_high_or_critical"] == 0


def test_medium_alert_does_not_fail(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(state_dir, 25.0)
    status, out, _ = run(capsys, "regressions")
    assert status == 0
    assert "medium" in out


def test_ack_of_unknown_key_fails(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(state_dir, 200.0)
    status, _, err = run(capsys, "regressions", "--ack", "statement:nope:mean_ms")
    assert status == 2
    assert "no open alert" in err
    assert "hint:" in err


def test_baseline_show_lists_and_details(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(state_dir, 200.0)
    status, out, _ = run(capsys, "baseline", "show")
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert any(line.startswith("regressed") and SLOW in line for line in lines)
    assert any(line.startswith("normal") and FINE in line for line in lines)

    status, out, _ = run(capsys, "baseline", "show", SLOW)
    assert status == 0
    assert "state:            regressed" in out
    assert "rows per call:    1\n" in out
    assert "opened" in out

    status, out, _ = run(capsys, "baseline", "show", FINE)
    assert status == 0
    assert "rows per call:    -\n" in out

    status, out, _ = run(capsys, "baseline", "show", "--json")
    data = json.loads(out)
    assert {b["key"] for b in data["baselines"]} == {SLOW, FINE}
    rows = {b["key"]: b["rows_per_call"] for b in data["baselines"]}
    assert rows == {SLOW: 1.0, FINE: None}

    status, _, err = run(capsys, "baseline", "show", "statement:nope:mean_ms")
    assert status == 2
    assert "baseline not found" in err


def test_baseline_accept_and_reset(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(state_dir, 200.0)
    status, out, _ = run(capsys, "baseline", "accept", SLOW)
    assert status == 0
    assert "accepted 200 ms" in out
    status, out, _ = run(capsys, "regressions")
    assert status == 0
    assert "no active regressions" in out
    status, out, _ = run(capsys, "baseline", "show", SLOW)
    assert "accepted level:   200 ms\n" in out
    status, out, _ = run(capsys, "baseline", "show", FINE)
    assert "accepted level:   -\n" in out

    status, out, _ = run(capsys, "baseline", "reset", FINE)
    assert status == 0
    assert "reset 1 baseline" in out
    status, out, _ = run(capsys, "baseline", "reset", "--all")
    assert "reset 2 baselines" in out
    status, _, err = run(capsys, "baseline", "reset", "statement:nope:mean_ms")
    assert status == 2
    assert "baseline not found" in err

    async def read() -> list[int]:
        store = await open_store(baselines_of(state_dir))
        try:
            return [b.count for b in await store.load_baselines()]
        finally:
            await store.close()

    assert asyncio.run(read()) == [0, 0]


def test_unreadable_file_is_an_error(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baselines_of(state_dir).mkdir(parents=True)
    status, _, err = run(capsys, "regressions")
    assert status == 2
    assert "cannot read the baseline file" in err


def test_baseline_reset_needs_key_or_all(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reset without KEY or --all resets nothing and exits 2."""
    record(state_dir, 200.0)
    status, _, err = run(capsys, "baseline", "reset")
    assert status == 2
    assert "nothing to reset" in err
    assert "--all" in err

    status, out, _ = run(capsys, "baseline", "show", "--json")
    assert status == 0
    assert {b["key"] for b in json.loads(out)["baselines"]} == {SLOW, FINE}


def test_commands_read_their_own_database(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A regression of one database neither shows nor fails for another."""
    record(state_dir, 200.0)
    record(state_dir, 10.0, dsn=OTHER_DSN)

    status, out, _ = run(capsys, "--dsn", OTHER_DSN, "regressions", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["alerts"] == []
    assert data["target"] == "host=127.0.0.1 port=5999 dbname=staging"

    same = "host=127.0.0.1 port=5999 dbname=production password=hunter2"
    status, out, _ = run(capsys, "--dsn", same, "regressions", "--json")
    assert status == 1
    data = json.loads(out)
    assert [a["key"] for a in data["alerts"]] == [SLOW]
    assert data["target"] == "host=127.0.0.1 port=5999 dbname=production"
    assert "hunter2" not in out


def test_commands_without_file_name_the_database(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(state_dir, 200.0)
    status, out, _ = run(capsys, "--dsn", OTHER_DSN, "regressions")
    assert status == 0
    assert "no active regressions" in out
    assert "host=127.0.0.1 port=5999 dbname=staging" in out
    status, out, _ = run(capsys, "--dsn", OTHER_DSN, "baseline", "show")
    assert status == 0
    assert "no baselines yet" in out
    status, _, err = run(capsys, "--dsn", OTHER_DSN, "baseline", "accept", SLOW)
    assert status == 2
    assert "no baseline file" in err
    assert "dbname=staging" in err
