"""Identity Pool credentials: authenticated, guest, cached, refreshed by their expiry."""

import pytest

from amplify_session import MemoryStorage, NoCredentialsException, SessionManager
from amplify_session.emulator import EmulatedPool
from amplify_session.testing import FakeClock

pytestmark = pytest.mark.anyio
FLOW = "USER_PASSWORD_AUTH"


async def test_guest_credentials_when_allowed(pool: EmulatedPool) -> None:
    storage = MemoryStorage()
    async with SessionManager(pool.config(allow_guest_access=True), storage=storage) as manager:
        session = await manager.fetch_auth_session()
        assert session.tokens is None
        assert session.credentials is not None
        assert session.identity_id is not None
        assert not await manager.is_authenticated()
        key = f"com.amplify.Cognito.{pool.identity_pool_id}.identityId"
        assert '"type": "guest"' in (await storage.get_item(key) or "")

        # Signing in swaps the guest identity for the user's own.
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        signed_in = await manager.fetch_auth_session()
        assert signed_in.identity_id != session.identity_id
        assert '"type": "primary"' in (await storage.get_item(key) or "")

        # Signing out forgets the user's identity; the next guest gets a new one.
        await manager.sign_out()
        guest_again = await manager.fetch_auth_session()
        assert guest_again.tokens is None
        assert guest_again.credentials is not None
        assert guest_again.identity_id != signed_in.identity_id


async def test_no_guest_access_means_an_empty_session(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config(allow_guest_access=False)) as manager:
        session = await manager.fetch_auth_session()
        assert session.tokens is None
        assert session.credentials is None
        assert session.identity_id is None
        assert await manager.get_credentials() is None
        with pytest.raises(NoCredentialsException):
            await manager.with_aws_credentials(_access_key)


async def test_without_identity_pool_there_are_tokens_but_no_credentials(
    pool: EmulatedPool,
) -> None:
    async with SessionManager(pool.config(identity_pool_id=None)) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        session = await manager.fetch_auth_session()
        assert session.tokens is not None
        assert session.credentials is None
        assert session.identity_id is None


async def test_credentials_are_refreshed_by_their_own_expiration(pool: EmulatedPool) -> None:
    clock = FakeClock()
    async with SessionManager(pool.config(), clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        first = await manager.fetch_auth_session()
        clock.advance(10)
        assert await manager.fetch_auth_session() is first
        clock.advance(80)  # moto's credentials live 90 s; 5 s tolerance
        second = await manager.fetch_auth_session()
        assert second is not first
        assert first.credentials is not None
        assert second.credentials is not None
        assert second.credentials.expiration != first.credentials.expiration
        assert second.tokens == first.tokens  # the hour-long tokens were still good
        assert second.identity_id == first.identity_id


async def test_with_aws_credentials_passes_the_current_credentials(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        current = await manager.get_credentials()
        assert current is not None
        assert await manager.with_aws_credentials(_access_key) == current.access_key_id


async def _access_key(credentials: object) -> str:
    return credentials.access_key_id  # type: ignore[attr-defined,no-any-return]
