"""A service process holding many users' sessions: the many_users benchmark's worker.

``python -m tests.support.many_users_worker SETTINGS`` (a JSON file: the
config's fields, the stored sessions, ``shared`` and ``max_connections``)
restores every session into a manager of its own (``SessionManager(client,
...)`` from one CognitoClient when ``shared``, else ``SessionManager(config,
...)``, a connection pool each, as before CognitoClient), opens them all,
then moves their FakeClock to where every session is due at once, and waits
until each has refreshed. It prints one JSON line of what it saw. No
emulator here: what it measures (memory, sockets, tasks) is the service's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import anyio

from amplify_session import AuthConfig, CognitoClient, SessionManager
from amplify_session.storage import MemoryStorage
from amplify_session.testing import FakeClock

#: The clock moves this far: past every session's refresh time (an hour's tokens,
#: a 300 s window less up to 30 s of jitter), 300 s short of its expiry.
DUE = 3600 - 300
#: Then it moves on at this many times real time, so a session whose refresh
#: failed (a connection refused under the load) retries after its backoff, as
#: it would on a real clock, while its token still has minutes to live.
PACE = 2.0
#: Seconds (real) after which the sessions still not refreshed are reported as such.
GIVE_UP = 600.0
SAMPLE_EVERY = 0.005  # seconds between socket counts


def rss() -> int:
    """Resident memory of this process, in bytes."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def sockets() -> int:
    """Open sockets of this process (its connections to Cognito: it has no others)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


class Peak:
    """The most sockets seen open, sampled every SAMPLE_EVERY seconds."""

    def __init__(self) -> None:
        self.most = 0

    async def watch(self) -> None:
        while True:
            self.most = max(self.most, sockets())
            await anyio.sleep(SAMPLE_EVERY)


async def run(settings: dict[str, Any]) -> dict[str, float]:
    config = AuthConfig(**settings["config"])
    storages = []
    for session in settings["sessions"]:
        storage = MemoryStorage()
        await storage.update_items(session)
        storages.append(storage)
    count = len(storages)
    clock = FakeClock()
    client = CognitoClient(config, max_connections=settings["max_connections"])
    source = client if settings["shared"] else config
    gc.collect()
    before, tasks_before, sockets_before = rss(), len(asyncio.all_tasks()), sockets()
    peak = Peak()
    async with anyio.create_task_group() as group, contextlib.AsyncExitStack() as stack:
        group.start_soon(peak.watch)
        managers = [SessionManager(source, storage=s, clock=clock) for s in storages]
        for manager in managers:
            await stack.enter_async_context(manager)
        restored = [await manager.fetch_auth_session() for manager in managers]
        old = [session.tokens.access_token.raw for session in restored if session.tokens]
        del restored  # what the sessions hold is measured, not this list
        gc.collect()
        idle = rss()
        _profile("idle")
        tasks = len(asyncio.all_tasks()) - tasks_before - 1  # the watcher
        started = time.perf_counter()
        clock.advance(DUE)
        expired = refreshed = 0
        while refreshed < count and time.perf_counter() - started < GIVE_UP:
            await anyio.sleep(0.02)
            clock.advance(0.02 * PACE)
            refreshed, stale = await _progress(managers, old, clock)
            expired += stale
        took = time.perf_counter() - started
        gc.collect()
        after = rss()
        _profile("after refresh")
        await stack.aclose()
        group.cancel_scope.cancel()
    await client.aclose()
    return {
        "sessions": count,
        "sessions_refreshed": refreshed,
        "peak_sockets": peak.most - sockets_before,
        "background_tasks": tasks,
        "kib_per_idle_session": (idle - before) / count / 1024,
        "kib_per_session_after_refresh": (after - before) / count / 1024,
        "seconds_to_refresh_all": took,
        "expired_tokens_served": expired,
    }


def _profile(when: str) -> None:
    """With PYTHONTRACEMALLOC set, where the memory went (on stderr)."""
    if not tracemalloc.is_tracing():
        return
    snapshot = tracemalloc.take_snapshot()
    print(f"-- {when}", file=sys.stderr)
    for stat in snapshot.statistics(os.environ.get("MANY_USERS_PROFILE", "lineno"))[:25]:
        print(stat, file=sys.stderr)


async def _progress(
    managers: list[SessionManager], old: list[str], clock: FakeClock
) -> tuple[int, int]:
    """How many sessions serve a new token; how many served an expired one."""
    refreshed = expired = 0
    now = clock.time()
    for manager, previous in zip(managers, old, strict=True):
        tokens = (await manager.fetch_auth_session()).tokens
        if tokens is None:
            continue
        refreshed += tokens.access_token.raw != previous
        expired += float(tokens.access_token.payload["exp"]) <= now
    return refreshed, expired


if __name__ == "__main__":
    figures = asyncio.run(run(json.loads(Path(sys.argv[1]).read_text())))
    print(json.dumps(figures))
