"""A TCP proxy on 127.0.0.1 whose listening socket can be closed: connection refused."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class CuttableProxy:
    """Forwards bytes to ``target_port``; :meth:`cut` refuses connections until :meth:`restore`.

    It counts the connections clients open to it: ``accepted`` in all, ``open``
    now, ``peak`` the most open at once (exact, not sampled).
    """

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.accepted = self.open = self.peak = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def restore(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and drop every open connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # Connections first: since Python 3.12, wait_closed() waits for them to end.
        for writer in list(self._writers):
            writer.close()
        if server is not None:
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            await self._forward(reader, writer)
        finally:
            self.open -= 1

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except asyncio.CancelledError:
            pass  # the test's event loop is closing: this connection simply ends
        finally:
            for each in (writer, up_writer):
                self._writers.discard(each)
                each.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.close()


@asynccontextmanager
async def cuttable_proxy(target_url: str) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(int(target_url.rstrip("/").rsplit(":", 1)[1]))
    await proxy.restore()
    try:
        yield proxy
    finally:
        await proxy.cut()
