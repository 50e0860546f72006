"""A plain ASGI middleware that verifies ``Authorization: Bearer`` tokens (no framework).

::

    app = CognitoMiddleware(app, TokenVerifier(user_pool_id=..., client_id=...),
                            public_paths={"/health"})

The verified :class:`~amplify_session.JWT` is put in the request's
``scope["state"]["cognito"]`` (Starlette: ``request.state.cognito``), in a
copy of the state, so one request's token never shows in another's. A
request without a usable token is answered here, 401, or 403 when a scope or
group is missing, with RFC 6750's ``WWW-Authenticate`` challenge and a JSON
body; a refused WebSocket is closed before it is accepted (servers answer 403).
``lifespan`` and other scopes pass through. No extra is needed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from .._models import JWT
from .._verifier import TokenVerifier
from ._bearer import Refusal, authenticate, names

__all__ = ["CognitoMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PROTECTED = frozenset({"http", "websocket"})
_POLICY_VIOLATION = 1008  # the WebSocket close code for a refused client


class CognitoMiddleware:
    """Verifies the bearer token of every HTTP and WebSocket request but public ones.

    Args:
        app: The ASGI application behind it.
        verifier: Verifies the tokens (one pool or several).
        required_scopes: Scopes every verified request needs.
        required_groups: Groups (``cognito:groups``) every verified request needs.
        public_paths: Paths served without a token, matched exactly against
            ``scope["path"]``: no prefixes, so a new route is never public by accident.
        realm: The ``realm`` of the ``WWW-Authenticate`` challenge, if any.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        *,
        required_scopes: Collection[str] = (),
        required_groups: Collection[str] = (),
        public_paths: Collection[str] = (),
        realm: str | None = None,
    ) -> None:
        self._app = app
        self._verifier = verifier
        self._scopes = names(required_scopes)
        self._groups = names(required_groups)
        self._public = names(public_paths)
        self._realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its verified token, or answer it."""
        if scope["type"] not in _PROTECTED or scope.get("path") in self._public:
            await self._app(scope, receive, send)
            return
        result = await authenticate(
            self._verifier,
            _authorization(scope),
            scopes=self._scopes,
            groups=self._groups,
            realm=self._realm,
        )
        if isinstance(result, Refusal):
            await _refuse(scope, send, result)
            return
        await self._app(_with_token(scope, result), receive, send)


def _authorization(scope: Scope) -> list[str]:
    """Every Authorization header's value, in order."""
    return [
        bytes(value).decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"authorization"
    ]


def _with_token(scope: Scope, token: JWT) -> Scope:
    state = dict(scope.get("state") or {})
    state["cognito"] = token
    return {**scope, "state": state}


async def _refuse(scope: Scope, send: Send, refusal: Refusal) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
        return
    headers = [(b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in refusal.headers.items()]
    body = refusal.body
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
