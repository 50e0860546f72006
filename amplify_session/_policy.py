"""Pure refresh timing: clock drift and expiry decisions. No I/O here.

All times are seconds on the local wall clock unless named ``server_*``.
``drift`` is ``server_now - local_now``, measured as ``iat - local_now``
when a token arrives (a token is issued "now" in server time).
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = [
    "Clock",
    "SystemClock",
    "clock_drift",
    "local_deadline",
]


class Clock(Protocol):
    """The wall clock, as seconds since the epoch (a seam for tests)."""

    def time(self) -> float:
        """Return the current time."""
        ...


class SystemClock:
    """The real wall clock."""

    def time(self) -> float:
        """Return ``time.time()``."""
        return time.time()


def clock_drift(issued_at: float, local_now: float) -> float:
    """Return how far the server's clock is ahead of ours, in seconds."""
    return issued_at - local_now


def local_deadline(server_expiry: float, *, drift: float, tolerance: float) -> float:
    """Return the local time after which a server-time expiry counts as expired.

    A token whose ``exp`` is ``server_expiry`` is treated as expired
    ``tolerance`` seconds early, so that it is never sent about to lapse.
    """
    return server_expiry - drift - tolerance
