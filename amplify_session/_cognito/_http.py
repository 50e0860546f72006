"""The default transport: Cognito's JSON 1.1 calls over one aiohttp session."""

from __future__ import annotations

import asyncio

import aiohttp

from .._config import AuthConfig
from .._errors import InvalidStateException
from ._wire import CognitoRequest, CognitoResponse, Service

__all__ = ["AiohttpTransport", "LoopSession"]

_CONTENT_TYPE = "application/x-amz-json-1.1"


class LoopSession:
    """One aiohttp ClientSession, opened lazily on the running event loop.

    The session belongs to the event loop it was opened on, and is closed
    when that loop stops; on another loop (a later ``asyncio.run``) a new one
    is opened. ``limit``: connections at most (aiohttp's connector limit).
    """

    def __init__(self, timeout: float, *, limit: int = 100) -> None:
        self._timeout = timeout
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._keeper: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        """Whether a session is open."""
        return self._session is not None and not self._session.closed

    def client(self) -> aiohttp.ClientSession:
        """The session of the running loop, opened now if need be."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed and self._loop is loop:
            return session
        if session is not None and self._loop is not None and self._loop.is_running():
            # Another thread's loop uses it: aiohttp's session is bound to that loop.
            raise InvalidStateException(
                "these connections are in use on another event loop",
                recovery_suggestion="Make one CognitoClient per event loop (thread).",
            )
        # A session of another (stopped) loop was closed by its keeper as that loop stopped.
        session = self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._limit),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        )
        self._loop = loop
        self._keeper = loop.create_task(
            _close_when_cancelled(session), name="amplify_session-connections"
        )
        return session

    async def aclose(self) -> None:
        """Close the session; a later :meth:`client` opens a new one.

        Connections in use on another thread's running loop are left to it: its
        keeper closes them as that loop stops.
        """
        keeper = self._keeper
        here = _running_loop()
        if keeper is not None and not keeper.done():
            owner = keeper.get_loop()
            if owner is not here and owner.is_running():
                return
        session, self._session, self._keeper = self._session, None, None
        if keeper is not None and not keeper.done() and keeper.get_loop() is here:
            keeper.cancel()  # it closes the session
            await asyncio.wait([keeper])
        elif session is not None and not session.closed:
            await session.close()


class AiohttpTransport:
    """Sends Cognito API calls over one aiohttp ClientSession (a :class:`LoopSession`).

    ``session``: the connections to use (shared with the pool's OAuth domain
    when the client has one); by default its own.
    """

    def __init__(self, config: AuthConfig, session: LoopSession | None = None) -> None:
        self._config = config
        self._session = session if session is not None else LoopSession(config.request_timeout)

    def __repr__(self) -> str:
        return f"AiohttpTransport(open={self._session.is_open})"

    async def send(self, request: CognitoRequest) -> CognitoResponse:
        """POST ``request`` to its pool's endpoint; raises aiohttp's or the OS's errors."""
        url = (
            self._config.user_pool_url
            if request.service is Service.USER_POOL
            else self._config.identity_pool_url
        )
        async with self._session.client().post(
            url,
            data=request.body,
            headers={"Content-Type": _CONTENT_TYPE, "X-Amz-Target": request.target},
        ) as response:
            text = await response.text(encoding="utf-8", errors="replace")
            return CognitoResponse(response.status, text, response.headers)

    async def aclose(self) -> None:
        """Close the HTTP session; the transport can be used again afterwards."""
        await self._session.aclose()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _close_when_cancelled(session: aiohttp.ClientSession) -> None:
    """Keep ``session`` until cancelled, then close it.

    The event loop's shutdown (the end of ``asyncio.run``) cancels every task,
    so connections are closed even when the manager never was: a manager used
    from successive ``asyncio.run`` calls then opens a new session each time
    rather than reusing one whose loop is gone.
    """
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        await session.close()
