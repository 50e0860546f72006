"""Tokens handed in from elsewhere (a frontend's refresh token, another tool's tokens).

What is handed in is checked before anything is sent: the JWTs must decode,
come from this user pool and be for this app client. The refresh token is
then used at once: the session adopted is what Cognito answers to it, so a
refresh token that is not this client's, revoked or made up is refused by
Cognito before anything is stored, and what is kept was never taken on trust.
"""

from __future__ import annotations

import attrs

from ._config import AuthConfig, pool_issuers
from ._errors import InvalidParameterException, InvalidTokenException
from ._jwt import decode_jwt
from ._models import JWT

__all__ = ["HandedIn", "check_handed_in", "check_token"]

#: Longer than any Cognito token: refused before it is sent anywhere.
_MAX_TOKEN = 16 * 1024


@attrs.frozen(kw_only=True)
class HandedIn:
    """A checked refresh token, and the Cognito username its SECRET_HASH needs."""

    refresh_token: str = attrs.field(repr=False)
    username: str


def check_handed_in(
    config: AuthConfig,
    refresh_token: object,
    access_token: object,
    id_token: object,
    username: object,
) -> HandedIn:
    """Check what was handed in against ``config`` (no I/O).

    Raises:
        InvalidParameterException: A missing refresh token, or no username where
            the app client's secret needs one.
        InvalidTokenException: A JWT that does not decode, is of the wrong use,
            or was issued by another pool or for another app client.
    """
    _require_token("refresh_token", refresh_token)
    assert isinstance(refresh_token, str)
    claimed: list[str] = []
    for use, raw, name_claim in (
        ("access", access_token, "username"),
        ("id", id_token, "cognito:username"),
    ):
        if raw is None:
            continue
        _require_token(f"{use}_token", raw)
        assert isinstance(raw, str)
        token = check_token(config, _decoded(raw, use), use)
        name = token.payload.get(name_claim)
        if isinstance(name, str) and name:
            claimed.append(name)
    if username is not None:
        _require_token("username", username)
    # SECRET_HASH takes Cognito's username (the tokens'), not an alias.
    chosen = claimed[0] if claimed else username
    if not isinstance(chosen, str):
        if config.client_secret:
            raise InvalidParameterException(
                "the app client has a secret: pass the access token or the username",
                recovery_suggestion="Hand in the access token too, or username=.",
            )
        chosen = "user"  # unused: without a secret no SECRET_HASH is sent
    return HandedIn(refresh_token=refresh_token, username=chosen)


def _require_token(field: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterException(f"{field} must be a non-empty string")
    if len(value) > _MAX_TOKEN or any(c.isspace() for c in value):
        raise InvalidParameterException(f"{field} is not a token")


def _decoded(raw: str, use: str) -> JWT:
    try:
        return decode_jwt(raw)
    except InvalidTokenException as err:
        raise InvalidTokenException(f"the {use} token is malformed: {err.message}") from None


def check_token(config: AuthConfig, token: JWT, use: str) -> JWT:
    """``token`` is an ``use`` token of this pool, for this app client.

    Raises:
        InvalidTokenException: It is not.
    """
    claims = token.payload
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or issuer not in pool_issuers(config):
        raise InvalidTokenException(f"the {use} token was issued by another user pool")
    if claims.get("token_use") != use:
        raise InvalidTokenException(f"the {use} token is not an {use} token")
    client = claims.get("client_id" if use == "access" else "aud")
    if client != config.user_pool_client_id:
        raise InvalidTokenException(f"the {use} token is for another app client")
    return token
