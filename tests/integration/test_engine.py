"""The engine: background refresh, stale-while-revalidate, single flight, error policy."""

from __future__ import annotations

import time

import anyio
import pytest

import amplify_session._token_store
from amplify_session import (
    AuthError,
    AuthSession,
    EventName,
    MemoryStorage,
    SessionEvent,
    SessionManager,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.retry import fast_retry
from tests.support.waiting import next_event, until

pytestmark = pytest.mark.anyio
NO_RETRY = fast_retry(1)
INTO_REFRESH_WINDOW = 3600 - 300 + 1  # hour-long tokens, default 300 s window


async def test_tokens_are_refreshed_in_the_background_before_expiry(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    config = pool.config(identity_pool_id=None)
    async with SessionManager(config, clock=clock) as manager:
        events = manager.events()
        await manager.sign_in(pool.username, pool.password)
        first = await manager.fetch_auth_session()
        clock.advance(INTO_REFRESH_WINDOW)
        event = await next_event(events, EventName.TOKEN_REFRESH)
        assert event.session is not None
        assert event.session.tokens is not None
        assert first.tokens is not None
        new_jti = event.session.tokens.access_token.payload["jti"]
        assert new_jti != first.tokens.access_token.payload["jti"]
        assert await manager.fetch_auth_session() is event.session
        await events.aclose()
    assert amplify_emulator.front.calls["InitiateAuth"] == 2  # sign-in, then one refresh


async def test_stale_tokens_are_served_while_refresh_fails_then_it_recovers(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    storage = MemoryStorage()
    config = pool.config(identity_pool_id=None, retry=NO_RETRY)
    async with SessionManager(config, storage=storage, clock=clock) as manager:
        events = manager.events()
        await manager.sign_in(pool.username, pool.password)
        cached = await manager.fetch_auth_session()
        amplify_emulator.front.inject("InitiateAuth", 503, times=10_000)
        clock.advance(INTO_REFRESH_WINDOW)
        failure = await next_event(events, EventName.TOKEN_REFRESH_FAILURE)
        assert failure.error is not None
        assert failure.error.retryable
        # Still valid: served at once, nothing cleared.
        assert await manager.fetch_auth_session() is cached
        last_user = f"CognitoIdentityServiceProvider.{pool.client_id}.LastAuthUser"
        assert await storage.get_item(last_user) == pool.username
        # No tight loop: without time passing, no new attempt.
        attempts = amplify_emulator.front.calls["InitiateAuth"]
        await anyio.sleep(0.3)
        assert amplify_emulator.front.calls["InitiateAuth"] == attempts
        # Past expiry an expired token is never served: the caller gets the error.
        clock.advance(300)
        with pytest.raises(AuthError) as info:
            await manager.fetch_auth_session()
        assert info.value.retryable
        # The fault ends: the session recovers by itself.
        amplify_emulator.front.clear_faults()
        recovered = await manager.fetch_auth_session()
        assert recovered.tokens is not None
        assert cached.tokens is not None
        assert recovered.tokens.refresh_token == cached.tokens.refresh_token
        assert recovered.tokens.access_token.payload["exp"] > time.time()
        await events.aclose()


async def test_a_definitive_failure_signs_out_once_and_guests_get_credentials(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    storage = MemoryStorage()
    config = pool.config(allow_guest_access=True)
    async with SessionManager(config, storage=storage, clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password)
        await manager.fetch_auth_session()
        seen: list[SessionEvent] = []
        manager.subscribe(seen.append)
        amplify_emulator.client("cognito-idp").admin_user_global_sign_out(
            UserPoolId=pool.user_pool_id, Username=pool.username
        )
        events = manager.events()
        clock.advance(INTO_REFRESH_WINDOW)
        await next_event(events, EventName.SIGNED_OUT)
        session = await manager.fetch_auth_session()
        assert session.tokens is None
        assert session.credentials is not None  # a guest's
        await events.aclose()
        await until(lambda: EventName.SIGNED_OUT in [e.name for e in seen])
    names = [e.name for e in seen]
    failure = names.index(EventName.TOKEN_REFRESH_FAILURE)
    assert names.index(EventName.SIGNED_OUT) == failure + 1
    assert names.count(EventName.SIGNED_OUT) == 1
    assert (
        await storage.get_item(f"CognitoIdentityServiceProvider.{pool.client_id}.LastAuthUser")
        is None
    )


async def test_ten_thousand_callers_at_expiry_cause_one_refresh(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    async with SessionManager(pool.config(), clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password)
        before = await manager.fetch_auth_session()
        calls = dict(amplify_emulator.front.calls)
        clock.advance(3600)  # tokens and credentials have all expired
        results: list[AuthSession] = []

        async def caller() -> None:
            results.append(await manager.fetch_auth_session())

        async with anyio.create_task_group() as group:
            for _ in range(10_000):
                group.start_soon(caller)
    assert len(results) == 10_000
    assert all(r is results[0] for r in results)
    assert results[0] is not before
    assert amplify_emulator.front.calls["InitiateAuth"] == calls["InitiateAuth"] + 1
    assert (
        amplify_emulator.front.calls["GetCredentialsForIdentity"]
        == calls["GetCredentialsForIdentity"] + 1
    )
    assert amplify_emulator.front.calls["GetId"] == calls["GetId"] == 1


async def test_ten_thousand_guests_cause_one_get_id(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with SessionManager(pool.config(allow_guest_access=True)) as manager:
        async with anyio.create_task_group() as group:
            for _ in range(10_000):
                group.start_soon(manager.fetch_auth_session)
        assert (await manager.fetch_auth_session()).credentials is not None
    assert amplify_emulator.front.calls["GetId"] == 1
    assert amplify_emulator.front.calls["GetCredentialsForIdentity"] == 1


async def test_a_cancelled_caller_does_not_cancel_the_shared_refresh(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    config = pool.config(identity_pool_id=None)
    async with SessionManager(config, clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password)
        before = await manager.fetch_auth_session()
        amplify_emulator.front.inject("InitiateAuth", 0.5)  # the refresh answers slowly
        clock.advance(3600)
        async with anyio.create_task_group() as group:
            group.start_soon(manager.fetch_auth_session)
            await anyio.sleep(0.1)
            group.cancel_scope.cancel()  # the first caller gives up
        after = await manager.fetch_auth_session()
    assert after is not before
    assert amplify_emulator.front.calls["InitiateAuth"] == 2  # sign-in, one refresh


async def test_the_fast_path_does_no_io_takes_no_lock_and_decodes_nothing(
    pool: EmulatedPool, amplify_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        cached = await manager.fetch_auth_session()
        calls = sum(amplify_emulator.front.calls.values())

        def no_decoding(token: str) -> None:
            raise AssertionError("decoded a token on the fast path")

        monkeypatch.setattr(amplify_session._token_store, "decode_jwt", no_decoding)
        async with manager._lock:  # held elsewhere: the fast path must not wait for it
            with anyio.fail_after(5):
                for _ in range(1000):
                    assert await manager.fetch_auth_session() is cached
    assert sum(amplify_emulator.front.calls.values()) == calls


async def test_ninety_second_credentials_do_not_refresh_per_call(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        for _ in range(2000):
            session = await manager.fetch_auth_session()
            assert session.credentials is not None
    assert amplify_emulator.front.calls["GetCredentialsForIdentity"] == 1


@pytest.mark.parametrize("skew", [7200.0, -7200.0])
async def test_clock_drift_is_measured_and_refresh_happens_at_server_time(
    pool: EmulatedPool, amplify_emulator: Emulator, skew: float
) -> None:
    clock = FakeClock(start=time.time() + skew)
    storage = MemoryStorage()
    config = pool.config(identity_pool_id=None)
    async with SessionManager(config, storage=storage, clock=clock) as manager:
        events = manager.events()
        await manager.sign_in(pool.username, pool.password)
        drift_key = f"CognitoIdentityServiceProvider.{pool.client_id}.{pool.username}.clockDrift"
        drift_ms = int(await storage.get_item(drift_key) or "0")
        assert abs(drift_ms + skew * 1000) < 5_000
        first = await manager.fetch_auth_session()
        assert await manager.fetch_auth_session() is first  # not "expired" by the local clock
        clock.advance(INTO_REFRESH_WINDOW - 60)
        assert await manager.fetch_auth_session() is first  # not yet due at server time
        clock.advance(60)
        await next_event(events, EventName.TOKEN_REFRESH)
        await events.aclose()
    assert amplify_emulator.front.calls["InitiateAuth"] == 2


async def test_short_lived_tokens_are_never_served_expired(
    short_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    config = short_pool.config(identity_pool_id=None, expiry_tolerance=0.5)
    async with SessionManager(config) as manager:
        await manager.sign_in(short_pool.username, short_pool.password)
        deadline = time.time() + 4.5
        while time.time() < deadline:
            session = await manager.fetch_auth_session()
            assert session.tokens is not None
            assert session.tokens.access_token.payload["exp"] > time.time()
            await anyio.sleep(0.01)
    assert amplify_emulator.front.calls["InitiateAuth"] >= 3  # refreshed in the background
