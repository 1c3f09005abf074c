"""One baseline file per monitored database, named by the connection target."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from evedmv_tui.config import Settings
from evedmv_tui.errors import ConfigError
from evedmv_tui.monitor.regressions import AlertService
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.target import baseline_file, settings_target, target_of

KEY = "operation:intel.watch:p95_ms"
LIBPQ_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER")


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the libpq variables that would fill in missing fields."""
    for variable in (*LIBPQ_VARIABLES, "PGSERVICE"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "postgresql://app:secret@DB.Example.com:5432/intel",
            "host=db.example.com port=5432 dbname=intel user=other sslmode=require",
        ),
        ("host=db.example.com dbname=intel", "postgresql://db.example.com/intel"),
        (
            "host=/run/postgresql/ dbname=intel",
            "postgresql:///intel?host=%2Frun%2Fpostgresql&port=5432",
        ),
    ],
)
def test_same_database_spelled_differently(first: str, second: str) -> None:
    assert target_of(first) == target_of(second)
    assert target_of(first).digest == target_of(second).digest


def test_targets_differ_by_host_port_and_database() -> None:
    targets = [
        "host=db.example.com port=5432 dbname=intel",
        "host=staging.example.com port=5432 dbname=intel",
        "host=db.example.com port=5433 dbname=intel",
        "host=db.example.com port=5432 dbname=intel_test",
        "host=/run/postgresql port=5432 dbname=intel",
    ]
    digests = {target_of(dsn).digest for dsn in targets}
    assert len(digests) == len(targets)


def test_password_is_not_part_of_target() -> None:
    target = target_of("postgresql://app:hunter2@db.example.com/intel")
    assert "hunter2" not in target.conninfo
    assert "app" not in target.conninfo
    assert target.conninfo == "host=db.example.com port=5432 dbname=intel"


def test_missing_fields_follow_libpq_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert target_of("user=analyst").dbname == "analyst"
    monkeypatch.setenv("PGHOST", "DB.example.com")
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGDATABASE", "intel")
    target = target_of("")
    assert target.host == "db.example.com"
    assert target.port == "6543"
    assert target.dbname == "intel"
    assert target == target_of("host=db.example.com port=6543 dbname=intel")


def test_multiple_hosts_keep_their_ports() -> None:
    target = target_of("postgresql://A.example.com:5433,b.example.com/intel")
    assert target.host == "a.example.com,b.example.com"
    assert target.port == "5433,5432"


def test_invalid_dsn_hides_its_text() -> None:
    with pytest.raises(ConfigError) as raised:
        target_of("host=db password=hunter2 oops")
    assert "hunter2" not in str(raised.value)
    assert "oops" not in str(raised.value)


def test_private_cluster_target_is_its_socket(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "first", state_dir=tmp_path / "state")
    second = Settings(data_dir=tmp_path / "second", state_dir=tmp_path / "state")
    cluster_url = PrivateCluster(first.data_dir).url()
    by_url = Settings(dsn=cluster_url, state_dir=tmp_path / "state")

    assert settings_target(first).dbname == "evedmv"
    assert baseline_file(first) != baseline_file(second)
    assert baseline_file(first) == baseline_file(by_url)
    assert baseline_file(first).parent == tmp_path / "state" / "baselines"


async def feed(
    service: AlertService, level: float, polls: int, start: float
) -> tuple[int, float]:
    """Observe ``polls`` samples of ``KEY`` near ``level``; return alerts and time."""
    rng = random.Random(polls)
    raised = 0
    at = start
    for _ in range(polls):
        at += 2.0
        value = level * (1 + rng.uniform(-0.03, 0.03))
        raised += len(await service.observe([Sample(KEY, value, at, 2.0)]))
    return raised, at


async def test_other_database_learns_its_own_baseline(tmp_path: Path) -> None:
    """A fresh database is learned anew, not judged by another one's baseline.

    intel.watch at 822 ms on a new cluster is a high regression against the
    179 ms learned on another cluster, so a shared file would alert here.
    """
    state = tmp_path / "state"
    production = Settings(dsn="postgresql://db.example.com/intel", state_dir=state)
    staging = Settings(dsn="postgresql://db.example.com/intel_new", state_dir=state)

    service = await AlertService.open(baseline_file(production))
    try:
        raised, at = await feed(service, 179.0, 40, 1_000_000.0)
        assert raised == 0
    finally:
        await service.close()

    service = await AlertService.open(baseline_file(staging))
    try:
        raised, _ = await feed(service, 822.0, 40, at)
        assert raised == 0
        assert service.active() == []
    finally:
        await service.close()


async def test_restart_keeps_database_baselines(tmp_path: Path) -> None:
    """A restart, or a reconnection with other credentials, finds the baselines."""
    state = tmp_path / "state"
    first = Settings(dsn="postgresql://app:one@db.example.com/intel", state_dir=state)
    again = Settings(
        dsn="host=db.example.com dbname=intel user=ops password=two", state_dir=state
    )

    service = await AlertService.open(baseline_file(first))
    try:
        _, at = await feed(service, 179.0, 40, 1_000_000.0)
    finally:
        await service.close()

    service = await AlertService.open(baseline_file(again))
    try:
        baseline = service.detector.baseline(KEY)
        assert baseline is not None
        assert baseline.count >= 20
        raised, _ = await feed(service, 822.0, 4, at)
        assert raised == 1
    finally:
        await service.close()
