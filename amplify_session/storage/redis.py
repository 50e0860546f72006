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
token set is written with MULTI/EXEC on Redis Cluster too.

Every failure is a :class:`StorageException`, never a redis-py, socket or
decoding error: retryable when Redis is unreachable or busy, not retryable
when the client is refused (a password it lacks) or a stored value is not
text. What arrives on the change channel is untrusted: a message that is
not UTF-8 text is skipped (with a warning) and the subscription goes on.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import redis.asyncio
import redis.exceptions
from redis.client import NEVER_DECODE

from .._errors import AuthError, StorageException

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
_log = logging.getLogger("amplify_session.storage")

# Refusals that last until someone fixes the client or the data.
_PERMANENT = (
    redis.exceptions.AuthenticationError,
    redis.exceptions.AuthorizationError,
    redis.exceptions.NoPermissionError,
    redis.exceptions.DataError,
    UnicodeError,
)
# Connection settings a pool makes for itself (bound to that pool): not copied.
_POOL_BOUND = frozenset(
    {"maint_notifications_pool_handler", "oss_cluster_maint_notifications_handler"}
)


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

    async def __aenter__(self) -> RedisStorage:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _key(self, key: str) -> str:
        return f"{self._tag}:{key}"

    # -- KeyValueStorage ------------------------------------------------------

    async def get_item(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        async with _translated("read"):
            value = await self._client.get(self._key(key))
            if isinstance(value, bytes):  # a client without decode_responses
                value = value.decode("utf-8")
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
        pattern = _glob_escape(self._tag) + ":*"
        async with _translated("clear"):
            # Keys as bytes: a key another client named in bytes that are not
            # UTF-8 must not make the clear (a sign-out) fail.
            undecoded: dict[str, Any] = {NEVER_DECODE: []}
            keys = [key async for key in self._client.scan_iter(match=pattern, **undecoded)]
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
        held = in_flight = False
        try:
            async with _translated("lock"):
                while True:
                    in_flight = True  # cancelled while in flight: the SET may have landed
                    try:
                        held = bool(await self._client.set(key, token, nx=True, px=self._ttl_ms))
                    except Exception:
                        in_flight = False
                        raise
                    in_flight = False
                    if held or time.monotonic() >= deadline:
                        break
                    await anyio.sleep(_POLL)
            yield held
        finally:
            if held or in_flight:
                await self._unlock(key, token)

    async def _unlock(self, key: str, token: str) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            try:
                await self._client.eval(_RELEASE, 1, key, token)
            except Exception as exc:  # noqa: BLE001 (the lock expires by itself)
                _log.warning(
                    "releasing a Redis lock failed (%s); it expires within %.0f s",
                    type(exc).__name__,
                    self.lock_ttl,
                )

    @property
    def _ttl_ms(self) -> int:
        return max(1, int(self.lock_ttl * 1000))

    async def publish(self, message: str) -> None:
        """Tell every subscribed process (pub/sub)."""
        async with _translated("publish"):
            await self._client.publish(self._channel, message)

    async def messages(self) -> AsyncIterator[str]:
        """Messages published by any process, until the connection breaks.

        A message that is not UTF-8 text is skipped with a warning (its
        content is not logged); the subscription goes on.

        Raises:
            StorageException: The subscription was lost (reconnect and re-read).
        """
        raw = self._undecoding_client()
        try:
            pubsub = (raw or self._client).pubsub(ignore_subscribe_messages=True)
            try:
                async with _translated("subscribe"):
                    await pubsub.subscribe(self._channel)
                while True:
                    async with _translated("subscribe"):
                        message = await pubsub.get_message(timeout=1.0)
                    note = _note(message)
                    if note is not None:
                        yield note
            finally:
                await _quietly(pubsub.aclose())  # type: ignore[no-untyped-call]
        finally:
            if raw is not None:
                await _quietly(raw.aclose(close_connection_pool=True))

    def _undecoding_client(self) -> redis.asyncio.Redis | None:
        """A client like ours that leaves messages as bytes, so that we decode them.

        With ``decode_responses=True`` redis-py raises UnicodeDecodeError for a
        message that is not UTF-8, and then again for it at every read: the
        subscription is stuck. A subscription over bytes skips such a message.
        None when the pool is not one we can copy (then a bad message ends the
        subscription with a StorageException, and the manager subscribes again).
        """
        pool = self._client.connection_pool
        if type(pool) not in (redis.asyncio.ConnectionPool, redis.asyncio.BlockingConnectionPool):
            return None
        settings = {k: v for k, v in pool.connection_kwargs.items() if k not in _POOL_BOUND}
        settings["decode_responses"] = False
        try:
            raw_pool = redis.asyncio.ConnectionPool(
                connection_class=pool.connection_class, **settings
            )
        except Exception as exc:  # noqa: BLE001 (settings this redis-py does not take back)
            _log.debug("subscribing with decoding (%s)", type(exc).__name__)
            return None
        return redis.asyncio.Redis(connection_pool=raw_pool)


def _note(message: object) -> str | None:
    """The text of a pub/sub message, or None (with a warning when it is not text)."""
    if not isinstance(message, dict) or message.get("type") != "message":
        return None
    data = message.get("data")
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            _log.warning(
                "ignored a message on the change channel that is not UTF-8 text (%d bytes)",
                len(data),
            )
            return None
    if isinstance(data, str):
        return data
    _log.warning("ignored a message on the change channel of type %s", type(data).__name__)
    return None


async def _quietly(closing: Awaitable[object]) -> None:
    """Await a close, shielded and bounded; a failure to close is not the caller's problem."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(2):
        try:
            await closing
        except Exception as exc:  # noqa: BLE001
            _log.debug("closing a Redis connection failed: %s", type(exc).__name__)


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


@asynccontextmanager
async def _translated(action: str) -> AsyncIterator[None]:
    """Whatever redis-py, the socket or decoding raise comes out as a StorageException."""
    try:
        yield
    except AuthError:
        raise
    except UnicodeError as exc:
        raise StorageException(
            f"Redis {action} failed: a stored value or message is not UTF-8 text",
            underlying_error=exc,
            retryable=False,
        ) from exc
    except Exception as exc:
        raise StorageException(
            f"Redis {action} failed: {type(exc).__name__}",
            underlying_error=exc,
            retryable=not isinstance(exc, _PERMANENT),
        ) from exc
