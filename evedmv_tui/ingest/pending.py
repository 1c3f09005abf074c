"""Fetch the bodies of pending killmails from ESI and import them.

A killmail is pending when a source named it by id and hash without its
body (zKillboard API lists, RedisQ or R2Z2 documents without ``esi``, an
``--offline`` import). :func:`fetch_pending` requests each pair with
``GET /killmails/{id}/{hash}/`` and imports the bodies through the shared
importer, which joins each body with the zkb block kept in ``pending_zkb``.

A pair ESI rejects with 422 is marked ``invalid`` and not tried again; a
later import that brings a different hash for the same id makes it pending
again (the writer does that). A pair that fails for another reason of its
own (a 404, a body of another killmail) stays pending, with ``attempts``,
``last_error`` and ``next_try_at`` updated: it is not requested again
before ``next_try_at``, and the wait doubles with each failed attempt, from
:data:`RETRY_FIRST_WAIT` up to :data:`RETRY_MAX_WAIT`. ESI counts every 4xx
against its error limit, so each import must not repeat them all.

Per-pair errors are logged at debug level; a run logs one summary line.

A pair that fails every retry with a 5xx status gets a wait like a 404
once ESI responded to another pair after it in the same batch. ESI has
killmails it always responds to with HTTP 500, and without a wait they
would be requested first in every run.
The run stops when ESI fails as a whole: :data:`OUTAGE_STREAK` pairs in a
row fail with 5xx, one pair fails with a 5xx that carries ``Retry-After``
(the server asks every client to wait), or ESI responded to no pair of a
batch. A 200 response whose body is not JSON, such as a maintenance page,
counts as a 5xx. NOTE: this assumes that the 500 ESI returns for one broken
killmail carries no ``Retry-After``; one that did would stop every run at
that pair.
When ESI is unreachable or limiting this client (420, 429), the first pair
that fails every retry stops the run. On a stop, the requests still running
give up before their next try, the pairs not yet sent are left alone, and
the summary gives the reason and how many due pairs the run did not try.
The pairs that failed because of the stop get no later ``next_try_at``,
because the fault is not theirs. A 404 or 422 concerns one pair only and
does not stop the run.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec

from evedmv_tui.esi import (
    EsiCancelled,
    EsiClient,
    EsiError,
    EsiInvalidKillmail,
    EsiUnavailable,
)
from evedmv_tui.ingest.hooks import BatchHook
from evedmv_tui.store.db import Database, NamedSql
from evedmv_tui.store.telemetry import operation

log = logging.getLogger(__name__)

SOURCE = "esi"

FETCH_PENDING_COMMAND = "evedmv import --pending"
"""The command that fetches the pending bodies without reading a file."""
LIST_INVALID_COMMAND = "evedmv rejects list --invalid"
"""The command that lists the pairs ESI rejected as invalid."""
OFFLINE_SETTINGS = (
    "the global --offline, EVEDMV_OFFLINE=1, or offline = true in config.toml"
)
"""The settings that make every command and the dashboard offline."""

RETRY_FIRST_WAIT = datetime.timedelta(minutes=15)
"""Wait after a pair's first failed fetch, doubled after each further one."""
RETRY_MAX_WAIT = datetime.timedelta(days=1)
"""Maximum wait between two fetches of one failing pair."""
OUTAGE_STREAK = 5
"""Pairs in a row that fail every retry with 5xx without ``Retry-After``
before a run stops.

It exceeds the default of 4 concurrent requests, so the few pairs that ESI
always responds to with 5xx, requested together, do not stop a run."""

_SELECT_PENDING = NamedSql(
    "pending.select",
    "SELECT killmail_id, killmail_hash FROM killmail_index"
    " WHERE state = 'pending' AND killmail_hash IS NOT NULL AND killmail_id > %s"
    " AND (next_try_at IS NULL OR next_try_at <= now())"
    " ORDER BY killmail_id LIMIT %s",
)
_SELECT_WAITING = NamedSql(
    "pending.select_waiting",
    "SELECT count(*), min(next_try_at) FROM killmail_index"
    " WHERE state = 'pending' AND next_try_at > now()",
)
_MARK_INVALID = NamedSql(
    "pending.mark_invalid",
    "UPDATE killmail_index AS k SET state = 'invalid', attempts = k.attempts + 1,"
    " last_error = u.error, updated_at = now()"
    " FROM unnest(%s::bigint[], %s::text[], %s::text[])"
    " AS u(killmail_id, killmail_hash, error)"
    " WHERE k.killmail_id = u.killmail_id AND k.killmail_hash = u.killmail_hash"
    " AND k.state = 'pending'",
)
# The first two parameters are the first and the maximum wait in seconds.
# k.attempts is the count before this failure, so a first failure waits the first wait.
_MARK_FAILED = NamedSql(
    "pending.mark_failed",
    "UPDATE killmail_index AS k SET attempts = k.attempts + 1,"
    " last_error = u.error, updated_at = now(),"
    " next_try_at = now() + make_interval(secs =>"
    " least(%s * power(2, least(k.attempts, 30)), %s))"
    " FROM unnest(%s::bigint[], %s::text[], %s::text[])"
    " AS u(killmail_id, killmail_hash, error)"
    " WHERE k.killmail_id = u.killmail_id AND k.killmail_hash = u.killmail_hash"
    " AND k.state = 'pending'",
)
_MARK_UNAVAILABLE = NamedSql(
    "pending.mark_unavailable",
    "UPDATE killmail_index AS k SET attempts = k.attempts + 1,"
    " last_error = u.error, updated_at = now()"
    " FROM unnest(%s::bigint[], %s::text[], %s::text[])"
    " AS u(killmail_id, killmail_hash, error)"
    " WHERE k.killmail_id = u.killmail_id AND k.killmail_hash = u.killmail_hash"
    " AND k.state = 'pending'",
)
_COUNT_DUE_AFTER = NamedSql(
    "pending.count_due_after",
    "SELECT count(*) FROM killmail_index"
    " WHERE state = 'pending' AND killmail_hash IS NOT NULL AND killmail_id > %s"
    " AND (next_try_at IS NULL OR next_try_at <= now())",
)
_COUNT_PENDING = NamedSql(
    "pending.count", "SELECT count(*) FROM killmail_index WHERE state = 'pending'"
)
_STILL_PENDING = NamedSql(
    "pending.still_pending",
    "SELECT killmail_id, killmail_hash FROM killmail_index"
    " WHERE killmail_id = ANY(%s::bigint[]) AND state = 'pending'",
)


class ImportCounts(Protocol):
    """The counters of an import summary that the fetcher reads."""

    @property
    def inserted(self) -> int: ...
    @property
    def rejected(self) -> int: ...


ImportBodies = Callable[[Database, list[bytes], Sequence[BatchHook]], ImportCounts]
"""Import raw ESI killmail bodies and return the importer's summary."""


def import_esi_bodies(
    db: Database, bodies: list[bytes], after_batch: Sequence[BatchHook]
) -> ImportCounts:
    """Import ESI bodies through the shared importer."""
    from evedmv_tui.ingest.importer import import_records

    summary: ImportCounts = import_records(
        db, bodies, source=SOURCE, after_batch=after_batch
    )
    return summary


@dataclasses.dataclass(frozen=True, slots=True)
class PendingSummary:
    """Counts of one :func:`fetch_pending` run."""

    requested: int
    """Pending pairs requested; pairs the stop left unsent are not counted."""
    stored: int
    """Bodies fetched and stored."""
    invalid: int
    """Pairs ESI rejected with 422, now marked invalid."""
    failed: int
    """Pairs left pending after another error; tried again after their wait."""
    stop_reason: str | None = None
    """The reason the run stopped before the last pair, or None if it did not."""
    errors: tuple[tuple[str, int], ...] = ()
    """The most common kinds of error of pairs that failed for a reason of
    their own, with their counts. A kind names no killmail id, so alike
    errors of different killmails count together."""
    waiting: int = 0
    """Pending pairs not requested because their next try is still ahead."""
    next_try_at: datetime.datetime | None = None
    """The earliest next try of the waiting pairs."""
    unavailable_failed: int = 0
    """Failed pairs, of ``failed``, that failed because ESI as a whole was
    unavailable; they wait for no next try."""
    still_pending: int | None = None
    """Killmails pending in the whole database after the run, or None if
    not counted."""
    not_tried: int = 0
    """Due pairs the run did not request because it stopped early; they
    stay pending without a wait."""

    @property
    def stopped_early(self) -> bool:
        """True when ESI became unavailable and the run ended before the last pair."""
        return self.stop_reason is not None

    def __str__(self) -> str:
        text = (
            f"{self.requested:,} requested, {self.stored:,} stored,"
            f" {self.invalid:,} invalid, {self.failed:,} failed"
        )
        listed = ", ".join(f"{count:,} × {error}" for error, count in self.errors)
        own_failures = self.failed - self.unavailable_failed
        more = own_failures - sum(count for _, count in self.errors)
        if self.errors and more > 0:
            listed += f" and {more:,} more"
        if self.unavailable_failed:
            listed += ", " if listed else ""
            listed += (
                f"{self.unavailable_failed:,} × ESI unavailable, tried again"
                " without a wait"
            )
        if listed:
            text += f" ({listed})"
        if self.stop_reason is not None:
            untried = "pair was" if self.not_tried == 1 else "pairs were"
            text += (
                f" (stopped early because {self.stop_reason};"
                f" {self.not_tried:,} due {untried} not tried and stay pending)"
            )
        if self.still_pending is not None:
            text += f"; {self.still_pending:,} still pending in total"
        if self.waiting:
            text += f"; {self._waiting_text()}"
        return text

    def _waiting_text(self) -> str:
        single = self.waiting == 1
        noun = "killmail waits" if single else "killmails wait"
        when = "later"
        if self.next_try_at is not None:
            utc = self.next_try_at.astimezone(datetime.UTC)
            when = f"from {utc:%Y-%m-%d %H:%M} UTC on"
        return (
            f"{self.waiting:,} pending {noun} for a retry after failing:"
            f" '{FETCH_PENDING_COMMAND}' or any 'evedmv import PATH' {when}"
            f" retries {'it' if single else 'them'},"
            " and each further failure doubles the wait, up to a day. Run the"
            " import with -vv (evedmv -vv import PATH) to see each killmail's"
            " error"
        )


def count_pending(db: Database) -> int:
    """Return how many killmails in the database are pending."""
    return int(db.fetch_value(_COUNT_PENDING) or 0)


@dataclasses.dataclass(frozen=True, slots=True)
class OfflineSetting:
    """A setting in force that makes a command offline."""

    name: str
    """The setting as given, such as ``EVEDMV_OFFLINE=1``."""
    undo: str
    """The step that lifts it, such as ``unset EVEDMV_OFFLINE``."""


def join_words(words: Sequence[str]) -> str:
    """Return ``a``, ``a and b`` or ``a, b and c``."""
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def describe_pending_hint(pending: int, offline: Sequence[OfflineSetting] = ()) -> str:
    """Return what pending means and the command that fetches the bodies.

    ``offline`` lists the settings in force that made this run offline;
    without them the text names every setting that can.
    """
    noun = "killmail is" if pending == 1 else "killmails are"
    text = (
        f"{pending:,} {noun} pending: known by id and hash, with the body not"
        f" fetched from ESI yet. Run '{FETCH_PENDING_COMMAND}' to fetch"
        f" {'it' if pending == 1 else 'them'}"
    )
    if offline:
        names = join_words([setting.name for setting in offline])
        verb = "made" if len(offline) == 1 else "together made"
        steps = join_words([setting.undo for setting in offline])
        return (
            f"{text}; {names} {verb} this run offline, and fetching contacts"
            f" ESI, so first {steps}."
        )
    return (
        f"{text}; it contacts ESI, so it is refused while offline ({OFFLINE_SETTINGS})."
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Pair:
    killmail_id: int
    killmail_hash: str


class _BodyId(msgspec.Struct):
    killmail_id: int | None = None


_body_id_decoder = msgspec.json.Decoder(_BodyId)


@dataclasses.dataclass(slots=True)
class _Outcomes:
    bodies: list[tuple[_Pair, bytes]] = dataclasses.field(default_factory=list)
    invalid: list[tuple[_Pair, str]] = dataclasses.field(default_factory=list)
    failed: list[tuple[_Pair, str]] = dataclasses.field(default_factory=list)
    """Pairs that failed for a reason of their own; they wait before a retry."""
    unavailable_failed: list[tuple[_Pair, str]] = dataclasses.field(
        default_factory=list
    )
    """Pairs that failed because ESI was unavailable; they may be retried at once."""
    cut_short: int = 0
    """Pairs left as they were because the run stopped before they were sent."""
    unavailable: EsiUnavailable | None = None
    """The failure that stopped the run, or None if ESI did not fail as a whole."""
    answered: bool = False
    """True once ESI responded to a pair of the run with a status other than 5xx."""
    interrupted: bool = False
    """True when Ctrl-C stopped the fetch; the caller stores what came, then stops."""


def fetch_pending(
    db: Database,
    client: EsiClient,
    *,
    after_batch: Sequence[BatchHook] = (),
    limit: int | None = None,
    batch_size: int = 200,
    workers: int = 4,
    import_bodies: ImportBodies = import_esi_bodies,
) -> PendingSummary:
    """Fetch and import the bodies of pending killmails, in id order.

    Args:
        db: the application database.
        client: ESI client; its error-limit pacing is shared by all workers.
        after_batch: hooks run after each committed import batch.
        limit: try at most this many pairs; None tries every pending pair.
        batch_size: pairs fetched, then imported as one batch.
        workers: concurrent ESI requests.
        import_bodies: the import function, replaceable in tests.
    """
    requested = stored = failed = unavailable_failed = not_tried = 0
    invalid_ids: list[int] = []
    errors: collections.Counter[str] = collections.Counter()
    stop_reason: str | None = None
    answered = False
    last_id = 0
    with (
        operation("pending.fetch"),
        concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="esi-fetch"
        ) as pool,
    ):
        while limit is None or requested < limit:
            size = batch_size if limit is None else min(batch_size, limit - requested)
            pairs = [
                _Pair(row[0], row[1])
                for row in db.fetch_all(_SELECT_PENDING, (last_id, size))
            ]
            if not pairs:
                break
            last_id = pairs[-1].killmail_id
            outcomes = _fetch_all(pool, client, pairs, answered=answered)
            answered = outcomes.answered
            requested += len(pairs) - outcomes.cut_short
            stored_now, rejected = _import(db, outcomes, after_batch, import_bodies)
            stored += stored_now
            outcomes.failed.extend(rejected)
            _mark(db, _MARK_INVALID, outcomes.invalid)
            _mark(db, _MARK_FAILED, outcomes.failed, _wait_params())
            _mark(db, _MARK_UNAVAILABLE, outcomes.unavailable_failed)
            if outcomes.interrupted:
                raise KeyboardInterrupt
            invalid_ids.extend(p.killmail_id for p, _ in outcomes.invalid)
            errors.update(_error_kind(error) for _, error in outcomes.failed)
            failed += len(outcomes.failed) + len(outcomes.unavailable_failed)
            unavailable_failed += len(outcomes.unavailable_failed)
            if outcomes.unavailable is not None:
                stop_reason = _stop_reason(outcomes.unavailable)
                later = int(db.fetch_value(_COUNT_DUE_AFTER, (last_id,)) or 0)
                not_tried = outcomes.cut_short + later
                if limit is not None:
                    not_tried = min(not_tried, limit - requested)
                log.warning(
                    "stopped fetching pending killmails because %s; %d due"
                    " pairs were not tried in this run and stay pending",
                    stop_reason,
                    not_tried,
                )
                break
    _warn_invalid(invalid_ids)
    waiting, next_try_at = _waiting(db)
    still_pending = count_pending(db)
    summary = PendingSummary(
        requested,
        stored,
        len(invalid_ids),
        failed,
        stop_reason,
        tuple(errors.most_common(_ERRORS_SHOWN)),
        waiting,
        next_try_at,
        unavailable_failed,
        still_pending,
        not_tried,
    )
    if requested or waiting:
        log.info("fetched pending killmails: %s", summary)
    return summary


_ERRORS_SHOWN = 3
"""Distinct errors a summary names; it counts the pairs of the others."""
_INVALID_IDS_SHOWN = 5


def _error_kind(error: str) -> str:
    """Return the kind of a pair's error, without the ids it names.

    An ESI error loses its ``GET /path/`` prefix and a body problem its
    details, so alike errors of different killmails count together.
    """
    for problem in _BODY_PROBLEMS:
        if error.startswith(problem):
            return problem
    method, _, rest = error.partition(" /")
    if method.isupper() and ": " in rest:
        return rest.split(": ", 1)[1]
    return error


def _wait_params() -> tuple[float, float]:
    return RETRY_FIRST_WAIT.total_seconds(), RETRY_MAX_WAIT.total_seconds()


def _waiting(db: Database) -> tuple[int, datetime.datetime | None]:
    row = db.fetch_one(_SELECT_WAITING)
    if row is None:
        return 0, None
    return int(row[0]), row[1]


def _warn_invalid(killmail_ids: list[int]) -> None:
    """Log one warning naming the first pairs ESI rejected as invalid."""
    if not killmail_ids:
        return
    listed = ", ".join(str(i) for i in killmail_ids[:_INVALID_IDS_SHOWN])
    more = len(killmail_ids) - _INVALID_IDS_SHOWN
    if more > 0:
        listed += f" and {more:,} more"
    noun = "killmail" if len(killmail_ids) == 1 else "killmails"
    log.warning(
        "ESI rejected the hash of %d %s as invalid (%s): they are not stored"
        " and not requested again. Check the ids and hashes in the files they"
        " came from; an import with the right hash requests them again."
        " '%s' lists them all.",
        len(killmail_ids),
        noun,
        listed,
        LIST_INVALID_COMMAND,
    )


def _stop_reason(exc: EsiUnavailable) -> str:
    """Return the reason ESI counts as unavailable, from a pair's last failure."""
    if isinstance(exc, _NotJson):
        cause = "ESI returns pages that are not JSON"
    elif exc.status is None:
        cause = "ESI is unreachable"
    elif exc.status == 420:
        cause = "ESI's error limit is spent"
    elif exc.status == 429:
        cause = "ESI is rate-limiting this client"
    else:
        cause = f"ESI is failing (HTTP {exc.status})"
    return f"{cause}: {exc.message}"


def _fetch_all(
    pool: concurrent.futures.Executor,
    client: EsiClient,
    pairs: list[_Pair],
    *,
    answered: bool,
) -> _Outcomes:
    """Fetch the pairs, and stop the rest once ESI fails as a whole.

    ``answered`` is True when ESI responded to a pair earlier in the run.
    """
    outcomes = _Outcomes(answered=answered)
    stop = threading.Event()
    lock = threading.Lock()
    failures_in_row = 0

    def fetch(pair: _Pair) -> bytes:
        nonlocal failures_in_row
        try:
            body = client.killmail(pair.killmail_id, pair.killmail_hash, cancel=stop)
            _check_json(pair, body)
        except EsiCancelled:
            raise
        except EsiUnavailable as exc:
            # Set here, not when the result is read, so that no worker
            # starts another pair in between.
            with lock:
                failures_in_row += 1
                if (
                    not _is_server_error(exc)
                    or exc.retry_after
                    or failures_in_row >= OUTAGE_STREAK
                ):
                    stop.set()
            raise
        except EsiError:
            with lock:
                failures_in_row = 0
            raise
        with lock:
            failures_in_row = 0
        return body

    # 5xx failures since ESI last responded, in the order they completed.
    streak: list[tuple[_Pair, str]] = []

    def note_answer() -> None:
        outcomes.answered = True
        if outcomes.unavailable is None:
            # ESI responded after them, so these pairs failed on their own.
            outcomes.failed.extend(streak)
            streak.clear()

    futures = {pool.submit(fetch, p): p for p in pairs}
    last_failure: EsiUnavailable | None = None
    collected: set[concurrent.futures.Future[bytes]] = set()

    def collect(future: concurrent.futures.Future[bytes]) -> None:
        nonlocal last_failure
        collected.add(future)
        pair = futures[future]
        if future.cancelled():
            outcomes.cut_short += 1
            return
        try:
            body = future.result()
        except EsiCancelled as exc:
            if exc.tries:
                # Sent and failed before the stop: ESI was unavailable for it too.
                outcomes.unavailable_failed.append((pair, exc.message))
            else:
                outcomes.cut_short += 1
            return
        except EsiInvalidKillmail as exc:
            log.debug(
                "ESI rejected killmail %d with hash %s as invalid: %s",
                pair.killmail_id,
                pair.killmail_hash,
                exc.message,
            )
            outcomes.invalid.append((pair, exc.message))
            note_answer()
            return
        except EsiUnavailable as exc:
            log.debug("fetching killmail %d failed: %s", pair.killmail_id, exc.message)
            last_failure = exc
            if outcomes.unavailable is not None:
                outcomes.unavailable_failed.append((pair, exc.message))
                return
            streak.append((pair, exc.message))
            if stop.is_set():
                outcomes.unavailable = exc
                outcomes.unavailable_failed.extend(streak)
                streak.clear()
                for waiting in futures:
                    waiting.cancel()
            return
        except EsiError as exc:
            log.debug("fetching killmail %d failed: %s", pair.killmail_id, exc.message)
            outcomes.failed.append((pair, exc.message))
            note_answer()
            return
        note_answer()
        problem = _body_problem(pair, body)
        if problem is not None:
            log.debug("ESI body of killmail %d: %s", pair.killmail_id, problem)
            outcomes.failed.append((pair, problem))
            return
        outcomes.bodies.append((pair, body))

    try:
        for future in concurrent.futures.as_completed(futures):
            collect(future)
    except KeyboardInterrupt:
        # Ctrl-C: no pair starts after it, and the requests running give up
        # before their next try or at once when they wait for one. What
        # came before is kept; the caller imports it and stops.
        stop.set()
        for waiting in futures:
            waiting.cancel()
        outcomes.interrupted = True
        for future in concurrent.futures.as_completed(futures.keys() - collected):
            collect(future)
    if streak:
        if outcomes.answered and not outcomes.interrupted:
            outcomes.failed.extend(streak)
        else:
            # ESI responded to no pair of the run so far, or Ctrl-C cut the
            # retries short: the fault is not the pairs'.
            outcomes.unavailable_failed.extend(streak)
            outcomes.unavailable = last_failure
    return outcomes


def _is_server_error(exc: EsiUnavailable) -> bool:
    """Return True for a 5xx or a page that is not JSON, which can concern
    one killmail only."""
    if isinstance(exc, _NotJson):
        return True
    return exc.status is not None and exc.status >= 500


class _NotJson(EsiUnavailable):
    """ESI responded with HTTP 200 and a body that is not JSON.

    A maintenance page or a proxy's page is ESI's fault, not the pair's, so
    it counts like a 5xx and sets no wait on the pair.
    """


def _check_json(pair: _Pair, body: bytes) -> None:
    """Raise :class:`_NotJson` when ``body`` is not JSON."""
    try:
        msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise _NotJson(
            "ESI unavailable",
            f"GET /killmails/{pair.killmail_id}/{pair.killmail_hash}/ returned"
            f" HTTP 200 with a body that is not JSON ({exc}): {body[:80]!r}",
            status=200,
        ) from None


_NOT_A_KILLMAIL = "ESI returned a body that is not a killmail"
_OTHER_KILLMAIL = "ESI returned the body of another killmail"
_BODY_PROBLEMS = (_NOT_A_KILLMAIL, _OTHER_KILLMAIL)


def _body_problem(pair: _Pair, body: bytes) -> str | None:
    try:
        found = _body_id_decoder.decode(body).killmail_id
    except msgspec.MsgspecError as exc:
        return f"{_NOT_A_KILLMAIL}: {exc}"
    if found != pair.killmail_id:
        return f"{_OTHER_KILLMAIL}: killmail_id {found} for killmail {pair.killmail_id}"
    return None


def _import(
    db: Database,
    outcomes: _Outcomes,
    after_batch: Sequence[BatchHook],
    import_bodies: ImportBodies,
) -> tuple[int, list[tuple[_Pair, str]]]:
    """Import the fetched bodies; return the count stored and the pairs still
    pending because the importer rejected their body."""
    if not outcomes.bodies:
        return 0, []
    bodies = [body for _, body in sorted(outcomes.bodies, key=_pair_id)]
    counts = import_bodies(db, bodies, after_batch)
    if not counts.rejected:
        return len(bodies), []
    fetched = [pair for pair, _ in outcomes.bodies]
    rows = db.fetch_all(_STILL_PENDING, ([p.killmail_id for p in fetched],))
    still = {(row[0], row[1]) for row in rows}
    rejected = [
        (pair, "the ESI body was rejected by the importer; see 'evedmv rejects list'")
        for pair in fetched
        if (pair.killmail_id, pair.killmail_hash) in still
    ]
    return len(bodies) - len(rejected), rejected


def _pair_id(entry: tuple[_Pair, bytes]) -> int:
    return entry[0].killmail_id


def _mark(
    db: Database,
    statement: NamedSql,
    pairs: list[tuple[_Pair, str]],
    leading: tuple[float, ...] = (),
) -> None:
    """Run ``statement`` for the pairs; ``leading`` are parameters before theirs."""
    if not pairs:
        return
    db.execute(
        statement,
        (
            *leading,
            [p.killmail_id for p, _ in pairs],
            [p.killmail_hash for p, _ in pairs],
            [error[:500] for _, error in pairs],
        ),
    )
