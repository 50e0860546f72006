"""RedisStorage's own guarantees, and managers in one process sharing it as a fleet would."""

from __future__ import annotations

import logging

import anyio
import pytest
import redis.asyncio

from amplify_session import EventName, SessionEvent, SessionManager, StorageException
from amplify_session.emulator import EmulatedPool
from amplify_session.storage.redis import RedisStorage
from tests.support.redis_server import RedisServer
from tests.support.waiting import until

pytestmark = pytest.mark.anyio


async def test_every_key_carries_one_hash_tag(redis_url: str) -> None:
    storage = RedisStorage.from_url(redis_url, prefix="svc-a")
    await storage.update_items({"a": "1", "b.c": "2"})
    async with storage.lock("x", wait=1):
        client = redis.asyncio.from_url(redis_url, decode_responses=True)
        keys = sorted(await client.keys("*"))
        await client.aclose()
    await storage.aclose()
    assert keys == ["{svc-a}:a", "{svc-a}:b.c", "{svc-a}:lock:x"]


async def test_the_lock_is_exclusive_expires_and_is_released_only_by_its_holder(
    redis_url: str,
) -> None:
    first = RedisStorage.from_url(redis_url, lock_ttl=0.5)
    second = RedisStorage.from_url(redis_url, lock_ttl=0.5)
    async with first.lock("refresh", wait=0) as held:
        assert held
        async with second.lock("refresh", wait=0) as also:
            assert not also  # exclusive
        await anyio.sleep(0.7)  # the holder outlived the TTL (as a killed process would)
        async with second.lock("refresh", wait=0) as taken_over:
            assert taken_over
            # the first holder's release must not free the second's lock
    async with first.lock("refresh", wait=0) as again:
        assert again  # released by its holder at the end of its block
    for storage in (first, second):
        await storage.aclose()


async def test_published_notes_reach_subscribers(redis_url: str) -> None:
    storage = RedisStorage.from_url(redis_url)
    received: list[str] = []

    async def listen() -> None:
        async for note in storage.messages():
            received.append(note)

    async with anyio.create_task_group() as group:
        group.start_soon(listen)
        await anyio.sleep(0.2)
        await storage.publish("hello")
        await until(lambda: received == ["hello"])
        group.cancel_scope.cancel()
    await storage.aclose()


async def test_redis_down_is_a_storage_exception(redis_server: RedisServer) -> None:
    storage = RedisStorage.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    with pytest.raises(StorageException) as info:
        await storage.get_item("k")
    assert info.value.retryable
    await storage.aclose()


async def test_sign_in_and_sign_out_in_one_manager_reach_the_other(
    pool: EmulatedPool, redis_url: str
) -> None:
    config = pool.config(identity_pool_id=None)
    first_storage, second_storage = (
        RedisStorage.from_url(redis_url),
        RedisStorage.from_url(redis_url),
    )
    seen: list[SessionEvent] = []
    async with (
        SessionManager(config, storage=first_storage) as first,
        SessionManager(config, storage=second_storage) as second,
    ):
        second.subscribe(seen.append)
        await anyio.sleep(0.2)  # the second is listening
        await first.sign_in(pool.username, pool.password)
        await until(lambda: [e.name for e in seen] == [EventName.SIGNED_IN])
        assert (await second.fetch_auth_session()).tokens == (
            await first.fetch_auth_session()
        ).tokens
        await first.fetch_auth_session(force_refresh=True)
        await until(lambda: seen[-1].name is EventName.TOKEN_REFRESH)
        assert (await second.fetch_auth_session()).tokens == (
            await first.fetch_auth_session()
        ).tokens
        await first.sign_out()
        await until(lambda: seen[-1].name is EventName.SIGNED_OUT)
        assert (await second.fetch_auth_session()).tokens is None
    for storage in (first_storage, second_storage):
        await storage.aclose()


async def test_with_redis_down_valid_tokens_keep_being_served_and_nothing_is_lost(
    pool: EmulatedPool, redis_server: RedisServer, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="amplify_session")
    config = pool.config(identity_pool_id=None)
    storage = RedisStorage.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    async with SessionManager(config, storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
        cached = await manager.fetch_auth_session()
        redis_server.stop()
        try:
            assert await manager.fetch_auth_session() is cached
            # A refresh it must make happens locally, and the error is logged.
            refreshed = await manager.fetch_auth_session(force_refresh=True)
        finally:
            redis_server.start()  # empty: no persistence
        assert refreshed.tokens != cached.tokens
        assert "shared storage unavailable" in caplog.text or "could not be stored" in caplog.text
        # Once Redis is back the manager writes its session back.
        reader = RedisStorage.from_url(redis_url)
        key = f"CognitoIdentityServiceProvider.{pool.client_id}.{pool.username}.accessToken"
        with anyio.fail_after(30):
            while await reader.get_item(key) != str(refreshed.tokens.access_token):  # type: ignore[union-attr]
                await anyio.sleep(0.2)
        await reader.aclose()
    await storage.aclose()
