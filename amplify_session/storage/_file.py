"""FileStorage: the session in one JSON file, for a service or a CLI on one host.

Every change is a read-modify-write under an inter-process file lock
(filelock), written to a temporary file in the same directory (mode 0600),
fsynced and renamed over the old one: a crash leaves the old file or the new
one, never a mix, and two processes never lose each other's update. A file
that does not parse is moved aside (``<name>.corrupt-<time>``), never deleted,
and reported once as a :class:`StorageException`.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import anyio.to_thread
import filelock

from .._errors import StorageException

__all__ = ["FileStorage"]

_FORMAT = 1


class FileStorage:
    """Keeps the session in a JSON file (mode 0600), replaced atomically.

    Args:
        path: The file; its directory is created (mode 0700) when missing.
        lock_timeout: Seconds to wait for another process's lock.
        allow_insecure_permissions: Accept a file that other users can read
            or write (refused by default: it holds refresh tokens).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float = 10.0,
        allow_insecure_permissions: bool = False,
    ) -> None:
        self._path = Path(path)
        self._allow_insecure = allow_insecure_permissions
        self._lock = filelock.FileLock(f"{self._path}.lock", timeout=lock_timeout)

    def __repr__(self) -> str:
        return f"FileStorage({str(self._path)!r})"

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    async def get_item(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        items = await anyio.to_thread.run_sync(self._read)
        return items.get(key)

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        await self.update_items({key: value})

    async def remove_item(self, key: str) -> None:
        """Remove ``key`` if present."""
        await self.update_items({key: None})

    async def clear(self) -> None:
        """Remove every key (the file stays, empty)."""
        await anyio.to_thread.run_sync(self._change, None)

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        """Apply all ``changes`` in one atomic replacement of the file."""
        await anyio.to_thread.run_sync(self._change, dict(changes))

    # -- blocking helpers, run in a worker thread --------------------------------

    def _change(self, changes: dict[str, str | None] | None) -> None:
        try:
            # Before the lock: filelock would create the directory with a looser mode.
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageException(f"cannot create {self._path.parent}: {exc.strerror}") from None
        try:
            with self._lock:
                items = {} if changes is None else self._read()
                for key, value in (changes or {}).items():
                    if value is None:
                        items.pop(key, None)
                    else:
                        items[key] = value
                self._write(items)
        except filelock.Timeout:
            raise StorageException(f"{self._path} is locked by another process") from None

    def _read(self) -> dict[str, str]:
        try:
            with open(self._path, "rb") as file:
                self._check_permissions(os.fstat(file.fileno()).st_mode)
                raw = file.read()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StorageException(f"cannot read {self._path}: {exc.strerror}") from None
        items = _parse(raw)
        if items is None:
            aside = self._move_aside()
            raise StorageException(
                f"{self._path} is corrupt; moved aside to {aside.name}",
                recovery_suggestion="Sign in again; the unreadable file is kept for inspection.",
            )
        return items

    def _check_permissions(self, mode: int) -> None:
        if mode & 0o077 and not self._allow_insecure:
            raise StorageException(
                f"{self._path} is open to other users (mode {stat.S_IMODE(mode):04o})",
                recovery_suggestion=f"chmod 600 {self._path}, or pass "
                "allow_insecure_permissions=True if that is intended.",
            )

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self._path.with_name(f"{self._path.name}.corrupt-{stamp}-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            os.replace(self._path, aside)
        return aside

    def _write(self, items: dict[str, str]) -> None:
        directory = self._path.parent
        data = json.dumps({"version": _FORMAT, "items": items}, sort_keys=True).encode()
        # mkstemp creates the file with mode 0600.
        fd, temporary = tempfile.mkstemp(
            dir=directory, prefix=f".{self._path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self._path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise StorageException(f"cannot write {self._path}: {exc.strerror}") from None
        _fsync_directory(directory)


def _parse(raw: bytes) -> dict[str, str] | None:
    """The items of a stored file, or None when it is not one."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("version") != _FORMAT:
        return None
    items = document.get("items")
    if not isinstance(items, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in items.items()):
        return None
    return items


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
