"""Where a command line's browser comes back to: a listener on 127.0.0.1 (RFC 8252 §7.3).

It listens on the port of the configured loopback redirect URI (Cognito
matches callback URLs exactly, so a real app client registers one, such as
``http://localhost:8765/callback``) or, without one, on a free port. Each
request to the redirect path is handed to the caller, who says what the
browser is shown; requests elsewhere (a favicon) get a 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import attrs

from ._errors import InvalidConfigurationException

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["LoopbackListener", "Redirect", "listen_for_redirects", "loopback_uri"]

_DEFAULT = "http://127.0.0.1/callback"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_PAGE = "<!doctype html><title>{title}</title><p>{text}</p>"


def loopback_uri(redirect_sign_in: tuple[str, ...]) -> str:
    """The loopback redirect URI among the configured ones (the first), or the default."""
    for uri in redirect_sign_in:
        parts = urlsplit(uri)
        if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
            return uri
    if redirect_sign_in:
        raise InvalidConfigurationException(
            "OAuthConfig.redirect_sign_in has no loopback URL for a local sign-in",
            recovery_suggestion="Register and configure one such as http://localhost:8765/callback.",
        )
    return _DEFAULT


@attrs.define
class Redirect:
    """One request that came back to the redirect path."""

    url: str = attrs.field(repr=False)  # carries the code
    _answer: asyncio.Future[tuple[int, str]] = attrs.field(alias="answer", repr=False)

    def reply(self, ok: bool, text: str) -> None:
        """What the browser is shown (200 or 400)."""
        if not self._answer.done():
            title = "Signed in" if ok else "Sign-in failed"
            self._answer.set_result((200 if ok else 400, _PAGE.format(title=title, text=text)))


@attrs.define
class LoopbackListener:
    """The redirect URI to give the authorize endpoint, and the redirects that come back."""

    redirect_uri: str
    _incoming: anyio.abc.ObjectReceiveStream[Redirect] = attrs.field(alias="incoming")

    async def next(self) -> Redirect:
        """The next request to the redirect path."""
        return await self._incoming.receive()


@asynccontextmanager
async def listen_for_redirects(configured: str) -> AsyncIterator[LoopbackListener]:
    """Listen on the loopback for ``configured`` (its port, or a free one when it names none)."""
    # Imported here: aiohttp's server side is heavy, and only a CLI sign-in needs it.
    from aiohttp import web

    parts = urlsplit(configured)
    path = parts.path or "/"
    host = "::1" if parts.hostname == "::1" else "127.0.0.1"  # localhost: its IPv4 address
    send, receive = anyio.create_memory_object_stream[Redirect](16)

    async def handle(request: web.Request) -> web.Response:
        answer: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        query = f"?{request.query_string}" if request.query_string else ""
        try:
            send.send_nowait(Redirect(url=f"{redirect_uri}{query}", answer=answer))
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            return web.Response(status=503, text="busy")
        status, page = await answer
        return web.Response(status=status, text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get(path, handle)
    # No access log: the request line carries the authorization code.
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1, access_log=None)
    async with send, receive:
        await runner.setup()
        try:
            await _start(web.TCPSite(runner, host, parts.port or 0), host, parts.port)
            port = runner.addresses[0][1]
            # Cognito matches callback URLs exactly: a registered one is sent as it is.
            redirect_uri = configured if parts.port else f"http://{parts.netloc}:{port}{parts.path}"
            yield LoopbackListener(redirect_uri=redirect_uri, incoming=receive)
        finally:
            await runner.cleanup()


async def _start(site: Any, host: str, port: int | None) -> None:
    try:
        await site.start()
    except OSError as exc:
        raise InvalidConfigurationException(
            f"cannot listen on {host}:{port} for the redirect ({exc.strerror})",
            recovery_suggestion="Free the port, or register another loopback redirect URL.",
        ) from None
