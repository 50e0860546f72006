"""Servers that echo the request back: no form of a password or token reaches an error or a log.

A loopback server answers each request with the request body echoed in one
form (inside a JSON message, URL-encoded, as a repr, HTML-escaped, in the
error name or header, as a plain-text or HTML page, in a malformed HTTP
answer) and the real library paths (sign-in, refresh, sign-out's
RevokeToken) run against it. Every exception the caller sees (with its
chain) and every log record at DEBUG is searched for every form of the
secrets (see tests/unit/test_redact.py for the forms).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import anyio
import attrs
import pytest
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from amplify_session import (
    AuthConfig,
    AuthError,
    InternalErrorException,
    MemoryStorage,
    NetworkError,
    NotAuthorizedException,
    SessionEvent,
    SessionManager,
)
from amplify_session.emulator._loopback import loopback_server
from tests.support.retry import fast_retry
from tests.support.tokens import make_jwt
from tests.unit.test_redact import _lower_percent, _upper_json_hex, leaked_forms

pytestmark = pytest.mark.anyio

PASSWORD = 'pa"ss\\wörd/+ &x'
REFRESH_TOKEN = 'rt"\\ö/+ &-' + "r" * 24  # an opaque value with characters echoes escape
SECRETS = [PASSWORD, REFRESH_TOKEN]
NOT_AUTHORIZED = "com.amazonaws.cognito#NotAuthorizedException"


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, str):
        yield value


def _secret_value(body: str) -> str:
    """The password or token the request carries."""
    request = json.loads(body)
    fields = {**request, **request.get("AuthParameters", {})}
    return next(fields[k] for k in ("PASSWORD", "REFRESH_TOKEN", "Token") if k in fields)


def _flat(body: str) -> dict[str, str]:
    """The request's fields as one flat mapping (what a form-encoding proxy sees)."""
    flat: dict[str, str] = {}

    def walk(value: Any, prefix: str) -> None:
        for key, item in value.items():
            if isinstance(item, dict):
                walk(item, f"{prefix}{key}.")
            else:
                flat[prefix + key] = str(item)

    walk(json.loads(body), "")
    return flat


def _message(text: str, *, status: int = 400, name: str = NOT_AUTHORIZED) -> web.Response:
    # json_response escapes (ensure_ascii) on the wire; the client's json.loads undoes it.
    return web.json_response({"__type": name, "message": text}, status=status)


# Each echo turns the request body (as sent: JSON text) into an error answer.
ECHOES: dict[str, Callable[[str], web.Response]] = {
    "message-is-the-body": _message,
    "message-is-the-body-unicode": lambda b: _message(
        json.dumps(json.loads(b), ensure_ascii=False)
    ),
    "message-is-the-body-slash": lambda b: _message(b.replace("/", "\\/")),
    "message-is-the-body-upper-hex": lambda b: _message(_upper_json_hex(b)),
    "message-has-the-values": lambda b: _message("rejected: " + " | ".join(_leaves(json.loads(b)))),
    "message-is-the-body-quoted": lambda b: _message(quote(b, safe="")),
    "message-is-the-body-quoted-lower": lambda b: _message(_lower_percent(quote(b, safe=""))),
    "message-is-the-body-quote-plus": lambda b: _message(quote_plus(b)),
    "message-is-the-body-quote-plus-lower": lambda b: _message(_lower_percent(quote_plus(b))),
    "message-is-a-form-encoding": lambda b: _message(urlencode(_flat(b))),
    "message-is-a-repr": lambda b: _message(repr(json.loads(b))),
    "message-is-a-bytes-repr": lambda b: _message(repr(b.encode())),
    "message-is-html-escaped": lambda b: _message(html.escape(b)),
    "message-straddles-the-cut": lambda b: _message("x" * 292 + _secret_value(b)),
    "message-under-Message": lambda b: web.json_response(
        {"__type": NOT_AUTHORIZED, "Message": b}, status=400
    ),
    "server-error-retried": lambda b: _message(b, status=500, name="InternalErrorException"),
    "type-is-the-body": lambda b: web.json_response({"__type": b, "message": "no"}, status=400),
    "code-is-the-values": lambda b: web.json_response(
        {"code": "x#" + "".join(_leaves(json.loads(b)))}, status=400
    ),
    "header-is-the-body": lambda b: web.Response(
        status=400, text="{}", headers={"x-amzn-errortype": b}
    ),
    "header-is-the-body-quoted": lambda b: web.Response(
        status=400, text="{}", headers={"x-amzn-errortype": quote(b)}
    ),
    "plain-text-page": lambda b: web.Response(status=400, text=b, content_type="text/plain"),
    "html-page": lambda b: web.Response(
        status=400,
        text=f"<html><body><h1>400</h1><pre>{html.escape(b)}</pre>{b}</body></html>",
        content_type="text/html",
    ),
}

# Malformed HTTP answers built around the body: aiohttp's parser errors quote them.
MALFORMED: dict[str, Callable[[bytes], bytes]] = {
    "bad-status-line": lambda b: b"HTTP/1.1 4x0 " + b + b"\r\n\r\n",
    "not-http-at-all": lambda b: b + b"\r\n\r\n",
    "bad-header-name": lambda b: (
        b"HTTP/1.1 400 Bad\r\nX-" + b + b": v\r\nContent-Length: 0\r\n\r\n"
    ),
    "bad-content-length": lambda b: b"HTTP/1.1 400 Bad\r\nContent-Length: 9" + b + b"\r\n\r\n",
    "bad-chunk": lambda b: (
        b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b.replace(b"\r\n", b"")
        + b"\r\n"
    ),
    "disconnect-after-headers": lambda b: b"HTTP/1.1 400 Bad\r\nX-Echo: " + b + b"\r\n",
    "truncated-body": lambda b: (
        b"HTTP/1.1 400 Bad\r\nX-Echo: " + b + b"\r\nContent-Length: 99999\r\n\r\n" + b
    ),
}


def _tokens() -> web.Response:
    result = {
        "AccessToken": make_jwt(),
        "IdToken": make_jwt({"token_use": "id"}),
        "RefreshToken": REFRESH_TOKEN,
        "ExpiresIn": 3600,
        "TokenType": "Bearer",
    }
    return web.json_response({"AuthenticationResult": result})


Step = Callable[[str], web.Response]


@attrs.define
class EchoServer:
    script: list[Step]
    url: str = ""
    requests: list[dict[str, Any]] = attrs.field(factory=list)
    answers: list[str] = attrs.field(factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        self.requests.append({"target": request.headers.get("X-Amz-Target"), "body": body})
        response = self.script[min(len(self.requests), len(self.script)) - 1](body)
        assert isinstance(response.text, str)
        # What the client reads: the body, its JSON strings decoded, the headers.
        try:
            decoded = " ".join(_leaves(json.loads(response.text)))
        except ValueError:
            decoded = ""
        self.answers += [response.text, decoded, *response.headers.values()]
        return response


@asynccontextmanager
async def echo_server(*script: Step) -> AsyncIterator[EchoServer]:
    server = EchoServer(list(script))
    async with loopback_server(server.handle) as port:
        server.url = f"http://127.0.0.1:{port}/"
        yield server


@asynccontextmanager
async def malformed_server(make: Callable[[bytes], bytes]) -> AsyncIterator[int]:
    """A raw TCP server on 127.0.0.1 that answers with ``make(request body)``; yields its port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            writer.write(make(await reader.readexactly(length)))
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _config(url: str) -> AuthConfig:
    return AuthConfig(
        user_pool_id="us-east-1_Test1",
        user_pool_client_id="client1",
        user_pool_endpoint=url,
        identity_pool_endpoint=url,
        retry=fast_retry(2),
        request_timeout=2.0,
        refresh_token_rotation=False,
    )


def _exception_texts(error: BaseException) -> list[str]:
    """str, repr and the printed exception line of ``error`` and of everything it links to.

    Not the frames of a traceback: they are file paths and source lines, which
    hold no secret but may spell a random one (``/versions/`` for ``versio``).
    """
    texts: list[str] = []
    todo: list[BaseException] = [error]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        # The printed line starts with the class's module path ("amplify_session._errors."),
        # which hypothesis's strings (drawn from the code's own constants) may spell.
        prefix = f"{type(current).__module__}."
        texts += [line.replace(prefix, "") for line in traceback.format_exception_only(current)]
        links = [current.__cause__, current.__context__, getattr(current, "underlying_error", None)]
        todo += [link for link in links if isinstance(link, BaseException)]
    return texts


def _log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(r) + repr(vars(r)) for r in caplog.records]


def _assert_echoed(answers: list[str], secret: str) -> None:
    # The test can fail: the server really sent the secret back in some form.
    # (Asserted on a name list, so a failure never prints the secret.)
    echoed = leaked_forms("\n".join(answers), [secret])
    assert echoed


@pytest.mark.parametrize("echo", sorted(ECHOES))
async def test_sign_in_errors_and_logs_never_carry_the_password(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        echo_server(ECHOES[echo]) as server,
        SessionManager(_config(server.url)) as manager,
    ):
        with pytest.raises(AuthError) as info:
            await manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
    _assert_echoed(server.answers, PASSWORD)
    error = info.value
    leaks = leaked_forms("\n".join(_exception_texts(error) + _log_texts(caplog)), SECRETS)
    assert not leaks
    if echo.startswith("message-") and echo != "message-straddles-the-cut":
        # Scrubbed, not dropped: what is not secret stays readable.
        assert isinstance(error, NotAuthorizedException)
        assert "***" in error.message
        assert "alice" in error.message or "USERNAME" in error.message
    if echo == "message-straddles-the-cut":
        straddled_and_scrubbed = error.message == "x" * 292 + "***"
        assert straddled_and_scrubbed
    if echo == "server-error-retried":
        assert isinstance(error, InternalErrorException)
        assert len(server.requests) == 2
    if echo in {"type-is-the-body", "header-is-the-body", "header-is-the-body-quoted"}:
        assert error.name == "HTTP400"
    if echo == "code-is-the-values":
        assert error.name == "HTTP400"
    if echo in {"plain-text-page", "html-page"}:
        assert error.message == "HTTP 400"


@pytest.mark.parametrize("answer", sorted(MALFORMED))
async def test_malformed_answers_quoting_the_request_never_carry_the_password(
    answer: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        malformed_server(MALFORMED[answer]) as port,
        SessionManager(_config(f"http://127.0.0.1:{port}/")) as manager,
    ):
        with pytest.raises(NetworkError) as info:
            await manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
    texts = _exception_texts(info.value) + _log_texts(caplog)
    leaks = leaked_forms("\n".join(texts), SECRETS)
    assert not leaks
    assert info.value.retryable
    assert "could not reach Cognito" in info.value.message


# A 200 answer is not an error message, but what it says can reach one.
REFRESH_ECHOES = {
    **ECHOES,
    "challenge-name-is-the-body": lambda body: web.json_response({"ChallengeName": body}),
}


@pytest.mark.parametrize(
    "echo",
    [
        "message-is-the-body",
        "message-is-the-body-quoted",
        "header-is-the-body",
        "challenge-name-is-the-body",
    ],
)
async def test_refresh_errors_and_logs_never_carry_the_refresh_token(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[SessionEvent] = []
    texts: list[str] = []
    async with (
        echo_server(lambda _: _tokens(), REFRESH_ECHOES[echo]) as server,
        SessionManager(_config(server.url), storage=MemoryStorage()) as manager,
    ):
        manager.subscribe(events.append)
        await manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
        with anyio.fail_after(10):
            try:
                await manager.fetch_auth_session(force_refresh=True)
            except AuthError as err:
                texts += _exception_texts(err)
    refresh = server.requests[1]
    assert refresh["target"].endswith(".InitiateAuth")
    sent = json.loads(refresh["body"])["AuthParameters"]["REFRESH_TOKEN"] == REFRESH_TOKEN
    assert sent
    _assert_echoed(server.answers[1:], REFRESH_TOKEN)
    texts += _log_texts(caplog) + [repr(e) for e in events]
    for event in events:
        if event.error is not None:
            texts += _exception_texts(event.error)
    leaks = leaked_forms("\n".join(texts), SECRETS)
    assert not leaks


@pytest.mark.parametrize("echo", ["message-is-the-body", "message-is-a-repr", "html-page"])
async def test_sign_out_revoke_errors_in_logs_never_carry_the_refresh_token(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[SessionEvent] = []
    async with (
        echo_server(lambda _: _tokens(), REFRESH_ECHOES[echo]) as server,
        SessionManager(_config(server.url), storage=MemoryStorage()) as manager,
    ):
        manager.subscribe(events.append)
        await manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
        with anyio.fail_after(10):
            await manager.sign_out()
            while len(server.requests) < 2:
                await anyio.sleep(0.01)
    assert server.requests[1]["target"].endswith(".RevokeToken")
    _assert_echoed(server.answers[1:], REFRESH_TOKEN)
    texts = _log_texts(caplog) + [repr(e) for e in events]
    for event in events:
        if event.error is not None:
            texts += _exception_texts(event.error)
    leaks = leaked_forms("\n".join(texts), SECRETS)
    assert not leaks


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    password=st.text(min_size=6, max_size=16),  # Cognito's shortest password
    echo=st.sampled_from(sorted(e for e in ECHOES if e.startswith("message-"))),
)
# A password spelling part of a module path (found in CI): not a leak, a name.
@example(password="amplif", echo="message-has-the-values")
async def test_any_password_echoed_in_any_form_is_scrubbed(
    password: str, echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    async with (
        echo_server(ECHOES[echo]) as server,
        SessionManager(_config(server.url)) as manager,
    ):
        with pytest.raises(AuthError) as info:
            await manager.sign_in("alice", password, auth_flow="USER_PASSWORD_AUTH")
    sent = json.loads(server.requests[0]["body"])["AuthParameters"]["PASSWORD"] == password
    assert sent
    # Messages only (a record's other fields hold timestamps, which a random
    # password may happen to spell).
    texts = _exception_texts(info.value)
    texts += [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    leaks = leaked_forms("\n".join(texts), [password])
    assert not leaks
