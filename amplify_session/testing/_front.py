"""The strict front: Cognito's strictness in front of moto, on 127.0.0.1.

moto accepts any SRP proof and any SECRET_HASH on sign-in, and answers 500
to RevokeToken and GetTokensFromRefreshToken. The front, an aiohttp server
in a thread of its own, handles the User Pool calls where moto is lax and
forwards everything else (Identity Pool calls included) to moto:

- USER_SRP_AUTH with real server-side SRP-6a: a wrong password fails the proof;
- SECRET_HASH checked on InitiateAuth, RespondToAuthChallenge and refresh (from
  the token owner's Cognito username, as Cognito does);
- RevokeToken, GlobalSignOut, and GetTokensFromRefreshToken with rotation for
  app clients created with ``RefreshTokenRotation={"Feature": "ENABLED"}``
  (such clients refuse REFRESH_TOKEN_AUTH);
- any challenge after the first factor (:meth:`StrictFront.plan_challenges`);
- faults on any operation (:meth:`StrictFront.inject`).

Tokens still come from moto: the front signs in to moto with the user's
password once the user has proved it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from .._cognito.srp import G, N
from ._loopback import serve_on_loopback

__all__ = ["StrictFront"]

_IDP = "AWSCognitoIdentityProviderService."
_IDENTITY = "AWSCognitoIdentityService."
_TIMESTAMP = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[1-9]\d? \d\d:\d\d:\d\d UTC \d{4}"
)
_MFA_PARAMETERS = {
    "SMS_MFA": {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******0100",
    },
    "SOFTWARE_TOKEN_MFA": {},
    "SELECT_MFA_TYPE": {"MFAS_CAN_CHOOSE": '["SMS_MFA","SOFTWARE_TOKEN_MFA"]'},
}
_CODE_KEYS = {"SMS_MFA": "SMS_MFA_CODE", "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE"}


class _Refused(Exception):
    """An error answer: Cognito's JSON error body and status."""

    def __init__(self, name: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.name, self.message, self.status = name, message, status


# -- server-side SRP, written independently of the client's module -----------


def _hex_pad(value: int) -> str:
    """Amplify's padHex: even-length hex, "00" in front when the top nibble is >= 8."""
    text = format(value, "x")
    text = "0" + text if len(text) % 2 else text
    return "00" + text if text[0] in "89abcdef" else text


def _h(hex_text: str) -> int:
    return int(hashlib.sha256(bytes.fromhex(hex_text)).hexdigest(), 16)


_K = _h(_hex_pad(N) + _hex_pad(G))


@attrs.define
class _SrpState:
    pool_id: str
    client_id: str
    login: str
    canonical: str
    big_a: int
    small_b: int
    big_b: int
    salt: int
    verifier: int


@attrs.define
class _Plan:
    names: list[str]
    code: str
    required_attributes: tuple[str, ...]
    session_ttl: float


@attrs.define
class _ChallengeState:
    login: str
    canonical: str
    remaining: list[str]
    expires_at: float
    plan: _Plan


class StrictFront:
    """A strict Cognito in front of moto's server at ``upstream``."""

    def __init__(self, upstream: str) -> None:
        self._upstream = upstream.rstrip("/") + "/"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._stopping = False
        self._answering: set[asyncio.Task[Any]] = set()  # requests being answered
        self._lock = threading.Lock()
        #: Calls per operation name.
        self.calls: Counter[str] = Counter()
        #: (operation, request body) of every call, in order.
        self.requests: list[tuple[str, dict[str, Any]]] = []
        #: (wall-clock time, operation) of every call, in order.
        self.timeline: list[tuple[float, str]] = []
        self.reset()

    def __repr__(self) -> str:
        return f"StrictFront(port={self._port})"

    # -- control, from the tests' thread --------------------------------------

    @property
    def url(self) -> str:
        """The front's base URL: the Cognito endpoint to configure."""
        return f"http://127.0.0.1:{self._port}/"

    def reset(self) -> None:
        """Forget sessions, revocations, plans, faults and counts."""
        with self._lock:
            self._srp: dict[str, _SrpState] = {}
            self._challenges: dict[str, _ChallengeState] = {}
            self._aliases: dict[str, str] = {}  # our refresh token -> moto's
            self._dead: dict[str, str] = {}  # refresh token -> why it no longer works
            self._plan: _Plan | None = None
            self._faults: list[tuple[str, int | float | str, int]] = []
            self._chaos: tuple[float, tuple[Any, ...], tuple[str, ...], random.Random] | None = None
            #: Faults injected per operation.
            self.injected: Counter[str] = Counter()
            self.calls.clear()
            self.requests.clear()
            self.timeline.clear()
            self.issued_access_keys: list[str] = []

    def inject(self, operation: str, fault: int | float | str, *, times: int = 1) -> None:
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
        _check_fault(fault)
        with self._lock:
            self._faults.append((operation, fault, times))

    def clear_faults(self) -> None:
        """Stop injecting faults (scripted and random)."""
        with self._lock:
            self._faults.clear()
            self._chaos = None

    def chaos(
        self,
        rate: float,
        faults: tuple[int | float | str, ...],
        *,
        operations: tuple[str, ...] = ("*",),
        seed: int = 0,
    ) -> None:
        """From now on, fault each call of ``operations`` with probability ``rate``.

        Each faulted call gets one of ``faults`` at random (as :meth:`inject`
        takes them); ``injected`` counts them per operation.
        """
        with self._lock:
            for fault in faults:
                _check_fault(fault)
            self._chaos = (rate, faults, operations, random.Random(seed))  # noqa: S311

    def plan_challenges(
        self,
        *names: str,
        code: str = "123456",
        required_attributes: tuple[str, ...] = (),
        session_ttl: float = 180.0,
    ) -> None:
        """Make the next sign-in answer these challenges after the password.

        Args:
            names: ``SMS_MFA``, ``SOFTWARE_TOKEN_MFA``, ``SELECT_MFA_TYPE``,
                ``NEW_PASSWORD_REQUIRED``, in order.
            code: The MFA code that is accepted.
            required_attributes: For NEW_PASSWORD_REQUIRED.
            session_ttl: Seconds before the challenge session expires.
        """
        with self._lock:
            self._plan = _Plan(list(names), code, required_attributes, session_ttl)

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
        async with aiohttp.ClientSession() as upstream, serve_on_loopback(app) as url:
            self._port, self._http = int(url.rsplit(":", 1)[1]), upstream
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
        if request.method == "GET":
            return await self._forward_get(request.rel_url.path)
        target = request.headers.get("X-Amz-Target", "")
        operation = target.rsplit(".", 1)[-1]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        with self._lock:
            self.calls[operation] += 1
            self.requests.append((operation, body))
            self.timeline.append((time.time(), operation))
            fault = self._take_fault(operation)
        late = 0.0
        if isinstance(fault, float):
            await asyncio.sleep(fault)
        elif isinstance(fault, str) and fault.startswith("late:"):
            late = float(fault.removeprefix("late:"))
        elif fault is not None:
            return await self._fault(request, fault)
        answer = await self._answer_to(target, operation, raw, body)
        await asyncio.sleep(late)
        return answer

    async def _answer_to(
        self, target: str, operation: str, raw: bytes, body: dict[str, Any]
    ) -> web.StreamResponse:
        handled = target.startswith((_IDP, _IDENTITY))
        handler = getattr(self, f"_op_{operation}", None) if handled else None
        try:
            if handler is None:
                return await self._forward(target, raw)
            return _json(await handler(body))
        except _Refused as refused:
            return _error(refused.name, refused.message, refused.status)

    def _take_fault(self, operation: str) -> int | float | str | None:
        fault = self._scripted_fault(operation)
        if fault is None and self._chaos is not None:
            rate, faults, operations, rng = self._chaos
            if (operation in operations or "*" in operations) and rng.random() < rate:
                fault = rng.choice(faults)
        if fault is not None and not isinstance(fault, float):
            self.injected[operation] += 1
        return fault

    def _scripted_fault(self, operation: str) -> int | float | str | None:
        for index, (op, fault, times) in enumerate(self._faults):
            if op in (operation, "*"):
                if times <= 1:
                    del self._faults[index]
                else:
                    self._faults[index] = (op, fault, times - 1)
                return fault
        return None

    async def _fault(self, request: web.Request, fault: int | str) -> web.StreamResponse:
        if fault == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if fault == "stall":
            await asyncio.sleep(3600)
        if isinstance(fault, int):
            return web.Response(status=fault, text="<html>fault</html>")
        return _error(fault, "injected fault")

    async def _forward(self, target: str, body: bytes) -> web.Response:
        status, text, error_type = await self._upstream_call(target, body)
        headers = {"x-amzn-errortype": error_type} if error_type else {}
        return web.Response(
            status=status,
            text=text,
            headers=headers,
            content_type="application/x-amz-json-1.1",
        )

    async def _forward_get(self, path: str) -> web.Response:
        """A pool's key set, where Cognito serves it (``/<pool id>/.well-known/jwks.json``)."""
        with self._lock:
            self.calls["GetJWKS"] += 1
        async with self._http.get(self._upstream.rstrip("/") + path) as response:
            return web.Response(
                status=response.status,
                text=await response.text(),
                content_type="application/json",
            )

    async def _upstream_call(self, target: str, body: bytes) -> tuple[int, str, str]:
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
        async with self._http.post(self._upstream, data=body, headers=headers) as response:
            text = await response.text()
            return response.status, text, response.headers.get("x-amzn-errortype", "")

    async def _moto(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return await self._moto_call(_IDP + operation, payload)

    async def _moto_call(self, target: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        status, text, _ = await self._upstream_call(target, json.dumps(payload).encode())
        answer: dict[str, Any] = json.loads(text) if text else {}
        if status != 200:
            name = str(answer.get("__type", "InternalErrorException")).rsplit("#", 1)[-1]
            raise _Refused(name, str(answer.get("message", "moto refused")), status)
        return answer

    # -- InitiateAuth ---------------------------------------------------------

    async def _op_InitiateAuth(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = _client(body.get("ClientId"))
        flow = body.get("AuthFlow")
        params = body.get("AuthParameters") or {}
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            if _rotates(client):
                raise _Refused(
                    "NotAuthorizedException",
                    "Refresh token rotation is enabled: use GetTokensFromRefreshToken.",
                )
            return await self._refresh(pool, client, params.get("REFRESH_TOKEN"), params)
        login = params.get("USERNAME", "")
        _check_secret_hash(client, login, params.get("SECRET_HASH"))
        user = _user(pool, login)
        if flow == "USER_PASSWORD_AUTH":
            if params.get("PASSWORD") != user.password:
                raise _Refused("NotAuthorizedException", "Incorrect username or password.")
            return await self._after_password(pool, client, login, user)
        if flow == "USER_SRP_AUTH":
            return self._srp_challenge(pool, client, login, user, params.get("SRP_A", ""))
        raise _Refused("InvalidParameterException", f"Unsupported AuthFlow {flow}")

    def _srp_challenge(
        self, pool: Any, client: Any, login: str, user: Any, srp_a: str
    ) -> dict[str, Any]:
        try:
            big_a = int(srp_a, 16)
        except ValueError:
            raise _Refused("InvalidParameterException", "SRP_A is not hex") from None
        if big_a % N == 0:
            raise _Refused("NotAuthorizedException", "Incorrect username or password.")
        canonical = _canonical(pool, user)
        salt = secrets.randbits(128) | (1 << 127)
        inner = hashlib.sha256(
            f"{_pool_name(pool)}{canonical}:{user.password}".encode()
        ).hexdigest()
        verifier = pow(G, _h(_hex_pad(salt) + inner), N)
        small_b = secrets.randbits(1024)
        big_b = (_K * verifier + pow(G, small_b, N)) % N
        secret_block = base64.b64encode(secrets.token_bytes(48)).decode()
        with self._lock:
            self._srp[secret_block] = _SrpState(
                pool.id, client.id, login, canonical, big_a, small_b, big_b, salt, verifier
            )
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": format(salt, "x"),
                "SRP_B": format(big_b, "x"),
                "SECRET_BLOCK": secret_block,
                "USER_ID_FOR_SRP": canonical,
                "USERNAME": canonical,
            },
        }

    async def _after_password(
        self, pool: Any, client: Any, login: str, user: Any
    ) -> dict[str, Any]:
        """The password is proven: the planned challenges, or moto's tokens."""
        with self._lock:
            plan, self._plan = self._plan, None
        if plan is not None and plan.names:
            return self._issue(login, _canonical(pool, user), plan.names, plan)
        return await self._moto_tokens(client, login, user.password)

    async def _moto_tokens(self, client: Any, login: str, password: str) -> dict[str, Any]:
        return await self._moto(
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client.id,
                "AuthParameters": {
                    "USERNAME": login,
                    "PASSWORD": password,
                    **_moto_secret_hash(client, login),
                },
            },
        )

    def _issue(self, login: str, canonical: str, names: list[str], plan: _Plan) -> dict[str, Any]:
        session = str(uuid.uuid4())
        name = names[0]
        with self._lock:
            self._challenges[session] = _ChallengeState(
                login, canonical, list(names), time.monotonic() + plan.session_ttl, plan
            )
        parameters: dict[str, str] = {"USERNAME": canonical, **_MFA_PARAMETERS.get(name, {})}
        if name == "NEW_PASSWORD_REQUIRED":
            parameters["requiredAttributes"] = json.dumps(
                [f"userAttributes.{a}" for a in plan.required_attributes]
            )
            parameters["userAttributes"] = "{}"
        return {"ChallengeName": name, "Session": session, "ChallengeParameters": parameters}

    # -- RespondToAuthChallenge -----------------------------------------------

    async def _op_RespondToAuthChallenge(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = _client(body.get("ClientId"))
        name = body.get("ChallengeName")
        responses = body.get("ChallengeResponses") or {}
        _check_secret_hash(client, responses.get("USERNAME", ""), responses.get("SECRET_HASH"))
        if name == "PASSWORD_VERIFIER":
            return await self._verify_password(pool, client, responses)
        session = body.get("Session", "")
        with self._lock:
            state = self._challenges.get(session)
        if state is None:
            status, text, _ = await self._upstream_call(
                _IDP + "RespondToAuthChallenge", json.dumps(body).encode()
            )
            answer: dict[str, Any] = json.loads(text)
            if status != 200:
                raise _Refused(str(answer.get("__type")), str(answer.get("message")), status)
            return answer
        if time.monotonic() > state.expires_at:
            raise _Refused(
                "NotAuthorizedException", "Invalid session for the user, session is expired."
            )
        if responses.get("USERNAME") != state.canonical or name != state.remaining[0]:
            raise _Refused("InvalidParameterException", "Challenge does not match the session.")
        return await self._answer(pool, client, session, state, responses)

    async def _verify_password(
        self, pool: Any, client: Any, responses: Mapping[str, str]
    ) -> dict[str, Any]:
        with self._lock:
            state = self._srp.pop(responses.get("PASSWORD_CLAIM_SECRET_BLOCK", ""), None)
        if state is None or state.client_id != client.id:
            raise _Refused("NotAuthorizedException", "Incorrect username or password.")
        timestamp = responses.get("TIMESTAMP", "")
        if not _TIMESTAMP.fullmatch(timestamp) or responses.get("USERNAME") != state.canonical:
            raise _Refused("InvalidParameterException", "TIMESTAMP or USERNAME is malformed.")
        u = _h(_hex_pad(state.big_a) + _hex_pad(state.big_b))
        shared = pow(state.big_a * pow(state.verifier, u, N), state.small_b, N)
        prk = hmac.new(bytes.fromhex(_hex_pad(u)), bytes.fromhex(_hex_pad(shared)), "sha256")
        key = hmac.new(prk.digest(), b"Caldera Derived Key\x01", "sha256").digest()[:16]
        block = base64.b64decode(responses["PASSWORD_CLAIM_SECRET_BLOCK"])
        message = f"{_pool_name(pool)}{state.canonical}".encode() + block + timestamp.encode()
        expected = base64.b64encode(hmac.new(key, message, "sha256").digest()).decode()
        if not hmac.compare_digest(expected, responses.get("PASSWORD_CLAIM_SIGNATURE", "")):
            raise _Refused("NotAuthorizedException", "Incorrect username or password.")
        return await self._after_password(pool, client, state.login, _user(pool, state.login))

    async def _answer(
        self,
        pool: Any,
        client: Any,
        session: str,
        state: _ChallengeState,
        responses: Mapping[str, str],
    ) -> dict[str, Any]:
        plan = state.plan
        name, remaining = state.remaining[0], state.remaining[1:]
        if name in _CODE_KEYS and responses.get(_CODE_KEYS[name]) != plan.code:
            raise _Refused("CodeMismatchException", "Invalid code received for user")
        if name == "SELECT_MFA_TYPE":
            choice = responses.get("ANSWER", "")
            if choice not in _CODE_KEYS:
                raise _Refused("InvalidParameterException", "Unknown MFA type.")
            remaining = [choice, *remaining]
        if name == "NEW_PASSWORD_REQUIRED":
            self._set_new_password(pool, state, responses, plan)
        with self._lock:
            del self._challenges[session]
        if remaining:
            return self._issue(state.login, state.canonical, remaining, plan)
        return await self._moto_tokens(client, state.login, _user(pool, state.login).password)

    def _set_new_password(
        self, pool: Any, state: _ChallengeState, responses: Mapping[str, str], plan: _Plan
    ) -> None:
        new_password = responses.get("NEW_PASSWORD", "")
        missing = [a for a in plan.required_attributes if f"userAttributes.{a}" not in responses]
        if not new_password or missing:
            raise _Refused("InvalidParameterException", f"Missing: {missing or 'NEW_PASSWORD'}")
        user = _user(pool, state.login)
        user.password = new_password
        for key, value in responses.items():
            if key.startswith("userAttributes."):
                name = key.removeprefix("userAttributes.")
                user.attributes = [a for a in user.attributes if a["Name"] != name]
                user.attributes.append({"Name": name, "Value": value})

    # -- refresh, rotation, revocation -----------------------------------------

    async def _refresh(
        self, pool: Any, client: Any, token: str | None, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """REFRESH_TOKEN_AUTH: SECRET_HASH from the token owner's Cognito username."""
        moto_token, moto_username = self._owner(pool, token)
        canonical = _canonical(pool, _user(pool, moto_username))  # deleted, disabled, reset...
        _check_secret_hash(client, canonical, params.get("SECRET_HASH"))
        return await self._refresh_upstream(client, moto_token, moto_username)

    def _owner(self, pool: Any, token: str | None) -> tuple[str, str]:
        """moto's refresh token behind ``token``, and the username moto stored with it."""
        moto_token = self._live_token(token)
        owner = pool.refresh_tokens.get(moto_token)
        if owner is None:
            raise _Refused("NotAuthorizedException", "Invalid Refresh Token.")
        return moto_token, str(owner[1])

    async def _refresh_upstream(
        self, client: Any, moto_token: str, moto_username: str
    ) -> dict[str, Any]:
        return await self._moto(
            "InitiateAuth",
            {
                "AuthFlow": "REFRESH_TOKEN_AUTH",
                "ClientId": client.id,
                "AuthParameters": {
                    "REFRESH_TOKEN": moto_token,
                    **_moto_secret_hash(client, moto_username),
                },
            },
        )

    def _live_token(self, token: str | None) -> str:
        if not token:
            raise _Refused("InvalidParameterException", "Missing refresh token.")
        with self._lock:
            why = self._dead.get(token)
            moto_token = self._aliases.get(token, token)
        if why is not None:
            raise _Refused("NotAuthorizedException", why)
        return moto_token

    async def _op_GetTokensFromRefreshToken(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = _client(body.get("ClientId"))
        _check_client_secret(client, body.get("ClientSecret"))
        token = body.get("RefreshToken")
        moto_token, moto_username = self._owner(pool, token)
        _user(pool, moto_username)  # deleted, disabled, reset...
        answer = await self._refresh_upstream(client, moto_token, moto_username)
        if _rotates(client):
            rotated = str(uuid.uuid4())
            with self._lock:
                self._aliases[rotated] = moto_token
                self._dead[str(token)] = "Invalid Refresh Token."
            answer["AuthenticationResult"]["RefreshToken"] = rotated
        return answer

    async def _op_RevokeToken(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = _client(body.get("ClientId"))
        _check_client_secret(client, body.get("ClientSecret"))
        token = body.get("Token")
        moto_token = self._live_token(token)
        with self._lock:
            family = [t for t, m in self._aliases.items() if m == moto_token]
            for revoked in [str(token), moto_token, *family]:
                self._dead[revoked] = "Refresh Token has been revoked"
        if moto_token in pool.refresh_tokens:
            pool.refresh_tokens[moto_token] = None
        return {}

    # -- Identity Pool ----------------------------------------------------------

    async def _op_GetCredentialsForIdentity(self, body: dict[str, Any]) -> dict[str, Any]:
        """moto hands out the same key every time; Cognito never does."""
        answer = await self._moto_call(_IDENTITY + "GetCredentialsForIdentity", body)
        credentials = answer.get("Credentials") or {}
        credentials["AccessKeyId"] = "ASIA" + secrets.token_hex(8).upper()
        credentials["SecretKey"] = secrets.token_urlsafe(30)
        credentials["SessionToken"] = secrets.token_urlsafe(60)
        with self._lock:
            self.issued_access_keys.append(credentials["AccessKeyId"])
        return answer


# -- helpers over moto's in-process backends ----------------------------------


def _client(client_id: object) -> tuple[Any, Any]:
    from moto.cognitoidp.models import cognitoidp_backends, find_account_region_by_value

    if not isinstance(client_id, str):
        raise _Refused("InvalidParameterException", "ClientId is required.")
    account, region = find_account_region_by_value("client_id", client_id, ("", ""))
    if not account:
        raise _Refused("ResourceNotFoundException", "User pool client does not exist.")
    for pool in cognitoidp_backends[account][region].user_pools.values():
        if client_id in pool.clients:
            return pool, pool.clients[client_id]
    raise _Refused("ResourceNotFoundException", "User pool client does not exist.")


def _user(pool: Any, login: str) -> Any:
    user = pool._get_user(login) if login else None
    if user is None:
        raise _Refused("UserNotFoundException", "User does not exist.")
    if not user.enabled:
        raise _Refused("NotAuthorizedException", "User is disabled.")
    if str(user.status.value) == "UNCONFIRMED":
        raise _Refused("UserNotConfirmedException", "User is not confirmed.")
    if str(user.status.value) == "RESET_REQUIRED":
        raise _Refused("PasswordResetRequiredException", "Password reset required for the user")
    return user


def _canonical(pool: Any, user: Any) -> str:
    """Cognito's username: the sub in alias pools, as moto's tokens have it."""
    return str(user.id if pool.extended_config.get("UsernameAttributes") else user.username)


def _pool_name(pool: Any) -> str:
    return str(pool.id).split("_", 1)[1]


def _rotates(client: Any) -> bool:
    rotation = client.extended_config.get("RefreshTokenRotation") or {}
    return bool(rotation.get("Feature") == "ENABLED")


def _secret_hash(secret: str, client_id: str, username: str) -> str:
    mac = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _check_secret_hash(client: Any, username: str, given: str | None) -> None:
    if not client.generate_secret:
        return
    if given is None:
        raise _Refused("NotAuthorizedException", "SECRET_HASH was not received")
    if not hmac.compare_digest(_secret_hash(client.secret, client.id, username), given):
        raise _Refused("NotAuthorizedException", "Unable to verify secret hash for client")


def _check_client_secret(client: Any, given: str | None) -> None:
    if client.generate_secret and not hmac.compare_digest(str(given or ""), client.secret):
        raise _Refused("NotAuthorizedException", "Client secret mismatch.")


def _moto_secret_hash(client: Any, moto_username: str) -> dict[str, str]:
    """moto checks SECRET_HASH on refresh against the username it stored."""
    if not client.generate_secret:
        return {}
    return {"SECRET_HASH": _secret_hash(client.secret, client.id, moto_username)}


def _json(body: Mapping[str, Any]) -> web.Response:
    return web.Response(text=json.dumps(body), content_type="application/x-amz-json-1.1")


def _error(name: str, message: str, status: int = 400) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"__type": name, "message": message}),
        headers={"x-amzn-errortype": f"{name}:"},
        content_type="application/x-amz-json-1.1",
    )


def _check_fault(fault: int | float | str) -> None:
    """Refuse a ``late:`` fault whose delay is not a number of seconds, when injected."""
    if isinstance(fault, str) and fault.startswith("late:"):
        try:
            delay = float(fault.removeprefix("late:"))
        except ValueError:
            delay = -1.0
        if not 0 <= delay < 3600:
            raise ValueError(f"{fault!r}: 'late:' takes seconds, e.g. 'late:1.0'")
