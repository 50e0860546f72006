"""Pure refresh timing: clock drift, refresh schedules, phases, backoff. No I/O here.

All times are seconds on the local wall clock unless named ``server_*``.
``drift`` is ``server_now - local_now``, measured as ``iat - local_now``
when a token arrives (a token is issued "now" in server time).

A credential (tokens, or AWS credentials) that expires at local time ``E``
and lived ``L`` seconds is:

- FRESH until ``refresh_at = E - min(refresh_window, L / 2) - jitter``,
- STALE from then until ``expire_at = E - expiry_tolerance``: still served,
  while a background refresh replaces it,
- EXPIRED after: never served; callers wait for a refresh.
"""

from __future__ import annotations

import enum
import math
import random
import time
from typing import Protocol

import anyio
import attrs

__all__ = [
    "Backoff",
    "Clock",
    "Phase",
    "Schedule",
    "SystemClock",
    "clock_drift",
    "local_deadline",
    "phase",
    "schedule",
]

#: The share of the refresh lead time drawn at random, so a fleet spreads out.
JITTER_FRACTION = 0.1


class Clock(Protocol):
    """The wall clock (a seam for tests: see ``amplify_session.testing.FakeClock``)."""

    def time(self) -> float:
        """Return the current time, seconds since the epoch."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``time()`` has reached ``deadline``."""
        ...


class SystemClock:
    """The real wall clock."""

    def time(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the wall clock reaches ``deadline`` (re-checked: clocks jump)."""
        # Re-checked in steps of at most a minute: the wall clock can jump.
        while (remaining := deadline - time.time()) > 0:  # noqa: ASYNC110
            await anyio.sleep(min(remaining, 60.0))


def clock_drift(issued_at: float, local_now: float) -> float:
    """Return how far the server's clock is ahead of ours, in seconds."""
    return issued_at - local_now


def local_deadline(server_expiry: float, *, drift: float, tolerance: float) -> float:
    """Return the local time after which a server-time expiry counts as expired.

    A token whose ``exp`` is ``server_expiry`` is treated as expired
    ``tolerance`` seconds early, so that it is never sent about to lapse.
    """
    return server_expiry - drift - tolerance


@attrs.frozen
class Schedule:
    """When to refresh a credential, and when it stops being usable (local times)."""

    refresh_at: float
    expire_at: float

    @classmethod
    def never(cls) -> Schedule:
        """For what does not expire (or does not exist)."""
        return cls(math.inf, math.inf)

    def earliest(self, other: Schedule) -> Schedule:
        """The schedule of a session holding both."""
        return Schedule(
            min(self.refresh_at, other.refresh_at), min(self.expire_at, other.expire_at)
        )


def schedule(
    *,
    expires_at: float,
    lifetime: float,
    refresh_window: float,
    tolerance: float,
    rng: random.Random | None = None,
) -> Schedule:
    """The refresh schedule of one credential.

    Args:
        expires_at: Local time of its expiry (drift already applied).
        lifetime: How long it was issued for.
        refresh_window: Refresh at most this long before expiry...
        tolerance: ...and treat it as expired this long before expiry.
        rng: Source of jitter; None for none (tests).
    """
    expire_at = expires_at - tolerance
    lead = min(refresh_window, max(lifetime, 0.0) / 2)
    jitter = rng.uniform(0, lead * JITTER_FRACTION) if rng is not None else 0.0
    return Schedule(refresh_at=min(expires_at - lead - jitter, expire_at), expire_at=expire_at)


class Phase(enum.Enum):
    """Where a credential is in its life."""

    FRESH = "fresh"
    STALE = "stale"
    EXPIRED = "expired"


def phase(now: float, when: Schedule) -> Phase:
    """The phase of a credential with schedule ``when`` at local time ``now``."""
    if now < when.refresh_at:
        return Phase.FRESH
    if now < when.expire_at:
        return Phase.STALE
    return Phase.EXPIRED


@attrs.define
class Backoff:
    """Exponential backoff with full jitter for failed background refreshes.

    The n-th consecutive failure waits a random time in ``[base/2, base]``
    where ``base = min(initial * 2**n, maximum)``: never a tight loop, never
    longer than ``maximum``.
    """

    initial: float = 1.0
    maximum: float = 60.0
    rng: random.Random = attrs.field(factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        """Record a failure and return how long to wait before the next try."""
        base = min(self.initial * 2**self.failures, self.maximum)
        self.failures += 1
        return self.rng.uniform(base / 2, base)

    def reset(self) -> None:
        """Record a success."""
        self.failures = 0
