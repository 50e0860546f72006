"""Amplify's flows and steps as data (_sign_in_steps.py): what goes together, where answers go."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amplify_session import (
    InvalidParameterException,
    SignInException,
    TOTPSetupDetails,
)
from amplify_session._cognito import Challenge
from amplify_session._sign_in import SignInRequest
from amplify_session._sign_in_steps import (
    FIRST_FACTORS,
    SUPPORTED_FLOWS,
    Step,
    check_flow,
    code_answer,
    first_factor,
    mfa_setup_types,
    mfa_type,
    next_step,
    step_of,
)

_PASSWORDLESS = {("CUSTOM_WITHOUT_SRP", None), ("USER_AUTH", None)} | {
    ("USER_AUTH", f) for f in ("EMAIL_OTP", "SMS_OTP")
}


@given(
    flow=st.sampled_from(SUPPORTED_FLOWS),
    preferred=st.sampled_from((None, *FIRST_FACTORS)),
    password=st.sampled_from((None, "", "pw")),
)
def test_a_password_goes_exactly_with_the_flows_that_prove_one(
    flow: str, preferred: str | None, password: str | None
) -> None:
    """Every combination: accepted only when the password is there iff the flow uses one."""
    if preferred is not None and flow != "USER_AUTH":
        with pytest.raises(InvalidParameterException, match="goes with auth_flow='USER_AUTH'"):
            check_flow(flow, password, preferred)
        return
    if preferred == "WEB_AUTHN":
        with pytest.raises(SignInException, match="platform authenticator"):
            check_flow(flow, password, preferred)
        return
    uses_password = (flow, preferred) not in _PASSWORDLESS
    if (password == "pw") if uses_password else (password is None):
        check_flow(flow, password, preferred)
        return
    with pytest.raises(InvalidParameterException) as info:
        check_flow(flow, password, preferred)
    assert ("needs a password" if uses_password else "uses no password") in info.value.message
    assert "pw" not in info.value.message.replace("password", "")


def test_unknown_flows_and_factors_are_refused_by_name() -> None:
    with pytest.raises(InvalidParameterException, match="ADMIN_NO_SRP_AUTH"):
        check_flow("ADMIN_NO_SRP_AUTH", "pw", None)
    with pytest.raises(InvalidParameterException, match="'MAGIC_LINK'"):
        check_flow("USER_AUTH", None, "MAGIC_LINK")


@pytest.mark.parametrize(
    ("metadata", "ok"),
    [({"a": "b"}, True), (None, True), ({"a": 1}, False), ("a=b", False), ({1: "b"}, False)],
)
def test_client_metadata_must_be_strings(metadata: object, ok: bool) -> None:
    if ok:
        assert SignInRequest.checked("u", "pw", "USER_SRP_AUTH", None, metadata).username == "u"
    else:
        with pytest.raises(InvalidParameterException, match="client_metadata"):
            SignInRequest.checked("u", "pw", "USER_SRP_AUTH", None, metadata)


@pytest.mark.parametrize(
    ("challenge", "step"),
    [
        ("NEW_PASSWORD_REQUIRED", Step.NEW_PASSWORD),
        ("SMS_MFA", Step.SMS_CODE),
        ("SMS_OTP", Step.SMS_CODE),
        ("SOFTWARE_TOKEN_MFA", Step.TOTP_CODE),
        ("EMAIL_OTP", Step.EMAIL_CODE),
        ("SELECT_MFA_TYPE", Step.MFA_SELECTION),
        ("CUSTOM_CHALLENGE", Step.CUSTOM_CHALLENGE),
        ("SELECT_CHALLENGE", Step.FIRST_FACTOR_SELECTION),
    ],
)
def test_each_challenge_is_amplifys_step(challenge: str, step: str) -> None:
    assert step_of(Challenge(name=challenge)) == step


def test_challenges_it_cannot_answer_are_refused_clearly() -> None:
    with pytest.raises(SignInException, match="WEB_AUTHN"):
        step_of(Challenge(name="WEB_AUTHN"))
    with pytest.raises(SignInException, match="ADMIN_NO_SRP_AUTH, which this library"):
        step_of(Challenge(name="ADMIN_NO_SRP_AUTH"))
    # A name that is not one (an echo of the request, say) is not quoted.
    with pytest.raises(SignInException) as info:
        step_of(Challenge(name='{"PASSWORD": "hunter2"}'))
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("challenge", "key"),
    [
        ("SMS_MFA", "SMS_MFA_CODE"),
        ("SMS_OTP", "SMS_OTP_CODE"),
        ("SOFTWARE_TOKEN_MFA", "SOFTWARE_TOKEN_MFA_CODE"),
        ("EMAIL_OTP", "EMAIL_OTP_CODE"),
        ("CUSTOM_CHALLENGE", "ANSWER"),
    ],
)
def test_each_code_goes_under_the_key_cognito_expects(challenge: str, key: str) -> None:
    assert code_answer(challenge, "123456") == {key: "123456"}


def test_mfa_names_in_either_vocabulary() -> None:
    assert [mfa_type(a) for a in ("SMS", "TOTP", "EMAIL", "SOFTWARE_TOKEN_MFA", "PUSH")] == [
        "SMS_MFA",
        "SOFTWARE_TOKEN_MFA",
        "EMAIL_OTP",
        "SOFTWARE_TOKEN_MFA",
        None,
    ]


@pytest.mark.parametrize(
    ("offered", "types"),
    [
        (["SOFTWARE_TOKEN_MFA"], ("TOTP",)),
        (["EMAIL_OTP"], ("EMAIL",)),
        (["SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP"], ("TOTP", "EMAIL")),
        (["SMS_MFA"], ()),
    ],
)
def test_mfa_setup_offers_totp_and_email(offered: list[str], types: tuple[str, ...]) -> None:
    challenge = Challenge(name="MFA_SETUP", parameters={"MFAS_CAN_SETUP": json.dumps(offered)})
    assert mfa_setup_types(challenge) == types


def test_mfa_setup_with_garbage_parameters_offers_nothing() -> None:
    for raw in ("not json", '{"a": 1}', "", "null"):
        challenge = Challenge(name="MFA_SETUP", parameters={"MFAS_CAN_SETUP": raw})
        assert mfa_setup_types(challenge) == ()


def test_first_factor_choice() -> None:
    available = ("PASSWORD_SRP", "PASSWORD", "EMAIL_OTP")
    assert first_factor("EMAIL_OTP", available) == "EMAIL_OTP"
    with pytest.raises(InvalidParameterException, match="PASSWORD_SRP, PASSWORD, EMAIL_OTP"):
        first_factor("SMS_OTP", available)
    with pytest.raises(InvalidParameterException, match="platform authenticator") as info:
        first_factor("WEB_AUTHN", (*available, "WEB_AUTHN"))
    assert "WEB_AUTHN" not in (info.value.recovery_suggestion or "")


def test_a_custom_challenge_shows_its_parameters_and_a_code_step_only_where_it_went() -> None:
    custom = Challenge(
        name="CUSTOM_CHALLENGE", parameters={"USERNAME": "u", "question": "2+2?", "round": "1"}
    )
    assert next_step(Step.CUSTOM_CHALLENGE, custom).additional_info == {
        "question": "2+2?",
        "round": "1",
    }
    sms = Challenge(
        name="SMS_MFA",
        parameters={
            "USERNAME": "u",
            "CODE_DELIVERY_DESTINATION": "+***0100",
            "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        },
    )
    assert next_step(Step.SMS_CODE, sms).additional_info == {
        "CODE_DELIVERY_DESTINATION": "+***0100",
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
    }


def test_first_factor_selection_lists_the_available_challenges() -> None:
    select = Challenge(name="SELECT_CHALLENGE", available_challenges=("PASSWORD", "EMAIL_OTP"))
    step = next_step(Step.FIRST_FACTOR_SELECTION, select)
    assert step.available_challenges == ("PASSWORD", "EMAIL_OTP")


@given(
    issuer=st.text(min_size=1, max_size=30).filter(str.strip),
    account=st.text(min_size=1, max_size=30),
)
def test_the_setup_uri_is_one_authenticator_apps_read(issuer: str, account: str) -> None:
    """pyotp (a real TOTP library) parses it back to the same secret, issuer and account."""
    secret = pyotp.random_base32(32)
    details = TOTPSetupDetails.of(secret, account, issuer)
    parsed = pyotp.parse_uri(details.setup_uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == secret
    assert parsed.issuer == issuer
    assert parsed.name == account
    assert urlsplit(details.setup_uri).scheme == "otpauth"
    assert parse_qs(urlsplit(details.setup_uri).query)["secret"] == [secret]
    assert secret not in repr(details)


def test_get_setup_uri_names_another_app_and_account() -> None:
    details = TOTPSetupDetails.of("JBSWY3DPEHPK3PXP", "alice@example.com", "amplify-session")
    assert details.setup_uri == (
        "otpauth://totp/amplify-session:alice@example.com"
        "?secret=JBSWY3DPEHPK3PXP&issuer=amplify-session"
    )
    assert details.get_setup_uri("My App", "bob") == (
        "otpauth://totp/My%20App:bob?secret=JBSWY3DPEHPK3PXP&issuer=My+App"
    )
