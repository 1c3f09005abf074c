"""ESI client: killmails by id and hash, and batch name lookup.

Every request carries the configured User-Agent. The client follows ESI's
error limit: each response reports ``X-ESI-Error-Limit-Remain`` (errors left
in the current window) and ``X-ESI-Error-Limit-Reset`` (seconds until the
window resets). When few errors are left, the client waits for the reset
before it sends again, because ESI returns 420 to every request once the
limit is spent.

Routes under ESI's floating-window rate limit also report
``X-Ratelimit-Limit`` (such as ``150/15m``) and ``X-Ratelimit-Remaining``.
When few tokens are left for a route, the client spaces its requests to
that route by the window divided by the limit, the average rate at which
tokens come back.

420, 429 and 5xx responses and transport failures are retried a bounded
number of times, after ``Retry-After`` when the server sends one, else
after the window reset (420) or an exponential backoff. When the error
limit is nearly spent, the wait before a retry also covers the window
reset, so the client waits once, for the longer of the two.

A caller that runs many requests can pass a ``threading.Event`` as
``cancel``: once it is set, each request that has not yet got a usable
response raises :class:`EsiCancelled` before its next try. Its waits
(``Retry-After``, backoff, error-limit reset, rate-limit spacing) end as
soon as the event is set, so a cancel takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import msgspec

from evedmv_tui.config import Settings
from evedmv_tui.errors import EvedmvError

log = logging.getLogger(__name__)

ERROR_LIMIT_REMAIN = "X-ESI-Error-Limit-Remain"
ERROR_LIMIT_RESET = "X-ESI-Error-Limit-Reset"
RATE_LIMIT_LIMIT = "X-Ratelimit-Limit"
RATE_LIMIT_REMAINING = "X-Ratelimit-Remaining"
NAMES_MAX_IDS = 1000
"""``POST /universe/names/`` takes at most this many ids per request."""
RETRY_STATUSES = frozenset({420, 429, 500, 502, 503, 504})
MAX_DELAY_SECONDS = 300.0
"""Upper bound on any single wait, whatever a server requests."""


class EsiError(EvedmvError):
    """ESI rejected a request; ``status`` is the HTTP status, if one came back."""

    def __init__(
        self, title: str, message: str, hint: str | None = None, *, status: int | None
    ) -> None:
        super().__init__(title, message, hint)
        self.status = status


class EsiNotFound(EsiError):
    """404: for ``/universe/names/``, at least one id in the request is invalid."""


class EsiInvalidKillmail(EsiError):
    """422: ESI has no killmail for this id and hash."""


class EsiUnavailable(EsiError):
    """No usable response after every retry: network, 5xx, 420 or 429."""

    retry_after = False
    """True when the last failed response carried ``Retry-After``, with
    which the server requests that every client wait."""


class EsiCancelled(EsiError):
    """The caller's ``cancel`` event was set before a usable response came.

    ``tries`` is the number of requests sent and failed before the cancel.
    """

    def __init__(
        self, title: str, message: str, *, status: int | None, tries: int = 0
    ) -> None:
        super().__init__(title, message, status=status)
        self.tries = tries


class UniverseName(msgspec.Struct, frozen=True):
    """One row of the ``POST /universe/names/`` response."""

    id: int
    category: str
    name: str


_NAMES_DECODER = msgspec.json.Decoder(list[UniverseName])


def make_http_client(user_agent: str, *, timeout: float = 15.0) -> httpx.Client:
    """Return an httpx client that sends ``user_agent`` on every request."""
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        timeout=timeout,
        follow_redirects=True,
    )


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float:
    """Parse a ``Retry-After`` header (seconds or an HTTP date); 0 if absent."""
    if not value:
        return 0.0
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


_WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600}
_RATE_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smh])\s*$")


def rate_limit_interval(value: str | None) -> float | None:
    """Return the seconds per token of an ``X-Ratelimit-Limit`` like ``150/15m``."""
    match = _RATE_LIMIT.match(value or "")
    if match is None or int(match[1]) == 0:
        return None
    window = int(match[2]) * _WINDOW_UNITS[match[3]]
    return window / int(match[1])


def _header_int(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


class EsiClient:
    """A synchronous ESI client with error-limit pacing and bounded retries.

    Safe to share between threads: the pacing state is guarded by a lock
    and ``httpx.Client`` is thread-safe.

    Args:
        base_url: ESI root, such as ``https://esi.evetech.net/latest``.
        user_agent: sent on every request; ESI requests contact details in it.
        http: an httpx client to use; the default sends ``user_agent``.
        max_attempts: tries per request, counting the first one.
        error_limit_floor: when ``X-ESI-Error-Limit-Remain`` falls to this
            many or fewer, wait for the window reset before the next request.
        rate_limit_floor: when ``X-Ratelimit-Remaining`` of a route falls to
            this many or fewer, space requests to that route out.
        backoff_seconds: first delay of the exponential backoff.
        sleep: waits between tries; tests pass a recorder. None waits on
            the request's ``cancel`` event, so a cancel ends the wait.
    """

    def __init__(
        self,
        base_url: str,
        *,
        user_agent: str,
        http: httpx.Client | None = None,
        max_attempts: int = 4,
        error_limit_floor: int = 10,
        rate_limit_floor: int = 5,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http or make_http_client(user_agent)
        self.max_attempts = max_attempts
        self.error_limit_floor = error_limit_floor
        self.rate_limit_floor = rate_limit_floor
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._lock = threading.Lock()
        self._errors_remain: int | None = None
        self._reset_seconds: int | None = None
        self._route_spacing: dict[str, float] = {}
        """Seconds to wait before the next request to a route, by route."""
        self._rate_limit_remaining: dict[str, int] = {}
        """``X-Ratelimit-Remaining`` of the latest response, by route."""
        self.requests_sent = 0
        self.retries = 0

    @property
    def errors_remain(self) -> int | None:
        """``X-ESI-Error-Limit-Remain`` of the latest response, or None."""
        with self._lock:
            return self._errors_remain

    @property
    def reset_seconds(self) -> int | None:
        """``X-ESI-Error-Limit-Reset`` of the latest response, or None."""
        with self._lock:
            return self._reset_seconds

    @property
    def rate_limit_remaining(self) -> int | None:
        """The lowest ``X-Ratelimit-Remaining`` over routes, or None if unseen."""
        with self._lock:
            return min(self._rate_limit_remaining.values(), default=None)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> EsiClient:
        return cls(settings.esi_url, user_agent=settings.user_agent, **kwargs)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> EsiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Endpoints

    def killmail(
        self,
        killmail_id: int,
        killmail_hash: str,
        *,
        cancel: threading.Event | None = None,
    ) -> bytes:
        """Fetch ``GET /killmails/{id}/{hash}/`` and return the body as received.

        Args:
            killmail_id: the killmail id.
            killmail_hash: the killmail hash.
            cancel: when set, the request stops before its next try.

        Raises:
            EsiInvalidKillmail: ESI returned 422 (no such pair).
            EsiNotFound: ESI returned 404.
            EsiUnavailable: no usable response after every retry.
            EsiCancelled: ``cancel`` was set before a usable response came.
        """
        path = f"/killmails/{killmail_id}/{killmail_hash}/"
        response = self._request("GET", path, cancel=cancel)
        if response.status_code == 422:
            raise EsiInvalidKillmail(
                "killmail rejected by ESI",
                f"ESI has no killmail {killmail_id} with hash {killmail_hash}"
                f" (HTTP 422: {_error_text(response)})",
                "the hash is wrong; another source may bring the right one",
                status=422,
            )
        self._raise_for_status(response, path)
        return response.content

    def universe_names(self, ids: Sequence[int]) -> list[UniverseName]:
        """Resolve up to 1000 ids with ``POST /universe/names/``.

        Raises:
            EsiNotFound: at least one id is invalid (ESI rejects the whole
                request, so the caller must split it to find which).
            EsiUnavailable: no usable response after every retry.
        """
        if not ids:
            return []
        if len(ids) > NAMES_MAX_IDS:
            raise ValueError(f"at most {NAMES_MAX_IDS} ids per request, got {len(ids)}")
        path = "/universe/names/"
        response = self._request("POST", path, json=list(ids))
        self._raise_for_status(response, path)
        try:
            return _NAMES_DECODER.decode(response.content)
        except msgspec.DecodeError as exc:
            # A ValidationError is the DecodeError of JSON of the wrong shape.
            problem = (
                "is not a list of names"
                if isinstance(exc, msgspec.ValidationError)
                else "is not JSON"
            )
            raise EsiError(
                "unexpected ESI response",
                f"POST {path} returned a body that {problem}: {exc}",
                status=response.status_code,
            ) from None

    # Transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: object | None = None,
        cancel: threading.Event | None = None,
    ) -> httpx.Response:
        url = self.base_url + path
        route = _route(method, path)
        last_status: int | None = None
        retry_after = False
        for attempt in range(1, self.max_attempts + 1):
            _check_cancel(cancel, f"{method} {path}", last_status, attempt - 1)
            self._wait_for_error_window(cancel)
            self._wait_for_rate_limit(route, cancel)
            _check_cancel(cancel, f"{method} {path}", last_status, attempt - 1)
            try:
                response = self._http.request(method, url, json=json)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                last_status = None
                retry_after = False
                delay = self._backoff(attempt)
            else:
                self.requests_sent += 1
                self._note_error_limit(response)
                self._note_rate_limit(route, response)
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = f"HTTP {response.status_code}: {_error_text(response)}"
                last_status = response.status_code
                retry_after = "Retry-After" in response.headers
                delay = self._retry_delay(response, attempt)
            if attempt == self.max_attempts:
                break
            # The wait before the retry also covers a due error-limit reset,
            # so the next try does not wait for the reset again.
            delay = max(delay, self._take_error_window_wait())
            self.retries += 1
            log.warning(
                "ESI %s %s failed (%s); retry %d of %d in %.1f s",
                method,
                path,
                problem,
                attempt,
                self.max_attempts - 1,
                delay,
            )
            self._wait(delay, cancel)
        unavailable = EsiUnavailable(
            "ESI unavailable",
            f"{method} {path} failed {self.max_attempts} times; last: {problem}",
            "try again later; ESI may be down or limiting this client",
            status=last_status,
        )
        unavailable.retry_after = retry_after
        raise unavailable

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float:
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if not delay and response.status_code == 420:
            delay = float(_header_int(response, ERROR_LIMIT_RESET) or 0)
        if not delay:
            delay = self._backoff(attempt)
        return min(delay, MAX_DELAY_SECONDS)

    def _backoff(self, attempt: int) -> float:
        delay: float = self.backoff_seconds * 2.0 ** (attempt - 1)
        return min(delay, MAX_DELAY_SECONDS)

    def _note_error_limit(self, response: httpx.Response) -> None:
        remain = _header_int(response, ERROR_LIMIT_REMAIN)
        reset = _header_int(response, ERROR_LIMIT_RESET)
        if remain is None:
            return
        with self._lock:
            self._errors_remain = remain
            self._reset_seconds = reset

    def _note_rate_limit(self, route: str, response: httpx.Response) -> None:
        remaining = _header_int(response, RATE_LIMIT_REMAINING)
        interval = rate_limit_interval(response.headers.get(RATE_LIMIT_LIMIT))
        with self._lock:
            if remaining is not None:
                self._rate_limit_remaining[route] = remaining
            if remaining is None or interval is None:
                self._route_spacing.pop(route, None)
            elif remaining <= self.rate_limit_floor:
                self._route_spacing[route] = min(interval, MAX_DELAY_SECONDS)
            else:
                self._route_spacing.pop(route, None)

    def _wait(self, seconds: float, cancel: threading.Event | None) -> None:
        """Wait ``seconds``, or less when ``cancel`` is set meanwhile."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)

    def _wait_for_rate_limit(
        self, route: str, cancel: threading.Event | None = None
    ) -> None:
        # NOTE: each thread waits on its own, so N threads sharing the client
        # send up to N requests per interval while the route's tokens are low.
        with self._lock:
            delay = self._route_spacing.get(route)
        if delay:
            log.info("ESI rate limit for %s nearly spent; waiting %.1f s", route, delay)
            self._wait(delay, cancel)

    def _take_error_window_wait(self) -> float:
        """Return the wait for the error-limit reset if one is due, else 0.

        The caller must wait that long: the count is cleared here, since
        the window resets during the wait and the next response reports
        the new count.
        """
        due = self._take_error_window()
        return 0.0 if due is None else due[1]

    def _take_error_window(self) -> tuple[int, float] | None:
        """Return the errors left and the wait for the reset, if a wait is due."""
        with self._lock:
            remain, reset = self._errors_remain, self._reset_seconds
            if remain is None or remain > self.error_limit_floor or reset is None:
                return None
            self._errors_remain = None
        return remain, min(float(reset), MAX_DELAY_SECONDS)

    def _wait_for_error_window(self, cancel: threading.Event | None = None) -> None:
        due = self._take_error_window()
        if due is None:
            return
        remain, delay = due
        log.warning(
            "ESI error limit nearly spent (%d left); waiting %.0f s for the reset",
            remain,
            delay,
        )
        self._wait(delay, cancel)

    @staticmethod
    def _raise_for_status(response: httpx.Response, path: str) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = (
            f"{response.request.method} {path}: HTTP {status}: {_error_text(response)}"
        )
        if status == 404:
            raise EsiNotFound("not found on ESI", detail, status=status)
        raise EsiError("ESI request failed", detail, status=status)


def _check_cancel(
    cancel: threading.Event | None, request: str, status: int | None, tries: int
) -> None:
    """Raise :class:`EsiCancelled` when ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise EsiCancelled(
            "ESI request cancelled",
            f"{request} was cancelled after {tries} tries",
            status=status,
            tries=tries,
        )


def _route(method: str, path: str) -> str:
    """Return the route of a request path: its ids replaced by ``{}``."""
    parts = [
        "{}" if part.isdigit() or len(part) == 40 else part for part in path.split("/")
    ]
    return f"{method} {'/'.join(parts)}"


def _error_text(response: httpx.Response) -> str:
    """Return ESI's ``{"error": ...}`` message, or the start of the body."""
    try:
        document = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return str(document["error"])[:200]
    return response.text[:200]
