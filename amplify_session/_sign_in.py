"""Sign-in flows: USER_SRP_AUTH (the default), USER_PASSWORD_AUTH, and challenges.

The flow ends in tokens or in a challenge the caller answers with
``confirm_sign_in``. SRP arithmetic runs in small steps between which the
event loop serves other tasks.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import TypeVar

import anyio.lowlevel
import attrs

from ._cognito import AuthenticationResult, Challenge, UserPoolClient
from ._cognito.srp import SrpSession, Steps, cognito_timestamp, password_claim_signature
from ._config import AuthConfig
from ._errors import (
    InvalidParameterException,
    InvalidResponseException,
    NotAuthorizedException,
)
from ._models import SignInNextStep

__all__ = [
    "SUPPORTED_FLOWS",
    "Attempt",
    "Automatic",
    "PendingChallenge",
    "SignInFlow",
    "next_step_for",
]

SUPPORTED_FLOWS = ("USER_SRP_AUTH", "USER_PASSWORD_AUTH")
_T = TypeVar("_T")

_STEPS = {
    "NEW_PASSWORD_REQUIRED": "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED",
    "SMS_MFA": "CONFIRM_SIGN_IN_WITH_SMS_CODE",
    "SOFTWARE_TOKEN_MFA": "CONFIRM_SIGN_IN_WITH_TOTP_CODE",
    "EMAIL_OTP": "CONFIRM_SIGN_IN_WITH_EMAIL_CODE",
    "SELECT_MFA_TYPE": "CONTINUE_SIGN_IN_WITH_MFA_SELECTION",
    "CUSTOM_CHALLENGE": "CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE",
}
# The ChallengeResponses key that carries the user's answer, per challenge.
_ANSWER_KEYS = {
    "NEW_PASSWORD_REQUIRED": "NEW_PASSWORD",
    "SMS_MFA": "SMS_MFA_CODE",
    "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE",
    "EMAIL_OTP": "EMAIL_OTP_CODE",
}
# Amplify's names for MFA types, accepted as SELECT_MFA_TYPE answers.
_MFA_NAMES = {"SMS": "SMS_MFA", "TOTP": "SOFTWARE_TOKEN_MFA", "EMAIL": "EMAIL_OTP"}
_PUBLIC_PARAMETERS = ("CODE_DELIVERY_DELIVERY_MEDIUM", "CODE_DELIVERY_DESTINATION")


@attrs.frozen(kw_only=True)
class PendingChallenge:
    """A sign-in waiting for ``confirm_sign_in``."""

    challenge: Challenge
    username: str  # Cognito's USERNAME, which the answer must carry
    login_id: str  # what the user typed
    auth_flow: str


def next_step_for(challenge: Challenge) -> SignInNextStep:
    """What the caller must do next, in Amplify's terms."""
    parameters = challenge.parameters
    return SignInNextStep(
        sign_in_step=_STEPS.get(challenge.name, challenge.name),
        additional_info={k: parameters[k] for k in _PUBLIC_PARAMETERS if k in parameters},
        missing_attributes=tuple(
            name.removeprefix("userAttributes.")
            for name in _json_list(parameters.get("requiredAttributes"))
        ),
        allowed_mfa_types=tuple(_json_list(parameters.get("MFAS_CAN_CHOOSE"))),
    )


@attrs.frozen(kw_only=True)
class Attempt:
    """What the automatic answers of one sign-in may use (the password only while
    the sign-in call that carries it runs; never kept in a pending challenge)."""

    login_id: str
    auth_flow: str
    password: str | None = attrs.field(default=None, repr=False)
    srp: SrpSession | None = attrs.field(default=None, repr=False)


#: Answers a challenge without the user; returns Cognito's next answer.
Automatic = Callable[[Challenge, Attempt], Awaitable[AuthenticationResult | Challenge]]


class SignInFlow:
    """Runs sign-in exchanges with the User Pool; holds no session state.

    Every answer Cognito gives, to the first call or to any challenge
    response, goes through one table of automatic handlers (SRP's
    ``PASSWORD_VERIFIER`` today): a challenge that has one is answered here
    wherever it appears, any other is handed to the caller.
    """

    def __init__(self, user_pool: UserPoolClient, config: AuthConfig) -> None:
        self._user_pool = user_pool
        self._pool_name = config.user_pool_id.split("_", 1)[1]
        self._automatic: dict[str, Automatic] = {"PASSWORD_VERIFIER": self._verify_password}

    def __repr__(self) -> str:
        return f"SignInFlow(pool_name={self._pool_name!r})"

    def answer_automatically(self, challenge_name: str, handler: Automatic) -> None:
        """Answer ``challenge_name`` with ``handler`` wherever it appears in a sign-in."""
        self._automatic[challenge_name] = handler

    async def start(
        self, username: str, password: str, auth_flow: str
    ) -> AuthenticationResult | PendingChallenge:
        """Begin a sign-in; automatic challenges are answered, others returned."""
        attempt = Attempt(login_id=username, auth_flow=auth_flow, password=password)
        if auth_flow == "USER_PASSWORD_AUTH":
            parameters = {"PASSWORD": password}
        else:
            attempt = attrs.evolve(attempt, srp=await _cooperatively(SrpSession.start()))
            assert attempt.srp is not None
            parameters = {"SRP_A": attempt.srp.srp_a}
        answer = await self._user_pool.initiate_auth(auth_flow, username, parameters)
        return await self._follow(answer, attempt)

    async def answer(
        self,
        pending: PendingChallenge,
        challenge_response: str,
        user_attributes: Mapping[str, str],
    ) -> AuthenticationResult | PendingChallenge:
        """Answer the pending challenge.

        Raises:
            NotAuthorizedException: The challenge session expired; sign in again.
            CodeMismatchException: A wrong code (the challenge stays pending).
        """
        responses = _user_answer(pending, challenge_response, user_attributes)
        try:
            answer = await self._user_pool.respond_to_auth_challenge(
                pending.challenge, pending.username, responses
            )
        except NotAuthorizedException as err:
            if "session" in err.message.lower():
                raise NotAuthorizedException(
                    "the sign-in session expired before the challenge was answered",
                    recovery_suggestion="Call sign_in() again.",
                ) from err
            raise
        attempt = Attempt(login_id=pending.login_id, auth_flow=pending.auth_flow)
        return await self._follow(answer, attempt)

    async def _follow(
        self, answer: AuthenticationResult | Challenge, attempt: Attempt
    ) -> AuthenticationResult | PendingChallenge:
        """Answer automatic challenges until tokens or one for the caller comes.

        Each automatic challenge is answered once per call: a server that asks
        again (a broken proxy or emulator) gets no endless exchange.
        """
        answered: set[str] = set()
        while isinstance(answer, Challenge):
            automatic = self._automatic.get(answer.name)
            if automatic is not None and answer.name in answered:
                raise InvalidResponseException(
                    f"Cognito asked for {answer.name} again after it was answered"
                )
            if automatic is None:
                return PendingChallenge(
                    challenge=answer,
                    username=answer.parameters.get("USERNAME", attempt.login_id),
                    login_id=attempt.login_id,
                    auth_flow=attempt.auth_flow,
                )
            answered.add(answer.name)
            answer = await automatic(answer, attempt)
        return answer

    async def _verify_password(
        self, challenge: Challenge, attempt: Attempt
    ) -> AuthenticationResult | Challenge:
        """SRP's PASSWORD_VERIFIER: prove the password without sending it."""
        if attempt.srp is None or attempt.password is None:
            raise InvalidResponseException("PASSWORD_VERIFIER came outside an SRP sign-in")
        responses, cognito_username = await self._password_claim(
            attempt.srp, challenge, attempt.login_id, attempt.password
        )
        return await self._user_pool.respond_to_auth_challenge(
            challenge, cognito_username, responses
        )

    async def _password_claim(
        self, srp: SrpSession, challenge: Challenge, login_id: str, password: str
    ) -> tuple[dict[str, str], str]:
        parameters = challenge.parameters
        try:
            user_id = parameters["USER_ID_FOR_SRP"]
            salt, srp_b, secret_block = (
                parameters["SALT"],
                parameters["SRP_B"],
                parameters["SECRET_BLOCK"],
            )
        except KeyError as missing:
            raise InvalidResponseException(f"PASSWORD_VERIFIER lacks {missing.args[0]}") from None
        key = await _cooperatively(
            srp.password_key(
                pool_name=self._pool_name,
                user_id=user_id,
                password=password,
                salt=salt,
                srp_b=srp_b,
            )
        )
        timestamp = cognito_timestamp(datetime.now(timezone.utc))
        signature = password_claim_signature(
            key,
            pool_name=self._pool_name,
            user_id=user_id,
            secret_block=secret_block,
            timestamp=timestamp,
        )
        responses = {
            "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
            "PASSWORD_CLAIM_SIGNATURE": signature,
            "TIMESTAMP": timestamp,
        }
        # With an alias sign-in Cognito's USERNAME differs from what the user typed.
        return responses, parameters.get("USERNAME", login_id)


def _user_answer(
    pending: PendingChallenge, challenge_response: str, user_attributes: Mapping[str, str]
) -> dict[str, str]:
    """The ChallengeResponses carrying the user's answer, under the key Cognito expects."""
    name = pending.challenge.name
    responses = {_ANSWER_KEYS.get(name, "ANSWER"): challenge_response}
    if name == "SELECT_MFA_TYPE":
        responses["ANSWER"] = _MFA_NAMES.get(challenge_response, challenge_response)
    if name == "NEW_PASSWORD_REQUIRED":
        missing = set(next_step_for(pending.challenge).missing_attributes) - set(user_attributes)
        if missing:
            raise InvalidParameterException(
                f"the new password needs these user attributes: {', '.join(sorted(missing))}"
            )
        responses.update({f"userAttributes.{k}": v for k, v in user_attributes.items()})
    return responses


async def _cooperatively(steps: Steps[_T]) -> _T:
    """Drive a stepwise computation, letting the event loop run between steps."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        await anyio.lowlevel.checkpoint()


def _json_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
