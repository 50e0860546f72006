"""Pure refresh timing: clock drift, refresh schedules, phases, backoff. No I/O here.

Deadlines are seconds on the local **monotonic** clock (``Clock.monotonic``):
a wall-clock step (NTP, an admin, a VM resumed) moves neither a deadline nor
the time it is compared with, so it can neither make an expired token look
valid nor make a valid one look expired. The wall clock serves only to
translate the server's times (``exp``, ``Expiration``) into how many seconds
remain, once, when a credential arrives or is read from storage: ``drift``
is ``server_now - local_wall_now``, measured as ``iat - local_wall_now``
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
import functools
import math
import random
import time
from collections.abc import Callable
from typing import Final, Protocol

import anyio
import attrs

__all__ = [
    "JITTER",
    "IAT_RESOLUTION",
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

#: The source of every jitter (refresh times, backoff): one per process. A
#: ``random.Random`` holds 2.5 KiB of state, as much as the rest of an idle
#: session's schedule; 10,000 sessions need no 10,000 of them.
JITTER: Final = random.Random()  # noqa: S311 (jitter, not secrets)

#: The share of the refresh lead time drawn at random, so a fleet spreads out.
JITTER_FRACTION = 0.1

#: ``iat`` has whole seconds: a time read off it can be up to this much early.
IAT_RESOLUTION = 1.0


class Clock(Protocol):
    """The clocks (a seam for tests: see ``amplify_session.testing.FakeClock``)."""

    def time(self) -> float:
        """Return the wall-clock time, seconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Return a time that only moves forward, in seconds from an arbitrary origin."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``monotonic()`` has reached ``deadline``."""
        ...


# CLOCK_BOOTTIME keeps counting while the machine is suspended, where
# CLOCK_MONOTONIC stops: a laptop or VM that slept through a token's expiry
# must see it expired. Neither moves when the wall clock is stepped.
# A partial, not a def: the fast path reads this clock, and a C call is cheaper.
_MONOTONIC: Final[Callable[[], float]] = (
    functools.partial(time.clock_gettime, time.CLOCK_BOOTTIME)
    if hasattr(time, "CLOCK_BOOTTIME")
    else time.monotonic
)


class SystemClock:
    """The real clocks: ``time.time`` and CLOCK_BOOTTIME (``time.monotonic`` elsewhere)."""

    time = staticmethod(time.time)
    monotonic = staticmethod(_MONOTONIC)

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until ``monotonic()`` reaches ``deadline``."""
        # Re-checked in steps of at most a minute: the event loop sleeps on
        # CLOCK_MONOTONIC, which stands still while the machine is suspended.
        while (remaining := deadline - self.monotonic()) > 0:  # noqa: ASYNC110
            await anyio.sleep(min(remaining, 60.0))


def clock_drift(issued_at: float, local_now: float) -> float:
    """Return how far the server's clock is ahead of ours, in seconds."""
    return issued_at - local_now


def local_deadline(
    server_expiry: float, *, server_now: float, local_now: float, tolerance: float
) -> float:
    """Return the local (monotonic) time after which a server-time expiry counts as expired.

    Args:
        server_expiry: The expiry in the server's time (``exp``, ``Expiration``).
        server_now: The server's time now (the local wall clock plus drift).
        local_now: The monotonic clock now.
        tolerance: Seconds early: a credential is never sent about to lapse.
    """
    return local_now + (server_expiry - server_now) - tolerance


@attrs.frozen
class Schedule:
    """When to refresh a credential, and when it stops being usable (local times)."""

    refresh_at: float
    expire_at: float

    @classmethod
    def never(cls) -> Schedule:
        """For what does not expire (or does not exist)."""
        return cls(math.inf, math.inf)

    def serves(self, now: float, refreshing: bool) -> bool:
        """The one freshness decision: whether what has this schedule is served at ``now``.

        FRESH is served; STALE only while a background refresh (``refreshing``)
        replaces it; EXPIRED never.
        """
        return now < self.served_until(refreshing)

    def served_until(self, refreshing: bool) -> float:
        """The local time until which it is served (:meth:`serves`): ``refresh_at`` <=
        ``expire_at``, so FRESH alone ends at the first, STALE at the second.

        The fast path keeps this one number, published with the session.
        """
        return self.expire_at if refreshing else self.refresh_at

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
    if when.serves(now, False):
        return Phase.FRESH
    if when.serves(now, True):
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
    rng: random.Random = JITTER
    failures: int = 0

    def next_delay(self) -> float:
        """Record a failure and return how long to wait before the next try."""
        base = min(self.initial * 2**self.failures, self.maximum)
        self.failures += 1
        return self.rng.uniform(base / 2, base)

    def reset(self) -> None:
        """Record a success."""
        self.failures = 0
