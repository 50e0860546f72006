"""Call an API with the session's bearer token (aiohttp client middleware).

A 401 makes the middleware refresh the session once and retry once.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from amplify_session import SessionManager
from amplify_session.emulator import Emulator
from amplify_session.integrations.aiohttp import BearerAuth


async def whoami(request: web.Request) -> web.Response:
    # A stand-in API; see aiohttp_server.py for one that verifies the token.
    has_token = request.headers.get("Authorization", "").startswith("Bearer ")
    return web.json_response({"authenticated": has_token}, status=200 if has_token else 401)


async def main(emulator: Emulator) -> None:
    app = web.Application()
    app.router.add_get("/whoami", whoami)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 8765).start()
    pool = emulator.provision()
    try:
        async with SessionManager(pool.config()) as manager:
            await manager.sign_in(pool.username, pool.password)
            async with (
                aiohttp.ClientSession(middlewares=(BearerAuth(manager),)) as http,
                http.get("http://127.0.0.1:8765/whoami") as response,
            ):
                print(response.status, await response.json())
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    with Emulator() as running:
        asyncio.run(main(running))
