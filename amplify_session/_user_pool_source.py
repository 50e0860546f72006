"""The first token source: a User Pool user, signed in with a password, renewed with
the refresh token.

Which API renews: configuration first, then what the server's answers show.

- ``refresh_token_rotation=True``: GetTokensFromRefreshToken, keeping the new
  refresh token it returns.
- ``refresh_token_rotation=False``: InitiateAuth REFRESH_TOKEN_AUTH.
- ``None`` (the default): REFRESH_TOKEN_AUTH, which every pool without rotation
  serves (Cognito's default, and emulators that lack the newer call). App
  clients that rotate refresh tokens refuse it; on such a refusal the source
  asks GetTokensFromRefreshToken once before believing it, and if that works
  uses GetTokensFromRefreshToken from then on. A refusal is final only when
  both calls refuse.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import anyio
import attrs

from ._cognito import AuthenticationResult, UserPoolClient, token_set_from
from ._config import AuthConfig, ClientMetadata
from ._device_sign_in import DeviceSignIn
from ._errors import AuthError, NotAuthorizedException, UserUnAuthenticatedException
from ._sign_in import Completed, PendingChallenge, SignInFlow, SignInRequest
from ._timing import Clock
from ._tokens import TokenSet

__all__ = ["Completed", "UserPoolSource"]

_log = logging.getLogger("amplify_session")

# What a rotating app client may answer to REFRESH_TOKEN_AUTH.
_POSSIBLY_ROTATION = frozenset(
    {"NotAuthorizedException", "InvalidParameterException", "UnsupportedOperationException"}
)


class UserPoolSource:
    """Signs a User Pool user in, renews their tokens, and revokes them."""

    def __init__(
        self,
        user_pool: UserPoolClient,
        config: AuthConfig,
        clock: Clock,
        devices: DeviceSignIn | None = None,
    ) -> None:
        self._user_pool = user_pool
        self._clock = clock
        self._rotation = config.refresh_token_rotation
        self._client_metadata = config.client_metadata
        self._devices = devices
        self._config = config
        self._sign_in_flow: SignInFlow | None = None
        #: A user's session is never standing: it begins with a sign-in.
        self.standing_user: str | None = None

    def __repr__(self) -> str:
        return f"UserPoolSource(rotation={self._rotation!r})"

    @property
    def _flow(self) -> SignInFlow:
        """The sign-in machinery, made at the first sign-in: a process that holds
        10,000 restored sessions signs few of them in."""
        if self._sign_in_flow is None:
            flow = SignInFlow(self._user_pool, self._config, self._devices)
            if self._devices is not None:
                flow.answer_automatically("DEVICE_SRP_AUTH", self._devices.prove)
            self._sign_in_flow = flow
        return self._sign_in_flow

    # -- obtaining -------------------------------------------------------------

    async def sign_in(self, request: SignInRequest) -> Completed | PendingChallenge:
        """Begin a sign-in: completed, or the step the user must answer."""
        return await self._flow.start(request)

    async def answer(
        self,
        pending: PendingChallenge,
        response: str,
        user_attributes: Mapping[str, str],
        client_metadata: ClientMetadata | None,
    ) -> Completed | PendingChallenge:
        """Answer the step a sign-in is waiting on."""
        return await self._flow.answer(
            pending, response, user_attributes, client_metadata=client_metadata
        )

    async def tokens_of(self, completed: Completed) -> TokenSet:
        """The session a completed sign-in brought, with its device (a new one is
        confirmed here).

        A step of its own, after the challenge is settled: Cognito has spent
        the challenge session on this answer whether or not its tokens are
        usable.

        Raises:
            InvalidResponseException: The tokens are malformed; their refresh
                token is revoked, they are never kept (also when the caller is
                cancelled meanwhile).
        """
        result = completed.result
        try:
            tokens = token_set_from(
                result,
                now=self._clock.time(),
                username=None,
                refresh_token=result.refresh_token,
                sign_in_details=completed.details,
                device=completed.device,
            )
            if result.device_key is not None:  # a new device: the tokens are its own
                confirmed = await self._devices.confirm(result) if self._devices else None
                tokens = attrs.evolve(tokens, device=confirmed)
        except BaseException:
            if result.refresh_token is not None:
                await self._revoke_quietly(result.refresh_token)
            raise
        return tokens

    async def tokens_for(self, refresh_token: str, username: str) -> TokenSet:
        """The session a refresh token obtained elsewhere stands for, refreshed now.

        The answer is the session: Cognito vouches for it, the tokens that
        came with the refresh token are not kept.

        Raises:
            NotAuthorizedException: Cognito refuses the refresh token.
        """
        answer = await self._refresh(refresh_token, username=username, device_key=None)
        return token_set_from(
            answer,
            now=self._clock.time(),
            username=None,  # Cognito's, from the new access token
            refresh_token=answer.refresh_token or refresh_token,
            sign_in_details=None,
            device=None,
        )

    # -- TokenSource -------------------------------------------------------------

    async def obtain(self) -> TokenSet:
        """Never: a user's session begins with :meth:`sign_in`."""
        raise UserUnAuthenticatedException("no user is signed in", "Call sign_in() first.")

    async def renew(self, tokens: TokenSet) -> TokenSet:
        """New tokens for the refresh token (a rotated one where the client rotates).

        Raises:
            NotAuthorizedException: There is no refresh token (a user pool
                session cannot be obtained again without its user).
        """
        if tokens.refresh_token is None:
            raise NotAuthorizedException("the session has no refresh token")
        claimed = tokens.access_token.payload.get("username")
        answer = await self._refresh(
            tokens.refresh_token,
            username=claimed if isinstance(claimed, str) else tokens.username,
            device_key=tokens.device.device_key if tokens.device else None,
        )
        return token_set_from(
            answer,
            now=self._clock.time(),
            username=tokens.username,
            refresh_token=answer.refresh_token or tokens.refresh_token,
            sign_in_details=tokens.sign_in_details,
            device=tokens.device,
        )

    async def discard(self, tokens: TokenSet) -> None:
        """Revoke the refresh token of tokens that will never be used."""
        if tokens.refresh_token is not None:
            await self._revoke_quietly(tokens.refresh_token)

    async def _revoke_quietly(self, refresh_token: str) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await self._user_pool.revoke_token(refresh_token)
            except AuthError as err:
                _log.warning("could not revoke the discarded tokens (%s)", err.name)

    async def revoke(self, tokens: TokenSet, *, everywhere: bool) -> None:
        """RevokeToken, or GlobalSignOut with ``everywhere``."""
        if everywhere:
            await self._user_pool.global_sign_out(tokens.access_token.to_string())
        elif tokens.refresh_token is not None:
            await self._user_pool.revoke_token(tokens.refresh_token)

    # -- which API renews ----------------------------------------------------------

    async def _refresh(
        self, refresh_token: str, *, username: str, device_key: str | None
    ) -> AuthenticationResult:
        if self._rotation:
            return await self._user_pool.get_tokens_from_refresh_token(
                refresh_token, device_key=device_key, client_metadata=self._client_metadata
            )
        try:
            return await self._user_pool.refresh_token_auth(
                refresh_token,
                username=username,
                device_key=device_key,
                client_metadata=self._client_metadata,
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
                refresh_token, device_key=device_key, client_metadata=self._client_metadata
            )
        except AuthError as second:
            if second.retryable or second.name not in _POSSIBLY_ROTATION:
                raise refusal from None  # the server lacks the call: its first answer stands
            raise
        _log.info("the app client rotates refresh tokens; using GetTokensFromRefreshToken")
        self._rotation = True
        return answer
