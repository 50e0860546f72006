"""Every Amplify v6 flow and step, through the strict front: from sign_in to a signed-in
session, the exact Cognito calls checked at the front, then a refresh.

Each ``WIRE_*`` list is a row of the README's table of flows and steps: the
sign-in calls as the front received them, one string per call (operation,
flow or challenge, and the parameter names; a choice's value after ``=``).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pyotp
import pytest

from amplify_session import (
    CodeMismatchException,
    FileStorage,
    InvalidParameterException,
    MemoryStorage,
    NotAuthorizedException,
    SessionManager,
    SignInException,
    SignInResult,
)
from amplify_session.emulator import CustomRound, EmulatedPool, Emulator
from tests.support.devices import sign_in_with_mfa

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).parents[2]

_SIGN_IN_CALLS = frozenset(
    {"InitiateAuth", "RespondToAuthChallenge", "AssociateSoftwareToken", "VerifySoftwareToken"}
)
_NOT_SHOWN = frozenset({"USERNAME", "SECRET_HASH", "DEVICE_KEY"})
_VALUES_SHOWN = frozenset({"PREFERRED_CHALLENGE", "CHALLENGE_NAME", "ANSWER"})


def wire(emulator: Emulator) -> list[str]:
    """The sign-in calls the front received, as the README's table writes them."""
    calls = []
    for operation, body in emulator.front.requests:
        if operation not in _SIGN_IN_CALLS:
            continue
        if operation == "InitiateAuth":
            if body.get("AuthFlow") in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
                continue
            head, fields = body["AuthFlow"], body.get("AuthParameters") or {}
        elif operation == "RespondToAuthChallenge":
            head, fields = body["ChallengeName"], body.get("ChallengeResponses") or {}
        else:
            head, fields = "", {k: v for k, v in body.items() if k != "FriendlyDeviceName"}
        shown = [
            f"{k}={fields[k]}" if k in _VALUES_SHOWN else k
            for k in sorted(fields)
            if k not in _NOT_SHOWN and not (k == "ANSWER" and head == "CUSTOM_CHALLENGE")
        ]
        if head == "CUSTOM_CHALLENGE":
            shown.append("ANSWER")
        calls.append(" ".join([operation, head, *shown]).replace("  ", " "))
    return calls


async def signed_in_and_refreshing(manager: SessionManager, emulator: Emulator) -> None:
    """The session is usable, and its refresh token works."""
    assert await manager.is_authenticated()
    before = await manager.fetch_auth_session()
    assert before.tokens is not None
    refreshes = (
        emulator.front.calls["InitiateAuth"] + emulator.front.calls["GetTokensFromRefreshToken"]
    )
    after = await manager.fetch_auth_session(force_refresh=True)
    assert after.tokens is not None
    assert after.tokens.access_token.to_string() != before.tokens.access_token.to_string()
    assert (
        emulator.front.calls["InitiateAuth"] + emulator.front.calls["GetTokensFromRefreshToken"]
        == refreshes + 1
    )


def _step(result: SignInResult) -> str:
    assert not result.is_signed_in
    return result.next_step.sign_in_step


def _no_password_sent(emulator: Emulator, password: str) -> None:
    assert password not in str(emulator.front.requests)
    for operation, body in emulator.front.requests:
        fields = {**(body.get("AuthParameters") or {}), **(body.get("ChallengeResponses") or {})}
        assert "PASSWORD" not in fields, operation
        assert "SRP_A" not in fields, operation


# -- the classic flows ---------------------------------------------------------------

WIRE_USER_SRP_AUTH = [
    "InitiateAuth USER_SRP_AUTH SRP_A",
    "RespondToAuthChallenge PASSWORD_VERIFIER"
    " PASSWORD_CLAIM_SECRET_BLOCK PASSWORD_CLAIM_SIGNATURE TIMESTAMP",
]
WIRE_USER_PASSWORD_AUTH = ["InitiateAuth USER_PASSWORD_AUTH PASSWORD"]


@pytest.mark.parametrize(
    ("flow", "expected"),
    [("USER_SRP_AUTH", WIRE_USER_SRP_AUTH), ("USER_PASSWORD_AUTH", WIRE_USER_PASSWORD_AUTH)],
)
async def test_password_flows(
    pool: EmulatedPool, amplify_emulator: Emulator, flow: str, expected: list[str]
) -> None:
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password, auth_flow=flow)
        assert result.is_signed_in
        assert wire(amplify_emulator) == expected
        await signed_in_and_refreshing(manager, amplify_emulator)


# -- custom auth -------------------------------------------------------------------------

WIRE_CUSTOM_WITH_SRP = [
    "InitiateAuth CUSTOM_AUTH CHALLENGE_NAME=SRP_A SRP_A",
    "RespondToAuthChallenge PASSWORD_VERIFIER"
    " PASSWORD_CLAIM_SECRET_BLOCK PASSWORD_CLAIM_SIGNATURE TIMESTAMP",
    "RespondToAuthChallenge CUSTOM_CHALLENGE ANSWER",
]
WIRE_CUSTOM_WITHOUT_SRP = [
    "InitiateAuth CUSTOM_AUTH",
    "RespondToAuthChallenge CUSTOM_CHALLENGE ANSWER",
    "RespondToAuthChallenge CUSTOM_CHALLENGE ANSWER",
    "RespondToAuthChallenge CUSTOM_CHALLENGE ANSWER",
]


@pytest.fixture
def custom_pool(amplify_emulator: Emulator) -> EmulatedPool:
    amplify_emulator.reset()
    return amplify_emulator.provision(custom_auth=True)


async def test_custom_with_srp(custom_pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    amplify_emulator.front.script_custom_challenge(
        custom_pool.user_pool_id, CustomRound(parameters={"question": "2+2?"}, answer="4")
    )
    async with SessionManager(custom_pool.config()) as manager:
        result = await manager.sign_in(
            custom_pool.username, custom_pool.password, auth_flow="CUSTOM_WITH_SRP"
        )
        assert _step(result) == "CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE"
        assert result.next_step.additional_info == {"question": "2+2?"}
        assert (await manager.confirm_sign_in("4")).is_signed_in
        assert wire(amplify_emulator) == WIRE_CUSTOM_WITH_SRP
        assert custom_pool.password not in str(amplify_emulator.front.requests)
        user = await manager.get_current_user()
        assert user.sign_in_details is not None
        assert user.sign_in_details.auth_flow_type == "CUSTOM_WITH_SRP"
        await signed_in_and_refreshing(manager, amplify_emulator)


async def test_custom_without_srp_chains_three_rounds(
    custom_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    rounds = [CustomRound(parameters={"round": str(i)}, answer=f"answer-{i}") for i in (1, 2, 3)]
    amplify_emulator.front.script_custom_challenge(custom_pool.user_pool_id, *rounds)
    async with SessionManager(custom_pool.config()) as manager:
        result = await manager.sign_in(custom_pool.username, auth_flow="CUSTOM_WITHOUT_SRP")
        for i in (1, 2, 3):
            assert _step(result) == "CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE"
            assert result.next_step.additional_info == {"round": str(i)}
            result = await manager.confirm_sign_in(f"answer-{i}")
        assert result.is_signed_in
        assert wire(amplify_emulator) == WIRE_CUSTOM_WITHOUT_SRP
        _no_password_sent(amplify_emulator, custom_pool.password)
        user = await manager.get_current_user()
        assert user.sign_in_details is not None
        assert user.sign_in_details.auth_flow_type == "CUSTOM_WITHOUT_SRP"
        await signed_in_and_refreshing(manager, amplify_emulator)


async def test_a_wrong_custom_answer_ends_the_sign_in(
    custom_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.script_custom_challenge(
        custom_pool.user_pool_id, CustomRound(parameters={"q": "?"}, answer="right")
    )
    async with SessionManager(custom_pool.config()) as manager:
        await manager.sign_in(custom_pool.username, auth_flow="CUSTOM_WITHOUT_SRP")
        with pytest.raises(NotAuthorizedException):
            await manager.confirm_sign_in("wrong")
        with pytest.raises(InvalidParameterException, match="no sign-in is waiting"):
            await manager.confirm_sign_in("right")


# -- USER_AUTH: choice-based sign-in ------------------------------------------------------

WIRE_USER_AUTH_PASSWORD = ["InitiateAuth USER_AUTH PASSWORD PREFERRED_CHALLENGE=PASSWORD"]
WIRE_USER_AUTH_PASSWORD_SRP = [
    "InitiateAuth USER_AUTH PREFERRED_CHALLENGE=PASSWORD_SRP SRP_A",
    "RespondToAuthChallenge PASSWORD_VERIFIER"
    " PASSWORD_CLAIM_SECRET_BLOCK PASSWORD_CLAIM_SIGNATURE TIMESTAMP",
]
WIRE_USER_AUTH_EMAIL_OTP = [
    "InitiateAuth USER_AUTH PREFERRED_CHALLENGE=EMAIL_OTP",
    "RespondToAuthChallenge EMAIL_OTP EMAIL_OTP_CODE",
]
WIRE_USER_AUTH_SMS_OTP = [
    "InitiateAuth USER_AUTH PREFERRED_CHALLENGE=SMS_OTP",
    "RespondToAuthChallenge SMS_OTP SMS_OTP_CODE",
]
WIRE_FIRST_FACTOR_EMAIL = [
    "InitiateAuth USER_AUTH",
    "RespondToAuthChallenge SELECT_CHALLENGE ANSWER=EMAIL_OTP",
    "RespondToAuthChallenge EMAIL_OTP EMAIL_OTP_CODE",
]
WIRE_FIRST_FACTOR_PASSWORD = [
    "InitiateAuth USER_AUTH",
    "RespondToAuthChallenge SELECT_CHALLENGE ANSWER=PASSWORD PASSWORD",
]
WIRE_FIRST_FACTOR_PASSWORD_SRP = [
    "InitiateAuth USER_AUTH",
    "RespondToAuthChallenge SELECT_CHALLENGE ANSWER=PASSWORD_SRP SRP_A",
    "RespondToAuthChallenge PASSWORD_VERIFIER"
    " PASSWORD_CLAIM_SECRET_BLOCK PASSWORD_CLAIM_SIGNATURE TIMESTAMP",
]


@pytest.fixture
def choice_pool(amplify_emulator: Emulator) -> EmulatedPool:
    amplify_emulator.reset()
    return amplify_emulator.provision(
        first_factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP"), phone_number="+15555550100"
    )


@pytest.mark.parametrize(
    ("factor", "expected"),
    [("PASSWORD", WIRE_USER_AUTH_PASSWORD), ("PASSWORD_SRP", WIRE_USER_AUTH_PASSWORD_SRP)],
)
async def test_user_auth_with_a_password(
    choice_pool: EmulatedPool, amplify_emulator: Emulator, factor: str, expected: list[str]
) -> None:
    async with SessionManager(choice_pool.config()) as manager:
        result = await manager.sign_in(
            choice_pool.username,
            choice_pool.password,
            auth_flow="USER_AUTH",
            preferred_challenge=factor,
        )
        assert result.is_signed_in
        assert wire(amplify_emulator) == expected
        await signed_in_and_refreshing(manager, amplify_emulator)


@pytest.mark.parametrize(
    ("factor", "step", "medium", "expected"),
    [
        ("EMAIL_OTP", "CONFIRM_SIGN_IN_WITH_EMAIL_CODE", "EMAIL", WIRE_USER_AUTH_EMAIL_OTP),
        ("SMS_OTP", "CONFIRM_SIGN_IN_WITH_SMS_CODE", "SMS", WIRE_USER_AUTH_SMS_OTP),
    ],
)
async def test_passwordless_user_auth_never_asks_for_or_sends_a_password(
    choice_pool: EmulatedPool,
    amplify_emulator: Emulator,
    factor: str,
    step: str,
    medium: str,
    expected: list[str],
) -> None:
    async with SessionManager(choice_pool.config()) as manager:
        result = await manager.sign_in(
            choice_pool.username, auth_flow="USER_AUTH", preferred_challenge=factor
        )
        assert _step(result) == step
        assert result.next_step.additional_info["CODE_DELIVERY_DELIVERY_MEDIUM"] == medium
        (sent,) = amplify_emulator.front.sent_codes
        assert sent.challenge == factor
        assert (await manager.confirm_sign_in(sent.code)).is_signed_in
        assert wire(amplify_emulator) == expected
        _no_password_sent(amplify_emulator, choice_pool.password)
        await signed_in_and_refreshing(manager, amplify_emulator)


async def test_a_password_with_a_passwordless_flow_is_refused_before_anything_is_sent(
    choice_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with SessionManager(choice_pool.config()) as manager:
        with pytest.raises(InvalidParameterException, match="uses no password"):
            await manager.sign_in(
                choice_pool.username,
                choice_pool.password,
                auth_flow="USER_AUTH",
                preferred_challenge="EMAIL_OTP",
            )
        with pytest.raises(SignInException, match="platform authenticator"):
            await manager.sign_in(
                choice_pool.username, auth_flow="USER_AUTH", preferred_challenge="WEB_AUTHN"
            )
    assert wire(amplify_emulator) == []


async def test_first_factor_selection_then_an_email_code(
    choice_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with SessionManager(choice_pool.config()) as manager:
        result = await manager.sign_in(choice_pool.username, auth_flow="USER_AUTH")
        assert _step(result) == "CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION"
        assert set(result.next_step.available_challenges) >= {"PASSWORD", "EMAIL_OTP"}
        with pytest.raises(InvalidParameterException, match="platform authenticator"):
            await manager.confirm_sign_in("WEB_AUTHN")
        result = await manager.confirm_sign_in("EMAIL_OTP")  # the step stayed open
        assert _step(result) == "CONFIRM_SIGN_IN_WITH_EMAIL_CODE"
        assert (await manager.confirm_sign_in(amplify_emulator.front.mfa_code)).is_signed_in
        assert wire(amplify_emulator) == WIRE_FIRST_FACTOR_EMAIL
        _no_password_sent(amplify_emulator, choice_pool.password)
        await signed_in_and_refreshing(manager, amplify_emulator)


@pytest.mark.parametrize(
    ("factor", "expected"),
    [("PASSWORD", WIRE_FIRST_FACTOR_PASSWORD), ("PASSWORD_SRP", WIRE_FIRST_FACTOR_PASSWORD_SRP)],
)
async def test_first_factor_selection_then_the_password(
    choice_pool: EmulatedPool, amplify_emulator: Emulator, factor: str, expected: list[str]
) -> None:
    async with SessionManager(choice_pool.config()) as manager:
        await manager.sign_in(choice_pool.username, auth_flow="USER_AUTH")
        result = await manager.confirm_sign_in(factor)
        assert _step(result) == "CONFIRM_SIGN_IN_WITH_PASSWORD"
        assert wire(amplify_emulator) == expected[:1]  # choosing a password factor is local
        assert (await manager.confirm_sign_in(choice_pool.password)).is_signed_in
        assert wire(amplify_emulator) == expected
        await signed_in_and_refreshing(manager, amplify_emulator)


# -- new password, MFA, MFA setup -------------------------------------------------------

WIRE_NEW_PASSWORD = [
    *WIRE_USER_SRP_AUTH,
    "RespondToAuthChallenge NEW_PASSWORD_REQUIRED NEW_PASSWORD",
]
WIRE_SMS_MFA = [*WIRE_USER_SRP_AUTH, "RespondToAuthChallenge SMS_MFA SMS_MFA_CODE"]
WIRE_TOTP_SETUP = [
    *WIRE_USER_SRP_AUTH,
    "AssociateSoftwareToken Session",
    "VerifySoftwareToken Session UserCode",
    "RespondToAuthChallenge MFA_SETUP",
]
WIRE_TOTP_MFA = [
    *WIRE_USER_SRP_AUTH,
    "RespondToAuthChallenge SOFTWARE_TOKEN_MFA SOFTWARE_TOKEN_MFA_CODE",
]
WIRE_EMAIL_SETUP = [
    *WIRE_USER_SRP_AUTH,
    "RespondToAuthChallenge MFA_SETUP EMAIL",
    "RespondToAuthChallenge EMAIL_OTP EMAIL_OTP_CODE",
]


async def test_sms_mfa(amplify_emulator: Emulator) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(mfa_required=True)
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)
        assert _step(result) == "CONFIRM_SIGN_IN_WITH_SMS_CODE"
        assert (await manager.confirm_sign_in(amplify_emulator.front.mfa_code)).is_signed_in
        assert wire(amplify_emulator) == WIRE_SMS_MFA
        await signed_in_and_refreshing(manager, amplify_emulator)


WIRE_MFA_SELECTION = [
    *WIRE_USER_SRP_AUTH,
    "RespondToAuthChallenge SELECT_MFA_TYPE ANSWER=SOFTWARE_TOKEN_MFA",
    "RespondToAuthChallenge SOFTWARE_TOKEN_MFA SOFTWARE_TOKEN_MFA_CODE",
]


async def test_mfa_selection_then_a_totp_code(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.plan_challenges("SELECT_MFA_TYPE", code="246810")
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)
        assert _step(result) == "CONTINUE_SIGN_IN_WITH_MFA_SELECTION"
        assert result.next_step.allowed_mfa_types == ("SMS", "TOTP")
        with pytest.raises(InvalidParameterException, match="SMS, TOTP"):
            await manager.confirm_sign_in("EMAIL")  # not offered: the step stays open
        result = await manager.confirm_sign_in("TOTP")
        assert _step(result) == "CONFIRM_SIGN_IN_WITH_TOTP_CODE"
        assert (await manager.confirm_sign_in("246810")).is_signed_in
        assert wire(amplify_emulator) == WIRE_MFA_SELECTION
        await signed_in_and_refreshing(manager, amplify_emulator)


async def test_a_new_user_sets_a_password_then_totp_then_signs_in_with_totp(
    amplify_emulator: Emulator,
) -> None:
    """NEW_PASSWORD_REQUIRED -> MFA_SETUP (TOTP, a real code from the shared secret) -> signed
    in; the next sign-in answers SOFTWARE_TOKEN_MFA with the same secret."""
    amplify_emulator.reset()
    pool = amplify_emulator.provision(
        mfa_required=True, mfa_types=("SOFTWARE_TOKEN_MFA",), temporary_password=True
    )
    new_password = pool.password + "-New1"
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)
        assert _step(result) == "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED"
        result = await manager.confirm_sign_in(new_password)
        assert _step(result) == "CONTINUE_SIGN_IN_WITH_TOTP_SETUP"
        details = result.next_step.totp_setup_details
        assert details is not None
        totp = pyotp.parse_uri(details.setup_uri)
        assert isinstance(totp, pyotp.TOTP)
        assert totp.secret == details.shared_secret
        assert totp.issuer == "amplify-session"
        # A code from another secret: refused, and the setup step stays open.
        with pytest.raises(CodeMismatchException):
            await manager.confirm_sign_in(pyotp.TOTP(pyotp.random_base32()).now())
        result = await manager.confirm_sign_in(pyotp.TOTP(details.shared_secret).now())
        assert result.is_signed_in
        assert wire(amplify_emulator)[:2] == WIRE_USER_SRP_AUTH
        assert wire(amplify_emulator)[2:] == [
            "RespondToAuthChallenge NEW_PASSWORD_REQUIRED NEW_PASSWORD",
            "AssociateSoftwareToken Session",
            "VerifySoftwareToken Session UserCode",
            "VerifySoftwareToken Session UserCode",
            "RespondToAuthChallenge MFA_SETUP",
        ]
        await signed_in_and_refreshing(manager, amplify_emulator)
        await manager.sign_out()
        amplify_emulator.front.requests.clear()
        result = await manager.sign_in(pool.username, new_password)
        assert _step(result) == "CONFIRM_SIGN_IN_WITH_TOTP_CODE"
        assert (await manager.confirm_sign_in(totp.now())).is_signed_in
        assert wire(amplify_emulator) == WIRE_TOTP_MFA


async def test_mfa_setup_selection_then_email(amplify_emulator: Emulator) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(
        mfa_required=True, mfa_types=("SOFTWARE_TOKEN_MFA", "EMAIL_OTP")
    )
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)
        assert _step(result) == "CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION"
        assert result.next_step.allowed_mfa_types == ("TOTP", "EMAIL")
        with pytest.raises(InvalidParameterException, match="TOTP, EMAIL"):
            await manager.confirm_sign_in("SMS")
        result = await manager.confirm_sign_in("EMAIL")
        assert _step(result) == "CONTINUE_SIGN_IN_WITH_EMAIL_SETUP"
        with pytest.raises(InvalidParameterException, match="email address"):
            await manager.confirm_sign_in("not an address")
        result = await manager.confirm_sign_in("alice.mfa@example.com")
        assert _step(result) == "CONFIRM_SIGN_IN_WITH_EMAIL_CODE"
        (sent,) = amplify_emulator.front.sent_codes
        assert sent.medium == "EMAIL"
        assert (await manager.confirm_sign_in(sent.code)).is_signed_in
        assert wire(amplify_emulator) == WIRE_EMAIL_SETUP
        await signed_in_and_refreshing(manager, amplify_emulator)


async def test_mfa_setup_selection_then_totp(amplify_emulator: Emulator) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(
        mfa_required=True, mfa_types=("SOFTWARE_TOKEN_MFA", "EMAIL_OTP")
    )
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        result = await manager.confirm_sign_in("TOTP")
        assert _step(result) == "CONTINUE_SIGN_IN_WITH_TOTP_SETUP"
        details = result.next_step.totp_setup_details
        assert details is not None
        assert (await manager.confirm_sign_in(pyotp.TOTP(details.shared_secret).now())).is_signed_in
        assert wire(amplify_emulator) == WIRE_TOTP_SETUP
        await signed_in_and_refreshing(manager, amplify_emulator)


# -- codes: attempts, expiry ---------------------------------------------------------------


async def test_a_wrong_code_keeps_the_step_open_until_the_attempts_run_out(
    choice_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.code_attempts = 2
    async with SessionManager(choice_pool.config()) as manager:
        await manager.sign_in(
            choice_pool.username, auth_flow="USER_AUTH", preferred_challenge="EMAIL_OTP"
        )
        for _ in range(2):
            with pytest.raises(CodeMismatchException):
                await manager.confirm_sign_in("000000")
        with pytest.raises(NotAuthorizedException, match="sign-in session expired") as info:
            await manager.confirm_sign_in("000000")
        assert info.value.recovery_suggestion == "Call sign_in() again."
        with pytest.raises(InvalidParameterException, match="no sign-in is waiting"):
            await manager.confirm_sign_in(amplify_emulator.front.mfa_code)


async def test_an_expired_challenge_session_is_refused(
    choice_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.session_ttl = 0.2
    async with SessionManager(choice_pool.config()) as manager:
        await manager.sign_in(
            choice_pool.username, auth_flow="USER_AUTH", preferred_challenge="EMAIL_OTP"
        )
        await anyio.sleep(0.4)
        with pytest.raises(NotAuthorizedException, match="expired"):
            await manager.confirm_sign_in(amplify_emulator.front.mfa_code)
        assert not await manager.is_authenticated()


# -- client metadata ------------------------------------------------------------------------


async def test_client_metadata_goes_with_sign_in_confirm_and_refresh(
    choice_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    config = choice_pool.config(client_metadata={"tenant": "blue"})
    async with SessionManager(config) as manager:
        await manager.sign_in(
            choice_pool.username,
            auth_flow="USER_AUTH",
            preferred_challenge="EMAIL_OTP",
            client_metadata={"step": "start"},
        )
        await manager.confirm_sign_in(amplify_emulator.front.mfa_code)  # the config's
        await manager.fetch_auth_session(force_refresh=True)
    sent = [
        (op, body.get("ClientMetadata"))
        for op, body in amplify_emulator.front.requests
        if op in ("InitiateAuth", "RespondToAuthChallenge", "GetTokensFromRefreshToken")
    ]
    assert sent == [
        ("InitiateAuth", {"step": "start"}),
        ("RespondToAuthChallenge", {"tenant": "blue"}),
        ("InitiateAuth", {"tenant": "blue"}),  # the refresh
    ]


# -- a sign-in started in one OS process, finished in another ------------------------------


def _in_a_process(settings: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.resume_worker", json.dumps(settings)],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer


async def test_a_challenge_started_in_one_process_is_finished_in_another(
    choice_pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    config = {
        "user_pool_id": choice_pool.user_pool_id,
        "user_pool_client_id": choice_pool.client_id,
        "user_pool_endpoint": choice_pool.endpoint,
        "sign_in_state_key": secrets.token_urlsafe(32),
    }
    base = {"config": config, "username": choice_pool.username}
    started = await anyio.to_thread.run_sync(
        _in_a_process,
        {
            **base,
            "mode": "start",
            "session_file": str(tmp_path / "a.json"),
            "sign_in": {"auth_flow": "USER_AUTH", "preferred_challenge": "EMAIL_OTP"},
        },
    )
    assert started["step"] == "CONFIRM_SIGN_IN_WITH_EMAIL_CODE"
    state = started["state"]
    finish = {**base, "mode": "finish", "session_file": str(tmp_path / "b.json")}
    # A tampered state is refused, and the genuine one still works after it.
    tampered = state[:40] + ("A" if state[40] != "A" else "B") + state[41:]
    refused = await anyio.to_thread.run_sync(
        _in_a_process, {**finish, "state": tampered, "answer": amplify_emulator.front.mfa_code}
    )
    assert refused["error"] == "InvalidParameterException"
    assert "altered" in refused["message"]
    # A state sealed with another key: refused the same way.
    foreign = await anyio.to_thread.run_sync(
        _in_a_process,
        {
            **finish,
            "config": {**config, "sign_in_state_key": secrets.token_urlsafe(32)},
            "state": state,
            "answer": amplify_emulator.front.mfa_code,
        },
    )
    assert foreign["error"] == "InvalidParameterException"
    finished = await anyio.to_thread.run_sync(
        _in_a_process, {**finish, "state": state, "answer": amplify_emulator.front.mfa_code}
    )
    assert finished == {"signed_in": choice_pool.username}
    assert (
        not (tmp_path / "a.json").exists() or "accessToken" not in (tmp_path / "a.json").read_text()
    )
    # The process that finished holds the session, and it refreshes.
    async with SessionManager(
        choice_pool.config(), storage=FileStorage(tmp_path / "b.json")
    ) as manager:
        await signed_in_and_refreshing(manager, amplify_emulator)
    _no_password_sent(amplify_emulator, choice_pool.password)


async def test_client_metadata_goes_with_the_automatic_answers_and_a_rotating_refresh(
    amplify_emulator: Emulator,
) -> None:
    amplify_emulator.reset()
    rotating = amplify_emulator.provision(refresh_token_rotation=True)
    config = rotating.config(client_metadata={"tenant": "green"}, refresh_token_rotation=True)
    async with SessionManager(config) as manager:
        await manager.sign_in(rotating.username, rotating.password)
        await manager.fetch_auth_session(force_refresh=True)
    sent = [
        (op, body.get("ChallengeName") or body.get("AuthFlow"), body.get("ClientMetadata"))
        for op, body in amplify_emulator.front.requests
        if op in ("InitiateAuth", "RespondToAuthChallenge", "GetTokensFromRefreshToken")
    ]
    assert sent == [
        ("InitiateAuth", "USER_SRP_AUTH", {"tenant": "green"}),
        ("RespondToAuthChallenge", "PASSWORD_VERIFIER", {"tenant": "green"}),
        ("GetTokensFromRefreshToken", None, {"tenant": "green"}),
    ]


async def test_client_metadata_goes_with_a_remembered_devices_proof(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    storage = MemoryStorage()
    config = tracking_pool.config(client_metadata={"tenant": "red"})
    async with SessionManager(config, storage=storage) as manager:
        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)
        await manager.sign_out()
        amplify_emulator.front.requests.clear()
        assert (await manager.sign_in(tracking_pool.username, tracking_pool.password)).is_signed_in
    answers = [
        (body["ChallengeName"], body.get("ClientMetadata"))
        for op, body in amplify_emulator.front.requests
        if op == "RespondToAuthChallenge"
    ]
    assert answers == [
        ("PASSWORD_VERIFIER", {"tenant": "red"}),
        ("DEVICE_SRP_AUTH", {"tenant": "red"}),
        ("DEVICE_PASSWORD_VERIFIER", {"tenant": "red"}),
    ]


async def test_an_app_client_with_a_secret_sends_secret_hash_on_every_step(
    amplify_emulator: Emulator,
) -> None:
    """The front checks SECRET_HASH on every InitiateAuth and RespondToAuthChallenge."""
    amplify_emulator.reset()
    pool = amplify_emulator.provision(
        generate_secret=True,
        first_factors=("PASSWORD", "EMAIL_OTP"),
        mfa_required=True,
        mfa_types=("SOFTWARE_TOKEN_MFA",),
        custom_auth=True,
    )
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, auth_flow="USER_AUTH")
        await manager.confirm_sign_in("EMAIL_OTP")
        assert (await manager.confirm_sign_in(amplify_emulator.front.mfa_code)).is_signed_in
        await manager.sign_out()
        result = await manager.sign_in(pool.username, pool.password)
        details = result.next_step.totp_setup_details
        assert details is not None
        assert (await manager.confirm_sign_in(pyotp.TOTP(details.shared_secret).now())).is_signed_in
        await manager.sign_out()
        await manager.sign_in(pool.username, auth_flow="CUSTOM_WITHOUT_SRP")
        assert (await manager.confirm_sign_in(amplify_emulator.front.mfa_code)).is_signed_in
        await signed_in_and_refreshing(manager, amplify_emulator)
    hashed = [
        op
        for op, body in amplify_emulator.front.requests
        if op in ("InitiateAuth", "RespondToAuthChallenge")
        and "SECRET_HASH"
        in {**body.get("AuthParameters", {}), **body.get("ChallengeResponses", {})}
    ]
    assert len(hashed) == len(
        [
            op
            for op, _ in amplify_emulator.front.requests
            if op in ("InitiateAuth", "RespondToAuthChallenge")
        ]
    )
