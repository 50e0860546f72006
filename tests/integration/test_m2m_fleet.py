"""Service processes sharing an app client's own token (client_credentials) through Redis.

Real OS processes (tests/support/m2m_fleet_worker.py) call an API on
127.0.0.1 every 50 ms with the bearer token of a ``ClientCredentialsConfig``
manager; the emulator counts the requests at its /oauth2/token.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from amplify_session._timing import IAT_RESOLUTION
from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.m2m import credentials, machine_pool
from tests.support.m2m_fleet_worker import FleetRun, loopback_api, run_fleet

pytestmark = pytest.mark.anyio

LIFETIME = 4.0
REFRESH_WINDOW = 0.5
#: How long a token is kept: iat has whole seconds, so the engine counts on
#: LIFETIME - IAT_RESOLUTION of it, and renews REFRESH_WINDOW before that ends.
RENEWAL = LIFETIME - IAT_RESOLUTION - REFRESH_WINDOW


@pytest.fixture
def m2m_pool(amplify_emulator: Emulator) -> EmulatedPool:
    return machine_pool(amplify_emulator, LIFETIME, resource_servers={"orders": ("read",)})


@pytest.fixture
async def api() -> AsyncIterator[str]:
    async with loopback_api() as url:
        yield url


async def _fleet(
    emulator: Emulator, pool: EmulatedPool, scratch: Path, processes: int, **settings: Any
) -> tuple[int, FleetRun]:
    """Run ``processes`` workers; the token requests the emulator saw, and the run."""
    one = {
        "config": {
            **credentials(pool),
            "scopes": list(pool.scopes),
            "refresh_window": REFRESH_WINDOW,
            "expiry_tolerance": 0.25,
        },
        "every": 0.05,
        **settings,
    }
    scratch.mkdir()
    before = emulator.front.calls["OAuth2Token"]
    run = await run_fleet([one] * processes, scratch)
    return emulator.front.calls["OAuth2Token"] - before, run


def _served_well(run: FleetRun) -> bool:
    """Every process sent requests, none with an expired token, none failed."""
    return all(r["sent"] > 0 and r["expired"] == 0 and r["errors"] == [] for r in run.results)


@pytest.mark.heavy
async def test_eight_processes_request_about_one_token_per_renewal_between_them(
    amplify_emulator: Emulator, m2m_pool: EmulatedPool, api: str, redis_url: str, tmp_path: Path
) -> None:
    run = {"duration": 8.0, "api": api, "redis_url": redis_url}
    shared, fleet = await _fleet(
        amplify_emulator, m2m_pool, tmp_path / "fleet", 8, client="redis", **run
    )
    alone, solo = await _fleet(
        amplify_emulator, m2m_pool, tmp_path / "alone", 8, client="memory", **run
    )
    windows = math.ceil((fleet.ended - fleet.started) / RENEWAL)
    print(f"8 processes: {shared} token requests with Redis, {alone} without; {windows} windows")
    assert shared <= windows + 2
    assert shared < alone / 2
    assert _served_well(fleet)
    assert _served_well(solo)


async def test_two_processes_share_one_token(
    amplify_emulator: Emulator, m2m_pool: EmulatedPool, api: str, redis_url: str, tmp_path: Path
) -> None:
    requests, run = await _fleet(
        amplify_emulator,
        m2m_pool,
        tmp_path / "fleet",
        2,
        client="redis",
        duration=3.0,
        api=api,
        redis_url=redis_url,
    )
    first, second = (result["tokens"] for result in run.results)  # jti -> [first, last sent]
    both_at_once = [
        jti
        for jti in first.keys() & second.keys()
        if first[jti][0] <= second[jti][1] and second[jti][0] <= first[jti][1]
    ]
    assert both_at_once  # the same token in both processes' requests at one moment
    assert requests <= 2  # 3 s of tokens renewed every RENEWAL s, one request each time
    assert _served_well(run)
