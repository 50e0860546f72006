"""Bounded waits for what happens on other tasks (a hang fails the test, never a timer)."""

from __future__ import annotations

from collections.abc import Callable

import anyio


async def until(condition: Callable[[], object], *, limit: float = 5.0) -> None:
    """Return once ``condition()`` is true; fail after ``limit`` seconds."""
    with anyio.fail_after(limit):
        while not condition():
            await anyio.sleep(0.01)
