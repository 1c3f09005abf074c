"""Batch hooks that the server denies a privilege."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.battles.detect import on_batch
from evedmv_tui.cli import main
from evedmv_tui.generate import DEFAULT_START, generate_killmails
from evedmv_tui.ingest.hooks import BatchResult, run_hooks
from evedmv_tui.ingest.writer import PartitionManager
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
    assert isinstance(failures[0].error, psycopg.errors.InsufficientPrivilege)
    assert failures[0].repair_advice is not None
    assert failures[0].repair_advice in caplog.records[0].getMessage()
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


def test_denied_hook_summary_names_owner(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a hook was denied a privilege, the import's last line still
    sent the importing role to 'evedmv repair', although the error above it
    named another role to run it."""
    path = tmp_path / "kills.jsonl"
    documents = generate_killmails(20, 3, kills_per_day=2000.0)
    path.write_bytes(b"".join(document + b"\n" for document in documents))
    # The owner creates the month's partitions, which only it may attach.
    PartitionManager(db).ensure([DEFAULT_START])
    grants = (
        READ_ALL,
        "GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}",
        "REVOKE INSERT, UPDATE, DELETE ON intel_entity_days FROM {}",
    )

    with login_role(db_url, "importer", *grants) as url:
        status = main(["--dsn", url, "import", "--offline", str(path)])
        out, err = capsys.readouterr()
        # New killmails, so the hooks run and fail again, now with --json.
        again = tmp_path / "more.jsonl"
        more = generate_killmails(20, 4, kills_per_day=2000.0)
        again.write_bytes(b"".join(document + b"\n" for document in more))
        command = ["--dsn", url, "import", "--offline", "--json", str(again)]
        json_status = main(command)
        role = str(psycopg.conninfo.conninfo_to_dict(url)["user"])

    assert status == 1, err
    assert "Traceback" not in err
    advice = "run 'evedmv repair' as role evedmv, which owns table intel_entity_days"
    assert advice in err
    last = out.splitlines()[-1]
    assert last.startswith("not updated after their batches: entity totals for 20")
    assert advice in last
    assert f"'evedmv repair' works as role {role} too" in last
    assert "stored; run 'evedmv repair'" not in last
    # The JSON summary carries the same advice, which a script cannot
    # otherwise find apart from the log lines on standard error.
    json_out = capsys.readouterr().out
    assert json_status == 1
    summary = json.loads(json_out)
    assert summary["not_updated"] == {"entity totals": 20}
    assert advice in summary["update_advice"]
