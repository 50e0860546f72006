"""FakeClock: sleepers wake when advance() passes their deadline, and only then."""

from __future__ import annotations

import anyio
import pytest

from amplify_session.testing import FakeClock

pytestmark = pytest.mark.anyio


async def test_each_sleeper_wakes_once_time_passes_its_deadline() -> None:
    clock = FakeClock(start=0.0)
    start = clock.monotonic()
    woke: list[float] = []

    async def sleeper(after: float) -> None:
        await clock.sleep_until(start + after)
        woke.append(after)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            for after in (30.0, 10.0, 20.0):
                group.start_soon(sleeper, after)
            await anyio.wait_all_tasks_blocked()
            clock.advance(15)
            await anyio.wait_all_tasks_blocked()
            assert woke == [10.0]
            clock.advance(15)
    assert sorted(woke) == [10.0, 20.0, 30.0]


async def test_a_cancelled_sleeper_is_skipped_and_the_others_still_wake() -> None:
    clock = FakeClock(start=0.0)
    woke: list[str] = []

    async def sleeper(name: str) -> None:
        await clock.sleep_until(clock.monotonic() + 10)
        woke.append(name)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            with anyio.CancelScope() as doomed:
                group.start_soon(sleeper, "kept")
                await anyio.wait_all_tasks_blocked()
                doomed.cancel()
                await sleeper("cancelled")
            clock.advance(10)  # the cancelled sleeper's wake-up is done: not set again
    assert woke == ["kept"]


async def test_a_wall_clock_step_wakes_nobody() -> None:
    clock = FakeClock(start=0.0)
    woke: list[bool] = []

    async def sleeper() -> None:
        await clock.sleep_until(clock.monotonic() + 10)
        woke.append(True)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(sleeper)
            await anyio.wait_all_tasks_blocked()
            clock.step(3600)
            await anyio.wait_all_tasks_blocked()
            assert woke == []
            clock.advance(10)
    assert woke == [True]
