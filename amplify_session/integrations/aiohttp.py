"""An aiohttp client middleware (aiohttp >= 3.12) that sends the session's bearer token.

::

    async with aiohttp.ClientSession(middlewares=(BearerAuth(manager),)) as http:
        async with http.get("https://api.example.com/me") as response:
            ...

Each request carries ``Authorization: Bearer <token>`` from
``fetch_auth_session()`` (the cached session while it is fresh). On a 401 the
middleware forces one refresh and retries once with the new token: it never
loops, and it never logs a token.
"""

from __future__ import annotations

import logging
from typing import Literal

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse, hdrs

from .._errors import InvalidParameterException, UserUnAuthenticatedException
from .._manager import SessionManager
from .._models import AuthSession

__all__ = ["BearerAuth"]

_log = logging.getLogger("amplify_session.aiohttp")


class BearerAuth:
    """Adds the session's access (or id) token to every request; refreshes once on 401.

    Args:
        manager: The session manager.
        token: ``"access"`` (the default) or ``"id"``.
    """

    def __init__(
        self,
        manager: SessionManager,
        *,
        token: Literal["access", "id"] = "access",  # noqa: S107 (which token, not a secret)
    ) -> None:
        if token not in ("access", "id"):
            raise InvalidParameterException("token must be 'access' or 'id'")
        self._manager = manager
        self._which = token

    def __repr__(self) -> str:
        return f"BearerAuth(token={self._which!r})"

    async def __call__(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        """Send ``request`` with the bearer token; on 401 refresh once and resend."""
        request.headers[hdrs.AUTHORIZATION] = self._bearer(await self._manager.fetch_auth_session())
        response = await handler(request)
        if response.status != 401:
            return response
        where = request.url.with_query(None)  # a query string may carry secrets
        _log.info("%s %s answered 401; refreshing the session once", request.method, where)
        response.release()
        session = await self._manager.fetch_auth_session(force_refresh=True)
        request.headers[hdrs.AUTHORIZATION] = self._bearer(session)
        return await handler(request)

    def _bearer(self, session: AuthSession) -> str:
        tokens = session.tokens
        if tokens is None:
            jwt = None
        elif self._which == "id":
            jwt = tokens.id_token
        else:
            jwt = tokens.access_token
        if jwt is None:
            raise UserUnAuthenticatedException(
                f"no {self._which} token to send: nobody is signed in",
                recovery_suggestion="Call sign_in() first.",
            )
        return f"Bearer {jwt.to_string()}"
