"""Challenge sessions: the Session strings the front hands out between the steps of a sign-in.

Each session is at one challenge, belongs to one app client, lives
``session_ttl`` seconds and answers once, except that a wrong code leaves it
open for ``code_attempts`` more tries, as Cognito's do. A test may also plan
the challenges of the next password sign-in (:class:`Plan`,
``StrictFront.plan_challenges``); they replace the pool's MFA for it.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import NoReturn

import attrs

from ._custom_auth import CustomRound
from ._wire import Refused

__all__ = [
    "DEFAULT_CODE_ATTEMPTS",
    "DEFAULT_SESSION_TTL",
    "ChallengeSessions",
    "Pending",
    "Plan",
    "SignIn",
]

#: Cognito's challenge sessions last three minutes, and take three wrong codes.
DEFAULT_SESSION_TTL = 180.0
DEFAULT_CODE_ATTEMPTS = 3
_INVALID = "Invalid session for the user."
_EXPIRED = "Invalid session for the user, session is expired."


@attrs.define
class Plan:
    """The challenges the next password sign-in answers, and what they accept.

    ``session_ttl``: None for the front's ``session_ttl``.
    """

    names: list[str]
    code: str
    required_attributes: tuple[str, ...]
    session_ttl: float | None


@attrs.define(eq=False)
class SignIn:
    """One sign-in, from its first factor to its tokens, kept across its sessions.

    Attributes:
        factor: ``"password"`` (then MFA), ``"custom"`` or ``"passwordless"`` (no MFA).
        device_key: The DEVICE_KEY the last step sent (Cognito binds the tokens to it).
        planned: Planned challenges still to issue (the plan replaces the pool's MFA).
        mfa_decided: The pool's MFA was decided for this sign-in (once).
        rounds: The custom challenges the pool's script asks, and ``round`` the next.
    """

    client_id: str
    login: str
    canonical: str
    device_key: str | None
    factor: str = "password"
    plan: Plan | None = None
    planned: list[str] = attrs.Factory(list)
    mfa_decided: bool = False
    rounds: tuple[CustomRound, ...] = ()
    round: int = 0


@attrs.define(eq=False)
class Pending:
    """A challenge session: its sign-in, the challenge it is at, and what answers it.

    Attributes:
        code: The code that answers it (delivered codes, planned MFA).
        totp_secret: The secret a SOFTWARE_TOKEN_MFA code or a setup is checked with.
        totp_verified: MFA_SETUP: VerifySoftwareToken accepted a code from ``totp_secret``.
        choices: SELECT_MFA_TYPE, SELECT_CHALLENGE and MFA_SETUP: what may be chosen;
            NEW_PASSWORD_REQUIRED: the attributes it requires.
        setup_email: EMAIL_OTP during MFA setup: the address being set up.
        planned: Issued from a test's plan.
    """

    sign_in: SignIn
    challenge: str
    code: str | None = attrs.field(default=None, repr=False)
    totp_secret: str | None = attrs.field(default=None, repr=False)
    totp_verified: bool = False
    choices: tuple[str, ...] = ()
    setup_email: str | None = None
    planned: bool = False
    expires_at: float = 0.0
    attempts_left: int = 0


class ChallengeSessions:
    """The planned challenges, and the challenge sessions under way by their Session.

    Attributes:
        session_ttl: Seconds each new session lives.
        code_attempts: Wrong codes each new session takes before it ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan: Plan | None = None
        self._sessions: dict[str, Pending] = {}
        self.session_ttl = DEFAULT_SESSION_TTL
        self.code_attempts = DEFAULT_CODE_ATTEMPTS

    def plan(self, plan: Plan) -> None:
        """Make the next password sign-in answer ``plan``'s challenges."""
        with self._lock:
            self._plan = plan

    def take_plan(self) -> Plan | None:
        """The plan for this sign-in (the next one has none unless planned again)."""
        with self._lock:
            plan, self._plan = self._plan, None
        return plan

    def open(self, pending: Pending, ttl: float | None = None) -> str:
        """A new session at ``pending``'s challenge, for ``ttl`` seconds (None: session_ttl)."""
        session = str(uuid.uuid4())
        pending.expires_at = time.monotonic() + (self.session_ttl if ttl is None else ttl)
        pending.attempts_left = self.code_attempts
        with self._lock:
            self._sessions[session] = pending
        return session

    def live(self, session: object, client_id: str | None) -> Pending:
        """The session's challenge; refused if unknown, another client's or expired (then gone).

        ``client_id``: None where the call names no client (AssociateSoftwareToken...).
        """
        with self._lock:
            pending = self._sessions.get(session) if isinstance(session, str) else None
            if pending is None or client_id not in (None, pending.sign_in.client_id):
                raise Refused("NotAuthorizedException", _INVALID)
            if time.monotonic() > pending.expires_at:
                del self._sessions[str(session)]
                raise Refused("NotAuthorizedException", _EXPIRED)
        return pending

    def close(self, session: object) -> None:
        """End an answered session (a session answers once: a second answer is refused)."""
        with self._lock:
            if not isinstance(session, str) or self._sessions.pop(session, None) is None:
                raise Refused("NotAuthorizedException", _INVALID)

    def wrong_code(self, session: object, pending: Pending, name: str, message: str) -> NoReturn:
        """Refuse a wrong code: the session stays open while attempts are left, else ends."""
        with self._lock:
            if pending.attempts_left > 0:
                pending.attempts_left -= 1
                raise Refused(name, message)
            self._sessions.pop(str(session), None)
        raise Refused("NotAuthorizedException", _INVALID)
