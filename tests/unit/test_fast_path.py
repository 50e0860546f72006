"""The cached fetch: a fresh session always, a stale one only while the background loop
replaces it (the manager is open), never an expired one. Over the in-memory fake."""

from __future__ import annotations

import pytest

from amplify_session import SessionManager
from amplify_session.testing import FakeClock, FakeCognito

pytestmark = pytest.mark.anyio

# Tokens live an hour; a refresh is due 300 s (at most 330 s, with jitter) before
# expiry, and they count as expired 5 s before it.
STALE = 3600 - 200


async def test_a_stale_session_is_served_only_while_the_background_loop_runs() -> None:
    clock = FakeClock()
    fake = FakeCognito(clock=clock)
    fake.add_user("alice", "Passw0rd!")
    manager = SessionManager(fake.config(identity_pool_id=None), transport=fake, clock=clock)
    try:
        await manager.sign_in("alice", "Passw0rd!")
        clock.advance(STALE)
        first = await manager.fetch_auth_session()
        assert fake.refreshes == 1  # not open: nobody else refreshes, so the caller waits

        async with manager:
            clock.advance(STALE)
            # No await between: the loop has not run yet, and the caller is not held.
            assert await manager.fetch_auth_session() is first
            assert fake.refreshes == 1
            second = await manager.fetch_auth_session(force_refresh=True)
            assert fake.refreshes == 2

        clock.advance(STALE)  # stale again, and closed: the caller waits for the refresh
        assert await manager.fetch_auth_session() is not second
        assert fake.refreshes == 3
    finally:
        await manager.aclose()
