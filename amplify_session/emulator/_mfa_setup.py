"""TOTP setup during sign-in: AssociateSoftwareToken and VerifySoftwareToken with a Session.

At MFA_SETUP, AssociateSoftwareToken {Session} hands out a new secret and a
new session; VerifySoftwareToken {Session, UserCode} checks a code of that
secret (pyotp) and hands out the session RespondToAuthChallenge MFA_SETUP
then answers with. A wrong code keeps the session open for its attempts.
Both calls with an AccessToken (a signed-in user) stay moto's.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._challenges import ChallengeSessions
from ._mfa import new_totp_secret, totp_matches
from ._wire import Refused

__all__ = ["associate_software_token", "verify_software_token"]


def associate_software_token(sessions: ChallengeSessions, session: object) -> dict[str, Any]:
    """A new TOTP secret for the MFA_SETUP at ``session``, and the session that follows."""
    pending = sessions.live(session, None)
    if pending.challenge != "MFA_SETUP" or "SOFTWARE_TOKEN_MFA" not in pending.choices:
        raise Refused("InvalidParameterException", "The session cannot set up a software token.")
    sessions.close(session)
    secret = new_totp_secret()
    following = attrs.evolve(pending, totp_secret=secret, totp_verified=False)
    return {"SecretCode": secret, "Session": sessions.open(following)}


def verify_software_token(
    sessions: ChallengeSessions, session: object, code: object
) -> dict[str, Any]:
    """Check a code of the associated secret; SUCCESS and the session for MFA_SETUP."""
    pending = sessions.live(session, None)
    if pending.challenge != "MFA_SETUP" or pending.totp_secret is None:
        raise Refused("InvalidParameterException", "No software token is associated yet.")
    if not isinstance(code, str) or not code:
        raise Refused("InvalidParameterException", "UserCode is required.")
    if not totp_matches(pending.totp_secret, code):
        sessions.wrong_code(
            session,
            pending,
            "EnableSoftwareTokenMFAException",
            "Code mismatch and fail enable Software Token MFA",
        )
    sessions.close(session)
    following = attrs.evolve(pending, totp_verified=True)
    return {"Status": "SUCCESS", "Session": sessions.open(following)}
