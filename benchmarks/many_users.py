"""Many users in one process: 10,000 stored sessions restored, then all due at once.

A worker process (``tests/support/many_users_worker.py``) holds the sessions,
so what is measured is the service's own: peak sockets (sampled every 5 ms),
resident memory per idle session, background tasks, the time from the moment
every session is due until each serves a new token, and any expired token a
fetch returned meanwhile. Refresh calls are the emulator's count. Rows, in the
same run: one CognitoClient shared by every manager (100 connections at most),
and the way before it, a manager per user with a connection pool of its own.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from amplify_session.emulator import Emulator
from tests.support.many_sessions import stored_sessions

SESSIONS = 10_000
MAX_CONNECTIONS = 100
ROWS = (
    (f"one CognitoClient ({MAX_CONNECTIONS} connections)", True),
    ("a connection pool per manager (before)", False),
)
ROOT = Path(__file__).resolve().parent.parent


async def measure(emulator: Emulator, sessions: int = SESSIONS) -> dict[str, dict[str, float]]:
    # The baseline's timed-out connections make the emulator's server log an error
    # each (tens of thousands): counted in refresh_calls, not printed.
    server_log = logging.getLogger("aiohttp.server")
    level = server_log.level
    server_log.setLevel(logging.CRITICAL)
    try:
        return {row: await _row(emulator, sessions, shared=shared) for row, shared in ROWS}
    finally:
        server_log.setLevel(level)


async def _row(emulator: Emulator, sessions: int, *, shared: bool) -> dict[str, float]:
    emulator.reset()
    pool = emulator.provision()
    config = pool.config(identity_pool_id=None)
    stored = await stored_sessions(pool, config, sessions)
    before = emulator.front.calls["InitiateAuth"]
    figures = _run_worker(
        {
            "config": _fields(config),
            "sessions": stored,
            "shared": shared,
            "max_connections": MAX_CONNECTIONS,
        }
    )
    figures["refresh_calls"] = float(emulator.front.calls["InitiateAuth"] - before)
    return figures


def _fields(config: Any) -> dict[str, Any]:
    return {
        "user_pool_id": config.user_pool_id,
        "user_pool_client_id": config.user_pool_client_id,
        "user_pool_endpoint": config.user_pool_endpoint,
    }


def _run_worker(settings: dict[str, Any]) -> dict[str, float]:
    with TemporaryDirectory() as folder:
        path = Path(folder) / "settings.json"
        path.write_text(json.dumps(settings))
        done = subprocess.run(
            [sys.executable, "-m", "tests.support.many_users_worker", str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            timeout=1800,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the many_users worker failed ({done.returncode})")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures
