"""The herd: 10,000 callers at the moment the tokens expire.

The time from the first call to the last answer mixes three things, reported
apart: starting the callers' tasks, the refresh's round trip to Cognito, and
the wake-up, from the refresh's answer (stamped as the refresh operation
returns, just before the flight hands its result to the waiters) to the last
caller's answer. The floor is asyncio's own: as many tasks woken by one
``asyncio.Event`` (set to last answer), measured in the same run.

The collector is off while a herd is timed (timeit's convention): the emulator's
moto heap lives in this process, and a full collection over it lands in whichever
window its allocation count happens to reach, costing up to 100 ms there.

The callers are plain asyncio tasks (what a server's request handlers are), and
again tasks of an anyio task group: anyio's task handles cost a few microseconds
per task as each one ends, inside the wake-up window, and that is the group's
cost, not the refresh's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio

from amplify_session import SessionManager
from amplify_session.emulator import Emulator
from amplify_session.testing import FakeClock

CALLERS = 10_000
MS = 1000


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    gc.collect()  # the previous run's garbage is not this one's cost
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _stamped(operation: Callable[..., Awaitable[Any]], stamps: list[float]) -> Any:
    """``operation``, noting when each call begins and when it returns."""

    async def run(*args: Any, **kwargs: Any) -> Any:
        stamps.append(time.perf_counter())
        try:
            return await operation(*args, **kwargs)
        finally:
            stamps.append(time.perf_counter())

    return run


async def _asyncio_tasks(caller: Callable[[], Awaitable[None]]) -> None:
    tasks = [asyncio.ensure_future(caller()) for _ in range(CALLERS)]
    await asyncio.wait(tasks)


async def _anyio_group(caller: Callable[[], Awaitable[None]]) -> None:
    async with anyio.create_task_group() as group:
        for _ in range(CALLERS):
            group.start_soon(caller)


async def _herd(
    emulator: Emulator, spawn: Callable[[Callable[[], Awaitable[None]]], Awaitable[None]]
) -> dict[str, float]:
    emulator.reset()
    pool = emulator.provision()
    clock = FakeClock()
    async with SessionManager(pool.config(identity_pool_id=None), clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password)
        await manager.fetch_auth_session()
        before = emulator.front.calls["InitiateAuth"]
        # The one refresh the flight runs (a private seam: the benchmark's own probe).
        refresh: list[float] = []
        manager._core.refresh = _stamped(manager._core.refresh, refresh)  # type: ignore[method-assign]
        started: list[float] = []
        answered: list[float] = []

        async def caller() -> None:
            started.append(time.perf_counter())
            await manager.fetch_auth_session()
            answered.append(time.perf_counter())

        with _collector_off():
            clock.advance(3600)  # expired: every caller must wait for the refresh
            start = time.perf_counter()
            await spawn(caller)
        calls = emulator.front.calls["InitiateAuth"] - before
    refresh_began, refresh_answered = refresh
    return {
        "refresh_calls": float(calls),
        "answered": float(len(answered)),
        "tasks_started_ms": (max(started) - start) * MS,
        "refresh_trip_ms": (refresh_answered - refresh_began) * MS,
        "wake_up_ms": (max(answered) - refresh_answered) * MS,
        "first_to_last_ms": (max(answered) - start) * MS,
    }


async def _floor(
    spawn: Callable[[Callable[[], Awaitable[None]]], Awaitable[None]],
) -> dict[str, float]:
    """As many tasks, spawned the same way, woken by one ``asyncio.Event``: nothing else."""
    event = asyncio.Event()
    answered: list[float] = []
    woken: list[float] = []

    async def caller() -> None:
        await event.wait()
        answered.append(time.perf_counter())

    async def callers_then_set() -> None:
        async def wake() -> None:
            await asyncio.sleep(0.05)  # every task is waiting
            woken.append(time.perf_counter())
            event.set()

        await asyncio.gather(spawn(caller), wake())

    with _collector_off():
        await callers_then_set()
    return {"answered": float(len(answered)), "wake_up_ms": (max(answered) - woken[0]) * MS}


async def measure(emulator: Emulator) -> dict[str, dict[str, float]]:
    # Each herd against the floor of its own kind of task, measured in the same run.
    asyncio_floor, anyio_floor = await _floor(_asyncio_tasks), await _floor(_anyio_group)
    rows = {
        f"{CALLERS} callers at expiry": await _herd(emulator, _asyncio_tasks),
        f"floor: {CALLERS} tasks, one Event": asyncio_floor,
        f"{CALLERS} callers, anyio group": await _herd(emulator, _anyio_group),
        f"floor: {CALLERS} in an anyio group": anyio_floor,
    }
    floors = [asyncio_floor, asyncio_floor, anyio_floor, anyio_floor]
    for row, floor in zip(rows.values(), floors, strict=True):
        row["wake_x_floor"] = row["wake_up_ms"] / floor["wake_up_ms"]
    return rows
