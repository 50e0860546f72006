"""The background refresh loop: sleeps until the session is due, refreshes, backs off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import anyio

from ._errors import AuthError
from ._timing import Backoff, Clock

__all__ = ["MIN_PROGRESS", "RefreshLoop"]

#: A refresh whose result is due again sooner than this after it began made
#: no progress: the loop backs off as after a failure.
MIN_PROGRESS = 0.5  # seconds

_log = logging.getLogger("amplify_session")


class RefreshLoop:
    """Runs ``refresh`` whenever ``due()`` (a monotonic time) arrives.

    ``refresh`` returns True on success. A refresh is *unproductive* when it
    fails, or when what it brought is due again within :data:`MIN_PROGRESS`
    of its start (a server sending tokens that expire as they arrive, a
    storage that cannot keep them). After
    an unproductive refresh the loop waits a backoff delay (exponential,
    jittered, bounded) before the next one, whatever ``due()`` says: the rate
    of background calls is bounded by the backoff schedule, whatever the
    server answers. All times are on the clock's monotonic face, so a
    wall-clock step cannot shorten a wait. :meth:`wake` (the user signed in
    or out) ends a wait and resets the backoff.
    """

    def __init__(
        self,
        clock: Clock,
        due: Callable[[], float],
        refresh: Callable[[], Awaitable[bool]],
        backoff: Backoff,
    ) -> None:
        self._clock = clock
        self._due = due
        self._refresh = refresh
        self._backoff = backoff
        self._retry_at: float | None = None
        self._sleep_scope: anyio.CancelScope | None = None
        self._running: tuple[asyncio.Task[None], anyio.CancelScope] | None = None
        #: How many refreshes ran (a test's and a benchmark's view of the rate).
        self.runs = 0

    def __repr__(self) -> str:
        return f"RefreshLoop(retry_at={self._retry_at!r}, runs={self.runs})"

    def wake(self) -> None:
        """The session changed: recompute when to refresh, forgetting any backoff."""
        self._retry_at = None
        self._backoff.reset()
        if self._sleep_scope is not None:
            self._sleep_scope.cancel()

    def start(self) -> None:
        """Run in a task of its own on the running event loop, until :meth:`stop`.

        Not a task group's: anyio gives each task it starts a cancel scope and
        an event (1.5 KiB), and a service holding ten thousand sessions holds
        ten thousand of these loops. The task is stopped through a cancel scope
        of its own, not ``Task.cancel``, which would break through the shields
        that let a refresh already sent land.
        """
        scope = anyio.CancelScope()
        task = asyncio.get_running_loop().create_task(self._run_within(scope))
        self._running = (task, scope)

    async def stop(self) -> None:
        """Stop the task :meth:`start` started, and wait until it has ended."""
        if self._running is None:
            return
        (task, scope), self._running = self._running, None
        scope.cancel()
        if task.get_loop() is asyncio.get_running_loop():  # not an event loop that has ended
            with anyio.CancelScope(shield=True):
                await asyncio.wait([task])

    async def _run_within(self, scope: anyio.CancelScope) -> None:
        with scope:
            await self.run()

    async def run(self) -> None:
        """Refresh forever (until cancelled); never raises anything else."""
        while True:
            deadline = self._retry_at if self._retry_at is not None else self._due()
            if deadline > self._clock.monotonic():
                await self._sleep_until(deadline)
                continue  # woken early, or on time: recompute before acting
            self._retry_at = None
            started = self._clock.monotonic()
            succeeded = await self._refresh_once()
            productive = succeeded and self._due() > started + MIN_PROGRESS
            if productive:
                self._backoff.reset()
            else:  # even if woken meanwhile: a wake resets the backoff, never skips it
                delay = self._backoff.next_delay()
                _log.info("background refresh failed; retrying in %.1f s", delay)
                self._retry_at = self._clock.monotonic() + delay

    async def _refresh_once(self) -> bool:
        self.runs += 1
        try:
            return await self._refresh()
        except AuthError:
            return False
        except Exception:  # noqa: BLE001 (a bug must not end the user's `async with`)
            _log.exception("background refresh raised unexpectedly")
            return False

    async def _sleep_until(self, deadline: float) -> None:
        # wake() cancels this scope; no helper tasks, so nothing is left
        # half-started when the event loop shuts down around us.
        with anyio.CancelScope() as self._sleep_scope:
            await self._clock.sleep_until(deadline)
