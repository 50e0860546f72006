"""One compliance suite for every storage backend, and what is particular to each."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring

from amplify_session import FileStorage, MemoryStorage, StorageException
from amplify_session.storage import BatchKeyValueStorage, KeyValueStorage
from amplify_session.storage.keyring import KeyringStorage
from amplify_session.storage.redis import RedisStorage

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


class TestCompliance:
    """What every KeyValueStorage must do."""

    async def test_set_get_remove(self, storage: KeyValueStorage) -> None:
        assert await storage.get_item("a") is None
        await storage.set_item("a", "1")
        await storage.set_item("b", "two words ✓")
        assert await storage.get_item("a") == "1"
        assert await storage.get_item("b") == "two words ✓"
        await storage.set_item("a", "3")
        assert await storage.get_item("a") == "3"
        await storage.remove_item("a")
        await storage.remove_item("never-set")
        assert await storage.get_item("a") is None
        assert await storage.get_item("b") == "two words ✓"

    async def test_clear(self, storage: KeyValueStorage) -> None:
        await storage.set_item("a", "1")
        await storage.set_item("b", "2")
        await storage.clear()
        assert await storage.get_item("a") is None
        assert await storage.get_item("b") is None
        await storage.set_item("c", "3")
        assert await storage.get_item("c") == "3"

    async def test_batch_update_sets_and_removes_together(self, storage: KeyValueStorage) -> None:
        assert isinstance(storage, BatchKeyValueStorage)
        await storage.set_item("old", "x")
        await storage.update_items({"a": "1", "b": "2", "old": None})
        assert [await storage.get_item(k) for k in ("a", "b", "old")] == ["1", "2", None]

    async def test_long_values(self, storage: KeyValueStorage) -> None:
        value = "x" * 20_000  # an id token with many groups
        await storage.set_item("token", value)
        assert await storage.get_item("token") == value


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
