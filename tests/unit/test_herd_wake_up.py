"""Waking the herd: once a refresh's result is set, every waiter answers in that one
pass of the event loop, with no further await that yields (the herd benchmark's
wake-up). Asyncio only: the pass is the loop's, seen through its callback queue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from amplify_session import SessionManager
from amplify_session._flight import SingleFlight
from amplify_session.testing import FakeClock, FakeCognito

pytestmark = pytest.mark.anyio

WAITERS = 200


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def after_the_next_pass(check: Callable[[], None]) -> None:
    """Run ``check`` after everything scheduled from now on until the next pass has run.

    Called just before a flight's result is set: the waiters' wake-ups are
    queued behind the first hop, so the second hop runs after all of them.
    """
    loop = asyncio.get_running_loop()
    loop.call_soon(loop.call_soon, check)


class Herd:
    def __init__(self) -> None:
        self.answered = 0
        self.at_the_check: int | None = None

    def count(self) -> None:
        self.at_the_check = self.answered


async def test_a_flight_answers_every_waiter_in_one_pass() -> None:
    flight: SingleFlight[int] = SingleFlight()
    herd, release = Herd(), anyio.Event()

    async def operation() -> int:
        await release.wait()
        after_the_next_pass(herd.count)
        return 7

    async def waiter(group: anyio.abc.TaskGroup) -> None:
        assert await flight.run(operation, task_group=lambda: group) == 7
        herd.answered += 1

    async with anyio.create_task_group() as group:
        for _ in range(WAITERS):
            group.start_soon(waiter, group)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert herd.at_the_check == WAITERS


async def test_a_refresh_answers_every_caller_in_one_pass() -> None:
    clock = FakeClock()
    fake = FakeCognito(clock=clock)
    fake.add_user("alice", "Passw0rd!")
    herd, release = Herd(), anyio.Event()
    async with SessionManager(
        fake.config(identity_pool_id=None), transport=fake, clock=clock
    ) as manager:
        await manager.sign_in("alice", "Passw0rd!")
        refresh = manager._core.refresh

        async def held_refresh(*args: Any, **kwargs: Any) -> Any:
            await release.wait()
            answer = await refresh(*args, **kwargs)
            after_the_next_pass(herd.count)
            return answer

        manager._core.refresh = held_refresh  # type: ignore[method-assign]

        async def caller() -> None:
            session = await manager.fetch_auth_session()
            assert session.tokens is not None
            herd.answered += 1

        clock.advance(3600)  # expired: every caller waits for the one refresh
        async with anyio.create_task_group() as group:
            for _ in range(WAITERS):
                group.start_soon(caller)
            await anyio.wait_all_tasks_blocked()
            release.set()
        assert fake.refreshes == 1
    assert herd.at_the_check == WAITERS
