"""Commands on a data directory whose postmaster.pid names another server."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.store.cluster import PrivateCluster
from tests.conftest import cluster_directory
from tests.test_cluster_crash import evedmv, write_ready_pid_file

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /proc and prctl"
)

PR_CAPBSET_DROP = 24
CAP_SYS_PTRACE = 19
CAP_SETPCAP = 8


def may_drop_capabilities() -> bool:
    """Tell whether this process is root with CAP_SETPCAP, which dropping a
    capability from the bounding set needs (a container can lack it)."""
    if os.geteuid() != 0 or not os.path.exists("/proc/self/status"):
        return False
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_SETPCAP & 1)
    return False


needs_capabilities = pytest.mark.skipif(
    not may_drop_capabilities(), reason="needs root with CAP_SETPCAP"
)


def select_one(cluster: PrivateCluster) -> tuple[int, ...] | None:
    with psycopg.connect(cluster.url(), autocommit=True, connect_timeout=10) as conn:
        return conn.execute("SELECT 1").fetchone()


def test_copied_data_dir_leaves_original_running() -> None:
    """A copy of a running cluster's data directory has a postmaster.pid
    naming the original's server. 'db status' on the copy reported that
    server as running, 'db stop' on the copy shut the original down, and
    'db start' on the copy failed until the file was deleted by hand."""
    with (
        cluster_directory("evedmv-original-") as original_dir,
        cluster_directory("evedmv-copy-") as copy_dir,
    ):
        assert evedmv(original_dir, "db", "start").returncode == 0
        original = PrivateCluster(original_dir)
        pid = original.status().pid
        assert pid is not None
        with psycopg.connect(original.url(), autocommit=True) as conn:
            # Test clusters run with full_page_writes off, so a page that the
            # server writes while cp reads it could not be repaired in the
            # copy. After a checkpoint, the idle server writes none.
            conn.execute("CHECKPOINT")
        subprocess.run(["cp", "-a", str(original_dir), str(copy_dir)], check=True)
        copy = PrivateCluster(copy_dir)
        pid_file = copy.directory / "postmaster.pid"
        copied_pid_file = pid_file.read_bytes()
        warning = (
            f"removing stale postmaster.pid (pid {pid} is the server of"
            f" {original.directory}, not of {copy.directory})"
        )

        status = evedmv(copy_dir, "db", "status")
        assert status.returncode == 1, status.stdout + status.stderr
        assert f"cluster: {copy.directory}: stopped" in status.stdout
        assert warning in status.stderr
        assert not pid_file.exists()

        pid_file.write_bytes(copied_pid_file)
        stop = evedmv(copy_dir, "db", "stop")
        assert stop.returncode == 0, stop.stderr
        assert "Traceback" not in stop.stderr
        assert f"PostgreSQL in {copy.directory} was not running" in stop.stdout
        assert original.status().pid == pid
        assert select_one(original) == (1,)

        pid_file.write_bytes(copied_pid_file)
        start = evedmv(copy_dir, "db", "start")
        assert start.returncode == 0, start.stderr
        assert warning in start.stderr
        copy_pid = copy.status().pid
        assert copy_pid is not None
        assert copy_pid != pid
        assert select_one(copy) == (1,)
        assert select_one(original) == (1,)


def drop_ptrace() -> None:
    """Drop CAP_SYS_PTRACE before exec, as Docker's default capabilities do
    for root in a container. Root then cannot read the working directory of
    another user's process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0):
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@contextlib.contextmanager
def server_user_process(cluster: PrivateCluster, *arguments: str) -> Iterator[int]:
    """Run a shell named postgres as the server's user, with ``arguments``
    on its command line, and write a ``postmaster.pid`` that names it."""
    fake = cluster.data_dir.parent / "postgres"
    shutil.copy("/bin/sh", fake)
    user = os.environ.get("EVEDMV_PG_USER", "postgres")
    process = subprocess.Popen(
        [str(fake), "-c", "read line", *arguments],
        stdin=subprocess.PIPE,
        user=user,
        cwd="/",
    )
    write_ready_pid_file(cluster, process.pid)
    try:
        yield process.pid
    finally:
        process.communicate(timeout=10)


@needs_capabilities
def test_unreadable_server_directory_from_command_line(
    own_cluster: PrivateCluster,
) -> None:
    """When the working directory of the server's process cannot be read,
    its -D argument gives the directory it serves."""
    own_cluster.start()
    own_cluster.stop()
    other = own_cluster.data_dir.parent / "other"
    with server_user_process(own_cluster, "-D", str(other)) as pid:
        status = evedmv(own_cluster.data_dir, "db", "status", preexec_fn=drop_ptrace)
        assert status.returncode == 1, status.stdout + status.stderr
        assert f"cluster: {own_cluster.directory}: stopped" in status.stdout
        assert (
            f"removing stale postmaster.pid (pid {pid} is the server of {other},"
            f" not of {own_cluster.directory})"
        ) in status.stderr
        assert not (own_cluster.directory / "postmaster.pid").exists()


@needs_capabilities
def test_unreadable_server_directory_is_not_signalled(
    own_cluster: PrivateCluster,
) -> None:
    """A PostgreSQL process whose directory can be read neither from /proc
    nor from its command line may serve another cluster, so its pid file
    stays, 'db status' reports the doubt, and 'db stop' sends it no signal."""
    own_cluster.start()
    own_cluster.stop()
    pid_file = own_cluster.directory / "postmaster.pid"
    with server_user_process(own_cluster) as pid:
        status = evedmv(own_cluster.data_dir, "db", "status", preexec_fn=drop_ptrace)
        doubt = (
            f"running (pid {pid}), unconfirmed: pid {pid} runs PostgreSQL, but its"
            " working directory cannot be read (permission denied) and its command"
            " line has no absolute -D argument, so evedmv cannot tell whether it"
            f" serves {own_cluster.directory}"
        )
        assert doubt in status.stdout, status.stdout + status.stderr
        assert "Traceback" not in status.stderr

        stop = evedmv(own_cluster.data_dir, "db", "stop", preexec_fn=drop_ptrace)
        assert stop.returncode == 2, stop.stdout + stop.stderr
        assert "Traceback" not in stop.stderr
        assert "PostgreSQL not stopped" in stop.stderr
        assert f"hint: if no server uses {own_cluster.directory}, delete" in stop.stderr
        assert pid_file.exists()
        assert Path(f"/proc/{pid}").exists()
