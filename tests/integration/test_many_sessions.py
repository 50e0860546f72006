"""Many users' sessions in one process, through one CognitoClient: one pool of connections,
a bound on the calls on the wire, one refresh per session when they all come due together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from amplify_session import CognitoClient, InvalidParameterException, SessionManager
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.cuttable_proxy import cuttable_proxy
from tests.support.many_sessions import memory_storages, stored_sessions
from tests.support.waiting import until

SESSIONS = 2_000
LIMIT = 50

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def opened(managers: list[SessionManager]) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for manager in managers:
            await stack.enter_async_context(manager)
        yield


@pytest.mark.heavy  # half a minute in development mode: run once, in tests_heavy
async def test_two_thousand_sessions_due_together_share_a_bounded_pool(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """2,000 restored sessions come due at the same moment: the refreshes queue for LIMIT
    connections (counted by a proxy, exactly), each session refreshes once, and every
    session then serves a new, unexpired token."""
    config = pool.config(identity_pool_id=None)
    sessions = await stored_sessions(pool, config, SESSIONS)
    before = amplify_emulator.front.calls["InitiateAuth"]
    clock = FakeClock()
    async with cuttable_proxy(amplify_emulator.cognito_url) as proxy:
        shared = CognitoClient(
            pool.config(identity_pool_id=None, user_pool_endpoint=proxy.url),
            max_connections=LIMIT,
        )
        async with shared:
            managers = [
                SessionManager(shared, storage=storage, clock=clock)
                for storage in await memory_storages(sessions)
            ]
            async with opened(managers):
                restored = [await manager.fetch_auth_session() for manager in managers]
                assert (
                    amplify_emulator.front.calls["InitiateAuth"] == before
                )  # restored, not refreshed
                clock.advance(3600 - 60)  # within every session's refresh window: all due
                await until(
                    lambda: amplify_emulator.front.calls["InitiateAuth"] - before >= SESSIONS,
                    limit=120,
                )
                await until(lambda: shared.calls_in_flight == 0, limit=30)
                fresh = [await manager.fetch_auth_session() for manager in managers]
            assert amplify_emulator.front.calls["InitiateAuth"] - before == SESSIONS
            assert proxy.peak <= LIMIT
            assert shared.peak_calls_in_flight <= LIMIT
            assert shared.peak_calls_in_flight == LIMIT  # they did queue: the bound was reached
    for old, new in zip(restored, fresh, strict=True):
        assert old.tokens is not None
        assert new.tokens is not None
        assert new.tokens.access_token.payload["jti"] != old.tokens.access_token.payload["jti"]
        assert new.tokens.access_token.payload["exp"] > clock.time()
    assert len({new.tokens.refresh_token for new in fresh if new.tokens}) == SESSIONS


async def test_a_manager_made_from_a_client_leaves_it_open(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """Closing one user's manager does not close the connections the others use."""
    async with CognitoClient(pool.config()) as shared:
        first, second = SessionManager(shared), SessionManager(shared)
        async with first:
            await first.sign_in(pool.username, pool.password)
        async with second:
            await second.sign_in(pool.username, pool.password)
            session = await second.fetch_auth_session(force_refresh=True)
        assert session.tokens is not None
        assert second.config is shared.config


def test_a_client_and_a_transport_are_refused_together(pool: EmulatedPool) -> None:
    from amplify_session.testing import FakeCognito

    with pytest.raises(InvalidParameterException, match="client's transport"):
        SessionManager(CognitoClient(pool.config()), transport=FakeCognito())


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "10"])
def test_max_connections_must_be_a_positive_integer(pool: EmulatedPool, limit: object) -> None:
    with pytest.raises(InvalidParameterException, match="max_connections"):
        CognitoClient(pool.config(), max_connections=limit)  # type: ignore[arg-type]
