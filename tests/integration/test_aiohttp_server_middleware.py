"""cognito_middleware, the aiohttp.web middleware, on a real aiohttp server on 127.0.0.1
against tokens the emulator issues: every RFC 6750 answer, exactly, and no token echoed."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from amplify_session import TokenVerifier
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.emulator._loopback import serve_on_loopback
from amplify_session.integrations.aiohttp_server import COGNITO, cognito_middleware
from tests.support.bearer_world import (
    REALM,
    ask,
    bearer_world,
    get,
    huge_header_answer,
    mismatches,
)

pytestmark = pytest.mark.anyio


def orders_api(verifier: TokenVerifier, handled: list[str]) -> web.Application:
    """``/orders/`` is a sub-application with its own middleware requiring the scope."""

    async def public(request: web.Request) -> web.Response:
        handled.append(request.path)
        return web.json_response({"public": True})

    async def me(request: web.Request) -> web.Response:
        handled.append(request.path)
        return web.json_response({"sub": request[COGNITO].payload["sub"]})

    orders = web.Application(
        middlewares=[cognito_middleware(verifier, required_scopes=["orders/write"], realm=REALM)]
    )
    orders.router.add_get("/write", me)
    app = web.Application(
        middlewares=[cognito_middleware(verifier, public_paths={"/public"}, realm=REALM)]
    )
    app.router.add_get("/public", public)
    app.router.add_get("/me", me)
    app.add_subapp("/orders/", orders)
    return app


async def test_every_answer_is_rfc_6750_s(
    pool: EmulatedPool, amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []
    async with bearer_world(amplify_emulator, pool) as world:
        caplog.set_level(logging.DEBUG)
        async with serve_on_loopback(orders_api(world.verifier, handled)) as base:
            answers = {case.name: await ask(base, case) for case in world.cases}
            huge = await huge_header_answer(f"{base}/me")
        assert mismatches(world, answers) == []
        assert huge is None or 400 <= huge < 500
        assert world.leaked(caplog.text) == []
    # Handlers ran for the accepted requests only.
    accepted = [case.path for case in world.cases if case.status == 200]
    assert handled == accepted
    assert '"sub":' in answers["a user's access token"].body
    assert answers["expired"].body == (
        '{"error": "invalid_token", "error_description": "the token has expired"}'
    )
    assert answers["missing header"].headers["Content-Type"].startswith("application/json")


async def test_public_paths_are_exact(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    handled: list[str] = []
    verifier = TokenVerifier(user_pool_id=pool.user_pool_id, client_id=pool.client_id)
    async with verifier, serve_on_loopback(orders_api(verifier, handled)) as base:
        for path in ("/public/", "/public/../me", "/PUBLIC", "/publicity"):
            answer = await get(base + path, {})
            assert answer.status in (401, 404), path
            assert (
                answer.status == 404 or answer.headers["WWW-Authenticate"] == 'Bearer realm="api"'
            )
        assert (await get(base + "/public", {})).status == 200
    assert handled == ["/public"]
