"""Subcommands of ``evedmv``; each module has ``register(subparsers)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WRITING_HANDLERS = frozenset(
    {
        "evedmv_tui.commands.battles.detect_command",
        "evedmv_tui.commands.battles.move_command",
        "evedmv_tui.commands.db.start",
        "evedmv_tui.commands.db.migrate_command",
        "evedmv_tui.commands.demo.demo_command",
        "evedmv_tui.commands.follow.follow_command",
        "evedmv_tui.commands.ingest.run_import",
        "evedmv_tui.commands.ingest.run_repair",
        "evedmv_tui.commands.intel.watch_add",
        "evedmv_tui.commands.intel.watch_edit",
        "evedmv_tui.commands.intel.watch_bulk",
        "evedmv_tui.commands.intel.watch_backfill",
        "evedmv_tui.commands.prices.import_command",
        "evedmv_tui.commands.sde.import_command",
    }
)
"""Command handlers that write to the database, as ``module.function``.

Only these apply pending migrations to a server given with ``--dsn``. The
other commands read, so they leave a database without the evedmv schema
as it is and report the missing or outdated schema instead.
"""


def writes_database(handler: Callable[..., Any]) -> bool:
    """Tell whether the command that ``handler`` runs writes to the database."""
    return f"{handler.__module__}.{handler.__qualname__}" in WRITING_HANDLERS
