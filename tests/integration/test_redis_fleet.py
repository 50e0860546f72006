"""Eight OS processes sharing one session through a real redis-server."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from amplify_session import SessionManager
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.storage.redis import RedisStorage
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]
ROOT = Path(__file__).parents[2]
WORKERS = 8


@pytest.fixture
def fleet_pool(amplify_emulator: Emulator) -> EmulatedPool:
    amplify_emulator.reset()
    return amplify_emulator.provision(token_validity=timedelta(seconds=4))


def _config(pool: EmulatedPool) -> dict[str, Any]:
    return {
        "user_pool_id": pool.user_pool_id,
        "user_pool_client_id": pool.client_id,
        "user_pool_endpoint": pool.endpoint,
        "identity_pool_endpoint": pool.endpoint,
        "expiry_tolerance": 0.5,
    }


async def _sign_in(pool: EmulatedPool, redis_url: str) -> str:
    """Sign in once, into Redis; returns the first access token's jti."""
    storage = RedisStorage.from_url(redis_url)
    config = pool.config(identity_pool_id=None, expiry_tolerance=0.5)
    async with SessionManager(config, storage=storage) as manager:
        await manager.sign_in(pool.username, pool.password)
        session = await manager.fetch_auth_session()
    await storage.aclose()
    assert session.tokens is not None
    return str(session.tokens.access_token.payload["jti"])


def _start(
    started: list[subprocess.Popen[bytes]],
    pool: EmulatedPool,
    redis_url: str,
    out: Path,
    **extra: Any,
) -> subprocess.Popen[bytes]:
    settings = {
        "config": _config(pool),
        "redis_url": redis_url,
        "lock_ttl": 2.0,
        "duration": 10.0,
        "out": str(out),
        **extra,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fleet_worker", json.dumps(settings)], cwd=ROOT
    )
    started.append(process)
    return process


async def _wait(processes: list[subprocess.Popen[bytes]]) -> None:
    with anyio.fail_after(120):
        while any(p.poll() is None for p in processes):
            await anyio.sleep(0.1)


async def _until_exist(paths: list[Path]) -> None:
    with anyio.fail_after(60):
        while not all(path.exists() for path in paths):
            await anyio.sleep(0.02)


def _results(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in paths]


def _lags(results: list[dict[str, Any]]) -> list[float]:
    """For each process, how long after the first process it started serving each new token."""
    first: dict[str, float] = {}
    for result in results:
        for when, jti in result["seen"]:
            first[jti] = min(when, first.get(jti, when))
    return [when - first[jti] for r in results for when, jti in r["seen"][1:]]


async def test_one_refresh_per_cycle_for_the_whole_fleet(
    fleet_pool: EmulatedPool,
    processes: list[subprocess.Popen[bytes]],
    amplify_emulator: Emulator,
    redis_url: str,
    tmp_path: Path,
) -> None:
    first_token = await _sign_in(fleet_pool, redis_url)
    started = time.time()
    outputs = [tmp_path / f"worker{n}.json" for n in range(WORKERS)]
    await _wait([_start(processes, fleet_pool, redis_url, out) for out in outputs])
    results = _results(outputs)
    refreshed_tokens = {jti for r in results for _, jti in r["seen"]} - {first_token}
    refreshes = sorted(
        when
        for when, op in amplify_emulator.front.timeline
        if op == "InitiateAuth" and when > started
    )
    gaps = [later - earlier for earlier, later in itertools.pairwise(refreshes)]
    lag = max(_lags(results))
    print(
        f"fleet of {WORKERS}: {len(refreshes)} refresh calls, {len(refreshed_tokens)} tokens "
        f"served, closest calls {min(gaps):.2f} s apart, slowest process {lag:.3f} s behind"
    )
    assert len(refreshed_tokens) >= 4  # several cycles of 4-second tokens
    # One Cognito call per cycle, fleet-wide: calls are a cycle apart (a token
    # lives 4 s and is refreshed about a second after it is issued), never a
    # second process's call moments after the first's. (A call at the very end
    # may go unserved: its process was closing.)
    assert min(gaps) > 0.5
    assert len(refreshed_tokens) <= len(refreshes) <= len(refreshed_tokens) + 1
    assert all(r["expired"] == 0 for r in results)
    assert all(r["errors"] == [] for r in results)
    assert lag < 1.0  # every process had the new tokens within a second


async def test_a_process_killed_while_holding_the_lock_delays_the_others_only_briefly(
    fleet_pool: EmulatedPool,
    processes: list[subprocess.Popen[bytes]],
    amplify_emulator: Emulator,
    redis_url: str,
    tmp_path: Path,
) -> None:
    await _sign_in(fleet_pool, redis_url)
    # The others serve first; then the victim takes the refresh lock and dies holding it.
    outputs = [tmp_path / f"worker{n}.json" for n in range(3)]
    ready = [tmp_path / f"ready{n}" for n in range(3)]
    others = [
        _start(processes, fleet_pool, redis_url, out, ready_marker=str(mark))
        for out, mark in zip(outputs, ready, strict=True)
    ]
    await _until_exist(ready)
    marker = tmp_path / "holding"
    victim = _start(
        processes, fleet_pool, redis_url, tmp_path / "victim.json", hold_lock_marker=str(marker)
    )
    await _until_exist([marker])
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.time()
    await _wait(others)
    victim.wait(10)
    results = _results(outputs)
    expired = [r["expired"] for r in results]
    assert expired == [0, 0, 0], f"expired tokens served: {expired}"
    # The lock lived 2 s; the refresh the victim never made was made once it
    # expired (plus polling, the refresh itself, and a loaded machine's delays).
    after = [when for r in results for when, _ in r["seen"][1:] if when > killed_at]
    assert after
    delay = min(after) - killed_at
    print(f"lock holder killed: the others had new tokens {delay:.2f} s later (lock TTL 2 s)")
    assert delay < 2.0 + 2.0, f"new tokens only {delay:.2f} s after the kill"


async def test_redis_restarted_mid_run(
    fleet_pool: EmulatedPool,
    processes: list[subprocess.Popen[bytes]],
    amplify_emulator: Emulator,
    redis_server: RedisServer,
    redis_url: str,
    tmp_path: Path,
) -> None:
    await _sign_in(fleet_pool, redis_url)
    outputs = [tmp_path / f"worker{n}.json" for n in range(3)]
    workers = [_start(processes, fleet_pool, redis_url, out) for out in outputs]
    await anyio.sleep(3.5)
    redis_server.stop()
    await anyio.sleep(1.5)
    redis_server.start()  # empty: no persistence
    await _wait(workers)
    results = _results(outputs)
    assert all(r["expired"] == 0 for r in results)
    assert all(len(r["seen"]) >= 3 for r in results)  # they kept refreshing throughout
    # Nothing was lost: the session is back in Redis, and a new process restores it.
    storage = RedisStorage.from_url(redis_url)
    config = fleet_pool.config(identity_pool_id=None, expiry_tolerance=0.5)
    async with SessionManager(config, storage=storage) as manager:
        session = await manager.fetch_auth_session()
    await storage.aclose()
    assert session.tokens is not None
