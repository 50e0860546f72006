"""Many users' sessions stored ahead of a test or a benchmark, each with a refresh token of its own.

One real sign-in gives the stored layout and the access and id tokens; each
session then gets a refresh token moto issues for the user directly (no
sign-in round trip), so 10,000 stored sessions take seconds to make, and
each one's refresh is a REFRESH_TOKEN_AUTH call of its own.
"""

from __future__ import annotations

from amplify_session import AuthConfig, SessionManager
from amplify_session.emulator import EmulatedPool
from amplify_session.emulator._moto_backend import new_refresh_token, pool_by_id
from amplify_session.storage import MemoryStorage

__all__ = ["memory_storages", "stored_sessions"]


async def stored_sessions(
    pool: EmulatedPool, config: AuthConfig, count: int
) -> list[dict[str, str]]:
    """The storage items of ``count`` signed-in sessions of the pool's user (one per user slot)."""
    template = MemoryStorage()
    async with SessionManager(config, storage=template) as manager:
        await manager.sign_in(pool.username, pool.password)
    items = dict(template._items)  # a test's view of what was stored
    refresh_key = next(key for key in items if key.endswith(".refreshToken"))
    moto_pool = pool_by_id(pool.user_pool_id)
    return [
        {**items, refresh_key: new_refresh_token(moto_pool, pool.client_id, pool.username)}
        for _ in range(count)
    ]


async def memory_storages(items: list[dict[str, str]]) -> list[MemoryStorage]:
    """A MemoryStorage holding each session."""
    storages = []
    for session in items:
        storage = MemoryStorage()
        for key, value in session.items():
            await storage.set_item(key, value)
        storages.append(storage)
    return storages
