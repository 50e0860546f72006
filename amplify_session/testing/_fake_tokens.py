"""The fake User Pool's tokens: JWTs with Cognito's claims, and refresh tokens by sign-in.

Access and id tokens are JWTs signed with HS256 under a key of the fake's
own (the library does not verify tokens it receives, and a test that wants
to verify can ask :meth:`TokenIssuer.claims`). Refresh tokens are opaque,
as Cognito's are to clients. Every refresh token belongs to one sign-in (its
``origin_jti``); revoking one revokes that sign-in's access tokens too.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from ._fake_wire import Refused

__all__ = ["Clock", "Holder", "Lifetimes", "SignIn", "TokenIssuer"]

_ALGORITHM = "HS256"
#: Attributes Cognito puts in an id token as JSON booleans, though they are kept as text.
_BOOLEAN_ATTRIBUTES = frozenset({"email_verified", "phone_number_verified"})


class Clock(Protocol):
    """What the fake needs of a clock: a ``FakeClock``, the ``time`` module..."""

    def time(self) -> float: ...


@attrs.frozen(kw_only=True)
class Lifetimes:
    """Seconds each thing the fake hands out stays valid (Cognito's defaults)."""

    access_token: float = 3600.0
    id_token: float = 3600.0
    refresh_token: float = 30 * 86400.0
    credentials: float = 3600.0
    challenge_session: float = 180.0


@attrs.frozen(kw_only=True)
class Holder:
    """Who the tokens are for (the fake's user record reduced to what tokens carry)."""

    username: str
    sub: str
    attributes: Mapping[str, str]
    groups: Sequence[str] = ()


@attrs.define
class SignIn:
    """One sign-in: its refresh tokens, access tokens and id tokens share its ``origin_jti``."""

    username: str
    origin_jti: str
    event_id: str
    auth_time: int
    expires_at: float
    revoked: bool = False


@attrs.define
class _RefreshToken:
    sign_in: SignIn
    retired: bool = False  # rotated away


class TokenIssuer:
    """Mints and checks the tokens of one app client of one pool."""

    def __init__(self, *, issuer: str, client_id: str, lifetimes: Lifetimes, clock: Clock) -> None:
        self.issuer = issuer
        self._client_id = client_id
        self._lifetimes = lifetimes
        self._clock = clock
        self._key = secrets.token_urlsafe(32)
        self._kid = str(uuid.uuid4())
        self._refresh_tokens: dict[str, _RefreshToken] = {}
        self._sign_ins: dict[str, SignIn] = {}

    def __repr__(self) -> str:
        return f"TokenIssuer(issuer={self.issuer!r})"

    def sign_in(self, holder: Holder) -> dict[str, Any]:
        """A new sign-in's AuthenticationResult: access, id and refresh tokens."""
        now = self._clock.time()
        session = SignIn(
            username=holder.username,
            origin_jti=str(uuid.uuid4()),
            event_id=str(uuid.uuid4()),
            auth_time=int(now),
            expires_at=now + self._lifetimes.refresh_token,
        )
        self._sign_ins[session.origin_jti] = session
        return {**self.tokens(holder, session), "RefreshToken": self._new_refresh_token(session)}

    def tokens(self, holder: Holder, session: SignIn) -> dict[str, Any]:
        """Fresh access and id tokens for ``session``, as an AuthenticationResult."""
        now = int(self._clock.time())
        common = {
            "sub": holder.sub,
            "iss": self.issuer,
            "origin_jti": session.origin_jti,
            "event_id": session.event_id,
            "auth_time": session.auth_time,
            "iat": now,
        }
        if holder.groups:
            common["cognito:groups"] = list(holder.groups)
        access = {
            **common,
            "client_id": self._client_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "exp": now + int(self._lifetimes.access_token),
            "jti": str(uuid.uuid4()),
            "username": holder.username,
        }
        identity = {
            **{k: _claim_value(k, v) for k, v in holder.attributes.items()},
            **common,
            "aud": self._client_id,
            "token_use": "id",
            "cognito:username": holder.username,
            "exp": now + int(self._lifetimes.id_token),
            "jti": str(uuid.uuid4()),
        }
        return {
            "AccessToken": self._sign(access),
            "IdToken": self._sign(identity),
            "ExpiresIn": int(self._lifetimes.access_token),
            "TokenType": "Bearer",
        }

    def session_of(self, refresh_token: object) -> SignIn:
        """The live sign-in ``refresh_token`` belongs to.

        Raises:
            Refused: The token is unknown, revoked, expired or rotated away.
        """
        if not isinstance(refresh_token, str) or not refresh_token:
            raise Refused("InvalidParameterException", "Missing required parameter REFRESH_TOKEN")
        record = self._refresh_tokens.get(refresh_token)
        if record is None:
            raise Refused("NotAuthorizedException", "Invalid Refresh Token")
        if record.sign_in.revoked:
            raise Refused("NotAuthorizedException", "Refresh Token has been revoked")
        if record.retired:
            raise Refused("RefreshTokenReuseException", "This refresh token has already been used.")
        if self._clock.time() >= record.sign_in.expires_at:
            raise Refused("NotAuthorizedException", "Refresh Token has expired")
        return record.sign_in

    def rotate(self, refresh_token: str) -> str:
        """Retire ``refresh_token`` (checked live) and return its successor."""
        record = self._refresh_tokens[refresh_token]
        record.retired = True
        return self._new_refresh_token(record.sign_in)

    def revoke(self, refresh_token: object) -> None:
        """Revoke the sign-in ``refresh_token`` belongs to; unknown tokens are ignored."""
        record = self._refresh_tokens.get(refresh_token) if isinstance(refresh_token, str) else None
        if record is not None:
            record.sign_in.revoked = True

    def revoke_user(self, username: str) -> None:
        """Revoke every sign-in of ``username`` (GlobalSignOut)."""
        for session in self._sign_ins.values():
            if session.username == username:
                session.revoked = True

    def claims(self, token: object, token_use: str) -> dict[str, Any]:
        """The claims of a token this issuer signed, checked as Cognito checks them.

        Raises:
            Refused: Not ours, not an ``token_use`` token, expired, or revoked.
        """
        from jose import JWTError, jwt  # here: a test that never signs in need not load it

        what = "Access Token" if token_use == "access" else "Id Token"  # noqa: S105
        try:
            claims: dict[str, Any] = jwt.decode(
                str(token),
                self._key,
                algorithms=[_ALGORITHM],
                # Time is the fake's clock, checked below; the audience too.
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
            )
        except JWTError:
            raise Refused("NotAuthorizedException", f"Invalid {what}") from None
        if claims.get("token_use") != token_use or claims.get("iss") != self.issuer:
            raise Refused("NotAuthorizedException", f"Invalid {what}")
        if self._clock.time() >= claims.get("exp", 0):
            raise Refused("NotAuthorizedException", f"{what} has expired")
        session = self._sign_ins.get(claims.get("origin_jti", ""))
        if token_use == "access" and (session is None or session.revoked):  # noqa: S105
            raise Refused("NotAuthorizedException", "Access Token has been revoked")
        return claims

    def _new_refresh_token(self, session: SignIn) -> str:
        token = secrets.token_urlsafe(96)
        self._refresh_tokens[token] = _RefreshToken(session)
        return token

    def _sign(self, claims: Mapping[str, Any]) -> str:
        from jose import jwt

        token: str = jwt.encode(
            dict(claims), self._key, algorithm=_ALGORITHM, headers={"kid": self._kid}
        )
        return token


def _claim_value(name: str, value: str) -> object:
    if name in _BOOLEAN_ATTRIBUTES:
        return value.lower() == "true"
    return value
