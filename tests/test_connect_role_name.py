"""The start-up warnings name the connected role in the GRANT they print."""

from __future__ import annotations

import psycopg

from evedmv_tui.store.connect import check_capabilities
from evedmv_tui.store.db import Database
from tests.conftest import login_role


def test_grant_names_current_role(db_url: str) -> None:
    with login_role(db_url, "nostats") as url:
        role = psycopg.conninfo.conninfo_to_dict(url)["user"]
        with Database(url, min_size=1, max_size=1) as db:
            warnings = check_capabilities(db).warnings

    grants = [w for w in warnings if "pg_read_all_stats" in w]
    assert grants == [
        f"role {role} cannot read other roles' statistics:"
        f" GRANT pg_read_all_stats TO {role}"
    ]
    assert "<role>" not in "\n".join(warnings)


def test_no_grant_for_member(db_url: str) -> None:
    grant = "GRANT pg_read_all_stats TO {}"
    with (
        login_role(db_url, "stats", grant) as url,
        Database(url, min_size=1, max_size=1) as db,
    ):
        warnings = check_capabilities(db).warnings

    assert not [w for w in warnings if "pg_read_all_stats" in w]
