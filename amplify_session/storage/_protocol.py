"""The storage seam: Amplify's KeyValueStorageInterface, made async."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

__all__ = [
    "BatchKeyValueStorage",
    "CoordinatedStorage",
    "KeyValueStorage",
    "LockingStorage",
    "write_items",
]


@runtime_checkable
class KeyValueStorage(Protocol):
    """Where a session is kept: string keys to string values."""

    async def get_item(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        ...

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        ...

    async def remove_item(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    async def clear(self) -> None:
        """Remove every key this storage holds."""
        ...


@runtime_checkable
class BatchKeyValueStorage(KeyValueStorage, Protocol):
    """A storage that can apply several changes as one unit."""

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        """Set every key whose value is a str and remove every key whose value is None,
        all at once: a reader sees either none or all of the changes."""
        ...


@runtime_checkable
class LockingStorage(BatchKeyValueStorage, Protocol):
    """A storage shared by processes that can lock a refresh (FileStorage, RedisStorage).

    The manager takes :meth:`lock` around read-refresh-write: once it holds
    the lock it re-reads the session, adopts tokens another process stored,
    and calls Cognito only when they are not fresh, so the processes sharing
    the storage refresh once between them.
    """

    #: Seconds a holder may keep the lock (a dead holder's lock is free after
    #: it); the manager waits at most ``lock_ttl + 1`` for it.
    lock_ttl: float

    def lock(self, name: str, *, wait: float) -> AbstractAsyncContextManager[bool]:
        """Hold a lock shared by every process; yields False if ``wait`` runs out.

        Raises:
            StorageException: The lock could not be taken (the backend failed).
        """
        ...


@runtime_checkable
class CoordinatedStorage(LockingStorage, Protocol):
    """A locking storage that also tells processes about changes (RedisStorage).

    The manager announces changes with :meth:`publish` so that the others
    re-read the session.
    """

    async def publish(self, message: str) -> None:
        """Send ``message`` to every process listening."""
        ...

    def messages(self) -> AsyncIterator[str]:
        """Messages from every process, until the connection breaks."""
        ...


async def write_items(storage: KeyValueStorage, changes: Mapping[str, str | None]) -> None:
    """Apply ``changes`` as one unit where ``storage`` allows it, in order otherwise.

    Callers order ``changes`` so that a crash half-way through the in-order
    fallback leaves the old session or nothing, never a readable mix.
    """
    if isinstance(storage, BatchKeyValueStorage):
        await storage.update_items(changes)
        return
    for key, value in changes.items():
        if value is None:
            await storage.remove_item(key)
        else:
            await storage.set_item(key, value)
