"""The cached fetch: a fresh session always, a stale one only while the background loop
replaces it (the manager is open), never an expired one. Over the in-memory fake."""

from __future__ import annotations

import anyio
import pytest

from amplify_session import AuthSession, EventName, SessionManager
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


async def served_from_memory(manager: SessionManager) -> AuthSession | None:
    """The session if the fetch returned it without waiting (no checkpoint), else None."""
    with anyio.CancelScope() as scope:
        scope.cancel()  # the first checkpoint raises: only the fast path gets through
        return await manager.fetch_auth_session()
    return None


async def test_the_fast_path_reads_the_clock_the_manager_was_given() -> None:
    clock = FakeClock()
    fake = FakeCognito(clock=clock)
    fake.add_user("alice", "Passw0rd!")
    manager = SessionManager(fake.config(identity_pool_id=None), transport=fake, clock=clock)
    try:
        await manager.sign_in("alice", "Passw0rd!")
        first = await manager.fetch_auth_session()
        # Only the fake clock moves, and its monotonic time is far behind the
        # system's: a fast path that read another clock would serve nothing.
        clock.advance(3600 - 331)  # before the refresh time, whatever the jitter
        assert await served_from_memory(manager) is first
        clock.advance(32)  # past it (not open: nobody else refreshes)
        assert await served_from_memory(manager) is None
        second = await manager.fetch_auth_session()
        assert fake.refreshes == 1
        assert second is not first
        assert await served_from_memory(manager) is second
    finally:
        await manager.aclose()


async def test_every_publish_is_seen_by_the_very_next_fetch() -> None:
    clock = FakeClock()
    fake = FakeCognito(clock=clock)
    fake.add_user("alice", "Passw0rd!")
    manager = SessionManager(fake.config(identity_pool_id=None), transport=fake, clock=clock)
    refreshed = anyio.Event()
    try:
        assert (await manager.fetch_auth_session()).tokens is None  # signed out, for good
        await manager.sign_in("alice", "Passw0rd!")
        signed_in = await manager.fetch_auth_session()
        assert signed_in.tokens is not None

        forced = await manager.fetch_auth_session(force_refresh=True)
        assert forced is not signed_in
        assert await manager.fetch_auth_session() is forced

        async with manager:
            manager.subscribe(lambda _: refreshed.set(), events=[EventName.TOKEN_REFRESH])
            clock.advance(STALE)  # the background loop refreshes the stale session
            with anyio.fail_after(5):
                await refreshed.wait()
            background = await manager.fetch_auth_session()
            assert fake.refreshes == 2
            assert background is not forced
            assert background.tokens is not None
            assert background.tokens.access_token != forced.tokens.access_token  # type: ignore[union-attr]

            await manager.sign_out()
            assert (await manager.fetch_auth_session()).tokens is None
    finally:
        await manager.aclose()
