"""The background refresh loop: sleeps until the session is due, refreshes, backs off."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

from ._errors import AuthError
from ._policy import Backoff, Clock

__all__ = ["RefreshLoop"]

_log = logging.getLogger("amplify_session")


class RefreshLoop:
    """Runs ``refresh`` whenever ``due()`` (a local time) arrives.

    ``refresh`` returns True on success. After a failure the loop waits a
    backoff delay (exponential, jittered, bounded) before trying again, never
    in a tight loop; :meth:`wake` (the session changed) ends that wait.
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

    def __repr__(self) -> str:
        return f"RefreshLoop(retry_at={self._retry_at!r})"

    def wake(self) -> None:
        """The session changed: recompute when to refresh, forgetting any backoff."""
        self._retry_at = None
        self._backoff.reset()
        if self._sleep_scope is not None:
            self._sleep_scope.cancel()

    async def run(self) -> None:
        """Refresh forever (until cancelled)."""
        while True:
            deadline = self._retry_at if self._retry_at is not None else self._due()
            if deadline > self._clock.time():
                await self._sleep_until(deadline)
                continue  # woken early, or on time: recompute before acting
            try:
                succeeded = await self._refresh()
            except AuthError:
                succeeded = False
            if succeeded:
                self._retry_at = None
                self._backoff.reset()
            else:
                delay = self._backoff.next_delay()
                _log.info("background refresh failed; retrying in %.1f s", delay)
                self._retry_at = self._clock.time() + delay

    async def _sleep_until(self, deadline: float) -> None:
        # wake() cancels this scope; no helper tasks, so nothing is left
        # half-started when the event loop shuts down around us.
        with anyio.CancelScope() as self._sleep_scope:
            await self._clock.sleep_until(deadline)
