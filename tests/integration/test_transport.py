"""The Cognito transport against a scripted server: errors, retries, timeouts."""

import logging
import re
import socket

import pytest

from amplify_session import (
    AuthConfig,
    AuthError,
    InternalErrorException,
    InvalidResponseException,
    NetworkError,
    NotAuthorizedException,
    RetryPolicy,
    SessionManager,
    TooManyRequestsException,
)
from tests.support.retry import fast_retry
from tests.support.scripted_server import Answer, ScriptedServer, scripted_server

pytestmark = pytest.mark.anyio

FAST_RETRY = fast_retry(3)
PASSWORD = "Sup3r-Secret-Pw"


def _config(url: str, **overrides: object) -> AuthConfig:
    fields: dict[str, object] = {
        "user_pool_id": "us-east-1_Test1",
        "user_pool_client_id": "client1",
        "user_pool_endpoint": url,
        "identity_pool_endpoint": url,
        "retry": FAST_RETRY,
        "request_timeout": 2.0,
    }
    fields.update(overrides)
    return AuthConfig(**fields)  # type: ignore[arg-type]


async def _sign_in(server: ScriptedServer, **overrides: object) -> None:
    async with SessionManager(_config(server.url, **overrides)) as manager:
        await manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")


def _error(name: str, message: str = "m", status: int = 400) -> Answer:
    return Answer(status, {"__type": f"com.amazonaws.cognito#{name}", "message": message})


async def test_request_is_json_1_1_with_target() -> None:
    async with scripted_server(_error("NotAuthorizedException")) as server:
        with pytest.raises(NotAuthorizedException):
            await _sign_in(server)
    assert server.requests[0]["target"] == "AWSCognitoIdentityProviderService.InitiateAuth"
    body = server.requests[0]["body"]
    assert body["AuthFlow"] == "USER_PASSWORD_AUTH"
    assert body["ClientId"] == "client1"
    assert body["AuthParameters"] == {"USERNAME": "alice", "PASSWORD": PASSWORD}


async def test_definitive_errors_are_not_retried_and_never_echo_the_password() -> None:
    echo = _error("NotAuthorizedException", f"bad password {PASSWORD}")
    async with scripted_server(echo) as server:
        with pytest.raises(NotAuthorizedException) as info:
            await _sign_in(server)
    assert len(server.requests) == 1
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value)
    assert info.value.message == "bad password ***"


@pytest.mark.parametrize(
    "fault",
    [
        Answer(500, "<html>oops</html>"),
        Answer(503, {}),
        Answer(429, {}),
        _error("TooManyRequestsException"),
        _error("InternalErrorException", status=500),
        "reset",
    ],
)
async def test_transient_faults_are_retried_then_succeed(fault: Answer | str) -> None:
    async with scripted_server(fault, _error("UserNotFoundException")) as server:
        with pytest.raises(AuthError) as info:
            await _sign_in(server)
    assert info.value.name == "UserNotFoundException"  # the answer after the retry
    assert len(server.requests) == 2


async def test_retries_are_bounded_in_attempts() -> None:
    async with scripted_server(Answer(503, {})) as server:
        with pytest.raises(InternalErrorException) as info:
            await _sign_in(server)
    assert info.value.retryable
    assert len(server.requests) == FAST_RETRY.attempts


async def test_retries_are_bounded_in_total_time() -> None:
    # Each stalled attempt times out after 0.3 s; the whole call gives up after 0.5 s.
    policy = fast_retry(50, timeout=0.5)
    async with scripted_server("stall") as server:
        with pytest.raises(NetworkError, match="timed out"):
            await _sign_in(server, retry=policy, request_timeout=0.3)
    assert 1 <= len(server.requests) < 50


async def test_backoff_is_exponential_jittered_and_capped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="amplify_session.transport")
    policy = RetryPolicy(
        attempts=5, timeout=10.0, wait_initial=0.01, wait_max=0.04, wait_jitter=0.005
    )
    async with scripted_server(Answer(503, {})) as server:
        with pytest.raises(InternalErrorException):
            await _sign_in(server, retry=policy)
    assert len(server.requests) == 5
    waits = [
        float(match.group(1))
        for record in caplog.records
        if (match := re.search(r"retrying in ([0-9.]+) s$", record.getMessage()))
    ]
    # min(wait_max, wait_initial * 2**(n-1) + uniform(0, wait_jitter)), as stamina had it.
    for wait, base in zip(waits, [0.01, 0.02, 0.04, 0.08], strict=True):
        # The log rounds to the millisecond.
        assert min(base, 0.04) - 0.0005 <= wait <= min(base + 0.005, 0.04) + 0.0005


async def test_throttling_named_in_the_header_only() -> None:
    header_only = Answer(400, {}, {"x-amzn-errortype": "TooManyRequestsException:http://x/"})
    async with scripted_server(header_only) as server:
        with pytest.raises(TooManyRequestsException):
            await _sign_in(server)
    assert len(server.requests) == FAST_RETRY.attempts


async def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with SessionManager(_config(f"http://127.0.0.1:{port}/")) as manager:
        with pytest.raises(NetworkError) as info:
            await manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
    assert info.value.retryable
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(200, "not json"),
        Answer(200, [1, 2]),
        Answer(200, {"AuthenticationResult": {"AccessToken": "not.a.jwt"}}),
        Answer(200, {"Nothing": "here"}),
    ],
)
async def test_unreadable_answers_are_invalid_responses(answer: Answer) -> None:
    async with scripted_server(answer) as server:
        with pytest.raises(InvalidResponseException):
            await _sign_in(server)
    assert len(server.requests) == 1
