"""The hint of the report commands when their server cannot be reached."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from evedmv_tui.commands.performance import _unreachable_hint, measure
from evedmv_tui.config import Settings
from evedmv_tui.errors import DatabaseUnavailable


def test_dsn_hint_leaves_out_db_status(settings: Settings, tmp_path: Path) -> None:
    """With --dsn the hint named 'evedmv db status', which reports the private
    cluster instead of the server the DSN names."""
    dsn = f"host={tmp_path} port=5999 dbname=missing connect_timeout=2"
    with pytest.raises(DatabaseUnavailable) as caught:
        measure(dataclasses.replace(settings, dsn=dsn), 0.0)
    hint = caught.value.hint or ""
    assert "db status" not in hint
    assert "--dsn or EVEDMV_DSN" in hint


def test_private_cluster_hint_names_db_status(settings: Settings) -> None:
    hint = _unreachable_hint(dataclasses.replace(settings, dsn=None))
    assert "'evedmv db status'" in hint
