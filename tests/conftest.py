"""Shared fixtures: one real PostgreSQL cluster per test session.

The session starts a private cluster (the same code the app uses) in a
fresh directory under :data:`SCRATCH` (``/dev/shm`` where it can, else
``/tmp``), migrates a template database once, and gives each test that
requests ``db`` its own database copied from that template.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from evedmv_tui.config import Settings
from evedmv_tui.esi import make_http_client
from evedmv_tui.logfile import LogFileHandler
from evedmv_tui.names import NAME_CACHE, UNRESOLVABLE_IDS
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import ensure_database
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import migrate
from evedmv_tui.store.telemetry import Telemetry
from tests.fakes.server import FakeServer

SHARED_DATA = Path(
    os.environ.get(
        "EVEDMV_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
TEMPLATE = "evedmv_template"
MIN_SCRATCH_FREE = 8 << 30
"""Bytes a memory file system needs free to hold the tests' clusters."""


def scratch_root() -> Path:
    """Return the directory the tests' clusters and temporary files go under.

    ``EVEDMV_TEST_TMP`` when set, else ``/dev/shm`` when it is a writable
    memory file system with room to spare, else ``/tmp``. Every test database
    copies hundreds of files from the template and drops them again. On a
    disk file system without a journal (ext4 as some virtual machines mount
    it), the kernel's search for a free inode then walks past every recently
    deleted one. Measured on a two-core test machine, that cost 0.1 to
    0.3 s of CPU per database, and in memory almost nothing. Each directory
    made under the root is created with mode 0711 where the server's user
    must reach it, as ``/tmp`` is.
    """
    if configured := os.environ.get("EVEDMV_TEST_TMP"):
        return Path(configured)
    shm = Path("/dev/shm")
    try:
        free = shutil.disk_usage(shm).free
    except OSError:
        return Path("/tmp")
    if free >= MIN_SCRATCH_FREE and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return Path("/tmp")


SCRATCH = scratch_root()
# tmp_path and its relatives go there too; pytest reads this variable when
# it first makes its base directory, after the conftest files are imported.
os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", str(SCRATCH))


def shared_file(relative: str) -> Path:
    """Return a file of the shared real-data set, skipping the test if absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data file {path} not found (set EVEDMV_SHARED_DATA)")
    return path


def module_fixture_group(item: pytest.Item) -> str | None:
    """Return the xdist group of a test that uses a module-scoped fixture.

    The group is the test's module, or None when the test uses no
    module-scoped fixture.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for name in info.names_closure:
        definitions = info.name2fixturedefs.get(name, ())
        if any(definition.scope == "module" for definition in definitions):
            return item.nodeid.split("::", 1)[0]
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Send the tests that share a module-scoped fixture to one xdist worker.

    Under ``--dist loadgroup`` each group runs on a single worker. Without
    the group, tests of one module spread over the workers, and each worker
    builds the module's fixture again: in test_import_archives.py that means
    another import of all seven real archives. This hook runs before xdist's
    own, which reads the mark.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = module_fixture_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def empty_name_caches() -> Iterator[None]:
    """Start every test with empty process-wide name caches.

    Tests give the same ids different names, so a name cached by one test
    would otherwise show up on another test's screen.
    """
    NAME_CACHE.clear()
    UNRESOLVABLE_IDS.clear()
    yield
    NAME_CACHE.clear()
    UNRESOLVABLE_IDS.clear()


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """Put back the handlers and levels that ``configure_logging`` replaces.

    A command run through ``main`` logs to the stderr that pytest captured
    for its test. Left in place, that handler wrote to a closed stream in
    later tests of the same process, and Python printed "--- Logging error
    ---" with a traceback into their output.
    """
    loggers = [logging.getLogger("evedmv_tui"), logging.getLogger("psycopg")]
    saved = [(list(x.handlers), x.level, x.propagate) for x in loggers]
    try:
        yield
    finally:
        for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
            for handler in logger.handlers:
                if handler not in handlers and isinstance(handler, LogFileHandler):
                    # Closing tries to write the failed records again.
                    with contextlib.suppress(OSError):
                        handler.close()
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


@pytest.fixture(autouse=True)
def steady_input_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep text cursors from blinking, so snapshots do not depend on timing.

    An input's cursor blinks every 0.5 s, and on a busy machine a snapshot
    taken after typing can catch it in either state.
    """
    from textual.widgets import Input

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


POPUP_SECONDS_IN_TESTS = 600.0


@pytest.fixture(autouse=True)
def lasting_popups(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep pop-ups for ten minutes, except in snapshot tests.

    Tests read the pop-ups an action raised from ``app._notifications``,
    which drops them once their few seconds are up. On a loaded machine the
    read can come later than that, and the test failed on a pop-up that had
    been shown. Snapshots keep the real timeout, as a pop-up left over would
    change the picture.
    """
    if "snap_compare" in request.fixturenames:
        return
    import textual.app
    from textual.notifications import Notification

    def lasting(*args: Any, **kwargs: Any) -> Notification:
        notification = Notification(*args, **kwargs)
        notification.timeout = max(notification.timeout, POPUP_SECONDS_IN_TESTS)
        return notification

    monkeypatch.setattr(textual.app, "Notification", lasting)


@contextlib.contextmanager
def cluster_directory(prefix: str) -> Iterator[Path]:
    """A directory under :data:`SCRATCH` that the server's user can enter,
    removed after.

    Yields the data directory inside it; a cluster started there is destroyed
    on the way out whatever the test did with it.
    """
    base = Path(tempfile.mkdtemp(prefix=prefix, dir=SCRATCH))
    base.chmod(0o711)
    try:
        yield base / "data"
    finally:
        PrivateCluster(base / "data").destroy()
        shutil.rmtree(base, ignore_errors=True)


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
CLOSED_PORT = "http://127.0.0.1:9"
"""A loopback address nothing listens on: requests to it fail at once."""


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Refuse to resolve any host but loopback, so no test reaches the network.

    Tests that need ESI or zKillboard serve their responses on loopback;
    anything else asking for a real host is a bug in the test.
    """
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK_HOSTS:
            raise socket.gaierror(
                socket.EAI_NONAME, f"tests reach loopback hosts only, not {name}"
            )
        return resolve(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", guarded)
        yield


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PrivateCluster]:
    with cluster_directory("evedmv-test-") as data:
        cluster = PrivateCluster(data, fast=True)
        cluster.start()
        ensure_database(cluster, TEMPLATE)
        with Database(cluster.url(TEMPLATE), min_size=1, max_size=1) as template:
            migrate(template)
        yield cluster


@pytest.fixture
def own_cluster() -> Iterator[PrivateCluster]:
    """A private cluster of the test's own, not started yet."""
    with cluster_directory("evedmv-own-") as data:
        yield PrivateCluster(data, fast=True)


@contextlib.contextmanager
def login_role(db_url: str, prefix: str, *grants: str) -> Iterator[str]:
    """Yield the URL of ``db_url`` as a new login role, dropped afterwards.

    The role may connect to the database and gets each of ``grants``, GRANT
    statements whose ``{}`` is replaced by the quoted role name. It has no
    other privileges, ``pg_read_all_stats`` among them. Its sessions are
    ended before it is dropped.
    """
    role = f"{prefix}_{uuid.uuid4().hex[:8]}"
    database = str(psycopg.conninfo.conninfo_to_dict(db_url)["dbname"])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
        for grant in grants:
            conn.execute(sql.SQL(grant).format(sql.Identifier(role)))
    try:
        yield psycopg.conninfo.make_conninfo(db_url, user=role)
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE usename = %s",
                (role,),
            )
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def limited_role(db_url: str) -> Iterator[str]:
    """A login role with no privilege beyond CONNECT: no pg_read_all_stats,
    and no SET of pg_stat_statements.track."""
    with login_role(db_url, "limited") as url:
        yield url


def _create_database(cluster: PrivateCluster) -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(
            # FILE_COPY copies the template's files as they are, where the
            # default strategy writes every block of them to the WAL as well:
            # half the CPU, and no WAL piling up in memory between checkpoints.
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)
            )
        )
    return name


def _drop_database(cluster: PrivateCluster, name: str) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


@pytest.fixture
def db_url(pg_cluster: PrivateCluster) -> Iterator[str]:
    """URL of a fresh, migrated database of its own for this test."""
    name = _create_database(pg_cluster)
    try:
        yield pg_cluster.url(name)
    finally:
        _drop_database(pg_cluster, name)


@pytest.fixture
def bare_url(pg_cluster: PrivateCluster) -> Iterator[str]:
    """URL of a new database with no evedmv table and no extension."""
    name = f"bare_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_cluster.url(name)
    finally:
        _drop_database(pg_cluster, name)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A pool on a fresh, migrated database, with telemetry of its own."""
    database = Database(db_url, telemetry=Telemetry())
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings that point at this test's database and a private state dir."""
    return Settings(
        dsn=db_url,
        data_dir=tmp_path / "data",
        state_dir=tmp_path / "state",
        user_agent="evedmv-tui tests (tests@example.invalid)",
        esi_url=CLOSED_PORT,
        r2z2_url=CLOSED_PORT,
    )


TEST_USER_AGENT = "evedmv-tui tests (tests@example.invalid)"
"""The contact the command tests send to the fake ESI and zKillboard."""


@pytest.fixture
def command_env(
    fake: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point the evedmv command at the test database and the module's fake server.

    ``fake`` is the :class:`tests.fakes.server.FakeServer` fixture of the
    test's module; its ESI and R2Z2 addresses replace the real ones.
    """
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("EVEDMV_DSN", db_url)
    monkeypatch.setenv("EVEDMV_USER_AGENT", TEST_USER_AGENT)
    monkeypatch.setenv("EVEDMV_R2Z2_URL", fake.r2z2_url)
    monkeypatch.setenv("EVEDMV_ESI_URL", fake.esi_url)


def assert_footer_fits(app: Any) -> None:
    """Fail unless every key the footer shows lies inside the terminal."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    if app.screen.has_class("-too-small"):
        return  # the size message replaces the footer
    width = app.size.width
    for footer in app.screen.query(Footer):
        for key in footer.query(FooterKey):
            region = key.region
            where = f"footer key {key.key_display!r} ({key.description})"
            assert region.width > 0, f"{where} is outside the terminal: {region}"
            assert region.right <= width, f"{where} is cut at {width} columns"


@pytest.fixture
def snap_compare(snap_compare: Any) -> Any:
    """Compare snapshots, and check first that the footer fits the terminal."""

    def compare(app: Any, *, run_before: Any = None, **kwargs: Any) -> bool:
        async def checked(pilot: Any) -> None:
            if run_before is not None:
                await run_before(pilot)
            await pilot.pause()
            assert_footer_fits(pilot.app)

        return bool(snap_compare(app, run_before=checked, **kwargs))

    return compare


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the user's config file and EVEDMV_* variables out of the command."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for variable in ("EVEDMV_DSN", "EVEDMV_DATA_DIR", "EVEDMV_LOG_FILE"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """A loopback HTTP server that replaces ESI, zKillboard or a feed."""
    with FakeServer() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """An HTTP client built as the app builds it, with the tests' user agent."""
    with make_http_client(TEST_USER_AGENT) as client:
        yield client


@pytest.fixture
def documents() -> dict[int, dict[str, Any]]:
    """The real R2Z2 documents of the shared data, by sequence number."""
    # Imported here: tests.follow_support imports this module.
    from tests.follow_support import real_documents

    return real_documents()
