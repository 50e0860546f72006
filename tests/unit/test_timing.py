import collections
import random
import time

import pytest

from amplify_session._timing import (
    JITTER_FRACTION,
    SystemClock,
    clock_drift,
    local_deadline,
    schedule,
)


def test_drift_is_server_minus_local() -> None:
    assert clock_drift(issued_at=1_000, local_now=990) == 10
    assert clock_drift(issued_at=1_000, local_now=1_030) == -30


def test_deadline_counts_down_the_server_time_left_on_the_monotonic_clock() -> None:
    # The server says 1000 and the token expires at server 2000: 1000 s left.
    assert local_deadline(2_000, server_now=1_000, local_now=50, tolerance=0) == 1_050
    assert local_deadline(2_000, server_now=1_000, local_now=50, tolerance=5) == 1_045
    assert local_deadline(2_000, server_now=2_010, local_now=50, tolerance=5) == 35


def test_system_clock_moves() -> None:
    clock = SystemClock()
    assert clock.time() > 1_600_000_000
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_a_wall_clock_step_does_not_move_the_monotonic_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = SystemClock()
    before = clock.monotonic()
    monkeypatch.setattr(time, "time", lambda: 0.0)
    assert clock.time() == 0.0 or time.time() == 0.0
    assert clock.monotonic() - before < 3600


def test_sessions_signed_in_together_spread_their_refreshes() -> None:
    """10,000 sessions with the same expiry (signed in at the same moment) come due over
    their jitter span, not at once: no second of it holds twice its share."""
    rng = random.Random(19)
    sessions = 10_000
    expiry, window = 3600.0, 300.0
    refresh_at = [
        schedule(
            expires_at=expiry, lifetime=3600.0, refresh_window=window, tolerance=5.0, rng=rng
        ).refresh_at
        for _ in range(sessions)
    ]
    span = window * JITTER_FRACTION
    assert min(refresh_at) >= expiry - window - span
    assert max(refresh_at) <= expiry - window
    seconds = collections.Counter(int(expiry - window - at) for at in refresh_at)
    assert len(seconds) == int(span)  # every second of the span has some
    assert max(seconds.values()) < 2 * sessions / span
