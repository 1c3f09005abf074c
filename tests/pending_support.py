"""Pending-body test helpers: real RedisQ packages, zKillboard API lists
made from them, and the fake ESI serving their bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evedmv_tui.ingest.importer import import_records
from evedmv_tui.store.db import Database
from tests.conftest import shared_file
from tests.fakes.server import FakeServer, read_jsonl


def real_packages() -> list[dict[str, Any]]:
    """Return the real RedisQ packages ``{killID, killmail, zkb}``, by id."""
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    return sorted(read_jsonl(path), key=lambda p: p["killID"])


def list_entry(package: dict[str, Any]) -> dict[str, Any]:
    """Return the zKillboard API list entry of a package: id and zkb, no body."""
    return {"killmail_id": package["killID"], "zkb": package["zkb"]}


def write_listing(folder: Path, packages: list[dict[str, Any]]) -> Path:
    """Write a zKillboard API list of ``packages`` and return its path."""
    listing = folder / "zkb_api_list.json"
    listing.write_text(json.dumps([list_entry(p) for p in packages]), encoding="utf-8")
    return listing


def make_pending(db: Database, packages: list[dict[str, Any]]) -> None:
    """Import the list entries of ``packages``, leaving their bodies pending."""
    entries = [json.dumps(list_entry(p)).encode() for p in packages]
    summary = import_records(db, entries, source="zkb-api")
    assert summary.pending == len(packages)


def serve(fake: FakeServer, packages: list[dict[str, Any]]) -> None:
    """Make the fake ESI return the body of each of ``packages``."""
    for package in packages:
        fake.add_killmail(package["killmail"], package["zkb"]["hash"])
