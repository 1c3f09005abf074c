"""The printed fix for a missing preload can be pasted as it is.

ALTER SYSTEM stores a single literal such as 'a,b' (or a placeholder) as
one library name, and the server then fails to start, so the fix lists the
real libraries, one literal each, or gives steps without SQL placeholders.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from evedmv_tui.monitor.capabilities import MonitorCapabilities, read_capabilities
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from tests.conftest import login_role


def server_capabilities(url: str) -> MonitorCapabilities:
    with Database(url, min_size=1, max_size=1) as db, db.connection() as conn:
        return read_capabilities(db, conn)


def preload_fix(capabilities: MonitorCapabilities) -> str:
    problem = capabilities.statements_problem()
    assert problem is not None
    return problem.fix


@pytest.fixture
def without_preload(own_cluster: PrivateCluster) -> Iterator[PrivateCluster]:
    """A cluster that preloads auto_explain but not pg_stat_statements."""
    own_cluster.start()
    with psycopg.connect(own_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'auto_explain'")
    own_cluster.stop()
    own_cluster.start()
    try:
        yield own_cluster
    finally:
        own_cluster.stop()


def test_pasted_fix_preloads(without_preload: PrivateCluster) -> None:
    url = without_preload.url("postgres")
    capabilities = server_capabilities(url)
    assert not capabilities.preloaded
    fix = preload_fix(capabilities)
    statement = fix.split(";")[0]
    assert statement == (
        "ALTER SYSTEM SET shared_preload_libraries = 'auto_explain',"
        " 'pg_stat_statements'"
    )

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement.encode())
    without_preload.stop()
    without_preload.start()

    after = server_capabilities(url)
    assert after.preloaded
    assert after.preload_libraries == "auto_explain, pg_stat_statements"


def test_fix_without_settings_privilege(without_preload: PrivateCluster) -> None:
    """A role that may not read the list gets steps, with no SQL placeholder."""
    with login_role(without_preload.url("postgres"), "nosettings") as url:
        capabilities = server_capabilities(url)
    fix = preload_fix(capabilities)

    assert capabilities.preload_libraries is None
    assert fix.startswith("as a superuser, run SHOW shared_preload_libraries;")
    assert "<" not in fix
    assert "ALTER SYSTEM SET shared_preload_libraries =" not in fix
