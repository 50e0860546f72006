"""The herd: 10,000 callers at the moment the tokens expire.

The time from the first call to the last answer mixes three things, reported
apart: starting the callers' tasks, the refresh's round trip to Cognito, and
the wake-up, from the refresh's answer (stamped as the refresh operation
returns, just before the flight hands its result to the waiters) to the last
caller's answer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from amplify_session import SessionManager
from amplify_session.emulator import Emulator
from amplify_session.testing import FakeClock

CALLERS = 10_000


def _stamped(operation: Callable[..., Awaitable[Any]], stamps: list[float]) -> Any:
    """``operation``, noting when each call begins and when it returns."""

    async def run(*args: Any, **kwargs: Any) -> Any:
        stamps.append(time.perf_counter())
        try:
            return await operation(*args, **kwargs)
        finally:
            stamps.append(time.perf_counter())

    return run


async def measure(emulator: Emulator) -> dict[str, dict[str, float]]:
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
        clock.advance(3600)  # expired: every caller must wait for the refresh
        started: list[float] = []
        answered: list[float] = []

        async def caller() -> None:
            started.append(time.perf_counter())
            await manager.fetch_auth_session()
            answered.append(time.perf_counter())

        start = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(CALLERS):
                group.start_soon(caller)
        calls = emulator.front.calls["InitiateAuth"] - before
    refresh_began, refresh_answered = refresh
    ms = 1000
    return {
        f"{CALLERS} callers at expiry": {
            "refresh_calls": float(calls),
            "answered": float(len(answered)),
            "tasks_started_ms": (max(started) - start) * ms,
            "refresh_trip_ms": (refresh_answered - refresh_began) * ms,
            "wake_up_ms": (max(answered) - refresh_answered) * ms,
            "first_to_last_ms": (max(answered) - start) * ms,
        }
    }
