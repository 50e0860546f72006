"""benchmarks/serve.py's rows end to end: uvicorn serving each app, an HTTP client driving it.

Each row's app runs in its own process (uvicorn, httptools, asyncio loop, one
worker) on 127.0.0.1; this process drives one at a time with an aiohttp client
keeping CONCURRENCY requests in flight on kept-alive connections. The client
shares the machine's cores with the server (and with whatever else runs), so
these figures are noisier than serve.py's (each row's rate is its median round)
and its ratios smaller: every request also pays for HTTP and the socket, both sides.

``python -m benchmarks.serve_http ROW JWKS_URL KID`` is one such server: it
prints its port, then serves until terminated.
"""

import asyncio
import gc
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
import uvicorn

from tests.support.issuer import SigningKey, jwks_server

from .serve import rows, token_maker, verifier_for, warm_apps

ROWS = ("floor", "PyJWT", "fastapi-cloudauth", "amplify_session")
REQUESTS = {"same token": 1_000, "new token each": 1_000}
ROUNDS = 7
CONCURRENCY = 16
ROOT = Path(__file__).parents[1]


async def _serve(row: str, jwks_url: str, kid: str) -> None:
    async with verifier_for(jwks_url) as verifier:
        app = (await warm_apps(jwks_url, kid, verifier))[row]
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it each response waits ~40 ms for a delayed ACK (uvicorn writes twice).
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)  # before the port is told
        print(listener.getsockname()[1], flush=True)
        config = uvicorn.Config(
            app, loop="asyncio", http="httptools", lifespan="off", log_level="warning"
        )
        await uvicorn.Server(config).serve(sockets=[listener])


@asynccontextmanager
async def _server(row: str, jwks_url: str, kid: str) -> AsyncIterator[str]:
    """A server of ``row``'s app in a process of its own; its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.serve_http",
        row,
        jwks_url,
        kid,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        port = int(await asyncio.wait_for(process.stdout.readline(), 60))
        yield f"http://127.0.0.1:{port}/me"
    finally:
        process.terminate()
        await process.wait()


async def _drive(
    http: aiohttp.ClientSession, url: str, tokens: list[str], concurrency: int
) -> tuple[float, int]:
    """Requests per second of sending ``tokens``, ``concurrency`` in flight; how many got 200."""
    pending, ok = iter(tokens), 0

    async def client() -> None:
        nonlocal ok
        for token in pending:
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                await response.read()
                ok += response.status == 200

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return len(tokens) / (time.perf_counter() - start), ok


async def _stream(
    http: aiohttp.ClientSession,
    urls: dict[str, str],
    tokens: Callable[[int], list[str]],
    requests: int,
    rounds: int,
    concurrency: int,
) -> dict[str, dict[str, float]]:
    rates: dict[str, list[float]] = {name: [] for name in urls}
    ok = dict.fromkeys(urls, 0)
    order = list(urls)
    for _ in range(rounds):
        batch = tokens(requests)
        for name in order:
            gc.collect()
            rate, answered = await _drive(http, urls[name], batch, concurrency)
            rates[name].append(rate)
            ok[name] += answered
        order = order[1:] + order[:1]
    # The median round: here a round can also be faster than usual (the scheduler
    # putting client and server on one core or two changes the round trip).
    return rows(rates, ok, requests * rounds, pick=statistics.median)


async def measure(
    requests: dict[str, int] | None = None, rounds: int = ROUNDS, concurrency: int = CONCURRENCY
) -> dict[str, dict[str, float]]:
    requests = requests or REQUESTS
    key = SigningKey.generate()
    new_tokens = token_maker(key)
    repeated = new_tokens(1)[0]
    async with AsyncExitStack() as stack:
        issuer = await stack.enter_async_context(jwks_server(key))
        urls = {
            row: await stack.enter_async_context(_server(row, issuer.url, key.kid)) for row in ROWS
        }
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=concurrency)
        http = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        for url in urls.values():  # opens the connections
            await _drive(http, url, [repeated] * concurrency, concurrency)
        fetches = issuer.fetches
        results: dict[str, dict[str, float]] = {}
        for stream, count in requests.items():
            tokens = (lambda n: [repeated] * n) if stream == "same token" else new_tokens
            streamed = await _stream(http, urls, tokens, count, rounds, concurrency)
            for name, row in streamed.items():
                results[f"{name} ({stream})"] = row
        if issuer.fetches != fetches:
            raise RuntimeError("a JWKS was fetched while timing: the caches were not warm")
    return results


if __name__ == "__main__":
    asyncio.run(_serve(*sys.argv[1:4]))
