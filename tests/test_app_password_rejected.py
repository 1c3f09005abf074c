"""A dashboard whose password the server rejects after start-up, against a
real PostgreSQL cluster that requires the role's password."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from textual.widgets import Static

from evedmv_tui import app as app_module
from evedmv_tui.app import PASSWORD_HINT, EvedmvApp, brief_reason
from evedmv_tui.config import Settings
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import ensure_database
from tests.conftest import login_role
from tests.test_app_connection import settle

REJECTED = (
    'connection failed: connection to server on socket "/x/.s.PGSQL.5432"'
    ' failed: FATAL:  password authentication failed for user "ops"'
)


def test_brief_reason_of_rejected_password() -> None:
    """The summary cut the reason to "password authentication fail…"."""
    assert brief_reason(REJECTED) == "password rejected"
    assert brief_reason("fe_sendauth: no password supplied") == "password rejected"


@pytest.fixture
def password_role(own_cluster: PrivateCluster) -> Iterator[tuple[str, str]]:
    """Yield the superuser URL and the URL of a role that must give a password."""
    own_cluster.start()
    ensure_database(own_cluster)
    admin = own_cluster.url()
    with (
        login_role(admin, "pw") as url,
        psycopg.connect(admin, autocommit=True) as conn,
    ):
        role = str(psycopg.conninfo.conninfo_to_dict(url)["user"])
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD 'right'").format(sql.Identifier(role))
        )
        hba = conn.execute("SHOW hba_file").fetchone()
        assert hba is not None
        with open(hba[0], encoding="utf-8") as file:
            rules = file.read()
        with open(hba[0], "w", encoding="utf-8") as file:
            file.write(f"local all {role} scram-sha-256\n{rules}")
        conn.execute("SELECT pg_reload_conf()")
        yield admin, psycopg.conninfo.make_conninfo(url, password="right")


def set_password(admin: str, dsn: str, password: str) -> None:
    """Set the role's password and end its sessions, as an administrator does."""
    role = str(psycopg.conninfo.conninfo_to_dict(dsn)["user"])
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (role,),
        )


@pytest.mark.parametrize("found_by", ["check", "reconnection"])
async def test_rejected_password_hint_and_recovery(
    settings: Settings,
    password_role: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    found_by: str,
) -> None:
    """A password that the server began to reject read only "The dashboard
    retries by itself", though no retry with it could succeed.

    The connection check finds the rejection itself when it opens a new
    connection. After a loss for another reason, the first reconnection
    attempt finds it.
    """
    admin, dsn = password_role
    monkeypatch.setattr(app_module, "HEARTBEAT_TIMEOUT", 1.0)
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (0.2,))
    app = EvedmvApp(dataclasses.replace(settings, dsn=dsn))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)
        set_password(admin, dsn, "changed")
        if found_by == "check":
            app.check_connection()
        else:
            assert app.db is not None
            app.connection_lost(app.db, "server closed the connection unexpectedly")
        await settle(
            app,
            pilot,
            lambda: any(PASSWORD_HINT in n.message for n in app._notifications),
        )
        # Further attempts fail the same way and add no notification.
        await settle(app, pilot, lambda: app._reconnect_attempt >= 3, rounds=800)
        hints = [n for n in app._notifications if PASSWORD_HINT in n.message]
        bar = str(app.screen.query_one("#status-connection", Static).render())

        set_password(admin, dsn, "right")
        await settle(app, pilot, lambda: app.status.connection.phase == "connected")
    assert len(hints) == 1
    expected = {
        "check": "Database connection lost",
        "reconnection": "Database password rejected",
    }
    assert hints[0].title == expected[found_by]
    assert 'password authentication failed for user "' in hints[0].message
    assert "password=right" not in hints[0].message
    assert bar.endswith(": password rejected")
