"""``evedmv follow``: import killmails from zKillboard's R2Z2 feed as they appear."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import psycopg

from evedmv_tui.commands.arguments import BIGINT_MAX, SECONDS, whole
from evedmv_tui.commands.helptext import examples
from evedmv_tui.config import DEFAULT_USER_AGENT, Settings
from evedmv_tui.errors import ConfigError, EvedmvError
from evedmv_tui.esi import EsiClient, make_http_client
from evedmv_tui.ingest import FOLLOW_LOCK_CLASS
from evedmv_tui.ingest.follow import (
    FeedUnavailable,
    FollowSummary,
    R2Z2Follower,
    format_duration,
)
from evedmv_tui.ingest.hooks import default_hooks
from evedmv_tui.store.connect import open_database
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.text import count_noun

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "follow",
        help="import killmails from zKillboard's R2Z2 live feed until interrupted",
        description="Read zKillboard's R2Z2 feed (env EVEDMV_R2Z2_URL) in sequence"
        " order and import every killmail. The position is stored in the database,"
        " so the feed resumes where it stopped.",
        **examples(
            "evedmv follow",
            "evedmv follow --once --json",
            "evedmv follow --no-esi --max-documents 500",
        ),
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="stop when caught up, at the first document not published yet,"
        " or with exit status 2 when the feed fails 4 tries in a row",
    )
    parser.add_argument(
        "--max-documents",
        type=whole(1),
        metavar="N",
        help="stop after N feed documents",
    )
    parser.add_argument(
        "--from-sequence",
        type=whole(0, BIGINT_MAX),
        metavar="N",
        help="start at sequence number N instead of the stored position",
    )
    parser.add_argument(
        "--poll-seconds",
        type=SECONDS,
        default=6.0,
        metavar="S",
        help="seconds to wait for a document not published yet (default 6)",
    )
    parser.add_argument(
        "--no-esi",
        action="store_true",
        help="keep documents without a killmail body pending instead of"
        " fetching the body from ESI",
    )
    # The old name of --no-esi, which read like the global --offline.
    parser.add_argument(
        "--offline",
        dest="deprecated_offline",
        action="store_true",
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object"
    )
    parser.set_defaults(handler=follow_command)


def follow_command(args: argparse.Namespace, settings: Settings) -> int:
    if settings.offline:
        raise ConfigError(
            "follow needs the network",
            "'evedmv follow' reads zKillboard's R2Z2 feed, and offline mode"
            " (--offline or EVEDMV_OFFLINE) forbids contacting zKillboard",
            "run it without the global --offline and with EVEDMV_OFFLINE unset;"
            " 'follow --no-esi' reads the feed but fetches no bodies from ESI",
        )
    no_esi = args.no_esi or args.deprecated_offline
    if args.deprecated_offline:
        log.warning("'follow --offline' is deprecated; use 'follow --no-esi'")
    if settings.user_agent == DEFAULT_USER_AGENT:
        log.warning(
            "the User-Agent names no contact; set EVEDMV_USER_AGENT or user_agent"
            " in config.toml to your e-mail or character name"
        )
    # The pool logs every failed reconnection; the follower reports a lost
    # database in one line of its own, so the pool's records need -vv.
    logging.getLogger("psycopg.pool").setLevel(
        logging.WARNING if settings.verbose >= 2 else logging.CRITICAL
    )
    with (
        open_database(settings) as db,
        make_http_client(settings.user_agent) as http,
        EsiClient.from_settings(settings) as esi,
    ):
        follower = R2Z2Follower(
            db,
            http,
            settings.r2z2_url,
            esi=None if no_esi else esi,
            after_batch=default_hooks(),
            poll_seconds=args.poll_seconds,
        )
        lock = _follow_lock(db, follower.feed)
        terminated: list[bool] = []
        try:
            with _sigterm_as_interrupt(terminated):
                summary = follower.run(
                    max_documents=args.max_documents,
                    once=args.once,
                    start_sequence=args.from_sequence,
                )
        except KeyboardInterrupt:
            # Printed before the connections close, which a second Ctrl-C
            # could cut short.
            if terminated:
                print(
                    "evedmv: stopped by SIGTERM; the position is saved", file=sys.stderr
                )
            else:
                print("evedmv: interrupted; the position is saved", file=sys.stderr)
            _print_summary(follower.summary(), as_json=args.json)
            # systemd counts exit status 0 as a clean stop, but 143 as a
            # failure unless the unit lists it in SuccessExitStatus.
            return 0 if terminated else 130
        except FeedUnavailable:
            # What was stored before the feed failed, for a cron job's log;
            # the error itself follows on stderr with exit status 2.
            _print_summary(follower.summary(), as_json=args.json)
            raise
        finally:
            lock.close()
    _print_summary(summary, as_json=args.json)
    # As for 'evedmv import': rejected documents make a cron job notice.
    return 1 if summary.rejected else 0


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: list[bool]) -> Iterator[None]:
    """Stop on SIGTERM as on Ctrl-C, by raising :class:`KeyboardInterrupt`.

    ``terminated`` gets an item when SIGTERM came, so the caller can tell
    the two apart. Python lets only the main thread set a signal handler,
    so elsewhere SIGTERM keeps its handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        terminated.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _follow_lock(db: Database, feed: str) -> psycopg.Connection[Any]:
    """Take the feed's follow lock on a connection of its own and return it.

    The lock lasts until the connection closes, also when the process dies.
    Raises :class:`EvedmvError` when another follower has it.
    """
    conn = psycopg.connect(
        db.conninfo, autocommit=True, application_name=db.application_name
    )
    locked = db.fetch_value(
        "SELECT pg_try_advisory_lock(%s, hashtext(%s))",
        (FOLLOW_LOCK_CLASS, feed),
        conn=conn,
    )
    if not locked:
        conn.close()
        raise EvedmvError(
            "follow already running",
            f"another 'evedmv follow' reads the {feed} feed into this database",
            "stop it first: two followers would fetch every document twice",
        )
    return conn


def _print_summary(summary: FollowSummary, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(dataclasses.asdict(summary)))
        return
    lag = (
        "no lag measured"
        if summary.max_lag_seconds is None
        else f"max lag {format_duration(summary.max_lag_seconds)}"
    )
    print(
        f"followed R2Z2: {count_noun(summary.documents, 'document')},"
        f" {summary.inserted:,} inserted, {summary.updated:,} updated,"
        f" {count_noun(summary.duplicates, 'duplicate')},"
        f" {summary.pending:,} pending, {summary.fetched:,} fetched from ESI,"
        f" {summary.rejected:,} rejected, {summary.skipped:,} skipped; {lag};"
        f" position {summary.last_sequence}"
    )
