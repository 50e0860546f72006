"""CognitoMiddleware, the plain ASGI middleware, under a real uvicorn on 127.0.0.1 against
tokens the emulator issues: every RFC 6750 answer, exactly, and no token echoed."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest

from amplify_session import TokenVerifier
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.integrations.asgi import CognitoMiddleware
from tests.support.bearer_world import (
    REALM,
    ask,
    bearer_world,
    huge_header_answer,
    mismatches,
    uvicorn_server,
)

pytestmark = pytest.mark.anyio


class Recorder:
    """An ASGI app answering with what it was given: the verified token's claims."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            token = scope["state"]["cognito"]
            await send({"type": "websocket.send", "text": token.payload["sub"]})
            await send({"type": "websocket.close", "code": 1000})
            return
        token = scope.get("state", {}).get("cognito")
        body = json.dumps({"sub": None if token is None else token.payload["sub"]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def orders_api(verifier: TokenVerifier, inner: Recorder) -> Any:
    """``/orders/write`` goes through a middleware requiring the scope, the rest through
    one that lets ``/public`` by."""
    writers = CognitoMiddleware(inner, verifier, required_scopes=["orders/write"], realm=REALM)
    everyone = CognitoMiddleware(inner, verifier, public_paths={"/public"}, realm=REALM)

    async def route(scope: Any, receive: Any, send: Any) -> None:
        app = writers if scope.get("path") == "/orders/write" else everyone
        await app(scope, receive, send)

    return route


async def test_every_answer_is_rfc_6750_s(
    pool: EmulatedPool, amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    inner = Recorder()
    async with bearer_world(amplify_emulator, pool) as world:
        caplog.set_level(logging.DEBUG)
        async with uvicorn_server(orders_api(world.verifier, inner)) as base:
            answers = {case.name: await ask(base, case) for case in world.cases}
            huge = await huge_header_answer(f"{base}/me")
        assert mismatches(world, answers) == []
        assert huge is None or 400 <= huge < 500
        assert world.leaked(caplog.text) == []
    accepted = [case.path for case in world.cases if case.status == 200]
    assert [scope["path"] for scope in inner.scopes] == accepted
    assert json.loads(answers["public, no token"].body) == {"sub": None}
    assert json.loads(answers["a user's access token"].body) == {
        "sub": str(_sub(world.user_access))
    }
    assert answers["expired"].body == (
        '{"error": "invalid_token", "error_description": "the token has expired"}'
    )


def _sub(token: str) -> object:
    from amplify_session import decode_jwt

    return decode_jwt(token).payload["sub"]


async def test_websockets_are_verified_too(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    # Called as a server calls it (uvicorn here has no WebSocket library installed).
    inner = Recorder()
    async with bearer_world(amplify_emulator, pool) as world:
        app = CognitoMiddleware(inner, world.verifier)
        answers: list[dict[str, Any]] = []
        for authorization in (f"Bearer {world.user_access}", None):
            headers = [] if authorization is None else [(b"authorization", authorization.encode())]
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "websocket.connect"}

            async def send(message: Any, sent: list[dict[str, Any]] = sent) -> None:
                sent.append(dict(message))

            scope = {"type": "websocket", "path": "/me", "headers": headers}
            await app(scope, receive, send)
            answers.append(sent[-1])
    assert answers[0] == {"type": "websocket.close", "code": 1000}  # the app's own close
    assert answers[1] == {"type": "websocket.close", "code": 1008}  # refused before accept
    assert len(inner.scopes) == 1


async def test_one_request_s_token_is_not_in_another_s_state(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    shared_state: dict[str, Any] = {"app": "state"}
    inner = Recorder()
    async with bearer_world(amplify_emulator, pool) as world:
        app = CognitoMiddleware(inner, world.verifier, public_paths={"/public"})

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "state": shared_state}, receive, send)

        async with uvicorn_server(with_state) as base, aiohttp.ClientSession() as http:
            bearer = {"Authorization": f"Bearer {world.user_access}"}
            async with http.get(f"{base}/me", headers=bearer) as answer:
                assert answer.status == 200
            async with http.get(f"{base}/public") as answer:
                assert await answer.json() == {"sub": None}
    assert shared_state == {"app": "state"}
    assert inner.scopes[0]["state"]["app"] == "state"
