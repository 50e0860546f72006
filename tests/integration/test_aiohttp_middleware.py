"""The aiohttp bearer middleware against an API that verifies Cognito tokens."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import aiohttp
import pytest

from amplify_session import SessionManager, UserUnAuthenticatedException
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.integrations.aiohttp import BearerAuth
from tests.support.bearer_server import bearer_server

pytestmark = pytest.mark.anyio


def _jwks(emulator: Emulator, pool: EmulatedPool) -> dict[str, Any]:
    url = f"{emulator.url}/{pool.user_pool_id}/.well-known/jwks.json"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


async def test_requests_carry_the_access_token(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with (
        bearer_server(_jwks(amplify_emulator, pool), pool.client_id) as api,
        SessionManager(pool.config()) as manager,
    ):
        await manager.sign_in(pool.username, pool.password)
        async with aiohttp.ClientSession(middlewares=(BearerAuth(manager),)) as http:
            for _ in range(3):
                async with http.get(api.url) as response:
                    assert response.status == 200
                    body = await response.json()
        session = await manager.fetch_auth_session()
    assert session.tokens is not None
    assert body["sub"] == session.user_sub
    assert api.tokens_seen == [str(session.tokens.access_token)] * 3


async def test_a_401_forces_one_refresh_and_one_retry(
    pool: EmulatedPool, amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        bearer_server(_jwks(amplify_emulator, pool), pool.client_id) as api,
        SessionManager(pool.config(identity_pool_id=None)) as manager,
    ):
        await manager.sign_in(pool.username, pool.password)
        before = await manager.fetch_auth_session()
        assert before.tokens is not None
        api.revoked.add(before.tokens.access_token.payload["jti"])  # the API revoked it
        async with (
            aiohttp.ClientSession(middlewares=(BearerAuth(manager),)) as http,
            http.get(api.url) as response,
        ):
            assert response.status == 200
        after = await manager.fetch_auth_session()
    assert after.tokens is not None
    assert api.tokens_seen == [str(before.tokens.access_token), str(after.tokens.access_token)]
    assert amplify_emulator.front.calls["InitiateAuth"] == 2  # the sign-in, one refresh
    for token in api.tokens_seen:
        assert token not in caplog.text


async def test_it_never_loops(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    # The API's clock is two hours ahead: every token looks expired to it.
    jwks = _jwks(amplify_emulator, pool)
    async with (
        bearer_server(jwks, pool.client_id, clock_offset=7200) as api,
        SessionManager(pool.config(identity_pool_id=None)) as manager,
    ):
        await manager.sign_in(pool.username, pool.password)
        async with (
            aiohttp.ClientSession(middlewares=(BearerAuth(manager),)) as http,
            http.get(api.url) as response,
        ):
            assert response.status == 401
    assert len(api.tokens_seen) == 2
    assert amplify_emulator.front.calls["InitiateAuth"] == 2


async def test_the_id_token_when_asked(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    jwks = _jwks(amplify_emulator, pool)
    async with (
        bearer_server(jwks, pool.client_id, token_use="id") as api,
        SessionManager(pool.config(identity_pool_id=None)) as manager,
    ):
        await manager.sign_in(pool.username, pool.password)
        async with (
            aiohttp.ClientSession(middlewares=(BearerAuth(manager, token="id"),)) as http,
            http.get(api.url) as response,
        ):
            assert response.status == 200


async def test_signed_out_sends_nothing(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    async with (
        bearer_server(_jwks(amplify_emulator, pool), pool.client_id) as api,
        SessionManager(pool.config(identity_pool_id=None)) as manager,
        aiohttp.ClientSession(middlewares=(BearerAuth(manager),)) as http,
    ):
        with pytest.raises(UserUnAuthenticatedException):
            await http.get(api.url)
    assert api.tokens_seen == []
