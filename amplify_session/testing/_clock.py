"""A fake clock for tests: a wall clock and a monotonic clock that move only when told."""

from __future__ import annotations

import asyncio
import time

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that moves only when told; pass it as ``SessionManager(clock=...)``.

    It has two faces, like the real one: the wall clock (:meth:`time`, which
    an NTP step can move either way) and the monotonic clock
    (:meth:`monotonic`, which only goes forward). :meth:`advance` moves both;
    :meth:`step` moves the wall clock alone. Background refreshes sleep on
    the monotonic clock and run when :meth:`advance` passes their time, so
    tests can cross an hour-long token lifetime in no time. Call ``advance``
    and ``step`` from the event loop's thread.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._elapsed = 1_000.0  # the monotonic clock's origin is arbitrary
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now}, monotonic={self._elapsed})"

    def time(self) -> float:
        """Return the fake wall-clock time (seconds since the epoch)."""
        return self._now

    def monotonic(self) -> float:
        """Return the fake monotonic time."""
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (both clocks move) and wake whoever's time has come."""
        if seconds < 0:
            raise ValueError("time does not run backwards; use step() for a wall-clock step")
        self._now += seconds
        self._elapsed += seconds
        due = [wake for deadline, wake in self._sleepers if deadline <= self._elapsed]
        self._sleepers = [(d, w) for d, w in self._sleepers if d > self._elapsed]
        for wake in due:
            if not wake.done():  # its sleeper was cancelled
                wake.set_result(None)

    def step(self, seconds: float) -> None:
        """Step the wall clock alone by ``seconds`` (either way), as NTP or an admin does."""
        self._now += seconds

    async def sleep_until(self, deadline: float) -> None:
        """Return once the fake monotonic time reaches ``deadline``."""
        while self._elapsed < deadline:
            # A bare future (a tenth of an event's size): a benchmark holding ten
            # thousand sleeping sessions measures them, not this clock.
            wake = asyncio.get_running_loop().create_future()
            self._sleepers.append((deadline, wake))
            await wake
