"""The world of the session model test: an observing proxy, a faulty storage, task inspection.

Everything here runs in the event loop of the manager it serves (one per
simulated process), so the proxy reads the manager's fake clock at the very
moment an answer leaves for the manager.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from amplify_session import AuthError, MemoryStorage, StorageException, decode_jwt
from amplify_session.emulator._loopback import serve_on_loopback
from amplify_session.testing import FakeClock

__all__ = [
    "STORAGE_FAULTS",
    "TAMPERING",
    "CredentialsReceipt",
    "FaultyStorage",
    "ObservingProxy",
    "TokenReceipt",
    "described_call",
    "error_name",
    "exception_chain",
    "library_tasks",
    "observing_proxy",
]


@attrs.frozen
class TokenReceipt:
    """Tokens as they reached the manager: server times, and the manager's clock then."""

    expires_at: float  # the earlier ``exp`` of the access and id tokens (server time)
    server_now: float  # the server's time when they left it (this host's real clock)
    monotonic: float  # the manager's fake monotonic clock when they reached it

    def overdue(self, monotonic: float) -> float:
        """Seconds past expiry by the server's clock, at the manager's ``monotonic`` time.

        The server's clock runs as the manager's monotonic clock does from the
        receipt on: advancing the fake clock is time passing for everyone.
        """
        return self.server_now + (monotonic - self.monotonic) - self.expires_at


@attrs.frozen
class CredentialsReceipt:
    """AWS credentials as they reached the manager."""

    expires_at: float  # their Expiration (server time)
    server_now: float
    monotonic: float

    def overdue(self, monotonic: float) -> float:
        """Seconds past expiry by the server's clock, at the manager's ``monotonic`` time."""
        return self.server_now + (monotonic - self.monotonic) - self.expires_at


_FORWARDED = ("Content-Type", "Date", "x-amzn-errortype")


@attrs.define(eq=False)
class ObservingProxy:
    """A reverse proxy to the emulator that records Cognito's answers and when they arrived.

    It runs in the manager's event loop: the fake clock it reads when an
    answer leaves is the clock the manager reads when it takes the answer
    (the test moves the clock only when no call is in flight).
    """

    upstream: str
    clock: FakeClock
    url: str = ""
    in_flight: Counter[str] = attrs.field(factory=Counter)
    #: When (``time.monotonic``) a call last began or ended.
    last_activity: float = attrs.field(factory=time.monotonic)
    #: (real time, operation) of every call, in order.
    calls: list[tuple[float, str]] = attrs.field(factory=list, repr=False)
    #: access token ``jti`` -> receipt
    tokens: dict[str, TokenReceipt] = attrs.field(factory=dict, repr=False)
    #: AWS access key id -> receipt
    credentials: dict[str, CredentialsReceipt] = attrs.field(factory=dict, repr=False)
    #: Rewrite the claims of the next tokens Cognito sends: (how, how many).
    tamper: tuple[str, int] | None = None
    _http: aiohttp.ClientSession | None = attrs.field(default=None, repr=False)

    @property
    def busy(self) -> bool:
        """Whether a call is in flight."""
        return sum(self.in_flight.values()) > 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        target = request.headers.get("X-Amz-Target", "")
        operation = target.rsplit(".", 1)[-1]
        self.calls.append((time.time(), operation))
        self.in_flight[operation] += 1
        self.last_activity = time.monotonic()
        try:
            body = await request.read()
            assert self._http is not None
            try:
                async with self._http.post(
                    self.upstream, data=body, headers={"X-Amz-Target": target}
                ) as answer:
                    text = await answer.read()
                    status = answer.status
                    headers = {k: answer.headers[k] for k in _FORWARDED if k in answer.headers}
            except (aiohttp.ClientError, OSError):
                # The front dropped the connection (an injected "reset"): drop ours too.
                if request.transport is not None:
                    request.transport.close()
                return web.Response()
            if status == 200:
                text = self._tampered(text)
                self._observe(text)
            response = web.StreamResponse(status=status, headers=headers)
            try:
                await response.prepare(request)
                await response.write(text)
                await response.write_eof()
            except ConnectionResetError:
                pass  # the manager gave up on this call (a sign-out cancels a refresh)
            return response
        finally:
            self.in_flight[operation] -= 1
            self.last_activity = time.monotonic()

    def _tampered(self, text: bytes) -> bytes:
        """The answer with its tokens' claims rewritten, while :attr:`tamper` says so."""
        if self.tamper is None:
            return text
        how, count = self.tamper
        try:
            answer = json.loads(text)
        except ValueError:
            return text
        result = answer.get("AuthenticationResult") if isinstance(answer, dict) else None
        if not isinstance(result, dict) or not result.get("AccessToken"):
            return text
        self.tamper = (how, count - 1) if count > 1 else None
        for name in ("AccessToken", "IdToken"):
            if result.get(name):
                result[name] = _rewrite_claims(result[name], TAMPERING[how])
        return json.dumps(answer).encode()

    def _observe(self, text: bytes) -> None:
        try:
            answer = json.loads(text)
        except ValueError:
            return
        if not isinstance(answer, dict):
            return
        now, monotonic = time.time(), self.clock.monotonic()
        result = answer.get("AuthenticationResult")
        if isinstance(result, dict) and result.get("AccessToken"):
            access = decode_jwt(result["AccessToken"]).payload
            expiries = [float(access["exp"])]
            if result.get("IdToken"):
                expiries.append(float(decode_jwt(result["IdToken"]).payload["exp"]))
            self.tokens[str(access["jti"])] = TokenReceipt(min(expiries), now, monotonic)
        credentials = answer.get("Credentials")
        if isinstance(credentials, dict) and credentials.get("AccessKeyId"):
            self.credentials[credentials["AccessKeyId"]] = CredentialsReceipt(
                float(credentials["Expiration"]), now, monotonic
            )


def _expired(claims: dict[str, Any]) -> None:
    claims["exp"] = claims["iat"] - 3600


def _short(claims: dict[str, Any]) -> None:
    claims["exp"] = claims["iat"] + 2  # unusable on arrival with expiry_tolerance >= 1


def _absurd(claims: dict[str, Any]) -> None:
    claims["iat"] = 1e308


#: How a hostile (or broken) server's token claims can be wrong, by name.
TAMPERING: Mapping[str, Callable[[dict[str, Any]], None]] = {
    "expired": _expired,
    "short": _short,
    "absurd": _absurd,
}


def _rewrite_claims(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The JWT with its payload changed (the signature no longer matches; clients do not check)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(claims)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


@asynccontextmanager
async def observing_proxy(upstream: str, clock: FakeClock) -> AsyncIterator[ObservingProxy]:
    """An :class:`ObservingProxy` to ``upstream`` on 127.0.0.1, in the running event loop."""
    proxy = ObservingProxy(upstream, clock)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    timeout = aiohttp.ClientTimeout(total=30)
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    async with (
        serve_on_loopback(app) as base,
        aiohttp.ClientSession(timeout=timeout, headers=headers) as http,
    ):
        proxy.url, proxy._http = base + "/", http
        yield proxy


def _read_only() -> Exception:
    return OSError(errno.EROFS, "Read-only file system (injected)")


#: The exceptions a user's storage may raise, by name.
STORAGE_FAULTS: Mapping[str, Callable[[], Exception]] = {
    "ConnectionError": lambda: ConnectionError("storage backend unreachable (injected)"),
    "StorageException": lambda: StorageException("storage backend failed (injected)"),
    "OSError": _read_only,
}


class FaultyStorage:
    """A MemoryStorage whose methods can be made to fail for a while (writes, or everything)."""

    def __init__(self) -> None:
        self.inner = MemoryStorage()
        self.fault: str | None = None
        self.reads_fail = False
        self.failures = 0

    def __repr__(self) -> str:
        return f"FaultyStorage(fault={self.fault!r}, reads_fail={self.reads_fail})"

    def break_(self, fault: str, *, reads: bool) -> None:
        """Fail writes (and reads when ``reads``) with ``fault`` until :meth:`repair`."""
        self.fault, self.reads_fail = fault, reads

    def repair(self) -> None:
        """Work again."""
        self.fault, self.reads_fail = None, False

    def _maybe_fail(self, *, write: bool) -> None:
        if self.fault is not None and (write or self.reads_fail):
            self.failures += 1
            raise STORAGE_FAULTS[self.fault]()

    async def get_item(self, key: str) -> str | None:
        self._maybe_fail(write=False)
        return await self.inner.get_item(key)

    async def set_item(self, key: str, value: str) -> None:
        self._maybe_fail(write=True)
        await self.inner.set_item(key, value)

    async def remove_item(self, key: str) -> None:
        self._maybe_fail(write=True)
        await self.inner.remove_item(key)

    async def clear(self) -> None:
        self._maybe_fail(write=True)
        await self.inner.clear()

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        self._maybe_fail(write=True)
        await self.inner.update_items(changes)


def _chain(coro: Any) -> list[tuple[str, str]]:
    """(file, function) of every frame a task's coroutine is awaiting through."""
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        frame = frame or getattr(coro, "ag_frame", None)
        if frame is not None:
            code = frame.f_code
            frames.append((code.co_filename, getattr(code, "co_qualname", code.co_name)))
        coro = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "gi_yieldfrom", None)
            or getattr(coro, "ag_await", None)
        )
    return frames


def _is_library(filename: str) -> bool:
    path = filename.replace("\\", "/")
    test_kit = ("/amplify_session/testing/", "/amplify_session/emulator/")
    return "/amplify_session/" in path and not any(part in path for part in test_kit)


def library_tasks() -> list[str]:
    """The tasks of the running loop (the current one aside) that run amplify_session code."""
    current = asyncio.current_task()
    found = []
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        frames = _chain(task.get_coro())
        library = [name for filename, name in frames if _is_library(filename)]
        if library:
            found.append(f"{task.get_name()} ({' > '.join(library)})")
    return sorted(found)


def error_name(exc: BaseException) -> str:
    """A description of an exception without its message (messages may quote input)."""
    if isinstance(exc, AuthError):
        return f"{type(exc).__name__}(name={exc.name!r})"
    inner = getattr(exc, "exceptions", None)
    if isinstance(inner, tuple):  # an exception group
        return f"{type(exc).__name__}[{', '.join(error_name(e) for e in inner)}]"
    return type(exc).__name__


def exception_chain(error: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, the errors AuthErrors wrap, and a group's."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        link = pending.pop()
        if link is None or any(link is s for s in seen):
            continue
        seen.append(link)
        pending += [link.__cause__, link.__context__, getattr(link, "underlying_error", None)]
        pending += list(getattr(link, "exceptions", ()))
    return seen


def described_call(operation: str, body: Mapping[str, Any]) -> str:
    """A call to the front as the models name it: the challenge it answers, or the flow it
    starts."""
    detail = body.get("ChallengeName") or body.get("AuthFlow")
    return f"{operation}({detail})" if detail else operation
