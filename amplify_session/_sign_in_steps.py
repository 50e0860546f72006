"""Amplify's sign-in flows and steps: what each one sends, asks and expects, as data.

Pure: no calls. ``_sign_in.py`` runs the exchanges; this module says which
Cognito flow an Amplify flow is, which step a Cognito challenge is for the
caller, and under which key each answer goes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import attrs

from ._cognito import Challenge
from ._errors import InvalidParameterException, SignInException
from ._models import SignInNextStep, TOTPSetupDetails

__all__ = [
    "FIRST_FACTORS",
    "SUPPORTED_FLOWS",
    "Flow",
    "Step",
    "answerable_factors",
    "check_flow",
    "code_answer",
    "first_factor",
    "flow_of",
    "mfa_setup_types",
    "mfa_type",
    "new_password_answer",
    "next_step",
    "step_of",
    "uses_password",
]


class Step:
    """Amplify's names of the steps (``SignInNextStep.sign_in_step``)."""

    # ruff: noqa: S105  (step names, not passwords)
    NEW_PASSWORD = "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED"
    SMS_CODE = "CONFIRM_SIGN_IN_WITH_SMS_CODE"
    TOTP_CODE = "CONFIRM_SIGN_IN_WITH_TOTP_CODE"
    EMAIL_CODE = "CONFIRM_SIGN_IN_WITH_EMAIL_CODE"
    MFA_SELECTION = "CONTINUE_SIGN_IN_WITH_MFA_SELECTION"
    MFA_SETUP_SELECTION = "CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION"
    TOTP_SETUP = "CONTINUE_SIGN_IN_WITH_TOTP_SETUP"
    EMAIL_SETUP = "CONTINUE_SIGN_IN_WITH_EMAIL_SETUP"
    CUSTOM_CHALLENGE = "CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE"
    FIRST_FACTOR_SELECTION = "CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION"
    PASSWORD = "CONFIRM_SIGN_IN_WITH_PASSWORD"
    DONE = "DONE"


@attrs.frozen
class Flow:
    """An Amplify flow: the Cognito AuthFlow it is, and whether it proves a password with SRP."""

    cognito_name: str
    srp: bool


_FLOWS = {
    "USER_SRP_AUTH": Flow("USER_SRP_AUTH", srp=True),
    "USER_PASSWORD_AUTH": Flow("USER_PASSWORD_AUTH", srp=False),
    "CUSTOM_WITH_SRP": Flow("CUSTOM_AUTH", srp=True),
    "CUSTOM_WITHOUT_SRP": Flow("CUSTOM_AUTH", srp=False),
    "USER_AUTH": Flow("USER_AUTH", srp=False),  # SRP only with PASSWORD_SRP
}
SUPPORTED_FLOWS = tuple(_FLOWS)
#: USER_AUTH's first factors (``preferred_challenge``), Cognito's names.
FIRST_FACTORS = ("PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN")
_PASSWORD_FACTORS = ("PASSWORD", "PASSWORD_SRP")

# The challenges whose step depends on the name alone. MFA_SETUP's depends on
# what the pool lets the user set up (``_sign_in.py`` decides).
_STEPS = {
    "NEW_PASSWORD_REQUIRED": Step.NEW_PASSWORD,
    "SMS_MFA": Step.SMS_CODE,
    "SMS_OTP": Step.SMS_CODE,
    "SOFTWARE_TOKEN_MFA": Step.TOTP_CODE,
    "EMAIL_OTP": Step.EMAIL_CODE,
    "SELECT_MFA_TYPE": Step.MFA_SELECTION,
    "CUSTOM_CHALLENGE": Step.CUSTOM_CHALLENGE,
    "SELECT_CHALLENGE": Step.FIRST_FACTOR_SELECTION,
}
# The ChallengeResponses key of a code, per challenge.
_CODE_KEYS = {
    "SMS_MFA": "SMS_MFA_CODE",
    "SMS_OTP": "SMS_OTP_CODE",
    "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE",
    "EMAIL_OTP": "EMAIL_OTP_CODE",
}
# Amplify's MFA names and Cognito's.
_MFA_TYPES = {"SMS": "SMS_MFA", "TOTP": "SOFTWARE_TOKEN_MFA", "EMAIL": "EMAIL_OTP"}
_AMPLIFY_MFA = {cognito: amplify for amplify, cognito in _MFA_TYPES.items()}
_PUBLIC_PARAMETERS = ("CODE_DELIVERY_DELIVERY_MEDIUM", "CODE_DELIVERY_DESTINATION")
_WEB_AUTHN = (
    "WEB_AUTHN (passkeys) needs a platform authenticator (a browser's or the OS's"
    " WebAuthn API), which a Python service does not have"
)


def flow_of(auth_flow: str) -> Flow:
    """The flow named ``auth_flow`` (checked by :func:`check_flow` first)."""
    return _FLOWS[auth_flow]


def check_flow(auth_flow: object, password: object, preferred_challenge: object) -> None:
    """Refuse a flow, password and first factor that do not go together, before any call.

    A password is required by the flows that prove one and refused by the
    others, so a passwordless sign-in can never send one.

    Raises:
        InvalidParameterException: An unknown flow or factor, a missing or needless password.
        SignInException: ``WEB_AUTHN``, which needs a platform authenticator.
    """
    if not isinstance(auth_flow, str) or auth_flow not in _FLOWS:
        raise InvalidParameterException(
            f"auth_flow must be one of {', '.join(SUPPORTED_FLOWS)}, not {auth_flow!r}"
        )
    if preferred_challenge is not None:
        if auth_flow != "USER_AUTH":
            raise InvalidParameterException("preferred_challenge goes with auth_flow='USER_AUTH'")
        if not isinstance(preferred_challenge, str) or preferred_challenge not in FIRST_FACTORS:
            raise InvalidParameterException(
                "preferred_challenge must be one of "
                f"{', '.join(FIRST_FACTORS[:-1])}, not {preferred_challenge!r}"
            )
        if preferred_challenge == "WEB_AUTHN":
            raise SignInException(
                _WEB_AUTHN,
                recovery_suggestion="Use EMAIL_OTP, SMS_OTP, PASSWORD or PASSWORD_SRP.",
            )
    needs_password = uses_password(auth_flow, preferred_challenge)
    if needs_password and (not isinstance(password, str) or not password):
        raise InvalidParameterException(
            f"{_flow_name(auth_flow, preferred_challenge)} needs a password"
        )
    if not needs_password and password is not None:
        raise InvalidParameterException(
            f"{_flow_name(auth_flow, preferred_challenge)} uses no password; none is sent",
            recovery_suggestion=(
                "Leave the password out (answer CONFIRM_SIGN_IN_WITH_PASSWORD if the user"
                " chooses PASSWORD), or pass preferred_challenge='PASSWORD_SRP'."
            ),
        )


def uses_password(auth_flow: object, preferred_challenge: object) -> bool:
    """Whether the sign-in proves a password from the start (so it must be given)."""
    if auth_flow == "USER_AUTH":
        return preferred_challenge in _PASSWORD_FACTORS
    return auth_flow != "CUSTOM_WITHOUT_SRP"


def _flow_name(auth_flow: object, preferred_challenge: object) -> str:
    if preferred_challenge is None:
        return str(auth_flow)
    return f"{auth_flow} with {preferred_challenge}"


def step_of(challenge: Challenge) -> str:
    """The step a challenge (other than MFA_SETUP) is for the caller.

    Raises:
        SignInException: A challenge this library cannot answer (WEB_AUTHN, or
            one it does not know).
    """
    step = _STEPS.get(challenge.name)
    if step is not None:
        return step
    if challenge.name == "WEB_AUTHN":
        raise SignInException(f"Cognito asked for {_WEB_AUTHN}")
    # The name is the server's text: quoted only when it looks like a name.
    shown = challenge.name if _looks_like_a_name(challenge.name) else "a challenge"
    raise SignInException(f"Cognito asked for {shown}, which this library does not answer")


def _looks_like_a_name(text: str) -> bool:
    return 0 < len(text) <= 40 and all(c.isupper() or c == "_" for c in text)


def code_answer(challenge_name: str, code: str) -> dict[str, str]:
    """The ChallengeResponses for a code (or, for other challenges, Cognito's ANSWER)."""
    return {_CODE_KEYS.get(challenge_name, "ANSWER"): code}


def mfa_type(answer: str) -> str | None:
    """Cognito's MFA name for an answer in Amplify's (``TOTP``) or Cognito's own terms."""
    if answer in _MFA_TYPES:
        return _MFA_TYPES[answer]
    return answer if answer in _AMPLIFY_MFA else None


def mfa_setup_types(challenge: Challenge) -> tuple[str, ...]:
    """What MFA_SETUP lets the user set up here, in Amplify's names: TOTP and EMAIL.

    SMS is left out, as in Amplify: its setup needs a verified phone number,
    which only an administrator or the user's profile can give.
    """
    offered = _json_list(challenge.parameters.get("MFAS_CAN_SETUP"))
    return tuple(name for name in ("TOTP", "EMAIL") if _MFA_TYPES[name] in offered)


def answerable_factors(available: tuple[str, ...]) -> tuple[str, ...]:
    """The first factors offered that this library can take (all but WEB_AUTHN)."""
    return tuple(c for c in available if c in FIRST_FACTORS and c != "WEB_AUTHN")


def first_factor(answer: str, available: tuple[str, ...]) -> str:
    """The first factor a FIRST_FACTOR_SELECTION answer chooses.

    Raises:
        InvalidParameterException: Not one of the available ones, or WEB_AUTHN
            (the step stays open for another choice).
    """
    choices = answerable_factors(available) or FIRST_FACTORS[:-1]
    if answer == "WEB_AUTHN":
        raise InvalidParameterException(
            _WEB_AUTHN, recovery_suggestion=f"Choose one of {', '.join(choices)}."
        )
    if answer not in choices:
        raise InvalidParameterException(f"answer with one of {', '.join(choices)}")
    return answer


def next_step(
    step: str,
    challenge: Challenge,
    *,
    totp_setup_details: TOTPSetupDetails | None = None,
    state: str | None = None,
) -> SignInNextStep:
    """What the caller must do next, in Amplify's terms."""
    parameters = challenge.parameters
    if step == Step.CUSTOM_CHALLENGE:
        info = {k: v for k, v in parameters.items() if k != "USERNAME"}
    else:
        info = {k: parameters[k] for k in _PUBLIC_PARAMETERS if k in parameters}
    if step == Step.MFA_SETUP_SELECTION:
        allowed = mfa_setup_types(challenge)
    else:
        offered = _json_list(parameters.get("MFAS_CAN_CHOOSE"))
        allowed = tuple(_AMPLIFY_MFA.get(name, name) for name in offered)
    return SignInNextStep(
        sign_in_step=step,
        additional_info=info,
        missing_attributes=tuple(
            name.removeprefix("userAttributes.")
            for name in _json_list(parameters.get("requiredAttributes"))
        ),
        allowed_mfa_types=allowed,
        available_challenges=challenge.available_challenges
        if step == Step.FIRST_FACTOR_SELECTION
        else (),
        totp_setup_details=totp_setup_details,
        state=state,
    )


def new_password_answer(
    challenge: Challenge, new_password: str, user_attributes: Mapping[str, str]
) -> dict[str, str]:
    """NEW_PASSWORD_REQUIRED's responses.

    Raises:
        InvalidParameterException: A required attribute is missing.
    """
    required = next_step(Step.NEW_PASSWORD, challenge).missing_attributes
    missing = set(required) - set(user_attributes)
    if missing:
        raise InvalidParameterException(
            f"the new password needs these user attributes: {', '.join(sorted(missing))}"
        )
    return {
        "NEW_PASSWORD": new_password,
        **{f"userAttributes.{k}": v for k, v in user_attributes.items()},
    }


def _json_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # absurdly nested: as good as garbage
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
