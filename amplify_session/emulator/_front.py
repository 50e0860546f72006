"""The strict front: Cognito's strictness in front of moto, on 127.0.0.1.

moto accepts any SRP proof and any SECRET_HASH on sign-in, and answers 500
to RevokeToken and GetTokensFromRefreshToken. The front, an aiohttp server
in a thread of its own, handles the User Pool calls where moto is lax
(``_operations.py``) and forwards everything else (Identity Pool calls
included) to moto:

- USER_SRP_AUTH with real server-side SRP-6a: a wrong password fails the proof;
- SECRET_HASH checked on InitiateAuth, RespondToAuthChallenge and refresh (from
  the token owner's Cognito username, as Cognito does);
- RevokeToken, GlobalSignOut, and GetTokensFromRefreshToken with rotation for
  app clients created with ``RefreshTokenRotation={"Feature": "ENABLED"}``
  (such clients refuse REFRESH_TOKEN_AUTH);
- every sign-in flow and step of Amplify v6 (``_sign_in.py``): CUSTOM_AUTH
  with or without SRP (:meth:`StrictFront.script_custom_challenge`),
  USER_AUTH with its first factors and SELECT_CHALLENGE, NEW_PASSWORD_REQUIRED
  for a temporary password, the pool's MFA (SMS, TOTP checked with pyotp,
  email) and MFA_SETUP with AssociateSoftwareToken / VerifySoftwareToken;
  challenge sessions expire and count wrong codes; codes are "delivered" to
  :attr:`StrictFront.sent_codes`;
- any challenge after the password, planned by a test (:meth:`StrictFront.plan_challenges`);
- device tracking, in pools created with ``DeviceConfiguration``: new devices
  (``NewDeviceMetadata``), ConfirmDevice, UpdateDeviceStatus, ForgetDevice,
  ListDevices, GetDevice, refresh tokens bound to their device, and
  DEVICE_SRP_AUTH with a real device SRP proof for a remembered device,
  which then skips MFA;
- the pools' OAuth 2.0 domain (``_oauth.py``): ``POST /oauth2/token``
  (client_credentials, authorization_code with PKCE, refresh_token),
  ``GET /oauth2/authorize`` (approves at once as :meth:`StrictFront.approve_as`
  says) and ``GET /logout``, named ``OAuth2Token``, ``OAuth2Authorize`` and
  ``Logout`` in ``calls`` and for :meth:`StrictFront.inject`;
- faults on any operation (:meth:`StrictFront.inject`).

Tokens still come from moto: the front signs in to moto with the user's
password once the user has proved it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from ._challenges import Plan
from ._codes import SentCode
from ._custom_auth import CustomRound
from ._devices import DeviceSnapshot
from ._faults import Fault, FaultInjector, fault_response
from ._loopback import serve_on_loopback
from ._oauth import ROUTES, OAuthCall, OAuthDomain
from ._operations import CognitoOperations
from ._upstream import Upstream
from ._wire import IDENTITY, IDP, Refused, error_response, json_response

__all__ = ["StrictFront"]


class StrictFront:
    """A strict Cognito in front of moto's server at ``upstream``.

    Test controls, besides the methods:

    - ``calls``, ``requests``, ``timeline``: every call, as it came;
    - ``mfa_code``: the code every delivered one-time code has ("123456"
      unless set), and the answer of an unscripted custom challenge;
    - ``sent_codes``: every code delivered, in order (:class:`SentCode`);
    - ``session_ttl``: seconds a challenge session lives (180 unless set);
    - ``code_attempts``: wrong codes a challenge session takes (3 unless set);
    - ``device_proofs``: DEVICE_PASSWORD_VERIFIER proofs counted as
      ``"accepted"`` or ``"refused"``;
    - :meth:`devices`: a user's devices as the front keeps them;
    - :meth:`totp_secrets`: the TOTP secret a user set up at sign-in;
    - the OAuth domain's: ``code_ttl`` (seconds an authorization code lives,
      300 unless set), :meth:`approve_as`, :meth:`deny`,
      ``authorize_requests`` and ``logouts``.

    :meth:`reset` forgets all of it, devices and scripts included.
    """

    def __init__(self, upstream: str) -> None:
        self._upstream_url = upstream.rstrip("/") + "/"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._stopping = False
        self._answering: set[asyncio.Task[Any]] = set()  # requests being answered
        self._lock = threading.Lock()
        self._faults = FaultInjector()
        self._cognito = CognitoOperations()
        self._oauth = OAuthDomain(self._cognito)
        #: Calls per operation name.
        self.calls: Counter[str] = Counter()
        #: (operation, request body) of every call, in order.
        self.requests: list[tuple[str, dict[str, Any]]] = []
        #: (wall-clock time, operation) of every call, in order.
        self.timeline: list[tuple[float, str]] = []

    def __repr__(self) -> str:
        return f"StrictFront(port={self._port})"

    # -- control, from the tests' thread --------------------------------------

    @property
    def url(self) -> str:
        """The front's base URL: the Cognito endpoint to configure."""
        return f"http://127.0.0.1:{self._port}/"

    @property
    def injected(self) -> Counter[str]:
        """Faults injected per operation."""
        return self._faults.injected

    @property
    def mfa_code(self) -> str:
        """The code of every one-time code delivered: SMS_MFA, EMAIL_OTP, SMS_OTP ("123456")."""
        return self._cognito.sign_ins.mfa_code

    @mfa_code.setter
    def mfa_code(self, code: str) -> None:
        self._cognito.sign_ins.mfa_code = code

    @property
    def sent_codes(self) -> list[SentCode]:
        """Every code delivered, in order."""
        return self._cognito.sign_ins.codes.sent

    @property
    def session_ttl(self) -> float:
        """Seconds each challenge session lives from when it is issued (Cognito: 180)."""
        return self._cognito.sign_ins.sessions.session_ttl

    @session_ttl.setter
    def session_ttl(self, seconds: float) -> None:
        self._cognito.sign_ins.sessions.session_ttl = seconds

    @property
    def code_attempts(self) -> int:
        """Wrong codes a challenge session takes before the next wrong one ends it (3)."""
        return self._cognito.sign_ins.sessions.code_attempts

    @code_attempts.setter
    def code_attempts(self, attempts: int) -> None:
        self._cognito.sign_ins.sessions.code_attempts = attempts

    def script_custom_challenge(self, user_pool_id: str, *rounds: CustomRound) -> None:
        """What the pool's custom-auth Lambdas do, for its CUSTOM_AUTH sign-ins from now on.

        Round i is issued as CUSTOM_CHALLENGE with ChallengeParameters
        ``{"USERNAME": <Cognito's username>, **rounds[i].parameters}``; its
        answer issues the next round, or the tokens after the last; a wrong
        answer fails the sign-in (``NotAuthorizedException``). Unscripted, a
        pool asks one round: ``CustomRound({"question": "code?"}, answer=mfa_code)``.
        """
        self._cognito.sign_ins.scripts.script(user_pool_id, rounds)

    def totp_secrets(self, user_pool_id: str, username: str) -> str | None:
        """The TOTP secret the user set up at sign-in (MFA_SETUP), if any.

        Raises:
            LookupError: No such pool or user.
        """
        try:
            return self._cognito.totp_secret_of(user_pool_id, username)
        except Refused as refused:
            raise LookupError(refused.message) from None

    @property
    def device_proofs(self) -> Counter[str]:
        """DEVICE_PASSWORD_VERIFIER proofs: ``"accepted"`` and ``"refused"`` counts."""
        return self._cognito.device_proofs

    def devices(self, user_pool_id: str, username: str) -> list[DeviceSnapshot]:
        """A read-only snapshot of a user's devices, confirmed or not, oldest first.

        Args:
            user_pool_id: The pool.
            username: The user, as they sign in (username or alias).

        Raises:
            LookupError: No such pool or user.
        """
        try:
            return self._cognito.devices_of(user_pool_id, username)
        except Refused as refused:
            raise LookupError(refused.message) from None

    @property
    def issued_access_keys(self) -> list[str]:
        """The access key id of every set of Identity Pool credentials handed out, in order."""
        return self._cognito.issued_access_keys

    # -- the OAuth domain ----------------------------------------------------------

    @property
    def code_ttl(self) -> float:
        """Seconds an authorization code lives from when /oauth2/authorize issues it (300)."""
        return self._oauth.code_ttl

    @code_ttl.setter
    def code_ttl(self, seconds: float) -> None:
        self._oauth.code_ttl = seconds

    def approve_as(self, user_pool_id: str, username: str) -> None:
        """The pool's /oauth2/authorize approves as this user from now on.

        Until then (and after :meth:`reset`), the pool's oldest user approves:
        the one :meth:`Emulator.provision` made. Ends a :meth:`deny`.

        Raises:
            LookupError: No such pool, or no such user who can sign in.
        """
        self._oauth.approve_as(user_pool_id, username)

    def deny(self, user_pool_id: str, error: str = "access_denied") -> None:
        """The pool's /oauth2/authorize redirects with ``error`` (and ``state``) from now on.

        Until :meth:`approve_as` or :meth:`reset`.
        """
        self._oauth.deny(user_pool_id, error)

    @property
    def authorize_requests(self) -> list[dict[str, str]]:
        """The parameters of every /oauth2/authorize request, in order."""
        return self._oauth.authorize_requests

    @property
    def logouts(self) -> list[tuple[str, str]]:
        """(client id, logout_uri) of every /logout that redirected, in order."""
        return self._oauth.logouts

    def reset(self) -> None:
        """Forget sessions, revocations, plans, scripts, codes, devices, faults and counts.

        ``mfa_code``, ``session_ttl``, ``code_attempts`` and ``code_ttl`` are
        back to their defaults; approvals and denials are forgotten.
        """
        with self._lock:
            self._cognito.reset()
            self._oauth.reset()
            self._faults.reset()
            self.calls.clear()
            self.requests.clear()
            self.timeline.clear()

    def inject(self, operation: str, fault: Fault, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``operation`` ("*" for any) with a fault.

        Args:
            operation: e.g. ``"InitiateAuth"``, ``"GetId"``.
            fault: an HTTP status (500, 503, 429...), a Cognito error name
                (``"TooManyRequestsException"``, a 400), ``"reset"`` (drop the
                connection), ``"stall"`` (never answer), a float: answer
                normally after that many seconds, or ``"late:<seconds>"``: do
                the work at once (a refresh token is rotated, say) and send
                the answer that many seconds later.
        """
        self._faults.inject(operation, fault, times=times)

    def clear_faults(self) -> None:
        """Stop injecting faults (scripted and random)."""
        self._faults.clear()

    def chaos(
        self,
        rate: float,
        faults: tuple[Fault, ...],
        *,
        operations: tuple[str, ...] = ("*",),
        seed: int = 0,
    ) -> None:
        """From now on, fault each call of ``operations`` with probability ``rate``.

        Each faulted call gets one of ``faults`` at random (as :meth:`inject`
        takes them); ``injected`` counts them per operation.
        """
        self._faults.chaos(rate, faults, operations, seed)

    def plan_challenges(
        self,
        *names: str,
        code: str = "123456",
        required_attributes: tuple[str, ...] = (),
        session_ttl: float | None = None,
    ) -> None:
        """Make the next password sign-in answer these challenges after the password.

        They replace the pool's MFA for that sign-in.

        Args:
            names: ``SMS_MFA``, ``SOFTWARE_TOKEN_MFA``, ``EMAIL_OTP``,
                ``SELECT_MFA_TYPE``, ``NEW_PASSWORD_REQUIRED``, in order.
            code: The MFA code that is accepted.
            required_attributes: For NEW_PASSWORD_REQUIRED.
            session_ttl: Seconds before each challenge session expires
                (None: ``session_ttl``).
        """
        plan = Plan(list(names), code, required_attributes, session_ttl)
        self._cognito.sign_ins.sessions.plan(plan)

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Serve on a free port of 127.0.0.1 from a thread of its own."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        """Stop serving."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._stop = self._thread = None

    def _run(self, ready: threading.Event) -> None:
        # This loop is the emulator's, not the user's: its slow steps (server-side
        # SRP, moto's work holding the GIL) are nothing a user of Python's
        # development mode can act on, so it does not report them.
        asyncio.run(self._serve(ready), debug=False)

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        self._stopping = False
        app = web.Application()
        app.router.add_post("/", self._handle)
        app.router.add_get("/{pool}/.well-known/jwks.json", self._handle)
        for path, (method, _) in ROUTES.items():
            app.router.add_route(method, path, self._handle)
        async with aiohttp.ClientSession() as http, serve_on_loopback(app) as url:
            self._port = int(url.rsplit(":", 1)[1])
            self._cognito.connect(Upstream(self._upstream_url, http))
            ready.set()
            await self._stop
            await self._end_answers()

    async def _end_answers(self) -> None:
        """Cancel the answers under way (aiohttp's shutdown lets them run on).

        An answer whose client gave up (a manager closed meanwhile) may still be
        waiting on moto: closing the upstream session under it would end it in a
        ``ServerDisconnectedError`` or ``Session is closed``, logged with a traceback.
        """
        self._stopping = True
        answers = list(self._answering)
        for answer in answers:
            answer.cancel()
        await asyncio.gather(*answers, return_exceptions=True)

    # -- dispatch -------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._stopping:
            return web.Response(status=503, text="<html>the emulator is stopping</html>")
        answer = asyncio.current_task()
        assert answer is not None
        self._answering.add(answer)
        try:
            return await self._dispatch(request)
        finally:
            self._answering.discard(answer)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path in ROUTES:
            return await self._oauth_call(request, ROUTES[request.path][1])
        if request.method == "GET":
            with self._lock:
                self.calls["GetJWKS"] += 1
            return await self._cognito.upstream.forward_get(request.rel_url.path)
        target = request.headers.get("X-Amz-Target", "")
        operation = target.rsplit(".", 1)[-1]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        fault = self._record(operation, body)
        return await self._faulted(
            request, fault, lambda: self._answer_to(target, operation, raw, body)
        )

    async def _oauth_call(self, request: web.Request, operation: str) -> web.StreamResponse:
        call = await OAuthCall.read(request)
        fault = self._record(operation, call.recorded())
        return await self._faulted(request, fault, lambda: self._oauth.answer(operation, call))

    def _record(self, operation: str, body: dict[str, Any]) -> Fault | None:
        """Count the call, and take its fault, if any."""
        with self._lock:  # the calls in the order their faults are taken
            self.calls[operation] += 1
            self.requests.append((operation, body))
            self.timeline.append((time.time(), operation))
            return self._faults.take(operation)

    async def _faulted(
        self,
        request: web.Request,
        fault: Fault | None,
        answer_to: Callable[[], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """The call's answer, as its fault (if any) makes it."""
        late = 0.0
        if isinstance(fault, float):
            await asyncio.sleep(fault)
        elif isinstance(fault, str) and fault.startswith("late:"):
            late = float(fault.removeprefix("late:"))
        elif fault is not None:
            return await fault_response(request, fault)
        answer = await answer_to()
        await asyncio.sleep(late)
        return answer

    async def _answer_to(
        self, target: str, operation: str, raw: bytes, body: dict[str, Any]
    ) -> web.StreamResponse:
        handled = target.startswith((IDP, IDENTITY))
        handler = self._cognito.handler(operation) if handled else None
        try:
            if handler is None:
                return await self._cognito.upstream.forward(target, raw)
            return json_response(await handler(body))
        except Refused as refused:
            return error_response(refused.name, refused.message, refused.status)
