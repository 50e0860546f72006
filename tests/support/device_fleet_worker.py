"""Another process of a fleet on Redis: it refreshes the shared session (sending the device
another process confirmed), signs out, and signs in again with the password alone.

Usage: python -m tests.support.device_fleet_worker '<json settings>'; prints a JSON report.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio

from amplify_session import AuthConfig, SessionManager
from amplify_session.storage.redis import RedisStorage


async def main(settings: dict[str, Any]) -> dict[str, Any]:
    storage = RedisStorage.from_url(settings["redis_url"])
    try:
        async with SessionManager(AuthConfig(**settings["config"]), storage=storage) as manager:
            session = await manager.fetch_auth_session(force_refresh=True)
            await manager.sign_out()
            result = await manager.sign_in(settings["username"], settings["password"])
    finally:
        await storage.aclose()
    return {"refreshed": session.tokens is not None, "signed_in_again": result.is_signed_in}


if __name__ == "__main__":
    print(json.dumps(anyio.run(main, json.loads(sys.argv[1]))))
