"""Sign-in flows: USER_SRP_AUTH (the default), USER_PASSWORD_AUTH, and challenges.

The flow ends in tokens or in a challenge the caller answers with
``confirm_sign_in``. SRP arithmetic runs in small steps between which the
event loop serves other tasks.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Protocol

import attrs

from ._cognito import AuthenticationResult, Challenge, UserPoolClient
from ._cognito.srp import SrpSession
from ._config import AuthConfig
from ._errors import (
    InvalidParameterException,
    InvalidResponseException,
    NotAuthorizedException,
    ResourceNotFoundException,
)
from ._models import SignInDetails, SignInNextStep
from ._srp_proof import new_srp_session, password_claim
from ._tokens import DeviceRecord

__all__ = [
    "SUPPORTED_FLOWS",
    "Attempt",
    "Automatic",
    "Completed",
    "PendingChallenge",
    "RememberedDevices",
    "SignInFlow",
    "next_step_for",
]

SUPPORTED_FLOWS = ("USER_SRP_AUTH", "USER_PASSWORD_AUTH")

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
# What Cognito answers when a DEVICE_KEY names a device it no longer knows (Amplify keys on it).
_NO_SUCH_DEVICE = "Device does not exist"
_NEVER_FOR_THE_CALLER = frozenset(
    {"PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"}
)


class RememberedDevices(Protocol):
    """The confirmed devices a sign-in presents (``DEVICE_KEY``), by Cognito username."""

    async def stored(self, username: str) -> DeviceRecord | None:
        """The user's confirmed device, if one is stored."""

    async def forget_locally(self, username: str, device_key: str) -> None:
        """Remove the user's stored device if it is ``device_key`` (Cognito no longer knows it)."""


@attrs.frozen(kw_only=True)
class Completed:
    """A sign-in Cognito completed: its answer, not yet read as a session.

    ``device`` is the confirmed device the sign-in presented, which the
    tokens belong to unless the answer brings a new one.
    """

    result: AuthenticationResult
    details: SignInDetails
    device: DeviceRecord | None = None


@attrs.frozen(kw_only=True)
class PendingChallenge:
    """A sign-in waiting for ``confirm_sign_in``."""

    challenge: Challenge
    username: str  # Cognito's USERNAME, which the answer must carry
    login_id: str  # what the user typed
    auth_flow: str
    device: DeviceRecord | None = None  # the device presented so far


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


@attrs.define(kw_only=True)
class Attempt:
    """What the automatic answers of one sign-in call may use and learn (the password
    only while the call that carries it runs; never kept in a pending challenge)."""

    login_id: str
    auth_flow: str
    password: str | None = attrs.field(default=None, repr=False)
    srp: SrpSession | None = attrs.field(default=None, repr=False)
    #: The confirmed device presented (DEVICE_KEY), and whose it is in storage.
    device: DeviceRecord | None = None
    device_owner: str | None = None


#: Answers a challenge without the user; returns Cognito's next answer.
Automatic = Callable[[Challenge, Attempt], Awaitable[AuthenticationResult | Challenge]]


class SignInFlow:
    """Runs sign-in exchanges with the User Pool; holds no session state.

    Every answer Cognito gives, to the first call or to any challenge
    response, goes through one table of automatic handlers (SRP's
    ``PASSWORD_VERIFIER``, and a remembered device's ``DEVICE_SRP_AUTH``
    when registered): a challenge that has one is answered here wherever it
    appears, any other is handed to the caller. A confirmed device is
    presented (``DEVICE_KEY``) as Amplify does, so Cognito may skip MFA.
    """

    def __init__(
        self,
        user_pool: UserPoolClient,
        config: AuthConfig,
        devices: RememberedDevices | None = None,
    ) -> None:
        self._user_pool = user_pool
        self._pool_name = config.user_pool_id.split("_", 1)[1]
        self._devices = devices
        self._automatic: dict[str, Automatic] = {"PASSWORD_VERIFIER": self._verify_password}

    def __repr__(self) -> str:
        return f"SignInFlow(pool_name={self._pool_name!r})"

    def answer_automatically(self, challenge_name: str, handler: Automatic) -> None:
        """Answer ``challenge_name`` with ``handler`` wherever it appears in a sign-in."""
        self._automatic[challenge_name] = handler

    async def start(
        self, username: str, password: str, auth_flow: str
    ) -> Completed | PendingChallenge:
        """Begin a sign-in; automatic challenges are answered, others returned.

        A presented device Cognito no longer knows is forgotten here and the
        sign-in made once more without it, as Amplify does.
        """
        try:
            return await self._start(username, password, auth_flow, present_device=True)
        except ResourceNotFoundException as err:
            if _NO_SUCH_DEVICE not in err.message:
                raise
            return await self._start(username, password, auth_flow, present_device=False)

    async def _start(
        self, username: str, password: str, auth_flow: str, *, present_device: bool
    ) -> Completed | PendingChallenge:
        attempt = Attempt(login_id=username, auth_flow=auth_flow, password=password)
        if auth_flow == "USER_PASSWORD_AUTH":
            parameters = {"PASSWORD": password}
        else:
            attempt.srp = srp = await new_srp_session()
            parameters = {"SRP_A": srp.srp_a}
        if present_device:
            await self._present_device(attempt, username, parameters)
        async with self._device_unknown_forgotten(attempt):
            answer = await self._user_pool.initiate_auth(auth_flow, username, parameters)
            return await self._follow(answer, attempt)

    async def answer(
        self,
        pending: PendingChallenge,
        challenge_response: str,
        user_attributes: Mapping[str, str],
    ) -> Completed | PendingChallenge:
        """Answer the pending challenge.

        Raises:
            NotAuthorizedException: The challenge session expired; sign in again.
            CodeMismatchException: A wrong code (the challenge stays pending).
        """
        responses = _user_answer(pending, challenge_response, user_attributes)
        attempt = Attempt(
            login_id=pending.login_id,
            auth_flow=pending.auth_flow,
            device=pending.device,
            device_owner=pending.username if pending.device else None,
        )
        # As Amplify's handleMFAChallenge: the device goes with the answer (looked up by
        # Cognito's USERNAME when the sign-in could not present it), else Cognito
        # hands out a new device.
        await self._present_device(attempt, pending.username, responses)
        try:
            async with self._device_unknown_forgotten(attempt):
                answer = await self._user_pool.respond_to_auth_challenge(
                    pending.challenge, pending.username, responses
                )
                return await self._follow(answer, attempt)
        except NotAuthorizedException as err:
            if "session" in err.message.lower():
                raise NotAuthorizedException(
                    "the sign-in session expired before the challenge was answered",
                    recovery_suggestion="Call sign_in() again.",
                ) from err
            raise

    async def _present_device(
        self, attempt: Attempt, username: str, parameters: dict[str, str]
    ) -> None:
        """Send DEVICE_KEY: the device presented so far, else ``username``'s stored one."""
        if self._devices is not None and attempt.device is None:
            device = await self._devices.stored(username)
            if device is not None:
                attempt.device, attempt.device_owner = device, username
        if attempt.device is not None:
            parameters["DEVICE_KEY"] = attempt.device.device_key

    @contextlib.asynccontextmanager
    async def _device_unknown_forgotten(self, attempt: Attempt) -> AsyncIterator[None]:
        """Cognito says the presented device does not exist: it is removed from storage."""
        try:
            yield
        except ResourceNotFoundException as err:
            owner, device = attempt.device_owner, attempt.device
            if self._devices and owner and device and _NO_SUCH_DEVICE in err.message:
                await self._devices.forget_locally(owner, device.device_key)
            raise

    async def _follow(
        self, answer: AuthenticationResult | Challenge, attempt: Attempt
    ) -> Completed | PendingChallenge:
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
            if automatic is None and answer.name in _NEVER_FOR_THE_CALLER:
                raise InvalidResponseException(f"Cognito asked for {answer.name} out of turn")
            if automatic is None:
                return PendingChallenge(
                    challenge=answer,
                    username=answer.parameters.get("USERNAME", attempt.login_id),
                    login_id=attempt.login_id,
                    auth_flow=attempt.auth_flow,
                    device=attempt.device,
                )
            answered.add(answer.name)
            answer = await automatic(answer, attempt)
        details = SignInDetails(login_id=attempt.login_id, auth_flow_type=attempt.auth_flow)
        return Completed(result=answer, details=details, device=attempt.device)

    async def _verify_password(
        self, challenge: Challenge, attempt: Attempt
    ) -> AuthenticationResult | Challenge:
        """SRP's PASSWORD_VERIFIER: prove the password without sending it."""
        srp = attempt.srp
        if srp is None or attempt.password is None:
            raise InvalidResponseException("PASSWORD_VERIFIER came outside an SRP sign-in")
        parameters = challenge.parameters
        user_id = parameters.get("USER_ID_FOR_SRP")
        if not user_id:
            raise InvalidResponseException("PASSWORD_VERIFIER lacks USER_ID_FOR_SRP")
        responses = await password_claim(
            srp,
            parameters,
            pool_name=self._pool_name,
            user_id=user_id,
            password=attempt.password,
            challenge_name=challenge.name,
        )
        # With an alias sign-in Cognito's USERNAME differs from what the user typed;
        # the device is stored under Cognito's name.
        cognito_username = parameters.get("USERNAME", attempt.login_id)
        await self._present_device(attempt, user_id, responses)
        return await self._user_pool.respond_to_auth_challenge(
            challenge, cognito_username, responses
        )


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


def _json_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
