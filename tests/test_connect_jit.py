"""The app's sessions run with JIT off, whatever the server's default is.

On a server with ``jit = on``, compiling the plan of one intel totals call
took seconds while running it took a fraction of one.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from evedmv_tui.config import Settings
from evedmv_tui.store.connect import open_database, without_jit


@pytest.fixture
def jit_on(db_url: str) -> str:
    """Turn JIT on for every new session of the test's database."""
    database = str(psycopg.conninfo.conninfo_to_dict(db_url)["dbname"])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET jit = on").format(sql.Identifier(database))
        )
    return db_url


def test_server_default_is_on(jit_on: str) -> None:
    with psycopg.connect(jit_on) as conn:
        assert conn.execute("SHOW jit").fetchone() == ("on",)


def test_app_session_has_jit_off(jit_on: str, settings: Settings) -> None:
    with open_database(settings) as db:
        assert db.fetch_value("SHOW jit") == "off"


def test_raw_connection_has_jit_off(jit_on: str, settings: Settings) -> None:
    """Locks and COPY run on connections opened from ``db.conninfo``."""
    with open_database(settings) as db, psycopg.connect(db.conninfo) as conn:
        assert conn.execute("SHOW jit").fetchone() == ("off",)


def test_dsn_options_are_kept(jit_on: str) -> None:
    dsn = psycopg.conninfo.make_conninfo(jit_on, options="-c work_mem=8MB")
    with psycopg.connect(without_jit(dsn)) as conn:
        assert conn.execute("SHOW work_mem").fetchone() == ("8MB",)
        assert conn.execute("SHOW jit").fetchone() == ("off",)


def test_dsn_jit_setting_wins(jit_on: str) -> None:
    dsn = psycopg.conninfo.make_conninfo(jit_on, options="-c jit=on")
    assert without_jit(dsn) == dsn
