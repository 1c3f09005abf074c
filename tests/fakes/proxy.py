"""A TCP proxy on 127.0.0.1 in front of a PostgreSQL unix socket.

Tests point the app at it to lose the server for real. ``stop()`` drops
every connection, as a server that shuts down does. Clearing ``flowing``
stops forwarding bytes while the sockets stay open, as a server or backend
stopped with SIGSTOP does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg


class PgProxy:
    """Forward 127.0.0.1:<port> to ``socket_path``; the port stays the same
    when the proxy starts again."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.port = 0
        self.flowing = asyncio.Event()
        """Set while the proxy forwards bytes. Cleared, it forwards nothing
        and closes nothing."""
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._serving: object | None = None
        """The token of the running server; stop() clears it, so a handler of
        a stopped server can tell."""

    async def start(self) -> None:
        token = self._serving = object()

        async def handle(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await self._handle(reader, writer, token)

        self._server = await asyncio.start_server(handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listening socket and every connection, flowing again."""
        assert self._server is not None
        self._serving = None
        self.flowing.set()
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    async def _handle(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        token: object,
    ) -> None:
        # A connection the kernel accepted before stop() can reach its
        # handler after stop() ran. Also, stop() closes only the client side
        # of a connection whose upstream is still opening. So the handler
        # checks the token and closes such connections itself.
        if token is not self._serving:
            writer.close()
            return
        self._writers.add(writer)
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(
            self.socket_path
        )
        if token is not self._serving:
            upstream_writer.close()
            writer.close()
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def proxy_for(db_url: str) -> AsyncIterator[PgProxy]:
    """Run a proxy to the server of ``db_url`` (a unix socket URL), stopped after."""
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    proxy = PgProxy(f"{params['host']}/.s.PGSQL.{params['port']}")
    await proxy.start()
    try:
        yield proxy
    finally:
        # A test may have stopped it already.
        with contextlib.suppress(AssertionError, OSError):
            await proxy.stop()
