"""RedisStorage: one session shared by many processes and hosts (extra ``redis``).

Besides the key-value store it offers what a fleet needs to refresh once:

- a **lock** (``SET NX PX`` with a random token, released by an atomic
  compare-and-delete): the manager takes it around a refresh, re-reads the
  session once it holds it (another process may have refreshed already), and
  only then calls Cognito. A process killed while holding it delays the
  others by at most its TTL;
- **pub/sub**: after a refresh or a sign-out the manager publishes a note and
  every other process re-reads the session, updates its cache and fires its
  own events.

All keys share one hash tag (``{prefix}``), so they live in one slot and a
token set is written with MULTI/EXEC on Redis Cluster too. Every Redis
failure is a retryable :class:`StorageException`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
import redis.asyncio
import redis.exceptions

from .._errors import StorageException

__all__ = ["RedisStorage"]

# Delete the lock only if it is still ours: a lock that expired and was taken
# by another process must not be released by us.
_RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""
_POLL = 0.05  # seconds between attempts to take a held lock


class RedisStorage:
    """Keeps the session in Redis and coordinates refreshes across processes.

    Args:
        client: A ``redis.asyncio.Redis`` created with ``decode_responses=True``.
        prefix: Namespace (and cluster hash tag) of every key and the channel.
        lock_ttl: Seconds a refresh lock lives if its holder dies; longer
            than a refresh call with its retries.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "amplify-session",
        lock_ttl: float = 30.0,
    ) -> None:
        self._client = client
        self._tag = "{" + prefix + "}"
        self._channel = f"{self._tag}:changes"
        self.lock_ttl = lock_ttl

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "amplify-session", **kwargs: Any) -> RedisStorage:
        """A storage on a new client for ``url`` (``redis://host:port/db``)."""
        lock_ttl = kwargs.pop("lock_ttl", 30.0)
        kwargs.setdefault("socket_timeout", 5.0)
        kwargs.setdefault("socket_connect_timeout", 5.0)
        client = redis.asyncio.from_url(url, decode_responses=True, **kwargs)
        return cls(client, prefix=prefix, lock_ttl=lock_ttl)

    def __repr__(self) -> str:
        return f"RedisStorage(prefix={self._tag!r})"

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._client.aclose()

    def _key(self, key: str) -> str:
        return f"{self._tag}:{key}"

    # -- KeyValueStorage ------------------------------------------------------

    async def get_item(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        async with _translated("read"):
            value = await self._client.get(self._key(key))
        return None if value is None else str(value)

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        async with _translated("write"):
            await self._client.set(self._key(key), value)

    async def remove_item(self, key: str) -> None:
        """Remove ``key`` if present."""
        async with _translated("write"):
            await self._client.delete(self._key(key))

    async def clear(self) -> None:
        """Remove every key of this prefix (locks included)."""
        async with _translated("clear"):
            keys = [key async for key in self._client.scan_iter(match=f"{self._tag}:*")]
            if keys:
                await self._client.delete(*keys)

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        """Apply all ``changes`` in one MULTI/EXEC transaction."""
        async with _translated("write"), self._client.pipeline(transaction=True) as pipe:
            for key, value in changes.items():
                if value is None:
                    pipe.delete(self._key(key))
                else:
                    pipe.set(self._key(key), value)
            await pipe.execute()

    # -- coordination ---------------------------------------------------------

    @asynccontextmanager
    async def lock(self, name: str, *, wait: float) -> AsyncIterator[bool]:
        """Hold the lock ``name`` for the block; yields False if ``wait`` ran out.

        Raises:
            StorageException: Redis is unreachable.
        """
        key, token = self._key(f"lock:{name}"), secrets.token_hex(16)
        deadline = time.monotonic() + wait
        async with _translated("lock"):
            while not (held := bool(await self._client.set(key, token, nx=True, px=self._ttl_ms))):
                if time.monotonic() >= deadline:
                    break
                await anyio.sleep(_POLL)
        try:
            yield held
        finally:
            if held:
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    async with _translated("unlock"):
                        await self._client.eval(_RELEASE, 1, key, token)

    @property
    def _ttl_ms(self) -> int:
        return max(1, int(self.lock_ttl * 1000))

    async def publish(self, message: str) -> None:
        """Tell every subscribed process (pub/sub)."""
        async with _translated("publish"):
            await self._client.publish(self._channel, message)

    async def messages(self) -> AsyncIterator[str]:
        """Messages published by any process, until the connection breaks.

        Raises:
            StorageException: The subscription was lost (reconnect and re-read).
        """
        async with _translated("subscribe"):
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(self._channel)
        try:
            while True:
                async with _translated("subscribe"):
                    message = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    yield str(message["data"])
        finally:
            with (
                anyio.CancelScope(shield=True),
                anyio.move_on_after(2),
                suppress(redis.exceptions.RedisError, OSError),
            ):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


@asynccontextmanager
async def _translated(action: str) -> AsyncIterator[None]:
    try:
        yield
    except (redis.exceptions.RedisError, OSError) as exc:
        raise StorageException(
            f"Redis {action} failed: {type(exc).__name__}", retryable=True, underlying_error=exc
        ) from exc
