"""Commands started at the same time on one private cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.errors import ClusterError
from evedmv_tui.store.cluster import PrivateCluster
from tests.conftest import cluster_directory


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with cluster_directory("evedmv-race-") as data:
        yield data


def start_evedmv(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVEDMV_")}
    env["EVEDMV_OFFLINE"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "evedmv_tui", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def run_together(data_dir: Path, count: int, *args: str) -> list[tuple[int, str, str]]:
    processes = [start_evedmv(data_dir, *args) for _ in range(count)]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        results.append((process.returncode, stdout, stderr))
    return results


def test_commands_at_once_start_stopped_cluster(data_dir: Path) -> None:
    """Two commands that find the cluster stopped used to both run pg_ctl
    start: one failed on the other's postmaster.pid, or connected while the
    server was still starting up."""
    for action in ("start", "stop"):
        done = start_evedmv(data_dir, "db", action)
        _, stderr = done.communicate(timeout=120)
        assert done.returncode == 0, stderr
    results = run_together(data_dir, 3, "battles", "list", "--limit", "1")
    for returncode, _, stderr in results:
        assert returncode == 0, stderr
        assert "Traceback" not in stderr
    assert PrivateCluster(data_dir).status().running


def test_demos_at_once_create_one_cluster(data_dir: Path) -> None:
    """Two demos on a new data directory used to both run initdb, and the
    failing one's hint suggested emptying the directory the other one had
    just created.
    The demo load must also run once: one imports, the other finds it done."""
    results = run_together(
        data_dir, 2, "demo", "--no-dashboard", "--json", "--count", "300"
    )
    for returncode, _, stderr in results:
        assert returncode == 0, stderr
        assert "Traceback" not in stderr
    summaries = [json.loads(stdout) for _, stdout, _ in results]
    imported = sorted(summary["killmails_imported"] for summary in summaries)
    assert imported[0] == 0
    assert imported[1] > 0
    assert sorted(summary["killmails_skipped"] for summary in summaries) == [
        False,
        True,
    ]
    assert summaries[0]["killmails_total"] == summaries[1]["killmails_total"]
    with psycopg.connect(PrivateCluster(data_dir).url()) as conn:
        imports = conn.execute("SELECT count(*) FROM imports").fetchone()
    assert imports == (1,)


def test_lock_waits_for_holder(tmp_path: Path) -> None:
    """A second process waits while the first holds the cluster lock, then
    goes on instead of failing."""
    cluster = PrivateCluster(tmp_path / "data")
    with cluster.locked():
        waiter = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys\n"
                "from pathlib import Path\n"
                "from evedmv_tui.store.cluster import PrivateCluster\n"
                "with PrivateCluster(Path(sys.argv[1])).locked():\n"
                "    print('locked', flush=True)\n",
                str(tmp_path / "data"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        assert waiter.poll() is None
    stdout, _ = waiter.communicate(timeout=30)
    assert waiter.returncode == 0
    assert stdout == "locked\n"


def test_lock_is_reentrant(tmp_path: Path) -> None:
    cluster = PrivateCluster(tmp_path / "data")
    with cluster.locked(timeout=1), cluster.locked(timeout=1):
        pass
    other = PrivateCluster(tmp_path / "data")
    with (
        cluster.locked(timeout=1),
        pytest.raises(ClusterError, match="private cluster busy"),
        other.locked(timeout=0.3),
    ):
        pass
