"""Races around sign-out, sign-in, refresh and close: one regression test per race found."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
import redis.asyncio

from amplify_session import (
    EventName,
    FileStorage,
    InvalidParameterException,
    InvalidStateException,
    MemoryStorage,
    NotAuthorizedException,
    RetryPolicy,
    SessionManager,
    StorageException,
)
from amplify_session._cognito import CognitoTransport, UserPoolClient
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.storage.redis import RedisStorage
from amplify_session.testing import FakeClock
from tests.support.retry import fast_retry
from tests.support.waiting import until

pytestmark = pytest.mark.anyio
INTO_REFRESH_WINDOW = 3600 - 300 + 31  # hour-long tokens, 300 s window, jitter included
LIMIT = 10  # seconds: a hang limit, never a measure
CHANNEL = "{amplify-session}:changes"  # RedisStorage's default change feed


def _key(pool: EmulatedPool, username: str, name: str) -> str:
    return f"CognitoIdentityServiceProvider.{pool.client_id}.{username}.{name}"


def _writes_tokens(changes: Mapping[str, str | None]) -> bool:
    return any(k.endswith(".accessToken") and v for k, v in changes.items())


class _View:
    """One process's connection to a shared MemoryStorage: it can break or hold writes."""

    def __init__(self, backing: MemoryStorage) -> None:
        self._backing = backing
        self.broken = False
        self.operations = 0
        self.write_gate: anyio.Event | None = None
        self.writing = anyio.Event()

    def _use(self) -> None:
        if self.broken:
            raise ConnectionError("storage unreachable from this process")
        self.operations += 1

    async def get_item(self, key: str) -> str | None:
        self._use()
        return await self._backing.get_item(key)

    async def set_item(self, key: str, value: str) -> None:
        self._use()
        await self._backing.set_item(key, value)

    async def remove_item(self, key: str) -> None:
        self._use()
        await self._backing.remove_item(key)

    async def clear(self) -> None:
        self._use()
        await self._backing.clear()

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        self._use()
        if self.write_gate is not None and _writes_tokens(changes):
            gate, self.write_gate = self.write_gate, None
            self.writing.set()
            await gate.wait()
        await self._backing.update_items(changes)


async def _a_process_listens(redis_url: str) -> None:
    """Return once a process listens to the Redis change feed."""
    probe = redis.asyncio.from_url(redis_url)
    try:
        with anyio.fail_after(LIMIT):
            while not (await probe.pubsub_numsub(CHANNEL))[0][1]:
                await anyio.sleep(0.02)
    finally:
        await probe.aclose()


async def _outcome(call: Any) -> object:
    """What ``call()`` returned, or the name of what it raised."""
    try:
        return await call()
    except Exception as err:
        return type(err).__name__


# -- r1 ---------------------------------------------------------------------------


class _SlowRedisReads(RedisStorage):
    """A RedisStorage whose reads of an access token can be held (a slow round trip)."""

    gate: anyio.Event | None = None
    reading: anyio.Event | None = None

    async def get_item(self, key: str) -> str | None:
        if self.gate is not None and key.endswith(".accessToken"):
            assert self.reading is not None
            self.reading.set()
            await self.gate.wait()
        return await super().get_item(key)


async def test_sign_out_during_a_reconcile_read_is_not_undone(
    pool: EmulatedPool, redis_url: str
) -> None:
    """Race: sign_out() while the Redis follower's reconcile is reading the stored tokens."""
    config = pool.config(identity_pool_id=None)
    storage = _SlowRedisReads.from_url(redis_url)
    other = RedisStorage.from_url(redis_url)
    try:
        async with SessionManager(config, storage=storage) as manager:
            await manager.sign_in(pool.username, pool.password)
            gate = storage.gate = anyio.Event()
            reading = storage.reading = anyio.Event()
            note = json.dumps({"kind": "tokens", "origin": "another process"})
            with anyio.fail_after(LIMIT):
                while not reading.is_set():  # until the follower is subscribed and reads
                    await other.publish(note)
                    with anyio.move_on_after(0.05):
                        await reading.wait()
            with anyio.fail_after(LIMIT):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(manager.sign_out)
                    await anyio.sleep(0.05)
                    storage.gate = None
                    gate.set()
            assert (await manager.fetch_auth_session()).tokens is None
            assert not await manager.is_authenticated()
            assert await storage.get_item(_key(pool, pool.username, "accessToken")) is None
    finally:
        await storage.aclose()
        await other.aclose()


# -- r2 ---------------------------------------------------------------------------


async def test_sign_out_during_sign_in_store_write_wins(pool: EmulatedPool) -> None:
    """Race: sign_out() while sign_in() is writing the new session to storage."""
    config = pool.config(identity_pool_id=None)
    view = _View(MemoryStorage())
    gate = view.write_gate = anyio.Event()
    manager = SessionManager(config, storage=view)
    try:
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_outcome, lambda: manager.sign_in(pool.username, pool.password))
                await view.writing.wait()
                tg.start_soon(manager.sign_out)
                await anyio.sleep(0.05)
                gate.set()
        assert (await manager.fetch_auth_session()).tokens is None
        restarted = SessionManager(config, storage=view)
        assert (await restarted.fetch_auth_session()).tokens is None
        await restarted.aclose()
    finally:
        await manager.aclose()


# -- r3 ---------------------------------------------------------------------------


class _SlowAcks(MemoryStorage):
    """Writes land at once; their acknowledgement can be slow (as a Redis reply can be)."""

    def __init__(self) -> None:
        super().__init__()
        self.slow = True
        self.landed = anyio.Event()

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        await super().update_items(changes)
        if self.slow and _writes_tokens(changes):
            self.landed.set()
            await anyio.sleep(2.0)


async def test_cancelled_sign_in_after_its_write_leaves_no_orphan(pool: EmulatedPool) -> None:
    """Race: sign_in() cancelled after its store write landed, before the write returned."""
    config = pool.config(identity_pool_id=None)
    storage = _SlowAcks()
    async with SessionManager(config, storage=storage) as manager:
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(manager.sign_in, pool.username, pool.password)
                await storage.landed.wait()
                tg.cancel_scope.cancel()  # e.g. the request that signs in timed out
        storage.slow = False
        await anyio.sleep(0.5)  # whatever the manager does next, in the background
        here = (await manager.fetch_auth_session()).tokens is not None
    async with SessionManager(config, storage=storage) as restarted:
        there = (await restarted.fetch_auth_session()).tokens is not None
    assert here == there, "this process and a restart disagree on whether the user is signed in"


# -- r4 ---------------------------------------------------------------------------


async def test_sign_out_of_a_never_loaded_manager_revokes_the_stored_token(
    pool: EmulatedPool, tmp_path: Path
) -> None:
    """Race: sign_out() before the manager ever loaded the stored session (a new process)."""
    config = pool.config(identity_pool_id=None)
    path = tmp_path / "session.json"
    async with SessionManager(config, storage=FileStorage(path)) as first:
        await first.sign_in(pool.username, pool.password)
    refresh_token = await FileStorage(path).get_item(_key(pool, pool.username, "refreshToken"))
    assert refresh_token is not None
    second = SessionManager(config, storage=FileStorage(path))  # a restarted process
    result = await second.sign_out()
    await second.aclose()
    assert result.revoked
    transport = CognitoTransport(config)
    try:
        with pytest.raises(NotAuthorizedException):
            await UserPoolClient(transport, config).refresh_token_auth(
                refresh_token, username=pool.username, device_key=None
            )
    finally:
        await transport.aclose()


# -- r5 ---------------------------------------------------------------------------


async def test_tokens_adopted_after_a_wall_clock_step_expire_on_time(
    pool: EmulatedPool, tmp_path: Path
) -> None:
    """Race: a wall-clock step between one process's refresh and another's adopting it."""
    config = pool.config(identity_pool_id=None)
    start = time.time()
    x_clock, y_clock = FakeClock(start), FakeClock(start)
    origin = y_clock.monotonic()
    path = tmp_path / "session.json"
    x = SessionManager(config, storage=FileStorage(path), clock=x_clock)
    y = SessionManager(config, storage=FileStorage(path), clock=y_clock)
    try:
        await x.sign_in(pool.username, pool.password)
        assert (await y.fetch_auth_session()).tokens is not None  # Y loads T1
        t2 = await x.fetch_auth_session(force_refresh=True)  # X stores T2 before the step
        assert t2.tokens is not None
        # When each token was issued, on the one fake time both processes share.
        issued = {t2.tokens.access_token.payload["jti"]: 0.0}
        x_clock.step(-3600)
        y_clock.step(-3600)  # the host's NTP step, seen by both

        def elapsed() -> float:
            return y_clock.monotonic() - origin

        y_clock.advance(3301)  # Y's T1 is due: Y adopts T2 (or asks Cognito)
        mid = await y.fetch_auth_session()
        assert mid.tokens is not None
        issued.setdefault(mid.tokens.access_token.payload["jti"], elapsed())
        y_clock.advance(400)
        session = await y.fetch_auth_session()
        assert session.tokens is not None
        claims = session.tokens.access_token.payload
        age = elapsed() - issued[claims["jti"]]
        assert age < claims["exp"] - claims["iat"], "served a token past its exp"
    finally:
        await x.aclose()
        await y.aclose()


# -- r6 ---------------------------------------------------------------------------


async def test_sign_out_from_another_running_loop_changes_nothing(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    """Race: sign_out() from a second event loop (thread) while the first loop runs."""
    config = pool.config(identity_pool_id=None)
    storage = MemoryStorage()
    outcome: list[object] = []
    async with SessionManager(config, storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)

        def other_loop() -> None:
            outcome.append(asyncio.run(_outcome(manager.sign_out)))

        thread = threading.Thread(target=other_loop, daemon=True)
        thread.start()
        await anyio.to_thread.run_sync(thread.join, LIMIT)
        assert not thread.is_alive()
        assert outcome == [InvalidStateException.__name__]
        assert (await manager.fetch_auth_session()).tokens is not None
        await anyio.sleep(0.3)  # a clear or revocation begun anyway would land now
        assert await storage.get_item(_key(pool, pool.username, "accessToken")) is not None
        assert (await manager.fetch_auth_session()).tokens is not None
    assert amplify_emulator.front.calls["RevokeToken"] == 0


# -- r7 ---------------------------------------------------------------------------


class _EndingFeed(MemoryStorage):
    """A coordinated storage whose change feed ends at once (its connection closed)."""

    lock_ttl = 30.0
    MOST = 50  # feeds opened before it stops ending (so a spinning loop cannot hang the test)

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, wait: float) -> AsyncIterator[bool]:
        yield True

    async def publish(self, message: str) -> None:
        pass

    async def messages(self) -> AsyncIterator[str]:
        self.opened += 1
        if self.opened >= self.MOST:
            await anyio.sleep_forever()
        return
        yield ""  # an async generator that yields nothing


async def test_a_feed_that_ends_does_not_spin_the_follower(pool: EmulatedPool) -> None:
    """Race: the follower re-opening a change feed that ends at once, while the app runs."""
    config = pool.config(identity_pool_id=None)
    storage = _EndingFeed()
    with anyio.fail_after(LIMIT):
        async with SessionManager(config, storage=storage) as manager:
            await manager.sign_in(pool.username, pool.password)
            await anyio.sleep(1.0)
            assert (await manager.fetch_auth_session()).tokens is not None
            assert await manager.is_authenticated()
    assert storage.opened < 10, "the follower re-opened an ended feed without backing off"


# -- r8 ---------------------------------------------------------------------------


class _SlowDisk(FileStorage):
    """A FileStorage whose next read of the sign-out marker answers late (in its thread)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.armed = False
        self.reading = anyio.Event()
        self.release = threading.Event()

    async def get_item(self, key: str) -> str | None:
        if self.armed and key.endswith(".signedOut"):
            self.armed = False
            self.reading.set()

            def slow_read() -> dict[str, str]:  # the disk answers late, with what it read
                self.release.wait(LIMIT)
                return self._guarded("read", self._read)

            return (await anyio.to_thread.run_sync(slow_read)).get(key)
        return await super().get_item(key)


async def test_sign_out_during_a_file_locked_refresh_read_wins(
    pool: EmulatedPool, tmp_path: Path
) -> None:
    """Race: sign_out() while a FileStorage refresh reads the session under the file lock."""
    config = pool.config(identity_pool_id=None)
    path = tmp_path / "session.json"
    clock, x_clock = FakeClock(), FakeClock()
    storage = _SlowDisk(path)
    manager = SessionManager(config, storage=storage, clock=clock)
    x = SessionManager(config, storage=FileStorage(path), clock=x_clock)  # another process
    try:
        await manager.sign_in(pool.username, pool.password)
        assert (await x.fetch_auth_session()).tokens is not None
        clock.advance(INTO_REFRESH_WINDOW)
        x_clock.advance(INTO_REFRESH_WINDOW)
        await x.fetch_auth_session(force_refresh=True)  # fresher tokens in the file
        storage.armed = True
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_outcome, manager.fetch_auth_session)  # due: refresh under lock
                await storage.reading.wait()
                tg.start_soon(manager.sign_out)
                await anyio.sleep(0.05)
                storage.release.set()
        assert (await manager.fetch_auth_session()).tokens is None
    finally:
        storage.release.set()
        await manager.aclose()
        await x.aclose()


# -- r9 ---------------------------------------------------------------------------


class _SlowMarkerRead(MemoryStorage):
    """The next read of the sign-out marker waits for a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: anyio.Event | None = None
        self.reading = anyio.Event()

    async def get_item(self, key: str) -> str | None:
        if self.gate is not None and key.endswith(".signedOut"):
            gate, self.gate = self.gate, None
            self.reading.set()
            await gate.wait()
        return await super().get_item(key)


async def test_refresh_token_rotated_during_sign_out_is_revoked(
    amplify_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Race: one process's rotating refresh lands just as another process signs out."""
    amplify_emulator.reset()
    pool = amplify_emulator.provision(refresh_token_rotation=True)
    config = pool.config(identity_pool_id=None, refresh_token_rotation=True)
    storage = _SlowMarkerRead()
    a = SessionManager(config, storage=storage)
    b = SessionManager(config, storage=storage)
    issued: list[str] = []
    original = UserPoolClient.get_tokens_from_refresh_token

    async def keep_issued(self: UserPoolClient, refresh_token: str, **kwargs: Any) -> Any:
        answer = await original(self, refresh_token, **kwargs)
        issued.append(answer.refresh_token)  # as Cognito issued it
        return answer

    try:
        await a.sign_in(pool.username, pool.password)
        assert (await b.fetch_auth_session()).tokens is not None
        monkeypatch.setattr(UserPoolClient, "get_tokens_from_refresh_token", keep_issued)
        gate = storage.gate = anyio.Event()
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_outcome, lambda: a.fetch_auth_session(force_refresh=True))
                await storage.reading.wait()  # A holds the rotated token, checks the marker
                await b.sign_out()
                gate.set()
        monkeypatch.undo()
        assert (await a.fetch_auth_session()).tokens is None
    finally:
        await a.aclose()
        await b.aclose()
    assert len(issued) == 1
    transport = CognitoTransport(config)
    try:
        with pytest.raises(NotAuthorizedException):
            await UserPoolClient(transport, config).get_tokens_from_refresh_token(
                issued[0], device_key=None
            )
    finally:
        await transport.aclose()


# -- r10 --------------------------------------------------------------------------


async def test_a_refresh_does_not_rewrite_last_auth_user(
    pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    """Race: alice's routine refresh after bob signed in last on the same storage."""
    bob_password = "Pw-bob-" + "x7Q" * 4
    amplify_emulator.add_user(pool, "bob", bob_password)
    config = pool.config(identity_pool_id=None)
    path = tmp_path / "session.json"
    alice = SessionManager(config, storage=FileStorage(path))
    bob = SessionManager(config, storage=FileStorage(path))
    restarted = SessionManager(config, storage=FileStorage(path))
    try:
        assert (await bob.fetch_auth_session()).tokens is None  # bob's process starts first
        await alice.sign_in(pool.username, pool.password)
        await bob.sign_in("bob", bob_password)  # the most recent sign-in
        await alice.fetch_auth_session(force_refresh=True)  # alice's routine refresh
        session = await restarted.fetch_auth_session()
        assert session.tokens is not None
        assert session.tokens.access_token.payload["username"] == "bob"
    finally:
        for manager in (alice, bob, restarted):
            await manager.aclose()


# -- r11 --------------------------------------------------------------------------


async def test_sign_out_does_not_wait_behind_a_stalled_sign_in(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    """Race: sign_out() while sign_in() waits on a Cognito that does not answer."""
    config = pool.config(identity_pool_id=None, request_timeout=4.0)
    manager = SessionManager(config)
    amplify_emulator.front.inject("InitiateAuth", "stall", times=10)
    signing_in: list[object] = []

    async def sign_in() -> None:
        signing_in.append(await _outcome(lambda: manager.sign_in(pool.username, pool.password)))

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sign_in)
            await until(lambda: amplify_emulator.front.calls["InitiateAuth"] >= 1)
            with anyio.fail_after(3):  # a stalled sign-in lasts request_timeout x attempts
                await manager.sign_out()
                await until(lambda: signing_in, limit=3)
        assert signing_in == [InvalidStateException.__name__]
        assert (await manager.fetch_auth_session()).tokens is None
    finally:
        amplify_emulator.front.clear_faults()
        await manager.aclose()


# -- r12 --------------------------------------------------------------------------


async def test_adopting_another_process_sign_in_wakes_the_refresh_loop(
    pool: EmulatedPool, amplify_emulator: Emulator, redis_url: str
) -> None:
    """Race: a signed-out process adopts a fleet sign-in while its refresh loop sleeps forever."""
    config = pool.config(identity_pool_id=None)
    clock = FakeClock()
    a_storage, b_storage = RedisStorage.from_url(redis_url), RedisStorage.from_url(redis_url)
    try:
        async with SessionManager(config, storage=a_storage, clock=clock) as a:
            events = a.events()
            await _a_process_listens(redis_url)  # A's follower
            assert (await a.fetch_auth_session()).tokens is None  # A runs, signed out
            async with SessionManager(config, storage=b_storage) as b:
                await b.sign_in(pool.username, pool.password)
            with anyio.fail_after(LIMIT):
                async for event in events:  # A's follower adopts B's sign-in
                    if event.name is EventName.SIGNED_IN:
                        break
            await events.aclose()
            before = amplify_emulator.front.calls["InitiateAuth"]
            clock.advance(INTO_REFRESH_WINDOW)  # no fetch: only the loop can refresh
            await until(lambda: amplify_emulator.front.calls["InitiateAuth"] > before)
    finally:
        await a_storage.aclose()
        await b_storage.aclose()


# -- r13 --------------------------------------------------------------------------


async def test_lock_expiring_mid_rotating_refresh_does_not_sign_the_fleet_out(
    amplify_emulator: Emulator, redis_url: str
) -> None:
    """Race: a rotating refresh outlives the Redis lock's TTL and a second process refreshes."""
    amplify_emulator.reset()
    pool = amplify_emulator.provision(refresh_token_rotation=True)
    config = pool.config(identity_pool_id=None, refresh_token_rotation=True)
    a_storage = RedisStorage.from_url(redis_url, lock_ttl=1.0)
    b_storage = RedisStorage.from_url(redis_url, lock_ttl=1.0)
    b_clock = FakeClock()
    b = SessionManager(config, storage=b_storage, clock=b_clock)
    try:
        async with SessionManager(config, storage=a_storage) as a:
            await a.sign_in(pool.username, pool.password)
            assert (await b.fetch_auth_session()).tokens is not None
            amplify_emulator.front.inject("GetTokensFromRefreshToken", 2.0)  # A's refresh is slow
            with anyio.fail_after(LIMIT):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_outcome, lambda: a.fetch_auth_session(force_refresh=True))
                    await anyio.sleep(1.3)  # A's lock has expired; A is still refreshing
                    b_clock.advance(INTO_REFRESH_WINDOW)  # B's tokens are due
                    await _outcome(b.fetch_auth_session)
            await anyio.sleep(0.5)
            assert (await a.fetch_auth_session()).tokens is not None
        restarted = SessionManager(config, storage=b_storage)
        assert (await restarted.fetch_auth_session()).tokens is not None
        await restarted.aclose()
    finally:
        amplify_emulator.front.clear_faults()
        await b.aclose()
        await a_storage.aclose()
        await b_storage.aclose()


# -- r15 --------------------------------------------------------------------------


async def test_a_late_sign_out_clear_does_not_undo_a_later_sign_in(pool: EmulatedPool) -> None:
    """Race: a sign-out's retried clear lands after the user signed in again elsewhere."""
    config = pool.config(identity_pool_id=None)
    backing = MemoryStorage()
    a_view, b_view = _View(backing), _View(backing)
    b = SessionManager(config, storage=b_view)
    try:
        assert (await b.fetch_auth_session()).tokens is None  # B runs, signed out
        async with SessionManager(config, storage=a_view) as a:
            await a.sign_in(pool.username, pool.password)
            a_view.broken = True
            result = await a.sign_out()  # in memory at once; the clear is pending
            assert not result.storage_cleared
            await b.sign_in(pool.username, pool.password)  # the user signs in again, in B
            a_view.operations = 0
            a_view.broken = False  # A reaches the storage again: its retried clear runs
            await until(lambda: a_view.operations > 0)
            await anyio.sleep(0.2)
        restarted = SessionManager(config, storage=_View(backing))
        assert (await restarted.fetch_auth_session()).tokens is not None
        await restarted.aclose()
        assert (await b.fetch_auth_session(force_refresh=True)).tokens is not None
    finally:
        await b.aclose()


# -- r17 --------------------------------------------------------------------------


async def test_sign_out_abandons_a_pending_challenge(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    """Race: sign_out() while a sign-in waits for its MFA code."""
    config = pool.config(identity_pool_id=None)
    amplify_emulator.front.plan_challenges("SMS_MFA", code="123456")
    manager = SessionManager(config)
    try:
        first = await manager.sign_in(pool.username, pool.password)
        assert not first.is_signed_in
        await manager.sign_out()
        with pytest.raises(InvalidParameterException):
            await manager.confirm_sign_in("123456")
        assert (await manager.fetch_auth_session()).tokens is None
    finally:
        await manager.aclose()


# -- r20 --------------------------------------------------------------------------


async def test_no_write_back_after_another_process_signs_out(pool: EmulatedPool) -> None:
    """Race: another process signs out between a refresh's marker check and its write."""
    config = pool.config(identity_pool_id=None)
    backing = MemoryStorage()
    a_view = _View(backing)
    a = SessionManager(config, storage=a_view)
    b = SessionManager(config, storage=backing)
    try:
        await a.sign_in(pool.username, pool.password)
        assert (await b.fetch_auth_session()).tokens is not None
        gate = a_view.write_gate = anyio.Event()
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_outcome, lambda: a.fetch_auth_session(force_refresh=True))
                await a_view.writing.wait()  # A found no marker and is writing
                await b.sign_out()
                gate.set()
        assert await backing.get_item(_key(pool, pool.username, "refreshToken")) is None
        last_user = f"CognitoIdentityServiceProvider.{pool.client_id}.LastAuthUser"
        assert await backing.get_item(last_user) is None
    finally:
        await a.aclose()
        await b.aclose()


# -- r21, r22 ---------------------------------------------------------------------


async def test_aclose_during_a_caller_run_refresh_calls_cognito_no_more(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    """Race: aclose() while a refresh run by a caller is waiting for Cognito's answer."""
    config = pool.config(identity_pool_id=None, retry=fast_retry(3))  # a retry comes at once
    manager = SessionManager(config)
    try:
        await manager.sign_in(pool.username, pool.password)
        amplify_emulator.front.inject("InitiateAuth", 1.0)  # the refresh answers after 1 s
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_outcome, lambda: manager.fetch_auth_session(force_refresh=True))
                await until(lambda: amplify_emulator.front.calls["InitiateAuth"] == 2)
                await manager.aclose()
                calls = amplify_emulator.front.calls.total()
        # The refresh has ended (the task group waited for it): its retries are counted.
        assert amplify_emulator.front.calls.total() == calls, (
            "a Cognito call after aclose() returned"
        )
    finally:
        amplify_emulator.front.clear_faults()
        await manager.aclose()


async def test_aclose_during_a_rotating_refresh_keeps_the_user_signed_in(
    amplify_emulator: Emulator,
) -> None:
    """Race: aclose() while a rotating refresh is in flight (the server rotates regardless)."""
    amplify_emulator.reset()
    pool = amplify_emulator.provision(refresh_token_rotation=True)
    # A retry comes well after the server has answered (and rotated) the first attempt.
    retry = RetryPolicy(attempts=3, wait_initial=1.0, wait_max=1.0, wait_jitter=0)
    config = pool.config(identity_pool_id=None, refresh_token_rotation=True, retry=retry)
    storage = MemoryStorage()
    manager = SessionManager(config, storage=storage)
    try:
        await manager.sign_in(pool.username, pool.password)
        amplify_emulator.front.inject("GetTokensFromRefreshToken", 0.5)  # answers after 0.5 s
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_outcome, lambda: manager.fetch_auth_session(force_refresh=True))
                await until(lambda: amplify_emulator.front.calls["GetTokensFromRefreshToken"] == 1)
                await manager.aclose()  # e.g. the service shuts down
        restarted = SessionManager(config, storage=storage)
        assert (await restarted.fetch_auth_session(force_refresh=True)).tokens is not None
        await restarted.aclose()
    finally:
        amplify_emulator.front.clear_faults()
        await manager.aclose()


# -- found by the model-based test ------------------------------------------------


class _ReadsFail(MemoryStorage):
    """A user's storage whose reads fail with amplify's own (non-retryable) error."""

    failing = False

    async def get_item(self, key: str) -> str | None:
        if self.failing:
            raise StorageException("backend down")
        return await super().get_item(key)


async def test_a_sign_out_after_a_failed_read_clears_what_is_stored(pool: EmulatedPool) -> None:
    """Race: a restart whose first read fails counts as signed out; its sign-out must still
    clear the stored session, or the next restart restores it."""
    config = pool.config(identity_pool_id=None)
    storage = _ReadsFail()
    async with SessionManager(config, storage=storage) as first:
        await first.sign_in(pool.username, pool.password)
    storage.failing = True
    restarted = SessionManager(config, storage=storage)
    assert (await restarted.fetch_auth_session()).tokens is None
    storage.failing = False
    result = await restarted.sign_out()
    await restarted.aclose()
    assert result.storage_cleared
    assert result.revoked
    async with SessionManager(config, storage=storage) as again:
        assert (await again.fetch_auth_session()).tokens is None


async def test_a_session_restored_after_a_wall_clock_step_back_is_refreshed_first(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    """Race: the wall clock stepped back a day before a restart: the stored tokens' age cannot
    be known from it, so they are refreshed before they are served."""
    config = pool.config(identity_pool_id=None)
    clock, storage = FakeClock(), MemoryStorage()
    async with SessionManager(config, storage=storage, clock=clock) as first:
        await first.sign_in(pool.username, pool.password)
        stored = await first.fetch_auth_session()
    clock.step(-86_400)
    calls = amplify_emulator.front.calls["InitiateAuth"]
    async with SessionManager(config, storage=storage, clock=clock) as restarted:
        session = await restarted.fetch_auth_session()
    assert stored.tokens is not None
    assert session.tokens is not None
    assert amplify_emulator.front.calls["InitiateAuth"] == calls + 1
    jti = session.tokens.access_token.payload["jti"]
    assert jti != stored.tokens.access_token.payload["jti"]


async def test_a_first_call_sign_out_clears_when_the_host_clock_is_behind(
    pool: EmulatedPool,
) -> None:
    """Race: a process whose first call is sign_out, on a host 10 s behind Cognito, must not
    take the stored session for a newer one and spare it."""
    config = pool.config(identity_pool_id=None)
    clock, storage = FakeClock(start=time.time() - 10), MemoryStorage()
    async with SessionManager(config, storage=storage, clock=clock) as first:
        await first.sign_in(pool.username, pool.password)
    restarted = SessionManager(config, storage=storage, clock=clock)
    result = await restarted.sign_out()
    await restarted.aclose()
    assert result.storage_cleared
    assert result.revoked
    async with SessionManager(config, storage=storage, clock=clock) as again:
        assert (await again.fetch_auth_session()).tokens is None


# -- r16 --------------------------------------------------------------------------


async def test_closing_during_a_background_rotating_refresh_keeps_the_rotated_token(
    amplify_emulator: Emulator, tmp_path: Path
) -> None:
    """Race: the manager closes while its background refresh waits for Cognito's answer.

    Cognito has already put a new refresh token in place of the stored one; had
    the close cancelled the refresh, its answer (the new token) would be lost and
    the next process would find a refresh token Cognito refuses.
    """
    amplify_emulator.reset()
    pool = amplify_emulator.provision(refresh_token_rotation=True)
    config = pool.config(identity_pool_id=None, refresh_token_rotation=True)
    clock = FakeClock()
    path = tmp_path / "session.json"
    async with SessionManager(config, storage=FileStorage(path), clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password)
        amplify_emulator.front.inject(
            "GetTokensFromRefreshToken", "late:1.0"
        )  # rotated, answered late
        clock.advance(INTO_REFRESH_WINDOW)  # the background loop refreshes
        await until(lambda: amplify_emulator.front.calls["GetTokensFromRefreshToken"] == 1)
    # Closed while the answer was on its way.
    async with SessionManager(config, storage=FileStorage(path)) as restarted:
        with anyio.fail_after(LIMIT):
            session = await restarted.fetch_auth_session(force_refresh=True)
    assert session.tokens is not None
    assert amplify_emulator.front.calls["GetTokensFromRefreshToken"] == 2


# -- r9 ---------------------------------------------------------------------------


class _ClearGate(MemoryStorage):
    """The sign-out marker's write fails, then hangs, as the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.clearing = "ok"  # "fail" | "hang" | "ok"
        self.hanging = anyio.Event()

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        if any(key.endswith(".signedOut") and value for key, value in changes.items()):
            if self.clearing == "fail":
                raise StorageException("the disk is busy", retryable=True)
            if self.clearing == "hang":
                self.hanging.set()
                await anyio.sleep_forever()
        await super().update_items(changes)


async def test_a_sign_in_cancelled_before_its_tokens_are_kept_revokes_them(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    """Race: a sign-in cancelled while it waits for the last sign-out's storage clear."""
    config = pool.config(identity_pool_id=None)
    storage = _ClearGate()
    manager = SessionManager(config, storage=storage)  # not opened: no loop retries the clear
    try:
        await manager.sign_in(pool.username, pool.password)
        storage.clearing = "fail"
        assert not (await manager.sign_out()).storage_cleared
        storage.clearing = "hang"
        revoked = amplify_emulator.front.calls["RevokeToken"]
        with anyio.fail_after(LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(manager.sign_in, pool.username, pool.password)
                await storage.hanging.wait()  # Cognito answered; the tokens wait to be kept
                tg.cancel_scope.cancel()  # e.g. the request that signs in timed out
        assert (await manager.fetch_auth_session()).tokens is None
        # The tokens were never kept: their refresh token must not live on unseen.
        assert amplify_emulator.front.calls["RevokeToken"] == revoked + 1
    finally:
        storage.clearing = "ok"
        await manager.aclose()
