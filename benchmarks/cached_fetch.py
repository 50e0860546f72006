"""Cached fetch_auth_session against the floor (awaiting a coroutine that returns a cached object).

Times are noisy on shared machines; the ratio to the floor, measured in the
same run, is the figure.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

from amplify_session import SessionManager
from amplify_session.testing import Emulator

ROUNDS = 200_000


async def _sample(call: Callable[[], Awaitable[object]], rounds: int) -> list[int]:
    timings = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        start = clock()
        await call()
        timings.append(clock() - start)
    return timings


def _summary(timings: list[int]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "median_ns": statistics.median(ordered),
        "p99_ns": ordered[int(len(ordered) * 0.99)],
    }


async def measure(emulator: Emulator) -> dict[str, dict[str, float]]:
    pool = emulator.provision()
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        cached = await manager.fetch_auth_session()

        async def floor() -> object:
            return cached

        results = {}
        for name, call in (("floor", floor), ("fetch_auth_session", manager.fetch_auth_session)):
            await _sample(call, ROUNDS // 10)  # warm up
            results[name] = _summary(await _sample(call, ROUNDS))
    floor_median = results["floor"]["median_ns"]
    for row in results.values():
        row["ratio_to_floor"] = row["median_ns"] / floor_median
    return results
