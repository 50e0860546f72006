"""MemoryStorage: the default backend, a dict that lives as long as the process."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MemoryStorage"]


class MemoryStorage:
    """Keeps the session in memory; a new manager on the same instance restores it."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MemoryStorage(keys={len(self._items)})"

    async def get_item(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        return self._items.get(key)

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        self._items[key] = value

    async def remove_item(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._items.pop(key, None)

    async def clear(self) -> None:
        """Remove every key."""
        self._items.clear()

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        """Apply all ``changes`` at once (no await in between)."""
        for key, value in changes.items():
            if value is None:
                self._items.pop(key, None)
            else:
                self._items[key] = value
