"""A pending sign-in as an opaque state: sealed here, opened by any manager of the app client.

A web backend that asks for the code in one request and receives it in
another (or a CLI run after another) cannot keep the manager object that
started the sign-in. ``SignInNextStep.state`` carries what the next answer
needs: Cognito's challenge session, the username, the flow and the step;
never the password, the device's password or the TOTP secret.

It is sealed with Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``):
Cognito's challenge session is a bearer secret for the sign-in, so the state
is encrypted as well as signed. The key is derived (HKDF) from
``AuthConfig.sign_in_state_key``, or from a random key of this process when
none is configured. A state is refused when it was altered or sealed with
another key, when it was made for another user pool or app client, and when
it is older than Cognito's challenge session lifetime (3 minutes).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._cognito import Challenge
from ._config import AuthConfig
from ._errors import InvalidParameterException, NotAuthorizedException
from ._sign_in import PendingChallenge

__all__ = ["STATE_LIFETIME", "SignInStates"]

#: Cognito's challenge sessions last 3 minutes; a state cannot outlive its session.
STATE_LIFETIME = 180.0
_VERSION = 1
_INFO = b"amplify-session sign-in state v1"
# Used when no key is configured: states resume in this process only.
_PROCESS_KEY = secrets.token_urlsafe(32)
# A state is a few kilobytes (Cognito's sessions are about one); a custom challenge's
# parameters may add more. Past this, no state is made (seal) or read (open).
_LONGEST_STATE = 1024 * 1024


class SignInStates:
    """Seals pending sign-ins into states, and opens states into pending sign-ins."""

    def __init__(self, config: AuthConfig, clock: Callable[[], float] = time.time) -> None:
        self._fernet = Fernet(_fernet_key(config.sign_in_state_key or _PROCESS_KEY))
        self._configured = config.sign_in_state_key is not None
        self._audience = {"pool": config.user_pool_id, "client": config.user_pool_client_id}
        self._clock = clock

    def __repr__(self) -> str:
        return f"SignInStates(configured_key={self._configured})"

    def seal(self, pending: PendingChallenge) -> str | None:
        """The pending sign-in as an opaque string (no password, device or TOTP secret);
        None when it would be too large to be read back (absurd challenge parameters)."""
        challenge = pending.challenge
        payload = {
            "v": _VERSION,
            **self._audience,
            "username": pending.username,
            "login_id": pending.login_id,
            "flow": pending.auth_flow,
            "step": pending.step,
            "factor": pending.chosen_factor,
            "challenge": challenge.name,
            "session": challenge.session,
            "parameters": dict(challenge.parameters),
            "available": list(challenge.available_challenges),
        }
        data = json.dumps(payload, separators=(",", ":")).encode()
        state = self._fernet.encrypt_at_time(data, int(self._clock())).decode("ascii")
        return state if len(state) <= _LONGEST_STATE else None

    def open(self, state: object) -> PendingChallenge:
        """The pending sign-in a state holds.

        Raises:
            InvalidParameterException: Not a state, altered, sealed with another
                key, or made for another user pool or app client.
            NotAuthorizedException: Older than Cognito's challenge session; sign in again.
        """
        if not isinstance(state, str) or not state or len(state) > _LONGEST_STATE:
            raise InvalidParameterException(
                "state must be the string next_step.state gave (at most 1 MiB)"
            )
        token = state.encode("ascii", errors="replace")
        try:
            sealed_at = self._fernet.extract_timestamp(token)
            payload = json.loads(self._fernet.decrypt(token))
        except (InvalidToken, ValueError):
            raise self._refused() from None
        if not isinstance(payload, dict) or payload.get("v") != _VERSION:
            raise self._refused()
        if any(payload.get(k) != v for k, v in self._audience.items()):
            raise InvalidParameterException(
                "the sign-in state was made for another user pool or app client"
            )
        # Judged by the wall clock, as Cognito judges its sessions; a state from
        # the future (a clock stepped back) is left for Cognito to judge.
        if self._clock() - sealed_at > STATE_LIFETIME:
            raise NotAuthorizedException(
                "the sign-in state expired (Cognito's challenge sessions last 3 minutes)",
                recovery_suggestion="Call sign_in() again.",
            )
        return _pending_from(payload)

    def _refused(self) -> InvalidParameterException:
        hint = (
            "Give every process that resumes sign-ins the same AuthConfig.sign_in_state_key."
            if not self._configured
            else "Check that every process has the same AuthConfig.sign_in_state_key."
        )
        return InvalidParameterException(
            "the sign-in state was altered, or sealed with another key", recovery_suggestion=hint
        )


def _fernet_key(secret: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


def _pending_from(payload: dict[str, Any]) -> PendingChallenge:
    """Rebuild the pending sign-in; a payload of the wrong shape counts as altered."""
    try:
        challenge = Challenge(
            name=_text(payload["challenge"]),
            session=None if payload["session"] is None else _text(payload["session"]),
            parameters={_text(k): _text(v) for k, v in dict(payload["parameters"]).items()},
            available_challenges=tuple(_text(v) for v in payload["available"]),
        )
        factor = payload["factor"]
        return PendingChallenge(
            challenge=challenge,
            step=_text(payload["step"]),
            username=_text(payload["username"]),
            login_id=_text(payload["login_id"]),
            auth_flow=_text(payload["flow"]),
            chosen_factor=None if factor is None else _text(factor),
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidParameterException(
            "the sign-in state was altered, or sealed with another key"
        ) from None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value
