"""What the database holds: the figures on the home screen."""

from __future__ import annotations

import dataclasses
import datetime as dt

from evedmv_tui.store.db import Database, load_sql


@dataclasses.dataclass(frozen=True, slots=True)
class Overview:
    """Row counts and the time span of the stored killmails."""

    stored_killmails: int
    pending_killmails: int
    """Killmails known by id and hash whose body has not been fetched yet."""
    first_killmail_time: dt.datetime | None
    last_killmail_time: dt.datetime | None
    latest_killmail_id: int | None
    solar_systems: int
    types: int
    prices: int
    names: int
    rejects: int
    """Records an import could not parse or validate, less the resolved ones
    (the view ``reject_states`` defines them)."""
    last_import_at: dt.datetime | None
    last_feed_at: dt.datetime | None = None
    """When ``evedmv follow`` last moved a feed's position."""
    invalid_killmails: int = 0
    """Killmails known by id and hash only, whose hash ESI rejected as
    invalid. Their body is fetched only after a reference with another hash."""

    @property
    def has_static_data(self) -> bool:
        """Whether the SDE (systems and types) has been imported."""
        return self.solar_systems > 0 and self.types > 0


def load_overview(db: Database) -> Overview:
    """Count what is loaded."""
    row = db.fetch_one(load_sql("evedmv_tui.queries", "overview"), row=Overview)
    assert row is not None, "an aggregate query returns one row"
    return row
