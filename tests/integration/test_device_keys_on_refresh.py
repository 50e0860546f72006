"""What a refresh writes back: the tokens it renewed, never keys it could not read as a device."""

from __future__ import annotations

import pytest

from amplify_session import MemoryStorage, SessionManager
from amplify_session.emulator import EmulatedPool

pytestmark = pytest.mark.anyio
FLOW = "USER_PASSWORD_AUTH"


async def test_a_refresh_keeps_a_stored_device_group_key(pool: EmulatedPool) -> None:
    # Keys another Amplify client wrote under the user's prefix are not the
    # refresh's to delete: a refresh rewrites the tokens, not the device.
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage) as first:
        await first.sign_in(pool.username, pool.password, auth_flow=FLOW)
    prefix = f"CognitoIdentityServiceProvider.{pool.client_id}"
    username = await storage.get_item(f"{prefix}.LastAuthUser")
    group_key = f"{prefix}.{username}.deviceGroupKey"
    await storage.set_item(group_key, "-group-1")

    async with SessionManager(pool.config(), storage=storage) as second:
        await second.fetch_auth_session(force_refresh=True)

    assert await storage.get_item(group_key) == "-group-1"
