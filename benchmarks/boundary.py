"""Caller latency across background refreshes, against a lazy refresh-on-expiry manager.

Ten callers fetch the session every millisecond while tokens that live four
seconds are refreshed again and again: 20 refreshes for amplify-session, and
the baseline for as long. amplify-session refreshes in the
background before expiry, so no caller waits on the network while a token
is valid; the baseline refreshes when a caller finds the token expired, the
way Amplify's and pycognito's managers do, and that caller waits.
"""

from __future__ import annotations

import time
from datetime import timedelta

import anyio

from amplify_session import AuthConfig, SessionManager, decode_jwt
from amplify_session._cognito import CognitoTransport, UserPoolClient
from amplify_session.emulator import Emulator

from ._stats import summary

REFRESHES = 20
CALLERS = 10


class LazyManager:
    """The baseline: tokens refreshed by the first caller that finds them expired."""

    def __init__(self, config: AuthConfig, access: str, refresh_token: str) -> None:
        self._transport = CognitoTransport(config)
        self._pool = UserPoolClient(self._transport, config)
        self._tolerance = config.expiry_tolerance
        self._access, self._refresh = access, refresh_token
        self._exp = float(decode_jwt(access).payload["exp"])
        self._lock = anyio.Lock()

    async def token(self) -> str:
        if time.time() < self._exp - self._tolerance:
            return self._access
        async with self._lock:
            if time.time() >= self._exp - self._tolerance:
                answer = await self._pool.refresh_token_auth(
                    self._refresh, username="", device_key=None
                )
                self._access = answer.access_token
                self._exp = float(decode_jwt(self._access).payload["exp"])
        return self._access

    async def aclose(self) -> None:
        await self._transport.aclose()


async def _drive(
    fetch: object, count_calls: object, *, seconds: float | None = None
) -> tuple[list[tuple[float, int]], int]:
    """Callers fetching every millisecond until REFRESHES refresh calls (or ``seconds``)."""
    samples: list[tuple[float, int]] = []
    start_calls = count_calls()  # type: ignore[operator]
    done = anyio.Event()
    until = time.time() + seconds if seconds is not None else None

    async def caller() -> None:
        while not done.is_set():
            begin = time.perf_counter_ns()
            await fetch()  # type: ignore[operator]
            samples.append((time.time(), time.perf_counter_ns() - begin))
            await anyio.sleep(0.001)

    async def watch() -> None:
        with anyio.fail_after(REFRESHES * 5 + 30):
            while (until is None and count_calls() - start_calls < REFRESHES) or (
                until is not None and time.time() < until
            ):
                await anyio.sleep(0.05)
        await anyio.sleep(0.5)
        done.set()

    async with anyio.create_task_group() as group:
        for _ in range(CALLERS):
            group.start_soon(caller)
        group.start_soon(watch)
    return samples, count_calls() - start_calls  # type: ignore[operator,no-any-return]


async def measure(emulator: Emulator) -> tuple[dict[str, dict[str, float]], dict[str, list]]:
    emulator.reset()
    pool = emulator.provision(token_validity=timedelta(seconds=4))
    config = pool.config(identity_pool_id=None, expiry_tolerance=0.5)
    refresh_calls = lambda: emulator.front.calls["InitiateAuth"]  # noqa: E731
    async with SessionManager(config) as manager:
        await manager.sign_in(pool.username, pool.password)
        began = time.time()
        ours, ours_calls = await _drive(manager.fetch_auth_session, refresh_calls)
        elapsed = time.time() - began
        session = await manager.fetch_auth_session()
    assert session.tokens is not None
    assert session.tokens.refresh_token is not None
    lazy = LazyManager(config, str(session.tokens.access_token), session.tokens.refresh_token)
    baseline, lazy_calls = await _drive(lazy.token, refresh_calls, seconds=elapsed)
    await lazy.aclose()
    cached = summary([ns for _, ns in ours])["median"]
    rows = {}
    for name, samples, calls in (
        ("amplify_session (background)", ours, ours_calls),
        ("lazy refresh-on-expiry", baseline, lazy_calls),
    ):
        row = summary([ns for _, ns in samples])
        row["p99_x_cached"] = row["p99"] / cached
        row["max_x_cached"] = row["max"] / cached
        row["refreshes"] = float(calls)
        row["waits_over_1ms"] = float(sum(1 for _, ns in samples if ns > 1_000_000))
        rows[name] = row
    series = {"amplify_session (background refresh)": ours, "lazy refresh-on-expiry": baseline}
    return rows, series
