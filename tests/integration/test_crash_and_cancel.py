"""Crash safety of FileStorage under SIGKILL, and callers cancelled at every await point."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
from collections.abc import Awaitable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from amplify_session import FileStorage, MemoryStorage, SessionManager
from amplify_session.emulator import EmulatedPool
from tests.support.waiting import until

pytestmark = pytest.mark.anyio
FIELDS = [f"field{n}" for n in range(6)]
KILLS = 100


def _write_generations(path: str, started: multiprocessing.synchronize.Event) -> None:
    """Child: write whole 'token sets' (every field the same generation) forever."""

    async def run() -> None:
        store = FileStorage(path)
        generation = 0
        while True:
            generation += 1
            await store.update_items(dict.fromkeys(FIELDS, f"{generation}" * 50))
            started.set()

    anyio.run(run)


@pytest.mark.heavy
async def test_a_writer_killed_anywhere_leaves_a_whole_old_or_new_set(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["amplify_session.storage._file"])
    rng = random.Random(7)
    generations = []
    for _ in range(KILLS):
        started = context.Event()
        child = context.Process(target=_write_generations, args=(str(path), started))
        child.start()
        assert started.wait(30)
        await anyio.sleep(rng.uniform(0, 0.02))
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(10)
        store = FileStorage(path)
        values = {await store.get_item(field) for field in FIELDS}
        assert len(values) == 1  # never a mix of two sets
        (value,) = values
        assert value is not None
        generations.append(int(value[: len(value) // 50]))
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(set(generations)) > 1


async def test_a_restarted_manager_restores_after_a_killed_write(
    pool: EmulatedPool, tmp_path: Path
) -> None:
    path = tmp_path / "session.json"
    async with SessionManager(pool.config(), storage=FileStorage(path)) as manager:
        await manager.sign_in(pool.username, pool.password)
        tokens = (await manager.fetch_auth_session()).tokens
    context = multiprocessing.get_context("forkserver")
    started = context.Event()
    # Another process rewrites unrelated keys in the same file and dies mid-way.
    child = context.Process(target=_write_generations, args=(str(path), started))
    child.start()
    assert started.wait(30)
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    child.join(10)
    async with SessionManager(pool.config(), storage=FileStorage(path)) as restarted:
        assert (await restarted.fetch_auth_session()).tokens == tokens


async def _cancel_after(steps: int, call: Awaitable[object]) -> bool:
    """Run ``call``, cancelling it after ``steps`` turns of the loop; True if it finished."""
    finished = False

    async def run() -> None:
        nonlocal finished
        await call
        finished = True

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        for _ in range(steps):
            await anyio.lowlevel.checkpoint()
        group.cancel_scope.cancel()
    return finished


def _whole_or_nothing(storage: MemoryStorage, pool: EmulatedPool) -> None:
    prefix = f"CognitoIdentityServiceProvider.{pool.client_id}"
    user = storage._items.get(f"{prefix}.LastAuthUser")
    if user is not None:
        for field in ("accessToken", "idToken", "refreshToken", "clockDrift"):
            assert f"{prefix}.{user}.{field}" in storage._items


async def test_sign_in_cancelled_at_every_await_point(pool: EmulatedPool) -> None:
    storage = MemoryStorage()
    async with SessionManager(pool.config(identity_pool_id=None), storage=storage) as manager:
        steps, cancelled = 0, 0
        while not await _cancel_after(steps, manager.sign_in(pool.username, pool.password)):
            cancelled += 1
            assert not manager._lock.locked()
            _whole_or_nothing(storage, pool)
            assert (await manager.fetch_auth_session()).tokens is None
            steps += 1 + steps // 40  # every early await point, then sparser
        assert cancelled > 20
        assert (await manager.get_current_user()).username == pool.username


async def test_refresh_callers_cancelled_at_every_await_point(pool: EmulatedPool) -> None:
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
        steps, cancelled = 0, 0
        while not await _cancel_after(steps, manager.fetch_auth_session(force_refresh=True)):
            cancelled += 1
            # The shared refresh goes on without the cancelled caller, and ends cleanly.
            await until(lambda: not manager._flight.in_progress)
            assert not manager._lock.locked()
            _whole_or_nothing(storage, pool)
            session = await manager.fetch_auth_session()
            assert session.tokens is not None
            assert session.credentials is not None
            steps += 1 + steps // 40
        assert cancelled > 5
