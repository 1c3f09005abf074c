"""What runs after each committed import batch.

The importer, the pending-body fetcher and the live feed call every hook
in :func:`default_hooks` after a batch commits, so battle detection and
watch-profile matching see new kills whichever way they arrived.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import logging
from collections.abc import Callable, Sequence

import psycopg

from evedmv_tui.store.connect import pooled_permission_denied
from evedmv_tui.store.db import Database

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class BatchResult:
    """The killmails one committed batch inserted or changed."""

    inserted_ids: tuple[int, ...]
    updated_ids: tuple[int, ...]
    min_time: dt.datetime | None
    max_time: dt.datetime | None
    solar_system_ids: tuple[int, ...]
    victim_ship_type_ids: tuple[int, ...] = ()
    """Ship types of the inserted killmails' victims."""

    @property
    def killmail_ids(self) -> tuple[int, ...]:
        return self.inserted_ids + self.updated_ids


BatchHook = Callable[[Database, BatchResult], None]


@dataclasses.dataclass(frozen=True, slots=True)
class HookFailure:
    """The error of a hook that failed after a batch was stored."""

    error: Exception
    repair_advice: str | None = None
    """Advice naming the role that can run 'evedmv repair', as the logged
    error gives it, when the connected role lacks a privilege for the hook.
    None when this role can run it."""


# "module:function" of each hook, with what it keeps up to date. Hooks are
# resolved lazily so the importer does not import the packages that react.
_HOOK_LABELS = {
    "evedmv_tui.intel.watch:on_batch": "watch matches",
    "evedmv_tui.intel.totals:on_batch": "entity totals",
    "evedmv_tui.battles.detect:on_batch": "battles",
}
DEFAULT_HOOKS: tuple[str, ...] = tuple(_HOOK_LABELS)


def hook_label(hook: BatchHook) -> str:
    """Return what ``hook`` keeps up to date, or its dotted name."""
    spec = f"{hook.__module__}:{getattr(hook, '__qualname__', hook)}"
    return _HOOK_LABELS.get(spec, spec)


def default_hooks() -> list[BatchHook]:
    """Return the hooks that every import path runs after each batch."""
    hooks: list[BatchHook] = []
    for spec in DEFAULT_HOOKS:
        module_name, _, attribute = spec.partition(":")
        hooks.append(getattr(importlib.import_module(module_name), attribute))
    return hooks


def run_hooks(
    db: Database, hooks: Sequence[BatchHook], result: BatchResult
) -> list[HookFailure]:
    """Call each hook; a failing hook is logged and does not undo the batch.

    Returns the failures of the hooks that failed.
    """
    failures: list[HookFailure] = []
    for hook in hooks:
        try:
            hook(db, result)
        except Exception as exc:
            # The batch is stored; what the hook derives from it is not.
            name = f"{hook.__module__}.{getattr(hook, '__qualname__', hook)}"
            log.debug("batch hook %s failed", name, exc_info=True)
            if isinstance(exc, psycopg.errors.InsufficientPrivilege):
                advice = _log_denied(db, hook, result, exc)
                failures.append(HookFailure(exc, advice))
                continue
            failures.append(HookFailure(exc))
            log.error(
                "%s not updated for a batch of %d killmails, because %s failed:"
                " %s; run 'evedmv repair' to update them",
                hook_label(hook),
                len(result.killmail_ids),
                name,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
    return failures


def _log_denied(
    db: Database,
    hook: BatchHook,
    result: BatchResult,
    error: psycopg.errors.InsufficientPrivilege,
) -> str:
    """Log a hook that the connected role lacks a privilege for.

    'evedmv repair' would fail the same way as this role, so the message
    names the missing privilege and who can run the repair instead. Returns
    that advice.
    """
    denied = pooled_permission_denied(db, error)
    if denied.owner is None:
        advice = "run 'evedmv repair' as the role that owns the evedmv tables"
    else:
        advice = (
            f"run 'evedmv repair' as role {denied.owner}, which owns {denied.relation}"
        )
        if denied.grants:
            advice += (
                f", or as {denied.owner} run: {denied.grants}; then"
                f" 'evedmv repair' works as role {denied.role} too"
            )
    log.error(
        "%s not updated for a batch of %d killmails, which are stored:"
        " permission denied: %s; %s",
        hook_label(hook),
        len(result.killmail_ids),
        denied.message,
        advice,
    )
    return advice
