"""A real HTTP server on 127.0.0.1 that serves ESI and R2Z2 response shapes.

One :class:`FakeServer` serves three route families from in-memory tables:

- ``POST /esi/universe/names/``: like ESI, the whole request fails with 404
  when any id is unknown, 400 when the body is not a list of at most 1000
  unique integers.
- ``GET /esi/killmails/{id}/{hash}/``: the stored body, or 422 for a pair
  that it does not hold, which is what ESI returns for a wrong hash.
- ``GET /r2z2/sequence.json`` and ``GET /r2z2/<n>.json``: zKillboard's R2Z2
  feed, 404 for a sequence number not published yet.

Every ESI response carries ``X-ESI-Error-Limit-Remain`` and
``X-ESI-Error-Limit-Reset``, and each 4xx or 5xx lowers the remaining count,
as ESI does. Replies queued with :meth:`FakeServer.queue` are served before
the tables, for 420, 429, 403 or 5xx cases. Every request is recorded, so a
test can count them and check their headers.
"""

from __future__ import annotations

import collections
import dataclasses
import http.server
import json
import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ESI_NAMES_MAX_IDS = 1000
NAMES_INVALID_ERROR = "Ensure all IDs are valid before resolving."
KILLMAIL_INVALID_ERROR = "Invalid killmail_id and/or killmail_hash"
ERROR_LIMITED_ERROR = "This software has exceeded the error limit for ESI."

_KILLMAIL_PATH = re.compile(r"^/esi/killmails/(\d+)/([^/]*)/$")
_FEED_PATH = re.compile(r"^/r2z2/(\d+)\.json$")

# Keys that EVE Ref archives and zKillboard add next to the ESI fields; ESI
# itself never returns them.
_NON_ESI_KEYS = ("killmail_hash", "http_last_modified", "zkb")


@dataclasses.dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """A canned response that :meth:`FakeServer.queue` serves once."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, document: object, headers: dict[str, str] | None = None
    ) -> Reply:
        return cls(status, json.dumps(document).encode(), dict(headers or {}))

    @classmethod
    def error(
        cls, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Reply:
        return cls.json(status, {"error": message}, headers)


def esi_body(document: dict[str, Any]) -> bytes:
    """Return ``document`` as ESI would serve it: without archive or zkb keys."""
    plain = {k: v for k, v in document.items() if k not in _NON_ESI_KEYS}
    return json.dumps(plain, separators=(",", ":")).encode()


class FakeServer:
    """ESI and R2Z2 on one loopback port, with programmable failures."""

    def __init__(self) -> None:
        self.killmails: dict[tuple[int, str], bytes] = {}
        self.names: dict[int, tuple[str, str]] = {}
        """Entity id to (category, name), as ``/universe/names/`` returns them."""
        self.feed: dict[int, bytes] = {}
        """R2Z2 sequence number to document body."""
        self.feed_sequence: int | None = None
        """The number ``sequence.json`` returns; None means the highest in ``feed``."""
        self.error_limit_remain = 100
        self.error_limit_reset = 60
        self.requests: list[RecordedRequest] = []
        self._queued: list[tuple[str, str, collections.deque[Reply]]] = []
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), _handler_class(self)
        )
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-http",
            daemon=True,
        )

    # Lifecycle

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def esi_url(self) -> str:
        return f"{self.url}/esi"

    @property
    def r2z2_url(self) -> str:
        return f"{self.url}/r2z2"

    # Programming

    def queue(self, method: str, path_prefix: str, *replies: Reply) -> None:
        """Serve ``replies`` in order to the next requests matching the prefix."""
        with self._lock:
            self._queued.append(
                (method.upper(), path_prefix, collections.deque(replies))
            )

    def add_killmail(self, document: dict[str, Any], killmail_hash: str) -> None:
        """Serve an ESI killmail at ``/killmails/{id}/{hash}/``."""
        self.killmails[int(document["killmail_id"]), killmail_hash] = esi_body(document)

    def add_names(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """Make ``/universe/names/`` resolve each ``(id, category, name)``."""
        for entity_id, category, name in rows:
            self.names[entity_id] = (category, name)

    def publish(self, sequence: int, document: dict[str, Any] | bytes) -> None:
        """Publish an R2Z2 document under ``sequence`` (again: a republish)."""
        body = document if isinstance(document, bytes) else json.dumps(document)
        self.feed[sequence] = body.encode() if isinstance(body, str) else body

    # Inspection

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == method.upper() and r.path.startswith(path_prefix)
            ]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # Serving

    def _take_queued(self, method: str, path: str) -> Reply | None:
        with self._lock:
            for queued_method, prefix, replies in self._queued:
                if queued_method == method and path.startswith(prefix) and replies:
                    return replies.popleft()
        return None

    def respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
        reply = self._take_queued(request.method, request.path)
        if reply is None:
            reply = self._route(request)
        if request.path.startswith("/esi/"):
            reply = self._with_error_limit(reply)
        return reply

    def _with_error_limit(self, reply: Reply) -> Reply:
        with self._lock:
            if reply.status >= 400 and self.error_limit_remain > 0:
                self.error_limit_remain -= 1
            headers = {
                "X-ESI-Error-Limit-Remain": str(self.error_limit_remain),
                "X-ESI-Error-Limit-Reset": str(self.error_limit_reset),
            }
        headers.update(reply.headers)
        return dataclasses.replace(reply, headers=headers)

    def _route(self, request: RecordedRequest) -> Reply:
        path = request.path
        if request.method == "POST" and path == "/esi/universe/names/":
            return self._names(request.body)
        if request.method == "GET":
            match = _KILLMAIL_PATH.match(path)
            if match:
                body = self.killmails.get((int(match[1]), match[2]))
                if body is None:
                    return Reply.error(422, KILLMAIL_INVALID_ERROR)
                return Reply(200, body)
            if path == "/r2z2/sequence.json":
                return self._sequence()
            match = _FEED_PATH.match(path)
            if match:
                document = self.feed.get(int(match[1]))
                if document is None:
                    return Reply(404, b"")
                return Reply(200, document)
        return Reply.error(404, "Not found")

    def _names(self, body: bytes) -> Reply:
        try:
            ids = json.loads(body)
        except ValueError:
            return Reply.error(400, "request body is not JSON")
        if (
            not isinstance(ids, list)
            or not ids
            or not all(type(i) is int for i in ids)
            or len(ids) > ESI_NAMES_MAX_IDS
            or len(set(ids)) != len(ids)
        ):
            return Reply.error(400, "ids must be 1 to 1000 unique integers")
        if any(i not in self.names for i in ids):
            return Reply.error(404, NAMES_INVALID_ERROR)
        rows = [
            {"category": self.names[i][0], "id": i, "name": self.names[i][1]}
            for i in ids
        ]
        return Reply.json(200, rows)

    def _sequence(self) -> Reply:
        sequence = self.feed_sequence
        if sequence is None:
            if not self.feed:
                return Reply(404, b"")
            sequence = max(self.feed)
        return Reply.json(200, {"sequence": sequence})


def _handler_class(server: FakeServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = RecordedRequest(
                self.command,
                parts.path,
                parts.query,
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            reply = server.respond(request)
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json; charset=UTF-8"}
            headers.update(reply.headers)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# Readers for the real data files that tests build responses from.


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
