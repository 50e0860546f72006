"""The session's domain values: a user's tokens, their remembered device, their identity id.

They are what the engine holds and reasons about, whoever produced them:
``_cognito/`` converts Cognito's answers into them and ``_token_store.py``
reads and writes them in Amplify's key layout, so this module imports
neither. The time rules for a token (a plausible ``exp``/``iat``, a plausible
lifetime) live here because both sides apply them: a stored token that
breaks them is no session, a received one is an invalid answer.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ._errors import InvalidTokenException
from ._jwt import numeric_claim
from ._models import JWT, AuthTokens, AuthUser, SignInDetails
from ._secret_repr import secret_repr

__all__ = [
    "LATEST_TIME",
    "DeviceRecord",
    "StoredIdentity",
    "TokenSet",
    "checked_token",
    "expiry_of",
    "issued_at",
]

#: Times beyond this (the year 5138) are absurd: no server issues them, and
#: arithmetic on them (milliseconds of drift) must stay finite.
LATEST_TIME = 1e11
#: Cognito's tokens live at most a day; ten years is beyond any server's.
_LONGEST_LIFETIME = 10 * 365 * 86400


def expiry_of(token: JWT) -> float:
    """Return a token's ``exp`` claim (server time), or raise InvalidTokenException."""
    exp = _time_claim(token, "exp")
    if exp is None:
        raise InvalidTokenException("token has no numeric 'exp' claim")
    return exp


def issued_at(token: JWT) -> float | None:
    """Return a token's ``iat`` claim (server time), None when it has none."""
    return _time_claim(token, "iat")


def checked_token(token: JWT) -> JWT:
    """Return ``token`` if its times are usable: an ``exp``, and a plausible lifetime.

    Raises:
        InvalidTokenException: It is not (the caller says whether that means
            a corrupt storage or a bad answer).
    """
    expires, issued = expiry_of(token), issued_at(token)
    if issued is not None and expires - issued > _LONGEST_LIFETIME:
        raise InvalidTokenException("token lifetime (exp - iat) is not plausible")
    return token


def _time_claim(token: JWT, name: str) -> float | None:
    if name not in token.payload:
        return None
    value = numeric_claim(token.payload, name)
    if value is None or not 0 < value < LATEST_TIME:
        raise InvalidTokenException(f"token claim {name!r} is not a plausible time")
    return value


@attrs.frozen(kw_only=True)
class DeviceRecord:
    """A device Cognito tracks for a user, confirmed by this library (ConfirmDevice).

    Amplify's ``deviceKey``, ``deviceGroupKey`` and ``randomPasswordKey``: the
    password proves the device at sign-in (DEVICE_SRP_AUTH) and never leaves
    the process. A record of its own, not token fields, because it outlives
    the session it was confirmed in: a sign-out keeps it, ``forget_device``
    removes it. Only a confirmed device exists here: Cognito refuses
    refreshes that carry the key of a device it has not confirmed.
    """

    device_key: str
    device_group_key: str
    random_password: str = attrs.field(repr=secret_repr)

    @classmethod
    def of(
        cls, device_key: str | None, device_group_key: str | None, random_password: str | None
    ) -> DeviceRecord | None:
        """The record for these values; None unless all three are there (as Amplify reads them)."""
        if not (device_key and device_group_key and random_password):
            return None
        return cls(
            device_key=device_key,
            device_group_key=device_group_key,
            random_password=random_password,
        )


@attrs.frozen(kw_only=True)
class TokenSet:
    """One user's tokens and what goes with them; a sign-in replaces them as a unit.

    It carries the confirmed device these tokens were issued to, because
    every refresh must send its key; the device's own lifecycle is the
    store's (see :class:`DeviceRecord`).
    """

    username: str
    access_token: JWT
    id_token: JWT | None
    refresh_token: str | None = attrs.field(repr=secret_repr)
    clock_drift: float = 0.0
    sign_in_details: SignInDetails | None = None
    device: DeviceRecord | None = None

    @property
    def server_expiry(self) -> float:
        """When the first of the access and id tokens expires, in server time."""
        expiries = [expiry_of(self.access_token)]
        if self.id_token is not None:
            expiries.append(expiry_of(self.id_token))
        return min(expiries)

    @property
    def user_sub(self) -> str | None:
        """The user's ``sub`` claim."""
        sub = self.access_token.payload.get("sub")
        return sub if isinstance(sub, str) else None

    def to_auth_tokens(self) -> AuthTokens:
        """The public view of these tokens."""
        return AuthTokens(
            access_token=self.access_token,
            id_token=self.id_token,
            refresh_token=self.refresh_token,
        )

    def to_auth_user(self) -> AuthUser:
        """The signed-in user these tokens name."""
        claims = self.access_token.payload
        return AuthUser(
            username=str(claims.get("username", self.username)),
            user_id=str(claims.get("sub", "")),
            sign_in_details=self.sign_in_details,
        )


@attrs.frozen(kw_only=True)
class StoredIdentity:
    """An Identity Pool identity id and whether it is a guest's or a user's."""

    identity_id: str
    kind: Literal["guest", "primary"]
