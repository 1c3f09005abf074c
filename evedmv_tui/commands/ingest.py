"""``evedmv import PATH... | --pending``, ``rejects list | dismiss``, ``repair``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from evedmv_tui.commands.arguments import BIGINT_MAX, whole
from evedmv_tui.commands.helptext import examples
from evedmv_tui.commands.output import printable
from evedmv_tui.config import (
    TRUE_WORDS,
    Settings,
    default_config_file,
    load_settings,
)
from evedmv_tui.errors import ConfigError, EvedmvError
from evedmv_tui.ingest.hooks import BatchHook, default_hooks
from evedmv_tui.ingest.importer import (
    DEFAULT_BATCH_SIZE,
    FetchPending,
    FileSummary,
    ImportProgress,
    ImportSummary,
    import_paths,
    interrupted_imports,
    mark_repaired,
)
from evedmv_tui.ingest.pending import (
    FETCH_PENDING_COMMAND,
    LIST_INVALID_COMMAND,
    OfflineSetting,
    count_pending,
    describe_pending_hint,
    join_words,
)
from evedmv_tui.ingest.rejects import (
    Dismissal,
    RejectRow,
    count_invalid,
    count_rejects,
    dismiss_import_rejects,
    dismiss_rejects,
    import_exists,
    list_invalid,
    list_rejects,
)
from evedmv_tui.store.connect import open_database
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.text import count_noun

log = logging.getLogger(__name__)

LOG_INTERVAL = 10.0
"""Seconds between progress lines when stderr is not a terminal."""

ESTIMATE_AFTER_SECONDS = 3.0
"""Seconds of import before the progress line shows the time left."""
ESTIMATE_AFTER_SHARE = 0.05
"""Share of the input read before the progress line shows the time left."""
ESTIMATE_SMOOTHING_SECONDS = 5.0
"""Time constant of the exponential smoothing of the estimated import time."""

MAX_IMPORT_IDS = 4
"""Import ids a reject line lists in full; of more, the first two and last."""

MAX_FILES_NAMED = 3
"""Files the advice after rejects names; of more, it counts the rest."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import killmails from files, folders and archives",
        description="Import killmails from ESI JSON, JSON arrays, JSON Lines,"
        " zKillboard API lists, RedisQ and R2Z2 documents, and EVE Ref daily"
        " archives (.tar.bz2), or folders of these. The shape of each record"
        " is detected from its content. Exits with status 1 when any record"
        " was rejected (see 'evedmv rejects list'), or when battles, entity"
        " totals or watch matches could not be updated after a batch (see"
        " 'evedmv repair'). Killmails that arrive without a body are fetched"
        " from ESI after the files are read; one that failed waits before it is"
        " tried again, and each later import retries those that are due. Both"
        f" the import and '{FETCH_PENDING_COMMAND}', which fetches the pending"
        " bodies only, reading no file, exit with status 1 when ESI stopped"
        " answering before the last one.",
        **examples(
            "evedmv import killmails-2025-01-01.tar.bz2",
            "evedmv import --offline ~/Downloads/zkb/",
            FETCH_PENDING_COMMAND,
        ),
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="file or folder (not with --pending)"
    )
    parser.add_argument(
        "--pending",
        action="store_true",
        help="read no file; fetch from ESI the bodies of the killmails that"
        " earlier imports kept as pending",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="keep killmails that arrive without a body as pending instead of"
        " fetching them from ESI (the global --offline does the same)",
    )
    parser.add_argument(
        "--batch-size",
        type=whole(1, 100_000),
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"records per transaction (default {DEFAULT_BATCH_SIZE})",
    )
    parser.set_defaults(handler=run_import)

    rejects = subparsers.add_parser(
        "rejects",
        help="show rejected import records, or dismiss them",
        description="Show the records that 'evedmv import' and 'evedmv prices"
        " import' did not store, with the file, the position in it, the field"
        " and the reason, or the killmail references whose id and hash ESI"
        " rejected.",
        **examples("evedmv rejects list --import 7"),
    )
    actions = rejects.add_subparsers(title="rejects commands", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser(
        "list",
        help="list rejected records, or with --invalid the references ESI"
        " rejected, newest first",
        description="List rejected records, newest first. Each line gives the"
        " reject's id, the ids of the imports that rejected it (the number an"
        " import summary gives after --import), the file and position, the"
        " killmail and field when known, and the reason; the next line shows"
        " the start of the record's text, if it has any. A record rejected"
        " again by a later import is listed under each import that rejected"
        " it. A reject is resolved once the body of its killmail is stored (a"
        " fixed record imported again, the body fetched from ESI, or a valid"
        " copy stored before the record was rejected), and once it is"
        " dismissed with 'evedmv rejects dismiss'. A record whose hash differs"
        " from the stored killmail's stays unresolved until it is dismissed."
        " A reject without a killmail id (a damaged or misnamed file, a"
        " record with no readable id) is also resolved once a later import"
        " read the same file to its end without rejecting it again. Resolved"
        " rejects are left out unless --all is given. With"
        " --invalid, it lists instead the killmail references (an id and a"
        " hash, such as an entry of a zKillboard API list) that ESI rejected"
        " with HTTP 422, each with its hash, source, fetch attempts, ESI's"
        " error message and when it was marked invalid. Without --invalid,"
        " the last line counts these references when there are any.",
        **examples(
            "evedmv rejects list",
            "evedmv rejects list --import 7 --raw",
            "evedmv rejects list --all",
            "evedmv rejects list --invalid",
        ),
    )
    listing.add_argument(
        "--limit", type=whole(1), default=50, metavar="N", help="rows (default 50)"
    )
    listing.add_argument(
        "--import",
        dest="import_id",
        type=whole(1, BIGINT_MAX),
        metavar="ID",
        help="only the records that import ID rejected",
    )
    listing.add_argument(
        "--raw", action="store_true", help="print each record's full raw text"
    )
    listing.add_argument(
        "--all",
        dest="include_resolved",
        action="store_true",
        help="also list the resolved rejects, marked as resolved or dismissed",
    )
    listing.add_argument(
        "--invalid",
        action="store_true",
        help="list the killmail references whose id and hash ESI rejected"
        " (HTTP 422) instead of rejects; not with --import, --raw or --all",
    )
    listing.add_argument("--json", action="store_true", help="print JSON Lines")
    listing.set_defaults(handler=run_list_rejects)
    dismiss = actions.add_parser(
        "dismiss",
        help="mark rejects as dealt with, so they count as resolved",
        description="Mark rejects as dismissed, for a reject that importing"
        " cannot resolve, such as a misnamed file imported again under its"
        " new name. A dismissed reject keeps its row and raw text, counts as"
        " resolved, and 'evedmv rejects list --all' lists it with the time it"
        " was dismissed. A record rejected again by a later import is"
        " unresolved again. Give reject ids (the first number of each line of"
        " 'evedmv rejects list'), or --import for every reject of one import.",
        **examples(
            "evedmv rejects dismiss 12 13",
            "evedmv rejects dismiss --import 7",
        ),
    )
    dismiss.add_argument(
        "reject_ids",
        nargs="*",
        type=whole(1, BIGINT_MAX),
        metavar="ID",
        help="id of a reject to dismiss",
    )
    dismiss.add_argument(
        "--import",
        dest="import_id",
        type=whole(1, BIGINT_MAX),
        metavar="N",
        help="dismiss every reject of import N",
    )
    dismiss.set_defaults(handler=run_dismiss_rejects)

    repair = subparsers.add_parser(
        "repair",
        help="redo what an interrupted import left undone: entity totals, battles",
        description="After an import stopped by a lost connection or a stopped"
        " server, count the stored killmails the entity totals missed and detect"
        " battles over every stored killmail again.",
        **examples("evedmv repair"),
    )
    repair.add_argument("--json", action="store_true", help="print one JSON object")
    repair.set_defaults(handler=run_repair)


class ProgressPrinter:
    """Draw a progress bar on a terminal, or write a line now and then.

    On a terminal the bar is redrawn at most every 0.2 s, and always when a
    file is finished, so the last bar drawn shows every finished file.

    The time left shows only after :data:`ESTIMATE_AFTER_SECONDS` and
    :data:`ESTIMATE_AFTER_SHARE` of the input, because the first records
    and the first compressed blocks of an archive predict the rest badly.
    It comes from the estimated duration of the whole import, smoothed over
    :data:`ESTIMATE_SMOOTHING_SECONDS`, so one fast or slow stretch moves it
    little.
    """

    WIDTH = 24

    def __init__(self, stream: TextIO, *, tty: bool) -> None:
        self.stream = stream
        self.tty = tty
        self._last = 0.0
        self._drawn = False
        self._files_done = -1
        self._lock = threading.RLock()
        # The smoothed estimate of the whole import's seconds, once trusted,
        # and the import seconds elapsed when it was last updated.
        self._duration: float | None = None
        self._estimated_at = 0.0

    def __call__(self, progress: ImportProgress) -> None:
        now = time.monotonic()
        if self.tty:
            finished_file = progress.files_done != self._files_done
            if now - self._last < 0.2 and not finished_file:
                return
            with self._lock:
                self._last = now
                self._files_done = progress.files_done
                # Erase what is left of a longer bar drawn before this one.
                self.stream.write("\r" + self.render(progress) + "\x1b[K")
                self.stream.flush()
                self._drawn = True
        elif now - self._last >= LOG_INTERVAL or (
            # The line of the last finished file, so a log does not end on 99 %.
            progress.files_done >= progress.files_total
            and progress.files_done != self._files_done
        ):
            self._last = now
            self._files_done = progress.files_done
            self.stream.write(f"evedmv: {self.render(progress, bar=False)}\n")
            self.stream.flush()

    def close(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Erase the bar, if drawn; the next report draws it again."""
        with self._lock:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._drawn = False
                self._last = 0.0

    @contextlib.contextmanager
    def apart_from_logs(self) -> Iterator[None]:
        """Erase the bar before each log record written to the same stream.

        Without this, a warning printed during an import would continue the
        line of the bar. Handlers of the ``evedmv_tui`` logger and Python's
        last-resort handler are covered.
        """
        candidates = [*logging.getLogger("evedmv_tui").handlers, logging.lastResort]
        handlers = [
            handler
            for handler in candidates
            if isinstance(handler, logging.StreamHandler)
            and handler.stream is self.stream
        ]
        if not self.tty or not handlers:
            yield
            return
        erase = _EraseBar(self)
        for handler in handlers:
            handler.addFilter(erase)
        try:
            yield
        finally:
            for handler in handlers:
                handler.removeFilter(erase)

    def render(self, progress: ImportProgress, *, bar: bool = True) -> str:
        """Return the bar and figures of ``progress`` as one line."""
        done = progress.files_done >= progress.files_total
        if progress.bytes_total > 0:
            share = min(1.0, progress.bytes_done / progress.bytes_total)
        else:
            # Empty files: only finished files show progress.
            share = progress.files_done / progress.files_total if not done else 1.0
        if not done:
            # The last bytes of a file are read before it is finished, so
            # 100 % waits for the last file.
            share = min(share, 0.99)
        left = 0.0 if done else self._seconds_left(progress.elapsed, share)
        eta = "--:--" if left is None else _clock(left)
        text = (
            f"{share:4.0%} files {progress.files_done}/{progress.files_total}"
            f"  {progress.read:,} records  {progress.rate:,.0f}/s  left {eta}"
        )
        if not bar:
            return text
        filled = round(share * self.WIDTH)
        return f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {text}"

    def _seconds_left(self, elapsed: float, share: float) -> float | None:
        """Return the smoothed seconds left, or None while too early to tell."""
        if elapsed < ESTIMATE_AFTER_SECONDS or share < ESTIMATE_AFTER_SHARE:
            return None
        duration = elapsed / share
        if self._duration is None:
            self._duration = duration
        else:
            step = max(elapsed - self._estimated_at, 0.0)
            weight = 1.0 - math.exp(-step / ESTIMATE_SMOOTHING_SECONDS)
            self._duration += weight * (duration - self._duration)
        self._estimated_at = elapsed
        return max(self._duration - elapsed, 0.0)


class _EraseBar(logging.Filter):
    """Erase the progress bar before a handler writes a record; drop nothing.

    A handler applies its filters before it writes, which is the moment the
    bar must leave the line.
    """

    def __init__(self, printer: ProgressPrinter) -> None:
        super().__init__()
        self.printer = printer

    def filter(self, record: logging.LogRecord) -> bool:
        self.printer.clear()
        return True


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def pending_fetcher(settings: Settings) -> FetchPending | None:
    """Return a function that fetches pending bodies from ESI, if available."""
    try:
        from evedmv_tui.esi import EsiClient
        from evedmv_tui.ingest.pending import fetch_pending
    except ImportError:  # the ESI fetcher is optional
        log.warning("no ESI fetcher available; pending killmails stay pending")
        return None

    def fetch(db: Database, hooks: Sequence[BatchHook]) -> Any:
        with EsiClient.from_settings(settings) as client:
            return fetch_pending(db, client, after_batch=hooks)

    return fetch


def print_summary(summary: ImportSummary, stream: TextIO) -> None:
    """Write a per-file table and the totals."""
    if len(summary.files) > 1:
        for item in summary.files:
            unreadable = [item] if item.unreadable else []
            stream.write(
                f"{printable(item.path)}: {item.read:,} read,"
                f" {item.inserted:,} inserted, {item.updated:,} updated,"
                f" {item.duplicates:,} duplicates,"
                f" {item.pending:,} pending,{_invalid_text(item.invalid)}"
                f" {_rejects_text(item.rejected, unreadable)}\n"
            )
    unreadable = [f for f in summary.files if f.unreadable]
    stream.write(
        f"imported {count_noun(len(summary.files), 'file')}"
        f" in {summary.seconds:.1f} s:"
        f" {summary.read:,} read, {summary.inserted:,} inserted,"
        f" {summary.updated:,} updated, {summary.duplicates:,} duplicates,"
        f" {summary.pending:,} pending,{_invalid_text(summary.invalid)}"
        f" {_rejects_text(summary.rejected, unreadable)}\n"
    )
    if summary.invalid:
        stream.write(f"{describe_known_invalid(summary.invalid)}\n")
    if summary.fetched is not None:
        stream.write(f"fetched pending bodies from ESI: {summary.fetched}\n")
    if summary.rejected:
        _print_reject_advice(summary, stream)
    if summary.not_updated:
        missing = ", ".join(
            f"{derived} for {count_noun(count, 'killmail')}"
            for derived, count in summary.not_updated.items()
        )
        stream.write(
            f"not updated after their batches: {missing} (see the errors"
            " above). The killmails are stored; to update battles and entity"
            f" totals, {summary.update_advice}\n"
        )


def describe_known_invalid(invalid: int) -> str:
    """Return what known-invalid references are and the command that lists them."""
    pronoun = "it" if invalid == 1 else "them"
    return (
        f"{count_noun(invalid, 'killmail')} known invalid: ESI rejected the id"
        " and hash before, so no body is fetched again. A reference with the"
        f" right hash is fetched as new; '{LIST_INVALID_COMMAND}' lists {pronoun}"
    )


def _invalid_text(invalid: int) -> str:
    """Return the count of known-invalid references, or nothing when none."""
    return f" {invalid:,} known invalid," if invalid else ""


def _rejects_text(rejected: int, unreadable: Sequence[FileSummary]) -> str:
    """Return the rejected records, then the damaged and unreadable files.

    The reject of a file's unreadable rest is not a record read, so it is
    named as a file, and the counts before it add up to ``read``.
    """
    text = f"{rejected - len(unreadable):,} rejected"
    damaged = sum(1 for f in unreadable if f.damaged)
    if damaged:
        text += f", {count_noun(damaged, 'file')} damaged"
    if len(unreadable) > damaged:
        text += f", {count_noun(len(unreadable) - damaged, 'file')} unreadable"
    return text


def _rejects_opening(summary: ImportSummary) -> str:
    """Return "2 records rejected and 1 file damaged", leaving out a zero."""
    unreadable = [f for f in summary.files if f.unreadable]
    damaged = sum(1 for f in unreadable if f.damaged)
    records = summary.rejected - len(unreadable)
    parts = [f"{count_noun(records, 'record')} rejected"] if records else []
    if damaged:
        parts.append(f"{count_noun(damaged, 'file')} damaged")
    if len(unreadable) > damaged:
        parts.append(f"{count_noun(len(unreadable) - damaged, 'file')} unreadable")
    return join_words(parts)


def _stored_words(summary: ImportSummary) -> str:
    """Describe how many valid records were stored with a body and how many wait.

    A pending reference is stored without its body, so it is counted apart
    until the fetch from ESI after the import stores the body or marks the
    pair invalid.
    """
    # NOTE: the fetch also tries pairs left pending by earlier imports, so
    # its counts are capped at this import's pending references.
    fetched = min(getattr(summary.fetched, "stored", 0), summary.pending)
    invalid = min(getattr(summary.fetched, "invalid", 0), summary.pending - fetched)
    with_body = summary.inserted + summary.updated + fetched
    still_pending = summary.pending - fetched - invalid
    if not still_pending:
        if not with_body:
            return "nothing new was stored"
        return f"{count_noun(with_body, 'valid record')} stored"
    if not with_body:
        return (
            f"{count_noun(still_pending, 'valid record')} kept pending without a body"
        )
    return (
        f"{count_noun(with_body, 'valid record')} stored with a body and"
        f" {still_pending:,} kept pending without one"
    )


def _print_reject_advice(summary: ImportSummary, stream: TextIO) -> None:
    """Write what was rejected and what to do, by the kind of rejects.

    A damaged file (truncated or corrupt) is fetched again, and so is a file
    with a record whose text ends inside a value, because the file was cut
    off. A misnamed file is renamed, and invalid records are fixed. A file
    of which every record was rejected, none of them a killmail document
    and none cut off, is most likely not a killmail file, so it gets the
    advice to leave it out instead.
    """
    stored = _stored_words(summary)
    listing = f"'evedmv rejects list --import {summary.import_id}'"
    damaged = [f for f in summary.files if f.damaged]
    cut_off = [f for f in summary.files if f.cut_off and not f.damaged]
    unreadable = [
        f
        for f in summary.files
        if f.read
        and f.rejected == f.read
        and not f.rejected_killmails
        and not f.damaged
        and not f.cut_off
    ]
    # A fixed copy of a record whose killmail is stored already would be
    # skipped as a duplicate, so such rejects are resolved, not fixable.
    fixable = [
        f
        for f in summary.files
        if f.rejected > int(f.damaged) + f.cut_off + f.stored_rejects
        and f not in unreadable
        and not f.misnamed
    ]
    if fixable:
        advice = (
            f" Fix the rejected records and import {_name_files(fixable)} again"
            f" (what is stored already is skipped); see {listing} for the"
            " invalid fields"
        )
    elif damaged:
        advice = f" See {listing} for the byte where reading stopped"
    else:
        advice = f" See {listing}"
    stream.write(f"{_rejects_opening(summary)}; {stored}.{advice}\n")
    stored_rejects = sum(f.stored_rejects for f in summary.files)
    if stored_rejects:
        listing_all = f"'evedmv rejects list --import {summary.import_id} --all'"
        if stored_rejects == 1:
            stream.write(
                "1 rejected record is of a killmail stored already from a valid"
                f" copy, so its reject is resolved; {listing_all} lists it\n"
            )
        else:
            stream.write(
                f"{stored_rejects:,} rejected records are of killmails stored"
                " already from valid copies, so their rejects are resolved;"
                f" {listing_all} lists them\n"
            )
    if damaged:
        pronoun = "it" if len(damaged) == 1 else "them"
        stream.write(
            f"{_name_files(damaged)}: the rest cannot be read, so the file is"
            f" truncated or corrupt. Fetch {pronoun} again, then import"
            f" {pronoun} (what is stored already is skipped)\n"
        )
    if cut_off:
        single = len(cut_off) == 1
        pronoun = "it" if single else "them"
        files = "the file is" if single else "the files are"
        stream.write(
            f"{_name_files(cut_off)}: a record's text ends inside a value, so"
            f" {files} cut off (an unfinished download or copy). Fetch"
            f" {pronoun} again, then import {pronoun} (what is stored already"
            " is skipped)\n"
        )
    misnamed = [f for f in summary.files if f.misnamed]
    for item in misnamed:
        stream.write(f"{printable(item.misnamed or '')}\n")
    if misnamed:
        _print_dismiss_advice(summary, misnamed, stream)
    for item in unreadable:
        stream.write(
            f"{printable(item.path)}: every record was rejected. If it"
            " is not a killmail file (ESI or zKillboard JSON, JSON"
            " Lines, RedisQ or R2Z2 documents, an EVE Ref archive),"
            " leave it out\n"
        )


def _print_dismiss_advice(
    summary: ImportSummary, misnamed: Sequence[FileSummary], stream: TextIO
) -> None:
    """Write how to dismiss the rejects of files to import under a new name.

    An import resolves a reject without a killmail id only by reading the
    same path again (see the view ``reject_states``), so importing a renamed or
    converted copy leaves it unresolved until it is dismissed.
    """
    single = len(misnamed) == 1
    rejects = "its reject" if single else "their rejects"
    pronoun = "it" if single else "them"
    ids = "its id" if single else "the ids"
    if summary.rejected == len(misnamed):
        command = f"'evedmv rejects dismiss --import {summary.import_id}'"
    else:
        # Other rejects of this import may still need fixing, so name no
        # command that dismisses them all.
        command = (
            f"'evedmv rejects dismiss ID', taking {ids} from"
            f" 'evedmv rejects list --import {summary.import_id}'"
        )
    stream.write(
        f"{_name_files(misnamed)}: a copy imported under a new name (renamed"
        f" or converted) leaves {rejects} unresolved; once the copy is stored,"
        f" dismiss {pronoun} with {command}\n"
    )


def _name_files(files: Sequence[FileSummary]) -> str:
    """Return the paths of the first files, and how many more there are."""
    names = [printable(f.path) for f in files[:MAX_FILES_NAMED]]
    more = len(files) - len(names)
    if more > 0:
        return f"{', '.join(names)} and {more:,} more"
    if len(names) > 1:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    return names[0]


class ImportInterrupted(EvedmvError):
    """Ctrl-C during an import, which ends with the usual status of 130."""

    exit_code = 130


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    in_force = offline_settings(args, settings)
    if args.pending:
        return run_fetch_pending(args, settings, in_force)
    if not args.paths:
        raise ConfigError(
            "missing PATH",
            "'evedmv import' needs a file or folder to read",
            "give one or more paths, or --pending to fetch the bodies of the"
            " pending killmails without reading a file",
        )
    offline = bool(in_force) or settings.offline
    fetcher = None if offline else pending_fetcher(settings)
    printer = ProgressPrinter(sys.stderr, tty=sys.stderr.isatty())
    with printer.apart_from_logs(), open_database(settings) as db:
        try:
            summary = import_paths(
                db,
                args.paths,
                offline=offline,
                fetch_pending=fetcher,
                after_batch=default_hooks(),
                progress=printer,
                batch_size=args.batch_size,
            )
        except KeyboardInterrupt:
            raise ImportInterrupted(
                "interrupted",
                "the batches that finished are stored, but battles and entity"
                " totals may lack the last of them",
                "run 'evedmv repair' to bring them up to date, and import the"
                " files again for the rest (what is stored is skipped)",
            ) from None
        finally:
            printer.close()
        still_pending = count_pending(db)
    # Online, the fetch summary already counts the killmails still pending.
    hint = (
        describe_pending_hint(still_pending, in_force)
        if offline and still_pending
        else None
    )
    if args.json:
        result = summary.as_dict()
        result["still_pending"] = still_pending
        result["offline_because"] = (
            join_words([setting.name for setting in in_force]) or None
        )
        result["pending_hint"] = hint
        print(json.dumps(result, default=json_value))
    else:
        print_summary(summary, sys.stdout)
        if hint is not None:
            print(hint)
    esi_stopped = getattr(summary.fetched, "stopped_early", False)
    return 1 if summary.rejected or summary.not_updated or esi_stopped else 0


def json_value(value: object) -> object:
    """Return a JSON-ready form of a value ``json`` cannot encode.

    Timestamps become ISO 8601 text (``2026-12-06T00:40:38+00:00``).
    """
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


def offline_settings(
    args: argparse.Namespace, settings: Settings
) -> list[OfflineSetting]:
    """Return every setting in force that makes this command offline.

    The environment variable overrides the config file, so the file's
    ``offline = true`` is in force unless EVEDMV_OFFLINE is set.
    """
    found: list[OfflineSetting] = []
    if getattr(args, "offline", False):
        found.append(OfflineSetting("--offline", "leave out --offline"))
    if not settings.offline:
        return found
    if getattr(args, "global_offline", False):
        found.append(
            OfflineSetting("the global --offline", "leave out the global --offline")
        )
    value = os.environ.get("EVEDMV_OFFLINE", "")
    if value:
        if value.strip().lower() in TRUE_WORDS:
            found.append(
                OfflineSetting(f"EVEDMV_OFFLINE={value}", "unset EVEDMV_OFFLINE")
            )
        return found
    config_file = getattr(args, "config", None) or default_config_file()
    if _config_file_offline(Path(config_file)):
        found.append(
            OfflineSetting(
                f"offline = true in {config_file}",
                f"set offline = false in {config_file}",
            )
        )
    return found


def _config_file_offline(path: Path) -> bool:
    """Return True when the config file alone sets ``offline = true``."""
    if not path.exists():
        return False
    try:
        return load_settings(config_file=path, environ={}).offline
    except ConfigError:
        return False


def run_fetch_pending(
    args: argparse.Namespace, settings: Settings, in_force: Sequence[OfflineSetting]
) -> int:
    """Fetch the bodies of the pending killmails from ESI, reading no file."""
    if args.paths:
        raise ConfigError(
            "--pending takes no PATH",
            f"'{FETCH_PENDING_COMMAND}' reads no file, but paths were given",
            "leave out --pending to import the files; an import fetches the"
            " pending bodies after reading them",
        )
    if in_force or settings.offline:
        names = join_words([setting.name for setting in in_force]) or "a setting"
        steps = join_words([setting.undo for setting in in_force])
        raise ConfigError(
            "offline",
            f"fetching pending bodies contacts ESI, and {names}"
            f" {'makes' if len(in_force) < 2 else 'together make'} this command"
            " offline",
            f"{steps}, then run '{FETCH_PENDING_COMMAND}' again"
            if steps
            else f"run '{FETCH_PENDING_COMMAND}' online",
        )
    fetcher = pending_fetcher(settings)
    if fetcher is None:
        raise ConfigError(
            "no ESI fetcher",
            "the ESI client cannot be loaded, so pending bodies cannot be fetched",
            "reinstall evedmv-tui with its dependencies",
        )
    with open_database(settings) as db:
        fetched = fetcher(db, default_hooks())
    if args.json:
        print(json.dumps(dataclasses.asdict(fetched), default=json_value))
    else:
        print(f"fetched pending bodies from ESI: {fetched}")
    return 1 if fetched.stopped_early else 0


def run_list_rejects(args: argparse.Namespace, settings: Settings) -> int:
    if args.invalid:
        return run_list_invalid(args, settings)
    resolved = None if args.include_resolved else False
    with open_database(settings) as db:
        rows = list_rejects(
            db, limit=args.limit, import_id=args.import_id, resolved=resolved
        )
        counts = count_rejects(db, import_id=args.import_id)
        invalid = 0 if args.json else count_invalid(db)
        unknown_import = (
            not rows
            and args.import_id is not None
            and not import_exists(db, args.import_id)
        )
    if unknown_import:
        raise ConfigError(
            "import not found",
            f"no import with the id {args.import_id} is recorded",
            "the summary of each 'evedmv import' ends with its id; leave out"
            " --import to list the rejects of every import",
        )
    if args.json:
        for row in rows:
            print(
                json.dumps(
                    {
                        "reject_id": row.reject_id,
                        "import_id": row.import_id,
                        "import_ids": list(row.import_ids),
                        "rejected_at": row.rejected_at.isoformat(),
                        "source_file": row.source_file,
                        "position": row.position,
                        "killmail_id": row.killmail_id,
                        "field": row.field,
                        "reason": row.reason,
                        "raw": row.raw,
                        "resolved": row.resolved,
                        "dismissed_at": (
                            row.dismissed_at.isoformat()
                            if row.dismissed_at is not None
                            else None
                        ),
                    }
                )
            )
        return 0
    hidden = 0 if args.include_resolved else counts.resolved
    if not rows:
        print("no rejected records" if not hidden else "no unresolved rejects")
    for row in rows:
        print(printable(describe_reject(row)))
        raw = row.raw if args.raw else _shorten(row.raw, 100)
        # A reject of an unreadable rest of a file (a truncated archive) has
        # no text to show.
        if raw.strip():
            print(f"    {printable(raw)}")
    shown_of = counts.total if args.include_resolved else counts.unresolved
    if shown_of > len(rows):
        print(f"({len(rows)} of {shown_of:,} shown; use --limit)")
    if hidden:
        print(
            f"({count_noun(hidden, 'resolved reject')} not shown: the killmail"
            " is stored, the file was read to its end after the record was"
            " rejected, or the reject was dismissed; use --all)"
        )
    if invalid:
        print(f"({describe_known_invalid(invalid)})")
    return 0


def run_list_invalid(args: argparse.Namespace, settings: Settings) -> int:
    """List the killmail references ESI rejected, newest marked first."""
    conflicting = [
        option
        for option, value in (
            ("--import", args.import_id is not None),
            ("--raw", args.raw),
            ("--all", args.include_resolved),
        )
        if value
    ]
    if conflicting:
        raise ConfigError(
            "invalid arguments",
            "--invalid lists killmail references, which have no import, raw"
            " text or resolved state, so it cannot be combined with"
            f" {join_words(conflicting)}",
            f"leave out {join_words(conflicting)}, or leave out --invalid to list"
            " the rejects",
        )
    with open_database(settings) as db:
        rows = list_invalid(db, limit=args.limit)
        total = count_invalid(db)
    if args.json:
        for row in rows:
            print(json.dumps(dataclasses.asdict(row), default=json_value))
        return 0
    if not rows:
        print("no killmail references known invalid")
    for row in rows:
        marked = row.marked_at.astimezone(datetime.UTC)
        print(
            printable(
                f"killmail {row.killmail_id} hash {row.killmail_hash}:"
                f" marked invalid {marked:%Y-%m-%d %H:%M} UTC, source"
                f" {row.source}, {count_noun(row.attempts, 'fetch attempt')}"
            )
        )
        if row.last_error:
            print(f"    {printable(row.last_error)}")
    if total > len(rows):
        print(f"({len(rows)} of {total:,} shown; use --limit)")
    return 0


def describe_reject(row: RejectRow) -> str:
    """Return one reject as a line: its ids, where it was, and the reason.

    The ids are the reject's and those of the imports that rejected the
    record, oldest first, followed by "dismissed" and the UTC time for a
    dismissed reject, or "resolved" for another resolved one.
    The killmail and the field are left out when unknown. A field of ``$``
    is named "whole record".
    """
    ids = f"reject {row.reject_id}"
    imports = row.import_ids or ((row.import_id,) if row.import_id is not None else ())
    labels = [_imports_label(imports)] if imports else []
    if row.dismissed_at is not None:
        dismissed = row.dismissed_at.astimezone(datetime.UTC)
        labels.append(f"dismissed {dismissed:%Y-%m-%d %H:%M} UTC")
    elif row.resolved:
        labels.append("resolved")
    if labels:
        ids += f" ({', '.join(labels)})"
    parts = [f"{row.source_file} {row.position}"]
    if row.killmail_id is not None:
        parts.append(f"killmail {row.killmail_id}")
    if row.field_label is not None:
        parts.append(
            row.field_label if row.field == "$" else f"field {row.field_label}"
        )
    return f"{ids}: {', '.join(parts)}: {row.reason}"


def run_dismiss_rejects(args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.reject_ids) == (args.import_id is not None):
        problem = (
            "takes reject ids or --import N, not both"
            if args.reject_ids
            else "needs reject ids or --import N, and neither was given"
        )
        raise ConfigError(
            "invalid arguments",
            f"'evedmv rejects dismiss' {problem}",
            "give the ids that 'evedmv rejects list' prints, or --import N for"
            " every reject of import N",
        )
    with open_database(settings) as db:
        if args.import_id is not None:
            if not import_exists(db, args.import_id):
                raise ConfigError(
                    "import not found",
                    f"no import with the id {args.import_id} is recorded",
                    "the summary of each 'evedmv import' ends with its id",
                )
            dismissal = dismiss_import_rejects(db, args.import_id)
        else:
            dismissal = dismiss_rejects(db, args.reject_ids)
    if dismissal.missing:
        ids = ", ".join(map(str, dismissal.missing))
        raise ConfigError(
            "reject not found",
            f"no reject with the id {ids} is stored, so none was dismissed"
            if len(dismissal.missing) == 1
            else f"no rejects with the ids {ids} are stored, so none was dismissed",
            "'evedmv rejects list --all' lists the stored rejects with their ids",
        )
    print(describe_dismissal(dismissal, args.import_id))
    return 0


def describe_dismissal(dismissal: Dismissal, import_id: int | None) -> str:
    """Return what ``evedmv rejects dismiss`` changed, as one line."""
    if import_id is not None and not dismissal.dismissed + dismissal.already:
        return f"import {import_id} rejected no records; nothing to dismiss"
    text = f"dismissed {count_noun(dismissal.dismissed, 'reject')}"
    if import_id is not None:
        text += f" of import {import_id}"
    if dismissal.already:
        text += f" ({dismissal.already:,} dismissed before kept that time)"
    return text


def _imports_label(imports: Sequence[int]) -> str:
    if len(imports) == 1:
        return f"import {imports[0]}"
    if len(imports) <= MAX_IMPORT_IDS:
        return f"imports {', '.join(map(str, imports))}"
    return f"{len(imports)} imports: {imports[0]}, {imports[1]}, …, {imports[-1]}"


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def run_repair(args: argparse.Namespace, settings: Settings) -> int:
    from evedmv_tui.battles.detect import detect_all
    from evedmv_tui.commands.battles import describe_detection
    from evedmv_tui.intel import totals

    with open_database(settings) as db:
        # Listed before the repair, so an import that stops during it is not
        # marked as repaired.
        interrupted = interrupted_imports(db)
        counted = totals.count_uncounted(db)
        battles = detect_all(db)
        mark_repaired(db, interrupted)
    if args.json:
        print(
            json.dumps(
                {
                    "totals_counted": counted,
                    "battles": dataclasses.asdict(battles),
                    "imports_repaired": interrupted,
                }
            )
        )
        return 0
    print(f"entity totals: counted {counted:,} killmails they had missed")
    print(describe_detection(battles, rebuilt=True))
    if interrupted:
        ids = ", ".join(f"#{import_id}" for import_id in interrupted)
        print(f"interrupted imports marked as repaired: {ids}")
    return 0
