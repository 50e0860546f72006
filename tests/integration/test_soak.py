"""Soak: 1,000 concurrent callers across many refresh cycles, with 10% of Cognito calls
faulted at random. The short version runs in CI; ``AMPLIFY_SESSION_SOAK_CYCLES=200``
makes it long."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import time
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from amplify_session import AuthError, EventName, SessionManager
from amplify_session.emulator import Emulator
from tests.support.retry import fast_retry
from tests.support.waiting import until

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]
CYCLES = int(os.environ.get("AMPLIFY_SESSION_SOAK_CYCLES", "20"))
CALLERS = 1_000
FAULTS = (500, 503, 429, "TooManyRequestsException", "reset", "stall")


def _open_files() -> tuple[int, int]:
    """(file descriptors, sockets) of this process."""
    fds = os.listdir("/proc/self/fd")
    sockets = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return len(fds), sockets


def _resident_kib() -> int:
    """This process's resident memory (VmRSS), after a collection."""
    gc.collect()
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


async def test_soak(amplify_emulator: Emulator) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(token_validity=timedelta(seconds=3))
    config = pool.config(
        identity_pool_id=None, expiry_tolerance=0.3, retry=fast_retry(3), request_timeout=1.0
    )
    expired, errors, served = 0, 0, 0
    async with SessionManager(config) as manager:
        await manager.sign_in(pool.username, pool.password)
        refreshes: list[float] = []
        manager.subscribe(lambda e: refreshes.append(time.time()), events={EventName.TOKEN_REFRESH})
        sign_in_calls = amplify_emulator.front.calls["InitiateAuth"]
        tasks_before, (fds_before, sockets_before) = len(asyncio.all_tasks()), _open_files()
        amplify_emulator.front.chaos(0.1, FAULTS, operations=("InitiateAuth",), seed=11)
        rng = random.Random(5)
        memory: list[int] = []

        async def run_callers_until(refreshes_wanted: int, limit: float) -> None:
            stop = anyio.Event()

            async def caller() -> None:
                nonlocal expired, errors, served
                while not stop.is_set():
                    try:
                        session = await manager.fetch_auth_session()
                    except AuthError:
                        errors += 1  # a transient failure while a token had expired
                    else:
                        served += 1
                        assert session.tokens is not None
                        if session.tokens.access_token.payload["exp"] <= time.time():
                            expired += 1
                    await anyio.sleep(rng.uniform(0.005, 0.05))

            async with anyio.create_task_group() as group:
                for _ in range(CALLERS):
                    group.start_soon(caller)
                await until(lambda: len(refreshes) >= refreshes_wanted, limit=limit)
                stop.set()

        # Memory is compared between two quiet moments (no caller in flight):
        # after a warm-up, and at the end. The emulator lives in this process
        # too, and keeps every token it issued: its growth counts against us.
        await run_callers_until(3, limit=60)
        memory.append(_resident_kib())
        await run_callers_until(CYCLES, limit=CYCLES * 10 + 60)
        memory.append(_resident_kib())
        amplify_emulator.front.clear_faults()
        await anyio.sleep(0.5)  # let sockets of faulted calls close
        tasks_after, (fds_after, sockets_after) = len(asyncio.all_tasks()), _open_files()
        calls = amplify_emulator.front.calls["InitiateAuth"] - sign_in_calls
        faulted = amplify_emulator.front.injected["InitiateAuth"]
    growth = (memory[1] - memory[0]) / memory[0]
    print(
        f"soak: {CALLERS} callers, {len(refreshes)} refresh cycles, {served} sessions served, "
        f"{calls} refresh calls = {len(refreshes)} refreshes + {faulted} faulted, "
        f"{errors} transient errors, {expired} expired; tasks {tasks_before}->{tasks_after}, "
        f"fds {fds_before}->{fds_after}, sockets {sockets_before}->{sockets_after}, "
        f"resident memory {memory[0]} -> {memory[1]} KiB ({growth:+.1%})"
    )
    assert expired == 0
    assert calls == len(refreshes) + faulted  # every call was a refresh or a retried fault
    assert tasks_after <= tasks_before
    assert fds_after <= fds_before
    assert sockets_after <= sockets_before
    assert growth < 0.05
