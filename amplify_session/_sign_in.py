"""Sign-in exchanges: every Amplify v6 flow and step, through one table of automatic answers.

A sign-in ends in tokens or in a step the caller answers with
``confirm_sign_in``. What each flow sends and each step expects is data in
``_sign_in_steps.py``; this module makes the calls. SRP arithmetic runs in
small steps between which the event loop serves other tasks.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Protocol

import attrs

from ._cognito import AuthenticationResult, Challenge, UserPoolClient
from ._cognito.srp import SrpSession
from ._config import AuthConfig, ClientMetadata, check_client_metadata
from ._errors import (
    AuthError,
    CodeMismatchException,
    InvalidParameterException,
    InvalidResponseException,
    NotAuthorizedException,
    ResourceNotFoundException,
    SignInException,
)
from ._models import SignInDetails, SignInNextStep, TOTPSetupDetails
from ._secret_repr import secret_repr
from ._sign_in_steps import (
    FIRST_FACTORS,
    Step,
    answerable_factors,
    check_flow,
    code_answer,
    first_factor,
    flow_of,
    mfa_setup_types,
    mfa_type,
    new_password_answer,
    next_step,
    step_of,
)
from ._srp_proof import new_srp_session, password_claim
from ._tokens import DeviceRecord

__all__ = [
    "Attempt",
    "Automatic",
    "Completed",
    "PendingChallenge",
    "RememberedDevices",
    "SignInFlow",
    "SignInRequest",
]

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
class SignInRequest:
    """What ``sign_in`` was asked, checked before anything is sent (:meth:`checked`)."""

    username: str
    password: str | None = attrs.field(default=None, repr=False)
    auth_flow: str = "USER_SRP_AUTH"
    preferred_challenge: str | None = None
    client_metadata: ClientMetadata | None = attrs.field(default=None, repr=False)

    @classmethod
    def checked(
        cls,
        username: object,
        password: object,
        auth_flow: object,
        preferred_challenge: object = None,
        client_metadata: object = None,
    ) -> SignInRequest:
        """The request, if its arguments go together.

        Raises:
            InvalidParameterException: They do not (see ``check_flow``).
            SignInException: ``WEB_AUTHN``.
        """
        if not isinstance(username, str) or not username:
            raise InvalidParameterException("username must be a non-empty string")
        check_flow(auth_flow, password, preferred_challenge)
        check_client_metadata(client_metadata)
        return cls(
            username=username,
            password=password,  # type: ignore[arg-type]  # checked by check_flow
            auth_flow=auth_flow,  # type: ignore[arg-type]
            preferred_challenge=preferred_challenge,  # type: ignore[arg-type]
            client_metadata=client_metadata,  # type: ignore[arg-type]
        )


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
    """A sign-in waiting for ``confirm_sign_in``.

    ``challenge`` is what the next call answers (Cognito's name and session);
    ``step`` is what the caller is asked, which for a local step (choosing
    which MFA to set up, or giving the password of a chosen first factor)
    differs from the challenge. Only the fields a state export keeps (see
    ``_sign_in_state.py``) survive a resume: never a password, device or TOTP secret.
    """

    challenge: Challenge
    step: str
    username: str  # Cognito's USERNAME, which the answer must carry
    login_id: str  # what the user typed
    auth_flow: str  # Amplify's name
    device: DeviceRecord | None = None  # the device presented so far
    #: The first factor CONFIRM_SIGN_IN_WITH_PASSWORD proves: PASSWORD or PASSWORD_SRP.
    chosen_factor: str | None = None
    #: TOTP setup's secret, shown once in the next step.
    totp_secret: str | None = attrs.field(default=None, repr=secret_repr)

    def next_step(self, *, totp_issuer: str, state: str | None) -> SignInNextStep:
        """What the caller must do next, in Amplify's terms."""
        details = None
        if self.totp_secret is not None:
            details = TOTPSetupDetails.of(self.totp_secret, self.login_id, totp_issuer)
        return next_step(self.step, self.challenge, totp_setup_details=details, state=state)


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
    #: ClientMetadata every call of this attempt carries.
    client_metadata: ClientMetadata | None = attrs.field(default=None, repr=False)


#: Answers a challenge without the user; returns Cognito's next answer.
Automatic = Callable[[Challenge, Attempt], Awaitable[AuthenticationResult | Challenge]]
_Outcome = Completed | PendingChallenge
#: Takes the caller's answer to one kind of step.
_Answer = Callable[[PendingChallenge, str, Mapping[str, str], Attempt], Awaitable[_Outcome]]


class SignInFlow:
    """Runs sign-in exchanges with the User Pool; holds no session state.

    Every answer Cognito gives, to the first call or to any challenge
    response, goes through one table of automatic handlers (SRP's
    ``PASSWORD_VERIFIER``, and a remembered device's ``DEVICE_SRP_AUTH``
    when registered): a challenge that has one is answered here wherever it
    appears, any other becomes a step for the caller. A confirmed device is
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
        self._client_metadata = config.client_metadata
        self._automatic: dict[str, Automatic] = {"PASSWORD_VERIFIER": self._verify_password}
        self._answers: dict[str, _Answer] = {
            Step.MFA_SETUP_SELECTION: self._choose_mfa_setup,
            Step.TOTP_SETUP: self._verify_totp,
            Step.EMAIL_SETUP: self._set_up_email,
            Step.FIRST_FACTOR_SELECTION: self._choose_first_factor,
            Step.PASSWORD: self._prove_chosen_password,
        }

    def __repr__(self) -> str:
        return f"SignInFlow(pool_name={self._pool_name!r})"

    def answer_automatically(self, challenge_name: str, handler: Automatic) -> None:
        """Answer ``challenge_name`` with ``handler`` wherever it appears in a sign-in."""
        self._automatic[challenge_name] = handler

    async def start(self, request: SignInRequest) -> _Outcome:
        """Begin a sign-in; automatic challenges are answered, others returned.

        A presented device Cognito no longer knows is forgotten here and the
        sign-in made once more without it, as Amplify does.
        """
        preferred = request.preferred_challenge
        attempt = Attempt(
            login_id=request.username,
            auth_flow=request.auth_flow,
            password=request.password,
            client_metadata=self._metadata(request.client_metadata),
        )
        try:
            return await self._start(attempt, preferred, present_device=True)
        except ResourceNotFoundException as err:
            if _NO_SUCH_DEVICE not in err.message:
                raise
            attempt.device = attempt.device_owner = None
            return await self._start(attempt, preferred, present_device=False)

    def _metadata(self, given: ClientMetadata | None) -> ClientMetadata | None:
        return self._client_metadata if given is None else given

    async def _start(
        self, attempt: Attempt, preferred_challenge: str | None, *, present_device: bool
    ) -> _Outcome:
        flow = flow_of(attempt.auth_flow)
        parameters: dict[str, str] = {}
        if flow.srp or preferred_challenge == "PASSWORD_SRP":
            attempt.srp = srp = await new_srp_session()
            parameters["SRP_A"] = srp.srp_a
            if flow.cognito_name == "CUSTOM_AUTH":
                parameters["CHALLENGE_NAME"] = "SRP_A"  # custom auth that begins with SRP
        elif attempt.password is not None:
            parameters["PASSWORD"] = attempt.password
        if preferred_challenge is not None:
            parameters["PREFERRED_CHALLENGE"] = preferred_challenge
        if present_device:
            await self._present_device(attempt, attempt.login_id, parameters)
        async with self._device_unknown_forgotten(attempt):
            answer = await self._user_pool.initiate_auth(
                flow.cognito_name,
                attempt.login_id,
                parameters,
                client_metadata=attempt.client_metadata,
            )
            return await self._follow(answer, attempt)

    async def answer(
        self,
        pending: PendingChallenge,
        response: str,
        user_attributes: Mapping[str, str],
        *,
        client_metadata: ClientMetadata | None = None,
    ) -> _Outcome:
        """Answer the pending step.

        Raises:
            NotAuthorizedException: The challenge session expired; sign in again.
            CodeMismatchException: A wrong code (the challenge stays pending).
            InvalidParameterException: An answer the step cannot take (it stays pending).
        """
        attempt = Attempt(
            login_id=pending.login_id,
            auth_flow=pending.auth_flow,
            device=pending.device,
            device_owner=pending.username if pending.device else None,
            client_metadata=self._metadata(client_metadata),
        )
        take = self._answers.get(pending.step, self._answer_challenge)
        try:
            return await take(pending, response, user_attributes, attempt)
        except NotAuthorizedException as err:
            if "session" in err.message.lower():
                raise NotAuthorizedException(
                    "the sign-in session expired before the challenge was answered",
                    recovery_suggestion="Call sign_in() again.",
                ) from err
            raise

    # -- the caller's answers, per step ----------------------------------------------

    async def _answer_challenge(
        self,
        pending: PendingChallenge,
        response: str,
        user_attributes: Mapping[str, str],
        attempt: Attempt,
    ) -> _Outcome:
        """A code, a new password, a custom answer or an MFA choice, under its key."""
        challenge = pending.challenge
        if pending.step == Step.NEW_PASSWORD:
            responses = new_password_answer(challenge, response, user_attributes)
        elif pending.step == Step.MFA_SELECTION:
            responses = {"ANSWER": self._mfa_choice(pending, response)}
        else:
            responses = code_answer(challenge.name, response)
        return await self._respond(pending, challenge, responses, attempt)

    @staticmethod
    def _mfa_choice(pending: PendingChallenge, response: str) -> str:
        allowed = next_step(pending.step, pending.challenge).allowed_mfa_types
        chosen = mfa_type(response)
        if chosen is None or (allowed and chosen not in {mfa_type(a) for a in allowed}):
            raise InvalidParameterException(f"answer with one of {', '.join(allowed)}")
        return chosen

    async def _choose_mfa_setup(
        self, pending: PendingChallenge, response: str, _: Mapping[str, str], __: Attempt
    ) -> _Outcome:
        """Which MFA to set up: a local step (no call for EMAIL; TOTP associates a secret)."""
        allowed = mfa_setup_types(pending.challenge)
        chosen = mfa_type(response)
        if chosen == "SOFTWARE_TOKEN_MFA" and "TOTP" in allowed:
            return await self._associate_totp(pending)
        if chosen == "EMAIL_OTP" and "EMAIL" in allowed:
            return attrs.evolve(pending, step=Step.EMAIL_SETUP)
        raise InvalidParameterException(f"answer with one of {', '.join(allowed)}")

    async def _verify_totp(
        self, pending: PendingChallenge, code: str, _: Mapping[str, str], attempt: Attempt
    ) -> _Outcome:
        """VerifySoftwareToken with the code, then MFA_SETUP in the session it gives.

        Raises:
            CodeMismatchException: The code is not one of the new secret's (Cognito
                names it EnableSoftwareTokenMFAException); the step stays open.
        """
        try:
            session = await self._user_pool.verify_software_token(_session_of(pending), code)
        except AuthError as err:
            if err.name != "EnableSoftwareTokenMFAException":
                raise
            raise CodeMismatchException(
                "the code does not match the new TOTP secret", underlying_error=err
            ) from err
        setup = Challenge(name="MFA_SETUP", session=session)
        return await self._respond(pending, setup, {}, attempt)

    async def _set_up_email(
        self, pending: PendingChallenge, address: str, _: Mapping[str, str], attempt: Attempt
    ) -> _Outcome:
        """MFA_SETUP with the address; Cognito then sends it a code (EMAIL_OTP)."""
        if "@" not in address:
            raise InvalidParameterException("answer with the email address to send codes to")
        return await self._respond(pending, pending.challenge, {"EMAIL": address}, attempt)

    async def _choose_first_factor(
        self, pending: PendingChallenge, response: str, _: Mapping[str, str], attempt: Attempt
    ) -> _Outcome:
        """SELECT_CHALLENGE: a one-time code is sent at once; a password is asked first."""
        factor = first_factor(response, pending.challenge.available_challenges)
        if factor in ("PASSWORD", "PASSWORD_SRP"):
            return attrs.evolve(pending, step=Step.PASSWORD, chosen_factor=factor)
        return await self._respond(pending, pending.challenge, {"ANSWER": factor}, attempt)

    async def _prove_chosen_password(
        self, pending: PendingChallenge, password: str, _: Mapping[str, str], attempt: Attempt
    ) -> _Outcome:
        """SELECT_CHALLENGE answered with the chosen password factor, and the password
        (PASSWORD) or SRP's first value (PASSWORD_SRP, then PASSWORD_VERIFIER)."""
        attempt.password = password
        responses = {"ANSWER": pending.chosen_factor or "PASSWORD_SRP"}
        if responses["ANSWER"] == "PASSWORD":
            responses["PASSWORD"] = password
        else:
            attempt.srp = srp = await new_srp_session()
            responses["SRP_A"] = srp.srp_a
        return await self._respond(pending, pending.challenge, responses, attempt)

    async def _respond(
        self,
        pending: PendingChallenge,
        challenge: Challenge,
        responses: dict[str, str],
        attempt: Attempt,
    ) -> _Outcome:
        # As Amplify's handleMFAChallenge: the device goes with the answer (looked up by
        # Cognito's USERNAME when the sign-in could not present it), else Cognito
        # hands out a new device.
        await self._present_device(attempt, pending.username, responses)
        async with self._device_unknown_forgotten(attempt):
            answer = await self._user_pool.respond_to_auth_challenge(
                challenge, pending.username, responses, client_metadata=attempt.client_metadata
            )
            return await self._follow(answer, attempt, username=pending.username)

    # -- devices -------------------------------------------------------------------------

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

    # -- Cognito's answers ----------------------------------------------------------------

    async def _follow(
        self,
        answer: AuthenticationResult | Challenge,
        attempt: Attempt,
        *,
        username: str | None = None,
    ) -> _Outcome:
        """Answer automatic challenges until tokens or a step for the caller comes.

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
                return await self._step_for(answer, attempt, username)
            answered.add(answer.name)
            answer = await automatic(answer, attempt)
        details = SignInDetails(login_id=attempt.login_id, auth_flow_type=attempt.auth_flow)
        return Completed(result=answer, details=details, device=attempt.device)

    async def _step_for(
        self, challenge: Challenge, attempt: Attempt, username: str | None
    ) -> PendingChallenge:
        """The caller's step for ``challenge``.

        MFA_SETUP's depends on what may be set up: both TOTP and EMAIL, a
        choice; EMAIL, its address; TOTP, its secret (AssociateSoftwareToken now).

        Raises:
            SignInException: A challenge this library cannot answer.
        """
        pending = PendingChallenge(
            challenge=challenge,
            step=Step.DONE,
            username=challenge.parameters.get("USERNAME") or username or attempt.login_id,
            login_id=attempt.login_id,
            auth_flow=attempt.auth_flow,
            device=attempt.device,
        )
        if challenge.name == "SELECT_CHALLENGE" and not answerable_factors(
            challenge.available_challenges or FIRST_FACTORS
        ):
            raise SignInException(
                "Cognito offers only first factors this library cannot take: WEB_AUTHN"
                " (passkeys) needs a platform authenticator",
                recovery_suggestion="Allow EMAIL_OTP, SMS_OTP or PASSWORD for the user.",
            )
        if challenge.name != "MFA_SETUP":
            return attrs.evolve(pending, step=step_of(challenge))
        types = mfa_setup_types(challenge)
        if len(types) > 1:
            return attrs.evolve(pending, step=Step.MFA_SETUP_SELECTION)
        if types == ("EMAIL",):
            return attrs.evolve(pending, step=Step.EMAIL_SETUP)
        if types == ("TOTP",):
            return await self._associate_totp(pending)
        raise SignInException(
            "the user must set up MFA, and the pool offers no type this library can set up"
            " (TOTP or EMAIL)",
            recovery_suggestion=(
                "Enable TOTP or email MFA on the pool, or give the user a verified phone number."
            ),
        )

    async def _associate_totp(self, pending: PendingChallenge) -> PendingChallenge:
        """AssociateSoftwareToken: the secret to show, and the session to verify it in."""
        token = await self._user_pool.associate_software_token(_session_of(pending))
        challenge = attrs.evolve(pending.challenge, session=token.session)
        return attrs.evolve(
            pending, step=Step.TOTP_SETUP, challenge=challenge, totp_secret=token.secret_code
        )

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
            challenge, cognito_username, responses, client_metadata=attempt.client_metadata
        )


def _session_of(pending: PendingChallenge) -> str:
    session = pending.challenge.session
    if not session:
        raise InvalidResponseException(f"{pending.challenge.name} came without a session")
    return session
