"""Token refresh on demand: after expiry, forced, and refused."""

import anyio
import pytest

from amplify_session import MemoryStorage, NotAuthorizedException, SessionManager
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock

pytestmark = pytest.mark.anyio
FLOW = "USER_PASSWORD_AUTH"


async def test_fresh_tokens_are_served_from_memory(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        first = await manager.fetch_auth_session()
        assert await manager.fetch_auth_session() is first


async def test_refresh_after_expiry_keeps_the_refresh_token(pool: EmulatedPool) -> None:
    clock = FakeClock()
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage, clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        before = await manager.fetch_auth_session()
        clock.advance(3600)  # the hour-long tokens have expired
        after = await manager.fetch_auth_session()
    assert before.tokens is not None
    assert after.tokens is not None
    assert after.tokens.access_token.payload["jti"] != before.tokens.access_token.payload["jti"]
    assert after.tokens.refresh_token == before.tokens.refresh_token
    key = f"CognitoIdentityServiceProvider.{pool.client_id}.{pool.username}.accessToken"
    assert await storage.get_item(key) == str(after.tokens.access_token)


async def test_tokens_that_really_expire_are_refreshed(short_pool: EmulatedPool) -> None:
    async with SessionManager(short_pool.config(expiry_tolerance=0.5)) as manager:
        await manager.sign_in(short_pool.username, short_pool.password, auth_flow=FLOW)
        first = await manager.fetch_auth_session()
        assert first.tokens is not None
        exp = first.tokens.access_token.payload["exp"]
        await anyio.sleep(2.0)
        second = await manager.fetch_auth_session()
        assert second.tokens is not None
        assert second.tokens.access_token.payload["exp"] > exp


async def test_force_refresh_always_gets_new_tokens_and_credentials(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        before = await manager.fetch_auth_session()
        after = await manager.fetch_auth_session(force_refresh=True)
        assert before.tokens is not None
        assert after.tokens is not None
        assert after.tokens.access_token.payload["jti"] != before.tokens.access_token.payload["jti"]
        assert before.credentials is not None
        assert after.credentials is not None
        assert after.credentials.expiration != before.credentials.expiration
        assert after.identity_id == before.identity_id


async def test_revoked_refresh_token_signs_out(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    storage = MemoryStorage()
    config = pool.config(allow_guest_access=False)
    async with SessionManager(config, storage=storage, clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        refresh_token = (await manager.fetch_auth_session()).tokens.refresh_token  # type: ignore[union-attr]
        amplify_emulator.client("cognito-idp").admin_user_global_sign_out(
            UserPoolId=pool.user_pool_id, Username=pool.username
        )
        clock.advance(3600)
        with pytest.raises(NotAuthorizedException) as info:
            await manager.fetch_auth_session()
        assert refresh_token is not None
        assert refresh_token not in str(info.value)
        assert not await manager.is_authenticated()
        session = await manager.fetch_auth_session()
        assert session.tokens is None
        assert session.credentials is None
    assert (
        await storage.get_item(f"CognitoIdentityServiceProvider.{pool.client_id}.LastAuthUser")
        is None
    )
