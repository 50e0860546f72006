import time

import pytest

from amplify_session._timing import SystemClock, clock_drift, local_deadline


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
