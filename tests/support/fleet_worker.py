"""One worker process of a fleet sharing a session through Redis (or, as a
baseline, holding a copy of it in a file of its own).

Run by tests as ``python -m tests.support.fleet_worker CONFIG_JSON``: it
restores the session from Redis, fetches it every 20 ms for a while, and
writes what it saw (each new access token with the time it first served it,
any expired token served, any error) as JSON to the output path.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from amplify_session import AuthConfig, AuthError, FileStorage, RetryPolicy, SessionManager
from amplify_session.storage.redis import RedisStorage


async def hold_the_refresh_lock(settings: dict[str, Any]) -> None:
    """A process that dies mid-refresh: it takes the fleet's refresh lock, says so, and
    never lets go (the test SIGKILLs it)."""
    storage = RedisStorage.from_url(settings["redis_url"], lock_ttl=settings["lock_ttl"])
    name = f"refresh:{settings['config']['user_pool_client_id']}"
    async with storage.lock(name, wait=30) as held:
        assert held
        Path(settings["hold_lock_marker"]).write_text("holding")
        await asyncio.sleep(3600)


async def run(settings: dict[str, Any]) -> dict[str, Any]:
    config = AuthConfig(
        **settings["config"],
        retry=RetryPolicy(attempts=2, timeout=5, wait_initial=0.05, wait_max=0.1),
    )
    storage: RedisStorage | FileStorage
    if settings.get("file"):  # a session of its own (the baseline: no coordination)
        storage = FileStorage(settings["file"])
    else:
        storage = RedisStorage.from_url(settings["redis_url"], lock_ttl=settings["lock_ttl"])
    seen: list[tuple[float, str]] = []
    expired, errors = 0, []
    async with SessionManager(config, storage=storage) as manager:
        await manager.fetch_auth_session()
        if settings.get("ready_marker"):
            Path(settings["ready_marker"]).write_text("serving")
        deadline = time.time() + settings["duration"]
        while time.time() < deadline:
            try:
                session = await manager.fetch_auth_session()
            except AuthError as err:
                errors.append(err.name)
            else:
                if session.tokens is not None:
                    claims = session.tokens.access_token.payload
                    if claims["exp"] <= time.time():
                        expired += 1
                    if not seen or seen[-1][1] != claims["jti"]:
                        seen.append((time.time(), claims["jti"]))
            await asyncio.sleep(0.02)
    if isinstance(storage, RedisStorage):
        await storage.aclose()
    return {"seen": seen, "expired": expired, "errors": errors}


if __name__ == "__main__":
    settings = json.loads(sys.argv[1])
    if settings.get("hold_lock_marker"):
        asyncio.run(hold_the_refresh_lock(settings))
    else:
        result = asyncio.run(run(settings))
        Path(settings["out"]).write_text(json.dumps(result))
