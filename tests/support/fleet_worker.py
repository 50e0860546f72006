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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from amplify_session import AuthConfig, AuthError, FileStorage, RetryPolicy, SessionManager
from amplify_session.storage.redis import RedisStorage


def _hang_while_holding_the_lock(storage: RedisStorage, marker: Path) -> None:
    """Simulate a process that dies mid-refresh: it takes the lock and never lets go."""
    take = storage.lock

    @asynccontextmanager
    async def lock(name: str, *, wait: float) -> AsyncIterator[bool]:
        async with take(name, wait=wait) as held:
            if held:
                marker.write_text("holding")
                await asyncio.sleep(3600)
            yield held

    storage.lock = lock  # type: ignore[method-assign]


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
    if settings.get("hold_lock_marker") and isinstance(storage, RedisStorage):
        _hang_while_holding_the_lock(storage, Path(settings["hold_lock_marker"]))
    seen: list[tuple[float, str]] = []
    expired, errors = 0, []
    async with SessionManager(config, storage=storage) as manager:
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
    result = asyncio.run(run(settings))
    Path(settings["out"]).write_text(json.dumps(result))
