"""MemoryStorage: the default backend, a dict that lives as long as the process."""

from __future__ import annotations

from collections.abc import Mapping

from .._errors import StorageException
from ._changes import merge_changes

__all__ = ["MemoryStorage"]


class MemoryStorage:
    """Keeps the session in memory; a new manager on the same instance restores it.

    Keys and values must be strings: anything else is a :class:`StorageException`
    (and changes nothing), as it would be for the other backends.
    """

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MemoryStorage(keys={len(self._items)})"

    async def get_item(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        _check_key(key)
        return self._items.get(key)

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        _check_key(key)
        _check_value(value)
        self._items[key] = value

    async def remove_item(self, key: str) -> None:
        """Remove ``key`` if present."""
        _check_key(key)
        self._items.pop(key, None)

    async def clear(self) -> None:
        """Remove every key."""
        self._items.clear()

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        """Apply all ``changes`` at once (no await in between), or none if one is invalid."""
        try:
            checked = list(changes.items())
        except Exception as exc:  # noqa: BLE001 (a caller's Mapping may raise anything)
            raise StorageException(
                f"cannot read the changes: {type(exc).__name__}", underlying_error=exc
            ) from None
        for key, value in checked:
            _check_key(key)
            if value is not None:
                _check_value(value)
        merge_changes(self._items, checked)


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise StorageException(f"a key must be a str, not {type(key).__name__}")


def _check_value(value: object) -> None:
    if not isinstance(value, str):
        raise StorageException(f"a value must be a str, not {type(value).__name__}")
