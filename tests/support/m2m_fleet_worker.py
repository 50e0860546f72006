"""One service of a machine-to-machine fleet, and the launcher that runs a fleet of them.

A worker is ``python -m tests.support.m2m_fleet_worker`` with its settings as
JSON on stdin (they hold the app client's secret: not on a command line). It
builds its client, says it is ready, waits for the fleet's go (a file holding
the start time, so every worker stops at the same moment), then calls the
fleet's loopback API every ``every`` seconds with ``Authorization: Bearer``
until the start plus ``duration``, as one of these clients:

- ``"redis"``: amplify-session's ``BearerAuth`` over a ``ClientCredentialsConfig``
  manager whose ``RedisStorage`` the fleet shares;
- ``"memory"``: the same with a ``MemoryStorage`` of its own (a per-process cache);
- ``"authlib"``: Authlib's ``AsyncOAuth2Client`` with the ``client_credentials``
  grant, as its docs use it (``leeway`` None: Authlib's default). Authlib and
  httpx are in the bench environment only.

Every bearer token is checked against ``time.time()`` as the request leaves.
The worker writes, as JSON to ``out``: requests sent, how many carried an
expired token, errors by name, and each token's jti with when it was first and
last sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import attrs
from aiohttp import web

from amplify_session import (
    AuthError,
    ClientCredentialsConfig,
    MemoryStorage,
    SessionManager,
    decode_jwt,
)
from amplify_session.emulator._loopback import serve_on_loopback
from amplify_session.integrations.aiohttp import BearerAuth
from amplify_session.storage.redis import RedisStorage

ROOT = Path(__file__).parents[2]
CLIENTS = ("redis", "memory", "authlib")


@attrs.define
class Ledger:
    """What one worker sent: requests, expired tokens, errors, each token's first/last use."""

    sent: int = 0
    expired: int = 0
    errors: list[str] = attrs.field(factory=list)
    tokens: dict[str, list[float]] = attrs.field(factory=dict)  # jti -> [first, last]

    def leaving(self, authorization: str | None) -> None:
        """A request leaves with this header: check its bearer token (others: token requests)."""
        if authorization is None or not authorization.startswith("Bearer "):
            return
        now = time.time()
        claims = decode_jwt(authorization.removeprefix("Bearer ")).payload
        self.sent += 1
        if claims["exp"] <= now:  # a JWT is invalid from its exp on
            self.expired += 1
        self.tokens.setdefault(claims["jti"], [now, now])[1] = now


async def _every(
    period: float, deadline: float, call: Callable[[], Awaitable[int]], ledger: Ledger
) -> None:
    """Call the API every ``period`` seconds until ``deadline``; a failure is an error by name."""
    while time.time() < deadline:
        try:
            status = await call()
        except Exception as err:  # a client's failure is a result, by name
            ledger.errors.append(err.name if isinstance(err, AuthError) else type(err).__name__)
        else:
            if status >= 300:
                ledger.errors.append(f"HTTP {status}")
        await asyncio.sleep(period)


async def _amplify(settings: dict[str, Any], start: float, ledger: Ledger) -> None:
    config = ClientCredentialsConfig(**settings["config"])
    shared = settings["client"] == "redis"
    storage = RedisStorage.from_url(settings["redis_url"]) if shared else MemoryStorage()

    async def check(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        ledger.leaving(request.headers.get(aiohttp.hdrs.AUTHORIZATION))
        return await handler(request)

    async def call(http: aiohttp.ClientSession) -> int:
        async with http.get(settings["api"]) as response:
            return response.status

    async with (
        SessionManager(config, storage=storage) as manager,
        aiohttp.ClientSession(middlewares=(BearerAuth(manager), check)) as http,
    ):
        await _every(settings["every"], start + settings["duration"], lambda: call(http), ledger)
    if isinstance(storage, RedisStorage):
        await storage.aclose()


async def _authlib(settings: dict[str, Any], start: float, ledger: Ledger) -> None:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    config = settings["config"]
    leeway = {} if settings.get("leeway") is None else {"leeway": settings["leeway"]}

    async def check(request: Any) -> None:  # an httpx2 (or httpx) Request, after Authlib's auth
        ledger.leaving(request.headers.get("Authorization"))

    async def call(client: AsyncOAuth2Client) -> int:
        return (await client.get(settings["api"])).status_code

    async with AsyncOAuth2Client(
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        scope=" ".join(config["scopes"]),
        token_endpoint=config["domain"] + "/oauth2/token",
        grant_type="client_credentials",
        event_hooks={"request": [check]},
        **leeway,
    ) as client:
        await client.fetch_token()  # Authlib's docs: fetch once; requests renew it when expired
        await _every(settings["every"], start + settings["duration"], lambda: call(client), ledger)


async def _until(path: Path, limit: float) -> None:
    with anyio.fail_after(limit):  # an orphaned worker gives up
        while not path.exists():
            await asyncio.sleep(0.01)


async def work(settings: dict[str, Any]) -> Ledger:
    """Be ready, wait for the go, call the API with the client's tokens until the end."""
    if settings["client"] == "authlib":
        import authlib.integrations.httpx_client  # noqa: F401 (imported before the go)
    Path(settings["ready"]).write_text("ready")
    go = Path(settings["go"])
    await _until(go, 120)
    start, ledger = float(go.read_text()), Ledger()
    run = _authlib if settings["client"] == "authlib" else _amplify
    await run(settings, start, ledger)
    return ledger


# -- the launcher (in the test or benchmark process) ------------------------------------


@asynccontextmanager
async def loopback_api() -> AsyncIterator[str]:
    """The API the fleet calls: 204 with a bearer token, 401 without; yields its URL."""

    async def handle(request: web.Request) -> web.Response:
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        return web.Response(status=204 if bearer else 401)

    app = web.Application()
    app.router.add_get("/orders", handle)
    async with serve_on_loopback(app) as url:
        yield url + "/orders"


def _start(settings: dict[str, Any]) -> subprocess.Popen[bytes]:
    """A worker, its settings on stdin (they hold the client secret: not on a command line)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.m2m_fleet_worker"], cwd=ROOT, stdin=subprocess.PIPE
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(settings).encode())
    process.stdin.close()
    return process


def _check_alive(processes: list[subprocess.Popen[bytes]]) -> None:
    """Fail at once when a worker died before the go (not after the hang limit)."""
    dead = [p.returncode for p in processes if p.poll() is not None]
    assert not dead, f"fleet workers exited before the go with {dead}"


@attrs.frozen
class FleetRun:
    """A fleet's run: when it was told to go, when the last worker exited, what each saw."""

    started: float
    ended: float
    results: list[dict[str, Any]]


async def run_fleet(settings: list[dict[str, Any]], scratch: Path) -> FleetRun:
    """Start one worker per settings, let them go together once all are ready, collect."""
    go = scratch / "go"
    files = [
        {name: str(scratch / f"{name}-{n}") for name in ("ready", "out")}
        for n in range(len(settings))
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for one, paths in zip(settings, files, strict=True):
            processes.append(_start({**one, **paths, "go": str(go)}))
        with anyio.fail_after(180):
            while not all(Path(paths["ready"]).exists() for paths in files):
                _check_alive(processes)
                await anyio.sleep(0.02)
            started = time.time()
            (scratch / "go.tmp").write_text(repr(started))
            os.replace(scratch / "go.tmp", go)  # whole or absent, for the workers polling it
            while any(p.poll() is None for p in processes):
                await anyio.sleep(0.05)
        ended = time.time()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)
    failed = [p.returncode for p in processes if p.returncode != 0]
    assert not failed, f"fleet workers exited with {failed}"
    return FleetRun(started, ended, [json.loads(Path(p["out"]).read_text()) for p in files])


if __name__ == "__main__":
    worker_settings = json.loads(sys.stdin.read())
    ledger = asyncio.run(work(worker_settings))
    Path(worker_settings["out"]).write_text(json.dumps(attrs.asdict(ledger)))
