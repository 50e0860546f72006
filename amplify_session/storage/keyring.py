"""KeyringStorage: the session in the operating system's keyring (extra ``keyring``).

The whole session is one keyring entry (a JSON document), so a token set is
replaced as one unit. The keyring has no inter-process lock: use
FileStorage or RedisStorage when several processes share a session.

Whatever the keyring backend raises (its own errors, D-Bus or OS errors)
comes out as a retryable :class:`StorageException`. An entry that is not a
session (not JSON, too deeply nested, not strings) is moved aside to the
account ``<account>.corrupt-<time>`` and reported once, as FileStorage does.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping

import anyio.to_thread
import keyring
import keyring.errors

from .._errors import AuthError, StorageException
from ._changes import merge_changes

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
            merge_changes(items, changes.items())
            document = json.dumps(items, sort_keys=True)
            await anyio.to_thread.run_sync(self._set, document)

    async def _load(self) -> dict[str, str]:
        raw = await anyio.to_thread.run_sync(self._get)
        if raw is None:
            return {}
        items = _parse(raw)
        if items is None:
            aside = await anyio.to_thread.run_sync(self._move_aside, raw)
            raise StorageException(
                f"the keyring entry {self._service!r} is not a session; "
                f"moved aside to account {aside!r}",
                recovery_suggestion="Sign in again; the unreadable entry is kept for inspection.",
            )
        return items

    def _move_aside(self, raw: str) -> str:
        aside = f"{self._account}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        with _translated():
            keyring.set_password(self._service, aside, raw)
            keyring.delete_password(self._service, self._account)
        return aside

    def _get(self) -> str | None:
        with _translated():
            raw: object = keyring.get_password(self._service, self._account)
        if raw is not None and not isinstance(raw, str):
            raise StorageException(f"the keyring entry {self._service!r} is not text")
        return raw

    def _set(self, document: str) -> None:
        with _translated():
            keyring.set_password(self._service, self._account, document)

    def _delete(self) -> None:
        with _translated(), contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(self._service, self._account)  # nothing stored: fine


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Whatever the keyring backend raises comes out as a StorageException."""
    try:
        yield
    except AuthError:
        raise
    except keyring.errors.NoKeyringError as exc:
        raise StorageException(
            f"no keyring is available: {type(exc).__name__}", underlying_error=exc
        ) from None
    except Exception as exc:  # noqa: BLE001 (backends raise D-Bus, OS and their own errors)
        raise StorageException(
            f"the keyring failed: {type(exc).__name__}", underlying_error=exc, retryable=True
        ) from None


def _parse(raw: str) -> dict[str, str] | None:
    """The items of a stored entry, or None when it is not one."""
    try:
        items = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(items, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in items.items()
    ):
        return None
    return items
