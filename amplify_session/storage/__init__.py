"""Storage backends behind the :class:`KeyValueStorage` protocol."""

from ._memory import MemoryStorage
from ._protocol import BatchKeyValueStorage, KeyValueStorage, write_items

__all__ = [
    "BatchKeyValueStorage",
    "KeyValueStorage",
    "MemoryStorage",
    "write_items",
]
