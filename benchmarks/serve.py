"""Verified requests per second through a FastAPI route guarded by a bearer dependency.

One app shape, four dependencies, measured in the same run: a floor that does
nothing, PyJWT with its cached ``PyJWKClient`` (as PyJWT's docs show),
fastapi-cloudauth's ``Cognito``, and amplify-session's ``CognitoBearer``. Each
JWKS is fetched once from the same loopback server before timing (a warm key
cache); tokens are signed by the test issuer's key. Two token streams: one token
repeated (a verifier that caches verified tokens answers from its cache) and a
new token per request (every request verified in full).

The requests are ASGI calls into the app in this process, one after the other,
with a prepared scope: no socket, no HTTP parser, no load client sharing the two
cores, so the difference between a row and the floor is the dependency's own
cost. Rounds alternate the rows; a row's rate is its fastest round (the one least
disturbed by the other processes of a shared machine), its median round shown beside.
benchmarks/serve_http.py measures the same rows end to end, through uvicorn.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations,
# and those naming a closure's variable (Depends(dependency)) must be evaluated in place.
import asyncio
import gc
import statistics
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any
from unittest import mock

import jwt as pyjwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import jwk
from jose import jwt as jose_jwt

from amplify_session import TokenVerifier
from amplify_session.integrations.fastapi import CognitoBearer
from tests.support.issuer import CLIENT_ID, ISSUER, POOL_ID, SigningKey, claims, jwks_server

with warnings.catch_warnings():
    # fastapi-cloudauth 0.4.3 (its last release) imports pydantic 1's
    # pydantic.error_wrappers, which pydantic 2 still serves with a warning.
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi_cloudauth import cognito as cloudauth

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
REQUESTS = {"same token": 2_000, "new token each": 700}
ROUNDS = 15
REGION = POOL_ID.split("_", 1)[0]


def route(dependency: Callable[..., Any]) -> FastAPI:
    """The app every row is measured through: one GET whose one dependency is ``dependency``."""
    app = FastAPI()

    @app.get("/me")
    async def me(principal: Annotated[Any, Depends(dependency)]) -> dict[str, bool]:
        return {"ok": True}

    return app


async def nothing() -> None:
    """The floor's dependency."""


def pyjwt_dependency(jwks: pyjwt.PyJWKClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """What PyJWT's docs show, in a dependency: the PyJWKClient's cached key, then decode.

    The claims amplify-session checks (token_use, client_id) are checked too, so
    both do the same work; async, as the others are (no thread hop).
    """
    security = HTTPBearer()

    async def verified(
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(security)],
    ) -> dict[str, Any]:
        token = credentials.credentials
        try:
            signing_key = jwks.get_signing_key_from_jwt(token)
            payload: dict[str, Any] = pyjwt.decode(
                token,
                signing_key,
                algorithms=["RS256"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss"]},
            )
        except pyjwt.PyJWTError:
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"}) from None
        if payload.get("token_use") != "access" or payload.get("client_id") != CLIENT_ID:
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
        return payload

    return verified


def cloudauth_dependency(jwks_url: str) -> cloudauth.Cognito:
    """fastapi-cloudauth's Cognito, its keys fetched (in its constructor) from ``jwks_url``.

    It always fetches https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json;
    only that address is changed, its verification is its own. It checks less than
    the other rows: an access token's ``client_id`` is not checked (any app client of
    the pool passes).
    """
    original = cloudauth.JWKS
    with mock.patch.object(cloudauth, "JWKS", side_effect=lambda url: original(url=jwks_url)):
        return cloudauth.Cognito(region=REGION, userPoolId=POOL_ID, client_id=CLIENT_ID)


def scope(token: str) -> dict[str, Any]:
    """The ASGI scope of ``GET /me`` with ``token`` as its bearer."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/me",
        "raw_path": b"/me",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def call(app: ASGIApp, token: str) -> int:
    """One request into ``app``; its status."""
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope(token), receive, send)
    return status


async def timed_round(app: ASGIApp, tokens: Iterator[str], count: int) -> tuple[float, int]:
    """Requests per second of ``count`` requests one after the other; how many got 200."""
    ok = 0
    start = time.perf_counter()
    for _ in range(count):
        ok += await call(app, next(tokens)) == 200
    return count / (time.perf_counter() - start), ok


def rows(
    rates: dict[str, list[float]],
    ok: dict[str, int],
    sent: int,
    pick: Callable[[list[float]], float] = max,
) -> dict[str, dict[str, float]]:
    """Each row's rate (``pick`` of its rounds), its cost over the floor's, and its ratios
    to the floor's and PyJWT's."""
    chosen = {name: pick(values) for name, values in rates.items()}
    floor, peer = chosen["floor"], chosen["PyJWT"]
    return {
        name: {
            "requests_per_s": rate,
            "best_round": max(rates[name]),
            "median_round": statistics.median(rates[name]),
            "us_over_floor": (1 / rate - 1 / floor) * 1e6,
            "of_floor": rate / floor,
            "of_pyjwt": rate / peer,
            "answered_200": float(ok[name]),
            "requests": float(sent),
        }
        for name, rate in chosen.items()
    }


async def _stream(
    apps: dict[str, ASGIApp], tokens: Callable[[int], list[str]], requests: int, rounds: int
) -> dict[str, dict[str, float]]:
    rates: dict[str, list[float]] = {name: [] for name in apps}
    ok = dict.fromkeys(apps, 0)
    order = list(apps)
    for _ in range(rounds):
        batch = tokens(requests)  # every row gets the round's tokens
        for name in order:
            gc.collect()  # the previous row's garbage is not this row's cost
            rate, answered = await timed_round(apps[name], iter(batch), requests)
            rates[name].append(rate)
            ok[name] += answered
        order = order[1:] + order[:1]  # no row always runs first (or last)
    return rows(rates, ok, requests * rounds)


def token_maker(key: SigningKey) -> Callable[[int], list[str]]:
    """``make(n)``: ``n`` new access tokens signed by ``key``, each with its own ``jti``."""
    # tests.support.issuer.mint loads the PEM key for each token (tens of ms): load it once.
    private_key = jwk.construct(key.private_pem.decode(), algorithm="RS256")
    serial = iter(range(10**9))

    def make(count: int) -> list[str]:
        return [
            jose_jwt.encode(
                claims(jti=str(next(serial))), private_key, "RS256", headers={"kid": key.kid}
            )
            for _ in range(count)
        ]

    return make


async def warm_apps(jwks_url: str, kid: str, verifier: TokenVerifier) -> dict[str, FastAPI]:
    """Each row's app, its dependency's key cache loaded with ``kid``'s key."""
    jwks = pyjwt.PyJWKClient(jwks_url, cache_keys=True)
    # Both peers fetch their keys with blocking calls: not on this loop, which may serve them.
    await asyncio.to_thread(jwks.get_signing_key, kid)
    cognito = await asyncio.to_thread(cloudauth_dependency, jwks_url)
    await verifier.jwks.key(kid)
    return {
        "floor": route(nothing),
        "PyJWT": route(pyjwt_dependency(jwks)),
        "fastapi-cloudauth": route(cognito),
        "amplify_session": route(CognitoBearer(verifier)),
    }


def verifier_for(jwks_url: str) -> TokenVerifier:
    return TokenVerifier(user_pool_id=POOL_ID, client_id=CLIENT_ID, jwks_url=jwks_url)


async def measure(
    requests: dict[str, int] | None = None, rounds: int = ROUNDS
) -> dict[str, dict[str, float]]:
    requests = requests or REQUESTS
    key = SigningKey.generate()
    new_tokens = token_maker(key)
    repeated = new_tokens(1)[0]
    async with jwks_server(key) as issuer, verifier_for(issuer.url) as verifier:
        apps: dict[str, ASGIApp] = dict(await warm_apps(issuer.url, key.kid, verifier))
        fetches = issuer.fetches
        results: dict[str, dict[str, float]] = {}
        for stream, count in requests.items():
            tokens = (lambda n: [repeated] * n) if stream == "same token" else new_tokens
            for name, row in (await _stream(apps, tokens, count, rounds)).items():
                results[f"{name} ({stream})"] = row
        if issuer.fetches != fetches:
            raise RuntimeError("a JWKS was fetched while timing: the caches were not warm")
    return results
