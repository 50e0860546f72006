"""Machine-to-machine sessions (client_credentials) through the emulator's OAuth domain.

The app client's own token: obtained, renewed in the background before it
expires, scoped, sent by BearerAuth to an API that verifies it; a refused
secret ends the session once; a 503 keeps the valid token served.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import aiohttp
import anyio
import pytest

from amplify_session import (
    ClientCredentialsConfig,
    EventName,
    OAuthError,
    SessionManager,
    TokenVerifier,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.emulator._moto_backend import client_of
from amplify_session.integrations.aiohttp import BearerAuth
from tests.support.bearer_server import bearer_server
from tests.support.m2m import machine_pool, pool_config
from tests.support.retry import fast_retry

pytestmark = pytest.mark.anyio


def short_lived(pool: EmulatedPool, **overrides: Any) -> ClientCredentialsConfig:
    """4-second tokens renewed 1 s before expiry."""
    return pool_config(pool, refresh_window=1.0, expiry_tolerance=0.25, **overrides)


async def test_the_token_is_obtained_scoped_and_verifies(amplify_emulator: Emulator) -> None:
    pool = machine_pool(amplify_emulator)
    async with SessionManager(pool_config(pool)) as machine:
        events = machine.events()
        session = await machine.fetch_auth_session()
        again = await machine.fetch_auth_session()
        await events.aclose()
        names = [event.name async for event in events]
    assert session.tokens is not None
    assert again is session  # served from memory
    token = session.tokens.access_token
    assert token.payload["scope"] == "orders/read orders/write"
    assert "username" not in token.payload
    assert token.payload["sub"] == pool.client_id
    assert names == [EventName.SIGNED_IN]
    assert amplify_emulator.front.calls["OAuth2Token"] == 1
    async with TokenVerifier(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        user_pool_endpoint=pool.endpoint,
        required_scopes=("orders/read",),
    ) as verifier:
        verified = await verifier.verify(str(token))
    assert verified.payload["client_id"] == pool.client_id


async def test_it_is_renewed_in_the_background_before_it_expires(
    amplify_emulator: Emulator,
) -> None:
    pool = machine_pool(amplify_emulator, lifetime=4)
    async with SessionManager(short_lived(pool)) as machine:
        events = machine.events()
        first = (await machine.fetch_auth_session()).tokens
        assert first is not None
        expires = first.access_token.payload["exp"]
        with anyio.fail_after(10):  # the renewal is asked for, then its answer lands
            while amplify_emulator.front.calls["OAuth2Token"] < 2:
                await anyio.sleep(0.05)
            while (renewed := (await machine.fetch_auth_session()).tokens) == first:
                await anyio.sleep(0.05)
        await events.aclose()
        names = [event.name async for event in events]
    assert renewed is not None
    assert str(renewed.access_token) != str(first.access_token)
    requested = [when for when, op in amplify_emulator.front.timeline if op == "OAuth2Token"]
    assert requested[1] < expires  # before the first token expired, nobody waiting on it
    assert names[:2] == [EventName.SIGNED_IN, EventName.TOKEN_REFRESH]


async def test_bearer_auth_sends_it_to_an_api_that_verifies_it(
    amplify_emulator: Emulator,
) -> None:
    pool = machine_pool(amplify_emulator)
    url = f"{amplify_emulator.url}/{pool.user_pool_id}/.well-known/jwks.json"
    jwks = await anyio.to_thread.run_sync(_read_json, url)
    async with (
        bearer_server(jwks, pool.client_id) as api,
        SessionManager(pool_config(pool)) as machine,
        aiohttp.ClientSession(middlewares=(BearerAuth(machine),)) as http,
    ):
        for _ in range(3):
            async with http.get(api.url) as response:
                assert response.status == 200
                assert (await response.json())["sub"] == pool.client_id
    assert amplify_emulator.front.calls["OAuth2Token"] == 1


def _read_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _rotate_secret(pool: EmulatedPool) -> None:
    """The app client's secret changes at Cognito (a rotation): ours is refused from now on."""
    _, client = client_of(pool.client_id)
    client.secret = "rotated-" + client.secret


async def test_a_refused_secret_ends_the_session_once_and_stops_asking(
    amplify_emulator: Emulator,
) -> None:
    pool = machine_pool(amplify_emulator, lifetime=4)
    async with SessionManager(short_lived(pool)) as machine:
        events = machine.events()
        assert (await machine.fetch_auth_session()).tokens is not None
        _rotate_secret(pool)
        with anyio.fail_after(10):
            while await machine.is_authenticated():
                await anyio.sleep(0.05)
        asked = amplify_emulator.front.calls["OAuth2Token"]
        await anyio.sleep(2.5)  # the background loop does not ask again by itself
        assert amplify_emulator.front.calls["OAuth2Token"] == asked
        with pytest.raises(OAuthError) as caught:
            await machine.fetch_auth_session()  # a caller asks again, and is told why
        await events.aclose()
        names = [event.name async for event in events]
    assert caught.value.name == "invalid_client"
    assert pool.client_secret not in str(caught.value)
    assert names.count(EventName.SIGNED_OUT) == 1
    assert names[:3] == [
        EventName.SIGNED_IN,
        EventName.TOKEN_REFRESH_FAILURE,
        EventName.SIGNED_OUT,
    ]


async def test_a_503_keeps_the_valid_token_served_and_it_is_renewed_after(
    amplify_emulator: Emulator,
) -> None:
    pool = machine_pool(amplify_emulator, lifetime=4)
    async with SessionManager(short_lived(pool, retry=fast_retry(1))) as machine:
        first = (await machine.fetch_auth_session()).tokens
        assert first is not None
        amplify_emulator.front.inject("OAuth2Token", 503)
        served: list[str] = []
        with anyio.fail_after(10):
            while True:  # every fetch answers at once, with a token, until the renewal
                session = await machine.fetch_auth_session()
                assert session.tokens is not None
                served.append(str(session.tokens.access_token))
                if served[-1] != str(first.access_token):
                    break
                await anyio.sleep(0.02)
        assert await machine.is_authenticated()
    assert amplify_emulator.front.injected["OAuth2Token"] == 1
    assert amplify_emulator.front.calls["OAuth2Token"] == 3  # obtained, refused, renewed
    assert served.count(str(first.access_token)) == len(served) - 1
    _refused, renewed = [t for t, op in amplify_emulator.front.timeline if op == "OAuth2Token"][1:]
    assert renewed < first.access_token.payload["exp"]


async def test_a_process_restarted_on_the_same_storage_adopts_the_stored_token(
    amplify_emulator: Emulator, tmp_path: Any
) -> None:
    from amplify_session import FileStorage

    pool = machine_pool(amplify_emulator)
    storage_path = tmp_path / "machine.json"
    async with SessionManager(pool_config(pool), storage=FileStorage(storage_path)) as one:
        first = (await one.fetch_auth_session()).tokens
    async with SessionManager(pool_config(pool), storage=FileStorage(storage_path)) as two:
        second = (await two.fetch_auth_session()).tokens
    assert first is not None
    assert second is not None
    assert str(second.access_token) == str(first.access_token)
    assert amplify_emulator.front.calls["OAuth2Token"] == 1


async def test_sign_out_forgets_the_token_and_the_next_fetch_asks_for_a_new_one(
    amplify_emulator: Emulator,
) -> None:
    pool = machine_pool(amplify_emulator)
    async with SessionManager(pool_config(pool)) as machine:
        first = (await machine.fetch_auth_session()).tokens
        result = await machine.sign_out()
        await anyio.sleep(0.3)  # signed out: the loop does not ask by itself
        assert amplify_emulator.front.calls["OAuth2Token"] == 1
        second = (await machine.fetch_auth_session()).tokens
    assert result.storage_cleared
    assert first is not None
    assert second is not None
    assert str(second.access_token) != str(first.access_token)
    assert amplify_emulator.front.calls["OAuth2Token"] == 2


async def test_a_process_whose_secret_is_refused_does_not_sign_the_fleet_out(
    amplify_emulator: Emulator, redis_url: str
) -> None:
    from amplify_session.storage.redis import RedisStorage

    pool = machine_pool(amplify_emulator)
    stale = pool_config(pool, client_secret="an-old-secret-from-before-a-rotation")
    async with (
        RedisStorage.from_url(redis_url, prefix="m2m-good") as good_storage,
        RedisStorage.from_url(redis_url, prefix="m2m-good") as bad_storage,
        SessionManager(pool_config(pool), storage=good_storage) as good,
        SessionManager(stale, storage=bad_storage) as bad,
    ):
        events = good.events()
        token = (await good.fetch_auth_session()).tokens
        adopted = (await bad.fetch_auth_session()).tokens  # shared: no request of its own
        assert token is not None
        assert adopted is not None
        assert str(adopted.access_token) == str(token.access_token)
        with pytest.raises(OAuthError):
            await bad.fetch_auth_session(force_refresh=True)
        await anyio.sleep(0.3)  # what the refused process did reaches the other, if anything
        assert await good.is_authenticated()
        assert (await good.fetch_auth_session()).tokens == token
        await events.aclose()
        names = [event.name async for event in events]
    assert EventName.SIGNED_OUT not in names
