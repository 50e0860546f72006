"""The pytest plugin users test their services with (its fixtures, used as a user would)."""

from __future__ import annotations

import pytest

from amplify_session import SessionManager
from amplify_session.testing import EmulatedPool, FakeClock

pytestmark = pytest.mark.anyio


async def test_the_plugin_fixtures_give_a_working_pool(
    cognito_pool: EmulatedPool, fake_clock: FakeClock
) -> None:
    async with SessionManager(cognito_pool.config(), clock=fake_clock) as manager:
        await manager.sign_in(cognito_pool.username, cognito_pool.password)
        first = await manager.fetch_auth_session()
        fake_clock.advance(3600)
        second = await manager.fetch_auth_session()
    assert first.tokens is not None
    assert second.tokens is not None
    assert second.tokens.access_token.payload["jti"] != first.tokens.access_token.payload["jti"]
