"""SessionManager: signs a user in, holds the session and keeps it fresh."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TypeVar

import anyio

from ._cognito import (
    AuthenticationResult,
    CognitoTransport,
    IdentityPoolClient,
    UserPoolClient,
)
from ._config import AuthConfig
from ._credentials import IdentityCredentials
from ._errors import (
    AuthError,
    InvalidParameterException,
    InvalidTokenException,
    NoCredentialsException,
    NotAuthorizedException,
    UserAlreadyAuthenticatedException,
    UserUnAuthenticatedException,
)
from ._models import (
    AuthSession,
    AuthUser,
    AWSCredentials,
    SignInDetails,
    SignInNextStep,
    SignInResult,
    SignOutResult,
    UserInfo,
)
from ._policy import Clock, SystemClock, local_deadline
from ._refresh import TokenRefresher
from ._sign_in import SUPPORTED_FLOWS, PendingChallenge, SignInFlow, next_step_for
from ._token_store import TokenSet, TokenStore, token_set_from
from .storage import KeyValueStorage, MemoryStorage

__all__ = ["SessionManager"]

_log = logging.getLogger("amplify_session")
_T = TypeVar("_T")

#: Refresh failures after which the refresh token is useless: the session is cleared.
DEFINITIVE_FAILURES = frozenset(
    {
        "NotAuthorizedException",
        "TokenRevokedException",
        "UserNotFoundException",
        "PasswordResetRequiredException",
        "UserNotConfirmedException",
        "RefreshTokenReuseException",
    }
)

_EMPTY_SESSION = AuthSession()


class SessionManager:
    """One user's Cognito session: sign-in, tokens, AWS credentials.

    Use it as an async context manager (``async with SessionManager(cfg) as m``)
    or call :meth:`aclose` when done: it owns an HTTP connection pool.

    Args:
        config: Where the pools are and the session policy.
        storage: Where the session is kept; a new :class:`MemoryStorage` by default.
        clock: The wall clock (a seam for tests).
    """

    def __init__(
        self,
        config: AuthConfig,
        *,
        storage: KeyValueStorage | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._config = config
        self._storage = storage if storage is not None else MemoryStorage()
        self._clock = clock if clock is not None else SystemClock()
        self._store = TokenStore(self._storage, config.user_pool_client_id, config.identity_pool_id)
        self._transport = CognitoTransport(config)
        self._user_pool = UserPoolClient(self._transport, config)
        self._identity_credentials = IdentityCredentials(
            IdentityPoolClient(self._transport, config) if config.identity_pool_id else None,
            self._store,
            config,
            self._clock,
        )
        self._sign_in_flow = SignInFlow(self._user_pool, config)
        self._refresher = TokenRefresher(self._user_pool, config.refresh_token_rotation)
        self._pending: PendingChallenge | None = None
        self._lock = anyio.Lock()
        self._loaded = False
        self._tokens: TokenSet | None = None
        self._session = _EMPTY_SESSION
        self._fresh_until = -math.inf

    def __repr__(self) -> str:
        state = "signed-in" if self._tokens is not None else "signed-out"
        return f"SessionManager(client_id={self._config.user_pool_client_id!r}, state={state!r})"

    @property
    def config(self) -> AuthConfig:
        """The configuration this manager was built with."""
        return self._config

    async def __aenter__(self) -> SessionManager:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the HTTP connection pool. The stored session is kept."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await self._transport.aclose()

    # -- sign-in -----------------------------------------------------------

    async def sign_in(
        self, username: str, password: str, *, auth_flow: str = "USER_SRP_AUTH"
    ) -> SignInResult:
        """Sign a user in.

        Args:
            username: The username or a sign-in alias (email, phone).
            password: The user's password; never logged or kept.
            auth_flow: ``"USER_SRP_AUTH"`` (the password never leaves this
                process) or ``"USER_PASSWORD_AUTH"``.

        Returns:
            Signed in, or the challenge to answer with :meth:`confirm_sign_in`.

        Raises:
            UserAlreadyAuthenticatedException: A user is signed in already.
            NotAuthorizedException: Wrong password (and other refusals).
            UserNotFoundException, UserNotConfirmedException: As Cognito says.
            NetworkError: Cognito could not be reached.
        """
        _require_text("username", username)
        _require_text("password", password)
        if auth_flow not in SUPPORTED_FLOWS:
            raise InvalidParameterException(
                f"auth_flow must be one of {', '.join(SUPPORTED_FLOWS)}, not {auth_flow!r}"
            )
        async with self._lock:
            await self._load()
            if self._tokens is not None:
                raise UserAlreadyAuthenticatedException(
                    "a user is already signed in",
                    recovery_suggestion="Call sign_out() before signing in again.",
                )
            self._pending = None
            outcome = await self._sign_in_flow.start(username, password, auth_flow)
            return await self._settle(outcome, login_id=username, auth_flow=auth_flow)

    async def confirm_sign_in(
        self, challenge_response: str, *, user_attributes: Mapping[str, str] | None = None
    ) -> SignInResult:
        """Answer the challenge a sign-in returned (MFA code, new password...).

        Args:
            challenge_response: The code, the new password, or for
                ``CONTINUE_SIGN_IN_WITH_MFA_SELECTION`` the MFA type
                (``"SMS"``/``"TOTP"`` or Cognito's names).
            user_attributes: Required attributes for a new password.

        Raises:
            InvalidParameterException: No sign-in waits for an answer, or
                required attributes are missing.
            CodeMismatchException: A wrong code; the challenge stays open.
            NotAuthorizedException: The challenge expired; sign in again.
        """
        _require_text("challenge_response", challenge_response)
        async with self._lock:
            pending = self._pending
            if pending is None:
                raise InvalidParameterException(
                    "no sign-in is waiting for a challenge response",
                    recovery_suggestion="Call sign_in() first.",
                )
            try:
                outcome = await self._sign_in_flow.answer(
                    pending, challenge_response, user_attributes or {}
                )
            except NotAuthorizedException:
                self._pending = None  # the challenge session is gone
                raise
            return await self._settle(
                outcome, login_id=pending.login_id, auth_flow=pending.auth_flow
            )

    async def _settle(
        self, outcome: AuthenticationResult | PendingChallenge, *, login_id: str, auth_flow: str
    ) -> SignInResult:
        if isinstance(outcome, PendingChallenge):
            self._pending = outcome
            return SignInResult(is_signed_in=False, next_step=next_step_for(outcome.challenge))
        self._pending = None
        details = SignInDetails(login_id=login_id, auth_flow_type=auth_flow)
        tokens = token_set_from(
            outcome,
            now=self._clock.time(),
            username=None,
            refresh_token=outcome.refresh_token,
            sign_in_details=details,
            device=(outcome.device_key, outcome.device_group_key),
        )
        await self._identity_credentials.forget_primary_identity()
        await self._store.save(tokens)
        self._tokens = tokens
        self._invalidate(credentials=True)
        return SignInResult(is_signed_in=True, next_step=SignInNextStep(sign_in_step="DONE"))

    async def sign_out(self, *, global_sign_out: bool = False) -> SignOutResult:
        """Sign the user out: revoke the refresh token, then forget everything locally.

        The local session (memory and storage) is cleared first and whatever
        happens next; a failure to reach Cognito is reported in the result
        and logged, never raised over the cleared state.

        Args:
            global_sign_out: Sign out every device of the user (GlobalSignOut)
                instead of revoking only this session's refresh token.
        """
        async with self._lock:
            await self._load()
            tokens = self._tokens
            await self._forget_user()
        if tokens is None:
            return SignOutResult(revoked=False)
        try:
            with anyio.CancelScope(shield=True):
                await self._revoke(tokens, global_sign_out=global_sign_out)
        except AuthError as err:
            _log.warning("signed out locally; Cognito was not told (%s)", err.name)
            return SignOutResult(revoked=False, error=err)
        return SignOutResult(revoked=True)

    async def _revoke(self, tokens: TokenSet, *, global_sign_out: bool) -> None:
        if global_sign_out:
            await self._user_pool.global_sign_out(tokens.access_token.to_string())
        elif tokens.refresh_token is not None:
            await self._user_pool.revoke_token(tokens.refresh_token)

    # -- the session ---------------------------------------------------------

    async def fetch_auth_session(self, *, force_refresh: bool = False) -> AuthSession:
        """Return the current session, refreshing what has expired.

        Signed in: tokens, and credentials with the identity id when an
        Identity Pool is configured. Signed out: guest credentials when
        ``allow_guest_access`` is set, otherwise an empty session.

        Args:
            force_refresh: Refresh tokens and credentials even if still valid.

        Raises:
            NotAuthorizedException: (and the other definitive failures) the
                refresh token no longer works; the session has been cleared.
            NetworkError: A refresh was needed and Cognito could not be reached.
        """
        if not force_refresh and self._clock.time() < self._fresh_until:
            return self._session
        async with self._lock:
            if not force_refresh and self._clock.time() < self._fresh_until:
                return self._session
            await self._load()
            tokens = await self._current_tokens(force=force_refresh)
            credentials, identity_id = await self._identity_credentials.current(
                tokens, force=force_refresh
            )
            self._session = AuthSession(
                tokens=tokens.to_auth_tokens() if tokens else None,
                credentials=credentials,
                identity_id=identity_id,
                user_sub=tokens.user_sub if tokens else None,
            )
            self._fresh_until = self._session_deadline(tokens)
            return self._session

    async def get_current_user(self) -> AuthUser:
        """Return the signed-in user, from the (refreshed if needed) access token.

        Raises:
            UserUnAuthenticatedException: Nobody is signed in.
        """
        tokens = await self._signed_in_tokens()
        claims = tokens.access_token.payload
        return AuthUser(
            username=str(claims.get("username", tokens.username)),
            user_id=str(claims.get("sub", "")),
            sign_in_details=tokens.sign_in_details,
        )

    async def is_authenticated(self) -> bool:
        """Return whether a user is signed in with a session that still works."""
        try:
            session = await self.fetch_auth_session()
        except AuthError as err:
            if err.name in DEFINITIVE_FAILURES:
                return False
            raise
        return session.tokens is not None

    async def get_credentials(self) -> AWSCredentials | None:
        """Return the session's AWS credentials, or None when there are none."""
        return (await self.fetch_auth_session()).credentials

    async def get_user_info(self) -> UserInfo | None:
        """Return the id token's profile claims, or None when signed out."""
        tokens = (await self.fetch_auth_session()).tokens
        if tokens is None or tokens.id_token is None:
            return None
        return UserInfo.from_id_token(tokens.id_token)

    async def with_aws_credentials(
        self, operation: Callable[[AWSCredentials], Awaitable[_T]]
    ) -> _T:
        """Run ``operation`` with the session's current AWS credentials.

        Raises:
            NoCredentialsException: The session has no credentials.
        """
        credentials = await self.get_credentials()
        if credentials is None:
            raise NoCredentialsException(
                "no AWS credentials available",
                recovery_suggestion="Configure identity_pool_id and sign in "
                "(or set allow_guest_access).",
            )
        return await operation(credentials)

    # -- tokens --------------------------------------------------------------

    async def _load(self) -> None:
        """Read the stored session once, on first use."""
        if self._loaded:
            return
        try:
            self._tokens = await self._store.load()
        except InvalidTokenException as err:
            _log.warning("the stored session is unreadable (%s); treating it as signed out", err)
            self._tokens = None
        await self._identity_credentials.load()
        self._loaded = True

    async def _signed_in_tokens(self) -> TokenSet:
        tokens = self._tokens
        if tokens is None or self._clock.time() >= self._token_deadline(tokens):
            async with self._lock:
                await self._load()
                tokens = await self._current_tokens(force=False)
        if tokens is None:
            raise UserUnAuthenticatedException(
                "no user is signed in", recovery_suggestion="Call sign_in() first."
            )
        return tokens

    async def _current_tokens(self, *, force: bool) -> TokenSet | None:
        tokens = self._tokens
        if tokens is not None and (force or self._clock.time() >= self._token_deadline(tokens)):
            tokens = await self._refresh_tokens(tokens)
        return tokens

    async def _refresh_tokens(self, tokens: TokenSet) -> TokenSet:
        if tokens.refresh_token is None:
            await self._forget_user()
            raise NotAuthorizedException("the session expired and has no refresh token")
        username = tokens.access_token.payload.get("username")
        try:
            answer = await self._refresher.refresh(
                tokens.refresh_token,
                username=username if isinstance(username, str) else tokens.username,
                device_key=tokens.device_key,
            )
        except AuthError as err:
            if err.name in DEFINITIVE_FAILURES:
                _log.info("token refresh refused (%s); signing out", err.name)
                await self._forget_user()
            raise
        fresh = token_set_from(
            answer,
            now=self._clock.time(),
            username=tokens.username,
            refresh_token=answer.refresh_token or tokens.refresh_token,
            sign_in_details=tokens.sign_in_details,
            device=(tokens.device_key, tokens.device_group_key),
        )
        await self._store.save(fresh)
        self._tokens = fresh
        self._invalidate(credentials=False)
        return fresh

    async def _forget_user(self) -> None:
        await self._store.clear()
        await self._identity_credentials.forget_identity()
        self._tokens = None
        self._loaded = True
        self._invalidate(credentials=True)

    def _invalidate(self, *, credentials: bool) -> None:
        self._fresh_until = -math.inf
        if credentials:
            self._identity_credentials.forget_credentials()

    def _token_deadline(self, tokens: TokenSet) -> float:
        return local_deadline(
            tokens.server_expiry,
            drift=tokens.clock_drift,
            tolerance=self._config.expiry_tolerance,
        )

    def _session_deadline(self, tokens: TokenSet | None) -> float:
        deadline = math.inf if tokens is None else self._token_deadline(tokens)
        return min(deadline, self._identity_credentials.deadline(tokens))


def _require_text(field: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidParameterException(f"{field} must be a non-empty string")
