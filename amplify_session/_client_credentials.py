"""A token source with no user: the app client's own tokens, from the client_credentials grant.

There is no refresh token: the source renews by requesting a new token, and
the engine runs it as a *standing* session (one it may obtain by itself, with
no sign-in), under the same schedule, single flight, fleet lock and events
as a user's. Nothing can be revoked: Cognito has no revocation for these
access tokens, which expire by themselves.
"""

from __future__ import annotations

from ._cognito import token_set_from
from ._cognito._oauth import OAuthEndpoints
from ._errors import InvalidResponseException
from ._timing import Clock
from ._tokens import TokenSet

__all__ = ["ClientCredentialsSource"]


class ClientCredentialsSource:
    """Requests the app client's access token for its scopes."""

    def __init__(self, endpoints: OAuthEndpoints, client_id: str, clock: Clock) -> None:
        self._endpoints = endpoints
        self._clock = clock
        #: The session's name in storage: the app client's id (the tokens' ``sub``).
        self.standing_user: str | None = client_id

    def __repr__(self) -> str:
        return f"ClientCredentialsSource(scopes={self._endpoints.oauth.scopes!r})"

    async def obtain(self) -> TokenSet:
        """A new access token for the configured scopes.

        Raises:
            OAuthError: The endpoint refused (``invalid_client``, ``invalid_scope``...).
            InvalidResponseException: A token that is not this client's access token.
        """
        form = {"grant_type": "client_credentials"}
        if self._endpoints.oauth.scopes:
            form["scope"] = " ".join(self._endpoints.oauth.scopes)
        answer = await self._endpoints.token(form)
        assert self.standing_user is not None
        tokens = token_set_from(
            answer,
            now=self._clock.time(),
            username=self.standing_user,
            refresh_token=None,  # never kept: this grant has none to give
            sign_in_details=None,
            device=None,
        )
        claims = tokens.access_token.payload
        if claims.get("token_use") != "access" or claims.get("client_id") != self.standing_user:
            raise InvalidResponseException(
                "the token endpoint answered a token that is not this app client's access token"
            )
        return tokens

    async def renew(self, tokens: TokenSet) -> TokenSet:
        """A new token: this grant renews by asking again."""
        return await self.obtain()

    async def discard(self, tokens: TokenSet) -> None:
        """Nothing to revoke: the token expires by itself."""

    async def revoke(self, tokens: TokenSet, *, everywhere: bool) -> None:
        """Nothing to end at the server: the token expires by itself."""
