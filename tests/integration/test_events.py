"""Event hooks: listeners (sync, async, failing, hanging), streams, FileStorage sessions."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from amplify_session import (
    EventName,
    FileStorage,
    SessionEvent,
    SessionManager,
    StorageException,
)
from amplify_session.emulator import EmulatedPool
from tests.support.waiting import until

pytestmark = pytest.mark.anyio


async def test_sync_and_async_listeners_see_every_change_in_order(pool: EmulatedPool) -> None:
    sync_seen: list[SessionEvent] = []
    async_seen: list[EventName] = []

    async def async_listener(event: SessionEvent) -> None:
        await anyio.lowlevel.checkpoint()
        async_seen.append(event.name)

    # Without guest access: a guest's credentials would follow the sign-out.
    async with SessionManager(pool.config(allow_guest_access=False)) as manager:
        manager.subscribe(sync_seen.append)
        manager.subscribe(async_listener, events={EventName.SIGNED_IN, EventName.SIGNED_OUT})
        await manager.sign_in(pool.username, pool.password)
        await manager.fetch_auth_session()
        await manager.fetch_auth_session(force_refresh=True)
        await manager.sign_out()
        await until(lambda: len(async_seen) == 2)
        await until(lambda: sync_seen and sync_seen[-1].name is EventName.SIGNED_OUT)
    names = [e.name for e in sync_seen]
    assert names[0] is EventName.SIGNED_IN
    assert EventName.CREDENTIALS_REFRESH in names
    assert EventName.TOKEN_REFRESH in names
    assert names[-1] is EventName.SIGNED_OUT
    assert async_seen == [EventName.SIGNED_IN, EventName.SIGNED_OUT]
    refresh = next(e for e in sync_seen if e.name is EventName.TOKEN_REFRESH)
    assert refresh.session is not None
    assert refresh.session.tokens is not None
    assert refresh.error is None
    signed_out = sync_seen[-1]
    assert signed_out.session is not None
    assert signed_out.session.tokens is None


async def test_a_failing_or_hanging_listener_delays_nothing(
    pool: EmulatedPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amplify_session.events")
    good: list[EventName] = []

    def failing(event: SessionEvent) -> None:
        raise RuntimeError("listener bug")

    async def hanging(event: SessionEvent) -> None:
        await anyio.sleep_forever()

    config = pool.config(identity_pool_id=None)
    async with SessionManager(config, listener_timeout=0.2) as manager:
        manager.subscribe(failing)
        manager.subscribe(hanging)
        manager.subscribe(lambda e: good.append(e.name))
        with anyio.fail_after(5):
            await manager.sign_in(pool.username, pool.password)
            for _ in range(3):
                await manager.fetch_auth_session(force_refresh=True)
        await until(lambda: len(good) == 4)
        await until(lambda: "timed out" in caplog.text)
    assert good == [EventName.SIGNED_IN] + [EventName.TOKEN_REFRESH] * 3
    assert "listener raised" in caplog.text


async def test_unsubscribe_stops_delivery(pool: EmulatedPool) -> None:
    seen: list[EventName] = []
    async with SessionManager(pool.config(identity_pool_id=None)) as manager:
        unsubscribe = manager.subscribe(lambda e: seen.append(e.name))
        await manager.sign_in(pool.username, pool.password)
        await until(lambda: seen == [EventName.SIGNED_IN])
        unsubscribe()
        await manager.sign_out()
        await anyio.sleep(0.1)
    assert seen == [EventName.SIGNED_IN]


async def test_a_slow_stream_reader_loses_the_oldest_events(
    pool: EmulatedPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amplify_session.events")
    config = pool.config(identity_pool_id=None)
    async with SessionManager(config, event_buffer=2) as manager, manager.events() as events:
        await manager.sign_in(pool.username, pool.password)
        for _ in range(3):
            await manager.fetch_auth_session(force_refresh=True)
        got = [await events.__anext__() for _ in range(2)]
        assert events.dropped == 2
    assert [e.name for e in got] == [EventName.TOKEN_REFRESH] * 2
    assert "dropped the oldest event" in caplog.text


async def test_a_file_backed_session_survives_and_a_corrupt_file_signs_out(
    pool: EmulatedPool, tmp_path: Path
) -> None:
    path = tmp_path / "session.json"
    async with SessionManager(pool.config(), storage=FileStorage(path)) as first:
        await first.sign_in(pool.username, pool.password)
        original = await first.fetch_auth_session()
    async with SessionManager(pool.config(), storage=FileStorage(path)) as second:
        assert (await second.fetch_auth_session()).tokens == original.tokens
    path.write_text("{ half a file")
    async with SessionManager(pool.config(), storage=FileStorage(path)) as third:
        seen: list[SessionEvent] = []
        third.subscribe(seen.append)
        session = await third.fetch_auth_session()
        assert session.tokens is None
        await until(lambda: seen)
    assert seen[0].name is EventName.SIGNED_OUT
    assert isinstance(seen[0].error, StorageException)
    assert [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
