"""A fake wall clock for tests."""

from __future__ import annotations

import time

__all__ = ["FakeClock"]


class FakeClock:
    """A wall clock that moves only when told; pass it as ``SessionManager(clock=...)``."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now})"

    def time(self) -> float:
        """Return the fake current time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self._now += seconds
