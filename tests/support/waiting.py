"""Bounded waits for what happens on other tasks (a hang fails the test, never a timer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import anyio

from amplify_session import EventName, SessionEvent


async def until(condition: Callable[[], object], *, limit: float = 5.0) -> None:
    """Return once ``condition()`` is true; fail after ``limit`` seconds."""
    with anyio.fail_after(limit):
        while not condition():
            await anyio.sleep(0.01)


async def next_event(
    events: AsyncIterator[SessionEvent], name: EventName, *, limit: float = 10.0
) -> SessionEvent:
    """The next event called ``name`` (a bounded wait: a hang fails the test)."""
    with anyio.fail_after(limit):
        async for event in events:
            if event.name is name:
                return event
    raise AssertionError(f"no {name} event")
