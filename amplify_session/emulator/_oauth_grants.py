"""The token endpoint's grants: client_credentials, authorization_code (PKCE), refresh_token.

Checked in Cognito's order: the grant type, then the client (authenticated
when it has a secret), then the grant. Answers are RFC 6749 §5.1 token
answers; refusals are :class:`OAuthError` (RFC 6749 §5.2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._moto_backend import user_of
from ._oauth_clients import OAuthClient, OAuthError, authenticate
from ._oauth_codes import CodeBook
from ._oauth_tokens import client_token, user_tokens
from ._operations import CognitoOperations
from ._wire import Refused

__all__ = ["TokenGrants"]

Form = Mapping[str, str]
_Grant = Callable[[OAuthClient, Form], Awaitable[dict[str, Any]]]


class TokenGrants:
    """The grants, redeeming ``codes()`` and refreshing through ``cognito``."""

    def __init__(self, cognito: CognitoOperations, codes: Callable[[], CodeBook]) -> None:
        self._cognito = cognito
        self._codes = codes

    async def answer(self, form: Form, authorization: str | None) -> dict[str, Any]:
        """The token answer to one request (``authorization``: its Authorization header).

        Raises:
            OAuthError: The request is refused.
        """
        grants: dict[str, _Grant] = {
            "client_credentials": self._client_credentials,
            "authorization_code": self._authorization_code,
            "refresh_token": self._refresh_token,
        }
        grant_type = _required(form, "grant_type")
        grant = grants.get(grant_type)
        if grant is None:
            raise OAuthError("unsupported_grant_type", "The grant type is not supported.")
        return await grant(authenticate(form, authorization), form)

    async def _client_credentials(self, client: OAuthClient, form: Form) -> dict[str, Any]:
        """An access token for the client itself, with resource-server scopes only."""
        if not client.allows("client_credentials"):
            raise OAuthError("unauthorized_client", "The client may not use this grant.")
        scopes = client.granted(form.get("scope"), client.custom_scopes)
        if not scopes:
            raise OAuthError("invalid_scope", "The client has no resource-server scopes.")
        token, lifetime = client_token(client.pool, client.id, scopes)
        return {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}

    async def _authorization_code(self, client: OAuthClient, form: Form) -> dict[str, Any]:
        """The approved user's tokens, once per code, for the PKCE verifier of its challenge."""
        if not client.allows("code"):
            raise OAuthError("unauthorized_client", "The client may not use this grant.")
        code, redirect_uri = _required(form, "code"), _required(form, "redirect_uri")
        grant = self._codes().redeem(code, client.id, redirect_uri, form.get("code_verifier"))
        try:
            user = user_of(client.pool, grant.username)  # deleted or disabled since
        except Refused:
            raise OAuthError("invalid_grant", "The user can no longer sign in.") from None
        result = user_tokens(client.pool, client.id, str(user.username), grant.scopes, grant.nonce)
        self._cognito.oauth_scopes[result["RefreshToken"]] = grant.scopes
        # Cognito issues an id token to OpenID Connect requests only.
        return _token_answer(result, with_id_token="openid" in grant.scopes)

    async def _refresh_token(self, client: OAuthClient, form: Form) -> dict[str, Any]:
        """New tokens (a new refresh token too for rotating clients)."""
        token = _required(form, "refresh_token")
        try:
            result = await self._cognito.refresh(client.pool, client.client, token)
        except Refused:
            raise OAuthError("invalid_grant", "The refresh token is not valid.") from None
        return _token_answer(result, with_id_token=True)


def _required(form: Form, name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request", f"{name} is required.")
    return value


def _token_answer(result: Mapping[str, Any], *, with_id_token: bool) -> dict[str, Any]:
    """An AuthenticationResult as the token endpoint writes it."""
    answer: dict[str, Any] = {
        "access_token": result["AccessToken"],
        "expires_in": result["ExpiresIn"],
        "token_type": "Bearer",
    }
    if with_id_token and result.get("IdToken"):
        answer["id_token"] = result["IdToken"]
    if result.get("RefreshToken"):
        answer["refresh_token"] = result["RefreshToken"]
    return answer
