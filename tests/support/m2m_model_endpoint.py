"""The token endpoint of the M2M model test: an OAuth domain on 127.0.0.1 that the test scripts.

It serves ``POST /m<index>/oauth2/token`` (each manager of the model has its own
path, so every request is known by who sent it) and answers the
``client_credentials`` grant as Cognito does: HTTP Basic with the app client's
id and secret (a wrong secret is always ``invalid_client``), then whatever the
test scripted (:data:`KINDS`), a good token otherwise. Its tokens' ``iat`` and
``exp`` follow the server's own :class:`FakeClock` (whole seconds, as
Cognito's), which the test advances with the managers' clocks and never steps:
it is the true time of the model.

It runs in the event loop of the managers it serves, so it reads the clocks
at the very moment a request arrives (the test moves them only when no
request is in flight).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import attrs
from aiohttp import web

from amplify_session.emulator._loopback import serve_on_loopback
from amplify_session.testing import FakeClock

__all__ = [
    "BAD_TOKENS",
    "GOOD",
    "KINDS",
    "REFUSALS",
    "TRANSIENT",
    "Minted",
    "Request",
    "TokenEndpoint",
    "token_endpoint",
]

#: Answers with a usable token (``slow`` after a short real delay).
GOOD = frozenset({"token", "slow"})
#: Refusals (RFC 6749 §5.2), by the OAuth error they name; ``echo`` is an
#: ``invalid_client`` whose description quotes the secret and the Basic header.
REFUSALS: Mapping[str, str] = {
    "invalid_client": "invalid_client",
    "invalid_scope": "invalid_scope",
    "unauthorized_client": "unauthorized_client",
    "echo": "invalid_client",
    "wrong_secret": "invalid_client",  # not scripted: a request with a wrong secret
}
#: Failures the client retries: 5xx, throttling, a dropped connection, no answer in time.
TRANSIENT = frozenset({"503", "429", "reset", "stall"})
#: Answers that are not this client's usable access token.
BAD_TOKENS = frozenset({"other_client", "expired", "short", "html"})
#: What the test can script.
KINDS = tuple(sorted(GOOD | TRANSIENT | BAD_TOKENS | (set(REFUSALS) - {"wrong_secret"})))

SLOW = 0.2  # seconds a slow answer takes (within the managers' request timeout)


@attrs.frozen
class Minted:
    """A token the endpoint issued."""

    raw: str = attrs.field(repr=False)
    kind: str  # the answer it was part of (GOOD tokens are this client's, usable)
    manager: int
    iat: int
    exp: int


@attrs.frozen
class Request:
    """One token request: who sent it, what it was answered, the model's time then."""

    manager: int
    kind: str
    monotonic: float  # the server's fake monotonic clock
    jti: str | None = None  # the token answered, if any


@attrs.define(eq=False)
class TokenEndpoint:
    """The scripted token endpoint (see the module docstring)."""

    clock: FakeClock
    client_id: str
    secret: str = attrs.field(repr=False)
    lifetime: int
    scope: str
    #: How long a ``stall`` holds its answer: beyond the managers' request timeout.
    stall: float
    url: str = ""
    #: The next answers, in order (consumed by whoever asks with the right secret).
    script: deque[str] = attrs.field(factory=deque)
    #: The answer once the script is spent (None: a good token).
    sticky: str | None = None
    requests: list[Request] = attrs.field(factory=list, repr=False)
    minted: dict[str, Minted] = attrs.field(factory=dict, repr=False)
    in_flight: int = 0
    #: Real time of the last request's arrival or answer (the test's quiet detector).
    last_activity: float = attrs.field(factory=time.monotonic)

    def domain(self, manager: int) -> str:
        """The OAuth domain manager ``manager`` is configured with."""
        return f"{self.url}/m{manager}"

    def tell(self, answers: list[str], sticky: str | None) -> None:
        """Answer ``answers`` next, then ``sticky`` (None: good tokens) until told otherwise."""
        self.script = deque(answers)
        self.sticky = sticky

    def recover(self) -> None:
        """Good tokens from now on."""
        self.tell([], None)

    @property
    def healthy(self) -> bool:
        """Whether the next answers are good tokens."""
        return not self.script and self.sticky is None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.last_activity = time.monotonic()
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1
            self.last_activity = time.monotonic()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        manager = int(request.match_info["manager"])
        form = await request.post()
        if not self._authenticated(request.headers.get("Authorization", "")):
            kind = "wrong_secret"
        elif form.get("grant_type") != "client_credentials":
            raise AssertionError("the model's managers only ask for client_credentials")
        else:
            kind = self.script.popleft() if self.script else (self.sticky or "token")
        at = self.clock.monotonic()
        if kind in ("reset", "stall"):
            self.requests.append(Request(manager, kind, at))
            if kind == "stall":  # the manager gives up first: its request timeout is shorter
                await asyncio.sleep(self.stall)
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if kind == "slow":
            await asyncio.sleep(SLOW)
        status, body, jti = self._reply(kind, manager, request.headers.get("Authorization", ""))
        self.requests.append(Request(manager, kind, at, jti))
        if kind == "html":
            return web.Response(status=200, text=body, content_type="text/html")
        return web.Response(status=status, text=body, content_type="application/json")

    def _authenticated(self, authorization: str) -> bool:
        if not authorization.startswith("Basic "):
            return False
        try:
            pair = base64.b64decode(authorization.removeprefix("Basic ")).decode()
        except ValueError:
            return False
        client_id, _, secret = pair.partition(":")
        return unquote_plus(client_id) == self.client_id and unquote_plus(secret) == self.secret

    def _reply(self, kind: str, manager: int, authorization: str) -> tuple[int, str, str | None]:
        if kind in GOOD or kind in BAD_TOKENS - {"html"}:
            raw, jti = self._mint(kind, manager)
            body = {"access_token": raw, "expires_in": self.lifetime, "token_type": "Bearer"}
            return 200, json.dumps(body), jti
        if kind == "html":
            return 200, "<html><body>Sign in to continue</body></html>", None
        if kind == "503":
            return 503, json.dumps({"error": "server_error"}), None
        if kind == "429":
            return 429, json.dumps({"error": "slow_down"}), None
        # A server that quotes what it was sent (the library must scrub it).
        description = {
            "echo": f"bad secret {self.secret} ({quote_plus(self.secret)}) in {authorization}",
            "wrong_secret": f"unknown client credentials: {authorization}",
        }.get(kind, "the client is not allowed this")
        return 400, json.dumps({"error": REFUSALS[kind], "error_description": description}), None

    def _mint(self, kind: str, manager: int) -> tuple[str, str]:
        iat = int(self.clock.time())
        exp = {"expired": iat - 60, "short": iat + 1}.get(kind, iat + self.lifetime)
        jti = secrets.token_hex(8)
        claims: dict[str, Any] = {
            "sub": "another-client" if kind == "other_client" else self.client_id,
            "client_id": "another-client" if kind == "other_client" else self.client_id,
            "token_use": "access",
            "scope": self.scope,
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_M2mModel",
            "iat": iat,
            "exp": exp,
            "auth_time": iat,
            "jti": jti,
            "version": 2,
        }
        header = {"alg": "RS256", "kid": "model-key", "typ": "JWT"}
        signature = secrets.token_bytes(32)  # never checked by clients; makes each token unique
        raw = ".".join(_b64(part) for part in (_json(header), _json(claims), signature))
        self.minted[jti] = Minted(raw, kind, manager, iat, exp)
        return raw, jti


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@asynccontextmanager
async def token_endpoint(
    clock: FakeClock,
    *,
    client_id: str,
    secret: str,
    lifetime: int,
    scope: str,
    stall: float,
) -> AsyncIterator[TokenEndpoint]:
    """A :class:`TokenEndpoint` on 127.0.0.1, in the running event loop."""
    endpoint = TokenEndpoint(clock, client_id, secret, lifetime, scope, stall)
    app = web.Application()
    app.router.add_post("/m{manager:\\d+}/oauth2/token", endpoint.handle)
    async with serve_on_loopback(app) as base:
        endpoint.url = base
        yield endpoint
