"""Every transient fault, at every Cognito call the session makes; and the definitive ones.

Transient faults: the call retries within its bounds, a still-valid session
keeps being served, the failure event is emitted, nothing is cleared, and the
session recovers by itself once the fault ends. Definitive failures clear the
session exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from amplify_session import (
    AuthError,
    EventName,
    MemoryStorage,
    NotAuthorizedException,
    PasswordResetRequiredException,
    SessionEvent,
    SessionManager,
    UserNotFoundException,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.cuttable_proxy import CuttableProxy, cuttable_proxy
from tests.support.retry import fast_retry
from tests.support.waiting import until

pytestmark = pytest.mark.anyio
FAULTS = [500, 503, 429, "TooManyRequestsException", "reset", "stall", "refused"]
LAST_USER = "CognitoIdentityServiceProvider.{}.LastAuthUser"


@asynccontextmanager
async def _faulted(
    emulator: Emulator, proxy: CuttableProxy, operation: str, fault: int | str, times: int
) -> AsyncIterator[None]:
    """``fault`` on ``operation`` for ``times`` calls (refused: the network is cut meanwhile)."""
    if fault == "refused":
        await proxy.cut()
    else:
        emulator.front.inject(operation, fault, times=times)
    try:
        yield
    finally:
        if fault == "refused":
            await proxy.restore()
        emulator.front.clear_faults()


def _config(pool: EmulatedPool, proxy: CuttableProxy, **overrides: Any) -> Any:
    fields = {
        "user_pool_endpoint": proxy.url,
        "identity_pool_endpoint": proxy.url,
        "retry": fast_retry(3),
        "request_timeout": 0.5,
        **overrides,
    }
    return pool.config(**fields)


@pytest.mark.parametrize("fault", FAULTS)
async def test_sign_in_retries_through_one_fault(
    pool: EmulatedPool, amplify_emulator: Emulator, fault: int | str
) -> None:
    async with (
        cuttable_proxy(amplify_emulator.cognito_url) as proxy,
        SessionManager(_config(pool, proxy)) as manager,
    ):
        if fault == "refused":
            async with anyio.create_task_group() as group:
                await proxy.cut()

                async def restore_soon() -> None:
                    await anyio.sleep(0.015)
                    await proxy.restore()

                group.start_soon(restore_soon)
                assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
        else:
            amplify_emulator.front.inject("InitiateAuth", fault, times=1)
            assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
            assert amplify_emulator.front.calls["InitiateAuth"] == 2  # the fault, then the retry


@pytest.mark.parametrize("fault", FAULTS)
async def test_sign_in_through_a_lasting_fault_fails_cleanly(
    pool: EmulatedPool, amplify_emulator: Emulator, fault: int | str
) -> None:
    storage = MemoryStorage()
    async with cuttable_proxy(amplify_emulator.cognito_url) as proxy:
        config = _config(pool, proxy)
        async with SessionManager(config, storage=storage) as manager:
            async with _faulted(amplify_emulator, proxy, "InitiateAuth", fault, times=100):
                with pytest.raises(AuthError) as info:
                    await manager.sign_in(pool.username, pool.password)
            assert info.value.retryable
            if fault != "refused":
                assert amplify_emulator.front.calls["InitiateAuth"] == 3  # bounded: 3 attempts
            assert await storage.get_item(LAST_USER.format(pool.client_id)) is None
            assert (await manager.sign_in(pool.username, pool.password)).is_signed_in


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(
    ("operation", "advance", "failure", "success"),
    [
        ("InitiateAuth", 3301, EventName.TOKEN_REFRESH_FAILURE, EventName.TOKEN_REFRESH),
        (
            "GetCredentialsForIdentity",
            50,
            EventName.CREDENTIALS_REFRESH_FAILURE,
            EventName.CREDENTIALS_REFRESH,
        ),
    ],
)
async def test_a_background_refresh_through_a_fault_serves_and_recovers(
    pool: EmulatedPool,
    amplify_emulator: Emulator,
    fault: int | str,
    operation: str,
    advance: float,
    failure: EventName,
    success: EventName,
) -> None:
    clock, storage = FakeClock(), MemoryStorage()
    # Token refresh alone: without an identity pool, whose 90-second credentials
    # would expire too.
    alone = {"identity_pool_id": None} if operation == "InitiateAuth" else {}
    async with cuttable_proxy(amplify_emulator.cognito_url) as proxy:
        config = _config(pool, proxy, **alone)
        async with SessionManager(config, storage=storage, clock=clock) as manager:
            await manager.sign_in(pool.username, pool.password)
            cached = await manager.fetch_auth_session()
            events: list[SessionEvent] = []
            manager.subscribe(events.append)
            async with _faulted(amplify_emulator, proxy, operation, fault, times=1000):
                clock.advance(advance)  # due, not yet expired
                await until(lambda: failure in [e.name for e in events], limit=20)
                assert await manager.fetch_auth_session() is cached  # still served
                assert await storage.get_item(LAST_USER.format(pool.client_id)) == pool.username
            clock.advance(61)  # past the longest backoff: the loop tries again
            await until(lambda: success in [e.name for e in events], limit=20)
            assert (await manager.fetch_auth_session()) is not cached
    assert EventName.SIGNED_OUT not in [e.name for e in events]


@pytest.mark.parametrize("fault", FAULTS)
async def test_get_id_through_a_fault_fails_then_recovers(
    pool: EmulatedPool, amplify_emulator: Emulator, fault: int | str
) -> None:
    async with cuttable_proxy(amplify_emulator.cognito_url) as proxy:
        config = _config(pool, proxy, allow_guest_access=True)
        manager = SessionManager(config)  # on demand: no background prefetch to race with
        async with _faulted(amplify_emulator, proxy, "GetId", fault, times=100):
            with pytest.raises(AuthError) as info:
                await manager.fetch_auth_session()
        assert info.value.retryable
        session = await manager.fetch_auth_session()
        assert session.credentials is not None
        await manager.aclose()


async def _definitive(
    pool: EmulatedPool, emulator: Emulator, break_user: Any, expected: type[AuthError]
) -> None:
    clock, storage = FakeClock(), MemoryStorage()
    async with SessionManager(pool.config(), storage=storage, clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password)
        await manager.fetch_auth_session()
        events: list[SessionEvent] = []
        manager.subscribe(events.append)
        break_user(emulator.client("cognito-idp"))
        clock.advance(3301)
        await until(lambda: EventName.SIGNED_OUT in [e.name for e in events])
        clock.advance(3600)  # nothing left to refresh: no second sign-out
        await anyio.sleep(0.2)
        assert (await manager.fetch_auth_session()).tokens is None
    names = [e.name for e in events]
    assert names.count(EventName.SIGNED_OUT) == 1
    assert names.count(EventName.TOKEN_REFRESH_FAILURE) == 1
    failure = next(e for e in events if e.name is EventName.TOKEN_REFRESH_FAILURE)
    assert isinstance(failure.error, expected)
    assert await storage.get_item(LAST_USER.format(pool.client_id)) is None


@pytest.mark.parametrize(
    ("admin_operation", "expected"),
    [
        ("admin_user_global_sign_out", NotAuthorizedException),  # the refresh token is revoked
        ("admin_delete_user", UserNotFoundException),
        ("admin_reset_user_password", PasswordResetRequiredException),
    ],
)
async def test_a_definitive_failure_signs_out_once(
    pool: EmulatedPool, amplify_emulator: Emulator, admin_operation: str, expected: type[AuthError]
) -> None:
    def break_user(idp: Any) -> None:
        getattr(idp, admin_operation)(UserPoolId=pool.user_pool_id, Username=pool.username)

    await _definitive(pool, amplify_emulator, break_user, expected)
