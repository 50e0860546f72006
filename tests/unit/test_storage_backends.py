"""One compliance suite for every storage backend, and what is particular to each.

The suite itself is ``amplify_session.testing.storage_suite`` (shipped, for
third-party backends); this module runs it against ours.
"""

from __future__ import annotations

import contextlib
import errno
import json
import multiprocessing
import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as FailKeyring
from keyrings.alt.file import PlaintextKeyring

from amplify_session import FileStorage, MemoryStorage, StorageException
from amplify_session.storage import KeyValueStorage, LockingStorage
from amplify_session.storage.keyring import KeyringStorage
from amplify_session.storage.redis import RedisStorage
from amplify_session.testing.storage_suite import BatchKeyValueStorageSuite, LockingStorageSuite

pytestmark = pytest.mark.anyio


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    """A real keyring backend (keyrings.alt's file keyring) in a temporary file."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(params=["memory", "file", "keyring", "redis"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, file_keyring: PlaintextKeyring
) -> AsyncIterator[KeyValueStorage]:
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "file":
        yield FileStorage(tmp_path / "session" / "store.json")
    elif request.param == "keyring":
        yield KeyringStorage(service=f"amplify-session-test-{os.getpid()}")
    else:
        redis_storage = RedisStorage.from_url(request.getfixturevalue("redis_url"))
        yield redis_storage
        await redis_storage.aclose()


class TestCompliance(BatchKeyValueStorageSuite):
    """What every KeyValueStorage must do (the suite shipped for third-party backends)."""


async def test_file_is_private_and_json(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "session.json"
    store = FileStorage(path)
    await store.set_item("k", "v")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"version": 1, "items": {"k": "v"}}
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "content", [b"{not json", b"\xff\xfe", b"[]", b'{"version": 1, "items": {"k": 5}}', b""]
)
async def test_a_corrupt_file_is_moved_aside_and_reported_once(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "session.json"
    path.write_bytes(content)
    path.chmod(0o600)
    store = FileStorage(path)
    with pytest.raises(StorageException, match="corrupt; moved aside") as info:
        await store.get_item("k")
    assert "Sign in again" in (info.value.recovery_suggestion or "")
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert aside[0].read_bytes() == content  # kept, not deleted
    assert await store.get_item("k") is None  # now simply empty
    await store.set_item("k", "v")
    assert await store.get_item("k") == "v"


async def test_an_unreadable_file_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.mkdir()  # a directory where the file should be
    with pytest.raises(StorageException, match="cannot read"):
        await FileStorage(path).get_item("k")


def _writer(path: str, worker: int, count: int) -> None:
    import anyio

    async def write() -> None:
        store = FileStorage(path)
        for n in range(count):
            await store.update_items({f"w{worker}-{n}": str(n)})

    anyio.run(write)


async def test_processes_never_lose_each_others_updates(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.json")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, w, 25)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    items = json.loads(Path(path).read_text())["items"]
    assert len(items) == 4 * 25


async def test_a_corrupt_keyring_entry_is_a_storage_error(
    file_keyring: PlaintextKeyring,
) -> None:
    keyring.set_password("svc-corrupt", "session", "not json")
    with pytest.raises(StorageException, match="not a session"):
        await KeyringStorage("svc-corrupt").get_item("k")


async def test_a_file_others_can_read_is_refused_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    await FileStorage(path).set_item("k", "v")
    path.chmod(0o644)
    with pytest.raises(StorageException, match="open to other users") as info:
        await FileStorage(path).get_item("k")
    assert "chmod 600" in (info.value.recovery_suggestion or "")
    assert await FileStorage(path, allow_insecure_permissions=True).get_item("k") == "v"
    await FileStorage(path, allow_insecure_permissions=True).set_item("k", "w")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a rewrite is private again
    assert await FileStorage(path).get_item("k") == "w"


@pytest.fixture(params=["file", "redis"])
async def locking(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[LockingStorage, LockingStorage]]:
    """Two storage objects sharing one store, as two processes would."""
    if request.param == "file":
        path = tmp_path / "session" / "store.json"
        yield FileStorage(path), FileStorage(path)
    else:
        url = request.getfixturevalue("redis_url")
        first, second = RedisStorage.from_url(url), RedisStorage.from_url(url)
        yield first, second
        for storage in (first, second):
            await storage.aclose()


class TestLockingCompliance(LockingStorageSuite):
    """What every LockingStorage must do (the suite shipped for third-party backends)."""

    async def test_the_default_lock_ttl_is_thirty_seconds(
        self, locking: tuple[LockingStorage, LockingStorage]
    ) -> None:
        first, _ = locking
        assert first.lock_ttl == 30.0


async def test_file_lock_names_map_to_distinct_files_beside_the_session(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    storage = FileStorage(path)
    names = ["refresh", "refresh:client", "refresh/client", "../../escape", ""]
    async with contextlib.AsyncExitStack() as stack:
        for name in names:
            assert await stack.enter_async_context(storage.lock(name, wait=0))
    lock_files = sorted(p.name for p in tmp_path.iterdir() if p.name != "session.json")
    assert len(lock_files) == len(names)
    assert all(name.startswith("session.json.") and name.endswith(".lock") for name in lock_files)
    assert "session.json.lock" not in lock_files  # never the lock of each write
    assert "session.json.refresh.lock" in lock_files


async def test_a_deeply_nested_file_is_corrupt_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_bytes(b'{"version": 1, "items": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    path.chmod(0o600)
    with pytest.raises(StorageException, match="corrupt; moved aside") as info:
        await FileStorage(path).get_item("k")
    assert not info.value.retryable
    assert await FileStorage(path).get_item("k") is None


async def test_memory_storage_refuses_what_is_not_a_string_and_changes_nothing() -> None:
    storage = MemoryStorage()
    await storage.set_item("a", "1")
    with pytest.raises(StorageException, match="value must be a str"):
        await storage.update_items({"a": None, "b": 2})  # type: ignore[dict-item]
    with pytest.raises(StorageException, match="key must be a str"):
        await storage.set_item(3, "x")  # type: ignore[arg-type]
    assert await storage.get_item("a") == "1"
    assert await storage.get_item("b") is None


class _BrokenKeyring(KeyringBackend):
    """A keyring backend that fails the way D-Bus backends do: not with a KeyringError."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise OSError(errno.EIO, "the secret service went away")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise ValueError("unexpected reply")


@pytest.mark.parametrize("backend", [_BrokenKeyring(), FailKeyring()])
async def test_every_keyring_failure_is_a_storage_exception(backend: KeyringBackend) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        storage = KeyringStorage("svc-broken")
        for call in (
            lambda: storage.get_item("k"),
            lambda: storage.set_item("k", "v"),
            lambda: storage.remove_item("k"),
            lambda: storage.update_items({"k": "v"}),
            storage.clear,
        ):
            with pytest.raises(StorageException, match="keyring") as info:
                await call()
            # A backend that may come back is worth retrying; no keyring at all is not.
            assert info.value.retryable is isinstance(backend, _BrokenKeyring)
    finally:
        keyring.set_keyring(previous)


async def test_a_tampered_keyring_entry_is_moved_aside_once(
    file_keyring: PlaintextKeyring,
) -> None:
    keyring.set_password("svc-nested", "session", "[" * 50_000)
    storage = KeyringStorage("svc-nested")
    with pytest.raises(StorageException, match="not a session; moved aside") as info:
        await storage.get_item("k")
    assert not info.value.retryable
    assert "Sign in again" in (info.value.recovery_suggestion or "")
    assert await storage.get_item("k") is None
    await storage.set_item("k", "v")
    assert await storage.get_item("k") == "v"
