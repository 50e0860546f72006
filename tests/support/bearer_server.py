"""An API on 127.0.0.1 that accepts only valid Cognito bearer tokens (python-jose)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
from aiohttp import web
from jose import JWTError, jwt

from amplify_session.emulator._loopback import serve_on_loopback


@attrs.define
class BearerServer:
    jwks: dict[str, Any]
    client_id: str
    token_use: str = "access"
    clock_offset: float = 0.0  # pretend the server's clock is this far ahead
    revoked: set[str] = attrs.field(factory=set)  # revoked jti claims
    tokens_seen: list[str] = attrs.field(factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        self.tokens_seen.append(token)
        claims = self._verify(token) if header.startswith("Bearer ") else None
        if claims is None:
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response({"sub": claims["sub"]})

    def _verify(self, token: str) -> dict[str, Any] | None:
        try:
            claims = jwt.decode(
                token,
                self.jwks,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False},
            )
        except JWTError:
            return None
        audience = claims.get("client_id" if self.token_use == "access" else "aud")
        if (
            claims.get("token_use") != self.token_use
            or audience != self.client_id
            or claims.get("jti") in self.revoked
            or claims["exp"] <= time.time() + self.clock_offset
        ):
            return None
        return claims


@asynccontextmanager
async def bearer_server(
    jwks: dict[str, Any], client_id: str, **kw: Any
) -> AsyncIterator[BearerServer]:
    server = BearerServer(jwks, client_id, **kw)
    app = web.Application()
    app.router.add_get("/me", server.handle)
    async with serve_on_loopback(app) as base:
        server.url = f"{base}/me"
        yield server
