"""A FastAPI (and Starlette) dependency that verifies ``Authorization: Bearer`` tokens.

::

    bearer = CognitoBearer(TokenVerifier(user_pool_id=..., client_id=...))

    @app.get("/orders")
    async def orders(token: JWT = Depends(bearer.requiring(scopes=["orders/read"]))):
        return {"user": token.payload["sub"]}

The route gets the verified :class:`~amplify_session.JWT`; a request without
a usable token gets 401 (``WWW-Authenticate: Bearer`` alone when there is no
bearer token, with ``error="invalid_token"`` when it is invalid or expired),
and a genuine token without the scope or group gets 403
(``error="insufficient_scope"``), as RFC 6750 says. The route also shows in
the OpenAPI document as needing an HTTP bearer JWT. Needs the ``fastapi`` extra.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import HTTPException, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from .._models import JWT
from .._verifier import TokenVerifier
from ._bearer import Refusal, authenticate, names

__all__ = ["CognitoBearer"]


class CognitoBearer(SecurityBase):
    """A dependency (``Depends(bearer)``) returning the request's verified token.

    Args:
        verifier: Verifies the tokens (one pool or several).
        required_scopes: Scopes every route using this dependency needs.
        required_groups: Groups (``cognito:groups``) every such route needs.
        realm: The ``realm`` of the ``WWW-Authenticate`` challenge, if any.
        scheme_name: The security scheme's name in the OpenAPI document.

    Raises:
        fastapi.HTTPException: 401, 403, 400 (a malformed header) or 503 (the
            keys could not be fetched), with the RFC 6750 challenge.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        required_scopes: Collection[str] = (),
        required_groups: Collection[str] = (),
        realm: str | None = None,
        scheme_name: str | None = None,
    ) -> None:
        self.model = HTTPBearerModel(bearerFormat="JWT")
        self.scheme_name = scheme_name or "CognitoBearer"
        self._verifier = verifier
        self._scopes = names(required_scopes)
        self._groups = names(required_groups)
        self._realm = realm

    def __repr__(self) -> str:
        return f"CognitoBearer(scopes={sorted(self._scopes)!r}, groups={sorted(self._groups)!r})"

    def requiring(
        self, *, scopes: Collection[str] = (), groups: Collection[str] = ()
    ) -> CognitoBearer:
        """The same dependency, also requiring ``scopes`` and ``groups`` (for one route)."""
        return CognitoBearer(
            self._verifier,
            required_scopes=self._scopes | names(scopes),
            required_groups=self._groups | names(groups),
            realm=self._realm,
            scheme_name=self.scheme_name,
        )

    async def __call__(self, request: Request) -> JWT:
        """The verified token of ``request``, or an HTTPException saying why not."""
        result = await authenticate(
            self._verifier,
            request.headers.getlist("authorization"),
            scopes=self._scopes,
            groups=self._groups,
            realm=self._realm,
        )
        if isinstance(result, Refusal):
            raise HTTPException(result.status, detail=result.description, headers=result.headers)
        return result
