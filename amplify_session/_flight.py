"""Single flight: one run of an operation at a time, shared by every caller waiting for it.

Generic: it knows nothing of sessions or errors of its own domain. The
operation runs on the owner's task group when there is one, so a caller that
is cancelled stops waiting without cancelling it for the others. Without a
task group (or with one that is closing) the first caller runs it shielded
from its own cancellation. :meth:`SingleFlight.abort` cancels the run in
progress (its result is void); its waiters then start a new one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel
import attrs

__all__ = ["FlightInterrupted", "SingleFlight"]

_T = TypeVar("_T")

#: Where a flight runs: the owner's task group at the time it starts, if any.
TaskGroupSource = Callable[[], "anyio.abc.TaskGroup | None"]


class FlightInterrupted(Exception):
    """The run was cancelled by its owner closing (not aborted): there is no result."""


@attrs.define(eq=False)
class _Flight(Generic[_T]):
    exclusive: bool
    # asyncio's event, not anyio's wrapper of it: ten thousand waiters wake through
    # one layer less.
    done: asyncio.Event = attrs.field(factory=asyncio.Event)
    scope: anyio.CancelScope = attrs.field(factory=anyio.CancelScope)
    value: _T | None = None
    error: BaseException | None = None
    aborted: bool = False


class SingleFlight(Generic[_T]):
    """Shares one in-progress run of an operation among all callers.

    An *exclusive* caller (``exclusive=True``) wants a run started for a demand
    like its own: it joins an exclusive run in progress, waits out any other
    and then starts its own. Everyone else joins whatever run is in progress.
    """

    def __init__(self) -> None:
        self._current: _Flight[_T] | None = None

    def __repr__(self) -> str:
        return f"SingleFlight(in_progress={self._current is not None})"

    @property
    def in_progress(self) -> bool:
        """Whether a run is under way."""
        return self._current is not None

    async def idle(self) -> None:
        """Return once no run is in progress."""
        while (flight := self._current) is not None:
            await _landed(flight)

    def abort(self) -> None:
        """Cancel the run in progress, if any; its waiters start a new one."""
        flight = self._current
        if flight is not None:
            flight.aborted = True
            flight.scope.cancel()

    async def run(
        self,
        operation: Callable[[], Awaitable[_T]],
        *,
        task_group: TaskGroupSource,
        exclusive: bool = False,
        inline: bool = False,
    ) -> _T:
        """Run ``operation()``, or join the run in progress; return its result.

        Args:
            operation: What to run when a new run starts.
            task_group: Where a new run goes (None: the caller runs it, shielded).
            exclusive: See the class docstring.
            inline: The caller runs a new run itself, unshielded: for a caller
                that lives as long as the task group (a background loop), so
                that closing the group cancels the run with it.

        Raises:
            FlightInterrupted: The owner closed during the run.
        """
        while True:
            flight = self._current
            if flight is None:
                flight = self._current = _Flight(exclusive)
                if inline:
                    await self._fly(flight, operation)
                else:
                    await self._launch(flight, operation, task_group())
            elif exclusive and not flight.exclusive:
                await _landed(flight)
                continue
            await _landed(flight)
            if flight.aborted:
                continue
            if flight.error is not None:
                raise flight.error
            return flight.value  # type: ignore[return-value]

    async def _launch(
        self,
        flight: _Flight[_T],
        operation: Callable[[], Awaitable[_T]],
        task_group: anyio.abc.TaskGroup | None,
    ) -> None:
        if task_group is not None and not task_group.cancel_scope.cancel_called:
            coroutine = self._fly(flight, operation)
            try:
                task_group.start_soon(_given, coroutine)
            except RuntimeError:  # the group stopped taking tasks: run it here
                coroutine.close()
            else:
                return
        with anyio.CancelScope(shield=True):
            await self._fly(flight, operation)

    async def _fly(self, flight: _Flight[_T], operation: Callable[[], Awaitable[_T]]) -> None:
        try:
            with flight.scope:
                flight.value = await operation()
        except Exception as exc:  # noqa: BLE001 (handed to every waiter)
            flight.error = exc
        except BaseException:
            # The owner is closing: waiters get an error, the cancellation goes on.
            flight.error = FlightInterrupted("the owner closed during the run")
            raise
        finally:
            if self._current is flight:
                self._current = None
            flight.done.set()


async def _landed(flight: _Flight[Any]) -> None:
    """Wait for ``flight`` to end; a checkpoint even when it has, as anyio's events are."""
    if flight.done.is_set():
        await anyio.lowlevel.checkpoint()
    else:
        await flight.done.wait()


def _given(coroutine: Coroutine[Any, Any, None]) -> Coroutine[Any, Any, None]:
    # start_soon wants a coroutine function; the coroutine is made beforehand
    # so that it can be closed (not left un-awaited) if the group refuses it.
    return coroutine
