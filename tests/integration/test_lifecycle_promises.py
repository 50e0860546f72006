"""Issue 13: refresh storms, wall-clock steps, absurd claims and a manager misused.

Each test drives SessionManager (or the module facade) over the real emulator,
or over a scripted Cognito for answers the emulator never gives. A storm is
judged by the calls counted at the server over a window, against a bound; an
expired token by the server's clock (the real time). Scenarios that need event
loops of their own, threads, ``-W error`` or a stepped ``time.time`` run
``tests/support/lifecycle_script.py`` in a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest

import amplify_session
from amplify_session import (
    AuthConfig,
    AuthError,
    AuthSession,
    EventName,
    InvalidResponseException,
    MemoryStorage,
    SessionEvent,
    SessionManager,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.retry import fast_retry
from tests.support.scripted_server import Answer, ScriptedServer, scripted_server
from tests.support.tokens import make_jwt
from tests.support.waiting import until

_T = TypeVar("_T")

REPO = Path(__file__).resolve().parents[2]
INTO_REFRESH_WINDOW = 3600 - 300 + 1  # hour-long tokens, default 300 s window
PASSWORD = "Sup3r-Secret-Pw"
CLIENT = "client1"
# The backoff waits 0.5-1 s, then 1-2 s, 2-4 s...: three seconds hold at most
# three calls after a failure. Six leaves room; a storm makes hundreds.
STORM_WINDOW = 3.0
STORM_BOUND = 6
REFRESH_OPERATIONS = ("InitiateAuth", "GetTokensFromRefreshToken")


# -- helpers ----------------------------------------------------------------


async def _outcome(call: Awaitable[_T]) -> _T | AuthError:
    """The result, or the AuthError raised (any other exception fails the test)."""
    try:
        return await call
    except AuthError as err:
        return err


def _emulator_refreshes(emulator: Emulator) -> int:
    """Token calls the emulator has answered (sign-ins' InitiateAuth included)."""
    return sum(emulator.front.calls[op] for op in REFRESH_OPERATIONS)


def _scripted_refreshes(server: ScriptedServer) -> int:
    return sum(
        1
        for request in server.requests
        if str(request["target"]).rsplit(".", 1)[-1] in REFRESH_OPERATIONS
    )


def _scripted_config(url: str, **overrides: Any) -> AuthConfig:
    fields: dict[str, Any] = {
        "user_pool_id": "us-east-1_Test1",
        "user_pool_client_id": CLIENT,
        "user_pool_endpoint": url,
        "identity_pool_endpoint": url,
        "retry": fast_retry(2),
        "request_timeout": 2.0,
        "refresh_token_rotation": False,  # refresh with InitiateAuth REFRESH_TOKEN_AUTH
    }
    fields.update(overrides)
    return AuthConfig(**fields)


def _tokens_answer(*, lifetime: float, **claims: Any) -> Answer:
    """A sign-in / refresh answer with made-up tokens issued now (claims override)."""
    now = int(time.time())
    timing: dict[str, Any] = {"iat": now, "exp": now + lifetime, **claims}
    access = make_jwt({**timing, "client_id": CLIENT})
    id_token = make_jwt({**timing, "token_use": "id", "aud": CLIENT})
    result = {
        "AccessToken": access,
        "IdToken": id_token,
        "RefreshToken": "opaque-refresh-token",
        "ExpiresIn": 3600,
        "TokenType": "Bearer",
    }
    return Answer(200, {"AuthenticationResult": result})


async def _stored_session(storage: MemoryStorage, client_id: str, username: str) -> list[str]:
    """The session keys that hold something (Amplify's layout)."""
    prefix = f"CognitoIdentityServiceProvider.{client_id}"
    keys = [f"{prefix}.LastAuthUser"] + [
        f"{prefix}.{username}.{field}" for field in ("accessToken", "idToken", "refreshToken")
    ]
    return [key for key in keys if await storage.get_item(key) is not None]


def _first_refresh_outcome(seen: list[SessionEvent]) -> SessionEvent | None:
    outcomes = (EventName.TOKEN_REFRESH, EventName.TOKEN_REFRESH_FAILURE)
    return next((event for event in seen if event.name in outcomes), None)


def _run_script(
    mode: str, pool: EmulatedPool, *, flags: tuple[str, ...] = (), **overrides: Any
) -> tuple[dict[str, Any], str]:
    """Run a lifecycle_script scenario against ``pool``; its JSON report and its stderr."""
    fields: dict[str, Any] = {
        "user_pool_id": pool.user_pool_id,
        "user_pool_client_id": pool.client_id,
        "identity_pool_id": None,
        "user_pool_endpoint": pool.endpoint,
        "identity_pool_endpoint": pool.endpoint,
        **overrides,
        "username": pool.username,
        "password": pool.password,
    }
    env = {**os.environ, "AMPLIFY_LIFECYCLE_POOL": json.dumps(fields)}
    done = subprocess.run(
        [sys.executable, *flags, "-m", "tests.support.lifecycle_script", mode],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    stderr = done.stderr.replace(pool.password, "***")
    assert done.returncode == 0, stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), stderr


# -- 4, 5: no refresh storm whatever the server answers ---------------------


@pytest.mark.anyio
async def test_five_second_tokens_are_refused_at_sign_in_without_a_storm(
    amplify_emulator: Emulator,
) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(token_validity=timedelta(seconds=5))
    storage = MemoryStorage()
    with anyio.fail_after(20):
        async with SessionManager(pool.config(identity_pool_id=None), storage=storage) as manager:
            outcome = await _outcome(manager.sign_in(pool.username, pool.password))
            before = _emulator_refreshes(amplify_emulator)
            await anyio.sleep(STORM_WINDOW)
            during = _emulator_refreshes(amplify_emulator) - before
            session = await _outcome(manager.fetch_auth_session())
    assert during <= STORM_BOUND, f"{during} token calls in {STORM_WINDOW} s"
    # Unusable on arrival with the default 5 s expiry_tolerance: an error, not a session.
    assert isinstance(outcome, InvalidResponseException), outcome
    assert isinstance(session, AuthSession)
    assert session.tokens is None
    assert await _stored_session(storage, pool.client_id, pool.username) == []


@pytest.mark.anyio
async def test_a_refresh_that_brings_five_second_tokens_fails_and_backs_off(
    amplify_emulator: Emulator,
) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(token_validity=timedelta(seconds=8))  # usable: 8 - 1 - 5 s
    seen: list[SessionEvent] = []
    with anyio.fail_after(25):
        async with SessionManager(pool.config(identity_pool_id=None)) as manager:
            manager.subscribe(seen.append)
            await manager.sign_in(pool.username, pool.password)
            # From now on the pool issues five-second tokens.
            amplify_emulator.client("cognito-idp").update_user_pool_client(
                UserPoolId=pool.user_pool_id,
                ClientId=pool.client_id,
                AccessTokenValidity=5,
                IdTokenValidity=5,
                TokenValidityUnits={"AccessToken": "seconds", "IdToken": "seconds"},
            )
            await until(lambda: _first_refresh_outcome(seen) is not None, limit=15)
            before = _emulator_refreshes(amplify_emulator)
            await anyio.sleep(STORM_WINDOW)
            during = _emulator_refreshes(amplify_emulator) - before
    assert during <= STORM_BOUND, f"{during} token calls in {STORM_WINDOW} s"
    first = _first_refresh_outcome(seen)
    assert first is not None
    assert first.name is EventName.TOKEN_REFRESH_FAILURE
    assert isinstance(first.error, InvalidResponseException)


@pytest.mark.anyio
async def test_tokens_expired_on_arrival_are_refused_at_sign_in_without_a_storm() -> None:
    storage = MemoryStorage()
    expired = _tokens_answer(lifetime=-3600)  # exp an hour before iat
    with anyio.fail_after(20):
        async with (
            scripted_server(expired) as server,
            SessionManager(_scripted_config(server.url), storage=storage) as manager,
        ):
            outcome = await _outcome(
                manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
            )
            before = _scripted_refreshes(server)
            await anyio.sleep(STORM_WINDOW)
            during = _scripted_refreshes(server) - before
            session = await _outcome(manager.fetch_auth_session())
    assert during <= STORM_BOUND, f"{during} token calls in {STORM_WINDOW} s"
    assert isinstance(outcome, InvalidResponseException), outcome
    assert isinstance(session, AuthSession)
    assert session.tokens is None
    assert await _stored_session(storage, CLIENT, "alice") == []


@pytest.mark.anyio
async def test_a_refresh_answered_with_expired_tokens_fails_and_backs_off() -> None:
    good = _tokens_answer(lifetime=8)  # usable for 8 - 1 - 5 s: refreshed within 2 s
    expired = _tokens_answer(lifetime=-3600)  # every refresh answer after it
    seen: list[SessionEvent] = []
    with anyio.fail_after(25):
        async with (
            scripted_server(good, expired) as server,
            SessionManager(_scripted_config(server.url)) as manager,
        ):
            manager.subscribe(seen.append)
            await manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
            await until(lambda: _first_refresh_outcome(seen) is not None, limit=15)
            before = _scripted_refreshes(server)
            await anyio.sleep(STORM_WINDOW)
            during = _scripted_refreshes(server) - before
    assert during <= STORM_BOUND, f"{during} token calls in {STORM_WINDOW} s"
    first = _first_refresh_outcome(seen)
    assert first is not None
    assert first.name is EventName.TOKEN_REFRESH_FAILURE
    assert isinstance(first.error, InvalidResponseException)


# -- 6: a wall-clock step neither serves an expired token nor causes a storm --


def test_a_wall_clock_step_back_never_serves_an_expired_token(amplify_emulator: Emulator) -> None:
    # time.time is stepped back an hour in the manager's process, after sign-in;
    # the emulator (this process) keeps the real time: the server's clock.
    amplify_emulator.reset()
    pool = amplify_emulator.provision(token_validity=timedelta(seconds=3))
    report, _ = _run_script("wall-step-back", pool, expiry_tolerance=0.5)
    refreshes = _emulator_refreshes(amplify_emulator) - 1  # the SRP sign-in's InitiateAuth
    assert report["expired"] == 0, report
    assert report["served"] > 0, report
    assert report["errors"] == [], report
    assert report["signed_out"] == 0, report
    # The first token outlived: refreshed on time, and no storm.
    assert 1 <= refreshes <= 15, refreshes


def test_a_wall_clock_step_either_way_changes_nothing(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    report, _ = _run_script("wall-step-forward", pool)
    assert report["errors"] == [], report
    assert report["fetches"] > 0, report
    assert report["other_sessions"] == 0, report  # the first session, served throughout
    assert _emulator_refreshes(amplify_emulator) == 1  # the sign-in's; no refresh


@pytest.mark.anyio
async def test_fake_clock_steps_move_nothing_and_refresh_follows_monotonic_time(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    seen: list[SessionEvent] = []
    with anyio.fail_after(20):
        async with SessionManager(pool.config(identity_pool_id=None), clock=clock) as manager:
            await manager.sign_in(pool.username, pool.password)
            first = await manager.fetch_auth_session()
            assert first.tokens is not None
            manager.subscribe(seen.append)
            calls = _emulator_refreshes(amplify_emulator)
            for step in (3600.0, -7200.0, 3600.0 + 301):
                clock.step(step)
                assert await manager.fetch_auth_session() is first
                await anyio.sleep(0.2)  # time for a background loop to misbehave
            assert _emulator_refreshes(amplify_emulator) == calls
            assert seen == []
            # An hour behind on the wall clock, into the refresh window by monotonic
            # time: the background refresh runs anyway.
            clock.step(-3600.0 - 301)
            clock.advance(INTO_REFRESH_WINDOW)
            await until(lambda: EventName.TOKEN_REFRESH in [e.name for e in seen])
            assert _emulator_refreshes(amplify_emulator) == calls + 1
            renewed = await manager.fetch_auth_session()
            assert renewed.tokens is not None
            assert (
                renewed.tokens.access_token.payload["jti"]
                != (first.tokens.access_token.payload["jti"])
            )
            # Stepped back again past the new token's issue: still no storm.
            clock.step(-3600.0)
            assert await manager.fetch_auth_session() is renewed
            await anyio.sleep(0.3)
            assert _emulator_refreshes(amplify_emulator) == calls + 1


# -- 7: absurd claims are an AuthError, never OverflowError -------------------

ABSURD_CLAIMS = {
    "iat 1e308": {"iat": 1e308},
    "exp 1e308": {"exp": 1e308},
    "iat negative": {"iat": -1},
    "exp in 100 years": {"exp": int(time.time()) + 100 * 365 * 86400},
}


@pytest.mark.anyio
@pytest.mark.parametrize("claims", ABSURD_CLAIMS.values(), ids=ABSURD_CLAIMS.keys())
async def test_absurd_time_claims_are_an_invalid_response_not_a_session(
    claims: dict[str, Any],
) -> None:
    storage = MemoryStorage()
    with anyio.fail_after(20):
        async with (
            scripted_server(_tokens_answer(lifetime=3600, **claims)) as server,
            SessionManager(_scripted_config(server.url), storage=storage) as manager,
        ):
            outcome = await _outcome(
                manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
            )
            session = await _outcome(manager.fetch_auth_session())
            forced = await _outcome(manager.fetch_auth_session(force_refresh=True))
            authenticated = await _outcome(manager.is_authenticated())
    assert isinstance(outcome, InvalidResponseException), outcome
    assert isinstance(session, AuthSession)
    assert session.tokens is None
    assert isinstance(forced, AuthSession | AuthError)
    assert authenticated is False
    assert await _stored_session(storage, CLIENT, "alice") == []


@pytest.mark.anyio
async def test_a_stored_session_with_absurd_claims_counts_as_none(
    pool: EmulatedPool,
) -> None:
    storage = MemoryStorage()
    prefix = f"CognitoIdentityServiceProvider.{pool.client_id}"
    timing = {"iat": 1e308, "username": pool.username, "client_id": pool.client_id}
    await storage.set_item(f"{prefix}.LastAuthUser", pool.username)
    await storage.set_item(f"{prefix}.{pool.username}.accessToken", make_jwt(timing))
    await storage.set_item(
        f"{prefix}.{pool.username}.idToken", make_jwt({**timing, "token_use": "id"})
    )
    await storage.set_item(f"{prefix}.{pool.username}.refreshToken", "opaque-refresh-token")
    with anyio.fail_after(20):
        async with SessionManager(pool.config(identity_pool_id=None), storage=storage) as manager:
            session = await _outcome(manager.fetch_auth_session())
            authenticated = await _outcome(manager.is_authenticated())
            signed_in = await _outcome(manager.sign_in(pool.username, pool.password))
            after = await _outcome(manager.fetch_auth_session())
    assert isinstance(session, AuthSession)
    assert session.tokens is None
    assert authenticated is False
    assert not isinstance(signed_in, AuthError), signed_in
    assert signed_in.is_signed_in
    assert isinstance(after, AuthSession)
    assert after.tokens is not None


# -- 10, 11, 13: closing, reopening, nesting ----------------------------------


@pytest.mark.anyio
async def test_a_forced_fetch_joining_a_flight_started_while_closed_works(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    manager = SessionManager(pool.config(identity_pool_id=None), clock=clock)
    results: dict[str, AuthSession | AuthError] = {}

    async def fetch(name: str, forced: bool) -> None:
        results[name] = await _outcome(manager.fetch_auth_session(force_refresh=forced))

    try:
        with anyio.fail_after(20):
            await manager.sign_in(pool.username, pool.password)  # never opened yet
            clock.advance(3600)  # expired: the next fetch refreshes first...
            amplify_emulator.front.inject("InitiateAuth", 1.0)  # ...and Cognito answers slowly
            refreshes = _emulator_refreshes(amplify_emulator)
            async with anyio.create_task_group() as group:
                group.start_soon(fetch, "on demand, closed", False)
                await until(lambda: _emulator_refreshes(amplify_emulator) > refreshes)
                async with manager:
                    # Joins the flight started while closed; the manager closes
                    # again before that flight lands.
                    group.start_soon(fetch, "forced, opened", True)
                    await anyio.sleep(0.2)
            # Later forced callers, closed and open, neither fail nor hang.
            await fetch("forced, closed", True)
            async with manager:
                await fetch("forced, reopened", True)
    finally:
        await manager.aclose()
    assert list(results) == [
        "on demand, closed",
        "forced, opened",
        "forced, closed",
        "forced, reopened",
    ]
    for name, result in results.items():
        assert isinstance(result, AuthSession), (name, result)
        assert result.tokens is not None, name


@pytest.mark.anyio
async def test_a_listener_subscribed_before_opening_hears_every_opening(
    pool: EmulatedPool,
) -> None:
    manager = SessionManager(pool.config(identity_pool_id=None))
    seen: list[EventName] = []
    manager.subscribe(lambda event: seen.append(event.name))
    with anyio.fail_after(20):
        async with manager:
            await manager.sign_in(pool.username, pool.password)
            await until(lambda: EventName.SIGNED_IN in seen)
        async with manager:
            await manager.fetch_auth_session(force_refresh=True)
            await until(lambda: EventName.TOKEN_REFRESH in seen)
        async with manager:
            await manager.sign_out()
            await until(lambda: EventName.SIGNED_OUT in seen)
    assert seen == [EventName.SIGNED_IN, EventName.TOKEN_REFRESH, EventName.SIGNED_OUT]


@pytest.mark.anyio
async def test_a_nested_opening_is_refused_and_leaves_nothing_running(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    manager = SessionManager(pool.config(identity_pool_id=None), clock=clock)
    tasks_before = asyncio.all_tasks()
    inner: AuthError | None = None
    with anyio.fail_after(20):
        async with manager:
            await manager.sign_in(pool.username, pool.password)
            try:
                async with manager:
                    pass
            except AuthError as err:
                inner = err
            # The outer opening still works.
            assert (await manager.fetch_auth_session(force_refresh=True)).tokens is not None
        await _assert_nothing_left_running(clock, amplify_emulator, tasks_before)
    assert isinstance(inner, amplify_session.InvalidStateException), inner


async def _assert_nothing_left_running(
    clock: FakeClock, emulator: Emulator, tasks_before: set[asyncio.Task[Any]]
) -> None:
    """No task of the closed manager is left, and none calls Cognito when due."""
    calls = sum(emulator.front.calls.values())
    clock.advance(7200)  # whatever still runs would refresh now
    await anyio.sleep(1)
    leftover = [task for task in asyncio.all_tasks() - tasks_before if not task.done()]
    assert leftover == []
    assert sum(emulator.front.calls.values()) == calls


@pytest.mark.anyio
async def test_a_close_in_a_cancelled_scope_still_stops_the_refresh_loop(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # The refresh loop is a task of the manager's own, outside its task group:
    # closing must end it even when the scope around the manager is cancelled.
    clock = FakeClock()
    manager = SessionManager(pool.config(identity_pool_id=None), clock=clock)
    tasks_before = asyncio.all_tasks()
    with anyio.fail_after(20):
        with anyio.CancelScope() as outer:
            async with manager:
                await manager.sign_in(pool.username, pool.password)
                outer.cancel()
                await anyio.sleep(5)  # cancelled here; the manager closes cancelled
        assert outer.cancelled_caught
        await _assert_nothing_left_running(clock, amplify_emulator, tasks_before)
    calls = sum(amplify_emulator.front.calls.values())
    # And it opens again, with a refresh loop that works.
    with anyio.fail_after(20):
        async with manager:
            clock.advance(3600)
            await until(lambda: sum(amplify_emulator.front.calls.values()) > calls)


# -- 12, 14: event loops and threads --------------------------------------------


def test_one_manager_works_from_a_second_asyncio_run(pool: EmulatedPool) -> None:
    report, _ = _run_script("two-runs", pool)
    assert "run_errors" not in report, report
    assert report["first"] == "tokens"
    assert report["second"] == ["tokens"] * 4 + ["revoked"], report


def test_a_manager_left_open_by_an_ended_event_loop_closes_and_reopens(
    pool: EmulatedPool,
) -> None:
    # Its task group and refresh loop belonged to a loop asyncio.run has closed:
    # aclose in the next one must not raise anyio's RuntimeError (not an AuthError).
    report, _ = _run_script("left-open", pool)
    assert report == {"close": "closed", "reopened": "tokens"}, report


def test_a_manager_used_from_a_second_running_loop_refuses_at_once(pool: EmulatedPool) -> None:
    report, _ = _run_script("two-threads", pool)
    assert report["intruder"] == "InvalidStateException", report
    assert "owner_error" not in report, report
    assert report["owner_after"] == "tokens", report
    assert report["threads_alive"] == 0, report


def test_facade_sign_in_in_asyncio_run_leaves_no_coroutine_unawaited(pool: EmulatedPool) -> None:
    report, stderr = _run_script(
        "facade-sign-in", pool, flags=("-W", "error"), identity_pool_id=pool.identity_pool_id
    )
    assert "never awaited" not in stderr
    assert "Exception ignored" not in stderr
    assert report == {"signed_in": True, "tokens": True, "credentials": True}
