"""Single flight: one run of an operation at a time, shared by every caller waiting for it.

The operation runs on the owner's task group when there is one, so a caller
that is cancelled stops waiting without cancelling it for the others. Without
a task group the first caller runs it shielded from its own cancellation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio
import anyio.abc
import attrs

from ._errors import AuthError

__all__ = ["SingleFlight"]

_T = TypeVar("_T")


@attrs.define(eq=False)
class _Flight(Generic[_T]):
    forced: bool
    done: anyio.Event = attrs.field(factory=anyio.Event)
    value: _T | None = None
    error: BaseException | None = None


class SingleFlight(Generic[_T]):
    """Shares one in-progress run of an operation among all callers.

    A forced run (``forced=True``) joins a forced run in progress; it waits
    out an unforced one and then starts its own, so it always sees a run
    that began after it asked.
    """

    def __init__(self) -> None:
        self._current: _Flight[_T] | None = None

    def __repr__(self) -> str:
        return f"SingleFlight(in_progress={self._current is not None})"

    @property
    def in_progress(self) -> bool:
        """Whether a run is under way."""
        return self._current is not None

    async def run(
        self,
        operation: Callable[[bool], Awaitable[_T]],
        *,
        forced: bool,
        task_group: anyio.abc.TaskGroup | None,
    ) -> _T:
        """Run ``operation(forced)``, or join the run in progress; return its result."""
        while True:
            flight = self._current
            if flight is None:
                flight = self._current = _Flight(forced)
                if task_group is not None:
                    task_group.start_soon(self._fly, flight, operation)
                else:
                    with anyio.CancelScope(shield=True):
                        await self._fly(flight, operation)
            elif forced and not flight.forced:
                await flight.done.wait()
                continue
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value  # type: ignore[return-value]

    async def _fly(self, flight: _Flight[_T], operation: Callable[[bool], Awaitable[_T]]) -> None:
        try:
            flight.value = await operation(flight.forced)
        except Exception as exc:  # noqa: BLE001 (handed to every waiter)
            flight.error = exc
        except BaseException:
            # The owner is closing: waiters get an error, the cancellation goes on.
            flight.error = AuthError("Closed", "the session manager closed during the refresh")
            raise
        finally:
            self._current = None
            flight.done.set()
