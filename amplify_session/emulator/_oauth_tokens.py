"""The tokens the OAuth domain issues, signed with the pool's key as moto signs its own.

- Client credentials: an access token for the app client itself (``sub`` is
  the client id, no ``username``), with the granted resource-server scopes.
- Authorization code: moto's tokens for the approved user and a refresh
  token moto keeps (so REFRESH_TOKEN_AUTH and GetTokensFromRefreshToken take
  it), the access token re-signed with the granted ``scope`` and the id
  token with the authorize request's ``nonce``; the re-signed tokens replace
  moto's in its tables, so GetUser and GlobalSignOut know them.
- A refresh of such a token keeps its scopes (:func:`refreshed_tokens`).

Lifetimes are the app client's, as for moto's tokens
(:func:`~amplify_session.emulator.patch_moto_token_lifetimes`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .._jwt import decode_jwt
from ._moto_backend import (
    issuer_of,
    new_refresh_token,
    register_token,
    sign_as_pool,
    token_lifetime,
    tokens_from_refresh_token,
)

__all__ = ["client_token", "refreshed_tokens", "user_tokens"]

#: Cognito's access tokens say which version of their claims they carry.
_VERSION = 2


def client_token(pool: Any, client_id: str, scopes: Sequence[str]) -> tuple[str, int]:
    """A client-credentials access token and its lifetime in seconds."""
    now = int(time.time())
    lifetime = token_lifetime(pool, client_id)
    claims = {
        "sub": client_id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": now,
        "iss": issuer_of(pool),
        "exp": now + lifetime,
        "iat": now,
        "version": _VERSION,
        "jti": str(uuid.uuid4()),
        "client_id": client_id,
    }
    return sign_as_pool(pool, claims), lifetime


def user_tokens(
    pool: Any, client_id: str, username: str, scopes: Sequence[str], nonce: str | None
) -> dict[str, Any]:
    """Access, id and refresh tokens for a user, as AuthenticationResult has them."""
    refresh_token = new_refresh_token(pool, client_id, username)
    result = refreshed_tokens(pool, refresh_token, scopes, nonce=nonce)
    return {**result, "RefreshToken": refresh_token}


def refreshed_tokens(
    pool: Any, moto_token: str, scopes: Sequence[str], *, nonce: str | None = None
) -> dict[str, Any]:
    """New access and id tokens for one of moto's refresh tokens, with these scopes."""
    access, id_token, expires_in = tokens_from_refresh_token(pool, moto_token)
    access = _with_claims(pool, access, {"scope": " ".join(scopes), "version": _VERSION})
    if nonce is not None:
        id_token = _with_claims(pool, id_token, {"nonce": nonce})
    return {
        "AccessToken": access,
        "IdToken": id_token,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
    }


def _with_claims(pool: Any, token: str, claims: Mapping[str, Any]) -> str:
    """moto's ``token`` with some claims set, signed again; moto honours the new one."""
    issued = decode_jwt(token)
    replacement = sign_as_pool(pool, {**issued.payload, **claims}, issued.header)
    register_token(pool, token, replacement)
    return replacement
