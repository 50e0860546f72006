"""FileStorage: the session in one JSON file, for a service or a CLI on one host.

Every change is a read-modify-write under an inter-process file lock
(filelock, ``<file>.lock``), written to a temporary file in the same
directory (mode 0600), fsynced and renamed over the old one: a crash leaves
the old file or the new one, never a mix, and two processes never lose each
other's update. A file that does not parse is moved aside
(``<name>.corrupt-<time>``), never deleted, and reported once as a
:class:`StorageException`.

:meth:`FileStorage.lock` is a second, longer lock (``<file>.<name>.lock``)
that the manager holds around read-refresh-write, so that the processes of
one host refresh once between them. Both are ``flock`` locks: the kernel
frees them when their holder dies.

Every failure (a full disk, a read-only filesystem, a directory where the
file should be, a lock held too long) is a :class:`StorageException`, never
a bare :class:`OSError`; failures that may go away by themselves (``EROFS``,
``ENOSPC``, ``EIO``, ``EACCES``, a lock timeout...) are ``retryable``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread
import filelock

from .._errors import AuthError, StorageException
from ._changes import merge_changes

__all__ = ["FileStorage"]

_FORMAT = 1
_POLL = 0.05  # seconds between attempts to take a held lock
_log = logging.getLogger("amplify_session.storage")
_T = TypeVar("_T")

# Failures that may go away without anyone touching the path itself.
_TRANSIENT_ERRNOS = frozenset(
    {
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.EACCES,
        errno.EPERM,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.ENOLCK,
        errno.ESTALE,
        errno.ETIMEDOUT,
        errno.EMFILE,
        errno.ENFILE,
        errno.ENOMEM,
    }
)


class FileStorage:
    """Keeps the session in a JSON file (mode 0600), replaced atomically.

    Args:
        path: The file; its directory is created (mode 0700) when missing.
        lock_timeout: Seconds a read-modify-write waits for another process's
            write lock.
        lock_ttl: Seconds the manager expects a refresh to hold :meth:`lock`
            (it waits ``lock_ttl + 1`` for it). A process that dies holding it
            frees it at once (the kernel drops its ``flock``).
        allow_insecure_permissions: Accept a file that other users can read
            or write (refused by default: it holds refresh tokens).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float = 10.0,
        lock_ttl: float = 30.0,
        allow_insecure_permissions: bool = False,
    ) -> None:
        self._path = Path(path)
        self._allow_insecure = allow_insecure_permissions
        self._lock = filelock.FileLock(f"{self._path}.lock", timeout=lock_timeout)
        self.lock_ttl = lock_ttl

    def __repr__(self) -> str:
        return f"FileStorage({str(self._path)!r})"

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    async def get_item(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        items = await anyio.to_thread.run_sync(self._guarded, "read", self._read)
        return items.get(key)

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        await self.update_items({key: value})

    async def remove_item(self, key: str) -> None:
        """Remove ``key`` if present."""
        await self.update_items({key: None})

    async def clear(self) -> None:
        """Remove every key (the file stays, empty)."""
        await anyio.to_thread.run_sync(self._guarded, "write", self._change, None)

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        """Apply all ``changes`` in one atomic replacement of the file."""
        await anyio.to_thread.run_sync(self._guarded, "write", self._change, dict(changes))

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, wait: float) -> AsyncIterator[bool]:
        """Hold the inter-process lock ``name`` for the block; yields False if ``wait`` ran out.

        The lock is a ``flock`` on ``<file>.<name>.lock``, separate from the
        lock each write takes, so the holder can write the session. It
        excludes other processes and other FileStorage objects (and other
        ``lock`` calls) in this process; waiting polls without blocking the
        event loop and can be cancelled.

        Raises:
            StorageException: The lock file cannot be created or locked.
        """
        held = filelock.FileLock(self._lock_path(name), thread_local=False, mode=0o600)
        try:
            await anyio.to_thread.run_sync(self._guarded, "lock", self._make_directory)
            deadline = anyio.current_time() + max(0.0, wait)
            while not await anyio.to_thread.run_sync(self._guarded, "lock", _try_acquire, held):
                if anyio.current_time() >= deadline:
                    break
                await anyio.sleep(_POLL)
            yield held.is_locked
        finally:
            if held.is_locked:
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await anyio.to_thread.run_sync(_release, held, abandon_on_cancel=True)

    def _lock_path(self, name: str) -> str:
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
        if safe != name:  # keep distinct names distinct
            digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
            safe = f"{safe}-{digest}"
        return f"{self._path}.{safe}.lock"

    # -- blocking helpers, run in a worker thread --------------------------------

    def _guarded(self, action: str, function: Callable[..., _T], *args: object) -> _T:
        """Run ``function``; whatever goes wrong comes out as a StorageException."""
        try:
            return function(*args)
        except AuthError:
            raise
        except filelock.Timeout as exc:  # an OSError: before the next clause
            raise StorageException(
                f"{self._path} is locked by another process",
                retryable=True,
                underlying_error=exc,
            ) from None
        except OSError as exc:
            raise _os_failure(action, self._path, exc) from None
        except Exception as exc:  # noqa: BLE001 (anything else a filesystem may raise)
            raise StorageException(
                f"cannot {action} {self._path}: {type(exc).__name__}", underlying_error=exc
            ) from None

    def _make_directory(self) -> None:
        # Before any lock: filelock would create the directory with a looser mode.
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _change(self, changes: dict[str, str | None] | None) -> None:
        self._make_directory()
        with self._lock:
            items = {} if changes is None else self._read()
            merge_changes(items, (changes or {}).items())
            self._write(items)

    def _read(self) -> dict[str, str]:
        try:
            with open(self._path, "rb") as file:
                self._check_permissions(os.fstat(file.fileno()).st_mode)
                raw = file.read()
        except FileNotFoundError:
            return {}
        items = _parse(raw)
        if items is None:
            try:
                aside = self._move_aside()
            except OSError as exc:
                raise StorageException(
                    f"{self._path} is corrupt and cannot be moved aside: "
                    f"{exc.strerror or type(exc).__name__}",
                    recovery_suggestion="Make its directory writable, or remove the file.",
                    underlying_error=exc,
                ) from None
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
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(directory)


def _os_failure(action: str, path: Path, exc: OSError) -> StorageException:
    """The StorageException for ``exc``: the path and the system's words, nothing read."""
    reason = exc.strerror or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return StorageException(
        f"cannot {action} {path}: {reason}{where}",
        underlying_error=exc,
        retryable=exc.errno in _TRANSIENT_ERRNOS,
    )


def _try_acquire(lock: filelock.BaseFileLock) -> bool:
    try:
        lock.acquire(timeout=0, blocking=False)
    except filelock.Timeout:
        return False
    return True


def _release(lock: filelock.BaseFileLock) -> None:
    try:
        lock.release(force=True)
    except Exception as exc:  # noqa: BLE001 (closing the descriptor frees the flock anyway)
        _log.warning("releasing %s failed: %s", lock.lock_file, type(exc).__name__)


def _parse(raw: bytes) -> dict[str, str] | None:
    """The items of a stored file, or None when it is not one."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
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
