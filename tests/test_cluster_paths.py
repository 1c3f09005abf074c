"""The private cluster under unusual data directories, and a start that fails."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from evedmv_tui.store.cluster import (
    START_FAILED_FILE,
    PrivateCluster,
    conf_directory_list,
    conf_string,
    find_bin_dir,
)
from tests.conftest import SCRATCH, cluster_directory
from tests.test_cli_db import evedmv

ODD_NAME = "x space dir/with 'quote, comma\\back"
"""A data directory name with characters that postgresql.conf and libpq
treat specially."""


@pytest.fixture
def odd_data_dir() -> Iterator[Path]:
    """A data directory whose path contains a space, quote, comma and backslash."""
    base = Path(tempfile.mkdtemp(prefix="evedmv-odd-", dir=SCRATCH))
    base.chmod(0o711)
    data = base / ODD_NAME
    try:
        yield data
    finally:
        PrivateCluster(data).destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with cluster_directory("evedmv-paths-") as data:
        yield data


def test_conf_string_escapes_quote_and_backslash() -> None:
    assert conf_string("plain") == "'plain'"
    assert conf_string("it's") == "'it''s'"
    assert conf_string("a\\b") == "'a\\\\b'"
    assert conf_string("") == "''"


def test_conf_directory_list_quotes_entry() -> None:
    assert conf_directory_list(Path("/tmp/a,b")) == "'\"/tmp/a,b\"'"
    assert conf_directory_list(Path('/tmp/say "hi"')) == '\'"/tmp/say ""hi"""\''


def test_comma_in_data_dir_starts(odd_data_dir: Path) -> None:
    """A data directory with a comma in its path gave a socket path that
    libpq splits into two hosts, so no command could connect."""
    started = evedmv(odd_data_dir, "db", "start")
    assert started.returncode == 0, started.stderr

    url = evedmv(odd_data_dir, "db", "url")
    assert url.returncode == 0, url.stderr
    psql = find_bin_dir() / "psql"
    query = subprocess.run(
        [str(psql), url.stdout.strip(), "-At", "-c", "SHOW unix_socket_directories"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert query.returncode == 0, query.stderr
    # libpq would take the comma for the end of a host, so the socket is
    # in a directory of its own.
    socket_dir = PrivateCluster(odd_data_dir).socket_dir
    assert query.stdout.strip() == f'"{socket_dir}"'
    assert socket_dir.parent == Path("/tmp")


def test_quote_in_data_dir_starts(data_dir: Path) -> None:
    """A single quote in the socket directory's path, the cluster directory
    here, was written unescaped into evedmv.conf, so the server refused its
    configuration and never started."""
    odd = data_dir / "with 'quote\\back"
    try:
        started = evedmv(odd, "db", "start")
        assert started.returncode == 0, started.stderr

        url = evedmv(odd, "db", "url")
        assert url.returncode == 0, url.stderr
        psql = find_bin_dir() / "psql"
        query = subprocess.run(
            [
                str(psql),
                url.stdout.strip(),
                "-At",
                "-c",
                "SHOW unix_socket_directories",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert query.returncode == 0, query.stderr
        socket_dir = PrivateCluster(odd).socket_dir
        assert socket_dir == PrivateCluster(odd).directory
        assert query.stdout.strip() == f'"{socket_dir}"'
        assert evedmv(odd, "db", "stop").returncode == 0
    finally:
        PrivateCluster(odd).destroy()


def test_failed_start_url_points_at_log(data_dir: Path) -> None:
    """After a failed start, 'db url' asked to run 'evedmv db start', the
    command that had just failed, instead of pointing at the server's log."""
    cluster = PrivateCluster(data_dir)
    cluster.init()
    conf = cluster.directory / "evedmv.conf"
    original = conf.read_text(encoding="utf-8")
    conf.write_text(original + "work_mem = = 1\n", encoding="utf-8")

    failed = evedmv(data_dir, "db", "start")

    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr
    first, hint = failed.stderr.splitlines()
    assert first.startswith("evedmv: PostgreSQL did not start: ")
    assert f'syntax error in file "{conf}" line' in first
    assert hint == (
        f"hint: see {cluster.log_path}, fix the cause, then run 'evedmv db start'"
    )

    url = evedmv(data_dir, "db", "url")
    assert url.returncode == 1
    first, hint = url.stderr.splitlines()
    assert first.startswith(
        f"evedmv: PostgreSQL in {cluster.directory} is not running;"
        " its last start failed: "
    )
    assert f'syntax error in file "{conf}" line' in first
    assert hint == (
        f"hint: see {cluster.log_path}, fix the cause, then run 'evedmv db start'"
    )
    status = evedmv(data_dir, "db", "status")
    assert status.returncode == 1
    assert "stopped. The last start at " in status.stdout

    conf.write_text(original, encoding="utf-8")
    assert evedmv(data_dir, "db", "start").returncode == 0
    assert not (data_dir / START_FAILED_FILE).exists()
    url = evedmv(data_dir, "db", "url")
    assert url.returncode == 0, url.stderr
    assert evedmv(data_dir, "db", "stop").returncode == 0
    stopped = evedmv(data_dir, "db", "url")
    assert stopped.stderr.strip().endswith("start it with 'evedmv db start'")


def test_failed_start_quotes_cause_before_fatal(data_dir: Path) -> None:
    """An invalid setting made the start quote only the FATAL line ('configuration
    file ... contains errors'), not the line before it that names the setting,
    and 'db status' after the fix worded the old failure as a current one."""
    cluster = PrivateCluster(data_dir)
    cluster.init()
    conf = cluster.directory / "evedmv.conf"
    original = conf.read_text(encoding="utf-8")
    conf.write_text(original + "shared_buffers = 'banana'\n", encoding="utf-8")
    cause = 'invalid value for parameter "shared_buffers": "banana"'
    fatal = f'FATAL: configuration file "{conf}" contains errors'

    failed = evedmv(data_dir, "db", "start")
    url = evedmv(data_dir, "db", "url")
    conf.write_text(original, encoding="utf-8")
    status = evedmv(data_dir, "db", "status")

    assert failed.returncode == 2
    first = failed.stderr.splitlines()[0]
    assert first.startswith("evedmv: PostgreSQL did not start: ")
    assert cause in first
    assert first.endswith(fatal)
    assert cause in url.stderr.splitlines()[0]
    line = status.stdout.strip()
    found = re.search(
        r": stopped\. The last start at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
        r" failed: (.+)$",
        line,
    )
    assert found is not None, line
    assert cause in found[1]
    assert found[1].endswith(fatal)
    assert evedmv(data_dir, "db", "start").returncode == 0
    assert "last start" not in evedmv(data_dir, "db", "status").stdout
    assert evedmv(data_dir, "db", "stop").returncode == 0


def test_socket_folder_taken_by_file(odd_data_dir: Path) -> None:
    """A file at the socket folder derived under /tmp for a data directory
    with a comma gave 'cannot use a file ... File exists' and asked for a
    path that the user never gave."""
    socket_dir = PrivateCluster(odd_data_dir).socket_dir
    assert socket_dir.parent == Path("/tmp")
    socket_dir.write_text("", encoding="utf-8")
    try:
        started = evedmv(odd_data_dir, "db", "start")
    finally:
        socket_dir.unlink()

    assert started.returncode == 2
    assert "Traceback" not in started.stderr
    first, hint = started.stderr.splitlines()
    directory = PrivateCluster(odd_data_dir).directory
    assert first == (
        f"evedmv: socket folder taken: {socket_dir}, the folder for the server's"
        f" socket that evedmv uses for {directory} because its path contains a"
        " comma, is a file"
    )
    assert hint == (
        f"hint: remove {socket_dir}, or use a data directory path without a comma"
    )


def test_stop_uninitialised_matches_status(data_dir: Path) -> None:
    """'db stop' on a data directory that was never set up printed "was
    not running", while 'db status' printed "not initialised"."""
    directory = PrivateCluster(data_dir).directory

    stopped = evedmv(data_dir, "db", "stop")
    status = evedmv(data_dir, "db", "status")

    assert stopped.returncode == 0
    assert stopped.stdout.strip() == (
        f"PostgreSQL in {directory}: not initialised, nothing to stop"
    )
    assert status.stdout.strip() == f"cluster: {directory}: not initialised"
    assert not PrivateCluster(data_dir).initialized()
