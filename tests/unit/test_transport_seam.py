"""The transport seam: what sends a Cognito call is injectable, and owned by whoever made it.

Scripted transports stand in for the network here: the retries, the error
decoding and the ownership rules are the library's, and need no socket.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import anyio
import anyio.lowlevel
import pytest

from amplify_session import (
    AuthConfig,
    CognitoRequest,
    CognitoResponse,
    NetworkError,
    NotAuthorizedException,
    RetryPolicy,
    SessionManager,
    TooManyRequestsException,
)
from amplify_session._cognito import AiohttpTransport, CognitoTransport, Service

pytestmark = pytest.mark.anyio

NO_WAIT = RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
CONFIG = AuthConfig(
    user_pool_id="us-east-1_Seam1",
    user_pool_client_id="client1",
    identity_pool_id="us-east-1:00000000-0000-0000-0000-000000000000",
    retry=NO_WAIT,
)


class ScriptedTransport:
    """Answers each call with the next scripted answer (or raises it); counts closes."""

    def __init__(self, answers: Iterable[CognitoResponse | BaseException]) -> None:
        self.answers = list(answers)
        self.sent: list[CognitoRequest] = []
        self.closed = 0

    async def send(self, request: CognitoRequest) -> CognitoResponse:
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def aclose(self) -> None:
        self.closed += 1


def ok(body: dict[str, object], **headers: str) -> CognitoResponse:
    return CognitoResponse(200, json.dumps(body), headers)


async def test_a_throttled_call_is_retried_over_any_transport() -> None:
    transport = ScriptedTransport([CognitoResponse(429, ""), ok({"IdentityId": "id-1"})])
    cognito = CognitoTransport(CONFIG, transport)

    answer = await cognito.call(Service.IDENTITY_POOL, "GetId", {"IdentityPoolId": "p"})

    assert answer == {"IdentityId": "id-1"}
    assert [r.operation for r in transport.sent] == ["GetId", "GetId"]
    assert transport.sent[0].service is Service.IDENTITY_POOL
    assert json.loads(transport.sent[1].body) == {"IdentityPoolId": "p"}
    assert transport.sent[0].target == "AWSCognitoIdentityService.GetId"


async def test_the_last_throttling_answer_is_the_error() -> None:
    transport = ScriptedTransport([CognitoResponse(429, "")] * 3)
    with pytest.raises(TooManyRequestsException):
        await CognitoTransport(CONFIG, transport).call(Service.USER_POOL, "InitiateAuth", {})
    assert len(transport.sent) == NO_WAIT.attempts


async def test_an_oserror_from_send_is_a_network_error_after_the_retries() -> None:
    transport = ScriptedTransport([ConnectionResetError("reset by peer")] * 3)
    with pytest.raises(NetworkError) as info:
        await CognitoTransport(CONFIG, transport).call(Service.USER_POOL, "InitiateAuth", {})
    assert len(transport.sent) == NO_WAIT.attempts
    assert info.value.retryable


async def test_a_transport_that_breaks_still_fails_with_an_auth_error() -> None:
    transport = ScriptedTransport([ValueError("a bug in someone's transport")])
    with pytest.raises(NetworkError, match="the transport failed") as info:
        await CognitoTransport(CONFIG, transport).call(Service.USER_POOL, "InitiateAuth", {})
    assert len(transport.sent) == 1  # a bug is not retried
    assert not info.value.retryable


async def test_error_answers_are_decoded_from_headers_of_any_case() -> None:
    answer = CognitoResponse(
        400,
        json.dumps({"message": "Incorrect username or password."}),
        {"X-Amzn-ErrorType": "NotAuthorizedException:http://internal.amazon.com/"},
    )
    transport = ScriptedTransport([answer])
    with pytest.raises(NotAuthorizedException):
        await CognitoTransport(CONFIG, transport).call(Service.USER_POOL, "InitiateAuth", {})
    assert len(transport.sent) == 1  # a definitive answer is not retried


async def test_the_server_date_is_read_from_the_answer() -> None:
    transport = ScriptedTransport([ok({}, Date="Tue, 03 Nov 2026 07:04:05 GMT")])
    _, server_time = await CognitoTransport(CONFIG, transport).call_with_date(
        Service.IDENTITY_POOL, "GetCredentialsForIdentity", {}
    )
    assert server_time == 1793689445.0


async def test_a_request_shows_no_body_in_its_repr() -> None:
    request = CognitoRequest(Service.USER_POOL, "InitiateAuth", '{"PASSWORD": "hunter2-secret"}')
    assert "hunter2-secret" not in repr(request)
    assert "InitiateAuth" in repr(request)
    response = CognitoResponse(200, '{"AccessToken": "eyJ-secret"}')
    assert "eyJ-secret" not in repr(response)


async def test_the_manager_never_closes_a_transport_it_was_given() -> None:
    shared = ScriptedTransport([])
    for _ in range(2):  # one transport, two managers in turn: it stays usable
        async with SessionManager(CONFIG, transport=shared):
            pass
        manager = SessionManager(CONFIG, transport=shared)
        await manager.aclose()
    assert shared.closed == 0


async def test_a_transport_the_library_made_is_closed_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[AiohttpTransport] = []

    async def record_close(self: AiohttpTransport) -> None:
        closed.append(self)

    monkeypatch.setattr(AiohttpTransport, "aclose", record_close)
    cognito = CognitoTransport(CONFIG)
    await cognito.aclose()
    assert len(closed) == 1

    given = AiohttpTransport(CONFIG)
    await CognitoTransport(CONFIG, given).aclose()
    assert len(closed) == 1  # the given one is its owner's to close


async def test_calls_go_through_the_given_transport_concurrently() -> None:
    """Each attempt is one send: concurrent calls do not share or reorder answers."""

    class Echo:
        async def send(self, request: CognitoRequest) -> CognitoResponse:
            await anyio.lowlevel.checkpoint()
            return ok({"IdentityId": json.loads(request.body)["IdentityPoolId"]})

        async def aclose(self) -> None:
            raise AssertionError("not the caller's to close")

    cognito = CognitoTransport(CONFIG, Echo())
    results: dict[str, object] = {}

    async def ask(name: str) -> None:
        results[name] = (
            await cognito.call(Service.IDENTITY_POOL, "GetId", {"IdentityPoolId": name})
        )["IdentityId"]

    async with anyio.create_task_group() as group:
        for name in ("a", "b", "c"):
            group.start_soon(ask, name)
    await cognito.aclose()
    assert results == {"a": "a", "b": "b", "c": "c"}
