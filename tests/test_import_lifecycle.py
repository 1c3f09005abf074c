"""The ``imports`` row of a file import: live counts, a lost server, a dead import."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from evedmv_tui.cli import main
from evedmv_tui.errors import DatabaseUnavailable
from evedmv_tui.generate import generate_killmails
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.importer import _import_record, import_paths
from evedmv_tui.monitor.ingest import ImportRun, IngestCounts, IngestHealth, read_ingest
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry
from evedmv_tui.widgets import perf_rows
from tests.test_performance_screen import recorded_snapshot

BATCH = 50


class Proxy:
    """Forward a loopback TCP port to the server's unix socket, in threads.

    :meth:`stop` closes the listening socket and every forwarded
    connection, which looks to the client like a server that went away.
    """

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            sockets = [self.listener, *self._sockets]
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.socket_path)
            with self._lock:
                if self._stopped:
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(source, target), daemon=True
                ).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxy(db_url: str) -> Iterator[Proxy]:
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    server = Proxy(f"{params['host']}/.s.PGSQL.{params['port']}")
    yield server
    server.stop()


@pytest.fixture
def proxied_db(db_url: str, proxy: Proxy) -> Iterator[Database]:
    """A pool that reaches the test database only through ``proxy``."""
    url = psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=proxy.port)
    database = Database(url, telemetry=Telemetry())
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def killmail_file(tmp_path: Path) -> Path:
    path = tmp_path / "killmails.jsonl"
    path.write_bytes(b"\n".join(generate_killmails(6 * BATCH, seed=3)) + b"\n")
    return path


def _last_run(db_url: str) -> ImportRun:
    db = Database(db_url, telemetry=Telemetry())
    try:
        with db.connection() as conn:
            run = read_ingest(db, conn).last_import
    finally:
        db.close()
    assert run is not None
    return run


def _stored(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM killmails").fetchone()
    assert row is not None
    return int(row[0])


def test_running_import_shows_live_counts(
    db: Database, db_url: str, killmail_file: Path
) -> None:
    """The row counted nothing until the end, so a running import showed 0."""
    seen: list[ImportRun] = []

    def look(_db: Database, _result: BatchResult) -> None:
        seen.append(_last_run(db_url))

    summary = import_paths(
        db, [killmail_file], offline=True, after_batch=[look], batch_size=BATCH
    )

    assert len(seen) == 6
    assert [run.read for run in seen] == [BATCH * n for n in range(1, 7)]
    assert [run.inserted for run in seen] == [BATCH * n for n in range(1, 7)]
    assert {run.state for run in seen} == {"running"}
    finished = _last_run(db_url)
    assert finished.state == "finished"
    assert finished.read == summary.read == 6 * BATCH
    assert finished.inserted == summary.inserted


@pytest.mark.parametrize("lost_in", ["write", "hook"])
def test_lost_server_ends_import_promptly(
    proxied_db: Database,
    proxy: Proxy,
    db_url: str,
    killmail_file: Path,
    lost_in: str,
) -> None:
    """A lost server left each later statement waiting 30 s for a connection.

    The import then hung silently for minutes, and its row stayed "running"
    after the process was gone.
    """
    batches = 0

    def stop_after_second(db: Database, _result: BatchResult) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            proxy.stop()
            if lost_in == "hook":
                # The next hook of the same batch meets the lost server.
                db.fetch_value("SELECT 1")

    hooks: list[Any] = [stop_after_second]
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as raised:
        import_paths(
            proxied_db,
            [killmail_file],
            offline=True,
            after_batch=hooks,
            batch_size=BATCH,
        )
    elapsed = time.monotonic() - started

    assert elapsed < 10, f"the import took {elapsed:.1f} s to give up"
    text = raised.value.render()
    assert raised.value.title == "database connection lost"
    assert "connection refused" in text
    assert "evedmv repair" in text
    assert _stored(db_url) == 2 * BATCH
    run = _last_run(db_url)
    assert run.finished is None
    assert run.state == "interrupted"
    assert run.read == 2 * BATCH
    assert run.inserted == 2 * BATCH


def _stop_import(
    db: Database, killmail_file: Path, stop: type[BaseException] = KeyboardInterrupt
) -> int:
    """Stop an import after its second batch, as Ctrl-C would, and return its id.

    Hooks catch Exception only, so ``stop`` ends the import itself.
    """
    batches = 0

    def stop_after_second(_db: Database, _result: BatchResult) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise stop

    with pytest.raises(stop):
        import_paths(
            db,
            [killmail_file],
            offline=True,
            after_batch=[stop_after_second],
            batch_size=BATCH,
        )
    import_id = db.fetch_value("SELECT max(import_id) FROM imports")
    assert isinstance(import_id, int)
    return import_id


def _repair(db_url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["--dsn", db_url, "--offline", "repair", "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def _repaired_at_set(db: Database, import_id: int) -> bool:
    return bool(
        db.fetch_value(
            "SELECT repaired_at IS NOT NULL FROM imports WHERE import_id = %s",
            (import_id,),
        )
    )


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_stopped_import_stays_unfinished(
    db: Database, db_url: str, killmail_file: Path, stop: type[BaseException]
) -> None:
    """Ctrl-C closed the row as finished, yet the CLI asked for a repair."""
    _stop_import(db, killmail_file, stop)
    assert _stored(db_url) == 2 * BATCH
    run = _last_run(db_url)
    assert run.finished is None
    assert run.state == "interrupted"
    assert run.read == 2 * BATCH
    assert run.inserted == 2 * BATCH


def test_failed_import_shows_as_failed(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    """An import that an error ended part way showed as finished on the
    Ingest tab, as if it had read all of its files."""
    path = tmp_path / "killmails.jsonl"
    path.write_bytes(b"\n".join(generate_killmails(2 * BATCH, seed=4)) + b"\n")

    def fail_first(_progress: object) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        import_paths(db, [path], offline=True, progress=fail_first, batch_size=BATCH)
    run = _last_run(db_url)
    assert run.finished is not None
    assert run.failed
    assert run.state == "failed"

    health = IngestHealth(IngestCounts(0, None, None, 0, 0, 0), [], run, None)
    snapshot = dataclasses.replace(recorded_snapshot(), ingest=health)
    lines = perf_rows.ingest_text(snapshot).plain.splitlines()
    line = next(line for line in lines if line.startswith("last import "))
    assert line.startswith(
        f"last import #{run.import_id} failed (import its files again): "
    )
    assert "finished" not in line


def test_ingest_panel_names_interrupted_import() -> None:
    counts = IngestCounts(0, None, None, 0, 0, 0)
    run = ImportRun(28, 1.0, None, 8_000, 8_000, 0, 0, locked=False)
    health = IngestHealth(counts, [], run, None)
    snapshot = dataclasses.replace(recorded_snapshot(), ingest=health)
    lines = perf_rows.ingest_text(snapshot).plain.splitlines()
    assert (
        "last import #28 interrupted (run 'evedmv repair'): 8,000 read,"
        " 8,000 inserted, 0 rejected"
    ) in lines


def test_repair_closes_interrupted_import(
    db: Database,
    db_url: str,
    killmail_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After a successful repair the panel still asked for a repair."""
    stopped = _stop_import(db, killmail_file)
    assert _last_run(db_url).state == "interrupted"

    report = _repair(db_url, capsys)

    assert report["imports_repaired"] == [stopped]
    run = _last_run(db_url)
    assert run.import_id == stopped
    assert run.state == "interrupted, repaired"
    assert run.finished is None
    assert run.repaired is not None
    assert run.read == 2 * BATCH
    # A second repair finds nothing left to mark.
    assert _repair(db_url, capsys)["imports_repaired"] == []


def test_repair_leaves_running_import(
    db: Database,
    db_url: str,
    killmail_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stopped = _stop_import(db, killmail_file)

    # The record holds the import's lock as a running importer does.
    with _import_record(db, [str(killmail_file)]) as running:
        report = _repair(db_url, capsys)
        assert _last_run(db_url).state == "running"

    assert report["imports_repaired"] == [stopped]
    assert _repaired_at_set(db, stopped)
    assert not _repaired_at_set(db, running.import_id)
    # Once its importer is gone, the unrepaired import shows as interrupted.
    assert _last_run(db_url).state == "interrupted"


def test_repair_prints_repaired_imports(
    db: Database,
    db_url: str,
    killmail_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stopped = _stop_import(db, killmail_file)
    capsys.readouterr()

    assert main(["--dsn", db_url, "--offline", "repair"]) == 0

    out = capsys.readouterr().out
    assert f"interrupted imports marked as repaired: #{stopped}" in out


def test_ingest_panel_names_repaired_import() -> None:
    counts = IngestCounts(0, None, None, 0, 0, 0)
    run = ImportRun(28, 1.0, None, 8_000, 8_000, 0, 0, locked=False, repaired=2.0)
    health = IngestHealth(counts, [], run, None)
    snapshot = dataclasses.replace(recorded_snapshot(), ingest=health)
    text = perf_rows.ingest_text(snapshot).plain
    assert (
        "last import #28 interrupted, repaired: 8,000 read, 8,000 inserted, 0 rejected"
    ) in text.splitlines()
    assert "evedmv repair" not in text


def test_failed_hook_sets_exit_status(
    db_url: str,
    killmail_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A batch hook that fails, here with its query cancelled, leaves the
    killmails stored, counts them in the summary and makes the import exit 1,
    so a script can tell that battles and totals need a repair."""
    from evedmv_tui.battles import detect
    from evedmv_tui.commands import ingest

    def cancelled(_db: Database, _result: BatchResult) -> None:
        raise psycopg.errors.QueryCanceled("canceling statement due to user request")

    cancelled.__module__ = detect.on_batch.__module__
    cancelled.__qualname__ = detect.on_batch.__qualname__
    monkeypatch.setattr(ingest, "default_hooks", lambda: [cancelled])
    status = main(["--dsn", db_url, "--offline", "import", str(killmail_file)])
    out, err = capsys.readouterr()
    assert status == 1
    assert "battles not updated for a batch of" in err
    assert (
        f"not updated after their batches: battles for {6 * BATCH:,} killmails" in out
    )
    assert "run 'evedmv repair'" in out
    assert _stored(db_url) == 6 * BATCH

    args = ["--dsn", db_url, "--offline", "import", "--json", str(killmail_file)]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["not_updated"] == {}
