"""Which API refreshes tokens: configuration first, then what the server's answers show.

- ``refresh_token_rotation=True``: GetTokensFromRefreshToken, keeping the new
  refresh token it returns.
- ``refresh_token_rotation=False``: InitiateAuth REFRESH_TOKEN_AUTH.
- ``None`` (the default): REFRESH_TOKEN_AUTH, which every pool without rotation
  serves (Cognito's default, and emulators that lack the newer call). App
  clients that rotate refresh tokens refuse it; on such a refusal the manager
  asks GetTokensFromRefreshToken once before believing it, and if that works
  uses GetTokensFromRefreshToken from then on. A refusal is definitive only
  when both calls refuse.
"""

from __future__ import annotations

import logging

from ._cognito import AuthenticationResult, UserPoolClient
from ._errors import AuthError

__all__ = ["TokenRefresher"]

_log = logging.getLogger("amplify_session")

# What a rotating app client may answer to REFRESH_TOKEN_AUTH.
_POSSIBLY_ROTATION = frozenset(
    {"NotAuthorizedException", "InvalidParameterException", "UnsupportedOperationException"}
)


class TokenRefresher:
    """Refreshes tokens with the API the app client supports."""

    def __init__(self, user_pool: UserPoolClient, rotation: bool | None) -> None:
        self._user_pool = user_pool
        self._rotation = rotation

    def __repr__(self) -> str:
        return f"TokenRefresher(rotation={self._rotation!r})"

    async def refresh(
        self, refresh_token: str, *, username: str, device_key: str | None
    ) -> AuthenticationResult:
        """New tokens for ``refresh_token``; a rotated refresh token when the client rotates.

        Args:
            refresh_token: The current refresh token.
            username: The token's ``username`` claim (for SECRET_HASH).
            device_key: The remembered device, if any.
        """
        if self._rotation:
            return await self._user_pool.get_tokens_from_refresh_token(
                refresh_token, device_key=device_key
            )
        try:
            return await self._user_pool.refresh_token_auth(
                refresh_token, username=username, device_key=device_key
            )
        except AuthError as refusal:
            if self._rotation is not None or refusal.name not in _POSSIBLY_ROTATION:
                raise
            return await self._try_rotation(refresh_token, device_key, refusal)

    async def _try_rotation(
        self, refresh_token: str, device_key: str | None, refusal: AuthError
    ) -> AuthenticationResult:
        try:
            answer = await self._user_pool.get_tokens_from_refresh_token(
                refresh_token, device_key=device_key
            )
        except AuthError as second:
            if second.retryable or second.name not in _POSSIBLY_ROTATION:
                raise refusal from None  # the server lacks the call: its first answer stands
            raise
        _log.info("the app client rotates refresh tokens; using GetTokensFromRefreshToken")
        self._rotation = True
        return answer
