"""Adversarial checks of the shared CognitoClient (issue 19, items 1-2): cancellation while
queued for a slot, timeouts in a slot, closing the client under its managers, successive
event loops, and the retry budget through an outage."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

import anyio
import pytest

from amplify_session import (
    AuthError,
    CognitoClient,
    InvalidStateException,
    NetworkError,
    RetryPolicy,
    SessionManager,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.many_sessions import memory_storages, stored_sessions
from tests.support.waiting import until

pytestmark = pytest.mark.anyio

NO_WAIT = RetryPolicy(attempts=4, wait_initial=0, wait_max=0, wait_jitter=0)


@contextlib.asynccontextmanager
async def opened(managers: list[SessionManager]) -> AsyncIterator[list[SessionManager]]:
    async with contextlib.AsyncExitStack() as stack:
        for manager in managers:
            await stack.enter_async_context(manager)
        yield managers


async def restored(client: CognitoClient, pool: EmulatedPool, count: int) -> list[SessionManager]:
    sessions = await stored_sessions(pool, client.config, count)
    return [SessionManager(client, storage=s) for s in await memory_storages(sessions)]


async def test_callers_cancelled_while_queued_give_their_slots_back(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """One slot, held by a slow refresh; 1,000 refreshes queue behind it and their callers' task
    group is cancelled: no slot leaks, none is sent twice, and a later call is not starved."""
    client = CognitoClient(pool.config(identity_pool_id=None), max_connections=1)
    async with client:
        managers = await restored(client, pool, 1_000)
        async with opened(managers):
            amplify_emulator.front.inject("InitiateAuth", 1.0)
            before = amplify_emulator.front.calls["InitiateAuth"]
            async with anyio.create_task_group() as group:
                for manager in managers:
                    group.start_soon(lambda m=manager: m.fetch_auth_session(force_refresh=True))
                await until(lambda: client.calls_in_flight == 1)
                await anyio.sleep(0.05)
                group.cancel_scope.cancel()
            # A refresh started for a caller is the session's, not the caller's (one caller
            # cancelled does not cancel it for the others): the queued ones still go, once
            # each, through the one slot, and then the slot is free.
            await until(
                lambda: amplify_emulator.front.calls["InitiateAuth"] - before == len(managers),
                limit=120,
            )
            await until(lambda: client.calls_in_flight == 0)
            with anyio.fail_after(20):
                session = await managers[0].fetch_auth_session(force_refresh=True)
            assert session.tokens is not None
            assert client.calls_in_flight == 0
            assert client.peak_calls_in_flight == 1


async def test_a_call_that_times_out_in_its_slot_frees_it(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    config = pool.config(identity_pool_id=None, request_timeout=0.5, retry=RetryPolicy(attempts=1))
    async with CognitoClient(config, max_connections=1) as client:
        (first, second) = await restored(client, pool, 2)
        async with opened([first, second]):
            amplify_emulator.front.inject("InitiateAuth", "stall")
            outcomes = await asyncio.gather(
                first.fetch_auth_session(force_refresh=True),
                second.fetch_auth_session(force_refresh=True),
                return_exceptions=True,
            )
            assert sum(isinstance(o, NetworkError) for o in outcomes) == 1
            assert not [
                o
                for o in outcomes
                if isinstance(o, BaseException) and not isinstance(o, NetworkError)
            ]
            assert client.calls_in_flight == 0
            session = await first.fetch_auth_session(force_refresh=True)
            assert session.tokens is not None


async def test_closing_the_client_under_a_refresh_fails_it_as_an_auth_error_and_reopens(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    config = pool.config(identity_pool_id=None, retry=RetryPolicy(attempts=1))
    client = CognitoClient(config, max_connections=4)
    (manager,) = await restored(client, pool, 1)
    async with manager:
        amplify_emulator.front.inject("InitiateAuth", 1.0)
        outcome: list[object] = []

        async def refresh() -> None:
            try:
                outcome.append(await manager.fetch_auth_session(force_refresh=True))
            except Exception as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as group:
            group.start_soon(refresh)
            await until(lambda: client.calls_in_flight == 1)
            await client.aclose()
        assert len(outcome) == 1
        assert isinstance(outcome[0], AuthError), repr(outcome[0])
        assert client.calls_in_flight == 0
        # The client opens new connections; the same manager and a new one both work.
        session = await manager.fetch_auth_session(force_refresh=True)
        assert session.tokens is not None
        async with SessionManager(client) as other:
            await other.sign_in(pool.username, pool.password)
    await client.aclose()


def test_one_client_across_successive_event_loops(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    client = CognitoClient(pool.config(identity_pool_id=None), max_connections=2)
    manager = SessionManager(client)

    async def sign_in() -> None:
        async with manager:
            await manager.sign_in(pool.username, pool.password)
            await manager.fetch_auth_session(force_refresh=True)

    async def refresh() -> None:
        async with manager:
            session = await manager.fetch_auth_session(force_refresh=True)
            assert session.tokens is not None
            async with SessionManager(client) as other:
                await other.sign_in(pool.username, pool.password)

    asyncio.run(sign_in())
    asyncio.run(refresh())
    asyncio.run(refresh())
    assert client.calls_in_flight == 0
    assert client.peak_calls_in_flight <= 2
    assert not client._session.is_open  # each loop's connections closed as it stopped


async def test_an_outage_drains_the_retry_budget_without_ending_sessions_and_recovery_refills_it(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """An outage spends the shared retry budget (then each call is tried once); a background
    refresh that fails then keeps the session and tries again later; once Cognito answers,
    successes refill the budget and a transient fault is retried again."""
    from amplify_session import EventName, SessionEvent

    front = amplify_emulator.front
    config = pool.config(identity_pool_id=None, retry=NO_WAIT)
    clock = FakeClock()
    async with CognitoClient(config, max_connections=10) as client:
        sessions = await stored_sessions(pool, config, 2)
        victim_storage, other_storage = await memory_storages(sessions)
        victim = SessionManager(client, storage=victim_storage, clock=clock)
        other = SessionManager(client, storage=other_storage)
        events: list[SessionEvent] = []
        victim.subscribe(events.append)
        async with opened([victim, other]):
            before = (await victim.fetch_auth_session()).tokens
            assert before is not None
            front.inject("InitiateAuth", 500, times=100_000)
            start = front.calls["InitiateAuth"]
            for _ in range(60):
                with pytest.raises(AuthError) as caught:
                    await other.fetch_auth_session(force_refresh=True)
                assert caught.value.retryable
            spent = front.calls["InitiateAuth"] - start
            # 500 tokens at 5 a retry: 100 retries in all, then one attempt a call.
            assert spent == 60 + 100
            start = front.calls["InitiateAuth"]
            with pytest.raises(AuthError):
                await other.fetch_auth_session(force_refresh=True)
            assert front.calls["InitiateAuth"] - start == 1

            clock.advance(3600 - 60)  # the victim's background refresh comes due, and fails
            await until(lambda: any(e.name is EventName.TOKEN_REFRESH_FAILURE for e in events))
            still = await victim.fetch_auth_session()
            assert still.tokens is not None
            assert still.tokens.access_token.payload["jti"] == before.access_token.payload["jti"]
            assert not any(e.name is EventName.SIGNED_OUT for e in events)

            front.clear_faults()
            for _ in range(55):  # the session's own backoff, well before the token expires
                if any(e.name is EventName.TOKEN_REFRESH for e in events):
                    break
                clock.advance(1)
                await anyio.sleep(0.02)
            await until(lambda: any(e.name is EventName.TOKEN_REFRESH for e in events))
            fresh = await victim.fetch_auth_session()
            assert fresh.tokens is not None
            assert fresh.tokens.access_token.payload["exp"] > clock.time()
            assert not any(e.name is EventName.SIGNED_OUT for e in events)

            for _ in range(5):  # five successes pay for one retry
                await other.fetch_auth_session(force_refresh=True)
            front.inject("InitiateAuth", 500)
            session = await other.fetch_auth_session(force_refresh=True)
            assert session.tokens is not None


async def test_one_slot_serves_a_sign_in_and_many_refreshes_without_deadlock(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """With max_connections=1, a multi-call sign-in (SRP: two calls, then the device calls if
    any) interleaves with 50 refreshes: no call waits for a slot while holding one."""
    async with CognitoClient(pool.config(), max_connections=1) as client:
        managers = await restored(client, pool, 50)
        async with opened(managers), SessionManager(client) as signing_in:
            with anyio.fail_after(60):
                async with anyio.create_task_group() as group:
                    group.start_soon(signing_in.sign_in, pool.username, pool.password)
                    for manager in managers:
                        group.start_soon(lambda m=manager: m.fetch_auth_session(force_refresh=True))
            session = await signing_in.fetch_auth_session()
            assert session.tokens is not None
            assert session.credentials is not None  # the identity pool's calls too
        assert client.peak_calls_in_flight == 1
        assert client.calls_in_flight == 0


async def test_signing_out_one_users_manager_leaves_the_others(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    from amplify_session import EventName, SessionEvent

    async with CognitoClient(pool.config(identity_pool_id=None)) as client:
        first, second = await restored(client, pool, 2)
        seen: dict[str, list[SessionEvent]] = {"first": [], "second": []}
        first.subscribe(seen["first"].append)
        second.subscribe(seen["second"].append)
        async with opened([first, second]):
            await first.sign_out()
            await until(lambda: any(e.name is EventName.SIGNED_OUT for e in seen["first"]))
            session = await second.fetch_auth_session(force_refresh=True)
            assert session.tokens is not None
            await until(lambda: any(e.name is EventName.TOKEN_REFRESH for e in seen["second"]))
            assert not any(e.name is EventName.SIGNED_OUT for e in seen["second"])
            assert not any(e.name is EventName.TOKEN_REFRESH for e in seen["first"])


async def test_machine_sessions_share_a_client_made_from_client_credentials(
    amplify_emulator: Emulator,
) -> None:
    from tests.support.m2m import machine_pool, pool_config

    pool = machine_pool(amplify_emulator)
    config = pool_config(pool)
    client = CognitoClient(config, max_connections=1)
    assert client.client_credentials
    secret = config.auth_config.client_secret
    assert secret
    assert secret not in repr(client)
    async with client:
        managers = [SessionManager(client) for _ in range(20)]
        async with opened(managers):
            with anyio.fail_after(30):
                sessions = await asyncio.gather(*(m.fetch_auth_session() for m in managers))
        assert all(s.tokens is not None for s in sessions)
        assert client.peak_calls_in_flight == 1
        # The managers are closed; the client is not, and serves a new one.
        async with SessionManager(client) as late:
            assert (await late.fetch_auth_session()).tokens is not None


async def test_hosted_ui_sign_ins_share_the_clients_connections_not_their_state(
    amplify_emulator: Emulator,
) -> None:
    """Managers of one client made from an AuthConfig with oauth: each one's redirect sign-in
    (PKCE verifier, state) is its own, a callback meant for one is refused by another, and
    the token calls go through the client's one slot."""
    from amplify_session import InvalidParameterException
    from tests.integration.test_redirect_sign_in import WEB_CALLBACK, hosted_config

    amplify_emulator.reset()
    hosted = amplify_emulator.provision(
        oauth_flows=("code",),
        callback_urls=("http://127.0.0.1/callback", WEB_CALLBACK),
        logout_urls=("https://app.example.com/signed-out",),
    )
    async with CognitoClient(hosted_config(hosted), max_connections=1) as client:
        managers = [SessionManager(client) for _ in range(8)]
        async with opened(managers):
            callbacks = [
                await follow_authorize(m.begin_sign_in_with_redirect(WEB_CALLBACK))
                for m in managers
            ]
            with pytest.raises(InvalidParameterException, match="state"):
                await managers[0].complete_sign_in_with_redirect(callbacks[1])
            results = await asyncio.gather(
                *(
                    m.complete_sign_in_with_redirect(c)
                    for m, c in zip(managers, callbacks, strict=True)
                )
            )
            assert all(r.is_signed_in for r in results)
            sessions = await asyncio.gather(
                *(m.fetch_auth_session(force_refresh=True) for m in managers)
            )
            subs = {s.tokens.access_token.payload["jti"] for s in sessions if s.tokens}
            assert len(subs) == len(managers)
        assert client.peak_calls_in_flight == 1
        assert client.calls_in_flight == 0


async def follow_authorize(url: str) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as response:
        assert response.status == 302
        return response.headers["Location"]


async def test_closing_a_manager_under_its_refresh_frees_the_slot_for_the_others(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """One slot; a manager is closed while its refresh is stalled on the wire: its caller gets
    a NetworkError (not a cancellation), the slot is given back, and another manager refreshes."""
    config = pool.config(identity_pool_id=None, request_timeout=2.0, retry=RetryPolicy(attempts=1))
    async with CognitoClient(config, max_connections=1) as client:
        leaving, staying = await restored(client, pool, 2)
        async with staying:
            await leaving.__aenter__()  # closed below by aclose, as a service drops a user
            amplify_emulator.front.inject("InitiateAuth", "stall")
            caller = asyncio.ensure_future(leaving.fetch_auth_session(force_refresh=True))
            await until(lambda: client.calls_in_flight == 1)
            await leaving.aclose()
            done, _ = await asyncio.wait([caller], timeout=10)
            assert done
            assert not caller.cancelled()
            assert isinstance(caller.exception(), NetworkError)  # it landed: timed out
            assert client.calls_in_flight == 0
            with anyio.fail_after(20):
                session = await staying.fetch_auth_session(force_refresh=True)
            assert session.tokens is not None


async def test_closing_the_client_under_background_refreshes_keeps_the_sessions(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """The client is closed while 20 background refreshes are on the wire or queued: they fail
    as a transient error (the sessions stay signed in and keep their tokens) and the next
    round, on new connections, refreshes them."""
    from amplify_session import EventName, SessionEvent

    config = pool.config(identity_pool_id=None, retry=RetryPolicy(attempts=1))
    clock = FakeClock()
    client = CognitoClient(config, max_connections=4)
    sessions = await stored_sessions(pool, config, 20)
    managers = [
        SessionManager(client, storage=s, clock=clock) for s in await memory_storages(sessions)
    ]
    events: list[SessionEvent] = []
    for manager in managers:
        manager.subscribe(events.append)
    async with opened(managers):
        for manager in managers:
            await manager.fetch_auth_session()
        amplify_emulator.front.inject("InitiateAuth", 0.5, times=20)
        clock.advance(3600 - 60)
        await until(lambda: client.calls_in_flight == 4)
        await client.aclose()
        await until(lambda: client.calls_in_flight == 0, limit=20)
        assert not [e for e in events if e.name is EventName.SIGNED_OUT]
        for _ in range(55):
            if sum(e.name is EventName.TOKEN_REFRESH for e in events) >= len(managers):
                break
            clock.advance(1)
            await anyio.sleep(0.05)
        await until(
            lambda: sum(e.name is EventName.TOKEN_REFRESH for e in events) >= len(managers),
            limit=30,
        )
        assert not [e for e in events if e.name is EventName.SIGNED_OUT]
        failures = [e.error for e in events if e.name is EventName.TOKEN_REFRESH_FAILURE]
        assert all(isinstance(error, NetworkError) for error in failures), failures
    await client.aclose()


async def test_sessions_signed_in_together_spread_their_refreshes_over_the_jitter(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """300 sessions issued in the same second: the clock walks the last 35 s before the
    refresh window one second at a time, and the refreshes come spread over the window's 10 %
    jitter (30 s), one per session, never a herd in one second."""
    config = pool.config(identity_pool_id=None)
    sessions = await stored_sessions(pool, config, 300)
    clock = FakeClock()
    front = amplify_emulator.front
    async with CognitoClient(config, max_connections=20) as client:
        managers = [
            SessionManager(client, storage=s, clock=clock) for s in await memory_storages(sessions)
        ]
        async with opened(managers):
            for manager in managers:
                await manager.fetch_auth_session()
            start = front.calls["InitiateAuth"]
            clock.advance(3600 - config.refresh_window - 35)
            per_second: list[int] = []
            for _ in range(40):
                clock.advance(1)
                before = front.calls["InitiateAuth"]
                await anyio.sleep(0.05)
                await until(lambda: client.calls_in_flight == 0, limit=30)
                await anyio.sleep(0.05)
                per_second.append(front.calls["InitiateAuth"] - before)
            assert front.calls["InitiateAuth"] - start == len(managers)
            assert sum(1 for n in per_second if n) >= 25
            assert max(per_second) <= 45  # about 10 a second; all 300 at once without jitter


async def test_concurrent_failures_spend_the_budget_exactly_once(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """80 refreshes fail at once through 8 slots: retries stop after the budget's 100 in all
    (it neither goes negative nor pays twice), and a success then adds to it, never beyond
    its capacity."""
    front = amplify_emulator.front
    config = pool.config(identity_pool_id=None, retry=NO_WAIT)
    async with CognitoClient(config, max_connections=8) as client:
        managers = await restored(client, pool, 80)
        async with opened(managers):
            front.inject("InitiateAuth", 503, times=100_000)
            start = front.calls["InitiateAuth"]
            outcomes = await asyncio.gather(
                *(m.fetch_auth_session(force_refresh=True) for m in managers),
                return_exceptions=True,
            )
            assert all(isinstance(o, AuthError) and o.retryable for o in outcomes)
            assert front.calls["InitiateAuth"] - start == 80 + 100
            budget = client._gate.budget
            assert budget.available >= 0
            assert budget.available < budget.retry_cost
            left = budget.available
            front.clear_faults()
            for manager in managers:
                await manager.fetch_auth_session(force_refresh=True)
            assert budget.available == left + 80  # one token per first-time success
            for manager in managers * 6:
                await manager.fetch_auth_session(force_refresh=True)
            assert budget.available == budget.capacity


def test_unopened_managers_of_one_client_across_successive_event_loops(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """Without ``async with`` (and never closed), a manager and its client still work from one
    asyncio.run to the next: the old loop's connections went with it."""
    client = CognitoClient(pool.config(), max_connections=3)
    managers = [SessionManager(client) for _ in range(3)]

    async def sign_in() -> None:
        await asyncio.gather(*(m.sign_in(pool.username, pool.password) for m in managers))

    async def refresh() -> list[object]:
        return await asyncio.gather(*(m.fetch_auth_session(force_refresh=True) for m in managers))

    asyncio.run(sign_in())
    for _ in range(2):
        sessions = asyncio.run(refresh())
        assert all(getattr(s, "credentials", None) is not None for s in sessions)
    assert client.calls_in_flight == 0
    assert client.peak_calls_in_flight <= 3


async def test_no_secret_in_the_shared_clients_reprs_or_errors(
    amplify_emulator: Emulator, secret_pool: EmulatedPool
) -> None:
    from amplify_session import NotAuthorizedException

    config = secret_pool.config()
    secret = config.client_secret
    assert secret
    async with CognitoClient(config, max_connections=2) as client:
        async with SessionManager(client) as manager:
            with pytest.raises(NotAuthorizedException) as caught:
                await manager.sign_in(secret_pool.username, "wrong-" + secret)
        texts = [repr(client), repr(client.transport), repr(client._gate), repr(manager)]
        texts += [str(caught.value), repr(caught.value)]
        assert not [t for t in texts if secret in t]


async def test_a_caller_timing_out_in_its_slot_frees_it_and_refusals_cost_no_budget(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """A sign-in whose caller's own timeout fires while its call holds the one slot gives the
    slot back at once; wrong passwords (definitive refusals) are never retried, so they
    spend nothing of the shared retry budget."""
    from amplify_session import NotAuthorizedException

    client = CognitoClient(pool.config(identity_pool_id=None), max_connections=1)
    async with client, SessionManager(client) as impatient, SessionManager(client) as patient:
        amplify_emulator.front.inject("InitiateAuth", 2.0)
        with anyio.move_on_after(0.3) as scope:
            await impatient.sign_in(pool.username, pool.password)
        assert scope.cancelled_caught
        assert client.calls_in_flight == 0
        with anyio.fail_after(10):
            await patient.sign_in(pool.username, pool.password)
        for _ in range(30):
            with pytest.raises(NotAuthorizedException):
                await impatient.sign_in(pool.username, "not-the-password")
        assert client._gate.budget.available == client._gate.budget.capacity
        await impatient.sign_in(pool.username, pool.password)


async def test_queued_sign_ins_cancelled_leave_no_slot_behind(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """Sign-ins are the caller's own (not shielded like a refresh): 60 of them queued for the
    one slot and cancelled, some while just woken, leave the slot free and nothing sent."""
    client = CognitoClient(pool.config(identity_pool_id=None), max_connections=1)
    async with client:
        managers = [SessionManager(client) for _ in range(60)]
        async with opened(managers):
            amplify_emulator.front.inject("InitiateAuth", 0.5, times=3)
            before = amplify_emulator.front.calls["InitiateAuth"]
            async with anyio.create_task_group() as group:
                for manager in managers:
                    group.start_soon(manager.sign_in, pool.username, pool.password)
                await until(
                    lambda: amplify_emulator.front.calls["InitiateAuth"] - before >= 2, limit=30
                )
                group.cancel_scope.cancel()
            assert client.calls_in_flight == 0
            sent = amplify_emulator.front.calls["InitiateAuth"] - before
            assert sent <= 3
            with anyio.fail_after(20):
                await managers[-1].sign_in(pool.username, pool.password)
            assert client.calls_in_flight == 0


async def test_one_users_managers_on_one_redis_follow_each_other_other_users_do_not(
    amplify_emulator: Emulator, pool: EmulatedPool, redis_url: str
) -> None:
    """Two managers of one user on ONE Redis storage (one prefix) are one session: a sign-in
    and a sign-out in one reach the other. A third on another prefix (another user's slot)
    is untouched by both, though all three share the client."""
    from amplify_session import EventName, SessionEvent
    from amplify_session.storage.redis import RedisStorage

    async with CognitoClient(pool.config(identity_pool_id=None)) as client:
        shared_a = RedisStorage.from_url(redis_url, prefix="user-1")
        shared_b = RedisStorage.from_url(redis_url, prefix="user-1")
        apart = RedisStorage.from_url(redis_url, prefix="user-2")
        a, b = SessionManager(client, storage=shared_a), SessionManager(client, storage=shared_b)
        c = SessionManager(client, storage=apart)
        seen: dict[str, list[SessionEvent]] = {"a": [], "b": [], "c": []}
        for name, manager in (("a", a), ("b", b), ("c", c)):
            manager.subscribe(seen[name].append)
        try:
            async with opened([a, b, c]):
                await c.sign_in(pool.username, pool.password)
                await a.sign_in(pool.username, pool.password)
                await until(lambda: any(e.name is EventName.SIGNED_IN for e in seen["b"]))
                assert await b.is_authenticated()
                await a.sign_out()
                await until(lambda: any(e.name is EventName.SIGNED_OUT for e in seen["b"]))
                assert not await b.is_authenticated()
                assert await c.is_authenticated()
                session = await c.fetch_auth_session(force_refresh=True)
                assert session.tokens is not None
                names = [e.name for e in seen["c"]]
                assert names == [EventName.SIGNED_IN, EventName.TOKEN_REFRESH]
        finally:
            for storage in (shared_a, shared_b, apart):
                await storage.aclose()


async def test_a_queued_call_is_retried_after_a_transient_failure(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """The retry policy's timeout runs from the first attempt on the wire, not from the queue."""
    policy = RetryPolicy(attempts=4, timeout=1.0, wait_initial=0, wait_max=0, wait_jitter=0)
    config = pool.config(identity_pool_id=None, retry=policy)
    async with CognitoClient(config, max_connections=1) as client:
        first, second = await restored(client, pool, 2)
        async with opened([first, second]):
            amplify_emulator.front.inject("InitiateAuth", 1.5)  # A holds the slot 1.5 s
            amplify_emulator.front.inject("InitiateAuth", 500)  # B's first attempt: a blip
            a = asyncio.ensure_future(first.fetch_auth_session(force_refresh=True))
            await until(lambda: client.calls_in_flight == 1)
            b = asyncio.ensure_future(second.fetch_auth_session(force_refresh=True))
            done = await asyncio.gather(a, b, return_exceptions=True)
            assert not [repr(o) for o in done if isinstance(o, BaseException)]


def test_a_client_used_from_a_second_live_loop_refuses_with_an_auth_error(
    amplify_emulator: Emulator, pool: EmulatedPool
) -> None:
    """Two threads, each with its own loop, one client: the second is refused
    (InvalidStateException), nothing else escapes, and the slots keep their count."""
    amplify_emulator.front.inject("InitiateAuth", 0.2, times=1000)
    client = CognitoClient(pool.config(identity_pool_id=None), max_connections=2)
    errors: list[BaseException] = []

    async def work() -> None:
        async with contextlib.AsyncExitStack() as stack:
            managers = [await stack.enter_async_context(SessionManager(client)) for _ in range(6)]
            await asyncio.gather(*(m.sign_in(pool.username, pool.password) for m in managers))

    def thread() -> None:
        try:
            asyncio.run(work())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=thread) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # AuthErrors from the emulator aside, nothing else may escape (a RuntimeError, KeyError...).
    assert not [e for e in errors if not isinstance(e, AuthError)], [repr(e) for e in errors]
    assert any(isinstance(e, InvalidStateException) for e in errors)
    assert client.peak_calls_in_flight <= 2
    assert client.calls_in_flight == 0
