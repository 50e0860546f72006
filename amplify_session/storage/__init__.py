"""Storage backends behind the :class:`KeyValueStorage` protocol.

``MemoryStorage`` and ``FileStorage`` are here; ``KeyringStorage`` is in
``amplify_session.storage.keyring`` and ``RedisStorage`` in
``amplify_session.storage.redis`` (each needs its extra).
"""

from ._file import FileStorage
from ._memory import MemoryStorage
from ._protocol import (
    BatchKeyValueStorage,
    CoordinatedStorage,
    KeyValueStorage,
    LockingStorage,
    write_items,
)

__all__ = [
    "BatchKeyValueStorage",
    "CoordinatedStorage",
    "FileStorage",
    "KeyValueStorage",
    "LockingStorage",
    "MemoryStorage",
    "write_items",
]
