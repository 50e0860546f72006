"""KeyringStorage: the session in the operating system's keyring (extra ``keyring``).

The whole session is one keyring entry (a JSON document), so a token set is
replaced as one unit. The keyring has no inter-process lock: use
FileStorage or RedisStorage when several processes share a session.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import anyio.to_thread
import keyring
import keyring.errors

from .._errors import StorageException

__all__ = ["KeyringStorage"]


class KeyringStorage:
    """Keeps the session in the system keyring.

    Args:
        service: The keyring service name.
        account: The keyring user name the entry is stored under.
    """

    def __init__(self, service: str = "amplify-session", *, account: str = "session") -> None:
        self._service = service
        self._account = account
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"KeyringStorage(service={self._service!r}, account={self._account!r})"

    async def get_item(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        return (await self._load()).get(key)

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        await self.update_items({key: value})

    async def remove_item(self, key: str) -> None:
        """Remove ``key`` if present."""
        await self.update_items({key: None})

    async def clear(self) -> None:
        """Remove the entry."""
        async with self._lock:
            await anyio.to_thread.run_sync(self._delete)

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        """Apply all ``changes`` in one write of the entry."""
        async with self._lock:
            items = await self._load()
            for key, value in changes.items():
                if value is None:
                    items.pop(key, None)
                else:
                    items[key] = value
            document = json.dumps(items, sort_keys=True)
            await anyio.to_thread.run_sync(self._set, document)

    async def _load(self) -> dict[str, str]:
        raw = await anyio.to_thread.run_sync(self._get)
        if raw is None:
            return {}
        try:
            items = json.loads(raw)
        except ValueError:
            items = None
        if not isinstance(items, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in items.items()
        ):
            raise StorageException(f"the keyring entry {self._service!r} is not a session")
        return items

    def _get(self) -> str | None:
        try:
            return keyring.get_password(self._service, self._account)
        except keyring.errors.KeyringError as exc:
            raise StorageException(f"the keyring failed: {type(exc).__name__}") from None

    def _set(self, document: str) -> None:
        try:
            keyring.set_password(self._service, self._account, document)
        except keyring.errors.KeyringError as exc:
            raise StorageException(f"the keyring failed: {type(exc).__name__}") from None

    def _delete(self) -> None:
        try:
            keyring.delete_password(self._service, self._account)
        except keyring.errors.PasswordDeleteError:
            pass  # nothing stored
        except keyring.errors.KeyringError as exc:
            raise StorageException(f"the keyring failed: {type(exc).__name__}") from None
