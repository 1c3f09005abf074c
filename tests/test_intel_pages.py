"""Entity pages against the real PostgreSQL."""

from __future__ import annotations

from evedmv_tui.intel.entities import EntityKind, EntityRef, Period
from evedmv_tui.intel.pages import load_page
from evedmv_tui.store.db import Database


def test_page_of_unknown_corporation_is_empty(db: Database) -> None:
    page = load_page(db, EntityRef(EntityKind.CORPORATION, 98000001, None), Period.ALL)
    assert page.summary.kills == 0
    assert page.summary.losses == 0
    assert page.summary.isk_efficiency is None
    assert page.heatmap.cells == ()
    assert all(entries == () for entries in page.tops.values())
    assert page.recent == ()
    assert page.battles == ()
