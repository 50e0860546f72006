"""aiohttp servers on a free port of 127.0.0.1, for the front and for test fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from aiohttp import web

__all__ = ["loopback_server", "serve_on_loopback"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve_on_loopback(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1; yields its base URL (``http://127.0.0.1:PORT``)."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def loopback_server(handler: Handler, paths: Sequence[str] = ("/",)) -> AsyncIterator[int]:
    """Serve ``handler`` for ``POST`` to ``paths`` on 127.0.0.1; yields the port."""
    app = web.Application()
    for path in paths:
        app.router.add_post(path, handler)
    async with serve_on_loopback(app) as url:
        yield int(url.rsplit(":", 1)[1])
