"""Commands after the private cluster's server was killed or refused connections."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.store.cluster import PORT, PrivateCluster
from tests.conftest import cluster_directory

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses prctl and /proc"
)

# Starts the cluster as a child subreaper, so the daemonised postmaster
# becomes this process's child.
START_AS_SUBREAPER = """
import ctypes, os, sys
from pathlib import Path
from evedmv_tui.store.cluster import PrivateCluster
PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
    sys.exit("prctl failed")
cluster = PrivateCluster(Path(sys.argv[1]), fast=True)
cluster.start()
print(cluster.status().pid, flush=True)
"""

# Never reaps the postmaster: once killed, it stays a zombie, as it does
# under a PID 1 that reaps late.
KEEPER = START_AS_SUBREAPER + "sys.stdin.read()\n"

# Reaps every process of the server as it exits, as a prompt PID 1 does.
REAPER = (
    START_AS_SUBREAPER
    + """
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
"""
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with cluster_directory("evedmv-crash-") as data:
        yield data


def evedmv(
    data_dir: Path, *args: str, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVEDMV_")}
    env["EVEDMV_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "evedmv_tui", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=preexec_fn,
    )


def process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {condition}")


def test_killed_postmaster_zombie_is_not_running(data_dir: Path) -> None:
    """A postmaster killed with SIGKILL stays a zombie until its parent
    reaps it. Its pid still passed kill(pid, 0), so 'db status' reported
    'running' and commands crashed on a refused connection."""
    assert evedmv(data_dir, "db", "start").returncode == 0
    assert evedmv(data_dir, "db", "stop").returncode == 0
    keeper = subprocess.Popen(
        [sys.executable, "-c", KEEPER, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert keeper.stdout is not None
        pid = int(keeper.stdout.readline())
        directory = PrivateCluster(data_dir).directory
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: process_state(pid) == "Z")

        status = evedmv(data_dir, "db", "status")
        assert status.returncode == 1, status.stdout + status.stderr
        assert "stopped" in status.stdout
        assert "running" not in status.stdout
        assert process_state(pid) == "Z"

        listed = evedmv(data_dir, "battles", "list", "--limit", "1")
        assert listed.returncode == 0, listed.stderr
        assert "Traceback" not in listed.stderr
        assert (directory / "postmaster.pid").exists()
    finally:
        keeper.communicate(input="", timeout=30)


def write_ready_pid_file(cluster: PrivateCluster, pid: int) -> None:
    """Write a ``postmaster.pid`` of a server with ``pid`` that is ready."""
    lines = [
        str(pid),
        str(cluster.directory),
        "0",
        str(PORT),
        str(cluster.socket_dir),
        "",
        "0 0",
        "ready   ",
    ]
    (cluster.directory / "postmaster.pid").write_text("\n".join(lines) + "\n")


def postmaster_state(cluster: PrivateCluster) -> str | None:
    """Return the state line of ``postmaster.pid``, or None without one."""
    try:
        lines = (cluster.directory / "postmaster.pid").read_text().split("\n")
    except FileNotFoundError:
        return None
    return lines[7].strip() if len(lines) > 7 else None


def test_server_killed_during_shutdown_is_stopped(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that died while pg_ctl waited for its shutdown made pg_ctl
    fail, and the SIGQUIT sent next to its pid, by then gone, ended 'db stop'
    in a ProcessLookupError traceback."""
    reaper = subprocess.Popen(
        [sys.executable, "-c", REAPER, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reaper.stdout is not None
        pid = int(reaper.stdout.readline())
        cluster = PrivateCluster(data_dir)
        # A smart shutdown waits for this session to end, so pg_ctl is still
        # waiting when the server is killed.
        session = psycopg.connect(cluster.url("postgres"), autocommit=True)

        def kill_once_stopping() -> None:
            wait_for(lambda: postmaster_state(cluster) == "stopping", timeout=30)
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_once_stopping)
        killer.start()
        try:
            caplog.set_level("WARNING", logger="evedmv_tui.store.cluster")
            assert cluster.stop(mode="smart", timeout=30) is True
        finally:
            killer.join()
            session.close()

        assert process_state(pid) is None
        assert cluster.status().running is False
        assert f"removing stale postmaster.pid (pid {pid} is not running)" in (
            caplog.text
        )
    finally:
        if reaper.poll() is None:
            PrivateCluster(data_dir).stop(mode="immediate")
        reaper.wait(timeout=30)


def test_unreachable_running_cluster_is_a_plain_error(
    data_dir: Path, tmp_path: Path
) -> None:
    """A server that runs but refuses connections (here a process named
    postgres that works in the cluster directory, as a server does, but never
    opened the socket) used to end every command in a psycopg traceback."""
    assert evedmv(data_dir, "db", "start").returncode == 0
    assert evedmv(data_dir, "db", "stop").returncode == 0
    cluster = PrivateCluster(data_dir)
    fake = tmp_path / "postgres"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", fake)
    impostor = subprocess.Popen([str(fake), "60"], cwd=cluster.directory)
    try:
        write_ready_pid_file(cluster, impostor.pid)
        for command in (["battles", "list"], ["db", "status"], ["db", "start"]):
            result = evedmv(data_dir, *command)
            assert result.returncode == 2, result.stderr
            assert "Traceback" not in result.stderr
            assert "cannot connect to PostgreSQL: PostgreSQL in" in result.stderr
            assert "hint: check 'evedmv db status'" in result.stderr
    finally:
        impostor.kill()
        impostor.wait()
        (cluster.directory / "postmaster.pid").unlink(missing_ok=True)


def test_terminated_session_is_a_plain_error(db_url: str, tmp_path: Path) -> None:
    """A server that ends a command's session mid-query (a restart, an
    administrator's pg_terminate_backend) used to end in a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVEDMV_")}
    env["EVEDMV_OFFLINE"] = "1"
    with psycopg.connect(db_url) as holder:
        holder.execute("LOCK TABLE battles IN ACCESS EXCLUSIVE MODE")
        argv = ["--data-dir", str(tmp_path), "--dsn", db_url, "battles", "list"]
        command = subprocess.Popen(
            [sys.executable, "-m", "evedmv_tui", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        with psycopg.connect(db_url, autocommit=True) as admin:

            def blocked() -> bool:
                row = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ).fetchone()
                return row is not None and row[0] > 0

            wait_for(blocked, timeout=60)
        holder.rollback()
    _, stderr = command.communicate(timeout=60)
    assert command.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert "PostgreSQL connection failed" in stderr
    assert "terminating connection due to administrator command" in stderr
