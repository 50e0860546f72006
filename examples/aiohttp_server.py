"""A small aiohttp API that accepts only valid Cognito access tokens (TokenVerifier).

The verifier checks the signature against the user pool's JWKS (cached), the
issuer, the token use, the app client and the expiry; the API answers 401
otherwise.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web

from amplify_session import InvalidTokenException, SessionManager, TokenVerifier
from amplify_session.emulator import Emulator
from amplify_session.integrations.aiohttp import BearerAuth

VERIFIER = web.AppKey("verifier", TokenVerifier)


async def profile(request: web.Request) -> web.Response:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    try:
        claims = (await request.app[VERIFIER].verify(token)).payload
    except InvalidTokenException as err:
        raise web.HTTPUnauthorized(text=err.message) from None
    left = int(claims["exp"] - time.time())
    return web.json_response({"user": claims["username"], "expires_in": left})


async def main(emulator: Emulator) -> None:
    pool = emulator.provision()
    verifier = TokenVerifier(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        jwks_url=f"{emulator.url}/{pool.user_pool_id}/.well-known/jwks.json",  # the emulator's
    )
    app = web.Application()
    app[VERIFIER] = verifier
    app.router.add_get("/profile", profile)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 8766).start()
    try:
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.get("http://127.0.0.1:8766/profile") as response,
        ):
            print("without a token:", response.status, await response.text())
        async with SessionManager(pool.config()) as manager:
            await manager.sign_in(pool.username, pool.password)
            async with (
                aiohttp.ClientSession(middlewares=(BearerAuth(manager),)) as http,
                http.get("http://127.0.0.1:8766/profile") as response,
            ):
                print("with the session's token:", response.status, await response.json())
    finally:
        await runner.cleanup()
        await verifier.aclose()


if __name__ == "__main__":
    with Emulator() as running:
        asyncio.run(main(running))
