"""The fake's Identity Pool: identity ids (guest or for a user) and AWS credentials.

A user's id token (from the fake User Pool) maps to one identity, as the
same ``sub`` does in Cognito; a guest identity that later shows a user's
token becomes that user's (Cognito links them).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ._fake_tokens import Clock, Lifetimes, TokenIssuer
from ._fake_wire import Refused

__all__ = ["FakeIdentityPool"]

_FORBIDDEN_GUESTS = "Unauthenticated access is not supported for this identity pool."
_LOGINS_MISMATCH = (
    "Logins don't match."
    " Please include at least one valid login for this identity or identity pool."
)
_INVALID_LOGIN = "Invalid login token."


class FakeIdentityPool:
    """One Identity Pool trusting one User Pool's app client."""

    def __init__(
        self,
        *,
        pool_id: str,
        provider: str,
        issuer: TokenIssuer,
        client_id: str,
        allow_guests: bool,
        lifetimes: Lifetimes,
        clock: Clock,
    ) -> None:
        self.pool_id = pool_id
        self._region = pool_id.split(":", 1)[0]
        self._provider = provider
        self._issuer = issuer
        self._client_id = client_id
        self._allow_guests = allow_guests
        self._lifetimes = lifetimes
        self._clock = clock
        self._owners: dict[str, str | None] = {}  # identity id -> sub (None: a guest)
        self._by_sub: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"FakeIdentityPool(pool_id={self.pool_id!r}, identities={len(self._owners)})"

    def operations(self) -> dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]]:
        return {
            "GetId": self.get_id,
            "GetCredentialsForIdentity": self.get_credentials_for_identity,
        }

    def get_id(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if body.get("IdentityPoolId") != self.pool_id:
            raise Refused("ResourceNotFoundException", "IdentityPool not found.")
        sub = self._login(body)
        if sub is None and not self._allow_guests:
            raise Refused("NotAuthorizedException", _FORBIDDEN_GUESTS)
        identity_id = self._by_sub.get(sub) if sub is not None else None
        if identity_id is None:
            identity_id = f"{self._region}:{uuid.uuid4()}"
            self._owners[identity_id] = sub
            if sub is not None:
                self._by_sub[sub] = identity_id
        return {"IdentityId": identity_id}

    def get_credentials_for_identity(self, body: Mapping[str, Any]) -> dict[str, Any]:
        identity_id = body.get("IdentityId")
        if not isinstance(identity_id, str) or identity_id not in self._owners:
            raise Refused("ResourceNotFoundException", "Identity not found.")
        sub = self._login(body)
        owner = self._owners[identity_id]
        if owner is None and sub is None and not self._allow_guests:
            raise Refused("NotAuthorizedException", _FORBIDDEN_GUESTS)
        if owner is None and sub is not None:
            self._link(identity_id, sub)
        elif owner is not None and sub is None:
            raise Refused("NotAuthorizedException", "Access to Identity is forbidden.")
        elif owner != sub:
            raise Refused("NotAuthorizedException", _LOGINS_MISMATCH)
        expiration = self._clock.time() + self._lifetimes.credentials
        return {
            "IdentityId": identity_id,
            "Credentials": {
                "AccessKeyId": "ASIA" + secrets.token_hex(8).upper(),
                "SecretKey": secrets.token_urlsafe(30),
                "SessionToken": secrets.token_urlsafe(120),
                "Expiration": expiration,
            },
        }

    def _link(self, identity_id: str, sub: str) -> None:
        """A guest identity shown a user's token becomes that user's, unless they have one."""
        if self._by_sub.get(sub, identity_id) != identity_id:
            raise Refused("NotAuthorizedException", _LOGINS_MISMATCH)
        self._owners[identity_id] = sub
        self._by_sub[sub] = identity_id

    def _login(self, body: Mapping[str, Any]) -> str | None:
        """The ``sub`` of the id token in ``Logins``; None for a guest.

        Raises:
            Refused: Logins names another provider, or its token is not a valid id token.
        """
        logins = body.get("Logins") or {}
        if not isinstance(logins, Mapping):
            raise Refused("SerializationException", "Logins is not an object")
        if not logins:
            return None
        if set(logins) != {self._provider}:
            raise Refused("NotAuthorizedException", f"{_INVALID_LOGIN} Unknown provider.")
        try:
            claims = self._issuer.claims(logins[self._provider], "id")
        except Refused as refusal:
            raise Refused("NotAuthorizedException", f"{_INVALID_LOGIN} {refusal.message}") from None
        if claims.get("aud") != self._client_id:
            raise Refused("NotAuthorizedException", f"{_INVALID_LOGIN} Incorrect token audience.")
        return str(claims["sub"])
