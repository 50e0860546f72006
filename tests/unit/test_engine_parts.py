"""Pure parts of the engine: schedules, phases, backoff, single flight, mailboxes, the loop."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel
import pytest

from amplify_session import EventName, NetworkError, SessionEvent
from amplify_session._events import Mailbox
from amplify_session._flight import FlightInterrupted, SingleFlight
from amplify_session._refresh_loop import RefreshLoop
from amplify_session._timing import Backoff, Phase, Schedule, phase, schedule
from amplify_session.testing import FakeClock
from tests.support.waiting import until

pytestmark = pytest.mark.anyio


def test_schedule_refreshes_at_the_window_or_half_the_lifetime() -> None:
    hour = schedule(expires_at=10_000, lifetime=3600, refresh_window=300, tolerance=5)
    assert hour == Schedule(refresh_at=9_700, expire_at=9_995)
    short = schedule(expires_at=10_000, lifetime=90, refresh_window=300, tolerance=5)
    assert short == Schedule(refresh_at=9_955, expire_at=9_995)
    tiny = schedule(expires_at=10_000, lifetime=4, refresh_window=300, tolerance=3)
    assert tiny.refresh_at == 9_997  # never after expire_at


def test_jitter_is_bounded_and_spreads_a_fleet() -> None:
    rng = random.Random(1)
    times = {
        schedule(
            expires_at=10_000, lifetime=3600, refresh_window=300, tolerance=5, rng=rng
        ).refresh_at
        for _ in range(50)
    }
    assert len(times) > 40
    assert all(9_670 <= t <= 9_700 for t in times)


def test_phases() -> None:
    when = Schedule(refresh_at=100, expire_at=200)
    assert phase(99, when) is Phase.FRESH
    assert phase(100, when) is Phase.STALE
    assert phase(199.9, when) is Phase.STALE
    assert phase(200, when) is Phase.EXPIRED
    assert phase(1e12, Schedule.never()) is Phase.FRESH
    assert when.earliest(Schedule(150, 160)) == Schedule(100, 160)


def test_the_one_freshness_decision() -> None:
    # Fresh is served; stale only while a background refresh replaces it; expired never.
    when = Schedule(refresh_at=100, expire_at=200)
    assert [when.serves(t, False) for t in (99, 100, 199, 200)] == [True, False, False, False]
    assert [when.serves(t, True) for t in (99, 100, 199, 200)] == [True, True, True, False]


def test_backoff_grows_is_bounded_and_resets() -> None:
    backoff = Backoff(initial=1, maximum=8, rng=random.Random(2))
    delays = [backoff.next_delay() for _ in range(8)]
    assert 0.5 <= delays[0] <= 1
    assert all(4 <= d <= 8 for d in delays[4:])
    backoff.reset()
    assert backoff.next_delay() <= 1


async def test_single_flight_shares_one_run() -> None:
    flight: SingleFlight[int] = SingleFlight()
    runs = 0
    release = anyio.Event()

    async def operation() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        return runs

    results: list[int] = []
    async with anyio.create_task_group() as group:

        async def caller() -> None:
            results.append(await flight.run(operation, task_group=lambda: group))

        for _ in range(100):
            group.start_soon(caller)
        await until(lambda: flight.in_progress)
        release.set()
    assert results == [1] * 100


async def test_a_forced_run_waits_out_an_unforced_one() -> None:
    flight: SingleFlight[str] = SingleFlight()
    gate = anyio.Event()
    order: list[str] = []

    def operation(kind: str) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            order.append(kind)
            await gate.wait()
            return order[-1]

        return run

    async with anyio.create_task_group() as group:
        plain: list[str] = []
        forced: list[str] = []

        async def run_plain() -> None:
            plain.append(await flight.run(operation("plain"), task_group=lambda: group))

        async def run_forced() -> None:
            forced.append(
                await flight.run(operation("forced"), exclusive=True, task_group=lambda: group)
            )

        group.start_soon(run_plain)
        await until(lambda: order)
        group.start_soon(run_forced)
        group.start_soon(run_forced)
        await anyio.sleep(0.01)
        gate.set()
    assert order == ["plain", "forced"]
    assert plain == ["plain"]
    assert forced == ["forced", "forced"]


async def test_errors_reach_every_waiter_and_a_closing_owner_is_reported() -> None:
    flight: SingleFlight[int] = SingleFlight()

    async def failing() -> int:
        raise NetworkError("down")

    with pytest.raises(NetworkError):
        await flight.run(failing, task_group=lambda: None)

    async def forever() -> int:
        await anyio.sleep_forever()
        return 0

    caught: list[BaseException] = []
    async with anyio.create_task_group() as outer:

        async def waiter(group: anyio.abc.TaskGroup) -> None:
            try:
                await flight.run(forever, task_group=lambda: group)
            except FlightInterrupted as err:
                caught.append(err)

        async with anyio.create_task_group() as owner:
            outer.start_soon(waiter, owner)
            await until(lambda: flight.in_progress)
            owner.cancel_scope.cancel()
    assert len(caught) == 1
    assert "closed" in str(caught[0])


async def test_mailbox_drops_the_oldest_and_filters() -> None:
    box = Mailbox(2, {EventName.TOKEN_REFRESH, EventName.SIGNED_OUT})
    for name in (EventName.TOKEN_REFRESH, EventName.SIGNED_IN, EventName.TOKEN_REFRESH):
        box.put(SessionEvent(name=name))
    box.put(SessionEvent(name=EventName.SIGNED_OUT))
    assert box.dropped == 1
    got = [await box.get(), await box.get()]
    assert [e.name for e in got if e] == [EventName.TOKEN_REFRESH, EventName.SIGNED_OUT]
    box.close()
    assert await box.get() is None


async def test_refresh_loop_runs_when_due_and_backs_off_on_failure() -> None:
    clock = FakeClock(start=1_000)
    due = clock.monotonic() + 100
    outcomes = [False, False, True]
    calls: list[float] = []

    async def refresh() -> bool:
        nonlocal due
        calls.append(clock.monotonic())
        ok = outcomes.pop(0) if outcomes else True
        if ok:
            due = math.inf
        return ok

    loop = RefreshLoop(clock, lambda: due, refresh, Backoff(initial=10, maximum=10))
    async with anyio.create_task_group() as group:
        group.start_soon(loop.run)
        await anyio.sleep(0.05)
        assert calls == []  # not due yet
        clock.advance(100)
        await until(lambda: len(calls) == 1)
        await anyio.sleep(0.05)
        assert len(calls) == 1  # backing off, not looping
        clock.advance(10)
        await until(lambda: len(calls) == 2)
        clock.advance(10)
        await until(lambda: len(calls) == 3)
        due = clock.monotonic() + 50
        loop.wake()
        clock.advance(50)
        await until(lambda: len(calls) == 4)
        group.cancel_scope.cancel()
    start = calls[0] - 100
    assert [c - start for c in calls[:3]] == [100, 110, 120]


@pytest.mark.parametrize("outcome", ["succeeds-but-due-at-once", "fails", "raises-a-bug"])
async def test_the_loop_never_refreshes_faster_than_its_backoff(outcome: str) -> None:
    # Whatever a refresh brings (tokens that are due again at once, a failure,
    # an exception that is not an AuthError), the next one waits out a backoff.
    clock = FakeClock()
    calls: list[float] = []

    async def refresh() -> bool:
        calls.append(clock.monotonic())
        if outcome == "raises-a-bug":
            raise KeyError("a bug")
        return outcome == "succeeds-but-due-at-once"

    backoff = Backoff(initial=1, maximum=8, rng=random.Random(0))
    loop = RefreshLoop(clock, lambda: -math.inf, refresh, backoff)
    async with anyio.create_task_group() as group:
        group.start_soon(loop.run)
        await until(lambda: len(calls) == 1)
        for _ in range(60):  # one simulated minute, in quarter-second steps
            clock.advance(0.25)
            await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()
        group.cancel_scope.cancel()
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(gap >= 0.5 for gap in gaps)
    assert 3 <= len(calls) <= 9  # ~1, 2, 4, 8, 8, 8... seconds apart over 15 s


async def test_a_wall_clock_step_does_not_end_a_backoff() -> None:
    clock = FakeClock()
    calls: list[float] = []

    async def refresh() -> bool:
        calls.append(clock.monotonic())
        return False

    loop = RefreshLoop(clock, lambda: -math.inf, refresh, Backoff(initial=10, maximum=10))
    async with anyio.create_task_group() as group:
        group.start_soon(loop.run)
        await until(lambda: len(calls) == 1)
        clock.step(3600)
        clock.step(-7200)
        await anyio.sleep(0.05)
        assert len(calls) == 1
        clock.advance(10)
        await until(lambda: len(calls) == 2)
        group.cancel_scope.cancel()


async def test_an_aborted_flight_is_run_again_for_its_waiters() -> None:
    flight: SingleFlight[int] = SingleFlight()
    runs = 0

    async def operation() -> int:
        nonlocal runs
        runs += 1
        if runs == 1:
            await anyio.sleep_forever()
        return runs

    results: list[int] = []
    async with anyio.create_task_group() as group:

        async def caller() -> None:
            results.append(await flight.run(operation, task_group=lambda: group))

        group.start_soon(caller)
        await until(lambda: flight.in_progress)
        flight.abort()
    assert results == [2]


async def test_a_flight_for_a_closing_task_group_runs_in_the_caller() -> None:
    flight: SingleFlight[str] = SingleFlight()

    async def operation() -> str:
        return "done"

    async with anyio.create_task_group() as finished:
        pass  # no longer takes tasks: the run happens in the caller, and nothing leaks
    assert await flight.run(operation, exclusive=True, task_group=lambda: finished) == "done"
    assert not flight.in_progress


@pytest.mark.parametrize("name", list(EventName))
def test_an_event_name_prints_as_amplifys_hub_name(name: EventName) -> None:
    assert str(name) == name.value
    assert f"{name}" == name.value
    assert name.value[0].islower()
    assert "." not in str(name)
