"""FakeCognito: an in-memory Cognito to pass as ``SessionManager(transport=...)``.

In the spirit of httpx's ``MockTransport``: no sockets, no threads, no moto.
It answers, in Cognito's own wire format (JSON 1.1, ``x-amzn-errortype``),
the calls this library makes: sign-in by password or SRP (checked for real,
server side) with an optional TOTP challenge, refresh by either API with
optional rotation, revocation, global sign-out, and the Identity Pool's
guest and authenticated credentials. Time is the clock you give it.
"""

from __future__ import annotations

import json
import secrets
import string
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio.lowlevel

from .._cognito._wire import CognitoRequest, CognitoResponse, Service
from .._config import AuthConfig, RetryPolicy
from ._fake_identity_pool import FakeIdentityPool
from ._fake_tokens import Clock, Holder, Lifetimes
from ._fake_user_pool import FakeUserPool
from ._fake_wire import Refused, bare_response, error_response, json_response

__all__ = ["FakeCognito", "Fault"]

#: What :meth:`FakeCognito.fail_next` injects: a Cognito error by name, a bare
#: HTTP status, or an exception (an ``OSError`` such as ``ConnectionError``
#: for a network failure) raised by ``send``.
Fault = str | int | BaseException | type[BaseException]

_Operation = Callable[[Mapping[str, Any]], dict[str, Any]]
_ALPHANUMERIC = string.ascii_letters + string.digits


class FakeCognito:
    """An in-memory Cognito User Pool (one app client) and Identity Pool.

    Use it as the transport of a manager built from its own configuration::

        fake = FakeCognito(clock=clock)
        fake.add_user("alice", "Passw0rd!", attributes={"email": "a@example.com"})
        async with SessionManager(fake.config(), transport=fake, clock=clock) as m:
            await m.sign_in("alice", "Passw0rd!")

    Args:
        clock: Where the time comes from (anything with ``.time()``, e.g. a
            ``FakeClock``); the system clock by default. Tokens, credentials
            and challenge sessions expire by it.
        region: The region in the pool ids.
        client_secret: Give the app client a secret: SECRET_HASH and
            ClientSecret are then required and checked.
        rotate_refresh_tokens: The app client rotates refresh tokens: only
            GetTokensFromRefreshToken refreshes, and each use replaces the token.
        allow_guest_access: The Identity Pool serves guests.
        access_token_lifetime: Seconds; Cognito's default is an hour.
        id_token_lifetime: Seconds; the access token's by default.
        refresh_token_lifetime: Seconds; Cognito's default is 30 days.
        credentials_lifetime: Seconds the AWS credentials last.

    Attributes:
        calls: The operation names received, in order (with the failed
            ones); never their content. Clear it at will.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        client_secret: str | None = None,
        rotate_refresh_tokens: bool = False,
        allow_guest_access: bool = True,
        access_token_lifetime: float = 3600.0,
        id_token_lifetime: float | None = None,
        refresh_token_lifetime: float = 30 * 86400.0,
        credentials_lifetime: float = 3600.0,
    ) -> None:
        self._clock: Clock = clock if clock is not None else time
        self.region = region
        self._client_secret = client_secret
        lifetimes = Lifetimes(
            access_token=access_token_lifetime,
            id_token=access_token_lifetime if id_token_lifetime is None else id_token_lifetime,
            refresh_token=refresh_token_lifetime,
            credentials=credentials_lifetime,
        )
        self._user_pool = FakeUserPool(
            pool_id=f"{region}_Fake{_random(_ALPHANUMERIC, 5)}",
            client_id=_random(string.ascii_lowercase + string.digits, 26),
            client_secret=client_secret,
            rotation=rotate_refresh_tokens,
            lifetimes=lifetimes,
            clock=self._clock,
        )
        self._identity_pool = FakeIdentityPool(
            pool_id=f"{region}:{uuid.uuid4()}",
            provider=f"cognito-idp.{region}.amazonaws.com/{self._user_pool.pool_id}",
            issuer=self._user_pool.issuer,
            client_id=self._user_pool.client_id,
            allow_guests=allow_guest_access,
            lifetimes=lifetimes,
            clock=self._clock,
        )
        self._routes: dict[tuple[Service, str], _Operation] = {
            **{(Service.USER_POOL, n): f for n, f in self._user_pool.operations().items()},
            **{(Service.IDENTITY_POOL, n): f for n, f in self._identity_pool.operations().items()},
        }
        self._faults: dict[str, deque[Fault]] = {}
        self.calls: list[str] = []

    def __repr__(self) -> str:
        return (
            f"FakeCognito(user_pool_id={self.user_pool_id!r}, "
            f"client_id={self.client_id!r}, calls={len(self.calls)})"
        )

    @property
    def user_pool_id(self) -> str:
        """The User Pool's id, e.g. ``us-east-1_FakeAb3dE``."""
        return self._user_pool.pool_id

    @property
    def client_id(self) -> str:
        """The app client's id."""
        return self._user_pool.client_id

    @property
    def identity_pool_id(self) -> str:
        """The Identity Pool's id, e.g. ``us-east-1:<uuid>``."""
        return self._identity_pool.pool_id

    @property
    def refreshes(self) -> int:
        """How many token refreshes were answered with tokens (by either API)."""
        return self._user_pool.refreshes

    def config(self, **overrides: Any) -> AuthConfig:
        """An :class:`AuthConfig` for this fake: its pool ids, client and secret.

        Retries do not wait (a test that injects throttling need not sleep);
        ``overrides`` sets any field, e.g. ``identity_pool_id=None`` for tokens only.
        """
        fields: dict[str, Any] = {
            "user_pool_id": self.user_pool_id,
            "user_pool_client_id": self.client_id,
            "client_secret": self._client_secret,
            "identity_pool_id": self.identity_pool_id,
            "retry": RetryPolicy(wait_initial=0.0, wait_max=0.0, wait_jitter=0.0),
        }
        return AuthConfig(**{**fields, **overrides})

    def add_user(
        self,
        username: str,
        password: str,
        *,
        attributes: Mapping[str, str] | None = None,
        groups: Sequence[str] = (),
        mfa_code: str | None = None,
    ) -> str:
        """Add a confirmed user and return their ``sub``.

        Args:
            username: Their Cognito username.
            password: Kept only as an SRP verifier.
            attributes: User attributes for the id token (``email``, ``custom:x``...).
            groups: Their ``cognito:groups``.
            mfa_code: Require a SOFTWARE_TOKEN_MFA challenge after the password,
                answered by this code.

        Raises:
            ValueError: The username is empty or taken.
        """
        holder = Holder(
            username=username,
            sub=str(uuid.uuid4()),
            attributes=dict(attributes or {}),
            groups=tuple(groups),
        )
        self._user_pool.add_user(holder, password, mfa_code)
        return holder.sub

    def fail_next(self, operation: str, fault: Fault, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``fault``.

        Args:
            operation: The API action, e.g. ``"InitiateAuth"`` or ``"GetId"``.
            fault: A Cognito error name (``"TooManyRequestsException"``, sent
                as Cognito sends it), an HTTP status with no body (``503``), or
                an exception for ``send`` to raise (``ConnectionError()``: the
                client sees a network failure).
            times: How many calls in a row fail.

        Raises:
            ValueError: ``times`` is less than 1.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.setdefault(operation, deque()).extend([fault] * times)

    async def send(self, request: CognitoRequest) -> CognitoResponse:
        """Answer ``request`` as Cognito would (see :class:`amplify_session.Transport`)."""
        await anyio.lowlevel.checkpoint()  # a real call lets other tasks run
        self.calls.append(request.operation)
        now = self._clock.time()
        fault = self._take_fault(request.operation)
        if isinstance(fault, (BaseException, type)):
            raise fault
        if isinstance(fault, int):
            return bare_response(fault, now)
        if fault is not None:
            return error_response(fault, "Injected by FakeCognito.fail_next.", now)
        try:
            return json_response(self._answer(request), now)
        except Refused as refusal:
            return error_response(refusal.name, refusal.message, now)

    async def aclose(self) -> None:
        """Nothing to release; here so the fake is a complete ``Transport``."""

    def _answer(self, request: CognitoRequest) -> dict[str, Any]:
        operation = self._routes.get((request.service, request.operation))
        if operation is None:
            raise Refused("UnknownOperationException", "Unknown operation.")
        try:
            body = json.loads(request.body)
        except ValueError:
            raise Refused("SerializationException", "The request is not JSON.") from None
        if not isinstance(body, dict):
            raise Refused("SerializationException", "The request is not a JSON object.")
        return operation(body)

    def _take_fault(self, operation: str) -> Fault | None:
        queue = self._faults.get(operation)
        return queue.popleft() if queue else None


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
