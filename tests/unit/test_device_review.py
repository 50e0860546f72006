"""Adversarial review of device tracking (issue 16): the device path against absurd answers.

A scripted transport plays Cognito (no socket): each test gives the answers
a hostile or broken server would, and checks that a public method raises
only an AuthError and leaves nothing half-done.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from amplify_session import (
    AuthConfig,
    AuthError,
    CognitoRequest,
    CognitoResponse,
    InvalidResponseException,
    MemoryStorage,
    RetryPolicy,
    SessionManager,
)
from amplify_session._cognito import AuthenticationResult, CognitoTransport, UserPoolClient
from amplify_session._cognito._devices import DeviceCalls
from amplify_session._cognito.srp import SrpSession, device_secret, run_steps
from amplify_session._device_sign_in import DeviceSignIn
from amplify_session._srp_proof import cooperatively, password_claim
from amplify_session._token_store import TokenStore
from tests.support.tokens import make_jwt

pytestmark = pytest.mark.anyio
CONFIG = AuthConfig(
    user_pool_id="us-east-1_Review1",
    user_pool_client_id="client1",
    retry=RetryPolicy(attempts=1, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0),
    device_name="review-box",
)


class Script:
    """Answers each call with the next scripted body; records (operation, body) of each."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict[str, Any]]] = []

    async def send(self, request: CognitoRequest) -> CognitoResponse:
        self.requests.append((request.operation, json.loads(request.body)))
        if request.operation == "RevokeToken" or not self.answers:
            return CognitoResponse(200, "{}")
        return CognitoResponse(200, json.dumps(self.answers.pop(0)))

    async def aclose(self) -> None:
        pass

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.requests]


def _tokens(**extra: Any) -> dict[str, Any]:
    return {
        "AuthenticationResult": {
            "AccessToken": make_jwt(),
            "IdToken": make_jwt({"token_use": "id"}),
            "RefreshToken": "refresh-token-1",
            "ExpiresIn": 3600,
            **extra,
        }
    }


def _device_sign_in(script: Script) -> DeviceSignIn:
    transport = CognitoTransport(CONFIG, script)
    store = TokenStore(MemoryStorage(), CONFIG.user_pool_client_id, None)
    return DeviceSignIn(
        UserPoolClient(transport, CONFIG), DeviceCalls(transport, CONFIG), store, "review-box"
    )


# -- NewDeviceMetadata that cannot be used ------------------------------------------------


async def test_a_new_device_key_that_cannot_be_encoded_is_not_confirmed() -> None:
    # confirm() promises None when the new device cannot be confirmed; a lone
    # surrogate (valid JSON) must not escape as a UnicodeEncodeError.
    script = Script()
    devices = _device_sign_in(script)
    result = AuthenticationResult(
        access_token=make_jwt(), device_key="us-east-1_\ud800", device_group_key="-group"
    )
    assert await devices.confirm(result) is None
    assert "ConfirmDevice" not in script.operations()


async def test_a_sign_in_answer_with_unusable_new_device_metadata_keeps_its_tokens() -> None:
    # The sign-in's tokens are good; only the device cannot be used. As with keys
    # too long to use, the sign-in should stand without a device; today the whole
    # answer is refused and its refresh token is never revoked.
    script = Script(_tokens(NewDeviceMetadata={"DeviceKey": 7, "DeviceGroupKey": "-g"}))
    async with SessionManager(CONFIG, transport=script) as manager:
        try:
            result = await manager.sign_in("alice", "pw", auth_flow="USER_PASSWORD_AUTH")
        except AuthError:
            assert "RevokeToken" in script.operations()
        else:
            assert result.is_signed_in
            assert "ConfirmDevice" not in script.operations()


# -- device challenges out of turn --------------------------------------------------------


async def test_a_device_password_verifier_out_of_turn_is_not_handed_to_the_caller() -> None:
    # DEVICE_PASSWORD_VERIFIER only ever answers DEVICE_SRP_AUTH; asked first, it is
    # a broken server, not a challenge the user could answer with confirm_sign_in.
    challenge = {
        "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
        "Session": "s",
        "ChallengeParameters": {"USERNAME": "alice", "SALT": "ab", "SRP_B": "cd"},
    }
    async with SessionManager(CONFIG, transport=Script(challenge)) as manager:
        with pytest.raises(InvalidResponseException):
            await manager.sign_in("alice", "pw", auth_flow="USER_PASSWORD_AUTH")


async def test_device_srp_auth_without_a_stored_device_is_an_invalid_response() -> None:
    challenge = {"ChallengeName": "DEVICE_SRP_AUTH", "Session": "s", "ChallengeParameters": {}}
    script = Script(challenge)
    async with SessionManager(CONFIG, transport=script) as manager:
        with pytest.raises(InvalidResponseException, match="no device was presented"):
            await manager.sign_in("alice", "pw", auth_flow="USER_PASSWORD_AUTH")
    assert script.operations() == ["InitiateAuth"]


async def test_a_user_id_for_srp_that_cannot_be_encoded_is_an_invalid_response() -> None:
    # The same identity hash as the device's, for the user: USER_ID_FOR_SRP with a lone
    # surrogate must fail as an AuthError (the user SRP path predates issue 16).
    srp = run_steps(SrpSession.start())
    challenge = {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "USER_ID_FOR_SRP": "alice\ud800",
            "USERNAME": "alice",
            "SALT": "ab12",
            "SRP_B": srp.srp_a,  # any valid public value
            "SECRET_BLOCK": "c2VjcmV0",
        },
    }
    async with SessionManager(CONFIG, transport=Script(challenge)) as manager:
        with pytest.raises(AuthError):
            await manager.sign_in("alice", "pw")


# -- the device's password claim ----------------------------------------------------------


@pytest.mark.parametrize(
    "parameters",
    [
        {"SRP_B": "zz", "SALT": "ab", "SECRET_BLOCK": "c2VjcmV0"},
        {"SRP_B": "0", "SALT": "ab", "SECRET_BLOCK": "c2VjcmV0"},
        {"SRP_B": "ab", "SALT": "not hex", "SECRET_BLOCK": "c2VjcmV0"},
        {"SRP_B": "ab", "SALT": "ab", "SECRET_BLOCK": ""},
        {"SRP_B": "ab", "SALT": "ab"},
    ],
    ids=["b-not-hex", "b-zero", "salt-not-hex", "empty-block", "no-block"],
)
async def test_a_malformed_device_verifier_challenge_is_an_invalid_response(
    parameters: dict[str, str],
) -> None:
    srp = run_steps(SrpSession.start())
    with pytest.raises(InvalidResponseException):
        await password_claim(
            srp,
            parameters,
            pool_name="-group",
            user_id="us-east-1_k",
            password="pw",
            challenge_name="DEVICE_PASSWORD_VERIFIER",
        )


# -- the event loop runs during the device's arithmetic ----------------------------------


async def _ticks_during(work: Any) -> int:
    """How often another task ran while ``work`` was awaited (no I/O: only its yields)."""
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        await anyio.lowlevel.checkpoint()
        start = ticks
        await work
        done = True
    return ticks - start


async def test_making_a_device_secret_lets_the_event_loop_run() -> None:
    # v = g^x with a 256-bit x: a yield every 32 bits of exponent.
    steps = device_secret(device_group_key="-group", device_key="us-east-1_k")
    assert await _ticks_during(cooperatively(steps)) >= 8


async def test_the_device_password_claim_lets_the_event_loop_run() -> None:
    srp = run_steps(SrpSession.start())
    server = run_steps(SrpSession.start())
    claim = password_claim(
        srp,
        {"SALT": "ab12", "SRP_B": server.srp_a, "SECRET_BLOCK": "c2VjcmV0"},
        pool_name="-group",
        user_id="us-east-1_k",
        password="pw",
        challenge_name="DEVICE_PASSWORD_VERIFIER",
    )
    assert await _ticks_during(claim) >= 10
