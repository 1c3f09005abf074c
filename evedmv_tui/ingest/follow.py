"""Follow zKillboard's R2Z2 live feed and import each killmail as it appears.

R2Z2 publishes one JSON document per killmail at ``<base>/<n>.json``, with
``n`` rising by one each time, and the latest ``n`` at
``<base>/sequence.json`` (``{"sequence": n}``). The follower reads the
documents in order and never past the published ``n``, and requests
``sequence.json`` again only once it has read every number published so far.

- 200: import the document and store ``n`` in ``feed_cursors``, so a restart
  resumes at ``n + 1``. A document published again under the same number is
  imported again, which updates the killmail (the importer upserts).
- ``n`` above the published number: wait ``poll_seconds`` and ask again.
- 404 below the published number: ``n`` is gone (documents expire) or was
  never published. The follower searches ahead for the next document that
  exists, probing ``n + 1``, ``n + 2``, ``n + 4`` and so on, then bisecting,
  and logs one line for the whole range it skips.
- 429, 403, 5xx, transport errors and a 200 body that is not JSON, or JSON
  without an integer ``killmail_id`` (a proxy's page): pause with
  exponential backoff, honouring ``Retry-After``. A 200 body that is a
  document of another kind, such as a RedisQ package, is no transient
  fault: it is rejected at once, naming the sequence, and the follower
  moves on. A lost database connection while storing a document pauses
  with a backoff of its own, then the document is fetched again. With
  ``once``, :data:`ONCE_RETRIES` pauses in a row end the run with
  :class:`FeedUnavailable`, so a cron job
  does not wait without end.

Requests to the feed are at least :data:`REQUEST_INTERVAL_SECONDS` apart.
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
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import msgspec
import psycopg

from evedmv_tui.errors import DatabaseUnavailable, EvedmvError
from evedmv_tui.esi import EsiClient, retry_after_seconds
from evedmv_tui.ingest.hooks import BatchHook
from evedmv_tui.ingest.shapes import RAW_LIMIT, Shape, classify
from evedmv_tui.store.db import Database, NamedSql, load_sql
from evedmv_tui.store.telemetry import operation

if TYPE_CHECKING:
    from evedmv_tui.ingest.pending import PendingSummary

log = logging.getLogger(__name__)

FEED_NAME = "r2z2"
SOURCE = "r2z2"
BAD_BODY_RETRIES = 3
"""Pauses before an HTTP 200 body that is not an R2Z2 document is imported
anyway, so the feed moves on. Such a body is not JSON, or is JSON without an
integer ``killmail_id`` and of no other known kind; the import rejects it
and names the sequence."""
BACKOFF_SECONDS = 10.0
"""First pause after a failure, doubled after each further failure up to the
maximum."""
ONCE_RETRIES = 3
"""Pauses in a row after which a run with ``once`` gives up (10, 20 and
40 s with the default backoff). Equal to :data:`BAD_BODY_RETRIES`, so one
bad body is still retried and then rejected. The pauses for a bad body do
not reset when it is rejected, so a second bad document in a row ends the
run."""
REQUEST_INTERVAL_SECONDS = 0.1
"""Minimum time between the starts of two requests to the feed, so at most 10
a second while catching up or searching past missing numbers. This is the
follower's own ceiling, not a limit that zKillboard publishes."""
PENDING_ROUND = 50
"""Maximum number of pending bodies that one fetch round requests.

A backlog of pending killmails then does not hold up the feed, because the
rest follow in later rounds."""
SEQUENCE_MAX = 2**63 - 1
"""Largest sequence number that ``feed_cursors.sequence`` (bigint) stores;
``sequence.json`` values above it are invalid."""


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


class _DocumentHead(msgspec.Struct):
    """The one field that every R2Z2 document has, whatever else it lacks."""

    killmail_id: int


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_head_decoder = msgspec.json.Decoder(_DocumentHead)
_sequence_decoder = msgspec.json.Decoder(dict[str, Any])
_generic_decoder = msgspec.json.Decoder()

_OTHER_SHAPES = {
    Shape.REDISQ: "a RedisQ package",
    Shape.EMPTY: 'an empty RedisQ poll ({"package": null})',
    Shape.ZKB_HISTORY: "a zKillboard history object",
}
"""Well-formed documents of another kind, which the follower rejects at
once, because serving them again would not make them R2Z2 documents."""


@dataclasses.dataclass(frozen=True, slots=True)
class _BadBody:
    """The reason an HTTP 200 body is not an R2Z2 document."""

    problem: str
    """Completes "a body that ...", such as "is not JSON"."""
    other_shape: str | None = None
    """The kind of a well-formed document of another known shape, such as
    "a RedisQ package"; None for a body that a later request may fix."""
    killmail_id: int | None = None
    """The killmail a document of another shape names, when it names one."""


@dataclasses.dataclass(frozen=True, slots=True)
class _FollowerReject:
    """The import counts of one document that the follower itself rejected."""

    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    pending: int = 0
    rejected: int = 1


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
        poll_seconds: wait before requesting ``sequence.json`` again once every
            published document is read.
        backoff_seconds: first pause after 429, 403, a server error or a
            body that is not an R2Z2 document; it doubles up to
            ``max_backoff_seconds`` and resets on success. None uses
            :data:`BACKOFF_SECONDS`.
        request_interval: minimum seconds between the starts of two feed
            requests; 0 sends them back to back.
        sleep: waits; returns True when the follower should stop. The
            default waits on :meth:`stop`, so another thread can end a wait.
        import_documents: the import function, replaceable in tests.
        pending_retry_seconds: after ESI as a whole failed and left bodies
            pending, the wait before the follower fetches them again. Until
            then a new bodyless document stays pending without a request.
            Killmails that failed for their own reason are due when
            their wait in ``killmail_index.next_try_at`` ends.
        pending_round: most pending bodies one fetch round requests. A
            round that reaches it makes the next round due at once, before
            the next document or while the feed is quiet.
        monotonic: the clock of that wait and of the request interval,
            replaceable in tests.
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
        request_interval: float = REQUEST_INTERVAL_SECONDS,
        sleep: Callable[[float], object] | None = None,
        import_documents: ImportDocuments = import_feed_documents,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        pending_retry_seconds: float = 300.0,
        pending_round: int = PENDING_ROUND,
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
        self.request_interval = request_interval
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self._import = import_documents
        self._clock = clock
        self.pending_retry_seconds = pending_retry_seconds
        self.pending_round = pending_round
        self._monotonic = monotonic
        self._pending_retry_at: float | None = None
        """When to fetch bodies that an ESI failure left pending; None: none."""
        self._esi_failing = False
        """True when the last fetch round stopped because ESI failed as a whole."""
        self._last_request_at: float | None = None
        self._backoff_step = 0
        """Feed pauses since the feed last served a document or had none new."""
        self._database_step = 0
        """Database pauses since the database last stored a document or cursor."""
        self._once = False
        self._failure = "no response"
        """The latest failure, for the error that ends a run with ``once``."""
        self._bad_bodies = 0
        """Bodies in a row for the current sequence that were not documents."""
        self._totals = _Totals()
        self._cursor: int | None = None
        self._published: int | None = None
        """The latest ``sequence.json`` value; None until read or after a failure."""
        self._prefetched: tuple[int, httpx.Response] | None = None
        """A document the search for the next existing number already fetched."""
        self._requested_start: int | None = None
        """``start_sequence`` until the run moves past it."""
        self._warned_start = False

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
        self._database_step = 0
        self._bad_bodies = 0
        self._published = None
        self._prefetched = None
        self._requested_start = start_sequence
        self._warned_start = False
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
            if self.esi is not None:
                # Bodies an earlier run left pending, such as after Ctrl-C,
                # are fetched now, not after the next document without one.
                self._esi_failing = False
                self._pending_retry_at = self._monotonic()
                self._retry_pending_if_due(totals)
            while not self._stop.is_set():
                if max_documents is not None and totals.documents >= max_documents:
                    break
                step = self._step(sequence, totals)
                if step is _Next.STOP:
                    break
                if isinstance(step, int):
                    sequence = step
                    self._requested_start = None
        log.info("stopped following %s at sequence %s", self.base_url, self._cursor)
        return self.summary()

    def summary(self) -> FollowSummary:
        """Return the counts of the current or latest run so far."""
        return self._totals.summary(self._cursor)

    # Each step returns the next sequence number to read, or RETRY or STOP.

    def _step(self, sequence: int, totals: _Totals) -> int | _Next:
        if self._published is None or sequence > self._published:
            checked = self._check_published(sequence, totals)
            if checked is not None:
                return checked
        response = self._take_prefetched(sequence) or self._get(f"/{sequence}.json")
        if response is None:
            return self._feed_failed(None, totals)
        status = response.status_code
        if status == 200:
            return self._on_document(sequence, response, totals)
        if status == 404:
            return self._on_missing(sequence, totals)
        self._record_failure(f"{self.base_url}/{sequence}.json returned HTTP {status}")
        return self._feed_failed(response, totals)

    def _check_published(self, sequence: int, totals: _Totals) -> int | _Next | None:
        """Read ``sequence.json``; return None when ``sequence`` is published."""
        published, response = self._latest_sequence()
        if published is None:
            return self._feed_failed(response, totals)
        self._published = published
        if sequence <= published:
            return None
        if sequence - 1 > published:
            if sequence != self._requested_start:
                log.warning(
                    "the R2Z2 position %d is ahead of the published sequence %d:"
                    " the feed restarted its numbering or sequence.json went back;"
                    " resuming at %d",
                    sequence - 1,
                    published,
                    published,
                )
                return published
            if not self._warned_start:
                self._warned_start = True
                log.warning(
                    "R2Z2 sequence %d is above the published sequence %d;"
                    " waiting until it is published",
                    sequence,
                    published,
                )
        return self._wait(totals)

    def _wait(self, totals: _Totals) -> _Next:
        """Wait for new documents, or stop a run with ``once``."""
        self._backoff_step = 0
        if self._once:
            return _Next.STOP
        totals.waits += 1
        log.debug("R2Z2 has nothing after sequence %s yet", self._published)
        self._retry_pending_if_due(totals)
        return _Next.STOP if self._sleep(self.poll_seconds) else _Next.RETRY

    def _on_document(
        self, sequence: int, response: httpx.Response, totals: _Totals
    ) -> int | _Next:
        bad = _body_problem(response.content)
        transient = bad is not None and bad.other_shape is None
        if bad is not None and bad.other_shape is None:
            self._bad_bodies += 1
            if self._bad_bodies <= BAD_BODY_RETRIES:
                # A proxy or CDN page came back in place of the document,
                # which is likely served correctly a little later.
                self._failure = (
                    f"sequence {sequence} returned HTTP 200 with a body that"
                    f" {bad.problem}"
                )
                log.warning(
                    "R2Z2 %s (try %d of %d)",
                    self._failure,
                    self._bad_bodies,
                    BAD_BODY_RETRIES + 1,
                )
                return self._feed_failed(response, totals)
        try:
            if bad is not None and bad.other_shape is not None:
                self._reject_other_shape(sequence, response.content, bad, totals)
            else:
                self._handle_document(sequence, response.content, totals)
        except (psycopg.OperationalError, DatabaseUnavailable) as exc:
            return self._database_failed(exc, totals)
        self._database_step = 0
        self._bad_bodies = 0
        if not transient:
            # A bad body keeps the backoff, so a feed that serves nothing
            # but bad bodies slows down, and a run with ``once`` gives up.
            # A well-formed document of another kind is no fault of the network.
            self._backoff_step = 0
        return sequence + 1

    def _on_missing(self, sequence: int, totals: _Totals) -> int | _Next:
        published = self._published
        assert published is not None
        if sequence >= published:
            # sequence.json can name a document a moment before it is served.
            self._published = None
            return self._wait(totals)
        found = self._find_next_document(sequence, published, totals)
        if isinstance(found, _Next):
            return found
        try:
            save_cursor(self.db, found - 1, self.feed)
        except (psycopg.OperationalError, DatabaseUnavailable) as exc:
            return self._database_failed(exc, totals)
        self._database_step = 0
        self._cursor = found - 1
        totals.skipped += found - sequence
        if found - sequence == 1:
            log.warning(
                "R2Z2 sequence %d is missing although %d is published; skipped it",
                sequence,
                published,
            )
        else:
            # The search probes only some numbers of the span, so a document
            # between two missing probes is skipped unseen (see the docs).
            log.warning(
                "skipped R2Z2 sequences %d to %d (%d numbers): %d is missing"
                " although %d is published, and the search found the next"
                " document at %d (expired or never published documents)",
                sequence,
                found - 1,
                found - sequence,
                sequence,
                published,
                found,
            )
        return found

    def _find_next_document(
        self, missing: int, published: int, totals: _Totals
    ) -> int | _Next:
        """Return the first number after ``missing`` that has a document.

        Probes ``missing + 1``, ``+ 2``, ``+ 4`` and so on up to ``published``,
        then bisects between the last missing and the first existing probe,
        so a day of expired documents costs about 30 requests, not one per
        number. NOTE: bisecting assumes every number between the two probes
        is missing up to some point and present after it, as expiry leaves
        them. A second gap inside that span can make the search skip the
        documents before it.
        """
        present: dict[int, httpx.Response] = {}

        def exists(sequence: int) -> bool | _Next:
            response = self._get(f"/{sequence}.json")
            if response is None:
                return self._feed_failed(None, totals)
            if response.status_code == 200:
                present[sequence] = response
                return True
            if response.status_code == 404:
                return False
            self._record_failure(
                f"{self.base_url}/{sequence}.json returned HTTP {response.status_code}"
            )
            return self._feed_failed(response, totals)

        low, distance = missing, 1
        while True:
            high = min(missing + distance, published)
            found = exists(high)
            if isinstance(found, _Next):
                return found
            if found:
                break
            if high == published:
                self._record_failure(
                    f"sequence.json reports {published}, but"
                    f" {self.base_url}/{published}.json returned HTTP 404"
                )
                return self._feed_failed(None, totals)
            low, distance = high, distance * 2
        while high - low > 1:
            middle = (low + high) // 2
            found = exists(middle)
            if isinstance(found, _Next):
                return found
            if found:
                high = middle
            else:
                low = middle
        self._prefetched = (high, present[high])
        return high

    def _take_prefetched(self, sequence: int) -> httpx.Response | None:
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is None or prefetched[0] != sequence:
            return None
        return prefetched[1]

    def _reject_other_shape(
        self, sequence: int, body: bytes, bad: _BadBody, totals: _Totals
    ) -> None:
        """Store a reject for a document of another shape and move past it.

        The importer would read a RedisQ package as a killmail, but a feed
        that serves one under an R2Z2 number is misconfigured or broken, so
        the document is rejected by its sequence number instead.
        """
        reason = (
            f"the body is {bad.other_shape}, not an R2Z2 document; check that"
            " r2z2_url (EVEDMV_R2Z2_URL) points at the R2Z2 feed"
        )
        text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        self.db.execute(
            load_sql("evedmv_tui.ingest", "insert_rejects"),
            {
                "import_id": None,
                "source_file": [f"<{SOURCE}>"],
                "position": [f"sequence {sequence}"],
                "killmail_id": [bad.killmail_id],
                "field": ["$"],
                "reason": [reason],
                "raw": [text[:RAW_LIMIT]],
                "hash_conflict": [False],
            },
        )
        self._finish_document(
            sequence, body, _FollowerReject(), totals, rejected=(reason, bad)
        )

    def _handle_document(self, sequence: int, body: bytes, totals: _Totals) -> None:
        counts = self._import(
            self.db, [body], self.after_batch, [f"sequence {sequence}"]
        )
        self._finish_document(sequence, body, counts, totals)

    def _finish_document(
        self,
        sequence: int,
        body: bytes,
        counts: ImportCounts,
        totals: _Totals,
        *,
        rejected: tuple[str, _BadBody] | None = None,
    ) -> None:
        """Count a handled document, store the position and log the outcome.

        ``rejected`` is the reason and the problem when the follower
        rejected the document itself; None for a document the importer handled.
        """
        stored_at = self._clock()
        totals.documents += 1
        totals.add_import(counts)
        save_cursor(self.db, sequence, self.feed)
        self._cursor = sequence
        if self.esi is not None and (counts.pending or self._pending_due()):
            if self._esi_backing_off():
                log.debug("ESI is failing; sequence %d stays pending for now", sequence)
            else:
                self._fetch_pending(totals)
        killmail_id, killmail_time = _envelope_facts(body)
        reason = ""
        if rejected is not None:
            reason = f": {rejected[0]}"
            killmail_id = rejected[1].killmail_id
        if counts.rejected:
            about = "" if killmail_id is None else f" (killmail {killmail_id})"
            log.warning(
                "R2Z2 sequence %d%s was rejected%s. See 'evedmv rejects list';"
                " once the cause is fixed, 'evedmv follow --from-sequence %d'"
                " reads it again.",
                sequence,
                about,
                reason,
                sequence,
            )
        elif counts.duplicates and not (counts.inserted or counts.updated):
            # An earlier number already brought this killmail, so its lag
            # was counted then.
            log.info(
                "sequence %d repeats killmail %s, which is stored already;"
                " skipped it as a duplicate",
                sequence,
                killmail_id,
            )
        elif killmail_time is not None:
            lag = (stored_at - killmail_time).total_seconds()
            totals.add_lag(lag)
            log.info(
                "stored killmail %s from sequence %d, %s after the kill",
                killmail_id,
                sequence,
                format_duration(lag),
            )
        else:
            log.info("handled sequence %d (killmail %s)", sequence, killmail_id)

    def _fetch_pending(self, totals: _Totals) -> None:
        from evedmv_tui.ingest.pending import fetch_pending

        assert self.esi is not None
        summary = fetch_pending(
            self.db, self.esi, after_batch=self.after_batch, limit=self.pending_round
        )
        totals.fetched += summary.stored
        self._esi_failing = summary.stopped_early or summary.unavailable_failed > 0
        if summary.requested >= self.pending_round and not self._esi_failing:
            # A full round: more due bodies may be left for the next one.
            self._pending_retry_at = self._monotonic()
            return
        delay = self._pending_delay(summary)
        if delay is None:
            self._pending_retry_at = None
            return
        # Said once while bodies stay pending; each later retry that leaves
        # some pending only logs at info level.
        report = log.warning if self._pending_retry_at is None else log.info
        self._pending_retry_at = self._monotonic() + delay
        report(
            "killmail bodies stay pending after ESI errors (%d failed%s%s);"
            " trying again in %s while the feed is quiet",
            summary.failed,
            f", {summary.waiting:,} waiting" if summary.waiting else "",
            ", then ESI stopped answering" if summary.stopped_early else "",
            format_duration(delay),
        )

    def _pending_delay(self, summary: PendingSummary) -> float | None:
        """Return the seconds until pending bodies are due again, or None.

        ESI that failed as a whole (down, rate limited) is tried again after
        :attr:`pending_retry_seconds`. A killmail that failed for its own
        reason waits as :mod:`evedmv_tui.ingest.pending` sets, so the retry
        comes when the first such wait ends.
        """
        from evedmv_tui.ingest.pending import RETRY_FIRST_WAIT

        delays = []
        if summary.stopped_early or summary.unavailable_failed:
            delays.append(self.pending_retry_seconds)
        if summary.failed > summary.unavailable_failed:
            delays.append(RETRY_FIRST_WAIT.total_seconds())
        if summary.next_try_at is not None:
            due = (summary.next_try_at - self._clock()).total_seconds()
            delays.append(max(due, self.pending_retry_seconds))
        return min(delays) if delays else None

    def _pending_due(self) -> bool:
        """Return True when bodies left pending are due for another round."""
        due = self._pending_retry_at
        return due is not None and self._monotonic() >= due

    def _esi_backing_off(self) -> bool:
        """Return True while the wait after ESI failed as a whole runs."""
        due = self._pending_retry_at
        return self._esi_failing and due is not None and self._monotonic() < due

    def _retry_pending_if_due(self, totals: _Totals) -> None:
        """Fetch the bodies an ESI failure left pending, once the wait is over."""
        if self.esi is None or not self._pending_due():
            return
        log.info("fetching killmail bodies left pending")
        try:
            self._fetch_pending(totals)
        except (psycopg.OperationalError, DatabaseUnavailable) as exc:
            self._pending_retry_at = self._monotonic() + self.pending_retry_seconds
            log.warning("fetching pending bodies failed: %s", _first_line(exc))

    # HTTP

    def _get(self, path: str) -> httpx.Response | None:
        self._keep_request_interval()
        url = self.base_url + path
        try:
            return self.http.get(url)
        except httpx.TransportError as exc:
            self._record_failure(f"GET {url} failed: {type(exc).__name__}: {exc}")
            return None

    def _keep_request_interval(self) -> None:
        """Wait until :attr:`request_interval` has passed since the last request."""
        now = self._monotonic()
        if self._last_request_at is not None and self.request_interval > 0:
            remaining = self._last_request_at + self.request_interval - now
            if remaining > 0:
                # A stop request shows in the run loop's next check.
                self._sleep(remaining)
                now = self._monotonic()
        self._last_request_at = now

    def _first_sequence(self) -> int | None:
        while not self._stop.is_set():
            latest, response = self._latest_sequence()
            if latest is not None:
                self._published = latest
                return latest
            self._totals.backoffs += 1
            if self._pause(response) is _Next.STOP:
                return None
        return None

    def _latest_sequence(self) -> tuple[int | None, httpx.Response | None]:
        """Read ``sequence.json``: return its number and the response.

        The number is None after a failure, and the response is None when
        none came. A failed response is returned so that the pause honours
        its ``Retry-After``.
        """
        response = self._get("/sequence.json")
        if response is None:
            return None, None
        if response.status_code != 200:
            self._record_failure(
                f"{self.base_url}/sequence.json returned HTTP {response.status_code}"
            )
            return None, response
        try:
            value = _sequence_decoder.decode(response.content).get("sequence")
        except msgspec.DecodeError:
            value = None
        if type(value) is not int or not 0 <= value <= SEQUENCE_MAX:
            self._record_failure(
                f"{self.base_url}/sequence.json has no valid 'sequence' (a whole"
                f" number from 0 to {SEQUENCE_MAX}): {response.content[:200]!r}"
            )
            return None, response
        return value, response

    # Failures

    def _record_failure(self, failure: str) -> None:
        """Log a failure and keep it for the error that ends a run with ``once``."""
        self._failure = failure
        log.warning("R2Z2 %s", failure)

    def _feed_failed(self, response: httpx.Response | None, totals: _Totals) -> _Next:
        """Count a failed feed request and pause; ``sequence.json`` is read again."""
        totals.backoffs += 1
        self._published = None
        return self._pause(response)

    def _database_failed(self, exc: Exception, totals: _Totals) -> _Next:
        """Pause after the database failed to store or to move the cursor."""
        if isinstance(exc, DatabaseUnavailable):
            # Its title names the state, such as "server unreachable".
            self._failure = f"database unavailable: {_first_line(exc)}"
        elif _is_connection_error(exc):
            self._failure = f"database unreachable: {_first_line(exc)}"
        else:
            self._failure = f"database error: {_first_line(exc)}"
        log.debug("R2Z2 follower database error", exc_info=True)
        totals.backoffs += 1
        return self._pause(None, database=True)

    def _pause(
        self, response: httpx.Response | None, *, database: bool = False
    ) -> _Next:
        """Wait before retrying after a failure of the feed or of the database.

        The two keep separate backoffs, so a database lost while the feed
        backs off starts at :attr:`backoff_seconds`, and the other way round.
        Raises :class:`FeedUnavailable` in place of the pause once a run
        with ``once`` has paused :data:`ONCE_RETRIES` times in a row for
        one of them.
        """
        step = self._database_step if database else self._backoff_step
        if self._once and step >= ONCE_RETRIES:
            tries = step + 1
            raise FeedUnavailable(
                "R2Z2 feed unavailable",
                f"{self._failure} ({tries} tries in a row); follow --once gives up",
                "check r2z2_url (EVEDMV_R2Z2_URL), the network and the database,"
                " then run it again. The position of the documents stored so far"
                " is saved.",
            )
        delay = self.backoff_seconds * 2.0**step
        delay = min(delay, self.max_backoff_seconds)
        if response is not None:
            requested = retry_after_seconds(response.headers.get("Retry-After"))
            if requested:
                delay = min(max(delay, requested), self.max_backoff_seconds)
        if database:
            self._database_step += 1
            log.warning("%s; retrying in %s", self._failure, format_duration(delay))
        else:
            self._backoff_step += 1
            log.warning("pausing the R2Z2 feed for %s", format_duration(delay))
        return _Next.STOP if self._sleep(delay) else _Next.RETRY


def _body_problem(body: bytes) -> _BadBody | None:
    """Return why ``body`` is not an R2Z2 document, or None when it is one.

    Only the envelope is checked: a document with a killmail id but a broken
    killmail is left to the importer, which rejects it by sequence number.
    """
    try:
        _head_decoder.decode(body)
    except msgspec.ValidationError as exc:
        return _other_shape(body) or _BadBody(f"is not an R2Z2 document ({exc})")
    except msgspec.DecodeError:
        return _BadBody("is not JSON")
    return None


def _other_shape(body: bytes) -> _BadBody | None:
    """Return the kind of a JSON document of another known shape, or None."""
    try:
        document = _generic_decoder.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    kind = _OTHER_SHAPES.get(classify(document))
    if kind is None:
        return None
    package = document.get("package")
    inner = package if isinstance(package, dict) else document
    killmail_id = inner.get("killID")
    if type(killmail_id) is not int or not 0 < killmail_id < 2**63:
        # The rejects table keeps killmail ids as bigint.
        killmail_id = None
    return _BadBody(f"is {kind}", other_shape=kind, killmail_id=killmail_id)


_YEAR_SECONDS = 365.25 * 86400


def format_duration(seconds: float) -> str:
    """Format a duration in the two largest units: ``12 s``, ``3 d 4 h``, ``5.0 y``.

    A second unit of 0 is left out: ``5 min``, not ``5 min 0 s``.
    """
    whole = round(abs(seconds))
    # A value that rounds to 0 has no sign: "-0 s" read as a fault.
    sign = "-" if seconds < 0 and whole else ""
    if whole >= _YEAR_SECONDS:
        return f"{sign}{abs(seconds) / _YEAR_SECONDS:.1f} y"
    if whole < 60:
        return f"{sign}{whole} s"
    if whole >= 86400:
        size, unit, small, small_unit = 86400, "d", 3600, "h"
    elif whole >= 3600:
        size, unit, small, small_unit = 3600, "h", 60, "min"
    else:
        size, unit, small, small_unit = 60, "min", 1, "s"
    text = f"{sign}{whole // size} {unit}"
    rest = whole % size // small
    if rest:
        text += f" {rest} {small_unit}"
    return text


def _envelope_facts(body: bytes) -> tuple[int | None, dt.datetime | None]:
    try:
        envelope = _envelope_decoder.decode(body)
    except msgspec.MsgspecError:
        return None, None
    killmail_time = envelope.esi.killmail_time if envelope.esi else None
    if killmail_time is not None and killmail_time.tzinfo is None:
        killmail_time = killmail_time.replace(tzinfo=dt.UTC)
    return envelope.killmail_id, killmail_time


def _is_connection_error(exc: Exception) -> bool:
    """Return whether a psycopg error means the connection is gone.

    A lost connection has no SQLSTATE, or one of class 08 (connection
    exception) or 57P (operator intervention, such as a shutdown). Others,
    such as a lock timeout (55P03), are errors of one statement.
    """
    sqlstate = getattr(exc, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
