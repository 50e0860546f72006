"""A small aiohttp API that accepts only valid Cognito access tokens.

It checks the signature against the user pool's JWKS, the issuer, the
token use, the app client and the expiry, and answers 401 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import aiohttp
from aiohttp import web
from jose import JWTError, jwt

from amplify_session import SessionManager
from amplify_session.integrations.aiohttp import BearerAuth
from amplify_session.testing import EmulatedPool, Emulator


def make_api(jwks: dict[str, Any], issuer: str, client_id: str) -> web.Application:
    async def profile(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, jwks, algorithms=["RS256"], issuer=issuer)
        except JWTError:
            raise web.HTTPUnauthorized() from None
        if claims.get("token_use") != "access" or claims.get("client_id") != client_id:
            raise web.HTTPUnauthorized()
        left = int(claims["exp"] - time.time())
        return web.json_response({"user": claims["username"], "expires_in": left})

    app = web.Application()
    app.router.add_get("/profile", profile)
    return app


def pool_keys(emulator: Emulator, pool: EmulatedPool) -> dict[str, Any]:
    url = f"{emulator.url}/{pool.user_pool_id}/.well-known/jwks.json"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


async def main(emulator: Emulator) -> None:
    pool = emulator.provision()
    issuer = f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.user_pool_id}"
    runner = web.AppRunner(make_api(pool_keys(emulator, pool), issuer, pool.client_id))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 8766).start()
    try:
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.get("http://127.0.0.1:8766/profile") as response,
        ):
            print("without a token:", response.status)
        async with SessionManager(pool.config()) as manager:
            await manager.sign_in(pool.username, pool.password)
            async with (
                aiohttp.ClientSession(middlewares=(BearerAuth(manager),)) as http,
                http.get("http://127.0.0.1:8766/profile") as response,
            ):
                print("with the session's token:", response.status, await response.json())
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    with Emulator() as running:
        asyncio.run(main(running))
