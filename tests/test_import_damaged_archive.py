"""Importing a real EVE Ref archive that is damaged or cut off part way."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.store.db import Database
from tests.archive_support import complete_members, readable_prefix
from tests.conftest import shared_file

ARCHIVE = "killmails/everef/killmails-2021-12-03.tar.bz2"
DAMAGE_AT = 400_000
CUT_AT = 300_000


def _readable_ids(data: bytes) -> set[int]:
    """Return the killmail ids of the members that decompress in full."""
    members = complete_members(readable_prefix(data))
    return {json.loads(body)["killmail_id"] for _, body in members}


def _damaged(data: bytes) -> bytes:
    return data[:DAMAGE_AT] + bytes(64) + data[DAMAGE_AT + 64 :]


@pytest.mark.parametrize(
    ("change", "first_byte", "last_byte"),
    [
        (_damaged, DAMAGE_AT, DAMAGE_AT + 1024),
        (lambda data: data[:CUT_AT], CUT_AT, CUT_AT),
    ],
    ids=["damaged", "cut-off"],
)
def test_archive_keeps_readable_killmails(
    db: Database,
    tmp_path: Path,
    change: Callable[[bytes], bytes],
    first_byte: int,
    last_byte: int,
) -> None:
    """A damaged archive lost the killmails of the good bzip2 blocks in the
    same 256 KiB input piece as the damage (156 of 1,898 were not stored),
    and its reject named the end of that piece, not where reading failed.
    A cut-off archive keeps every complete member, as it did before."""
    path = tmp_path / "day.tar.bz2"
    path.write_bytes(change(shared_file(ARCHIVE).read_bytes()))
    expected = _readable_ids(path.read_bytes())

    summary = import_paths(db, [path], offline=True, workers=0)
    with db.connection() as conn:
        stored = {row[0] for row in conn.execute("SELECT killmail_id FROM killmails")}
        positions = [row[0] for row in conn.execute("SELECT position FROM rejects")]

    (counts,) = summary.files
    assert len(expected) > 1000
    assert stored == expected
    assert counts.damaged
    assert counts.rejected == 1
    (position,) = positions
    assert position.startswith("byte ")
    assert first_byte <= int(position.removeprefix("byte ")) <= last_byte
