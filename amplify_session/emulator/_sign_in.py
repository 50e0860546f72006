"""A sign-in at the front, from InitiateAuth to tokens: the step that comes next, and its answer.

First factors: USER_PASSWORD_AUTH, USER_SRP_AUTH, CUSTOM_AUTH with SRP or
without, and USER_AUTH (``_first_factors.py``). Then, in this order: a test's
planned challenges (after a password), the custom rounds (``_custom_auth.py``),
NEW_PASSWORD_REQUIRED for a temporary password, the pool's MFA or its setup
after a password (``_mfa.py``, ``_mfa_setup.py``), DEVICE_SRP_AUTH for a
remembered device, and tokens. Tokens come from moto: the front signs in to
moto with the user's stored password, so a passwordless sign-in gets them too.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ._challenges import ChallengeSessions, Pending, SignIn
from ._codes import CodeDeliveries
from ._custom_auth import CustomScripts
from ._devices import DeviceRegistry, DeviceSignIn, DeviceSrpSessions
from ._first_factors import CODE_FACTORS, available_factors, chosen_factor, preferred_factor
from ._mfa import MfaEnrolments, MfaStep, mfa_step, totp_matches
from ._moto_backend import (
    allowed_first_factors,
    allows_flow,
    attribute_of,
    canonical_name,
    challenges_remembered_devices,
    enabled_mfa_types,
    is_temporary,
    missing_required_attributes,
    owner_of,
    requires_mfa,
    set_user_attributes,
    set_user_password,
    tracks_devices,
    user_attributes,
    user_of,
)
from ._secret_hash import check_secret_hash, moto_secret_hash
from ._srp import SrpSessions
from ._upstream import Upstream
from ._wire import Refused

__all__ = ["DEFAULT_MFA_CODE", "SignIns"]

Answer = dict[str, Any]
_Responses = Mapping[str, Any]
#: Checks an answer: (pool, client, session, pending, responses) -> what follows.
_Answerer = Callable[[Any, Any, object, "Pending", _Responses], Awaitable[Answer]]

#: The code every delivered one-time code has, unless a test says otherwise.
DEFAULT_MFA_CODE = "123456"
_WRONG = "Incorrect username or password."
_MISMATCH = "Challenge does not match the session."
_FLOWS = ("USER_PASSWORD_AUTH", "USER_SRP_AUTH", "CUSTOM_AUTH", "USER_AUTH")
_ENABLED_BY = {"CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH", "USER_AUTH": "ALLOW_USER_AUTH"}
_CODE_KEYS = {
    "SMS_MFA": "SMS_MFA_CODE",
    "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE",
    "EMAIL_OTP": "EMAIL_OTP_CODE",
    "SMS_OTP": "SMS_OTP_CODE",
}
#: Where a delivered code goes: (medium, the user attribute with the address).
_DELIVERY = {"SMS_MFA": ("SMS", "phone_number")} | {
    name: (medium, attribute) for name, (medium, attribute, _) in CODE_FACTORS.items()
}


class SignIns:
    """Every sign-in under way, and the controls they answer to.

    Attributes:
        mfa_code: The code every delivered one-time code has.
        sessions: The challenge sessions (``session_ttl``, ``code_attempts``, plans).
        codes: Every code delivered.
        enrolments: The MFA users set up at sign-in.
        scripts: The pools' custom-challenge scripts.
    """

    def __init__(
        self,
        upstream: Callable[[], Upstream],
        devices: DeviceRegistry,
        device_srp: DeviceSrpSessions,
    ) -> None:
        self._upstream = upstream
        self._devices = devices
        self._device_srp = device_srp
        self._srp: SrpSessions[SignIn] = SrpSessions()
        self.sessions = ChallengeSessions()
        self.codes = CodeDeliveries()
        self.enrolments = MfaEnrolments()
        self.scripts = CustomScripts()
        self.mfa_code = DEFAULT_MFA_CODE

    # -- first factors -------------------------------------------------------------

    async def initiate_auth(
        self, pool: Any, client: Any, flow: object, params: _Responses
    ) -> Answer:
        """InitiateAuth for a sign-in (refresh aside)."""
        if flow not in _FLOWS:
            raise Refused("InvalidParameterException", f"Unsupported AuthFlow {flow}")
        if flow in _ENABLED_BY and not allows_flow(client, _ENABLED_BY[str(flow)]):
            raise Refused("NotAuthorizedException", f"{flow} flow is not enabled for this client.")
        login = str(params.get("USERNAME", ""))
        check_secret_hash(client, login, params.get("SECRET_HASH"))
        user = user_of(pool, login)
        device_key = self._device_key(pool, user, params.get("DEVICE_KEY"))
        sign_in = SignIn(client.id, login, canonical_name(pool, user), device_key)
        if flow == "USER_PASSWORD_AUTH":
            _check_password(user, params.get("PASSWORD"))
            return await self._after_password(pool, client, sign_in)
        if flow == "USER_SRP_AUTH":
            return self._password_verifier(pool, client, user, params, sign_in, session=False)
        if flow == "CUSTOM_AUTH":
            return await self._custom_auth(pool, client, user, params, sign_in)
        return await self._user_auth(pool, client, user, params, sign_in)

    async def _custom_auth(
        self, pool: Any, client: Any, user: Any, params: _Responses, sign_in: SignIn
    ) -> Answer:
        """CUSTOM_AUTH: the pool's rounds, after an SRP proof when it asks for one."""
        sign_in.factor = "custom"
        sign_in.rounds = self.scripts.rounds(str(pool.id), self.mfa_code)
        if params.get("CHALLENGE_NAME") == "SRP_A":
            return self._password_verifier(pool, client, user, params, sign_in, session=True)
        return await self._next(pool, client, sign_in)

    async def _user_auth(
        self, pool: Any, client: Any, user: Any, params: _Responses, sign_in: SignIn
    ) -> Answer:
        """USER_AUTH: the preferred first factor if the user has it, else SELECT_CHALLENGE."""
        available = available_factors(allowed_first_factors(pool), user_attributes(user))
        factor = preferred_factor(params, available)
        if factor is not None:
            return await self._first_factor(pool, client, user, factor, params, sign_in)
        pending = Pending(sign_in, "SELECT_CHALLENGE", choices=available)
        answer = self._issue(pending, {"USERNAME": sign_in.canonical})
        answer["AvailableChallenges"] = list(available)
        return answer

    async def _first_factor(
        self,
        pool: Any,
        client: Any,
        user: Any,
        factor: str,
        given: _Responses,
        sign_in: SignIn,
    ) -> Answer:
        """Start a USER_AUTH factor; ``given`` holds its PASSWORD or SRP_A."""
        if factor == "PASSWORD":
            _check_password(user, given.get("PASSWORD"))
            return await self._after_password(pool, client, sign_in)
        if factor == "PASSWORD_SRP":
            return self._password_verifier(pool, client, user, given, sign_in, session=True)
        sign_in.factor = "passwordless"
        return self._issue_code(user, Pending(sign_in, factor, code=self.mfa_code))

    def _password_verifier(
        self,
        pool: Any,
        client: Any,
        user: Any,
        given: _Responses,
        sign_in: SignIn,
        *,
        session: bool,
    ) -> Answer:
        srp_a = str(given.get("SRP_A") or "")
        ttl = self.sessions.session_ttl
        return self._srp.challenge(pool, client, user, srp_a, sign_in, session=session, ttl=ttl)

    async def _after_password(self, pool: Any, client: Any, sign_in: SignIn) -> Answer:
        """The password is proven: a test's plan, if any, replaces the pool's MFA."""
        plan = self.sessions.take_plan()
        if plan is not None:
            sign_in.plan, sign_in.planned, sign_in.mfa_decided = plan, list(plan.names), True
        return await self._next(pool, client, sign_in)

    # -- what comes next -----------------------------------------------------------

    async def _next(self, pool: Any, client: Any, sign_in: SignIn) -> Answer:
        """The sign-in's next challenge, or its tokens."""
        user = user_of(pool, sign_in.login)
        if sign_in.planned:
            return self._issue_planned(user, sign_in)
        if sign_in.round < len(sign_in.rounds):
            parameters = sign_in.rounds[sign_in.round].parameters
            pending = Pending(sign_in, "CUSTOM_CHALLENGE")
            return self._issue(pending, {"USERNAME": sign_in.canonical, **parameters})
        if is_temporary(user):
            required = missing_required_attributes(pool, user)
            return self._issue_new_password(
                user, Pending(sign_in, "NEW_PASSWORD_REQUIRED", choices=required)
            )
        if sign_in.factor == "password" and not sign_in.mfa_decided:
            sign_in.mfa_decided = True
            step = self._mfa_step(pool, user, sign_in)
            if step is not None:
                return self._issue_mfa(pool, user, sign_in, step)
        return await self._after_challenges(pool, client, sign_in, user)

    def _mfa_step(self, pool: Any, user: Any, sign_in: SignIn) -> MfaStep | None:
        """The MFA after a password; none for a device that signs in with device SRP."""
        if self._remembered(pool, user, sign_in.device_key) is not None:
            return None
        set_up = self.enrolments.set_up(owner_of(pool, user))
        return mfa_step(enabled_mfa_types(pool), requires_mfa(pool), set_up)

    # -- issuing challenges --------------------------------------------------------

    def _issue(self, pending: Pending, parameters: Mapping[str, str]) -> Answer:
        """Open a session at ``pending``'s challenge; the answer that asks for it."""
        plan = pending.sign_in.plan
        ttl = plan.session_ttl if pending.planned and plan is not None else None
        return {
            "ChallengeName": pending.challenge,
            "Session": self.sessions.open(pending, ttl),
            "ChallengeParameters": dict(parameters),
        }

    def _issue_code(self, user: Any, pending: Pending) -> Answer:
        """Deliver ``pending``'s code (SMS_MFA, EMAIL_OTP, SMS_OTP) and ask for it."""
        medium, attribute = _DELIVERY[pending.challenge]
        address = pending.setup_email or attribute_of(user, attribute)
        delivery = self.codes.deliver(
            pending.sign_in.canonical, pending.challenge, medium, address, str(pending.code)
        )
        return self._issue(pending, {"USERNAME": pending.sign_in.canonical, **delivery})

    def _issue_mfa(self, pool: Any, user: Any, sign_in: SignIn, step: MfaStep) -> Answer:
        if step.challenge == "SELECT_MFA_TYPE":
            pending = Pending(sign_in, step.challenge, choices=step.choices)
            choose = {"USERNAME": sign_in.canonical, "MFAS_CAN_CHOOSE": _json_list(step.choices)}
            return self._issue(pending, choose)
        if step.challenge == "MFA_SETUP":
            pending = Pending(sign_in, step.challenge, choices=step.choices)
            return self._issue(pending, {"MFAS_CAN_SETUP": _json_list(step.choices)})
        return self._issue_mfa_challenge(pool, user, sign_in, step.challenge)

    def _issue_mfa_challenge(self, pool: Any, user: Any, sign_in: SignIn, name: str) -> Answer:
        if name == "SOFTWARE_TOKEN_MFA":
            secret = self.enrolments.totp_secret(owner_of(pool, user))
            pending = Pending(sign_in, name, totp_secret=secret)
            return self._issue(pending, {"USERNAME": sign_in.canonical})
        return self._issue_code(user, Pending(sign_in, name, code=self.mfa_code))

    def _issue_planned(self, user: Any, sign_in: SignIn) -> Answer:
        """The next planned challenge; its codes are the plan's."""
        assert sign_in.plan is not None
        name, plan = sign_in.planned[0], sign_in.plan
        pending = Pending(sign_in, name, code=plan.code, planned=True)
        if name in _DELIVERY:
            return self._issue_code(user, pending)
        if name == "NEW_PASSWORD_REQUIRED":
            pending.choices = plan.required_attributes
            return self._issue_new_password(user, pending)
        parameters = {"USERNAME": sign_in.canonical}
        if name == "SELECT_MFA_TYPE":
            pending.choices = ("SMS_MFA", "SOFTWARE_TOKEN_MFA")
            parameters["MFAS_CAN_CHOOSE"] = _json_list(pending.choices)
        return self._issue(pending, parameters)

    def _issue_new_password(self, user: Any, pending: Pending) -> Answer:
        """NEW_PASSWORD_REQUIRED; ``pending.choices``: the attributes it requires."""
        attributes = {k: v for k, v in user_attributes(user).items() if k != "sub"}
        required = [f"userAttributes.{a}" for a in pending.choices]
        return self._issue(
            pending,
            {
                "USERNAME": pending.sign_in.canonical,
                "requiredAttributes": json.dumps(required),
                "userAttributes": json.dumps(attributes),
            },
        )

    # -- answers -------------------------------------------------------------------

    async def respond_to_auth_challenge(self, pool: Any, client: Any, body: _Responses) -> Answer:
        """RespondToAuthChallenge: check the answer against the session's challenge."""
        name = body.get("ChallengeName")
        responses: _Responses = body.get("ChallengeResponses") or {}
        check_secret_hash(client, str(responses.get("USERNAME", "")), responses.get("SECRET_HASH"))
        session = body.get("Session", "")
        if name == "PASSWORD_VERIFIER":
            return await self._password_verified(pool, client, session, responses)
        if name == "DEVICE_SRP_AUTH":
            return self._device_srp.challenge(self._devices, client.id, session, responses)
        if name == "DEVICE_PASSWORD_VERIFIER":
            device = self._device_srp.verify(self._devices, client.id, session, responses)
            user = user_of(pool, device.login)
            return await self._signed_in(pool, client, device.login, user, device.device_key)
        pending = self.sessions.live(session, client.id)
        sign_in = pending.sign_in
        if name != pending.challenge or responses.get("USERNAME") not in (
            sign_in.login,
            sign_in.canonical,
        ):
            raise Refused("InvalidParameterException", _MISMATCH)
        answer = self._answerer(pending.challenge)
        return await answer(pool, client, session, pending, responses)

    def _answerer(self, challenge: str) -> _Answerer:
        """What checks an answer to ``challenge``."""
        if challenge in _CODE_KEYS:
            return self._answer_code
        answerers: dict[str, _Answerer] = {
            "SELECT_MFA_TYPE": self._answer_mfa_choice,
            "SELECT_CHALLENGE": self._answer_first_factor,
            "NEW_PASSWORD_REQUIRED": self._answer_new_password,
            "MFA_SETUP": self._answer_mfa_setup,
            "CUSTOM_CHALLENGE": self._answer_custom,
        }
        return answerers.get(challenge, self._answer_anything)

    async def _password_verified(
        self, pool: Any, client: Any, session: object, responses: _Responses
    ) -> Answer:
        sign_in = self._srp.verify(pool, client, session, responses)
        user = user_of(pool, sign_in.login)
        device_key = self._device_key(pool, user, responses.get("DEVICE_KEY"))
        sign_in.device_key = device_key or sign_in.device_key
        if sign_in.factor == "custom":
            return await self._next(pool, client, sign_in)
        return await self._after_password(pool, client, sign_in)

    def _accept(self, pool: Any, session: object, pending: Pending, responses: _Responses) -> Any:
        """The answer is right: end its session; the user, for what follows."""
        user = user_of(pool, pending.sign_in.login)
        # Cognito reads the device from the last answer: an MFA code sent without
        # DEVICE_KEY gets a new device (amplify-android#3289).
        device_key = self._device_key(pool, user, responses.get("DEVICE_KEY"))
        self.sessions.close(session)
        pending.sign_in.device_key = device_key
        if pending.planned:
            pending.sign_in.planned.pop(0)
        return user

    async def _answer_code(
        self, pool: Any, client: Any, session: object, pending: Pending, responses: _Responses
    ) -> Answer:
        key = _CODE_KEYS[pending.challenge]
        given = responses.get(key)
        if not isinstance(given, str) or not given:
            raise Refused("InvalidParameterException", f"{key} is required.")
        if not _code_matches(pending, given):
            mismatch = "Invalid code received for user"
            self.sessions.wrong_code(session, pending, "CodeMismatchException", mismatch)
        user = self._accept(pool, session, pending, responses)
        if pending.setup_email is not None:
            set_user_attributes(user, {"email": pending.setup_email, "email_verified": "true"})
            self.enrolments.enrol_email(owner_of(pool, user))
        return await self._next(pool, client, pending.sign_in)

    async def _answer_mfa_choice(
        self, pool: Any, client: Any, session: object, pending: Pending, responses: _Responses
    ) -> Answer:
        choice = responses.get("ANSWER")
        if choice not in pending.choices:
            raise Refused("InvalidParameterException", "ANSWER is not one of MFAS_CAN_CHOOSE.")
        user = self._accept(pool, session, pending, responses)
        if pending.planned:
            pending.sign_in.planned.insert(0, str(choice))
            return await self._next(pool, client, pending.sign_in)
        return self._issue_mfa_challenge(pool, user, pending.sign_in, str(choice))

    async def _answer_first_factor(
        self, pool: Any, client: Any, session: object, pending: Pending, responses: _Responses
    ) -> Answer:
        factor = chosen_factor(responses, pending.choices)
        user = self._accept(pool, session, pending, responses)
        return await self._first_factor(pool, client, user, factor, responses, pending.sign_in)

    async def _answer_new_password(
        self, pool: Any, client: Any, session: object, pending: Pending, responses: _Responses
    ) -> Answer:
        new_password = responses.get("NEW_PASSWORD")
        missing = [a for a in pending.choices if f"userAttributes.{a}" not in responses]
        if not new_password or missing:
            raise Refused("InvalidParameterException", f"Missing: {missing or 'NEW_PASSWORD'}")
        self._accept(pool, session, pending, responses)
        attributes = {
            key.removeprefix("userAttributes."): str(value)
            for key, value in responses.items()
            if key.startswith("userAttributes.")
        }
        set_user_password(pool, pending.sign_in.login, str(new_password), attributes)
        return await self._next(pool, client, pending.sign_in)

    async def _answer_mfa_setup(
        self, pool: Any, client: Any, session: object, pending: Pending, responses: _Responses
    ) -> Answer:
        """MFA_SETUP: an EMAIL to set up, or a software token VerifySoftwareToken accepted."""
        email = responses.get("EMAIL")
        if email is not None:
            if "EMAIL_OTP" not in pending.choices or "@" not in str(email):
                raise Refused("InvalidParameterException", "EMAIL cannot be set up for MFA.")
            user = self._accept(pool, session, pending, responses)
            setup = Pending(
                pending.sign_in, "EMAIL_OTP", code=self.mfa_code, setup_email=str(email)
            )
            return self._issue_code(user, setup)
        if not pending.totp_verified or pending.totp_secret is None:
            raise Refused("InvalidParameterException", "Verify a software token first.")
        user = self._accept(pool, session, pending, responses)
        self.enrolments.enrol_totp(owner_of(pool, user), pending.totp_secret)
        return await self._next(pool, client, pending.sign_in)

    async def _answer_custom(
        self, pool: Any, client: Any, session: object, pending: Pending, responses: _Responses
    ) -> Answer:
        """A round's ANSWER; a wrong one fails the sign-in, as the Verify Lambda would."""
        answer = responses.get("ANSWER")
        if not isinstance(answer, str):
            raise Refused("InvalidParameterException", "ANSWER is required.")
        self._accept(pool, session, pending, responses)
        sign_in = pending.sign_in
        expected = sign_in.rounds[sign_in.round].answer
        if not hmac.compare_digest(answer.encode(), expected.encode()):
            raise Refused("NotAuthorizedException", _WRONG)
        sign_in.round += 1
        return await self._next(pool, client, sign_in)

    async def _answer_anything(
        self, pool: Any, client: Any, session: object, pending: Pending, responses: _Responses
    ) -> Answer:
        """A planned challenge the front has no rule for: any answer will do."""
        self._accept(pool, session, pending, responses)
        return await self._next(pool, client, pending.sign_in)

    # -- devices and tokens ----------------------------------------------------------

    def _device_key(self, pool: Any, user: Any, key: object) -> str | None:
        """A sign-in's DEVICE_KEY: one of the user's devices, else "Device does not exist."."""
        if not key or not tracks_devices(pool):
            return None
        self._devices.device(owner_of(pool, user), str(key))
        return str(key)

    def _remembered(self, pool: Any, user: Any, device_key: str | None) -> str | None:
        """The sign-in's device, if it is to sign in with device SRP (and skip MFA)."""
        if device_key is None or not challenges_remembered_devices(pool):
            return None
        device = self._devices.device(owner_of(pool, user), device_key)
        return device.key if device.confirmed and device.remembered else None

    async def _after_challenges(self, pool: Any, client: Any, sign_in: SignIn, user: Any) -> Answer:
        """The user's factors are proven: a remembered device proves itself, then tokens."""
        device = self._remembered(pool, user, sign_in.device_key)
        if device is None:
            return await self._signed_in(pool, client, sign_in.login, user, sign_in.device_key)
        owner = owner_of(pool, user)
        return self._device_srp.issue(
            DeviceSignIn(client.id, sign_in.login, sign_in.canonical, owner, device, 0.0)
        )

    async def _signed_in(
        self, pool: Any, client: Any, login: str, user: Any, device_key: str | None
    ) -> Answer:
        """moto's tokens, bound to the sign-in's confirmed device or to a new one."""
        answer = await self._moto_tokens(client, login, user.password)
        if not tracks_devices(pool):
            return answer
        result = answer["AuthenticationResult"]
        owner = owner_of(pool, user)
        key, new_device = self._devices.settle(owner, device_key, pool.region)
        self._devices.bind(result["RefreshToken"], owner, key)
        if new_device is not None:
            result["NewDeviceMetadata"] = new_device
        return answer

    async def _moto_tokens(self, client: Any, login: str, password: str) -> Answer:
        answer = await self._upstream().user_pool(
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client.id,
                "AuthParameters": {
                    "USERNAME": login,
                    "PASSWORD": password,
                    **moto_secret_hash(client, login),
                },
            },
        )
        if "AuthenticationResult" not in answer:
            # moto asks for MFA a user set up through its own APIs: not modelled here.
            raise Refused("InternalErrorException", "moto answered with a challenge.", 500)
        return answer


def _check_password(user: Any, given: object) -> None:
    if not isinstance(given, str) or not hmac.compare_digest(
        given.encode(), user.password.encode()
    ):
        raise Refused("NotAuthorizedException", _WRONG)


def _code_matches(pending: Pending, given: str) -> bool:
    """A delivered or planned code, else a TOTP code of the user's secret."""
    if pending.code is not None:
        return hmac.compare_digest(given.encode(), pending.code.encode())
    return pending.totp_secret is not None and totp_matches(pending.totp_secret, given)


def _json_list(items: Sequence[str]) -> str:
    """A list as Cognito writes one in ChallengeParameters: ``["SMS_MFA","EMAIL_OTP"]``."""
    return json.dumps(list(items), separators=(",", ":"))
