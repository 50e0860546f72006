"""A fake wall clock for tests."""

from __future__ import annotations

import time

import anyio

__all__ = ["FakeClock"]


class FakeClock:
    """A wall clock that moves only when told; pass it as ``SessionManager(clock=...)``.

    Background refreshes scheduled on it run when :meth:`advance` passes their
    time, so tests can cross an hour-long token lifetime in no time. Call
    ``advance`` from the event loop's thread.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._sleepers: list[tuple[float, anyio.Event]] = []

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now})"

    def time(self) -> float:
        """Return the fake current time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` and wake whoever's time has come."""
        self._now += seconds
        due = [event for deadline, event in self._sleepers if deadline <= self._now]
        self._sleepers = [(d, e) for d, e in self._sleepers if d > self._now]
        for event in due:
            event.set()

    async def sleep_until(self, deadline: float) -> None:
        """Return once the fake time reaches ``deadline``."""
        while self._now < deadline:
            event = anyio.Event()
            self._sleepers.append((deadline, event))
            await event.wait()
