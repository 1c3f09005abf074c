"""The SQLite baseline store on real files under ``tmp_path``."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
from pathlib import Path

import pytest

from evedmv_tui.store import baselines
from evedmv_tui.store.baselines import (
    MIGRATIONS,
    SCHEMA_VERSION,
    AlertEvent,
    AlertWrite,
    Baseline,
    RecordedSample,
    SaveBatch,
    StoredAlert,
    StoreUnavailable,
    open_store,
)

KEY = "statement:3f2a9c0d11e4b7a8:mean_ms"


def alert(key: str = KEY, *, at: float = 100.0, severity: int = 3) -> StoredAlert:
    return StoredAlert(
        key, "SELECT 1", "level", severity, at, at, 10.0, 50.0, 50.0, 5.0
    )


def learned(key: str = KEY, *, count: int = 30, at: float = 100.0) -> Baseline:
    return Baseline(key, "SELECT 1", count, 10.0, 1.0, (), 11.0, at)


async def test_new_file_is_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "state" / "baselines.sqlite3"
    store = await open_store(path)
    try:
        assert store.status.persistent
        assert store.status.level == "ok"
        assert store.status.message == ""
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_baselines_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    store = await open_store(path)
    warm = Baseline("memory:rss_bytes", "", 3, 5.0, 0.5, (4.0, 5.0, 6.0), 6.0, 50.0)
    await store.save(SaveBatch([learned(), warm]))
    await store.close()
    store = await open_store(path)
    try:
        loaded = await store.load_baselines()
        assert loaded == [warm, learned()]
        assert await store.get_baseline(KEY) == learned()
        assert await store.get_baseline("missing") is None
    finally:
        await store.close()


async def test_stale_writer_cannot_undo_a_reset(tmp_path: Path) -> None:
    """A dashboard that flushes its old baseline after a reset must not revive it."""
    path = tmp_path / "baselines.sqlite3"
    dashboard = await open_store(path)
    command = await open_store(path)
    try:
        await dashboard.save(SaveBatch([learned(at=100.0)]))
        assert await command.reset(KEY, at=150.0) == 1
        await dashboard.save(SaveBatch([learned(count=31, at=200.0)]))
        stored = await command.get_baseline(KEY)
        assert stored is not None
        assert stored.count == 0
        assert stored.epoch == 1
        await dashboard.save(
            SaveBatch([Baseline(KEY, count=1, epoch=1, updated_at=300)])
        )
        stored = await command.get_baseline(KEY)
        assert stored is not None
        assert stored.count == 1
    finally:
        await dashboard.close()
        await command.close()


async def test_older_update_does_not_overwrite_newer(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        await store.save(SaveBatch([learned(count=40, at=200.0)]))
        await store.save(SaveBatch([learned(count=35, at=150.0)]))
        stored = await store.get_baseline(KEY)
        assert stored is not None
        assert stored.count == 40
    finally:
        await store.close()


async def test_one_open_alert_per_key_across_stores(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    first = await open_store(path)
    second = await open_store(path)
    try:
        await first.save(SaveBatch(alerts=[AlertWrite(alert(at=100.0))]))
        later = alert(at=104.0, severity=4)
        await second.save(SaveBatch(alerts=[AlertWrite(later)]))
        rows = await first.open_alerts()
        assert len(rows) == 1
        assert rows[0].severity == 4
        assert rows[0].opened_at == 100.0
    finally:
        await first.close()
        await second.close()


async def test_acknowledgement_survives_other_writers(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    dashboard = await open_store(path)
    command = await open_store(path)
    try:
        await dashboard.save(SaveBatch(alerts=[AlertWrite(alert())]))
        before = await command.revision()
        acknowledged = await command.acknowledge(KEY, at=110.0)
        assert acknowledged is not None
        assert acknowledged.acknowledged_at == 110.0
        assert acknowledged.acknowledged_severity == 3
        assert await command.revision() == before + 1
        # The dashboard did not see the acknowledgement and writes an update.
        await dashboard.save(SaveBatch(alerts=[AlertWrite(alert(at=100.0))]))
        rows = await dashboard.open_alerts()
        assert rows[0].acknowledged_at == 110.0
        assert await command.acknowledge("missing", at=1.0) is None
    finally:
        await dashboard.close()
        await command.close()


async def test_clear_and_reopen(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        opened = alert(at=100.0)
        await store.save(SaveBatch(alerts=[AlertWrite(opened)]))
        cleared = StoredAlert(**{**_fields(opened), "cleared_at": 130.0})
        await store.save(SaveBatch(alerts=[AlertWrite(cleared)]))
        assert await store.open_alerts() == []
        await store.save(SaveBatch(alerts=[AlertWrite(alert(at=140.0), reopen=True)]))
        rows = await store.alerts()
        assert len(rows) == 1
        assert rows[0].cleared_at is None
        await store.save(SaveBatch(alerts=[AlertWrite(cleared)]))
        await store.save(SaveBatch(alerts=[AlertWrite(alert(at=900.0))]))
        rows = await store.alerts()
        assert len(rows) == 2
        assert rows[0].opened_at == 900.0
        assert rows[0].cleared_at is None
    finally:
        await store.close()


def _fields(row: StoredAlert) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__slots__}  # type: ignore[attr-defined]


async def test_events_refer_to_their_alert(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        batch = SaveBatch(
            alerts=[AlertWrite(alert())],
            events=[AlertEvent(KEY, 100.0, "opened", 3, 50.0)],
        )
        await store.save(batch)
        events = await store.events(KEY)
        rows = await store.alerts()
        assert [e.event for e in events] == ["opened"]
        assert events[0].alert_id == rows[0].id
        assert events[0].pid == os.getpid()
    finally:
        await store.close()


async def test_accept_adopts_latest_value(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        regressed = Baseline(KEY, "", 30, 10.0, 4.0, (), 50.0, 100.0, True)
        await store.save(SaveBatch([regressed], alerts=[AlertWrite(alert())]))
        assert await store.accept(KEY, at=200.0)
        stored = await store.get_baseline(KEY)
        assert stored is not None
        assert stored.mean == 50.0
        assert stored.variance == pytest.approx(100.0)
        assert not stored.regressed
        assert stored.epoch == 1
        assert await store.open_alerts() == []
        assert [e.event for e in await store.events(KEY)] == ["accepted"]
        assert not await store.accept("missing", at=1.0)
    finally:
        await store.close()


async def test_reset_all_clears_alerts(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        await store.save(
            SaveBatch(
                [learned(), learned("database:tps")],
                alerts=[AlertWrite(alert()), AlertWrite(alert("database:tps"))],
            )
        )
        assert await store.reset(None, at=300.0) == 2
        assert await store.open_alerts() == []
        assert all(b.count == 0 for b in await store.load_baselines())
        assert await store.count_rows("alert_event") == 2
    finally:
        await store.close()


async def test_samples_are_recorded_and_pruned(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        samples = [RecordedSample(KEY, float(at), at * 1.5, 2.0) for at in range(10)]
        await store.save(SaveBatch(samples=samples))
        recent = await store.recent_samples(KEY, limit=3)
        assert [s.at for s in recent] == [7.0, 8.0, 9.0]
        await store.save(SaveBatch(prune_samples_before=5.0))
        assert await store.count_rows("sample") == 5
        with pytest.raises(ValueError, match="unknown baseline table"):
            await store.count_rows("sqlite_schema")
    finally:
        await store.close()


async def test_failing_job_does_not_lose_others(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")

    async def broken(conn: object) -> None:
        await store._writer_conn.execute("INSERT INTO no_such_table VALUES (1)")

    try:
        good = store.submit(lambda conn: _insert_event(conn, "first"))
        bad = store.submit(broken)
        other = store.submit(lambda conn: _insert_event(conn, "second"))
        await store.flush()
        assert good.result() is None
        assert other.result() is None
        with pytest.raises(StoreUnavailable, match="no_such_table"):
            bad.result()
        assert await store.count_rows("alert_event") == 2
    finally:
        await store.close()


async def _insert_event(conn: object, note: str) -> None:
    import aiosqlite

    assert isinstance(conn, aiosqlite.Connection)
    await conn.execute(
        "INSERT INTO alert_event (key, at, event, note, pid) VALUES (?, 1, 'x', ?, 1)",
        (KEY, note),
    )


async def test_busy_file_is_retried_not_raised(tmp_path: Path) -> None:
    """Another process holding the write lock past the busy timeout is waited out."""
    path = tmp_path / "baselines.sqlite3"
    store = await open_store(path, busy_timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        save = asyncio.ensure_future(store.save(SaveBatch([learned()])))
        await asyncio.sleep(0.4)
        assert not save.done()
        holder.execute("COMMIT")
        await save
        assert store.busy_retries > 0
        assert await store.get_baseline(KEY) == learned()
    finally:
        holder.close()
        await store.close()


async def test_write_gives_up_after_max_busy_wait(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    store = await open_store(path, busy_timeout=0.02)
    store.max_busy_wait = 0.2
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="locked"):
            await store.save(SaveBatch([learned()]))
        assert store.status.level == "warning"
        assert "not written" in store.status.message
        holder.execute("COMMIT")
        await store.save(SaveBatch([learned()]))
        assert await store.get_baseline(KEY) == learned()
        assert store.status.level == "ok"
        assert store.status.message == ""
    finally:
        holder.close()
        await store.close()


async def test_damaged_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = await open_store(path)
    try:
        assert store.status.persistent
        assert store.status.level == "warning"
        assert "damaged" in store.status.message
        await store.save(SaveBatch([learned()]))
        assert await store.get_baseline(KEY) == learned()
    finally:
        await store.close()
    moved = list(tmp_path.glob("baselines.sqlite3.damaged-*"))
    assert len(moved) == 1
    assert moved[0].read_bytes().startswith(b"this is not a database")


async def test_truncated_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    store = await open_store(path)
    await store.save(SaveBatch([learned(f"k{i}:x_ms") for i in range(2000)]))
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    store = await open_store(path)
    try:
        assert store.status.persistent
        assert "damaged" in store.status.message
        assert await store.load_baselines() == []
    finally:
        await store.close()


async def test_version_zero_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('kept')")
    store = await open_store(path)
    try:
        assert store.status.persistent
        assert store.status.level == "ok"
        assert store.status.message == ""
        await store.save(SaveBatch([learned()]))
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
        notes = conn.execute("SELECT body FROM notes").fetchall()
        revision = conn.execute("SELECT value FROM meta WHERE name = 'revision'")
        revisions = revision.fetchall()
    assert version == SCHEMA_VERSION
    assert {"meta", "baseline", "alert", "alert_event", "sample", "notes"} <= tables
    assert notes == [("kept",)]
    assert len(revisions) == 1
    store = await open_store(path)
    try:
        assert await store.load_baselines() == [learned()]
    finally:
        await store.close()


async def test_newer_schema_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.execute("CREATE TABLE future (x)")
    store = await open_store(path)
    try:
        assert not store.status.persistent
        assert store.status.level == "error"
        assert "newer" in store.status.message
        assert f"schema version {SCHEMA_VERSION + 1}" in store.status.message
        await store.save(SaveBatch([learned()]))
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert tables == {"future"}
    assert version == SCHEMA_VERSION + 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
async def test_read_only_file_keeps_its_baselines(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    store = await open_store(path)
    await store.save(SaveBatch([learned()]))
    await store.close()
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        store = await open_store(path)
        assert not store.status.persistent
        assert "read-only" in store.status.message
        assert await store.get_baseline(KEY) == learned()
        await store.close()
    finally:
        tmp_path.chmod(0o755)


def open_read_only(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Open the baseline file ``path`` in SQLite's read-only mode from now on.

    A database in read-only mode rejects writes exactly like a read-only
    file, and even root cannot write it, while root ignores file modes.
    """
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    real_connect = baselines._connect

    async def read_only_connect(target: str, timeout: float, *, uri: bool = False):  # type: ignore[no-untyped-def]
        if target == str(path):
            return await real_connect(f"file:{path}?mode=ro", timeout, uri=True)
        return await real_connect(target, timeout, uri=uri)

    monkeypatch.setattr(baselines, "_connect", read_only_connect)


async def test_read_only_database_keeps_its_baselines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same case as a read-only file, made so even root cannot write it."""
    path = tmp_path / "baselines.sqlite3"
    store = await open_store(path)
    await store.save(SaveBatch([learned()]))
    await store.close()
    open_read_only(monkeypatch, path)
    store = await open_store(path)
    try:
        assert not store.status.persistent
        assert "read-only" in store.status.message
        assert await store.get_baseline(KEY) == learned()
        await store.save(SaveBatch([learned(count=99, at=500.0)]))
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count FROM baseline").fetchone()[0] == 30


async def test_directory_in_the_way_falls_back_to_memory(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    path.mkdir()
    store = await open_store(path)
    try:
        assert not store.status.persistent
        assert store.status.level == "error"
        assert str(path) in store.status.message
        await store.save(SaveBatch([learned()]))
        assert await store.get_baseline(KEY) == learned()
    finally:
        await store.close()


async def test_uncreatable_directory_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be")
    store = await open_store(blocker / "baselines.sqlite3")
    try:
        assert not store.status.persistent
        assert "cannot create" in store.status.message
    finally:
        await store.close()


async def test_file_locked_at_start_falls_back_to_memory(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE t (x)")
        store = await open_store(path, busy_timeout=0.05, open_wait=0.3)
        try:
            assert not store.status.persistent
            assert "locked" in store.status.message
        finally:
            await store.close()
    finally:
        holder.close()


async def test_memory_store_works_without_a_path() -> None:
    store = await open_store(None)
    try:
        assert not store.status.persistent
        await store.save(SaveBatch([learned()]))
        assert await store.get_baseline(KEY) == learned()
    finally:
        await store.close()


async def test_version_one_alerts_gain_opened_value(tmp_path: Path) -> None:
    """Rows from schema version 1 keep their figures and have no opening value."""
    path = tmp_path / "baselines.sqlite3"
    [(version, script)] = [m for m in MIGRATIONS if m[0] == 1]
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute(
            "INSERT INTO alert (key, kind, severity, opened_at, updated_at,"
            " baseline, value, peak, size) VALUES (?, 'level', 3, 100, 100,"
            " 10, 50, 60, 5)",
            (KEY,),
        )
    store = await open_store(path)
    try:
        [old] = await store.alerts()
        assert old.opened_value is None
        assert (old.baseline, old.value, old.peak) == (10.0, 50.0, 60.0)

        # A later update of the open row fills in the missing opening value.
        update = StoredAlert(**{**_fields(old), "value": 40.0, "opened_value": 55.0})
        await store.save(SaveBatch(alerts=[AlertWrite(update)]))
        [updated] = await store.alerts()
        assert updated.opened_value == 55.0
        assert updated.value == 40.0
    finally:
        await store.close()


async def test_clear_stores_value_and_detail(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        opened = StoredAlert(
            **{**_fields(alert()), "detail": "50 ms against 10 ms", "opened_value": 50}
        )
        await store.save(SaveBatch(alerts=[AlertWrite(opened)]))
        cleared = StoredAlert(
            **{
                **_fields(opened),
                "value": 9.5,
                "detail": "9.5 ms against 10 ms",
                "cleared_at": 130.0,
            }
        )
        await store.save(SaveBatch(alerts=[AlertWrite(cleared)]))
        [row] = await store.alerts()
        assert row.cleared_at == 130.0
        assert row.value == 9.5
        assert row.detail == "9.5 ms against 10 ms"
        assert row.opened_value == 50.0
        assert row.baseline == 10.0
    finally:
        await store.close()


async def test_rows_per_call_round_trip(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        batch = Baseline(
            KEY, "INSERT", 30, 800.0, 4.0, (), 810.0, 100.0, rows_per_call=2000.0
        )
        await store.save(SaveBatch([batch]))
        assert await store.get_baseline(KEY) == batch

        # The latest value comes from a sample at these rows, so accept keeps them.
        assert await store.accept(KEY, at=200.0)
        accepted = await store.get_baseline(KEY)
        assert accepted is not None
        assert accepted.rows_per_call == 2000.0

        # A reset clears the rows per call with the rest of the baseline.
        assert await store.reset(KEY, at=300.0) == 1
        reset = await store.get_baseline(KEY)
        assert reset is not None
        assert reset.count == 0
        assert reset.rows_per_call is None
    finally:
        await store.close()


def write_version_two(path: Path, baseline: tuple[object, ...]) -> None:
    """Write a baseline file of schema version 2, before rows per call.

    ``baseline`` is the row's key, label, count, mean, variance, last value,
    update time and epoch.
    """
    with sqlite3.connect(path) as conn:
        for version, script in MIGRATIONS:
            if version <= 2:
                conn.executescript(script)
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO baseline (key, label, count, mean, variance, warmup,"
            " last_value, updated_at, regressed, epoch)"
            " VALUES (?, ?, ?, ?, ?, '[]', ?, ?, 0, ?)",
            baseline,
        )


async def test_version_two_baselines_upgrade(tmp_path: Path) -> None:
    """Baselines from schema version 2 keep their figures and have no rows per call."""
    path = tmp_path / "baselines.sqlite3"
    write_version_two(path, (KEY, "SELECT 1", 30, 10, 1, 11, 100, 2))
    store = await open_store(path)
    try:
        assert store.status.level == "ok"
        [old] = await store.load_baselines()
        assert old == Baseline(
            KEY, "SELECT 1", 30, 10.0, 1.0, (), 11.0, 100.0, False, 2
        )
        assert old.rows_per_call is None

        learned_rows = dataclasses.replace(
            old, count=31, updated_at=110.0, rows_per_call=1.0
        )
        await store.save(SaveBatch([learned_rows]))
        assert await store.get_baseline(KEY) == learned_rows
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_stored_peak_follows_worse_direction(tmp_path: Path) -> None:
    """An update keeps the stored peak if it is worse: the highest value, or
    the lowest for a key where lower is worse."""
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        for key, lower_is_worse, peaks, expected in (
            ("statement:a:mean_ms", False, (50.0, 80.0, 60.0), 80.0),
            ("database:cache_hit_ratio", True, (0.96, 0.45, 0.90), 0.45),
        ):
            for at, peak in enumerate(peaks, start=100):
                row = dataclasses.replace(alert(key, at=float(at)), peak=peak)
                write = AlertWrite(row, lower_is_worse=lower_is_worse)
                await store.save(SaveBatch(alerts=[write]))
            rows = [r for r in await store.open_alerts() if r.key == key]
            assert len(rows) == 1
            assert rows[0].peak == expected, key
    finally:
        await store.close()
