"""The new sign-in steps against a server that answers nonsense: a clear AuthError, nothing
kept that cannot be answered, no secret in a message."""

from __future__ import annotations

import pytest

from amplify_session import (
    AuthConfig,
    CodeMismatchException,
    InvalidParameterException,
    InvalidResponseException,
    SessionManager,
    SignInException,
)
from tests.support.scripted_server import Answer, scripted_config, scripted_server

pytestmark = pytest.mark.anyio


def _config(url: str) -> AuthConfig:
    return scripted_config(url)


def _challenge(name: str, **parameters: str) -> Answer:
    return Answer(
        200,
        {
            "ChallengeName": name,
            "Session": "session-1",
            "ChallengeParameters": {"USERNAME": "alice", **parameters},
        },
    )


_TOTP_ONLY = _challenge("MFA_SETUP", MFAS_CAN_SETUP='["SOFTWARE_TOKEN_MFA"]')


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (_challenge("MFA_SETUP", MFAS_CAN_SETUP='["SMS_MFA"]'), SignInException, "TOTP or EMAIL"),
        (_challenge("MFA_SETUP"), SignInException, "TOTP or EMAIL"),
        (_challenge("WEB_AUTHN"), SignInException, "platform authenticator"),
        (_challenge("SOME_FUTURE_CHALLENGE"), SignInException, "SOME_FUTURE_CHALLENGE"),
        (
            Answer(200, {"ChallengeName": "SELECT_CHALLENGE", "AvailableChallenges": "EMAIL"}),
            InvalidResponseException,
            "AvailableChallenges",
        ),
    ],
)
async def test_a_step_it_cannot_take_is_a_clear_error_and_nothing_waits(
    answer: Answer, error: type[Exception], text: str
) -> None:
    async with scripted_server(answer) as server, SessionManager(_config(server.url)) as manager:
        with pytest.raises(error, match=text):
            await manager.sign_in("alice", auth_flow="CUSTOM_WITHOUT_SRP")
        with pytest.raises(InvalidParameterException, match="no sign-in is waiting"):
            await manager.confirm_sign_in("123456")


@pytest.mark.parametrize(
    "associate",
    [
        Answer(200, {"Session": "s2"}),  # no secret
        Answer(200, {"SecretCode": "JBSWY3DPEHPK3PXP"}),  # no session
        Answer(200, {"SecretCode": 5, "Session": "s2"}),
    ],
)
async def test_a_malformed_associate_software_token_answer_is_refused(associate: Answer) -> None:
    async with (
        scripted_server(_TOTP_ONLY, associate) as server,
        SessionManager(_config(server.url)) as manager,
    ):
        with pytest.raises(InvalidResponseException):
            await manager.sign_in("alice", auth_flow="CUSTOM_WITHOUT_SRP")
    assert [r["target"].rsplit(".", 1)[-1] for r in server.requests] == [
        "InitiateAuth",
        "AssociateSoftwareToken",
    ]
    assert server.requests[1]["body"] == {"Session": "session-1"}


async def test_verify_software_token_not_success_is_refused_and_a_mismatch_keeps_the_step() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    mismatch = Answer(
        400,
        {
            "__type": "EnableSoftwareTokenMFAException",
            "message": "Code mismatch and fail enable Software Token MFA",
        },
    )
    async with (
        scripted_server(
            _TOTP_ONLY,
            Answer(200, {"SecretCode": secret, "Session": "s2"}),
            mismatch,
            Answer(200, {"Status": "ERROR", "Session": "s3"}),
        ) as server,
        SessionManager(_config(server.url)) as manager,
    ):
        result = await manager.sign_in("alice", auth_flow="CUSTOM_WITHOUT_SRP")
        assert result.next_step.sign_in_step == "CONTINUE_SIGN_IN_WITH_TOTP_SETUP"
        assert secret not in repr(result)
        with pytest.raises(CodeMismatchException) as info:
            await manager.confirm_sign_in("111111")
        assert info.value.underlying_error is not None
        with pytest.raises(InvalidResponseException, match="SUCCESS"):
            await manager.confirm_sign_in("222222")
    verifies = [r["body"] for r in server.requests[2:]]
    assert verifies == [
        {"Session": "s2", "UserCode": "111111"},
        {"Session": "s2", "UserCode": "222222"},
    ]


async def test_an_echoing_server_gets_no_code_or_session_back_in_a_message() -> None:
    echo = Answer(
        400,
        {"__type": "CodeMismatchException", "message": "bad code 424242 in session-1 for s2"},
    )
    async with (
        scripted_server(
            _TOTP_ONLY, Answer(200, {"SecretCode": "JBSWY3DPEHPK3PXP", "Session": "s2"}), echo
        ) as server,
        SessionManager(_config(server.url)) as manager,
    ):
        await manager.sign_in("alice", auth_flow="CUSTOM_WITHOUT_SRP")
        with pytest.raises(CodeMismatchException) as info:
            await manager.confirm_sign_in("424242")
    assert "424242" not in str(info.value)
    assert "s2" not in str(info.value).replace("session", "")
