"""Cached fetch_auth_session against the floor (awaiting a coroutine that returns a cached object).

Prints a table and writes benchmarks/results.json. Times are noisy on shared
machines; the ratio to the floor, measured in the same run, is the figure.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from amplify_session import SessionManager
from amplify_session.testing import Emulator

ROUNDS = 200_000
RESULTS = Path(__file__).with_name("results.json")


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


async def _run(emulator: Emulator) -> dict[str, dict[str, float]]:
    pool = emulator.provision()
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow="USER_PASSWORD_AUTH")
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


def main() -> None:
    with Emulator() as emulator:
        results = asyncio.run(_run(emulator))
    print(f"{'case':<22}{'median ns':>12}{'p99 ns':>10}{'x floor':>10}")
    for name, row in results.items():
        print(
            f"{name:<22}{row['median_ns']:>12.0f}{row['p99_ns']:>10.0f}"
            f"{row['ratio_to_floor']:>10.2f}"
        )
    RESULTS.write_text(json.dumps({"cached_fetch": results}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
