"""Control of the private PostgreSQL cluster under the data directory.

The cluster listens on a unix socket only (``listen_addresses = ''``), its
directory is mode 0700, and local connections use ``trust`` because only the
owner of that directory can reach the socket. ``pg_stat_statements`` is
preloaded and created in the application database.

Run as root, the server runs as an unprivileged user (``postgres`` by
default, ``EVEDMV_PG_USER`` to change it). That user must be able to reach
the cluster directory. When an ancestor of the data directory is closed to
it (``/root`` is mode 0700), the cluster lives in
``/var/lib/evedmv/clusters/<hash of the data directory>`` instead and
``<data-dir>/pg`` is a symbolic link to it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psutil

from evedmv_tui.errors import ClusterError

log = logging.getLogger(__name__)

DATABASE = "evedmv"
SUPERUSER = "evedmv"
PORT = 5432
ROOT_FALLBACK = Path("/var/lib/evedmv/clusters")
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
"""Parent of the Debian and Ubuntu server directories, one ``<version>/bin`` each."""
# sockaddr_un.sun_path is 108 bytes on Linux, including the NUL.
_MAX_SOCKET_PATH = 107
LOCK_FILE = "cluster.lock"
"""File in the data directory that serialises creating, starting and stopping."""
LOCK_TIMEOUT = 300.0
"""Seconds to wait for another process that holds the cluster lock.

Longer than the slowest step run under the lock: initdb (120 s at most)
followed by a start (70 s at most)."""

START_FAILED_FILE = "start-failed"
"""File in the data directory that exists while the last start failed. It
contains the lines of the server's log that give the cause, and its
modification time is the time of that start."""


_CAUSE_MARKS = ("FATAL:", "PANIC:", "ERROR:", "syntax error")
"""Parts of a server log line that gives the cause of a failed start, used
when the log has no FATAL or PANIC line."""

_FATAL_MARKS = ("FATAL:", "PANIC:")
MAX_CAUSE_LINES = 3
"""Log lines quoted for a failed start: the FATAL line and the lines just
before it. The FATAL line often names only the consequence ('configuration
file ... contains errors'), and the cause is in a LOG line before it
('invalid value for parameter ...')."""

_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] ")
"""The server's default ``log_line_prefix`` ('%m [%p] '): time and process
id, dropped from quoted lines because the start's time is shown once."""


def conf_string(value: str) -> str:
    """Return ``value`` as a quoted string for a PostgreSQL configuration file.

    Inside single quotes, the server's configuration parser reads a doubled
    single quote as one quote and a backslash as the start of an escape, so
    both are doubled.
    """
    escaped = value.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'"


def conf_directory_list(path: Path) -> str:
    """Return a quoted one-entry list of directories, as for
    ``unix_socket_directories``.

    The server splits such a list at commas, so the entry is in double
    quotes, in which a doubled double quote is one quote.
    """
    entry = str(path).replace('"', '""')
    return conf_string(f'"{entry}"')


INSTALL_HINT = (
    "install the PostgreSQL server with contrib: on Debian/Ubuntu "
    "'apt-get install postgresql postgresql-contrib', on macOS "
    "'brew install postgresql@16', or pass --dsn to use an existing server"
)

SERVER_SETTINGS = {
    "listen_addresses": conf_string(""),
    "port": str(PORT),
    "shared_preload_libraries": conf_string("pg_stat_statements"),
    "pg_stat_statements.max": "5000",
    "pg_stat_statements.track": "top",
    "compute_query_id": "on",
    "track_io_timing": "on",
    "max_connections": "60",
    "shared_buffers": "256MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "15min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "log_min_duration_statement": "5000",
    "logging_collector": "off",
    "jit": "off",
}
"""Settings for a small machine (2 cores, a few GB for the database)."""

FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
"""Unsafe on a crash; for throw-away test clusters only."""


def find_bin_dir(debian_root: Path | None = None) -> Path:
    """Find a directory with ``initdb``, ``pg_ctl`` and ``postgres``.

    Looks at ``EVEDMV_PG_BIN``, ``pg_config --bindir``, the newest
    ``<debian_root>/*/bin`` and ``PATH``, in that order. ``debian_root``
    defaults to :data:`DEBIAN_PG_ROOT`.
    """
    if debian_root is None:
        debian_root = DEBIAN_PG_ROOT
    candidates: list[Path] = []
    if env_dir := os.environ.get("EVEDMV_PG_BIN"):
        candidates.append(Path(env_dir))
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.CalledProcessError):
            pass

    def version_key(path: Path) -> int:
        part = path.parent.name
        return int(part) if part.isdigit() else 0

    debian = sorted(debian_root.glob("*/bin"), key=version_key)
    candidates.extend(reversed(debian))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for directory in candidates:
        if all(
            (directory / name).exists() for name in ("initdb", "pg_ctl", "postgres")
        ):
            return directory
    raise ClusterError(
        "PostgreSQL server not found",
        "no initdb, pg_ctl and postgres in EVEDMV_PG_BIN, pg_config --bindir, "
        f"{debian_root}/*/bin or PATH",
        INSTALL_HINT,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterStatus:
    running: bool
    pid: int | None
    directory: Path
    socket_dir: Path
    message: str


def _others_can_traverse(path: Path, user: pwd.struct_passwd) -> bool:
    for ancestor in [path, *path.parents]:
        try:
            st = ancestor.stat()
        except FileNotFoundError:
            continue
        if st.st_uid == user.pw_uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid == user.pw_gid:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            return False
    return True


def _first_line_number(path: Path) -> int | None:
    """Return the pid on the first line of a PostgreSQL lock file, or None."""
    try:
        return int(path.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _is_zombie(pid: int) -> bool:
    """Tell whether ``pid`` has exited but its parent has not reaped it yet."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _live_processes_in(directory: Path) -> list[int]:
    """Return the pids of running processes whose working directory is ``directory``.

    Every PostgreSQL server process works in its data directory, so these
    are backends that outlived a killed postmaster.
    """
    target = directory.resolve()
    pids = []
    for process in psutil.process_iter(["cwd", "status"]):
        cwd = process.info["cwd"]
        if cwd is None or process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if Path(cwd) == target:
            pids.append(process.pid)
    return pids


def _served_directory(pid: int) -> Path | str:
    """Return the data directory that the PostgreSQL process ``pid`` serves.

    PostgreSQL makes its data directory the working directory of every
    server process, so that is read first. Reading another user's working
    directory needs CAP_SYS_PTRACE, which root in a container often lacks,
    so the last ``-D`` argument of the command line is the fallback: pg_ctl
    passes the directory it was given there. When neither gives the
    directory, returns a clause with the reason, to quote in a message.

    Raises:
        psutil.NoSuchProcess: ``pid`` has exited.
    """
    process = psutil.Process(pid)
    try:
        return Path(process.cwd()).resolve()
    except psutil.AccessDenied:
        pass
    try:
        arguments = process.cmdline()
    except psutil.AccessDenied:
        return (
            "its working directory and command line cannot be read (permission denied)"
        )
    directory = None
    for index, argument in enumerate(arguments):
        if argument == "-D" and index + 1 < len(arguments):
            directory = arguments[index + 1]
        elif argument.startswith("-D") and len(argument) > 2:
            directory = argument[2:]
    if directory is None or not os.path.isabs(directory):
        return (
            "its working directory cannot be read (permission denied) and its"
            " command line has no absolute -D argument"
        )
    return Path(directory).resolve()


class PrivateCluster:
    """A PostgreSQL cluster owned by this application under ``data_dir``."""

    def __init__(self, data_dir: Path, *, fast: bool = False) -> None:
        self.data_dir = data_dir.expanduser().absolute()
        self.fast = fast
        self.link = self.data_dir / "pg"
        self._server_user = self._pick_server_user()
        self._lock_depth = 0

    # -- locations -------------------------------------------------------

    @staticmethod
    def _pick_server_user() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        name = os.environ.get("EVEDMV_PG_USER", "postgres")
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise ClusterError(
                "no unprivileged user for PostgreSQL",
                f"running as root, and user {name!r} does not exist; "
                "PostgreSQL refuses to run as root",
                "create the user (useradd --system postgres), set EVEDMV_PG_USER "
                "to another user, or run evedmv as a normal user",
            ) from None

    @property
    def directory(self) -> Path:
        """The real cluster directory (PGDATA), following the fallback link."""
        if self.link.is_symlink():
            return Path(os.readlink(self.link))
        if self.link.exists() or self._server_user is None:
            return self.link
        if _others_can_traverse(self.data_dir, self._server_user):
            return self.link
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
        return ROOT_FALLBACK / digest

    @property
    def socket_dir(self) -> Path:
        """The server's socket directory: the cluster directory, unless its
        path is too long for a socket or contains a comma, which libpq reads as
        the end of a host in a list of hosts and has no escape for."""
        directory = self.directory
        fits = len(str(directory / f".s.PGSQL.{PORT}")) <= _MAX_SOCKET_PATH
        if fits and "," not in str(directory):
            return directory
        digest = hashlib.sha256(str(directory).encode()).hexdigest()[:12]
        return Path("/tmp") / f"evedmv-{digest}"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def url(self, database: str = DATABASE) -> str:
        """Return the libpq URL of this cluster's database."""
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql:///{database}?host={host}&port={PORT}&user={SUPERUSER}"

    # -- running commands --------------------------------------------------

    def _run(
        self, args: list[str], *, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        user = self._server_user
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        env.pop("PGDATA", None)
        uid = gid = None
        groups: list[int] | None = None
        if user is not None:
            env["HOME"] = user.pw_dir
            uid, gid, groups = user.pw_uid, user.pw_gid, []
        log.debug("running %s", " ".join(args))
        try:
            result = subprocess.run(
                args,
                capture_output=True,
                text=True,
                env=env,
                cwd="/",
                timeout=timeout,
                check=False,
                user=uid,
                group=gid,
                extra_groups=groups,
            )
        except subprocess.TimeoutExpired:
            raise ClusterError(
                "PostgreSQL command timed out",
                f"{Path(args[0]).name} did not finish in {timeout:.0f} s",
                f"see {self.log_path}",
            ) from None
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ClusterError(
                f"{Path(args[0]).name} failed",
                detail[-1] if detail else f"exit status {result.returncode}",
                f"see {self.log_path}",
            )
        return result

    def _chown(self, path: Path) -> None:
        if self._server_user is not None:
            os.chown(path, self._server_user.pw_uid, self._server_user.pw_gid)

    # -- lifecycle --------------------------------------------------------

    def initialized(self) -> bool:
        return (self.directory / "PG_VERSION").exists()

    def _make_data_dir(self) -> None:
        # Run as root, the server's user must be able to pass through data_dir.
        mode = 0o700 if self._server_user is None else 0o711
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=mode)

    @contextlib.contextmanager
    def locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the data directory's cluster lock, waiting while another has it.

        :meth:`init`, :meth:`start` and :meth:`stop` take it, so of two
        commands that find the cluster missing or stopped, one creates and
        starts it and the other waits, then uses that server. Callers that
        must finish more set-up before another process connects (creating
        the database) hold it around :meth:`start`. The lock is reentrant
        within one instance and is an ``flock`` on :data:`LOCK_FILE`, which
        the kernel releases when the process exits.

        Raises:
            ClusterError: another process held the lock for ``timeout`` s.
        """
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        self._make_data_dir()
        path = self.data_dir / LOCK_FILE
        # O_CLOEXEC: a server started under the lock must not inherit it.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            self._acquire(fd, path, timeout)
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
        finally:
            # Closing the only descriptor releases the lock.
            os.close(fd)

    @staticmethod
    def _acquire(fd: int, path: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            if not waiting:
                log.info("waiting for another evedmv process to set up %s", path)
                waiting = True
            if time.monotonic() >= deadline:
                raise ClusterError(
                    "private cluster busy",
                    f"another process held {path} for {timeout:.0f} s",
                    "wait for the other evedmv command to finish, or stop it",
                )
            time.sleep(0.1)

    def init(self) -> None:
        """Create the cluster directory with ``initdb`` unless it exists."""
        with self.locked():
            if not self.initialized():
                self._initdb()

    def _initdb(self) -> None:
        bin_dir = find_bin_dir()
        directory = self.directory
        if directory != self.link:
            directory.parent.mkdir(parents=True, exist_ok=True, mode=0o711)
            if not self.link.is_symlink():
                self.link.symlink_to(directory)
            log.info("cluster directory %s (linked from %s)", directory, self.link)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
        self._chown(directory)
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(directory),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=reject",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
        )
        settings = dict(SERVER_SETTINGS)
        settings["unix_socket_directories"] = conf_directory_list(self.socket_dir)
        if self.fast:
            settings.update(FAST_SETTINGS)
        lines = ["# written by evedmv; see evedmv_tui/store/cluster.py"]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        conf = directory / "evedmv.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._chown(conf)
        with (directory / "postgresql.conf").open("a", encoding="utf-8") as handle:
            handle.write(f"\ninclude {conf_string('evedmv.conf')}\n")
        log.info("initialised PostgreSQL cluster in %s", directory)

    def _postmaster_pid(self) -> int | None:
        return _first_line_number(self.directory / "postmaster.pid")

    def _postmaster_state(self) -> str | None:
        """Return the server's state from ``postmaster.pid``, or None if stopped.

        The state is the file's eighth line: ``starting``, ``stopping``,
        ``ready`` or ``standby`` (PostgreSQL 10 and later). A file without
        that line yet is ``starting``.
        """
        self._recover_stale_pid_file()
        try:
            lines = (self.directory / "postmaster.pid").read_text().split("\n")
        except OSError:
            return None
        return lines[7].strip() if len(lines) > 7 and lines[7].strip() else "starting"

    def _wait_until_ready(self, timeout: float) -> bool:
        """Wait for a server that is starting; return False once none runs."""
        deadline = time.monotonic() + timeout
        while True:
            state = self._postmaster_state()
            if state is None:
                return False
            if state in {"ready", "standby"}:
                return True
            if time.monotonic() >= deadline:
                raise ClusterError(
                    "PostgreSQL not ready",
                    f"the server in {self.directory} was still {state} after"
                    f" {timeout:.0f} s",
                    f"see {self.log_path}",
                )
            time.sleep(0.1)

    def _recover_stale_pid_file(self) -> str | None:
        """Remove a ``postmaster.pid`` whose process is not this cluster's server.

        That is a server that no longer runs, a pid reused by another program,
        or a server of another data directory, as in a copy of this directory
        made while its server ran. Returns why the file was kept although its
        process may serve another directory, or None.
        """
        pid = self._postmaster_pid()
        if pid is None:
            return None
        stale, doubt = self._stale_reason(pid)
        if stale is not None:
            log.warning("removing stale postmaster.pid (%s)", stale)
            (self.directory / "postmaster.pid").unlink(missing_ok=True)
            # The socket's lock file names the same pid, and PostgreSQL's
            # kill(pid, 0) check of it would accept a zombie or reused pid.
            socket_lock = self.socket_dir / f".s.PGSQL.{PORT}.lock"
            if _first_line_number(socket_lock) == pid:
                socket_lock.unlink(missing_ok=True)
        return doubt

    def _stale_reason(self, pid: int) -> tuple[str | None, str | None]:
        """Check the pid from ``postmaster.pid`` against this cluster.

        Returns why the pid file is stale, or None, and why ``pid`` may
        belong to another cluster although that could not be checked, or
        None.
        """
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"pid {pid} is not running", None
        except PermissionError:
            # Another user's process. Its name and directory decide.
            pass
        if _is_zombie(pid):
            # A killed server stays a zombie until its parent, often PID 1,
            # reaps it: the pid exists but nothing listens. PostgreSQL's own
            # check of the file would take it for a running server. Its
            # check that no old backend still uses the shared memory needs
            # the file, so the file goes only once every backend has exited.
            if _live_processes_in(self.directory):
                return None, None
            return f"pid {pid} has exited and is a zombie", None
        comm = Path(f"/proc/{pid}/comm")
        try:
            name = comm.read_text().strip() if comm.exists() else None
        except ProcessLookupError:
            return f"pid {pid} is not running", None
        if name not in {None, "postgres", "postmaster"}:
            # The pid was reused after the server died without cleaning up.
            return f"pid {pid} is now {name!r}, not PostgreSQL", None
        try:
            served = _served_directory(pid)
        except psutil.NoSuchProcess:
            return f"pid {pid} is not running", None
        if isinstance(served, str):
            return None, (
                f"pid {pid} runs PostgreSQL, but {served}, so evedmv cannot tell"
                f" whether it serves {self.directory}"
            )
        if served != self.directory.resolve():
            return f"pid {pid} is the server of {served}, not of {self.directory}", None
        return None, None

    def status(self) -> ClusterStatus:
        directory = self.directory
        if not self.initialized():
            return ClusterStatus(
                False, None, directory, self.socket_dir, "not initialised"
            )
        doubt = self._recover_stale_pid_file()
        pid = self._postmaster_pid()
        if pid is None:
            message = "stopped"
            if (cause := self.failed_start()) is not None:
                when = self.failed_start_time()
                at = f" at {when:%Y-%m-%d %H:%M:%S} UTC" if when else ""
                message = f"stopped. The last start{at} failed: {cause}"
            return ClusterStatus(False, None, directory, self.socket_dir, message)
        message = f"running (pid {pid})"
        if doubt is not None:
            message += f", unconfirmed: {doubt}"
        return ClusterStatus(True, pid, directory, self.socket_dir, message)

    def start(self, timeout: float = 60) -> None:
        """Initialise if needed and start the server; a running one is reused.

        Returns once the server accepts connections, also when another
        process started it moments before.
        """
        with self.locked():
            self.init()
            if self._wait_until_ready(timeout):
                return
            self._pg_ctl_start(timeout)

    def _pg_ctl_start(self, timeout: float) -> None:
        socket_dir = self.socket_dir
        if socket_dir != self.directory:
            self._check_socket_dir(socket_dir)
            socket_dir.mkdir(mode=0o700, exist_ok=True)
            self._chown(socket_dir)
        self._update_socket_setting(socket_dir)
        bin_dir = find_bin_dir()
        try:
            logged = self.log_path.stat().st_size
        except FileNotFoundError:
            logged = 0
        result = self._run(
            [
                str(bin_dir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                str(int(timeout)),
                "-D",
                str(self.directory),
                "-l",
                str(self.log_path),
            ],
            check=False,
            timeout=timeout + 10,
        )
        marker = self.data_dir / START_FAILED_FILE
        if result.returncode == 0:
            marker.unlink(missing_ok=True)
            log.info("started PostgreSQL in %s", self.directory)
            return
        lines = self._logged_cause(logged)
        if not lines:
            output = (result.stderr or result.stdout).strip().splitlines()
            lines = [output[-1] if output else f"exit status {result.returncode}"]
        cause = "; ".join(lines)
        marker.write_text("\n".join(lines) + "\n", encoding="utf-8")
        raise ClusterError(
            "PostgreSQL did not start",
            cause,
            f"see {self.log_path}, fix the cause, then run 'evedmv db start'",
        )

    def _update_socket_setting(self, socket_dir: Path) -> None:
        """Point ``unix_socket_directories`` in ``evedmv.conf`` at ``socket_dir``.

        :meth:`_initdb` writes the absolute path of that time. In a data
        directory that was copied or moved since, the server would otherwise
        put its socket in the old place: next to the original's socket, which
        makes the start fail, or in a folder that no longer exists.
        """
        conf = self.directory / "evedmv.conf"
        try:
            lines = conf.read_text(encoding="utf-8").split("\n")
        except FileNotFoundError:
            return
        key = "unix_socket_directories = "
        setting = key + conf_directory_list(socket_dir)
        updated = [setting if line.startswith(key) else line for line in lines]
        if updated != lines:
            # Written in place, so the file keeps its owner, the server's user.
            conf.write_text("\n".join(updated), encoding="utf-8")
            log.info("socket directory of %s is now %s", self.directory, socket_dir)

    def _check_socket_dir(self, socket_dir: Path) -> None:
        """Raise :class:`ClusterError` when something other than a folder
        sits at ``socket_dir``, the socket folder derived under /tmp."""
        if socket_dir.is_dir() or not os.path.lexists(socket_dir):
            return
        if "," in str(self.directory):
            reason = "its path contains a comma"
            other = "a data directory path without a comma"
        else:
            reason = "its path is too long for a socket"
            other = "a shorter data directory path"
        raise ClusterError(
            "socket folder taken",
            f"{socket_dir}, the folder for the server's socket that evedmv uses"
            f" for {self.directory} because {reason}, is a file",
            f"remove {socket_dir}, or use {other}",
        )

    def _logged_cause(self, offset: int) -> list[str]:
        """Return the lines the server logged after ``offset`` that give the
        cause of its stop: up to :data:`MAX_CAUSE_LINES` lines ending with the first
        FATAL or PANIC line, else the first error line, else none."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(offset)
                text = handle.read(1 << 20).decode("utf-8", "replace")
        except OSError:
            return []
        lines = [
            " ".join(_LOG_PREFIX.sub("", line).split())
            for line in text.splitlines()
            if line.strip()
        ]
        for index, line in enumerate(lines):
            if any(mark in line for mark in _FATAL_MARKS):
                return lines[max(0, index + 1 - MAX_CAUSE_LINES) : index + 1]
        for line in lines:
            if any(mark in line for mark in _CAUSE_MARKS):
                return [line]
        return []

    def failed_start(self) -> str | None:
        """Return the cause of the last start if it failed, else None."""
        try:
            text = (self.data_dir / START_FAILED_FILE).read_text(encoding="utf-8")
        except OSError:
            return None
        return "; ".join(text.split("\n")).strip("; ") or "unknown cause"

    def failed_start_time(self) -> datetime | None:
        """Return the UTC time of the last start if it failed, else None."""
        try:
            mtime = (self.data_dir / START_FAILED_FILE).stat().st_mtime
        except OSError:
            return None
        return datetime.fromtimestamp(mtime, UTC)

    def stop(self, mode: str = "fast", timeout: float = 60) -> bool:
        """Stop the server; return False when it was not running."""
        if not self.status().running:
            return False
        with self.locked():
            return self._stop(mode, timeout)

    def _stop(self, mode: str, timeout: float) -> bool:
        doubt = self._recover_stale_pid_file()
        if doubt is not None:
            pid_file = self.directory / "postmaster.pid"
            raise ClusterError(
                "PostgreSQL not stopped",
                f"{pid_file} names a server that evedmv does not signal: {doubt}",
                f"if no server uses {self.directory}, delete {pid_file}; otherwise"
                " stop that server as the user that runs it",
            )
        if not self.status().running:
            return False
        bin_dir = find_bin_dir()
        result = self._run(
            [
                str(bin_dir / "pg_ctl"),
                "stop",
                "-w",
                "-t",
                str(int(timeout)),
                "-m",
                mode,
                "-D",
                str(self.directory),
            ],
            check=False,
            timeout=timeout + 10,
        )
        if result.returncode != 0 and mode != "immediate":
            self._quit(mode, timeout)
        log.info("stopped PostgreSQL in %s", self.directory)
        return True

    def _quit(self, mode: str, timeout: float) -> None:
        """Send SIGQUIT, PostgreSQL's immediate shutdown, after pg_ctl's
        ``mode`` shutdown failed, and wait until the server is gone."""
        # The server may have exited in the meantime, and its pid may even
        # have been reused, so the pid is checked again before the signal.
        doubt = self._recover_stale_pid_file()
        if doubt is not None:
            log.warning("not sending SIGQUIT: %s", doubt)
            return
        pid = self._postmaster_pid()
        if pid is None:
            return
        log.warning("%s shutdown failed; sending SIGQUIT to %d", mode, pid)
        try:
            os.kill(pid, signal.SIGQUIT)
        except ProcessLookupError:
            log.info("PostgreSQL pid %d exited before SIGQUIT", pid)
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.status().running:
            time.sleep(0.1)

    def destroy(self) -> None:
        """Stop the server and delete the cluster directory."""
        self.stop(mode="immediate")
        directory = self.directory
        shutil.rmtree(directory, ignore_errors=True)
        if self.link.is_symlink():
            self.link.unlink()
        if self.socket_dir != directory:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
