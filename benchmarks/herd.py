"""The herd: 10,000 callers at the moment the tokens expire."""

from __future__ import annotations

import time

import anyio

from amplify_session import SessionManager
from amplify_session.emulator import Emulator
from amplify_session.testing import FakeClock

CALLERS = 10_000


async def measure(emulator: Emulator) -> dict[str, dict[str, float]]:
    emulator.reset()
    pool = emulator.provision()
    clock = FakeClock()
    async with SessionManager(pool.config(identity_pool_id=None), clock=clock) as manager:
        await manager.sign_in(pool.username, pool.password)
        await manager.fetch_auth_session()
        before = emulator.front.calls["InitiateAuth"]
        clock.advance(3600)  # expired: every caller must wait for the refresh
        answered: list[float] = []

        async def caller() -> None:
            await manager.fetch_auth_session()
            answered.append(time.perf_counter())

        start = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(CALLERS):
                group.start_soon(caller)
        calls = emulator.front.calls["InitiateAuth"] - before
    return {
        f"{CALLERS} callers at expiry": {
            "refresh_calls": float(calls),
            "first_to_last_ms": (max(answered) - start) * 1000,
        }
    }
