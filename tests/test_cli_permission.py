"""Commands run as a role that may read the evedmv tables but not write them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.conftest import login_role, shared_file
from tests.test_battle_fixtures import RIFTER, brawl, fleet, insert_kills

READ_ONLY = "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}"
WRITE_ROWS = (
    "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA"
    " public TO {}",
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}",
)
"""Grants that let a role change rows of every table, but no definition."""


@pytest.fixture
def reader(db_url: str) -> Iterator[str]:
    """URL of the test database as a role with SELECT on every table only."""
    with login_role(db_url, "reader", READ_ONLY) as url:
        yield url


@pytest.fixture
def stored_battle(db: Database) -> None:
    """Store killmails of one battle, so detection has something to write."""
    insert_kills(
        db, brawl(fleet(4, 98_000_601, None), fleet(4, 98_000_602, None), kills=12)
    )


def prices_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps([{"type_id": RIFTER, "average_price": 2e6}]))
    return path


COMMANDS: dict[str, tuple[list[str], str]] = {
    "detect": (["battles", "detect"], "battle"),
    "rebuild": (["battles", "detect", "--rebuild"], "battle"),
    "parameters": (
        ["battles", "detect", "--set", "quiet_minutes=31"],
        "battle_parameters",
    ),
    "repair": (["repair", "--json"], ""),
    "watch": (["watch", "add", "t1", "--min-value", "1b"], "watch_profiles"),
}
"""Writing commands with their arguments, and the start of the table name
that the server's error is expected to name ("" for any table)."""


def run(url: str, tmp_path: Path, *command: str) -> int:
    return main(["--dsn", url, "--data-dir", str(tmp_path), *command])


def role_of(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["user"])


def assert_denied(
    captured: pytest.CaptureFixture[str], role: str, table: str, *, json_out: bool
) -> tuple[str, str]:
    """Check the message and hint of a permission error, as text and as JSON
    when the command printed JSON, and return them."""
    out, err = captured.readouterr()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2, err
    prefix = "evedmv: permission denied: "
    assert lines[0].startswith(prefix)
    message = lines[0].removeprefix(prefix)
    assert lines[1].startswith("hint: ")
    hint = lines[1].removeprefix("hint: ")

    found = re.fullmatch(
        rf"role {role} lacks (.+) on (table|sequence) ({table}\w*)", message
    )
    assert found is not None, message
    write = "USAGE" if found[2] == "sequence" else "INSERT"
    assert write in found[1].split(", ")
    assert hint.startswith(f"run the command as role evedmv, which owns {found[2]}")
    assert f"ON ALL TABLES IN SCHEMA public TO {role};" in hint
    if json_out:
        document = json.loads(out)
        assert document == {
            "error": "permission denied",
            "message": message,
            "hint": hint,
            "exit_status": 2,
        }
    return message, hint


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_read_only_role_write_command(
    name: str,
    reader: str,
    stored_battle: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A writing command as a role with SELECT only ended in a traceback of
    InsufficientPrivilege instead of naming the role, privilege and table."""
    command, table = COMMANDS[name]

    status = run(reader, tmp_path, *command)

    assert status == 2
    assert_denied(capsys, role_of(reader), table, json_out="--json" in command)


@pytest.mark.parametrize("kind", ["kills", "sde", "prices"])
def test_read_only_role_import_command(
    kind: str, reader: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = {
        "kills": ["import", "--offline", str(shared_file(KILLS))],
        "sde": ["sde", "import", str(shared_file("sde-jsonl.zip"))],
        "prices": ["prices", "import", str(prices_file(tmp_path))],
    }

    status = run(reader, tmp_path, *sources[kind], "--json")

    assert status == 2
    _, hint = assert_denied(capsys, role_of(reader), "", json_out=True)
    partitions = "Importing killmails of a month not stored yet needs the owner"
    assert (partitions in hint) == (kind == "kills"), hint


KILLS = "killmails/real/zk_activity_fixtures.jsonl"


def test_grants_in_hint_let_command_write(
    db_url: str,
    reader: str,
    stored_battle: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The GRANT statements of the hint, run as the owner, are enough for the
    commands that change rows."""
    assert run(reader, tmp_path, "battles", "detect") == 2
    _, hint = assert_denied(capsys, role_of(reader), "battle", json_out=False)
    assert "Importing killmails" not in hint
    assert (
        'Warnings that no privileges were granted for "pg_stat_statements" and'
        ' "pg_stat_statements_info" are harmless'
    ) in hint
    statements = re.search(r"run: (GRANT .+?)\. ", hint)
    assert statements is not None, hint
    warnings: list[str] = []
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.add_notice_handler(lambda notice: warnings.append(str(notice)))
        for statement in statements[1].split("; "):
            conn.execute(statement.encode())
    assert warnings == []

    for command, _ in COMMANDS.values():
        status = run(reader, tmp_path, *command)
        assert status == 0, (command, capsys.readouterr().err)
    prices = ["prices", "import", str(prices_file(tmp_path))]
    assert main(["--dsn", reader, *prices]) == 0, capsys.readouterr().err


def test_import_without_create_names_partition(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An import of a new month as a role with every table grant but no
    CREATE on the schema quoted the server's 'permission denied for schema
    public' with a hint about table grants, which the role already had."""
    with login_role(db_url, "importer", *WRITE_ROWS) as importer:
        status = run(
            importer, tmp_path, "import", "--offline", "--json", str(shared_file(KILLS))
        )
        role = role_of(importer)

    assert status == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    document = json.loads(out)
    assert document["error"] == "permission denied"
    assert document["message"] == (
        f"role {role} lacks CREATE on schema public, which the import needs to"
        " create a monthly partition of killmails for the month of a killmail"
        " not stored yet"
    )
    assert document["hint"] == (
        "run that import as role evedmv, which owns table killmails. Granting"
        " CREATE on schema public is not enough, because only the owner of"
        " killmails may attach a partition to it"
    )


def test_not_owner_names_owner(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A role with every grant still may not create partitions, which an
    import of a new month does: the error names the owner to run as."""
    grants = [*WRITE_ROWS, "GRANT CREATE ON SCHEMA public TO {}"]
    with login_role(db_url, "writer", *grants) as writer:
        status = run(
            writer, tmp_path, "import", "--offline", "--json", str(shared_file(KILLS))
        )
        role = role_of(writer)

    assert status == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    document = json.loads(out)
    assert document["error"] == "permission denied"
    assert re.fullmatch(
        rf"role {role} does not own table \w+, and only its owner may change"
        " its definition",
        str(document["message"]),
    ), document["message"]
    assert str(document["hint"]).startswith("run the command as role evedmv")
