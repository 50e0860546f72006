"""What the model tests (hypothesis state machines of simulated processes) run on.

A simulated process has an event loop of its own in a thread (anyio's
blocking portal), driven from the test's thread; the machines wait for their
background work to settle before they check, print what they went through,
and replay fixed step lists through the same rules and checks. Each model
keeps its own rules and checks.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from typing import Any, TypeVar

import anyio
import attrs
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, currently_in_test_context, settings
from hypothesis import note as hypothesis_note
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from amplify_session import SessionManager
from amplify_session.testing import FakeClock

__all__ = [
    "HANG_LIMIT",
    "EventLoop",
    "ModelStats",
    "Outcome",
    "SimulatedProcess",
    "Steps",
    "note",
    "outcome_of",
    "prepare",
    "replay",
    "run_model",
    "shutdown_all",
    "wait_until_quiet",
]

T = TypeVar("T")

HANG_LIMIT = 20.0  # seconds a public method may take before it counts as hung
#: A fixed step list: (rule name, its arguments) in order.
Steps = list[tuple[str, dict[str, Any]]]


class EventLoop:
    """An asyncio event loop in a thread of its own, and what was entered in it."""

    def __init__(self) -> None:
        self._portal_cm = start_blocking_portal(backend="asyncio")
        self.portal: BlockingPortal = self._portal_cm.__enter__()
        self._entered: list[AbstractContextManager[Any]] = []

    @contextmanager
    def closing_on_error(self) -> Iterator[None]:
        """Stop the loop if the block fails: its owner never gets to close it."""
        try:
            yield
        except BaseException as exc:
            self._portal_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def enter(self, context: AbstractAsyncContextManager[T]) -> T:
        """Enter ``context`` in the loop; :meth:`close` exits it."""
        wrapped = self.portal.wrap_async_context_manager(context)
        value = wrapped.__enter__()
        self._entered.append(wrapped)
        return value

    def close(self, *, cancel: bool = False) -> None:
        """Exit what was entered (the latest first), then stop the loop.

        ``cancel`` (or an exit that fails): cancel whatever still runs in it
        rather than wait for it.
        """
        try:
            while self._entered:
                self._entered.pop().__exit__(None, None, None)
        except BaseException:
            cancel = True
            raise
        finally:
            if cancel:
                stop = RuntimeError("the model test is shutting down")
                self._portal_cm.__exit__(RuntimeError, stop, None)
            else:
                self._portal_cm.__exit__(None, None, None)


@attrs.frozen
class Outcome:
    """What a public method did: its value or error, and the manager's clock then."""

    value: Any = None
    error: Exception | None = None
    hung: bool = False
    monotonic: float = 0.0  # the manager's fake monotonic clock, where it has one


async def outcome_of(
    call: Callable[[], Awaitable[Any]], *, clock: FakeClock | None = None
) -> Outcome:
    """Await ``call()`` for at most :data:`HANG_LIMIT` s (in the loop); ``clock``: the
    manager's, read when it ends."""
    value: Any = None
    error: Exception | None = None
    with anyio.move_on_after(HANG_LIMIT) as scope:
        try:
            value = await call()
        except Exception as exc:  # the model judges it
            error = exc
    monotonic = clock.monotonic() if clock is not None else 0.0
    return Outcome(value, error, scope.cancelled_caught, monotonic)


class SimulatedProcess:
    """One process: its event loop and a manager ``new_manager`` makes (in the loop).

    ``loop``: an event loop the caller already started things in (its
    process's proxy...); ``clock``: the manager's, read when a call ends.
    """

    def __init__(
        self,
        new_manager: Callable[[], SessionManager],
        *,
        index: int = 0,
        loop: EventLoop | None = None,
        clock: FakeClock | None = None,
    ) -> None:
        self.index, self.clock, self._make_manager = index, clock, new_manager
        self.loop = loop or EventLoop()
        self.portal = self.loop.portal
        with self.loop.closing_on_error():
            self.manager: SessionManager = self.portal.call(new_manager)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.index})"

    def call(self, method: str, *args: Any, **kwargs: Any) -> Outcome:
        """Call a public method of the manager in its event loop."""
        return self.portal.call(self._call, method, args, kwargs)

    async def _call(self, method: str, args: Any, kwargs: Any) -> Outcome:
        return await outcome_of(
            lambda: getattr(self.manager, method)(*args, **kwargs), clock=self.clock
        )

    def restart(self) -> Exception | None:
        """A new process on the same storage: the manager closed (what that raised is
        returned), a new one made."""
        error: Exception | None = None
        try:
            self.portal.call(self.manager.aclose)
        except Exception as exc:  # the model judges it
            error = exc
        self.manager = self.portal.call(self._make_manager)
        return error

    def shutdown(self, *, cancel: bool = False) -> None:
        """Close the manager, then the loop (``cancel``: see :meth:`EventLoop.close`)."""
        try:
            self.portal.call(self.manager.aclose)
        except BaseException:
            cancel = True
            raise
        finally:
            self.loop.close(cancel=cancel)


def shutdown_all(processes: Sequence[SimulatedProcess]) -> None:
    """Shut every process down, so no event loop thread outlives the test; then raise the
    first error."""
    errors: list[BaseException] = []
    for process in processes:
        try:
            process.shutdown()
        except BaseException as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


def wait_until_quiet(
    idle_since: Callable[[], float | None],
    *,
    quiet: float,
    limit: float,
    floor: float | None = None,
) -> bool:
    """Wait until nothing has happened for ``quiet`` s; False after ``limit`` s.

    ``idle_since``: since when (``time.monotonic``) nothing happened, None
    while something is under way; ``floor``: count no quiet before that.
    """
    start = time.monotonic()
    while True:
        since = idle_since()
        now = time.monotonic()
        if since is not None and now - (since if floor is None else max(since, floor)) >= quiet:
            return True
        if now - start >= limit:
            return False
        time.sleep(0.005)


def note(text: str) -> None:
    """A line of the failure report: hypothesis's note, or printed in a fixed scenario."""
    if currently_in_test_context():
        hypothesis_note(text)
    else:
        print(text)


@attrs.define
class ModelStats:
    """What the runs went through, printed at the end (``pytest -s``)."""

    name: str
    examples: int = 0
    steps: int = 0
    seen: Counter[str] = attrs.field(factory=Counter)

    def report(self) -> str:
        return (
            f"{self.name}: {self.examples} examples, {self.steps} steps; "
            f"seen: {dict(sorted(self.seen.items()))}"
        )


def prepare(machine: type[Any], caplog: pytest.LogCaptureFixture, **fixtures: Any) -> None:
    """Hand the machine's class the test's fixtures (hypothesis makes the machines), and
    capture the library's log records (the machines scan them for secrets)."""
    for name, value in {**fixtures, "caplog": caplog}.items():
        setattr(machine, name, value)
    caplog.set_level(logging.DEBUG, logger="amplify_session")


def run_model(
    machine: type[RuleBasedStateMachine],
    stats: ModelStats,
    *,
    examples: int,
    steps: int,
    randomized: bool,
) -> None:
    """Run the state machine (derandomized unless ``randomized``); print ``stats`` after."""
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                derandomize=not randomized,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        print(stats.report())


def replay(machine: Any, world: Mapping[str, Any], steps: Steps, *, announce: bool = False) -> None:
    """Run ``steps`` through ``machine`` from its ``world(**world)``, checking after each
    (``check_world``), as hypothesis would; ``announce``: :func:`note` each step first."""
    try:
        machine.world(**world)
        machine.check_world()
        for rule_name, arguments in steps:
            if announce:
                note(f"state.{rule_name}({arguments})")
            getattr(machine, rule_name)(**arguments)
            machine.check_world()
    finally:
        machine.teardown()
