"""Following what other processes sharing the storage announce (a fleet on Redis)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

import anyio

from ._errors import AuthError
from ._timing import Backoff
from .storage import CoordinatedStorage

__all__ = ["follow_other_processes"]

_log = logging.getLogger("amplify_session")


async def follow_other_processes(
    shared: CoordinatedStorage, reconcile: Callable[[str | None], Awaitable[None]]
) -> None:
    """Apply what other processes announce; after a lost feed, re-read once (``None``).

    Nothing escapes: whatever goes wrong (the storage, a stray message, a
    bug) is logged and retried after a backoff, never raised into the
    manager's task group, which would end the user's ``async with``.
    """
    backoff = Backoff(initial=0.5, maximum=10.0)
    while True:
        try:
            async for note in shared.messages():
                await reconcile(note)
                backoff.reset()
            reason = "the feed ended"
        except Exception as err:  # noqa: BLE001 (see the docstring)
            reason = err.name if isinstance(err, AuthError) else type(err).__name__
        delay = backoff.next_delay()
        _log.error("lost the shared storage (%s); re-reading in %.1f s", reason, delay)
        await anyio.sleep(delay)
        with contextlib.suppress(Exception):
            await reconcile(None)
