from amplify_session._policy import SystemClock, clock_drift, local_deadline


def test_drift_is_server_minus_local() -> None:
    assert clock_drift(issued_at=1_000, local_now=990) == 10
    assert clock_drift(issued_at=1_000, local_now=1_030) == -30


def test_deadline_moves_with_drift_and_tolerance() -> None:
    # Server is 10 s ahead: a token expiring at server 2000 expires at local 1990.
    assert local_deadline(2_000, drift=10, tolerance=0) == 1_990
    assert local_deadline(2_000, drift=10, tolerance=5) == 1_985
    assert local_deadline(2_000, drift=-20, tolerance=5) == 2_015


def test_system_clock_moves() -> None:
    clock = SystemClock()
    assert clock.time() > 1_600_000_000
