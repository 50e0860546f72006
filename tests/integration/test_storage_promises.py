"""Issue 13, items 0-3a and 9-9b: storage faults, untrusted storage, and a final sign-out.

Each test reproduces one failure the issue describes, against the real
emulator, a real filesystem (a small tmpfs that fills up or is remounted
read-only, a directory where the session file should be) and a real
redis-server, and asserts what the contract promises instead:

- a background task never ends the user's ``async with`` block; a storage
  error is a StorageException (an AuthError) for the caller who needed the
  write, and a failure event for a background one;
- bad stored data, or a bad note on the change channel, is never raised
  out of the manager; bad stored data counts as no session;
- a failed sign-in store leaves the manager signed out, and it recovers;
- a sign-out never raises, takes effect in memory at once, revokes, retries
  the storage clear until it lands, and no refresh that began before it (in
  this process or another) writes the session back;
- FileStorage shared by processes refreshes under its file lock (one
  refresh per host with a rotating client) and keeps each user's keys apart.

No assertion compares raw tokens: access tokens are compared by ``jti``,
other secrets by a digest, so a failure never prints one.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import logging
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis.asyncio

from amplify_session import (
    AuthError,
    AuthSession,
    EventName,
    FileStorage,
    MemoryStorage,
    SessionEvent,
    SessionManager,
    StorageException,
    decode_jwt,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.storage.redis import RedisStorage
from amplify_session.testing import FakeClock
from tests.support.cuttable_proxy import cuttable_proxy
from tests.support.redis_server import RedisServer
from tests.support.retry import fast_retry
from tests.support.waiting import until

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).parents[2]
INTO_REFRESH_WINDOW = 3600 - 300 + 1  # hour-long tokens, default 300 s refresh window
TOKEN_FIELDS = ("accessToken", "idToken", "refreshToken", "clockDrift", "signInDetails")
REDIS_TAG = "{amplify-session}"  # RedisStorage's default prefix, as its hash tag


# -- helpers -------------------------------------------------------------------


def _key(pool: EmulatedPool, field: str, username: str | None = None) -> str:
    return f"CognitoIdentityServiceProvider.{pool.client_id}.{username or pool.username}.{field}"


def _last_user(pool: EmulatedPool) -> str:
    return f"CognitoIdentityServiceProvider.{pool.client_id}.LastAuthUser"


def _jti(raw: object) -> str | None:
    """The jti of a stored or served access token (never the token itself)."""
    if raw is None:
        return None
    return str(decode_jwt(str(raw)).payload["jti"])


def _served_jti(session: AuthSession) -> str | None:
    return None if session.tokens is None else _jti(session.tokens.access_token)


def _digest(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()[:16]


def _names(events: list[SessionEvent]) -> list[EventName]:
    return [event.name for event in events]


async def _eventually(check: Callable[[], Awaitable[bool]], *, limit: float = 10.0) -> None:
    """Return once ``await check()`` is true; fail after ``limit`` seconds."""
    with anyio.fail_after(limit):
        while not await check():
            await anyio.sleep(0.02)


async def _keep_serving(manager: SessionManager, rounds: int = 10) -> int:
    """The service's own work: fetch and sleep; returns how many rounds it completed."""
    done = 0
    for _ in range(rounds):
        await manager.fetch_auth_session()
        await anyio.sleep(0.02)
        done += 1
    return done


class BreakableStorage(MemoryStorage):
    """A user's storage whose backend raises its own exception (not an AuthError) when broken."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("the storage backend is unreachable")

    async def get_item(self, key: str) -> str | None:
        self._check()
        return await super().get_item(key)

    async def set_item(self, key: str, value: str) -> None:
        self._check()
        await super().set_item(key, value)

    async def remove_item(self, key: str) -> None:
        self._check()
        await super().remove_item(key)

    async def clear(self) -> None:
        self._check()
        await super().clear()

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        self._check()
        await super().update_items(changes)


# -- a real filesystem that fails ------------------------------------------------


class Tmpfs:
    """A small tmpfs (mode 0700) this test mounted: fill it up, or remount it read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / "filler"

    def _remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    def read_only(self) -> None:
        self._remount("ro")

    def read_write(self) -> None:
        self._remount("rw")

    def fill(self) -> None:
        """Write until the filesystem has no space left."""
        with (
            open(self._filler, "ab", buffering=0) as filler,
            pytest.raises(OSError, match="No space left") as info,
        ):
            _write_forever(filler)
        assert info.value.errno == errno.ENOSPC

    def make_room(self) -> None:
        self._filler.unlink()


def _write_forever(file: Any) -> None:
    while True:
        file.write(b"\0" * 4096)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    mountpoint = tmp_path / "fs"
    mountpoint.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mountpoint)],
        check=True,
    )
    try:
        yield Tmpfs(mountpoint)
    finally:
        if subprocess.run(["umount", str(mountpoint)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _stored_items(path: Path) -> dict[str, str]:
    """The items of a FileStorage file, read directly."""
    if not path.exists():
        return {}
    document = json.loads(path.read_text())
    items: dict[str, str] = document["items"]
    return items


@pytest.fixture
async def new_redis() -> AsyncIterator[Callable[..., RedisStorage]]:
    """Makes RedisStorage clients, all closed when the test ends (however it ends)."""
    made: list[RedisStorage] = []

    def make(url: str, **options: Any) -> RedisStorage:
        storage = RedisStorage.from_url(url, **options)
        made.append(storage)
        return storage

    yield make
    for storage in made:
        with contextlib.suppress(Exception):
            await storage.aclose()


def _start_worker(
    started: list[subprocess.Popen[bytes]], settings: dict[str, Any]
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.storage_promise_worker", json.dumps(settings)],
        cwd=ROOT,
    )
    started.append(process)
    return process


@contextlib.asynccontextmanager
async def _raw_redis(url: str) -> Any:
    """A plain client (bytes in, bytes out), as any other Redis user has."""
    client = redis.asyncio.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


# -- item 0: untrusted input from storage and from the change channel -----------


async def test_a_non_utf8_note_on_the_change_channel_does_not_end_the_service(
    new_redis: Callable[..., RedisStorage], pool: EmulatedPool, redis_url: str
) -> None:
    config = pool.config(identity_pool_id=None)
    storage = new_redis(redis_url)
    rounds = 0
    async with SessionManager(config, storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
        signed_in = await manager.fetch_auth_session()
        await anyio.sleep(0.2)  # the follower is subscribed
        async with _raw_redis(redis_url) as client:
            receivers = await client.publish(f"{REDIS_TAG}:changes", b"\xff")
        assert receivers == 1
        rounds = await _keep_serving(manager, rounds=25)
        # A note is not session data: the stored session is still the session.
        session = await manager.fetch_auth_session()
        assert _served_jti(session) == _served_jti(signed_in)
    assert rounds == 25


TAMPERED = {
    "non-utf8-access-token": ("accessToken", b"\xff\xfe\x80garbage"),
    "nested-json-sign-in-details": ("signInDetails", ("[" * 100_000 + "]" * 100_000).encode()),
    "absurd-clock-drift": ("clockDrift", b"9" * 400),
}


@pytest.mark.parametrize("case", TAMPERED)
async def test_a_value_tampered_while_running_does_not_end_the_service(
    new_redis: Callable[..., RedisStorage],
    pool: EmulatedPool,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="amplify_session")
    field, value = TAMPERED[case]
    config = pool.config(identity_pool_id=None)
    storage = new_redis(redis_url)
    rounds = 0
    async with SessionManager(config, storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
        await anyio.sleep(0.2)  # the follower is subscribed
        async with _raw_redis(redis_url) as client:
            await client.set(f"{REDIS_TAG}:{_key(pool, field)}", value)
            # Any process announcing a change makes this one re-read the storage.
            note = json.dumps({"kind": "tokens", "origin": "another-process"})
            assert await client.publish(f"{REDIS_TAG}:changes", note) == 1
        rounds = await _keep_serving(manager, rounds=25)
        with anyio.fail_after(10):
            await manager.fetch_auth_session()  # answers (an AuthSession), raises nothing
    assert rounds == 25
    assert any(r.levelno >= logging.WARNING for r in caplog.records if r.name == "amplify_session")


async def test_a_tampered_identity_id_is_forgotten_and_the_tokens_kept(
    new_redis: Callable[..., RedisStorage],
    pool: EmulatedPool,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The identity id is only a cache of GetId: a bad one is dropped (with a
    # log line) and asked for again; it does not end a valid session.
    caplog.set_level(logging.WARNING, logger="amplify_session")
    config = pool.config()
    async with SessionManager(config, storage=new_redis(redis_url)) as first:
        await first.sign_in(pool.username, pool.password)
        before = await first.fetch_auth_session()
    key = f"{REDIS_TAG}:com.amplify.Cognito.{pool.identity_pool_id}.identityId"
    async with _raw_redis(redis_url) as client:
        await client.set(key, ("[" * 100_000 + "]" * 100_000).encode())
    async with SessionManager(config, storage=new_redis(redis_url)) as restarted:
        with anyio.fail_after(10):
            session = await restarted.fetch_auth_session()
        rounds = await _keep_serving(restarted)
    assert rounds == 10
    assert _served_jti(session) == _served_jti(before)
    assert session.credentials is not None
    assert session.identity_id is not None  # asked GetId again (moto hands out a new one)
    assert session.identity_id.startswith(f"{pool.region}:")
    assert any("identity" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    async with _raw_redis(redis_url) as client:
        assert (await client.get(key)).startswith(b"{")  # rewritten as a valid record


@pytest.mark.parametrize("case", list(TAMPERED))
async def test_a_new_process_starts_signed_out_over_tampered_storage_and_can_sign_in(
    new_redis: Callable[..., RedisStorage],
    pool: EmulatedPool,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="amplify_session")
    config = pool.config(identity_pool_id=None)
    writer = new_redis(redis_url)
    async with SessionManager(config, storage=writer) as first:
        await first.sign_in(pool.username, pool.password)
        await first.fetch_auth_session()
    async with _raw_redis(redis_url) as client:
        field, value = TAMPERED[case]
        await client.set(f"{REDIS_TAG}:{_key(pool, field)}", value)

    seen: list[SessionEvent] = []
    storage = new_redis(redis_url)
    manager = SessionManager(config, storage=storage)
    manager.subscribe(seen.append)
    rounds = 0
    async with manager:
        with anyio.fail_after(10):
            session = await manager.fetch_auth_session()
        assert session.tokens is None
        await until(lambda: EventName.SIGNED_OUT in _names(seen))
        signed_out = next(e for e in seen if e.name is EventName.SIGNED_OUT)
        assert isinstance(signed_out.error, AuthError)
        rounds = await _keep_serving(manager)
        assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
        signed_in = await manager.fetch_auth_session()
        assert signed_in.tokens is not None
    assert rounds == 10
    assert any(r.levelno >= logging.WARNING for r in caplog.records if r.name == "amplify_session")
    # The new sign-in replaced the tampered data: the next process restores it.
    reader = new_redis(redis_url)
    async with SessionManager(config, storage=reader) as restarted:
        assert _served_jti(await restarted.fetch_auth_session()) == _served_jti(signed_in)


# -- item 1: storage failures in the background -----------------------------------


async def test_a_user_storage_failing_during_a_background_refresh_does_not_end_the_service(
    pool: EmulatedPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amplify_session")
    clock, storage = FakeClock(), BreakableStorage()
    seen: list[SessionEvent] = []
    config = pool.config(identity_pool_id=None)
    rounds = 0
    async with SessionManager(config, storage=storage, clock=clock) as manager:
        manager.subscribe(seen.append)
        await manager.sign_in(pool.username, pool.password)
        first = _served_jti(await manager.fetch_auth_session())
        storage.broken = True
        clock.advance(INTO_REFRESH_WINDOW)
        await until(lambda: EventName.TOKEN_REFRESH_FAILURE in _names(seen), limit=10)
        failure = next(e for e in seen if e.name is EventName.TOKEN_REFRESH_FAILURE)
        assert isinstance(failure.error, StorageException)
        # The refresh itself worked: its tokens are served from memory.
        names = _names(seen)
        assert EventName.TOKEN_REFRESH in names
        assert names.index(EventName.TOKEN_REFRESH) < names.index(EventName.TOKEN_REFRESH_FAILURE)
        rounds = await _keep_serving(manager)
        served = _served_jti(await manager.fetch_auth_session())
        assert served is not None
        assert served != first
        # Storage repaired: the loop stores the tokens it kept (backoff on the clock).
        storage.broken = False

        async def stored_now() -> bool:
            clock.advance(1)
            return _jti(await storage.get_item(_key(pool, "accessToken"))) == served

        await _eventually(stored_now)
    assert rounds == 10
    assert any(r.levelno >= logging.WARNING for r in caplog.records if r.name == "amplify_session")


async def test_file_storage_turned_read_only_mid_session_does_not_end_the_service(
    pool: EmulatedPool, tmpfs: Tmpfs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amplify_session")
    clock, path = FakeClock(), tmpfs.path / "session.json"
    seen: list[SessionEvent] = []
    config = pool.config(identity_pool_id=None)
    rounds = 0
    async with SessionManager(config, storage=FileStorage(path), clock=clock) as manager:
        manager.subscribe(seen.append)
        await manager.sign_in(pool.username, pool.password)
        first = _served_jti(await manager.fetch_auth_session())
        tmpfs.read_only()
        try:
            clock.advance(INTO_REFRESH_WINDOW)
            await until(lambda: EventName.TOKEN_REFRESH_FAILURE in _names(seen), limit=10)
            failure = next(e for e in seen if e.name is EventName.TOKEN_REFRESH_FAILURE)
            assert isinstance(failure.error, StorageException)
            rounds = await _keep_serving(manager)
            assert (await manager.fetch_auth_session()).tokens is not None  # still valid
        finally:
            tmpfs.read_write()

        # Writable again: the loop refreshes (or stores what it refreshed) and the
        # file and memory agree on new tokens.
        async def stored_and_new() -> bool:
            clock.advance(1)
            served = _served_jti(await manager.fetch_auth_session())
            stored = _jti(_stored_items(path).get(_key(pool, "accessToken")))
            return served == stored and served != first

        await _eventually(stored_and_new)
    assert rounds == 10
    assert any(r.levelno >= logging.WARNING for r in caplog.records if r.name == "amplify_session")


# -- item 2: a sign-in whose store fails leaves the manager signed out -------------


@pytest.mark.parametrize("fault", ["disk-full", "directory-in-the-way"])
async def test_a_sign_in_that_cannot_be_stored_leaves_the_manager_signed_out(
    pool: EmulatedPool, tmpfs: Tmpfs, fault: str
) -> None:
    path = tmpfs.path / "session.json"
    if fault == "disk-full":
        tmpfs.fill()
    else:
        path.mkdir()
    config = pool.config(identity_pool_id=None)
    async with SessionManager(config, storage=FileStorage(path)) as manager:
        with pytest.raises(StorageException):
            await manager.sign_in(pool.username, pool.password)
        assert (await manager.fetch_auth_session()).tokens is None
        assert not await manager.is_authenticated()
        # Still broken: the same error again, not "already signed in".
        with pytest.raises(StorageException):
            await manager.sign_in(pool.username, pool.password)
        # Repaired: signing in works, and is stored.
        if fault == "disk-full":
            tmpfs.make_room()
        else:
            path.rmdir()
        assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
        signed_in = _served_jti(await manager.fetch_auth_session())
        assert signed_in is not None
    async with SessionManager(config, storage=FileStorage(path)) as restarted:
        assert _served_jti(await restarted.fetch_auth_session()) == signed_in


async def test_a_sign_in_against_a_redis_that_wants_a_password_leaves_the_manager_signed_out(
    new_redis: Callable[..., RedisStorage],
    pool: EmulatedPool,
) -> None:
    server = RedisServer()
    server.start()
    password = secrets.token_hex(8)
    try:
        async with _raw_redis(server.url) as admin:
            await admin.config_set("requirepass", password)
        config = pool.config(identity_pool_id=None)
        storage = new_redis(server.url)
        async with SessionManager(config, storage=storage) as manager:
            with pytest.raises(StorageException):
                await manager.sign_in(pool.username, pool.password)
            assert (await manager.fetch_auth_session()).tokens is None
            assert not await manager.is_authenticated()
            with pytest.raises(StorageException):
                await manager.sign_in(pool.username, pool.password)
            admin_url = server.url.replace("redis://", f"redis://:{password}@")
            async with _raw_redis(admin_url) as admin:
                await admin.config_set("requirepass", "")
            assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
            signed_in = _served_jti(await manager.fetch_auth_session())
        reader = new_redis(server.url)
        async with SessionManager(config, storage=reader) as restarted:
            assert _served_jti(await restarted.fetch_auth_session()) == signed_in
    finally:
        server.stop()


# -- item 3: read-only filesystem, Redis down: sign-in fails cleanly, sign-out never -


async def test_a_sign_in_on_a_read_only_filesystem_is_a_storage_exception(
    pool: EmulatedPool, tmpfs: Tmpfs
) -> None:
    path = tmpfs.path / "session.json"
    config = pool.config(identity_pool_id=None)
    async with SessionManager(config, storage=FileStorage(path)) as manager:
        tmpfs.read_only()
        try:
            with pytest.raises(StorageException):
                await manager.sign_in(pool.username, pool.password)
            assert (await manager.fetch_auth_session()).tokens is None
            assert not await manager.is_authenticated()
        finally:
            tmpfs.read_write()
        assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
        signed_in = _served_jti(await manager.fetch_auth_session())
    async with SessionManager(config, storage=FileStorage(path)) as restarted:
        assert _served_jti(await restarted.fetch_auth_session()) == signed_in


async def test_a_sign_out_on_a_read_only_filesystem_ends_the_session_and_clears_it_later(
    pool: EmulatedPool, amplify_emulator: Emulator, tmpfs: Tmpfs
) -> None:
    path = tmpfs.path / "session.json"
    config = pool.config(identity_pool_id=None, retry=fast_retry(2))
    async with SessionManager(config, storage=FileStorage(path)) as manager:
        await manager.sign_in(pool.username, pool.password)
        await manager.fetch_auth_session()
        tmpfs.read_only()
        try:
            with anyio.fail_after(10):
                result = await manager.sign_out()
            assert (await manager.fetch_auth_session()).tokens is None
            assert not await manager.is_authenticated()
            assert result.storage_cleared is False
            assert result.revoked
            assert amplify_emulator.front.calls["RevokeToken"] == 1
        finally:
            tmpfs.read_write()

        # Writable again: the manager keeps retrying the clear until it lands.
        async def cleared() -> bool:
            return _key(pool, "accessToken") not in _stored_items(path)

        await _eventually(cleared)
        assert (await manager.fetch_auth_session()).tokens is None
    async with SessionManager(config, storage=FileStorage(path)) as restarted:
        assert (await restarted.fetch_auth_session()).tokens is None


async def test_a_sign_out_with_redis_unreachable_ends_the_session_and_clears_it_later(
    new_redis: Callable[..., RedisStorage],
    pool: EmulatedPool,
    amplify_emulator: Emulator,
    redis_url: str,
) -> None:
    config = pool.config(identity_pool_id=None, retry=fast_retry(2))
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    async with cuttable_proxy(f"http://127.0.0.1:{redis_port}/") as proxy:
        storage = new_redis(
            f"redis://127.0.0.1:{proxy.port}/0", socket_timeout=0.5, socket_connect_timeout=0.5
        )
        async with SessionManager(config, storage=storage) as manager:
            await manager.sign_in(pool.username, pool.password)
            await manager.fetch_auth_session()
            await proxy.cut()
            try:
                with anyio.fail_after(10):
                    result = await manager.sign_out()
                assert (await manager.fetch_auth_session()).tokens is None
                assert not await manager.is_authenticated()
                assert result.storage_cleared is False
                assert result.revoked
                assert amplify_emulator.front.calls["RevokeToken"] == 1
            finally:
                await proxy.restore()
            # Redis reachable again: the clear lands, and the session stays gone here too.
            async with _raw_redis(redis_url) as client:

                async def cleared() -> bool:
                    return await client.get(f"{REDIS_TAG}:{_key(pool, 'accessToken')}") is None

                await _eventually(cleared)
            await anyio.sleep(0.5)  # the follower has re-read the storage meanwhile
            assert (await manager.fetch_auth_session()).tokens is None
    reader = new_redis(redis_url)
    async with SessionManager(config, storage=reader) as restarted:
        assert (await restarted.fetch_auth_session()).tokens is None


# -- item 3a: a sign-out does not wait behind a stalled refresh --------------------


class _Poller:
    """Fetches the session every few milliseconds; counts tokens served once signing out began."""

    def __init__(self, manager: SessionManager) -> None:
        self._manager = manager
        self.signing_out = False
        self.served_after_sign_out = 0

    async def run(self) -> None:
        while True:
            began_after = self.signing_out
            try:
                session = await self._manager.fetch_auth_session()
            except AuthError:
                pass
            else:
                if began_after and session.tokens is not None:
                    self.served_after_sign_out += 1
            await anyio.sleep(0.005)


async def _forced_refresh(manager: SessionManager, outcome: list[str]) -> None:
    """A caller forcing a refresh; records "tokens", "no tokens" or the error's name."""
    try:
        session = await manager.fetch_auth_session(force_refresh=True)
    except AuthError as err:
        outcome.append(err.name)
    else:
        outcome.append("no tokens" if session.tokens is None else "tokens")


async def test_a_sign_out_during_a_stalled_refresh_takes_effect_at_once(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    config = pool.config(identity_pool_id=None)  # the defaults: a stalled call takes 30 s+
    async with SessionManager(config) as manager:
        await manager.sign_in(pool.username, pool.password)
        amplify_emulator.front.inject("InitiateAuth", "stall", times=100)
        poller, outcome = _Poller(manager), []
        async with anyio.create_task_group() as group:
            group.start_soon(_forced_refresh, manager, outcome)
            group.start_soon(poller.run)
            await until(
                lambda: amplify_emulator.front.calls["InitiateAuth"] == 2
            )  # it reached Cognito
            poller.signing_out = True
            with anyio.fail_after(5):
                result = await manager.sign_out()
            with anyio.fail_after(5):
                assert (await manager.fetch_auth_session()).tokens is None
                assert not await manager.is_authenticated()
            await anyio.sleep(0.05)  # the poller fetches a few more times
            group.cancel_scope.cancel()
        amplify_emulator.front.clear_faults()
    assert poller.served_after_sign_out == 0
    assert "tokens" not in outcome
    assert result.revoked
    assert amplify_emulator.front.calls["RevokeToken"] == 1


async def test_a_refresh_that_lands_after_a_sign_out_is_discarded(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    storage = MemoryStorage()
    config = pool.config(identity_pool_id=None)
    async with SessionManager(config, storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
        amplify_emulator.front.inject("InitiateAuth", 1.5)  # answered 1.5 s after it arrives
        poller, outcome = _Poller(manager), []
        async with anyio.create_task_group() as group:
            group.start_soon(_forced_refresh, manager, outcome)
            group.start_soon(poller.run)
            await until(lambda: amplify_emulator.front.calls["InitiateAuth"] == 2)
            poller.signing_out = True
            with anyio.fail_after(10):
                result = await manager.sign_out()
            with anyio.fail_after(10):
                await until(lambda: bool(outcome))  # the refresh landed (or was cancelled)
            await anyio.sleep(0.05)
            group.cancel_scope.cancel()
        assert poller.served_after_sign_out == 0
        assert outcome != ["tokens"]
        assert (await manager.fetch_auth_session()).tokens is None
        assert await storage.get_item(_key(pool, "accessToken")) is None
        assert await storage.get_item(_last_user(pool)) is None
    assert result.revoked
    async with SessionManager(config, storage=storage) as restarted:
        assert (await restarted.fetch_auth_session()).tokens is None


# -- item 9: a sign-out in one process wins over a refresh in flight in another -----


@pytest.mark.parametrize("backend", ["redis", "file"])
async def test_a_sign_out_wins_over_a_refresh_in_flight_in_another_process(
    new_redis: Callable[..., RedisStorage],
    pool: EmulatedPool,
    amplify_emulator: Emulator,
    redis_url: str,
    tmp_path: Path,
    backend: str,
) -> None:
    config = pool.config(identity_pool_id=None, retry=fast_retry(2))
    path = tmp_path / "session.json"

    def new_storage() -> RedisStorage | FileStorage:
        return new_redis(redis_url) if backend == "redis" else FileStorage(path)

    async def stored_access_token() -> str | None:
        if backend == "file":
            return _stored_items(path).get(_key(pool, "accessToken"))
        async with _raw_redis(redis_url) as client:
            value = await client.get(f"{REDIS_TAG}:{_key(pool, 'accessToken')}")
        return None if value is None else value.decode()

    async with SessionManager(config, storage=new_storage()) as first:
        await first.sign_in(pool.username, pool.password)
    b_seen: list[SessionEvent] = []
    a, b = (
        SessionManager(config, storage=new_storage()),
        SessionManager(config, storage=new_storage()),
    )
    b.subscribe(b_seen.append)
    async with a, b:
        # Both restore the session, and (Redis) follow the change channel.
        assert (await a.fetch_auth_session()).tokens is not None
        assert (await b.fetch_auth_session()).tokens is not None
        await anyio.sleep(0.2)
        # A's refresh reaches Cognito and is answered 2 s later. Meanwhile B signs
        # out; Cognito is not told (RevokeToken fails), so only the sign-out
        # itself can keep A's refresh from bringing the session back.
        amplify_emulator.front.inject("InitiateAuth", 2.0)
        amplify_emulator.front.inject("RevokeToken", 503, times=100)
        outcome: list[str] = []
        async with anyio.create_task_group() as group:
            group.start_soon(_forced_refresh, a, outcome)
            await until(lambda: amplify_emulator.front.calls["InitiateAuth"] == 2)
            before_sign_out = len(b_seen)
            with anyio.fail_after(10):
                await b.sign_out()
            assert (await b.fetch_auth_session()).tokens is None
            with anyio.fail_after(10):
                await until(lambda: bool(outcome))  # A's refresh has landed
        amplify_emulator.front.clear_faults()
        assert outcome != ["tokens"]
        assert await stored_access_token() is None

        async def a_signed_out() -> bool:
            return (await a.fetch_auth_session()).tokens is None

        await _eventually(a_signed_out, limit=5)
        await anyio.sleep(0.3)  # (Redis) B has heard whatever A announced
        assert (await b.fetch_auth_session()).tokens is None
        after = _names(b_seen[before_sign_out:])
        assert EventName.SIGNED_OUT in after
        assert EventName.SIGNED_IN not in after
        assert EventName.TOKEN_REFRESH not in after
        assert await stored_access_token() is None
    reader = new_storage()
    async with SessionManager(config, storage=reader) as restarted:
        assert (await restarted.fetch_auth_session()).tokens is None


# -- item 9a: FileStorage shared by processes, with a rotating app client ------------


@pytest.fixture
def rotating_pool(amplify_emulator: Emulator) -> EmulatedPool:
    amplify_emulator.reset()
    return amplify_emulator.provision(refresh_token_rotation=True)


async def test_two_managers_on_one_file_never_refresh_with_a_rotated_out_token(
    rotating_pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    pool, path = rotating_pool, tmp_path / "session.json"
    config = pool.config(identity_pool_id=None, refresh_token_rotation=True)
    async with SessionManager(config, storage=FileStorage(path)) as first:
        await first.sign_in(pool.username, pool.password)
    a_seen: list[SessionEvent] = []
    b_seen: list[SessionEvent] = []
    a = SessionManager(config, storage=FileStorage(path))
    b = SessionManager(config, storage=FileStorage(path))
    a.subscribe(a_seen.append)
    b.subscribe(b_seen.append)
    async with a, b:
        assert (await a.fetch_auth_session()).tokens is not None
        assert (await b.fetch_auth_session()).tokens is not None  # the same refresh token
        with anyio.fail_after(10):
            await a.fetch_auth_session(force_refresh=True)  # rotates it
            # B refreshes under the file lock: it re-reads the file first, so it
            # uses A's new refresh token, never the one A's refresh rotated out.
            refreshed_b = await b.fetch_auth_session(force_refresh=True)
            assert refreshed_b.tokens is not None
            stored = _stored_items(path)
            assert _digest(stored.get(_key(pool, "refreshToken"))) == _digest(
                refreshed_b.tokens.refresh_token
            )
            # And A, now holding a rotated-out token in memory, re-reads too.
            refreshed_a = await a.fetch_auth_session(force_refresh=True)
            assert refreshed_a.tokens is not None
    for seen in (a_seen, b_seen):
        assert EventName.TOKEN_REFRESH_FAILURE not in _names(seen)
        assert EventName.SIGNED_OUT not in _names(seen)
    assert amplify_emulator.front.calls["GetTokensFromRefreshToken"] == 3  # none refused
    async with SessionManager(config, storage=FileStorage(path)) as restarted:
        assert _served_jti(await restarted.fetch_auth_session()) == _served_jti(refreshed_a)
        assert (await restarted.fetch_auth_session(force_refresh=True)).tokens is not None


async def test_two_processes_on_one_file_refresh_once_per_cycle_and_stay_signed_in(
    amplify_emulator: Emulator, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(
        refresh_token_rotation=True, token_validity=timedelta(seconds=3)
    )
    path, out, ready = tmp_path / "session.json", tmp_path / "worker.json", tmp_path / "ready"
    fields: dict[str, Any] = {
        "user_pool_id": pool.user_pool_id,
        "user_pool_client_id": pool.client_id,
        "user_pool_endpoint": pool.endpoint,
        "identity_pool_endpoint": pool.endpoint,
        "refresh_token_rotation": True,
        "expiry_tolerance": 0.5,
    }
    config = pool.config(identity_pool_id=None, refresh_token_rotation=True, expiry_tolerance=0.5)
    async with SessionManager(config, storage=FileStorage(path)) as first:
        await first.sign_in(pool.username, pool.password)
    settings = {
        "config": fields,
        "file": str(path),
        "duration": 4.5,
        "out": str(out),
        "ready_marker": str(ready),
    }
    worker = _start_worker(processes, settings)
    seen: list[SessionEvent] = []
    jtis: list[str] = []
    errors: list[str] = []
    manager = SessionManager(config, storage=FileStorage(path))
    manager.subscribe(seen.append)
    async with manager:
        with anyio.fail_after(30):
            while not ready.exists():
                await anyio.sleep(0.02)
        with anyio.fail_after(30):
            while worker.poll() is None:
                try:
                    jti = _served_jti(await manager.fetch_auth_session())
                except AuthError as err:
                    errors.append(err.name)
                else:
                    if jti is not None and (not jtis or jtis[-1] != jti):
                        jtis.append(jti)
                await anyio.sleep(0.02)
        signed_in = (await manager.fetch_auth_session()).tokens is not None
    assert worker.returncode == 0
    theirs = json.loads(out.read_text())
    refreshes = amplify_emulator.front.calls["GetTokensFromRefreshToken"]
    tokens = set(jtis) | set(theirs["jtis"])
    calls = [
        when for when, op in amplify_emulator.front.timeline if op == "GetTokensFromRefreshToken"
    ]
    gaps = [round(later - earlier, 2) for earlier, later in itertools.pairwise(calls)]
    print(
        f"two processes, one file: {refreshes} refresh calls {gaps} s apart, "
        f"{len(tokens)} tokens served"
    )
    assert refreshes >= 2  # several cycles of 3-second tokens
    assert EventName.SIGNED_OUT not in _names(seen)
    assert EventName.TOKEN_REFRESH_FAILURE not in _names(seen)
    assert "signedOut" not in theirs["events"]
    assert "tokenRefresh_failure" not in theirs["events"]
    assert errors == []
    assert theirs["errors"] == []
    assert signed_in
    assert theirs["signed_in"]
    # One refresh per token for the host: no two calls carried the same refresh
    # token (the other process adopted the first's result under the file lock
    # instead of refreshing it again). Calls are usually a cycle apart, but on a
    # loaded machine adopted tokens can already be due, so their spacing is
    # printed, not asserted. Nearly every call gave a token someone served
    # (``tokens`` holds the sign-in's too; a process adopts the other's tokens only
    # when its own refresh is due, so the last one or two may go unserved).
    sent = [
        body["RefreshToken"]
        for op, body in amplify_emulator.front.requests
        if op == "GetTokensFromRefreshToken"
    ]
    assert len(sent) == refreshes
    assert len(set(sent)) == len(sent)
    assert refreshes <= len(tokens) + 1
    async with SessionManager(config, storage=FileStorage(path)) as restarted:
        assert (await restarted.fetch_auth_session(force_refresh=True)).tokens is not None


# -- item 9b: two users in one file --------------------------------------------------


async def test_a_sign_out_removes_exactly_its_own_users_keys(
    pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    bob_password = f"Pw-{secrets.token_urlsafe(12)}-9a"
    amplify_emulator.add_user(pool, "bob", bob_password)
    path = tmp_path / "session.json"
    config = pool.config(identity_pool_id=None)
    alice = SessionManager(config, storage=FileStorage(path))
    bob = SessionManager(config, storage=FileStorage(path))
    async with alice, bob:
        assert (await bob.fetch_auth_session()).tokens is None  # nobody yet
        await alice.sign_in(pool.username, pool.password)
        await bob.sign_in("bob", bob_password)  # LastAuthUser is now bob

        def bobs_keys() -> dict[str, str | None]:
            items = _stored_items(path)
            return {k: _digest(v) for k, v in items.items() if ".bob." in k}

        bob_before = bobs_keys()
        assert _key(pool, "accessToken", "bob") in bob_before
        result = await alice.sign_out()
        assert result.revoked
        items = _stored_items(path)
        left_of_alice = [
            field for field in TOKEN_FIELDS if _key(pool, field, pool.username) in items
        ]
        assert left_of_alice == []
        assert bobs_keys() == bob_before
        assert items.get(_last_user(pool)) == "bob"
        assert (await alice.fetch_auth_session()).tokens is None
        bob_session = await bob.fetch_auth_session()
        assert bob_session.tokens is not None
        assert bob_session.tokens.access_token.payload["username"] == "bob"
    async with SessionManager(config, storage=FileStorage(path)) as restarted:
        restored = await restarted.fetch_auth_session()
        assert restored.tokens is not None
        assert restored.tokens.access_token.payload["username"] == "bob"
