"""The ``imports`` row of a file import while it runs."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from evedmv_tui.generate import generate_killmails
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.store.db import Database

BATCH = 50


@pytest.fixture
def killmail_file(tmp_path: Path) -> Path:
    path = tmp_path / "killmails.jsonl"
    path.write_bytes(b"\n".join(generate_killmails(6 * BATCH, seed=3)) + b"\n")
    return path


def _counts(db_url: str) -> tuple[int, int, bool]:
    """Return read, inserted and whether finished_at is set, of the last import."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT read, inserted, finished_at IS NOT NULL FROM imports"
            " ORDER BY import_id DESC LIMIT 1"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), bool(row[2])


def test_running_import_shows_live_counts(
    db: Database, db_url: str, killmail_file: Path
) -> None:
    """The row counted nothing until the end, so a running import showed 0."""
    seen: list[tuple[int, int, bool]] = []

    def look(_db: Database, _result: BatchResult) -> None:
        seen.append(_counts(db_url))

    summary = import_paths(
        db, [killmail_file], offline=True, after_batch=[look], batch_size=BATCH
    )

    assert len(seen) == 6
    assert [read for read, _, _ in seen] == [BATCH * n for n in range(1, 7)]
    assert [inserted for _, inserted, _ in seen] == [BATCH * n for n in range(1, 7)]
    assert not any(finished for _, _, finished in seen)
    assert _counts(db_url) == (summary.read, summary.inserted, True)
