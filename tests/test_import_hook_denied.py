"""Batch hooks that the server denies a privilege."""

from __future__ import annotations

import logging

import psycopg
import pytest

from evedmv_tui.battles.detect import on_batch
from evedmv_tui.ingest.hooks import BatchResult, run_hooks
from evedmv_tui.store.db import Database
from tests.conftest import login_role
from tests.test_battle_fixtures import brawl, fleet, insert_kills

READ_ALL = "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}"


def test_denied_batch_hook_names_role_to_repair(
    db: Database, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """As a role without the battles sequence, 'evedmv repair' would fail
    too, so the message must not send that role to it."""
    insert_kills(
        db, brawl(fleet(4, 98_000_701, None), fleet(4, 98_000_702, None), kills=12)
    )
    rows = db.fetch_all(
        "SELECT killmail_id, killmail_time, solar_system_id FROM killmails"
    )
    result = BatchResult(
        inserted_ids=tuple(row[0] for row in rows),
        updated_ids=(),
        min_time=min(row[1] for row in rows),
        max_time=max(row[1] for row in rows),
        solar_system_ids=tuple({row[2] for row in rows}),
    )
    writes = "GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"

    with (
        login_role(db_url, "importer", READ_ALL, writes) as url,
        Database(url, max_size=2) as importer,
        caplog.at_level(logging.ERROR, logger="evedmv_tui.ingest.hooks"),
    ):
        failures = run_hooks(importer, [on_batch], result)
        role = str(psycopg.conninfo.conninfo_to_dict(url)["user"])

    assert len(failures) == 1
    assert isinstance(failures[0], psycopg.errors.InsufficientPrivilege)
    (record,) = caplog.records
    message = record.getMessage()
    assert message.startswith(
        f"battles not updated for a batch of {len(rows)} killmails, which are"
        f" stored: permission denied: role {role} lacks USAGE"
    )
    assert "on sequence battles_battle_id_seq" in message
    assert "run 'evedmv repair' as role evedmv, which owns sequence" in message
    assert (
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}"
        in message
    )
    assert "to update them" not in message
