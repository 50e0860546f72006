"""The strict front's sign-in flows and steps, driven by a client nobody here wrote.

boto3 makes the calls over 127.0.0.1, pycognito's ``aws_srp`` makes the SRP
proofs (user and device) and pyotp the TOTP codes, so each flow is checked
against Cognito's wire contract rather than against this package's client.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from typing import Any

import attrs
import boto3
import pyotp
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP, generate_hash_device, long_to_hex

from amplify_session import decode_jwt
from amplify_session.emulator import CustomRound, EmulatedPool, Emulator, SentCode

Idp = Any  # a boto3 cognito-idp client
Answer = dict[str, Any]

_INVALID_SESSION = ("NotAuthorizedException", "Invalid session for the user.")
_EXPIRED = ("NotAuthorizedException", "Invalid session for the user, session is expired.")
_WRONG_PASSWORD = ("NotAuthorizedException", "Incorrect username or password.")
_MISMATCH = ("CodeMismatchException", "Invalid code received for user")


def _front_client(emulator: Emulator, **config: Any) -> Any:
    return boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=emulator.cognito_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, **config),
    )


@pytest.fixture
def idp(amplify_emulator: Emulator) -> Iterator[Idp]:
    """boto3, pointed at the strict front (not at moto)."""
    client = _front_client(amplify_emulator)
    yield client
    client.close()


@pytest.fixture
def raw_idp(amplify_emulator: Emulator) -> Iterator[Idp]:
    """boto3 at the front, sending what it is given (no client-side validation)."""
    client = _front_client(amplify_emulator, parameter_validation=False)
    yield client
    client.close()


def _fresh(emulator: Emulator, **settings: Any) -> EmulatedPool:
    emulator.reset()
    return emulator.provision(**settings)


def _refused(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    """The error code and message of a call the front refuses."""
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    error = refused.value.response["Error"]
    return error["Code"], error["Message"]


def _initiate(idp: Idp, pool: EmulatedPool, flow: str, **params: str) -> Answer:
    answer: Answer = idp.initiate_auth(
        AuthFlow=flow,
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": pool.username, **params},
    )
    return answer


def _call(pool: EmulatedPool, challenge: Answer, name: str | None, responses: Any) -> Answer:
    """RespondToAuthChallenge's arguments for an answer to ``challenge``."""
    username = challenge["ChallengeParameters"].get("USERNAME", pool.username)
    return {
        "ClientId": pool.client_id,
        "ChallengeName": name or challenge["ChallengeName"],
        "Session": challenge["Session"],
        "ChallengeResponses": {"USERNAME": username, **responses},
    }


def _respond(idp: Idp, pool: EmulatedPool, challenge: Answer, **responses: str) -> Answer:
    answer: Answer = idp.respond_to_auth_challenge(**_call(pool, challenge, None, responses))
    return answer


def _respond_refused(
    idp: Idp, pool: EmulatedPool, challenge: Answer, name: str | None = None, **responses: str
) -> tuple[str, str]:
    return _refused(idp.respond_to_auth_challenge, **_call(pool, challenge, name, responses))


def _signed_in_as(pool: EmulatedPool, answer: Answer, username: str | None = None) -> None:
    """``answer`` holds tokens, for the pool's user."""
    assert "ChallengeName" not in answer, answer.get("ChallengeName")
    claims = decode_jwt(answer["AuthenticationResult"]["AccessToken"]).payload
    assert claims["username"] == (username or pool.username)


def _refreshes(idp: Idp, pool: EmulatedPool, answer: Answer) -> None:
    """Both refresh calls work with the sign-in's refresh token, ClientMetadata included."""
    token = answer["AuthenticationResult"]["RefreshToken"]
    refreshed = idp.initiate_auth(
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"REFRESH_TOKEN": token},
        ClientMetadata={"why": "refresh"},
    )
    assert refreshed["AuthenticationResult"]["AccessToken"]
    again = idp.get_tokens_from_refresh_token(
        RefreshToken=token, ClientId=pool.client_id, ClientMetadata={"why": "refresh"}
    )
    assert again["AuthenticationResult"]["AccessToken"]


def _srp(pool: EmulatedPool, idp: Idp, password: str | None = None, **device: str) -> AWSSRP:
    return AWSSRP(
        pool.username,
        password or pool.password,
        pool.user_pool_id,
        pool.client_id,
        client=idp,
        client_secret=pool.client_secret,
        **device,
    )


def _proof(srp: AWSSRP, challenge: Answer, params: dict[str, str]) -> dict[str, str]:
    with warnings.catch_warnings():  # pycognito calls datetime.utcnow()
        warnings.simplefilter("ignore", DeprecationWarning)
        responses: dict[str, str] = srp.process_challenge(challenge["ChallengeParameters"], params)
    return responses


def _password_verified(idp: Idp, pool: EmulatedPool, srp: AWSSRP, challenge: Answer) -> Answer:
    """Answer PASSWORD_VERIFIER (with its Session when it has one) with pycognito's proof."""
    responses = _proof(srp, challenge, srp.get_auth_params())
    session = {"Session": challenge["Session"]} if "Session" in challenge else {}
    answer: Answer = idp.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=responses,
        **session,
    )
    return answer


def _srp_sign_in(
    idp: Idp, pool: EmulatedPool, password: str | None = None, **device: str
) -> Answer:
    """USER_SRP_AUTH then PASSWORD_VERIFIER: what follows the proof."""
    srp = _srp(pool, idp, password, **device)
    challenge = idp.initiate_auth(
        AuthFlow="USER_SRP_AUTH", ClientId=pool.client_id, AuthParameters=srp.get_auth_params()
    )
    return _password_verified(idp, pool, srp, challenge)


def _other_totp(code: str) -> str:
    """A current TOTP code of some other secret (never the one given)."""
    while (other := pyotp.TOTP(pyotp.random_base32()).now()) == code:
        pass
    return other


def _set_up_totp(idp: Idp, pool: EmulatedPool, setup: Answer) -> tuple[str, Answer]:
    """MFA_SETUP with a software token: Associate, Verify, then the MFA_SETUP answer."""
    assert setup["ChallengeName"] == "MFA_SETUP"
    associated = idp.associate_software_token(Session=setup["Session"])
    secret = associated["SecretCode"]
    verified = idp.verify_software_token(
        Session=associated["Session"], UserCode=pyotp.TOTP(secret).now(), FriendlyDeviceName="phone"
    )
    assert verified["Status"] == "SUCCESS"
    return secret, _respond(idp, pool, {**setup, "Session": verified["Session"]})


# -- CUSTOM_AUTH ------------------------------------------------------------------


def test_custom_auth_chains_the_scripted_rounds_then_refreshes(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, custom_auth=True)
    front = amplify_emulator.front
    rounds = [("1+1", "2"), ("2+2", "4"), ("colour", "blue")]
    front.script_custom_challenge(
        pool.user_pool_id, *(CustomRound({"question": q}, answer=a) for q, a in rounds)
    )
    before = len(front.requests)

    answer = idp.initiate_auth(
        AuthFlow="CUSTOM_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": pool.username},
        ClientMetadata={"app": "cli"},
    )
    for question, reply in rounds:
        assert answer["ChallengeName"] == "CUSTOM_CHALLENGE"
        assert answer["ChallengeParameters"] == {"USERNAME": pool.username, "question": question}
        call = _call(pool, answer, None, {"ANSWER": reply})
        answer = idp.respond_to_auth_challenge(**call, ClientMetadata={"round": question})

    _signed_in_as(pool, answer)
    sent = [(op, body.get("ClientMetadata")) for op, body in front.requests[before:]]
    assert sent == [
        ("InitiateAuth", {"app": "cli"}),
        *(("RespondToAuthChallenge", {"round": q}) for q, _ in rounds),
    ]
    _refreshes(idp, pool, answer)


def test_a_wrong_custom_answer_fails_the_sign_in_and_ends_its_session(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, custom_auth=True)
    amplify_emulator.front.script_custom_challenge(
        pool.user_pool_id, CustomRound({"q": "a"}, "1"), CustomRound({"q": "b"}, "2")
    )
    first = _initiate(idp, pool, "CUSTOM_AUTH")
    second = _respond(idp, pool, first, ANSWER="1")

    assert _respond_refused(idp, pool, second, ANSWER="3") == _WRONG_PASSWORD
    assert _respond_refused(idp, pool, second, ANSWER="2") == _INVALID_SESSION


def test_custom_auth_with_srp_proves_the_password_before_the_rounds(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, custom_auth=True)
    amplify_emulator.front.mfa_code = "864201"  # answers the unscripted round
    srp = _srp(pool, idp)
    params = {**srp.get_auth_params(), "CHALLENGE_NAME": "SRP_A"}

    challenge = idp.initiate_auth(
        AuthFlow="CUSTOM_AUTH", ClientId=pool.client_id, AuthParameters=params
    )
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER"
    assert challenge["Session"]
    custom = _password_verified(idp, pool, srp, challenge)
    assert custom["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert custom["ChallengeParameters"] == {"USERNAME": pool.username, "question": "code?"}
    answer = _respond(idp, pool, custom, ANSWER="864201")
    _signed_in_as(pool, answer)
    _refreshes(idp, pool, answer)

    wrong = _srp(pool, idp, password="Not-the-passw0rd!")
    params = {**wrong.get_auth_params(), "CHALLENGE_NAME": "SRP_A"}
    challenge = idp.initiate_auth(
        AuthFlow="CUSTOM_AUTH", ClientId=pool.client_id, AuthParameters=params
    )
    assert _refused(_password_verified, idp, pool, wrong, challenge) == _WRONG_PASSWORD


def test_custom_auth_and_user_auth_need_the_client_to_allow_them(
    pool: EmulatedPool, idp: Idp
) -> None:
    for flow in ("CUSTOM_AUTH", "USER_AUTH"):
        code, message = _refused(_initiate, idp, pool, flow)
        assert (code, message) == (
            "NotAuthorizedException",
            f"{flow} flow is not enabled for this client.",
        )


# -- USER_AUTH: first factors ---------------------------------------------------------


def test_email_otp_first_factor_signs_in_without_a_password_and_without_mfa(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, first_factors=("PASSWORD", "EMAIL_OTP"), mfa_required=True)
    front = amplify_emulator.front
    front.mfa_code = "246810"

    challenge = _initiate(idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="EMAIL_OTP")
    assert challenge["ChallengeName"] == "EMAIL_OTP"
    assert challenge["ChallengeParameters"] == {
        "USERNAME": pool.username,
        "CODE_DELIVERY_DELIVERY_MEDIUM": "EMAIL",
        "CODE_DELIVERY_DESTINATION": "a***@e***",
    }
    assert front.sent_codes == [
        SentCode(pool.username, "EMAIL_OTP", "EMAIL", "a***@e***", "246810")
    ]
    code, _ = _respond_refused(idp, pool, challenge, SMS_OTP_CODE="246810")  # the wrong key
    assert code == "InvalidParameterException"
    answer = _respond(idp, pool, challenge, EMAIL_OTP_CODE="246810")

    _signed_in_as(pool, answer)  # no SMS_MFA after a passwordless factor
    assert all(pool.password not in json.dumps(body) for _, body in front.requests)
    _refreshes(idp, pool, answer)


def test_sms_otp_first_factor_goes_to_the_users_phone(amplify_emulator: Emulator, idp: Idp) -> None:
    pool = _fresh(amplify_emulator, first_factors=("SMS_OTP",), phone_number="+15555550123")

    challenge = _initiate(idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="SMS_OTP")
    assert challenge["ChallengeName"] == "SMS_OTP"
    assert challenge["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert challenge["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == "+*******0123"
    [sent] = amplify_emulator.front.sent_codes
    assert (sent.challenge, sent.medium, sent.destination) == ("SMS_OTP", "SMS", "+*******0123")
    answer = _respond(idp, pool, challenge, SMS_OTP_CODE=sent.code)
    _signed_in_as(pool, answer)
    _refreshes(idp, pool, answer)


def test_password_first_factor_is_checked_then_followed_by_the_pools_mfa(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(
        amplify_emulator,
        first_factors=("PASSWORD",),
        mfa_required=True,
        phone_number="+15555550188",
    )
    front = amplify_emulator.front
    wrong = {"PREFERRED_CHALLENGE": "PASSWORD", "PASSWORD": "Not-the-passw0rd!"}
    assert _refused(_initiate, idp, pool, "USER_AUTH", **wrong) == _WRONG_PASSWORD

    mfa = _initiate(idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="PASSWORD", PASSWORD=pool.password)
    assert mfa["ChallengeName"] == "SMS_MFA"
    assert mfa["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == "+*******0188"
    assert front.sent_codes[-1].challenge == "SMS_MFA"
    answer = _respond(idp, pool, mfa, SMS_MFA_CODE=front.mfa_code)
    _signed_in_as(pool, answer)
    _refreshes(idp, pool, answer)


def test_password_srp_first_factor_answers_a_password_verifier_with_a_session(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, first_factors=("PASSWORD",))
    code, _ = _refused(_initiate, idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="PASSWORD_SRP")
    assert code == "InvalidParameterException"  # no SRP_A
    srp = _srp(pool, idp)
    params = {**srp.get_auth_params(), "PREFERRED_CHALLENGE": "PASSWORD_SRP"}

    challenge = idp.initiate_auth(
        AuthFlow="USER_AUTH", ClientId=pool.client_id, AuthParameters=params
    )
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER"
    answer = _password_verified(idp, pool, srp, challenge)
    _signed_in_as(pool, answer)
    _refreshes(idp, pool, answer)


def test_a_password_verifier_with_a_session_needs_that_session(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, first_factors=("PASSWORD",))
    srp = _srp(pool, idp)
    params = {**srp.get_auth_params(), "PREFERRED_CHALLENGE": "PASSWORD_SRP"}
    challenge = idp.initiate_auth(
        AuthFlow="USER_AUTH", ClientId=pool.client_id, AuthParameters=params
    )

    forged = {**challenge, "Session": "f" * 40}
    assert _refused(_password_verified, idp, pool, srp, forged) == _INVALID_SESSION


def test_select_challenge_offers_the_users_factors_and_takes_the_answer(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, first_factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP"))
    front = amplify_emulator.front

    for preferred in ({}, {"PREFERRED_CHALLENGE": "SMS_OTP"}):  # the user has no phone
        select = _initiate(idp, pool, "USER_AUTH", **preferred)
        assert select["ChallengeName"] == "SELECT_CHALLENGE"
        assert select["AvailableChallenges"] == ["PASSWORD_SRP", "PASSWORD", "EMAIL_OTP"]
        assert select["Session"]
    code, _ = _respond_refused(idp, pool, select, ANSWER="SMS_OTP")
    assert code == "InvalidParameterException"
    code, _ = _respond_refused(idp, pool, select, ANSWER="PASSWORD")  # without a PASSWORD
    assert code == "InvalidParameterException"

    email = _respond(idp, pool, select, ANSWER="EMAIL_OTP")
    assert email["ChallengeName"] == "EMAIL_OTP"
    answer = _respond(idp, pool, email, EMAIL_OTP_CODE=front.sent_codes[-1].code)
    _signed_in_as(pool, answer)

    select = _initiate(idp, pool, "USER_AUTH")
    answer = _respond(idp, pool, select, ANSWER="PASSWORD", PASSWORD=pool.password)
    _signed_in_as(pool, answer)
    _refreshes(idp, pool, answer)

    srp = _srp(pool, idp)
    select = _initiate(idp, pool, "USER_AUTH")
    verifier = _respond(
        idp, pool, select, ANSWER="PASSWORD_SRP", SRP_A=long_to_hex(srp.large_a_value)
    )
    assert verifier["ChallengeName"] == "PASSWORD_VERIFIER"
    _signed_in_as(pool, _password_verified(idp, pool, srp, verifier))


def test_a_passwordless_preferred_challenge_takes_no_password(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, first_factors=("PASSWORD", "EMAIL_OTP"))
    with_password = {"PREFERRED_CHALLENGE": "EMAIL_OTP", "PASSWORD": pool.password}
    code, _ = _refused(_initiate, idp, pool, "USER_AUTH", **with_password)
    assert code == "InvalidParameterException"
    assert amplify_emulator.front.sent_codes == []


# -- challenge sessions -------------------------------------------------------------


def test_a_wrong_code_keeps_the_session_for_its_attempts(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, first_factors=("EMAIL_OTP",))
    front = amplify_emulator.front
    front.code_attempts = 2

    challenge = _initiate(idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="EMAIL_OTP")
    for _ in range(2):
        assert _respond_refused(idp, pool, challenge, EMAIL_OTP_CODE="000000") == _MISMATCH
    _signed_in_as(pool, _respond(idp, pool, challenge, EMAIL_OTP_CODE=front.mfa_code))

    challenge = _initiate(idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="EMAIL_OTP")
    for _ in range(2):
        assert _respond_refused(idp, pool, challenge, EMAIL_OTP_CODE="000000") == _MISMATCH
    assert _respond_refused(idp, pool, challenge, EMAIL_OTP_CODE="000000") == _INVALID_SESSION
    assert _respond_refused(idp, pool, challenge, EMAIL_OTP_CODE=front.mfa_code) == _INVALID_SESSION


def test_an_expired_session_is_refused(amplify_emulator: Emulator, idp: Idp) -> None:
    pool = _fresh(amplify_emulator, first_factors=("EMAIL_OTP",))
    front = amplify_emulator.front
    front.session_ttl = 0.2

    challenge = _initiate(idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="EMAIL_OTP")
    time.sleep(0.4)
    assert _respond_refused(idp, pool, challenge, EMAIL_OTP_CODE=front.mfa_code) == _EXPIRED
    assert _respond_refused(idp, pool, challenge, EMAIL_OTP_CODE=front.mfa_code) == _INVALID_SESSION


def test_a_session_answers_once_its_own_challenge_for_its_own_client_and_user(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, first_factors=("EMAIL_OTP",))
    front = amplify_emulator.front
    other_client = amplify_emulator.client("cognito-idp").create_user_pool_client(
        UserPoolId=pool.user_pool_id, ClientName="other", ExplicitAuthFlows=["ALLOW_USER_AUTH"]
    )["UserPoolClient"]["ClientId"]
    challenge = _initiate(idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="EMAIL_OTP")
    right = {"EMAIL_OTP_CODE": front.mfa_code}

    foreign = {**_call(pool, challenge, None, right), "ClientId": other_client}
    assert _refused(idp.respond_to_auth_challenge, **foreign) == _INVALID_SESSION
    made_up = {**challenge, "Session": "f" * 40}
    assert _respond_refused(idp, pool, made_up, **right) == _INVALID_SESSION
    code, _ = _respond_refused(idp, pool, challenge, "SMS_OTP", SMS_OTP_CODE=front.mfa_code)
    assert code == "InvalidParameterException"
    someone_else = {**_call(pool, challenge, None, right)}
    someone_else["ChallengeResponses"] = {**someone_else["ChallengeResponses"], "USERNAME": "bob"}
    code, _ = _refused(idp.respond_to_auth_challenge, **someone_else)
    assert code == "InvalidParameterException"

    _signed_in_as(pool, _respond(idp, pool, challenge, **right))
    assert _respond_refused(idp, pool, challenge, **right) == _INVALID_SESSION


def test_client_metadata_must_be_a_map_of_strings(amplify_emulator: Emulator, raw_idp: Idp) -> None:
    pool = _fresh(amplify_emulator, first_factors=("EMAIL_OTP",))
    bad = {"tries": 3}

    for call in (
        lambda: raw_idp.initiate_auth(
            AuthFlow="USER_AUTH",
            ClientId=pool.client_id,
            AuthParameters={"USERNAME": pool.username, "PREFERRED_CHALLENGE": "EMAIL_OTP"},
            ClientMetadata=bad,
        ),
        lambda: raw_idp.respond_to_auth_challenge(
            ClientId=pool.client_id, ChallengeName="EMAIL_OTP", Session="s", ClientMetadata=bad
        ),
        lambda: raw_idp.get_tokens_from_refresh_token(
            RefreshToken="r", ClientId=pool.client_id, ClientMetadata=bad
        ),
    ):
        code, message = _refused(call)
        assert (code, message) == (
            "InvalidParameterException",
            "ClientMetadata must be a map of strings.",
        )
    assert amplify_emulator.front.sent_codes == []


# -- MFA and its setup ---------------------------------------------------------------


def test_new_password_then_totp_setup_then_totp_at_the_next_sign_in(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(
        amplify_emulator,
        mfa_required=True,
        mfa_types=("SOFTWARE_TOKEN_MFA",),
        temporary_password=True,
    )
    front = amplify_emulator.front

    new_password = _srp_sign_in(idp, pool)
    assert new_password["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    parameters = new_password["ChallengeParameters"]
    assert parameters["requiredAttributes"] == "[]"
    assert json.loads(parameters["userAttributes"])["email"] == pool.email
    setup = _respond(idp, pool, new_password, NEW_PASSWORD="Brand-new-Passw0rd!")
    assert setup["ChallengeName"] == "MFA_SETUP"
    assert setup["ChallengeParameters"] == {"MFAS_CAN_SETUP": '["SOFTWARE_TOKEN_MFA"]'}
    code, _ = _respond_refused(idp, pool, setup)  # no software token verified yet
    assert code == "InvalidParameterException"

    associated = idp.associate_software_token(Session=setup["Session"])
    secret = associated["SecretCode"]
    assert len(secret) == 32
    assert pyotp.TOTP(secret).now().isdigit()  # base32, as pyotp reads it
    code, message = _refused(
        idp.verify_software_token,
        Session=associated["Session"],
        UserCode=_other_totp(pyotp.TOTP(secret).now()),
    )
    assert (code, message) == (
        "EnableSoftwareTokenMFAException",
        "Code mismatch and fail enable Software Token MFA",
    )
    verified = idp.verify_software_token(
        Session=associated["Session"], UserCode=pyotp.TOTP(secret).now()
    )
    assert verified["Status"] == "SUCCESS"
    answer = _respond(idp, pool, {**setup, "Session": verified["Session"]})
    _signed_in_as(pool, answer)
    assert front.totp_secrets(pool.user_pool_id, pool.username) == secret
    _refreshes(idp, pool, answer)

    assert _refused(_srp_sign_in, idp, pool) == _WRONG_PASSWORD  # the temporary one
    totp = _srp_sign_in(idp, pool, password="Brand-new-Passw0rd!")
    assert totp["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    now = pyotp.TOTP(secret).now()
    assert _respond_refused(idp, pool, totp, SOFTWARE_TOKEN_MFA_CODE=_other_totp(now)) == _MISMATCH
    _signed_in_as(pool, _respond(idp, pool, totp, SOFTWARE_TOKEN_MFA_CODE=now))


def test_new_password_required_lists_the_attributes_the_pool_requires(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator)
    idp_admin = amplify_emulator.client("cognito-idp")
    required_pool = idp_admin.create_user_pool(
        PoolName="required",
        Schema=[{"Name": "name", "AttributeDataType": "String", "Required": True}],
    )["UserPool"]["Id"]
    client_id = idp_admin.create_user_pool_client(
        UserPoolId=required_pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    pool = attrs.evolve(pool, user_pool_id=required_pool, client_id=client_id)
    amplify_emulator.add_user(pool, "carol", "Temp-Passw0rd!", temporary=True)

    challenge = idp.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": "carol", "PASSWORD": "Temp-Passw0rd!"},
    )
    assert challenge["ChallengeParameters"]["requiredAttributes"] == '["userAttributes.name"]'
    new = {"NEW_PASSWORD": "Carol-Passw0rd!"}
    code, message = _respond_refused(idp, pool, challenge, **new)
    assert code == "InvalidParameterException"
    assert "name" in message
    answer = _respond(idp, pool, challenge, **new, **{"userAttributes.name": "Carol"})
    _signed_in_as(pool, answer, "carol")


def test_email_mfa_setup_sends_the_code_to_the_new_address(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(amplify_emulator, mfa_required=True, mfa_types=("EMAIL_OTP",))
    front = amplify_emulator.front

    setup = _initiate(idp, pool, "USER_PASSWORD_AUTH", PASSWORD=pool.password)
    assert setup["ChallengeParameters"] == {"MFAS_CAN_SETUP": '["EMAIL_OTP"]'}
    code, _ = _refused(idp.associate_software_token, Session=setup["Session"])
    assert code == "InvalidParameterException"  # TOTP is not offered
    email = _respond(idp, pool, setup, EMAIL="mfa@example.org")
    assert email["ChallengeName"] == "EMAIL_OTP"
    assert email["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == "m***@e***"
    assert front.sent_codes == [
        SentCode(pool.username, "EMAIL_OTP", "EMAIL", "m***@e***", front.mfa_code)
    ]
    answer = _respond(idp, pool, email, EMAIL_OTP_CODE=front.mfa_code)
    _signed_in_as(pool, answer)
    _refreshes(idp, pool, answer)

    mfa = _initiate(idp, pool, "USER_PASSWORD_AUTH", PASSWORD=pool.password)
    assert mfa["ChallengeName"] == "EMAIL_OTP"
    assert mfa["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == "m***@e***"
    _signed_in_as(pool, _respond(idp, pool, mfa, EMAIL_OTP_CODE=front.mfa_code))


def test_several_mfa_types_set_up_are_a_choice(amplify_emulator: Emulator, idp: Idp) -> None:
    pool = _fresh(amplify_emulator, mfa_required=True, mfa_types=("SOFTWARE_TOKEN_MFA",))
    secret, answer = _set_up_totp(idp, pool, _srp_sign_in(idp, pool))
    _signed_in_as(pool, answer)
    idp.set_user_pool_mfa_config(  # SMS enabled later: everyone has it, and this user TOTP too
        UserPoolId=pool.user_pool_id,
        MfaConfiguration="ON",
        SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::1:role/sns"}},
    )

    select = _srp_sign_in(idp, pool)
    assert select["ChallengeName"] == "SELECT_MFA_TYPE"
    assert select["ChallengeParameters"]["MFAS_CAN_CHOOSE"] == '["SMS_MFA","SOFTWARE_TOKEN_MFA"]'
    code, _ = _respond_refused(idp, pool, select, ANSWER="EMAIL_OTP")
    assert code == "InvalidParameterException"
    totp = _respond(idp, pool, select, ANSWER="SOFTWARE_TOKEN_MFA")
    assert totp["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    _signed_in_as(pool, _respond(idp, pool, totp, SOFTWARE_TOKEN_MFA_CODE=pyotp.TOTP(secret).now()))


def test_optional_mfa_asks_only_users_who_set_it_up(amplify_emulator: Emulator, idp: Idp) -> None:
    pool = _fresh(amplify_emulator, mfa_types=("SOFTWARE_TOKEN_MFA", "EMAIL_OTP"))

    config = idp.get_user_pool_mfa_config(UserPoolId=pool.user_pool_id)
    assert config["MfaConfiguration"] == "OPTIONAL"
    assert config["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert "EmailMfaConfiguration" in config
    assert "SmsMfaConfiguration" not in config
    _signed_in_as(pool, _srp_sign_in(idp, pool))
    _signed_in_as(pool, _initiate(idp, pool, "USER_PASSWORD_AUTH", PASSWORD=pool.password))


def test_a_remembered_device_skips_the_mfa_set_up_at_sign_in(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    pool = _fresh(
        amplify_emulator,
        device_tracking="always",
        mfa_required=True,
        mfa_types=("SOFTWARE_TOKEN_MFA",),
    )
    front = amplify_emulator.front
    secret, answer = _set_up_totp(idp, pool, _srp_sign_in(idp, pool))
    metadata = answer["AuthenticationResult"]["NewDeviceMetadata"]
    device_password, config = generate_hash_device(
        metadata["DeviceGroupKey"], metadata["DeviceKey"]
    )
    idp.confirm_device(
        AccessToken=answer["AuthenticationResult"]["AccessToken"],
        DeviceKey=metadata["DeviceKey"],
        DeviceSecretVerifierConfig=config,
    )

    device = {
        "device_key": metadata["DeviceKey"],
        "device_group_key": metadata["DeviceGroupKey"],
        "device_password": device_password,
    }
    srp = _srp(pool, idp, **device)
    challenge = idp.initiate_auth(
        AuthFlow="USER_SRP_AUTH", ClientId=pool.client_id, AuthParameters=srp.get_auth_params()
    )
    device_auth = _password_verified(idp, pool, srp, challenge)
    assert device_auth["ChallengeName"] == "DEVICE_SRP_AUTH"  # no SOFTWARE_TOKEN_MFA
    verifier = idp.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="DEVICE_SRP_AUTH",
        Session=device_auth["Session"],
        ChallengeResponses={
            "USERNAME": pool.username,
            "DEVICE_KEY": metadata["DeviceKey"],
            "SRP_A": long_to_hex(srp.large_a_value),
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        responses = srp.process_device_challenge(verifier["ChallengeParameters"])
    answer = idp.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="DEVICE_PASSWORD_VERIFIER",
        Session=verifier["Session"],
        ChallengeResponses=responses,
    )
    _signed_in_as(pool, answer)
    assert "NewDeviceMetadata" not in answer["AuthenticationResult"]
    assert front.device_proofs == {"accepted": 1}

    totp = _srp_sign_in(idp, pool)  # without the device: the TOTP set up
    assert totp["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    _signed_in_as(pool, _respond(idp, pool, totp, SOFTWARE_TOKEN_MFA_CODE=pyotp.TOTP(secret).now()))


def test_reset_forgets_scripts_codes_and_controls(amplify_emulator: Emulator, idp: Idp) -> None:
    pool = _fresh(amplify_emulator, first_factors=("EMAIL_OTP",), custom_auth=True)
    front = amplify_emulator.front
    front.session_ttl, front.code_attempts, front.mfa_code = 5.0, 0, "999999"
    front.script_custom_challenge(pool.user_pool_id, CustomRound({"q": "x"}, "y"))
    _initiate(idp, pool, "USER_AUTH", PREFERRED_CHALLENGE="EMAIL_OTP")

    front.reset()

    assert (front.session_ttl, front.code_attempts, front.mfa_code) == (180.0, 3, "123456")
    assert front.sent_codes == []
    custom = _initiate(idp, pool, "CUSTOM_AUTH")
    assert custom["ChallengeParameters"] == {"USERNAME": pool.username, "question": "code?"}
