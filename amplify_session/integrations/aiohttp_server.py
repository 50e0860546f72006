"""An aiohttp.web middleware that verifies ``Authorization: Bearer`` tokens.

::

    verifier = TokenVerifier(user_pool_id=..., client_id=...)
    app = web.Application(middlewares=[cognito_middleware(verifier, public_paths={"/health"})])

    async def me(request: web.Request) -> web.Response:
        return web.json_response({"sub": request[COGNITO].payload["sub"]})

A handler finds the verified :class:`~amplify_session.JWT` at
``request[COGNITO]``. A request without a usable token is answered 401, one
whose token lacks a scope or group 403, with RFC 6750's ``WWW-Authenticate``
challenge and a JSON body (``error``, ``error_description``); the handler is
not called. aiohttp is a core dependency: no extra is needed.
"""

from __future__ import annotations

from collections.abc import Collection

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from .._models import JWT
from .._verifier import TokenVerifier
from ._bearer import Refusal, authenticate, names

__all__ = ["COGNITO", "cognito_middleware"]

#: Where the middleware puts the verified token: ``request[COGNITO]``.
COGNITO: web.RequestKey[JWT] = web.RequestKey("cognito", JWT)


def cognito_middleware(
    verifier: TokenVerifier,
    *,
    required_scopes: Collection[str] = (),
    required_groups: Collection[str] = (),
    public_paths: Collection[str] = (),
    realm: str | None = None,
) -> Middleware:
    """A middleware verifying every request's bearer token but those to ``public_paths``.

    Args:
        verifier: Verifies the tokens (one pool or several).
        required_scopes: Scopes every verified request needs.
        required_groups: Groups (``cognito:groups``) every verified request needs.
        public_paths: Paths served without a token, matched exactly against
            ``request.path`` (``{"/health", "/"}``): no prefixes, so a new
            route is never public by accident.
        realm: The ``realm`` of the ``WWW-Authenticate`` challenge, if any.
    """
    scopes, groups, public = names(required_scopes), names(required_groups), names(public_paths)

    @web.middleware
    async def verify_bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in public:
            return await handler(request)
        result = await authenticate(
            verifier,
            request.headers.getall(hdrs.AUTHORIZATION, []),
            scopes=scopes,
            groups=groups,
            realm=realm,
        )
        if isinstance(result, Refusal):
            return web.Response(
                status=result.status,
                body=result.body,
                content_type="application/json",
                headers=result.headers,
            )
        request[COGNITO] = result
        return await handler(request)

    return verify_bearer
