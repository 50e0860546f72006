"""Tokens the emulator issues, a verifier trusting their pools, and the RFC 6750 cases
every server integration (FastAPI, aiohttp, ASGI) must answer alike.

Three pools: users (two app clients: the trusted one and another), machines
(client_credentials with ``orders/read`` and ``orders/write``), and a pool of
two-second tokens whose token the verifier's fake clock has left behind. Each
integration serves ``/public`` (no token), ``/me`` (any valid token) and
``/orders/write`` (the ``orders/write`` scope) under ``realm="api"``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import anyio
import attrs
from multidict import CIMultiDict

from amplify_session import (
    ClientCredentialsConfig,
    SessionManager,
    TokenVerifier,
    TrustedPool,
    decode_jwt,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.issuer import SigningKey, mint, mint_unsigned
from tests.support.retry import fast_retry

REALM = "api"
MAX_TOKEN = 4096


def add_client(emulator: Emulator, pool: EmulatedPool) -> str:
    """A second app client of ``pool`` (SRP sign-in, like the first)."""
    answer = emulator.client("cognito-idp").create_user_pool_client(
        UserPoolId=pool.user_pool_id,
        ClientName="second",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    return str(answer["UserPoolClient"]["ClientId"])


async def user_tokens(
    pool: EmulatedPool, client_id: str | None = None, **overrides: Any
) -> tuple[str, str]:
    """(access, id) tokens of the pool's user signed in through ``client_id``."""
    client = client_id or pool.client_id
    config = pool.config(identity_pool_id=None, user_pool_client_id=client, **overrides)
    async with SessionManager(config) as manager:
        await manager.sign_in(pool.username, pool.password)
        session = await manager.fetch_auth_session()
    assert session.tokens is not None
    assert session.tokens.id_token is not None
    return str(session.tokens.access_token), str(session.tokens.id_token)


async def machine_token(pool: EmulatedPool, *scopes: str) -> str:
    assert pool.domain is not None
    assert pool.client_secret is not None
    config = ClientCredentialsConfig(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        client_secret=pool.client_secret,
        domain=pool.domain,
        scopes=scopes,
        retry=fast_retry(2),
    )
    async with SessionManager(config) as manager:
        session = await manager.fetch_auth_session()
    assert session.tokens is not None
    return str(session.tokens.access_token)


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@attrs.frozen
class Case:
    """A request and the answer every integration must give it."""

    name: str
    path: str
    authorization: str | tuple[str, ...] | None  # a tuple: several headers
    status: int
    challenge: str | None = None  # the exact WWW-Authenticate, None: none at all


def _challenge(error: str, description: str, scope: str | None = None) -> str:
    value = f'Bearer realm="{REALM}", error="{error}", error_description="{description}"'
    return value + (f', scope="{scope}"' if scope else "")


@attrs.frozen
class World:
    verifier: TokenVerifier
    user_access: str
    cases: tuple[Case, ...]
    secrets: tuple[str, ...]  # token texts no answer or log may carry

    def leaked(self, text: str) -> list[str]:
        """Which secrets (or their signatures) appear in ``text``."""
        found = []
        for secret in self.secrets:
            signature = secret.rpartition(".")[2][:40]
            if secret in text or (len(signature) >= 20 and signature in text):
                found.append(secret[-8:])
        return found


@asynccontextmanager
async def bearer_world(emulator: Emulator, users: EmulatedPool) -> AsyncIterator[World]:
    """Provision the machines' and the short-lived pools next to ``users`` (the
    ``pool`` fixture's), get their tokens, and build the verifier and the cases."""
    machines = emulator.provision(
        username="robot",
        generate_secret=True,
        oauth_flows=("client_credentials",),
        resource_servers={"orders": ("read", "write")},
    )
    short = emulator.provision(username="carol", token_validity=timedelta(seconds=2))
    other_client = add_client(emulator, users)
    user_access, user_id = await user_tokens(users)
    stranger_access, _ = await user_tokens(users, other_client)
    short_access, _ = await user_tokens(short, expiry_tolerance=0.1, refresh_window=0.5)
    writer = await machine_token(machines, "orders/read", "orders/write")
    reader = await machine_token(machines, "orders/read")

    clock = FakeClock()
    clock.advance(60)  # the short pool's token is now expired; the others have an hour
    pools = [
        TrustedPool(user_pool_id=p.user_pool_id, client_id=p.client_id, jwks_url=_jwks(emulator, p))
        for p in (users, machines, short)
    ]
    verifier = TokenVerifier(pools=pools, clock=clock, max_token_length=MAX_TOKEN)

    header, payload, signature = user_access.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    genuine = decode_jwt(user_access)
    impostor = attrs.evolve(SigningKey.generate(), kid=genuine.header["kid"])
    same_kid = mint(impostor, dict(genuine.payload))
    alg_none = mint_unsigned(dict(genuine.payload), {"alg": "none", "kid": genuine.header["kid"]})
    escalated = _b64(json.dumps({**genuine.payload, "cognito:groups": ["admins"]}).encode())
    long_token = f"{header}.{payload}.{signature * (MAX_TOKEN // len(signature) + 1)}"

    bare = f'Bearer realm="{REALM}"'
    invalid = "invalid_token"
    cases = (
        Case("public, no token", "/public", None, 200),
        Case("a user's access token", "/me", f"Bearer {user_access}", 200),
        Case("lower-case scheme", "/me", f"bearer {user_access}", 200),
        Case("a machine token with the scope", "/orders/write", f"Bearer {writer}", 200),
        Case("missing header", "/me", None, 401, bare),
        Case("another scheme", "/me", "Basic dXNlcjpwYXNz", 401, bare),
        Case(
            "two Authorization headers",
            "/me",
            (f"Bearer {user_access}", f"Bearer {user_access}"),
            400,
            _challenge("invalid_request", "send one Authorization header"),
        ),
        Case(
            "no token after Bearer",
            "/me",
            "Bearer",
            400,
            _challenge("invalid_request", "the header is not 'Bearer <token>'"),
        ),
        Case(
            "two tokens",
            "/me",
            f"Bearer {user_access} {writer}",
            400,
            _challenge("invalid_request", "the header is not 'Bearer <token>'"),
        ),
        Case(
            "expired",
            "/me",
            f"Bearer {short_access}",
            401,
            _challenge(invalid, "the token has expired"),
        ),
        Case(
            "wrong audience (another client)",
            "/me",
            f"Bearer {stranger_access}",
            401,
            _challenge(invalid, "the token is for another app client"),
        ),
        Case(
            "an id token for an access token",
            "/me",
            f"Bearer {user_id}",
            401,
            _challenge(invalid, "the token is not an access token"),
        ),
        Case(
            "wrong scope",
            "/orders/write",
            f"Bearer {reader}",
            403,
            _challenge("insufficient_scope", "the token lacks a required scope", "orders/write"),
        ),
        Case(
            "a user token without the scope",
            "/orders/write",
            f"Bearer {user_access}",
            403,
            _challenge("insufficient_scope", "the token lacks a required scope", "orders/write"),
        ),
        Case(
            "tampered signature",
            "/me",
            f"Bearer {header}.{payload}.{flipped}",
            401,
            _challenge(invalid, "the token's signature is not valid"),
        ),
        Case(
            "tampered claims",
            "/me",
            f"Bearer {header}.{escalated}.{signature}",
            401,
            _challenge(invalid, "the token's signature is not valid"),
        ),
        Case(
            "alg none",
            "/me",
            f"Bearer {alg_none}",
            401,
            _challenge(invalid, "algorithm 'none' is not allowed (only RS256)"),
        ),
        Case(
            "another key with the same kid",
            "/me",
            f"Bearer {same_kid}",
            401,
            _challenge(invalid, "the token's signature is not valid"),
        ),
        Case(
            "a token longer than the verifier takes",
            "/me",
            f"Bearer {long_token}",
            401,
            _challenge(invalid, f"a token must be a str of at most {MAX_TOKEN} chars"),
        ),
    )
    secrets = (user_access, user_id, stranger_access, short_access, writer, reader, same_kid)
    try:
        yield World(verifier, user_access, cases, (*secrets, alg_none))
    finally:
        await verifier.aclose()


def _jwks(emulator: Emulator, pool: EmulatedPool) -> str:
    return f"{emulator.url}/{pool.user_pool_id}/.well-known/jwks.json"


@attrs.frozen
class Answer:
    status: int
    headers: Mapping[str, str]
    body: str


async def ask(base: str, case: Case) -> Answer:
    values = case.authorization
    values = () if values is None else (values,) if isinstance(values, str) else values
    return await get(base + case.path, CIMultiDict(("Authorization", v) for v in values))


async def get(url: str, headers: Mapping[str, str]) -> Answer:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers=headers, allow_redirects=False) as response,
    ):
        return Answer(response.status, dict(response.headers), await response.text())


def mismatches(world: World, answers: Mapping[str, Answer]) -> list[str]:
    """What differs from each case's expected answer (empty when all is as expected)."""
    problems = []
    for case in world.cases:
        answer = answers[case.name]
        challenge = answer.headers.get("WWW-Authenticate")
        if (answer.status, challenge) != (case.status, case.challenge):
            problems.append(f"{case.name}: {answer.status} {challenge!r}")
        if world.leaked(answer.body) or world.leaked(json.dumps(dict(answer.headers))):
            problems.append(f"{case.name}: the answer carries a token")
    return problems


async def huge_header_answer(url: str) -> int | None:
    """The status a 64 KiB Authorization header gets (None: the server hung up)."""
    try:
        answer = await get(url, {"Authorization": "Bearer " + "A" * 65536})
    except aiohttp.ClientError:
        return None
    return answer.status


@asynccontextmanager
async def uvicorn_server(app: Any) -> AsyncIterator[str]:
    """Serve the ASGI ``app`` with a real uvicorn on 127.0.0.1; yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve, [sock])
            with anyio.fail_after(10):
                while not server.started:
                    await anyio.sleep(0.01)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
    finally:
        sock.close()
