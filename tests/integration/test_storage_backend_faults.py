"""Storage backends under real faults: a full or read-only tmpfs, killed lock holders, odd Redis.

Whatever happens, every public method raises a StorageException (never an
OSError, a redis-py error or a UnicodeDecodeError), and once the fault ends
the backend works again with the data it held.
"""

from __future__ import annotations

import errno
import logging
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis
import redis.asyncio

from amplify_session import FileStorage, SessionManager, StorageException
from amplify_session.emulator import EmulatedPool
from amplify_session.storage import LockingStorage
from amplify_session.storage.redis import RedisStorage
from tests.support.redis_server import RedisServer
from tests.support.waiting import until

pytestmark = pytest.mark.anyio
SECRET = "stored-refresh-token-value"  # what is stored must never appear in an error
ROOT = Path(__file__).resolve().parents[2]


# -- a real small filesystem ------------------------------------------------------


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, mounted for the test (root only) and always unmounted."""
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    _run("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mountpoint))
    try:
        yield mountpoint
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(mountpoint)], capture_output=True)
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode:
            _run("umount", "-l", str(mountpoint))


def _fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; return it."""
    filler = directory / "filler"
    full: OSError | None = None
    with open(filler, "wb", buffering=0) as file:
        while full is None:
            try:
                file.write(b"\0" * 4096)
            except OSError as exc:
                full = exc
    assert full.errno == errno.ENOSPC
    return filler


def _writes(storage: FileStorage) -> dict[str, Callable[[], Awaitable[None]]]:
    return {
        "set_item": lambda: storage.set_item("new", "value"),
        "update_items": lambda: storage.update_items({"new": "value", "a": None}),
        "remove_item": lambda: storage.remove_item("a"),
        "clear": storage.clear,
    }


async def _assert_every_write_fails(storage: FileStorage, reason: str, *, retryable: bool) -> None:
    for name, write in _writes(storage).items():
        with pytest.raises(StorageException) as info:
            await write()
        error = info.value
        assert reason in error.message, name
        assert str(storage.path) in error.message, name
        assert error.retryable is retryable, name
        assert SECRET not in str(error), name
        assert SECRET not in repr(error), name


async def _stored(storage: FileStorage) -> dict[str, str | None]:
    return {key: await storage.get_item(key) for key in ("a", "b", "new")}


async def test_a_full_disk_fails_every_write_and_loses_nothing(tmpfs: Path) -> None:
    storage = FileStorage(tmpfs / "sessions" / "session.json")
    await storage.update_items({"a": SECRET, "b": "2"})
    filler = _fill(tmpfs)

    await _assert_every_write_fails(storage, "No space left on device", retryable=True)
    assert await _stored(storage) == {"a": SECRET, "b": "2", "new": None}
    assert not [p for p in storage.path.parent.iterdir() if p.name.endswith(".tmp")]

    filler.unlink()  # space again: writes work, nothing was lost
    await storage.set_item("new", "value")
    assert await _stored(storage) == {"a": SECRET, "b": "2", "new": "value"}


async def test_a_read_only_remount_fails_every_write_and_the_lock_then_recovers(
    tmpfs: Path,
) -> None:
    storage = FileStorage(tmpfs / "sessions" / "session.json")
    await storage.update_items({"a": SECRET, "b": "2"})
    _run("mount", "-o", "remount,ro", str(tmpfs))
    try:
        await _assert_every_write_fails(storage, "Read-only file system", retryable=True)
        with pytest.raises(StorageException, match="Read-only file system") as info:
            async with storage.lock("refresh", wait=1):
                pytest.fail("the lock cannot be taken on a read-only filesystem")
        assert info.value.retryable
        # A second storage object on the same file fails the same way (no cached handle).
        with pytest.raises(StorageException, match="Read-only file system"):
            await FileStorage(storage.path).set_item("x", "y")
        assert await _stored(storage) == {"a": SECRET, "b": "2", "new": None}
    finally:
        _run("mount", "-o", "remount,rw", str(tmpfs))
    await storage.set_item("new", "value")
    assert await _stored(storage) == {"a": SECRET, "b": "2", "new": "value"}
    async with storage.lock("refresh", wait=1) as held:
        assert held


async def test_a_corrupt_file_on_a_read_only_filesystem_is_reported_not_raised(
    tmpfs: Path,
) -> None:
    path = tmpfs / "session.json"
    path.write_bytes(b"[" * 20_000)  # deeper than json can parse: RecursionError
    path.chmod(0o600)
    _run("mount", "-o", "remount,ro", str(tmpfs))
    try:
        with pytest.raises(StorageException, match="corrupt and cannot be moved aside"):
            await FileStorage(path).get_item("a")
    finally:
        _run("mount", "-o", "remount,rw", str(tmpfs))
    with pytest.raises(StorageException, match="corrupt; moved aside"):
        await FileStorage(path).get_item("a")
    assert await FileStorage(path).get_item("a") is None


async def test_a_directory_where_the_file_should_be(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.mkdir()
    storage = FileStorage(path)
    with pytest.raises(StorageException, match="Is a directory") as info:
        await storage.get_item("a")
    assert not info.value.retryable  # someone has to remove it
    await _assert_every_write_fails(storage, "Is a directory", retryable=False)
    path.rmdir()
    await storage.set_item("a", "1")
    assert await storage.get_item("a") == "1"


async def test_a_file_where_the_directory_should_be(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("")
    storage = FileStorage(tmp_path / "not-a-dir" / "session.json")
    with pytest.raises(StorageException, match="Not a directory"):
        await storage.get_item("a")
    for write in _writes(storage).values():
        with pytest.raises(StorageException, match="File exists") as info:
            await write()
        assert not info.value.retryable
    with pytest.raises(StorageException, match="File exists"):
        async with storage.lock("refresh", wait=0):
            pytest.fail("the lock cannot be taken")


# -- FileStorage's refresh lock ------------------------------------------------------


async def test_the_file_lock_excludes_other_objects_and_calls_in_one_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "session.json"
    first, second = FileStorage(path), FileStorage(path)
    assert isinstance(first, LockingStorage)
    async with first.lock("refresh", wait=0) as held:
        assert held
        async with second.lock("refresh", wait=0) as other_object:
            assert not other_object
        async with first.lock("refresh", wait=0) as same_object:
            assert not same_object  # not reentrant: another task of this process waits too
        async with second.lock("other", wait=0) as other_name:
            assert other_name  # one lock per name
        # The holder writes the session: the write lock is another file.
        with anyio.fail_after(5):
            await first.update_items({"a": "1"})
            await second.set_item("b", "2")
    async with second.lock("refresh", wait=0) as after:
        assert after
    assert {p.name for p in tmp_path.iterdir()} >= {
        "session.json",
        "session.json.lock",
        "session.json.refresh.lock",
    }


async def test_a_waiter_gets_the_lock_once_its_holder_releases_it(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    holder, waiter = FileStorage(path), FileStorage(path)
    results: list[bool] = []

    async def wait_for_it() -> None:
        async with waiter.lock("refresh", wait=10) as held:
            results.append(held)

    async with anyio.create_task_group() as group:
        async with holder.lock("refresh", wait=0) as held:
            assert held
            group.start_soon(wait_for_it)
            await anyio.sleep(0.2)
            assert results == []  # still waiting
        with anyio.fail_after(5):
            await until(lambda: results == [True])


async def test_a_wait_that_runs_out_yields_false(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    async with FileStorage(path).lock("refresh", wait=0) as held:
        assert held
        with anyio.fail_after(5):
            async with FileStorage(path).lock("refresh", wait=0.3) as waited:
                assert not waited


async def test_cancelling_a_waiter_leaves_no_lock_held(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    entered: list[bool] = []
    async with FileStorage(path).lock("refresh", wait=0) as held:
        assert held
        with anyio.move_on_after(0.3) as scope:
            async with FileStorage(path).lock("refresh", wait=30) as waited:
                entered.append(waited)
        assert scope.cancelled_caught
    assert entered == []
    await anyio.sleep(0.2)  # any thread still in flight has finished
    async with FileStorage(path).lock("refresh", wait=0) as free:
        assert free
    # A holder cancelled in its block releases too.
    with anyio.move_on_after(0.2):
        async with FileStorage(path).lock("refresh", wait=0) as held_then_cancelled:
            assert held_then_cancelled
            await anyio.sleep(30)
    async with FileStorage(path).lock("refresh", wait=0) as free_again:
        assert free_again


_HOLDER = textwrap.dedent(
    """
    import sys, anyio
    from amplify_session import FileStorage

    async def main():
        async with FileStorage(sys.argv[1]).lock("refresh", wait=5) as held:
            print("held" if held else "busy", flush=True)
            await anyio.sleep(120)

    anyio.run(main)
    """
)


async def test_a_lock_held_by_a_killed_process_is_free(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    async with await anyio.open_process(
        [sys.executable, "-c", _HOLDER, str(path)], cwd=ROOT, stderr=None
    ) as child:
        try:
            assert child.stdout is not None
            with anyio.fail_after(20):
                line = await child.stdout.receive()
            assert line.strip() == b"held"
            storage = FileStorage(path)
            async with storage.lock("refresh", wait=0) as held:
                assert not held  # the other process has it
            results: list[bool] = []

            async def wait_for_it() -> None:
                async with storage.lock("refresh", wait=20) as got:
                    results.append(got)

            async with anyio.create_task_group() as group:
                group.start_soon(wait_for_it)
                await anyio.sleep(0.2)
                assert results == []
                child.send_signal(signal.SIGKILL)  # no cleanup runs in the child
                await until(lambda: results == [True], limit=10)
            with anyio.fail_after(10):
                assert await child.wait() == -signal.SIGKILL
        finally:
            if child.returncode is None:
                child.kill()
                with anyio.fail_after(10):
                    await child.wait()


# -- Redis -------------------------------------------------------------------------


@pytest.fixture
async def redis_storage(redis_url: str) -> AsyncIterator[RedisStorage]:
    storage = RedisStorage.from_url(redis_url)
    yield storage
    await storage.aclose()


@pytest.fixture
async def raw_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """Another client that speaks bytes, as any client of the same Redis can."""
    client = redis.asyncio.from_url(redis_url)
    yield client
    await client.aclose()


async def _collect(storage: RedisStorage, received: list[str], errors: list[BaseException]) -> None:
    try:
        async for note in storage.messages():
            received.append(note)
    except Exception as exc:
        errors.append(exc)


async def test_a_message_that_is_not_text_is_skipped_and_the_subscription_goes_on(
    redis_storage: RedisStorage,
    raw_client: redis.asyncio.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="amplify_session")
    channel = "{amplify-session}:changes"
    received: list[str] = []
    errors: list[BaseException] = []
    async with anyio.create_task_group() as group:
        group.start_soon(_collect, redis_storage, received, errors)
        await until(lambda: _subscribers(raw_client, channel))
        await raw_client.publish(channel, b"\xff")
        await raw_client.publish(channel, b"\xc3\x28 not utf-8 \xfe")
        await redis_storage.publish("first")
        await until(lambda: received == ["first"] or bool(errors))
        await raw_client.publish(channel, "second ✓".encode())
        await until(lambda: received == ["first", "second ✓"] or bool(errors))
        group.cancel_scope.cancel()
    assert errors == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("not UTF-8 text" in w for w in warnings) == 2
    assert not any("not utf-8" in w for w in warnings)  # the content is not logged


def _subscribers(client: redis.asyncio.Redis, channel: str) -> bool:
    """True once someone listens on ``channel`` (checked with a sync client)."""
    kwargs = client.connection_pool.connection_kwargs
    sync = redis.Redis(host=kwargs["host"], port=kwargs["port"])
    try:
        count = dict(sync.pubsub_numsub(channel)).get(channel.encode(), 0)
    finally:
        sync.close()
    return bool(count)


class _OtherPool(redis.asyncio.ConnectionPool):
    """A pool type RedisStorage does not copy (as Sentinel's is not)."""


async def test_with_a_pool_it_cannot_copy_a_bad_message_ends_the_feed_with_a_storage_error(
    redis_url: str, raw_client: redis.asyncio.Redis
) -> None:
    pool = _OtherPool.from_url(redis_url, decode_responses=True)
    storage = RedisStorage(redis.asyncio.Redis(connection_pool=pool))
    channel = "{amplify-session}:changes"
    received: list[str] = []
    errors: list[BaseException] = []
    async with anyio.create_task_group() as group:
        group.start_soon(_collect, storage, received, errors)
        await until(lambda: _subscribers(raw_client, channel))
        await storage.publish("first")
        await until(lambda: received == ["first"])
        await raw_client.publish(channel, b"\xff")
        await until(lambda: bool(errors))
    assert received == ["first"]
    assert [type(e) for e in errors] == [StorageException]
    assert "not UTF-8 text" in str(errors[0])
    await storage.aclose()
    await pool.aclose()


async def test_a_stored_value_that_is_not_text_is_a_storage_exception(
    redis_storage: RedisStorage, raw_client: redis.asyncio.Redis
) -> None:
    await redis_storage.set_item("good", "fine")
    await raw_client.set("{amplify-session}:bad", b"\xff\xfe" + SECRET.encode())
    with pytest.raises(StorageException, match="not UTF-8 text") as info:
        await redis_storage.get_item("bad")
    assert not info.value.retryable
    assert SECRET not in str(info.value)
    assert await redis_storage.get_item("good") == "fine"  # the client goes on


async def test_clear_removes_keys_that_are_not_text(
    redis_storage: RedisStorage, raw_client: redis.asyncio.Redis
) -> None:
    await redis_storage.update_items({"a": "1", "b": "2"})
    await raw_client.set(b"{amplify-session}:\xff\xfe", b"\xff")
    await raw_client.set("unrelated", "kept")
    await redis_storage.clear()
    assert sorted(await raw_client.keys("*")) == [b"unrelated"]


async def test_a_prefix_with_glob_characters_clears_only_its_own_keys(
    redis_url: str, raw_client: redis.asyncio.Redis
) -> None:
    star = RedisStorage.from_url(redis_url, prefix="a*")
    other = RedisStorage.from_url(redis_url, prefix="ab")
    await star.set_item("k", "1")
    await other.set_item("k", "2")
    await star.clear()
    assert await star.get_item("k") is None
    assert await other.get_item("k") == "2"
    for storage in (star, other):
        await storage.aclose()


@pytest.fixture
def guarded_redis() -> Iterator[RedisServer]:
    """A dedicated redis-server that requires a password the storage does not have."""
    server = RedisServer()
    server.start()
    client = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        client.config_set("requirepass", "not-given-to-the-storage")
    finally:
        client.close()
    try:
        yield server
    finally:
        server.stop()


async def test_a_redis_that_wants_a_password_is_a_storage_exception_everywhere(
    guarded_redis: RedisServer,
) -> None:
    storage = RedisStorage.from_url(guarded_redis.url)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "get_item": lambda: storage.get_item("a"),
        "set_item": lambda: storage.set_item("a", "1"),
        "remove_item": lambda: storage.remove_item("a"),
        "update_items": lambda: storage.update_items({"a": "1", "b": None}),
        "clear": storage.clear,
        "publish": lambda: storage.publish("note"),
        "messages": lambda: anext(aiter(storage.messages())),
    }

    async def take_lock() -> None:
        async with storage.lock("refresh", wait=1):
            pytest.fail("the lock cannot be taken")

    calls["lock"] = take_lock
    for name, call in calls.items():
        with anyio.fail_after(10), pytest.raises(StorageException) as info:
            await call()
        assert not info.value.retryable, name
        assert "AuthenticationError" in info.value.message, name
    await storage.aclose()


async def test_a_fleet_survives_a_message_that_is_not_text(
    pool: EmulatedPool, redis_url: str, raw_client: redis.asyncio.Redis
) -> None:
    config = pool.config(identity_pool_id=None)
    first_storage, second_storage = (
        RedisStorage.from_url(redis_url),
        RedisStorage.from_url(redis_url),
    )
    async with (
        SessionManager(config, storage=first_storage) as first,
        SessionManager(config, storage=second_storage) as second,
    ):
        await until(lambda: _subscribers(raw_client, "{amplify-session}:changes"))
        await raw_client.publish("{amplify-session}:changes", b"\xff")
        await first.sign_in(pool.username, pool.password)
        with anyio.fail_after(5):
            while not await second.is_authenticated():
                await anyio.sleep(0.02)
        await first.sign_out()
        with anyio.fail_after(5):
            while await second.is_authenticated():
                await anyio.sleep(0.02)
    for storage in (first_storage, second_storage):
        await storage.aclose()
