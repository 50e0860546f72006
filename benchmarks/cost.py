"""What the library costs: import time, and memory and tasks per manager."""

from __future__ import annotations

import asyncio
import gc
import re
import statistics
import subprocess
import sys
import tracemalloc
from contextlib import AsyncExitStack

from amplify_session import MemoryStorage, SessionManager
from amplify_session.emulator import Emulator

MANAGERS = 1_000


def _import_ms(module: str) -> float:
    """Median over 5 fresh interpreters of ``module``'s cumulative import time."""
    runs = []
    for _ in range(5):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        pattern = rf"^import time:\s+\d+ \|\s+(\d+) \| {re.escape(module)}$"
        runs.append(int(re.search(pattern, err, re.MULTILINE).group(1)) / 1000)  # type: ignore[union-attr]
    return statistics.median(runs)


async def _managers(emulator: Emulator) -> dict[str, dict[str, float]]:
    pool = emulator.provision()
    config = pool.config(identity_pool_id=None)
    signed_in = MemoryStorage()
    async with SessionManager(config, storage=signed_in) as first:
        await first.sign_in(pool.username, pool.password)
    items = dict(signed_in._items)

    async def open_managers(count: int, stack: AsyncExitStack) -> None:
        for _ in range(count):
            storage = MemoryStorage()
            await storage.update_items(items)
            manager = await stack.enter_async_context(SessionManager(config, storage=storage))
            await manager.fetch_auth_session()

    rows = {}
    for count in (1, MANAGERS):
        gc.collect()
        tasks_before = len(asyncio.all_tasks())
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        async with AsyncExitStack() as stack:
            await open_managers(count, stack)
            await asyncio.sleep(0.1)
            gc.collect()
            after = tracemalloc.take_snapshot()
            tasks = len(asyncio.all_tasks()) - tasks_before
        tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        rows[f"{count} open manager(s) with a session"] = {
            "kib_total": grown / 1024,
            "kib_each": grown / 1024 / count,
            "tasks_each": tasks / count,
        }
    return rows


async def measure(emulator: Emulator) -> dict[str, dict[str, float]]:
    ours, aiohttp = _import_ms("amplify_session"), _import_ms("aiohttp")
    rows = {
        "import amplify_session": {"ms": ours, "x_aiohttp": ours / aiohttp},
        "import aiohttp": {"ms": aiohttp, "x_aiohttp": 1.0},
    }
    return {**rows, **await _managers(emulator)}
