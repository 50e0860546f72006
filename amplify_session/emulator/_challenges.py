"""Challenges after the first factor: planned by a test, issued and answered as Cognito does.

moto answers no challenge; :meth:`StrictFront.plan_challenges` makes the
next sign-in answer SMS_MFA, SOFTWARE_TOKEN_MFA, SELECT_MFA_TYPE or
NEW_PASSWORD_REQUIRED (in any order) once the password is proven. A pool
with MfaConfiguration "ON" gets an SMS_MFA plan of its own when none was
planned (``_operations.py``); each session keeps the sign-in's DEVICE_KEY
for the tokens at its end.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from ._moto_backend import set_user_password
from ._wire import Refused

__all__ = ["ChallengeSessions", "Plan"]

_MFA_PARAMETERS = {
    "SMS_MFA": {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******0100",
    },
    "SOFTWARE_TOKEN_MFA": {},
    "SELECT_MFA_TYPE": {"MFAS_CAN_CHOOSE": '["SMS_MFA","SOFTWARE_TOKEN_MFA"]'},
}
_CODE_KEYS = {"SMS_MFA": "SMS_MFA_CODE", "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE"}


@attrs.define
class Plan:
    """The challenges the next sign-in answers, and what they accept."""

    names: list[str]
    code: str
    required_attributes: tuple[str, ...]
    session_ttl: float


@attrs.define
class ChallengeState:
    """A sign-in part-way through its challenges (with the DEVICE_KEY it sent, if any)."""

    login: str
    canonical: str
    remaining: list[str]
    expires_at: float
    plan: Plan
    device_key: str | None = None


class ChallengeSessions:
    """The planned challenges, and the challenge sessions under way by their Session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan: Plan | None = None
        self._sessions: dict[str, ChallengeState] = {}

    def plan(self, plan: Plan) -> None:
        """Make the next sign-in answer ``plan``'s challenges."""
        with self._lock:
            self._plan = plan

    def take_plan(self) -> Plan | None:
        """The plan for this sign-in (the next one has none unless planned again)."""
        with self._lock:
            plan, self._plan = self._plan, None
        return plan

    def issue(
        self,
        login: str,
        canonical: str,
        names: list[str],
        plan: Plan,
        device_key: str | None = None,
    ) -> dict[str, Any]:
        """Open a challenge session; the answer asking for ``names[0]``."""
        session = str(uuid.uuid4())
        name = names[0]
        with self._lock:
            self._sessions[session] = ChallengeState(
                login, canonical, list(names), time.monotonic() + plan.session_ttl, plan, device_key
            )
        parameters: dict[str, str] = {"USERNAME": canonical, **_MFA_PARAMETERS.get(name, {})}
        if name == "NEW_PASSWORD_REQUIRED":
            parameters["requiredAttributes"] = json.dumps(
                [f"userAttributes.{a}" for a in plan.required_attributes]
            )
            parameters["userAttributes"] = "{}"
        return {"ChallengeName": name, "Session": session, "ChallengeParameters": parameters}

    def find(self, session: str) -> ChallengeState | None:
        """The challenge session ``session``, if the front opened it."""
        with self._lock:
            return self._sessions.get(session)

    def answer(
        self,
        pool: Any,
        session: str,
        state: ChallengeState,
        name: object,
        responses: Mapping[str, str],
    ) -> list[str]:
        """Check the answer to the current challenge and close the session.

        Returns the challenges still to answer (none: the user is signed in).
        """
        if time.monotonic() > state.expires_at:
            raise Refused(
                "NotAuthorizedException", "Invalid session for the user, session is expired."
            )
        if responses.get("USERNAME") != state.canonical or name != state.remaining[0]:
            raise Refused("InvalidParameterException", "Challenge does not match the session.")
        plan = state.plan
        current, remaining = state.remaining[0], state.remaining[1:]
        if current in _CODE_KEYS and responses.get(_CODE_KEYS[current]) != plan.code:
            raise Refused("CodeMismatchException", "Invalid code received for user")
        if current == "SELECT_MFA_TYPE":
            choice = responses.get("ANSWER", "")
            if choice not in _CODE_KEYS:
                raise Refused("InvalidParameterException", "Unknown MFA type.")
            remaining = [choice, *remaining]
        if current == "NEW_PASSWORD_REQUIRED":
            _set_new_password(pool, state, responses, plan)
        with self._lock:
            del self._sessions[session]
        return remaining


def _set_new_password(
    pool: Any, state: ChallengeState, responses: Mapping[str, str], plan: Plan
) -> None:
    new_password = responses.get("NEW_PASSWORD", "")
    missing = [a for a in plan.required_attributes if f"userAttributes.{a}" not in responses]
    if not new_password or missing:
        raise Refused("InvalidParameterException", f"Missing: {missing or 'NEW_PASSWORD'}")
    attributes = {
        key.removeprefix("userAttributes."): value
        for key, value in responses.items()
        if key.startswith("userAttributes.")
    }
    set_user_password(pool, state.login, new_password, attributes)
