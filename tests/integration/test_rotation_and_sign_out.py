"""Refresh-token rotation, device keys, revocation and sign-out through the strict front."""

from __future__ import annotations

import pytest

from amplify_session import (
    MemoryStorage,
    NetworkError,
    NotAuthorizedException,
    SessionManager,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.retry import fast_retry

pytestmark = pytest.mark.anyio
FAST_RETRY = fast_retry(2)


def _key(pool: EmulatedPool, field: str, username: str | None = None) -> str:
    return f"CognitoIdentityServiceProvider.{pool.client_id}.{username or pool.username}.{field}"


async def _copy(storage: MemoryStorage) -> MemoryStorage:
    """A second storage holding the same session (a stale copy, as another host would)."""
    copy = MemoryStorage()
    await copy.update_items(dict(storage._items))
    return copy


@pytest.fixture
def rotating_pool(amplify_emulator: Emulator) -> EmulatedPool:
    amplify_emulator.reset()
    return amplify_emulator.provision(refresh_token_rotation=True, generate_secret=True)


async def test_rotation_is_detected_and_the_new_refresh_token_kept(
    rotating_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    pool, storage, clock = rotating_pool, MemoryStorage(), FakeClock()
    async with SessionManager(pool.config(), storage=storage, clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password)
        stale = await _copy(storage)
        old_refresh = await storage.get_item(_key(pool, "refreshToken"))
        for _ in range(2):
            clock.advance(3600)
            session = await manager.fetch_auth_session()
            assert session.tokens is not None
            new_refresh = await storage.get_item(_key(pool, "refreshToken"))
            assert new_refresh == session.tokens.refresh_token != old_refresh
            assert await storage.get_item(_key(pool, "accessToken")) == str(
                session.tokens.access_token
            )
            old_refresh = new_refresh
    # REFRESH_TOKEN_AUTH was refused once; GetTokensFromRefreshToken served from then on.
    assert amplify_emulator.front.calls["GetTokensFromRefreshToken"] == 2
    assert amplify_emulator.front.calls["InitiateAuth"] == 2  # the sign-in and the one refusal
    # The rotated-out refresh token no longer works.
    async with SessionManager(pool.config(), storage=stale) as other:
        with pytest.raises(NotAuthorizedException):
            await other.fetch_auth_session(force_refresh=True)
        assert (await other.fetch_auth_session()).tokens is None


async def test_configured_rotation_never_tries_refresh_token_auth(
    rotating_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    config = rotating_pool.config(refresh_token_rotation=True)
    async with SessionManager(config) as manager:
        await manager.sign_in(rotating_pool.username, rotating_pool.password)
        await manager.fetch_auth_session(force_refresh=True)
    assert amplify_emulator.front.calls["InitiateAuth"] == 1
    assert amplify_emulator.front.calls["GetTokensFromRefreshToken"] == 1
    body = dict(amplify_emulator.front.requests)["GetTokensFromRefreshToken"]
    assert body["ClientSecret"] == rotating_pool.client_secret


async def test_without_rotation_refresh_token_auth_is_used(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        before = await manager.fetch_auth_session()
        after = await manager.fetch_auth_session(force_refresh=True)
    assert before.tokens is not None
    assert after.tokens is not None
    assert after.tokens.refresh_token == before.tokens.refresh_token
    assert amplify_emulator.front.calls["GetTokensFromRefreshToken"] == 0
    refresh = [b for op, b in amplify_emulator.front.requests if op == "InitiateAuth"][-1]
    assert refresh["AuthFlow"] == "REFRESH_TOKEN_AUTH"


@pytest.mark.parametrize("confirmed", [True, False])
async def test_a_stored_device_key_is_sent_on_refresh_only_when_confirmed(
    pool: EmulatedPool, amplify_emulator: Emulator, confirmed: bool
) -> None:
    # A key without its group key and password (what earlier versions stored
    # without confirming the device) is never sent: Cognito refuses refreshes
    # that carry an unconfirmed device's key. It is left in storage as it is.
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
    await storage.set_item(_key(pool, "deviceKey"), "us-east-1_device-123")
    if confirmed:
        await storage.set_item(_key(pool, "deviceGroupKey"), "-group-1")
        await storage.set_item(_key(pool, "randomPasswordKey"), "device-password")
    async with SessionManager(pool.config(), storage=storage) as manager:
        await manager.fetch_auth_session(force_refresh=True)
    refresh = [b for op, b in amplify_emulator.front.requests if op == "InitiateAuth"][-1]
    sent = refresh["AuthParameters"].get("DEVICE_KEY")
    assert sent == ("us-east-1_device-123" if confirmed else None)
    assert await storage.get_item(_key(pool, "deviceKey")) == "us-east-1_device-123"


@pytest.mark.parametrize("global_sign_out", [False, True])
async def test_sign_out_revokes_the_refresh_token(
    pool: EmulatedPool, amplify_emulator: Emulator, global_sign_out: bool
) -> None:
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
        stale = await _copy(storage)
        result = await manager.sign_out(global_sign_out=global_sign_out)
        assert result.revoked
        assert result.error is None
        assert (await manager.fetch_auth_session()).tokens is None
    assert await storage.get_item(_key(pool, "refreshToken")) is None
    operation = "GlobalSignOut" if global_sign_out else "RevokeToken"
    assert amplify_emulator.front.calls[operation] == 1
    async with SessionManager(pool.config(), storage=stale) as other:
        with pytest.raises(NotAuthorizedException):
            await other.fetch_auth_session(force_refresh=True)


async def test_sign_out_with_the_network_down_still_clears_everything(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    storage = MemoryStorage()
    async with SessionManager(pool.config(retry=FAST_RETRY), storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
        refresh_token = await storage.get_item(_key(pool, "refreshToken"))
        amplify_emulator.front.inject("RevokeToken", "reset", times=10)
        result = await manager.sign_out()
        assert not result.revoked
        assert isinstance(result.error, NetworkError)
        assert refresh_token is not None
        assert refresh_token not in str(result.error)
        assert not await manager.is_authenticated()
    assert amplify_emulator.front.calls["RevokeToken"] == FAST_RETRY.attempts
    assert await storage.get_item(_key(pool, "accessToken")) is None
    assert (
        await storage.get_item(f"CognitoIdentityServiceProvider.{pool.client_id}.LastAuthUser")
        is None
    )


async def test_sign_out_when_signed_out_is_harmless(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_out()
    assert not result.revoked
    assert result.error is None
