"""The model of ``tests/integration/test_sign_in_model.py``: what the strict front and the
library do with every sign-in, step answer and state, computed without them.

It mirrors the front's rules (``amplify_session/emulator/_sign_in.py``): challenge
sessions that answer once, wrong codes that spend attempts, sessions that expire,
custom rounds, temporary passwords, MFA and its setup; and the library's
(``_sign_in*.py``): arguments refused before any call, local steps (choosing a
password factor, choosing EMAIL setup), the pending step a manager holds, states
that another manager of the same key, pool and client may answer. Every
prediction is an :class:`Expected`: the AuthError's name, the calls the front
sees, the codes it delivers and the step that follows.
"""

from __future__ import annotations

import time
from typing import Literal

import attrs
import pyotp

from amplify_session.emulator import CustomRound, EmulatedPool

__all__ = [
    "DONE",
    "SHORT_TTL",
    "Expected",
    "Manager",
    "Model",
    "Pool",
    "Session",
    "State",
    "Step",
    "User",
    "wrong_totp",
]

#: Seconds a "short" challenge session lives (the front's session_ttl during the call).
SHORT_TTL = 0.6
#: Seconds past a short session's deadline before it is answered, so it has surely expired.
EXPIRY_MARGIN = 0.1
DONE = "DONE"
Kind = Literal["choice", "custom", "mfa"]

# Amplify's step names.
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

FLOWS = (
    "USER_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "CUSTOM_WITH_SRP",
    "CUSTOM_WITHOUT_SRP",
    "USER_AUTH",
)
FACTORS = ("PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN")
_COGNITO_FLOW = {
    "USER_SRP_AUTH": "USER_SRP_AUTH",
    "USER_PASSWORD_AUTH": "USER_PASSWORD_AUTH",
    "CUSTOM_WITH_SRP": "CUSTOM_AUTH",
    "CUSTOM_WITHOUT_SRP": "CUSTOM_AUTH",
    "USER_AUTH": "USER_AUTH",
}
_CODE_STEPS = {"EMAIL_OTP": EMAIL_CODE, "SMS_OTP": SMS_CODE, "SOFTWARE_TOKEN_MFA": TOTP_CODE}
_AMPLIFY_MFA = {"SOFTWARE_TOKEN_MFA": "TOTP", "EMAIL_OTP": "EMAIL", "SMS_MFA": "SMS"}
_INVALID = "InvalidParameterException"
_REFUSED = "NotAuthorizedException"


@attrs.define(eq=False)
class User:
    """A user as the front keeps it: password, and the MFA set up at sign-in."""

    name: str
    password: str
    email: str
    phone: str | None = None
    temporary: bool = False
    totp_secret: str | None = attrs.field(default=None, repr=False)
    email_mfa: bool = False

    def mfa_set_up(self) -> set[str]:
        types = {"SOFTWARE_TOKEN_MFA"} if self.totp_secret is not None else set()
        return types | ({"EMAIL_OTP"} if self.email_mfa else set())


@attrs.define(eq=False)
class Pool:
    """A provisioned pool of one kind, its users, and what its client allows."""

    kind: Kind
    emulated: EmulatedPool
    users: dict[str, User]
    first_factors: tuple[str, ...] = ()
    rounds: tuple[CustomRound, ...] = ()
    mfa_types: tuple[str, ...] = ()  # enabled, in Cognito's order; MFA required when any

    def allows(self, flow: str) -> bool:
        if flow == "USER_AUTH":
            return self.kind == "choice"
        if flow.startswith("CUSTOM"):
            return self.kind == "custom"
        return True

    def factors_of(self, user: User) -> tuple[str, ...]:
        """The user's first factors, as AvailableChallenges lists them."""
        factors = ["PASSWORD_SRP", "PASSWORD"] if "PASSWORD" in self.first_factors else []
        if "EMAIL_OTP" in self.first_factors:
            factors.append("EMAIL_OTP")
        if "SMS_OTP" in self.first_factors and user.phone:
            factors.append("SMS_OTP")
        return tuple(factors)


@attrs.define(eq=False)
class Progress:
    """One sign-in at the front, across its sessions (the front's ``SignIn``)."""

    pool: Pool
    user: User
    flow: str
    factor: str = "password"  # "password", "custom" or "passwordless"
    rounds: tuple[CustomRound, ...] = ()
    round: int = 0
    mfa_decided: bool = False


@attrs.define(eq=False)
class Session:
    """A challenge session at the front: its challenge, and what answers it."""

    progress: Progress
    challenge: str
    attempts: int
    short: bool  # opened while the front's session_ttl was SHORT_TTL
    #: Monotonic; stamped when the call that opened a short session returns.
    deadline: float = 0.0
    code: str | None = attrs.field(default=None, repr=False)
    totp_secret: str | None = attrs.field(default=None, repr=False)
    choices: tuple[str, ...] = ()
    setup_email: str | None = None
    destination: str | None = None
    round: int = 0  # CUSTOM_CHALLENGE: which round it asks
    live: bool = True


@attrs.frozen
class Step:
    """A step a manager holds (or a state carries): its name, the session, a chosen factor."""

    name: str
    session: Session
    factor: str | None = None  # PASSWORD: the chosen PASSWORD or PASSWORD_SRP


@attrs.frozen
class State:
    """A ``next_step.state`` the library handed out, and what it was sealed for."""

    text: str = attrs.field(repr=False)
    step: Step
    pool: Pool
    key: str


@attrs.define(eq=False)
class Manager:
    """One manager ("process"): its pool, its state key, who is signed in, the step it holds."""

    index: int
    pool: Pool
    key: str
    signed_in_as: User | None = None
    pending: Step | None = None
    #: The state of the step it last reported, to hand to another manager.
    last_state: State | None = None


@attrs.define
class Expected:
    """What a public call should do."""

    error: str | None = None
    calls: list[str] = attrs.Factory(list)
    codes: list[str] = attrs.Factory(list)  # challenges a code was delivered for
    step: Step | None = None  # the step reported (DONE: signed in)
    done: bool = False
    #: Whether the call may carry a password (PASSWORD or SRP_A).
    password_allowed: bool = False
    #: The call waits until then (monotonic), so the short sessions it uses have expired.
    wait_until: float = 0.0
    #: The sessions the call opens (short ones get their deadline when it returns).
    opened: list[Session] = attrs.Factory(list)
    signed_in_as: User | None = None


class _Refusal(Exception):
    """The front (or the library) refuses: the call ends with this error name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Model:
    """The pools, users, challenge sessions and managers, as they should be."""

    def __init__(self, *, code: str, code_attempts: int) -> None:
        self.code = code
        self.code_attempts = code_attempts
        self.pools: list[Pool] = []
        self.managers: list[Manager] = []
        self.states: list[State] = []
        #: Whether sessions opened now are short (the front's session_ttl is SHORT_TTL).
        self.short = False
        self._exp = Expected()

    # -- the library's refusals, before any call -------------------------------------

    @staticmethod
    def refused_arguments(flow: str, factor: str | None, password: str | None) -> str | None:
        """The error ``sign_in`` raises before sending anything, if any (``check_flow``)."""
        if flow not in FLOWS:
            return _INVALID
        if factor is not None:
            if flow != "USER_AUTH" or factor not in FACTORS:
                return _INVALID
            if factor == "WEB_AUTHN":
                return "SignInException"
        needs = (
            factor in ("PASSWORD", "PASSWORD_SRP")
            if flow == "USER_AUTH"
            else (flow != "CUSTOM_WITHOUT_SRP")
        )
        if needs != (password is not None):
            return _INVALID
        return None

    # -- public calls ----------------------------------------------------------------------

    def sign_in(
        self, manager: Manager, user: User, flow: str, factor: str | None, password: str | None
    ) -> Expected:
        self._exp = exp = Expected()
        refused = self.refused_arguments(flow, factor, password)
        if refused is None and manager.signed_in_as is not None:
            refused = "UserAlreadyAuthenticatedException"
        if refused is not None:
            exp.error = refused
            return exp
        manager.pending = None
        exp.password_allowed = password is not None
        try:
            self._settle(manager, self._start(manager.pool, user, flow, factor, password), user)
        except _Refusal as refusal:
            exp.error = refusal.name
        return exp

    def answer(
        self, manager: Manager, response: str, state: State | None, tampered: bool
    ) -> Expected:
        """confirm_sign_in(response, state=...) on ``manager``."""
        self._exp = exp = Expected()
        try:
            if not response:
                raise _Refusal(_INVALID)
            if state is not None:
                self._open(manager, state, tampered)
            step = manager.pending
            if step is None:
                raise _Refusal(_INVALID)
            exp.password_allowed = step.name == PASSWORD
            try:
                outcome = self._answer(step, response)
            except _Refusal as refusal:
                # A wrong code, or an answer the step cannot take, leaves it open;
                # anything else ends the challenge session.
                if refusal.name not in ("CodeMismatchException", _INVALID):
                    manager.pending = None
                raise
            self._settle(manager, outcome, step.session.progress.user)
        except _Refusal as refusal:
            exp.error = refusal.name
        return exp

    def sign_out(self, manager: Manager) -> Expected:
        exp = Expected(calls=["RevokeToken"] if manager.signed_in_as else [])
        manager.signed_in_as = None
        manager.pending = None
        return exp

    def refresh(self, manager: Manager) -> Expected:
        if manager.signed_in_as is None:
            return Expected()
        return Expected(calls=["InitiateAuth(REFRESH_TOKEN_AUTH)"])

    def record(self, manager: Manager, text: str | None) -> None:
        """The state the reported step carried (None: none, i.e. signed in)."""
        if text is None or manager.pending is None:
            manager.last_state = None
            return
        state = State(text, manager.pending, manager.pool, manager.key)
        self.states.append(state)
        manager.last_state = state

    # -- the front and the library, step by step -----------------------------------------

    def _call(self, name: str) -> None:
        self._exp.calls.append(name)

    def _start(
        self, pool: Pool, user: User, flow: str, factor: str | None, password: str | None
    ) -> Step | None:
        self._call(f"InitiateAuth({_COGNITO_FLOW[flow]})")
        if not pool.allows(flow):
            raise _Refusal(_REFUSED)
        progress = Progress(pool, user, flow)
        if flow == "USER_PASSWORD_AUTH":
            return self._after_password(progress, password)
        if flow in ("USER_SRP_AUTH", "CUSTOM_WITH_SRP"):
            if flow == "CUSTOM_WITH_SRP":
                progress.factor, progress.rounds = "custom", pool.rounds
            return self._password_verifier(progress, password)
        if flow == "CUSTOM_WITHOUT_SRP":
            progress.factor, progress.rounds = "custom", pool.rounds
            return self._next(progress)
        available = pool.factors_of(user)
        if factor in available:
            return self._first_factor(progress, factor, password)
        return self._issue(progress, "SELECT_CHALLENGE", choices=available)

    def _password_verifier(self, progress: Progress, password: str | None) -> Step | None:
        self._call("RespondToAuthChallenge(PASSWORD_VERIFIER)")
        if password != progress.user.password:
            raise _Refusal(_REFUSED)
        if progress.factor == "custom":
            return self._next(progress)
        return self._after_password(progress, password)

    def _after_password(self, progress: Progress, password: str | None) -> Step | None:
        if password != progress.user.password:
            raise _Refusal(_REFUSED)
        return self._next(progress)

    def _first_factor(self, progress: Progress, factor: str, password: str | None) -> Step | None:
        if factor == "PASSWORD":
            return self._after_password(progress, password)
        if factor == "PASSWORD_SRP":
            return self._password_verifier(progress, password)
        progress.factor = "passwordless"
        return self._issue_code(progress, factor)

    def _next(self, progress: Progress) -> Step | None:
        """The front's next challenge for the sign-in (as the library reports it), or None."""
        user, pool = progress.user, progress.pool
        if progress.round < len(progress.rounds):
            return self._issue(progress, "CUSTOM_CHALLENGE")
        if user.temporary:
            return self._issue(progress, "NEW_PASSWORD_REQUIRED")
        if progress.factor == "password" and not progress.mfa_decided and pool.mfa_types:
            progress.mfa_decided = True
            usable = tuple(t for t in pool.mfa_types if t in user.mfa_set_up())
            if len(usable) > 1:
                return self._issue(progress, "SELECT_MFA_TYPE", choices=usable)
            if usable == ("SOFTWARE_TOKEN_MFA",):
                return self._issue(progress, "SOFTWARE_TOKEN_MFA", totp_secret=user.totp_secret)
            if usable == ("EMAIL_OTP",):
                return self._issue_code(progress, "EMAIL_OTP")
            return self._mfa_setup(progress)
        return None

    def _mfa_setup(self, progress: Progress) -> Step:
        """MFA_SETUP, and what the library makes of it (TOTP alone: associated at once)."""
        offered = progress.pool.mfa_types
        step = self._issue(progress, "MFA_SETUP", choices=offered)
        if len(offered) > 1:
            return attrs.evolve(step, name=MFA_SETUP_SELECTION)
        if offered == ("EMAIL_OTP",):
            return attrs.evolve(step, name=EMAIL_SETUP)
        return self._associate(step.session)

    def _associate(self, session: Session) -> Step:
        """AssociateSoftwareToken: the MFA_SETUP session ends; a new one holds the secret
        (the test reads it from the step reported)."""
        self._call("AssociateSoftwareToken")
        self._use(session)
        return self._issue(session.progress, "MFA_SETUP", choices=session.choices)

    def _issue(
        self,
        progress: Progress,
        challenge: str,
        *,
        choices: tuple[str, ...] = (),
        code: str | None = None,
        totp_secret: str | None = None,
        setup_email: str | None = None,
        destination: str | None = None,
    ) -> Step:
        session = Session(
            progress,
            challenge,
            self.code_attempts,
            self.short,
            code=code,
            totp_secret=totp_secret,
            choices=choices,
            setup_email=setup_email,
            destination=destination,
            round=progress.round,
        )
        self._exp.opened.append(session)
        return Step(_step_name(session), session)

    def _issue_code(
        self, progress: Progress, challenge: str, setup_email: str | None = None
    ) -> Step:
        """A delivered code: to the email being set up, the user's email, or phone."""
        self._exp.codes.append(challenge)
        user = progress.user
        address = setup_email or (user.phone if challenge == "SMS_OTP" else user.email)
        return self._issue(
            progress,
            challenge,
            code=self.code,
            setup_email=setup_email,
            destination=address,
        )

    def _use(self, session: Session) -> None:
        """A call reaches the front with ``session``: refused unless live (expired ones after
        waiting until they surely are)."""
        if session.short and session not in self._exp.opened:
            self._exp.wait_until = max(self._exp.wait_until, session.deadline + EXPIRY_MARGIN)
            session.live = False
            raise _Refusal(_REFUSED)
        if not session.live:
            raise _Refusal(_REFUSED)

    @staticmethod
    def _consume(session: Session) -> None:
        session.live = False

    def stamp(self, exp: Expected) -> None:
        """The call returned: the short sessions it opened expire SHORT_TTL from now at most."""
        for session in exp.opened:
            if session.short:
                session.deadline = time.monotonic() + SHORT_TTL

    def _open(self, manager: Manager, state: State, tampered: bool) -> None:
        if tampered or state.key != manager.key or state.pool is not manager.pool:
            raise _Refusal(_INVALID)
        if manager.signed_in_as is not None:
            raise _Refusal("UserAlreadyAuthenticatedException")
        manager.pending = state.step

    def _answer(self, step: Step, response: str) -> Step | None:
        session = step.session
        if step.name == FIRST_FACTOR_SELECTION:
            # WEB_AUTHN too: the step stays open for another choice.
            if response not in session.choices:
                raise _Refusal(_INVALID)
            if response in ("PASSWORD", "PASSWORD_SRP"):
                return Step(PASSWORD, session, factor=response)
            return self._respond(
                session, lambda: self._first_factor(session.progress, response, None)
            )
        if step.name == PASSWORD:
            factor = step.factor or "PASSWORD_SRP"
            return self._respond(
                session, lambda: self._first_factor(session.progress, factor, response)
            )
        if step.name in (EMAIL_CODE, SMS_CODE, TOTP_CODE):
            return self._code(session, response)
        if step.name == CUSTOM_CHALLENGE:
            return self._respond(session, lambda: self._custom(session, response))
        if step.name == NEW_PASSWORD:
            return self._respond(session, lambda: self._new_password(session, response))
        if step.name == MFA_SELECTION:
            chosen = _cognito_mfa(response)
            if chosen not in session.choices:
                raise _Refusal(_INVALID)
            return self._respond(session, lambda: self._mfa_chosen(session, chosen))
        if step.name == MFA_SETUP_SELECTION:
            chosen = _cognito_mfa(response)
            if chosen not in session.choices:
                raise _Refusal(_INVALID)
            if chosen == "EMAIL_OTP":
                return Step(EMAIL_SETUP, session)
            return self._associate(session)
        if step.name == TOTP_SETUP:
            return self._verify_totp(session, response)
        if step.name == EMAIL_SETUP:
            if "@" not in response:
                raise _Refusal(_INVALID)
            return self._respond(session, lambda: self._email_setup(session, response))
        raise AssertionError(f"no model for {step.name}")

    def _respond(self, session: Session, then: object) -> Step | None:
        """RespondToAuthChallenge with the session, which it spends; then what follows."""
        self._call(f"RespondToAuthChallenge({session.challenge})")
        self._use(session)
        self._consume(session)
        return then()  # type: ignore[operator]

    def _code(self, session: Session, code: str) -> Step | None:
        self._call(f"RespondToAuthChallenge({session.challenge})")
        self._use(session)
        if not _code_matches(session, code):
            self._wrong_code(session, "CodeMismatchException")
        self._consume(session)
        if session.setup_email is not None:
            user = session.progress.user
            user.email, user.email_mfa = session.setup_email, True
        return self._next(session.progress)

    def _wrong_code(self, session: Session, name: str) -> None:
        if session.attempts > 0:
            session.attempts -= 1
            raise _Refusal(name)
        session.live = False
        raise _Refusal(_REFUSED)

    def _custom(self, session: Session, answer: str) -> Step | None:
        progress = session.progress
        if answer != progress.rounds[progress.round].answer:
            raise _Refusal(_REFUSED)
        progress.round += 1
        return self._next(progress)

    def _new_password(self, session: Session, password: str) -> Step | None:
        user = session.progress.user
        user.password, user.temporary = password, False
        return self._next(session.progress)

    def _mfa_chosen(self, session: Session, chosen: str) -> Step:
        progress = session.progress
        if chosen == "SOFTWARE_TOKEN_MFA":
            return self._issue(progress, chosen, totp_secret=progress.user.totp_secret)
        return self._issue_code(progress, chosen)

    def _verify_totp(self, session: Session, code: str) -> Step | None:
        self._call("VerifySoftwareToken")
        self._use(session)
        assert session.totp_secret is not None, "the test records the secret it was shown"
        if not _totp_matches(session.totp_secret, code):
            self._wrong_code(session, "CodeMismatchException")
        self._consume(session)
        self._call("RespondToAuthChallenge(MFA_SETUP)")
        session.progress.user.totp_secret = session.totp_secret
        return self._next(session.progress)

    def _email_setup(self, session: Session, address: str) -> Step:
        return self._issue_code(session.progress, "EMAIL_OTP", setup_email=address)

    def _settle(self, manager: Manager, outcome: Step | None, user: User) -> None:
        exp = self._exp
        if outcome is None:
            manager.pending = None
            manager.signed_in_as = exp.signed_in_as = user
            exp.done = True
            return
        manager.pending = outcome
        exp.step = outcome


def _step_name(session: Session) -> str:
    challenge = session.challenge
    if challenge in _CODE_STEPS:
        return _CODE_STEPS[challenge]
    return {
        "SELECT_CHALLENGE": FIRST_FACTOR_SELECTION,
        "CUSTOM_CHALLENGE": CUSTOM_CHALLENGE,
        "NEW_PASSWORD_REQUIRED": NEW_PASSWORD,
        "SELECT_MFA_TYPE": MFA_SELECTION,
        "MFA_SETUP": TOTP_SETUP,  # the others are renamed where they are issued
    }[challenge]


def _cognito_mfa(answer: str) -> str | None:
    names = {v: k for k, v in _AMPLIFY_MFA.items()}
    if answer in names:
        return names[answer]
    return answer if answer in _AMPLIFY_MFA else None


def allowed_mfa(session: Session) -> tuple[str, ...]:
    """Amplify's names of an MFA (setup) selection's choices."""
    return tuple(_AMPLIFY_MFA[c] for c in session.choices if c in _AMPLIFY_MFA)


def _code_matches(session: Session, code: str) -> bool:
    if session.code is not None:
        return code == session.code
    return session.totp_secret is not None and _totp_matches(session.totp_secret, code)


def _totp_matches(secret: str, code: str) -> bool:
    return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)


def wrong_totp(secret: str | None) -> str:
    """A six-digit code no TOTP check of ``secret`` accepts now."""
    for n in range(10):
        code = f"{n}" * 6
        if secret is None or not _totp_matches(secret, code):
            return code
    raise AssertionError("unreachable")
