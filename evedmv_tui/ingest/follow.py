"""Follow zKillboard's R2Z2 live feed and import each killmail as it appears.

R2Z2 publishes one JSON document per killmail at ``<base>/<n>.json``, with
``n`` rising by one each time, and the latest ``n`` at
``<base>/sequence.json`` (``{"sequence": n}``). The follower reads the
documents in order:

- 200: import the document and store ``n`` in ``feed_cursors``, so a restart
  resumes at ``n + 1``. A document published again under the same number is
  imported again, which updates the killmail (the importer upserts).
- 404: ``n`` is not published yet, so wait ``poll_seconds`` and ask again.
  When ``sequence.json`` already reports a higher number, ``n`` is gone from
  the feed (documents expire) and is skipped with a warning.
- 429, 403, 5xx and transport errors: pause with exponential backoff,
  honouring ``Retry-After``. A lost database connection while storing a
  document pauses the same way, then the document is fetched again. With
  ``once``, :data:`ONCE_RETRIES` pauses in a row end the run with
  :class:`FeedUnavailable`, so a cron job does not wait without end.

Each document goes through the same import path, and the same
``after_batch`` hooks, as ``evedmv import``. The lag from kill time to
stored is logged for every killmail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import httpx
import msgspec
import psycopg

from evedmv_tui.errors import DatabaseUnavailable, EvedmvError
from evedmv_tui.esi import EsiClient, retry_after_seconds
from evedmv_tui.ingest.hooks import BatchHook
from evedmv_tui.store.db import Database, NamedSql
from evedmv_tui.store.telemetry import operation

log = logging.getLogger(__name__)

FEED_NAME = "r2z2"
SOURCE = "r2z2"
BAD_BODY_RETRIES = 3
"""Pauses before a sequence whose HTTP 200 body is not JSON is imported
anyway (and rejected, naming the sequence) so the feed moves on."""
BACKOFF_SECONDS = 10.0
"""First pause after a failure, doubled after each further failure up to the
maximum."""
ONCE_RETRIES = 3
"""Pauses in a row after which a run with ``once`` gives up (10, 20 and
40 s with the default backoff). Equal to :data:`BAD_BODY_RETRIES`, so a
body that is not JSON is still retried and then rejected."""


class FeedUnavailable(EvedmvError):
    """Error raised when the feed fails every try of a run with ``once``."""


_LOAD_CURSOR = NamedSql(
    "follow.load_cursor", "SELECT sequence FROM feed_cursors WHERE feed = %s"
)
_SAVE_CURSOR = NamedSql(
    "follow.save_cursor",
    "INSERT INTO feed_cursors (feed, sequence, updated_at) VALUES (%s, %s, now())"
    " ON CONFLICT (feed) DO UPDATE SET sequence = EXCLUDED.sequence,"
    " updated_at = now()",
)


class ImportCounts(Protocol):
    """The counters of an import summary that the follower adds up."""

    @property
    def inserted(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def rejected(self) -> int: ...


ImportDocuments = Callable[
    [Database, list[bytes], Sequence[BatchHook], Sequence[str]], ImportCounts
]
"""Import raw feed documents and return the importer's summary."""


def import_feed_documents(
    db: Database,
    documents: list[bytes],
    after_batch: Sequence[BatchHook],
    positions: Sequence[str],
) -> ImportCounts:
    """Import R2Z2 documents through the shared importer.

    ``positions`` names each document in its rejects (``sequence N``).
    """
    from evedmv_tui.ingest.importer import import_records

    summary: ImportCounts = import_records(
        db, documents, source=SOURCE, after_batch=after_batch, positions=positions
    )
    return summary


class _KillTime(msgspec.Struct):
    killmail_time: dt.datetime | None = None


class _Envelope(msgspec.Struct):
    killmail_id: int | None = None
    esi: _KillTime | None = None


class _Anything(msgspec.Struct):
    pass


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_syntax_decoder = msgspec.json.Decoder(_Anything)
"""Checks that a body is JSON at all, skipping every field."""
_sequence_decoder = msgspec.json.Decoder(dict[str, Any])


@dataclasses.dataclass(frozen=True, slots=True)
class FollowSummary:
    """Counts of one follower run."""

    documents: int
    """Feed documents fetched and handed to the importer."""
    inserted: int
    updated: int
    duplicates: int
    pending: int
    rejected: int
    fetched: int
    """Bodies of pending killmails fetched from ESI and stored."""
    skipped: int
    """Sequence numbers missing from the feed although later ones exist."""
    waits: int
    """Times a document was not published yet."""
    backoffs: int
    """Pauses after 429, 403, 5xx or transport errors."""
    last_sequence: int | None
    """The cursor after the run: the last sequence number handled."""
    max_lag_seconds: float | None
    """Largest kill-time-to-stored delay of the run."""


@dataclasses.dataclass(slots=True)
class _Totals:
    documents: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    pending: int = 0
    rejected: int = 0
    fetched: int = 0
    skipped: int = 0
    waits: int = 0
    backoffs: int = 0
    max_lag_seconds: float | None = None

    def add_import(self, counts: ImportCounts) -> None:
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.duplicates += counts.duplicates
        self.pending += counts.pending
        self.rejected += counts.rejected

    def add_lag(self, seconds: float) -> None:
        if self.max_lag_seconds is None or seconds > self.max_lag_seconds:
            self.max_lag_seconds = seconds

    def summary(self, last_sequence: int | None) -> FollowSummary:
        return FollowSummary(
            self.documents,
            self.inserted,
            self.updated,
            self.duplicates,
            self.pending,
            self.rejected,
            self.fetched,
            self.skipped,
            self.waits,
            self.backoffs,
            last_sequence,
            self.max_lag_seconds,
        )


class _Next(enum.Enum):
    """The run loop's next move after one step."""

    ADVANCE = "advance"
    """The sequence number is handled; go on to the next one."""
    RETRY = "retry"
    """Ask for the same sequence number again."""
    STOP = "stop"
    """End the run."""


def load_cursor(db: Database, feed: str = FEED_NAME) -> int | None:
    """Return the last sequence number handled for ``feed``, or None."""
    value = db.fetch_value(_LOAD_CURSOR, (feed,))
    return None if value is None else int(value)


def save_cursor(db: Database, sequence: int, feed: str = FEED_NAME) -> None:
    db.execute(_SAVE_CURSOR, (feed, sequence))


class R2Z2Follower:
    """Reads the R2Z2 feed in sequence order and imports every document.

    Args:
        db: the application database; the cursor lives in ``feed_cursors``.
        http: client for zKillboard; it must send the configured User-Agent.
        base_url: the feed root, the directory of ``sequence.json``.
        esi: fetches bodies of documents that arrive without one; None
            leaves them pending.
        after_batch: hooks run after each committed import batch.
        poll_seconds: wait after a 404 for a document not published yet.
        backoff_seconds: first pause after 429, 403, a server error or a
            body that is not JSON; it doubles up to ``max_backoff_seconds``
            and resets on success. None uses :data:`BACKOFF_SECONDS`.
        sleep: waits; returns True when the follower should stop. The
            default waits on :meth:`stop`, so another thread can end a wait.
        import_documents: the import function, replaceable in tests.
        pending_retry_seconds: after an ESI failure left bodies pending,
            the wait before the follower fetches them again while the feed
            has nothing new (a new bodyless document fetches them at once).
        monotonic: the clock of that wait, replaceable in tests.
    """

    def __init__(
        self,
        db: Database,
        http: httpx.Client,
        base_url: str,
        *,
        esi: EsiClient | None = None,
        after_batch: Sequence[BatchHook] = (),
        feed: str = FEED_NAME,
        poll_seconds: float = 6.0,
        backoff_seconds: float | None = None,
        max_backoff_seconds: float = 600.0,
        sleep: Callable[[float], object] | None = None,
        import_documents: ImportDocuments = import_feed_documents,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        pending_retry_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.esi = esi
        self.after_batch = tuple(after_batch)
        self.feed = feed
        self.poll_seconds = poll_seconds
        self.backoff_seconds = (
            BACKOFF_SECONDS if backoff_seconds is None else backoff_seconds
        )
        self.max_backoff_seconds = max_backoff_seconds
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self._import = import_documents
        self._clock = clock
        self.pending_retry_seconds = pending_retry_seconds
        self._monotonic = monotonic
        self._pending_retry_at: float | None = None
        """When to fetch bodies that an ESI failure left pending; None: none."""
        self._backoff_step = 0
        self._once = False
        self._failure = "no response"
        """The latest failure, for the error that ends a run with ``once``."""
        self._bad_bodies = 0
        """Bodies in a row for the current sequence that were not JSON."""
        self._totals = _Totals()
        self._cursor: int | None = None

    def stop(self) -> None:
        """Ask a running :meth:`run` to return after its current step."""
        self._stop.set()

    def run(
        self,
        *,
        max_documents: int | None = None,
        once: bool = False,
        start_sequence: int | None = None,
    ) -> FollowSummary:
        """Follow the feed until stopped.

        Args:
            max_documents: return after this many documents.
            once: return at the first document not published yet, and
                raise :class:`FeedUnavailable` after :data:`ONCE_RETRIES`
                failed tries in a row.
            start_sequence: read from this number instead of the stored
                cursor (or, without a cursor, the latest in ``sequence.json``).
        """
        totals = self._totals = _Totals()
        self._once = once
        self._backoff_step = 0
        with operation("follow"):
            self._cursor = load_cursor(self.db, self.feed)
            sequence = start_sequence
            if sequence is None and self._cursor is not None:
                sequence = self._cursor + 1
            if sequence is None:
                sequence = self._first_sequence()
            if sequence is None:
                return self.summary()
            log.info("following %s from sequence %d", self.base_url, sequence)
            while not self._stop.is_set():
                if max_documents is not None and totals.documents >= max_documents:
                    break
                step = self._step(sequence, totals, once=once)
                if step is _Next.STOP:
                    break
                if step is _Next.ADVANCE:
                    self._cursor = sequence
                    sequence += 1
        log.info("stopped following %s at sequence %s", self.base_url, self._cursor)
        return self.summary()

    def summary(self) -> FollowSummary:
        """Return the counts of the current or latest run so far."""
        return self._totals.summary(self._cursor)

    # One document

    def _step(self, sequence: int, totals: _Totals, *, once: bool) -> _Next:
        response = self._get(f"/{sequence}.json")
        if response is None:
            totals.backoffs += 1
            return self._pause(None)
        status = response.status_code
        if status == 200 and not _is_json(response.content):
            self._bad_bodies += 1
            if self._bad_bodies <= BAD_BODY_RETRIES:
                # A proxy or CDN page came back in place of the document,
                # which is likely served correctly a little later.
                self._failure = (
                    f"sequence {sequence} returned HTTP 200 with a body that is"
                    " not JSON"
                )
                log.warning(
                    "R2Z2 %s (try %d of %d)",
                    self._failure,
                    self._bad_bodies,
                    BAD_BODY_RETRIES + 1,
                )
                totals.backoffs += 1
                return self._pause(response)
        if status == 200:
            self._bad_bodies = 0
            try:
                self._handle_document(sequence, response.content, totals)
            except (psycopg.OperationalError, DatabaseUnavailable) as exc:
                self._failure = (
                    f"storing R2Z2 sequence {sequence} failed: {_first_line(exc)}"
                )
                log.warning("%s", self._failure)
                totals.backoffs += 1
                return self._pause(None)
            self._backoff_step = 0
            return _Next.ADVANCE
        if status == 404:
            self._backoff_step = 0
            latest = self._latest_sequence()
            if latest is not None and latest > sequence:
                log.warning(
                    "R2Z2 sequence %d is missing although %d is published; skipping",
                    sequence,
                    latest,
                )
                totals.skipped += 1
                save_cursor(self.db, sequence, self.feed)
                return _Next.ADVANCE
            if once:
                return _Next.STOP
            totals.waits += 1
            log.debug("R2Z2 sequence %d not published yet", sequence)
            self._retry_pending_if_due(totals)
            return _Next.STOP if self._sleep(self.poll_seconds) else _Next.RETRY
        totals.backoffs += 1
        self._record_failure(f"{self.base_url}/{sequence}.json returned HTTP {status}")
        return self._pause(response)

    def _handle_document(self, sequence: int, body: bytes, totals: _Totals) -> None:
        counts = self._import(
            self.db, [body], self.after_batch, [f"sequence {sequence}"]
        )
        stored_at = self._clock()
        totals.documents += 1
        totals.add_import(counts)
        save_cursor(self.db, sequence, self.feed)
        if counts.pending and self.esi is not None:
            self._fetch_pending(totals)
        killmail_id, killmail_time = _envelope_facts(body)
        if counts.rejected:
            about = "" if killmail_id is None else f" (killmail {killmail_id})"
            log.warning(
                "R2Z2 sequence %d%s was rejected. See 'evedmv rejects list'; once"
                " the cause is fixed, 'evedmv follow --from-sequence %d' reads it"
                " again.",
                sequence,
                about,
                sequence,
            )
        elif killmail_time is not None:
            lag = (stored_at - killmail_time).total_seconds()
            totals.add_lag(lag)
            log.info(
                "stored killmail %s from sequence %d, %.0f s after the kill",
                killmail_id,
                sequence,
                lag,
            )
        else:
            log.info("handled sequence %d (killmail %s)", sequence, killmail_id)

    def _fetch_pending(self, totals: _Totals) -> None:
        from evedmv_tui.ingest.pending import fetch_pending

        assert self.esi is not None
        summary = fetch_pending(self.db, self.esi, after_batch=self.after_batch)
        totals.fetched += summary.stored
        if summary.failed or summary.stopped_early:
            self._pending_retry_at = self._monotonic() + self.pending_retry_seconds
            log.warning(
                "killmail bodies stay pending after ESI errors (%d failed%s);"
                " trying again in %.0f s while the feed is quiet",
                summary.failed,
                ", then ESI stopped answering" if summary.stopped_early else "",
                self.pending_retry_seconds,
            )
        else:
            self._pending_retry_at = None

    def _retry_pending_if_due(self, totals: _Totals) -> None:
        """Fetch the bodies an ESI failure left pending, once the wait is over."""
        due = self._pending_retry_at
        if due is None or self.esi is None or self._monotonic() < due:
            return
        log.info("fetching killmail bodies left pending by earlier ESI errors")
        try:
            self._fetch_pending(totals)
        except (psycopg.OperationalError, DatabaseUnavailable) as exc:
            self._pending_retry_at = self._monotonic() + self.pending_retry_seconds
            log.warning("fetching pending bodies failed: %s", _first_line(exc))

    # HTTP

    def _get(self, path: str) -> httpx.Response | None:
        url = self.base_url + path
        try:
            return self.http.get(url)
        except httpx.TransportError as exc:
            self._record_failure(f"GET {url} failed: {type(exc).__name__}: {exc}")
            return None

    def _first_sequence(self) -> int | None:
        while not self._stop.is_set():
            latest = self._latest_sequence()
            if latest is not None:
                return latest
            self._totals.backoffs += 1
            if self._pause(None) is _Next.STOP:
                return None
        return None

    def _latest_sequence(self) -> int | None:
        response = self._get("/sequence.json")
        if response is None or response.status_code != 200:
            if response is not None:
                self._record_failure(
                    f"{self.base_url}/sequence.json returned HTTP"
                    f" {response.status_code}"
                )
            return None
        try:
            value = _sequence_decoder.decode(response.content).get("sequence")
        except msgspec.DecodeError:
            value = None
        if type(value) is not int:
            self._record_failure(
                f"{self.base_url}/sequence.json has no integer 'sequence':"
                f" {response.content[:200]!r}"
            )
            return None
        return value

    def _record_failure(self, failure: str) -> None:
        """Log a failure and keep it for the error that ends a run with ``once``."""
        self._failure = failure
        log.warning("R2Z2 %s", failure)

    def _pause(self, response: httpx.Response | None) -> _Next:
        """Wait before retrying after a failure.

        Raises :class:`FeedUnavailable` in place of the pause once a run
        with ``once`` has paused :data:`ONCE_RETRIES` times in a row.
        """
        if self._once and self._backoff_step >= ONCE_RETRIES:
            tries = self._backoff_step + 1
            raise FeedUnavailable(
                "R2Z2 feed unavailable",
                f"{self._failure} ({tries} tries in a row); follow --once gives up",
                "check r2z2_url (EVEDMV_R2Z2_URL), the network and the database,"
                " then run it again. The position of the documents stored so far"
                " is saved.",
            )
        delay = self.backoff_seconds * 2.0**self._backoff_step
        delay = min(delay, self.max_backoff_seconds)
        if response is not None:
            requested = retry_after_seconds(response.headers.get("Retry-After"))
            if requested:
                delay = min(max(delay, requested), self.max_backoff_seconds)
        self._backoff_step += 1
        log.warning("pausing the R2Z2 feed for %.0f s", delay)
        return _Next.STOP if self._sleep(delay) else _Next.RETRY


def _is_json(body: bytes) -> bool:
    """Return whether ``body`` is one JSON value, whatever its shape."""
    try:
        _syntax_decoder.decode(body)
    except msgspec.ValidationError:
        return True
    except msgspec.DecodeError:
        return False
    return True


def _envelope_facts(body: bytes) -> tuple[int | None, dt.datetime | None]:
    try:
        envelope = _envelope_decoder.decode(body)
    except msgspec.MsgspecError:
        return None, None
    killmail_time = envelope.esi.killmail_time if envelope.esi else None
    if killmail_time is not None and killmail_time.tzinfo is None:
        killmail_time = killmail_time.replace(tzinfo=dt.UTC)
    return envelope.killmail_id, killmail_time


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
