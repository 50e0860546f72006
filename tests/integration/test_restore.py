"""A new manager on the same storage restores the session; bad storage signs out."""

import logging

import pytest

from amplify_session import MemoryStorage, SessionManager
from amplify_session.emulator import EmulatedPool

pytestmark = pytest.mark.anyio
FLOW = "USER_PASSWORD_AUTH"


async def test_restore_without_signing_in_again(pool: EmulatedPool) -> None:
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage) as first:
        await first.sign_in(pool.username, pool.password, auth_flow=FLOW)
        original = await first.fetch_auth_session()
    async with SessionManager(pool.config(), storage=storage) as second:
        restored = await second.fetch_auth_session()
        user = await second.get_current_user()
    assert restored.tokens == original.tokens  # the very same tokens: no new sign-in
    assert restored.identity_id == original.identity_id
    assert user.username == pool.username
    assert user.sign_in_details is not None
    assert user.sign_in_details.auth_flow_type == FLOW


async def test_corrupt_storage_gives_a_signed_out_session_and_keeps_the_data(
    pool: EmulatedPool, caplog: pytest.LogCaptureFixture
) -> None:
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage) as first:
        await first.sign_in(pool.username, pool.password, auth_flow=FLOW)
    key = f"CognitoIdentityServiceProvider.{pool.client_id}.{pool.username}.accessToken"
    await storage.set_item(key, "not-a-token")
    caplog.set_level(logging.WARNING, logger="amplify_session")
    async with SessionManager(pool.config(), storage=storage) as second:
        session = await second.fetch_auth_session()
        assert session.tokens is None
        assert "unreadable" in caplog.text
        assert await storage.get_item(key) == "not-a-token"  # moved aside later, never lost
        assert (await second.sign_in(pool.username, pool.password, auth_flow=FLOW)).is_signed_in
