"""Sign-in against a server that answers oddly: no endless exchange, no spent challenge kept."""

from __future__ import annotations

import base64
import contextlib

import anyio
import pytest

from amplify_session import (
    AuthConfig,
    AuthError,
    InvalidParameterException,
    InvalidResponseException,
    SessionManager,
)
from tests.support.scripted_server import Answer, scripted_config, scripted_server

pytestmark = pytest.mark.anyio

CLIENT = "client1"

# A PASSWORD_VERIFIER the client can compute a claim for (B is not 0 mod N).
_VERIFIER = Answer(
    200,
    {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": "ab" * 16,
            "SRP_B": "cd" * 192,
            "SECRET_BLOCK": base64.b64encode(b"block").decode(),
            "USER_ID_FOR_SRP": "alice",
            "USERNAME": "alice",
        },
        "Session": "s",
    },
)


def _config(url: str) -> AuthConfig:
    return scripted_config(url)


async def test_a_server_repeating_password_verifier_cannot_loop_a_sign_in() -> None:
    # Cognito answers PASSWORD_VERIFIER once per SRP sign-in. A server that keeps
    # asking for it (a broken proxy, an emulator bug) must not hold a sign-in
    # in an endless exchange of requests: the password proof is sent once.
    async with scripted_server(_VERIFIER) as server:  # every answer: PASSWORD_VERIFIER
        async with SessionManager(_config(server.url)) as manager:
            # A hang limit, not a duration; refusing the answer is fine too.
            with anyio.move_on_after(5), contextlib.suppress(AuthError):
                await manager.sign_in("alice", "Passw0rd!")
        sent = len(server.requests)  # counted apart: the requests carry the password proof
        assert sent == 2, "the sign-in kept answering PASSWORD_VERIFIER"


async def test_a_challenge_answered_with_malformed_tokens_is_no_longer_pending() -> None:
    # Cognito spent the challenge session on that answer: the sign-in is over
    # (its refresh token revoked), and a second confirm_sign_in is refused at
    # once instead of sending the answer again.
    challenge = Answer(
        200,
        {
            "ChallengeName": "SOFTWARE_TOKEN_MFA",
            "ChallengeParameters": {"USERNAME": "alice"},
            "Session": "s",
        },
    )
    malformed = Answer(
        200,
        {
            "AuthenticationResult": {
                "AccessToken": "not-a-jwt",
                "RefreshToken": "opaque-refresh-token",
                "ExpiresIn": 3600,
                "TokenType": "Bearer",
            }
        },
    )
    async with (
        scripted_server(challenge, malformed, Answer(200, {})) as server,
        SessionManager(_config(server.url)) as manager,
    ):
        await manager.sign_in("alice", "Passw0rd!", auth_flow="USER_PASSWORD_AUTH")
        with pytest.raises(InvalidResponseException):
            await manager.confirm_sign_in("123456")
        with pytest.raises(InvalidParameterException):
            await manager.confirm_sign_in("123456")
    targets = [str(request["target"]).rsplit(".", 1)[-1] for request in server.requests]
    assert targets == ["InitiateAuth", "RespondToAuthChallenge", "RevokeToken"]
