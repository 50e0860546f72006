"""Which MFA a password sign-in answers: the pool's MFA types and what the user has set up.

- MFA required, or the user has set some up: the user's one type is its
  challenge; several are a SELECT_MFA_TYPE;
- MFA required and nothing set up: MFA_SETUP, offering the pool's TOTP and
  email types;
- in a pool that requires MFA and enables SMS, everyone counts as having SMS
  set up (the front's ``mfa_code`` answers it);
- TOTP codes are checked with pyotp against the user's secret (one step of
  clock skew either way, as Cognito allows).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence

import attrs
import pyotp

from ._devices import Owner

__all__ = ["MfaEnrolments", "MfaStep", "mfa_step", "new_totp_secret", "totp_matches"]

#: What MFA_SETUP may offer: SMS needs no setup here.
_SETUP_TYPES = ("SOFTWARE_TOKEN_MFA", "EMAIL_OTP")


@attrs.frozen
class MfaStep:
    """The MFA challenge to issue, and what it offers (SELECT_MFA_TYPE, MFA_SETUP)."""

    challenge: str
    choices: tuple[str, ...] = ()


def mfa_step(enabled: Sequence[str], required: bool, set_up: Collection[str]) -> MfaStep | None:
    """The MFA after a password, or None: no MFA for this sign-in.

    ``enabled``: the pool's types in Cognito's order; ``set_up``: the user's.
    """
    usable = tuple(t for t in enabled if t in set_up or (t == "SMS_MFA" and required))
    if len(usable) == 1:
        return MfaStep(usable[0])
    if usable:
        return MfaStep("SELECT_MFA_TYPE", usable)
    offered = tuple(t for t in enabled if t in _SETUP_TYPES)
    if required and offered:
        return MfaStep("MFA_SETUP", offered)
    return None


def new_totp_secret() -> str:
    """A random base32 secret of 32 characters, as AssociateSoftwareToken hands out."""
    return pyotp.random_base32(32)


def totp_matches(secret: str, code: str) -> bool:
    """Whether ``code`` is the secret's TOTP now, or one 30-second step before or after."""
    return bool(code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1))


class MfaEnrolments:
    """The MFA each user set up at the front: a TOTP secret, email."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totp: dict[Owner, str] = {}
        self._email: set[Owner] = set()

    def enrol_totp(self, owner: Owner, secret: str) -> None:
        with self._lock:
            self._totp[owner] = secret

    def enrol_email(self, owner: Owner) -> None:
        with self._lock:
            self._email.add(owner)

    def totp_secret(self, owner: Owner) -> str | None:
        with self._lock:
            return self._totp.get(owner)

    def set_up(self, owner: Owner) -> set[str]:
        """The MFA types the user has set up."""
        with self._lock:
            types = {"SOFTWARE_TOKEN_MFA"} if owner in self._totp else set()
            return types | ({"EMAIL_OTP"} if owner in self._email else set())
