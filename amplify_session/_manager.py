"""SessionManager: signs a user in, holds the session and keeps it fresh.

While open (``async with``) the manager owns a task group running the
background refresh loop and the event listeners. A fetch of a fresh session
touches nothing but two floats and returns the cached immutable session;
anything else goes through single flight, so any number of callers cause one
refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from types import TracebackType
from typing import TypeVar

import anyio
import anyio.abc

from ._cognito import AuthenticationResult, CognitoTransport, IdentityPoolClient, UserPoolClient
from ._config import AuthConfig
from ._credentials import IdentityCredentials
from ._errors import (
    AuthError,
    InvalidParameterException,
    InvalidStateException,
    NotAuthorizedException,
    UserAlreadyAuthenticatedException,
    UserUnAuthenticatedException,
)
from ._events import EventHub, EventName, EventStream, Listener
from ._flight import SingleFlight
from ._models import (
    AuthSession,
    AuthUser,
    AWSCredentials,
    SignInDetails,
    SignInNextStep,
    SignInResult,
    SignOutResult,
    UserInfo,
    credentials_of,
)
from ._policy import Backoff, Clock, SystemClock
from ._refresh import TokenRefresher
from ._refresh_loop import RefreshLoop
from ._session_core import DEFINITIVE_FAILURES, SessionCore
from ._sign_in import SUPPORTED_FLOWS, PendingChallenge, SignInFlow, next_step_for
from ._token_store import TokenSet, TokenStore
from .storage import CoordinatedStorage, KeyValueStorage, MemoryStorage

__all__ = ["SessionManager"]

_log = logging.getLogger("amplify_session")
_T = TypeVar("_T")


class SessionManager:
    """One user's Cognito session: sign-in, tokens, AWS credentials, kept fresh.

    Use it as an async context manager: ``async with SessionManager(cfg) as m``.
    While open it refreshes tokens and credentials in the background before
    they expire and delivers events to listeners. Used without ``async with``
    it still works, refreshing on demand, and :meth:`aclose` releases its
    connections.

    Args:
        config: Where the pools are and the session policy.
        storage: Where the session is kept; a new :class:`MemoryStorage` by default.
        clock: The wall clock (a seam for tests).
        event_buffer: Events kept per subscriber before the oldest is dropped.
        listener_timeout: Seconds an async listener may take per event.
    """

    def __init__(
        self,
        config: AuthConfig,
        *,
        storage: KeyValueStorage | None = None,
        clock: Clock | None = None,
        event_buffer: int = 100,
        listener_timeout: float = 5.0,
    ) -> None:
        self._config = config
        self._clock = clock if clock is not None else SystemClock()
        store = self._store = TokenStore(
            storage if storage is not None else MemoryStorage(),
            config.user_pool_client_id,
            config.identity_pool_id,
        )
        self._transport = CognitoTransport(config)
        self._user_pool = UserPoolClient(self._transport, config)
        rng = random.Random()  # noqa: S311 (jitter, not secrets)
        self._hub = EventHub(buffer=event_buffer, listener_timeout=listener_timeout)
        self._core = SessionCore(
            config=config,
            store=store,
            credentials=IdentityCredentials(
                IdentityPoolClient(self._transport, config) if config.identity_pool_id else None,
                store,
                config,
                self._clock,
                rng,
            ),
            refresher=TokenRefresher(self._user_pool, config.refresh_token_rotation),
            clock=self._clock,
            rng=rng,
            hub=self._hub,
            revoke=self._revoke_quietly,
        )
        self._sign_in_flow = SignInFlow(self._user_pool, config)
        self._pending: PendingChallenge | None = None
        self._lock = anyio.Lock()
        self._flight: SingleFlight[tuple[AuthSession, bool]] = SingleFlight()
        self._refresh_loop = RefreshLoop(
            self._clock, self._due, self._refresh_in_background, Backoff()
        )
        self._task_group: anyio.abc.TaskGroup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The sign-in (or challenge answer) under way, which a sign-out cancels.
        self._signing_in: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        state = "signed-in" if self._core.tokens is not None else "signed-out"
        is_open = self._task_group is not None
        return (
            f"SessionManager(client_id={self._config.user_pool_client_id!r}, "
            f"state={state!r}, open={is_open})"
        )

    @property
    def config(self) -> AuthConfig:
        """The configuration this manager was built with."""
        return self._config

    def _bind_to_running_loop(self) -> None:
        """Work on the running event loop; a manager serves one loop at a time.

        After its loop has stopped (a previous ``asyncio.run``), it moves to
        the new one: its locks and flights start afresh. Its connections
        were closed with the old loop (see CognitoTransport).
        """
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        if self._loop is not None and (self._loop.is_running() or self._task_group is not None):
            raise InvalidStateException(
                "this SessionManager is in use on another event loop",
                recovery_suggestion="Create one SessionManager per event loop (thread).",
            )
        self._loop = loop
        self._lock = anyio.Lock()
        self._flight = SingleFlight()

    async def __aenter__(self) -> SessionManager:
        """Open the manager: start its background work (refresh loop, listeners).

        Raises:
            InvalidStateException: It is open already (one ``async with`` at a
                time), or its event loop is running in another thread.
        """
        if self._task_group is not None:
            raise InvalidStateException(
                "this SessionManager is already open",
                recovery_suggestion="Enter `async with manager` once; share the open manager.",
            )
        self._bind_to_running_loop()
        group = anyio.create_task_group()
        await group.__aenter__()
        self._task_group = group
        self._hub.attach(group)
        group.start_soon(self._refresh_loop.run)
        if self._store.coordinated is not None:
            group.start_soon(self._follow_other_processes, self._store.coordinated)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the background work and release connections; the stored session is kept.

        Call it from the task that opened the manager (``async with`` does).
        Closing a closed manager does nothing; it can be opened again.
        """
        if self._task_group is not None:
            await self._let_a_refresh_land()
        group, self._task_group = self._task_group, None
        try:
            if group is not None:
                self._hub.detach()
                group.cancel_scope.cancel()
                await group.__aexit__(None, None, None)
            await self._settle_before_leaving()
        finally:
            # Even when the event loop is shutting down around us (asyncio.run's end).
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await self._transport.aclose()

    async def _let_a_refresh_land(self) -> None:
        """Let a background refresh already sent finish before its task is cancelled.

        Its answer may carry a rotated refresh token that Cognito has already
        put in place of the stored one: cancelled, that answer is lost and the
        session with it (the next process finds a refresh token Cognito refuses).
        """
        if self._loop is not asyncio.get_running_loop():
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(self._config.request_timeout):
            await self._flight.idle()

    async def _settle_before_leaving(self) -> None:
        """Let a refresh run by a caller finish (its connection is about to close: a
        rotated refresh token must not be lost with it), and try a sign-out's storage
        clear once more, so a restart cannot restore the session."""
        if self._loop is not asyncio.get_running_loop():
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(self._config.request_timeout):
            await self._flight.idle()
            if not self._core.settled:
                async with self._lock:
                    await self._core.land_sign_out()

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
        self._bind_to_running_loop()
        async with self._lock:
            await self._core.load()
            if self._core.tokens is not None:
                raise UserAlreadyAuthenticatedException(
                    "a user is already signed in",
                    recovery_suggestion="Call sign_out() before signing in again.",
                )
            self._pending = None
            epoch = self._core.epoch
            with self._cancelled_by_sign_out() as scope:
                outcome = await self._sign_in_flow.start(username, password, auth_flow)
                return await self._settle(
                    outcome, login_id=username, auth_flow=auth_flow, epoch=epoch
                )
            raise _signed_out_meanwhile(scope)

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
        self._bind_to_running_loop()
        async with self._lock:
            epoch = self._core.epoch
            pending = self._pending
            if pending is None:
                raise InvalidParameterException(
                    "no sign-in is waiting for a challenge response",
                    recovery_suggestion="Call sign_in() first.",
                )
            with self._cancelled_by_sign_out() as scope:
                try:
                    outcome = await self._sign_in_flow.answer(
                        pending, challenge_response, user_attributes or {}
                    )
                except NotAuthorizedException:
                    self._pending = None  # the challenge session is gone
                    raise
                return await self._settle(
                    outcome, login_id=pending.login_id, auth_flow=pending.auth_flow, epoch=epoch
                )
            raise _signed_out_meanwhile(scope)

    @contextlib.contextmanager
    def _cancelled_by_sign_out(self) -> Iterator[anyio.CancelScope]:
        with anyio.CancelScope() as scope:
            self._signing_in = scope
            try:
                yield scope
            finally:
                self._signing_in = None

    async def _settle(
        self,
        outcome: AuthenticationResult | PendingChallenge,
        *,
        login_id: str,
        auth_flow: str,
        epoch: int,
    ) -> SignInResult:
        if isinstance(outcome, PendingChallenge):
            self._pending = outcome
            return SignInResult(is_signed_in=False, next_step=next_step_for(outcome.challenge))
        self._pending = None
        details = SignInDetails(login_id=login_id, auth_flow_type=auth_flow)
        try:
            await self._core.adopt(outcome, details, epoch)
        except AuthError:
            # Not kept: the tokens Cognito issued must not live on unseen.
            if outcome.refresh_token is not None:
                await self._revoke_quietly(outcome.refresh_token)
            raise
        self._refresh_loop.wake()  # fetch the user's credentials now, and schedule the refresh
        return SignInResult(is_signed_in=True, next_step=SignInNextStep(sign_in_step="DONE"))

    async def sign_out(self, *, global_sign_out: bool = False) -> SignOutResult:
        """Sign the user out: forget the session, clear the storage, revoke the refresh token.

        The session ends in memory at once, before anything is awaited: a
        refresh in flight is cancelled and its result, if it lands, is
        discarded. Then the stored session is cleared (when the storage
        fails, the clear is retried in the background and before any later
        sign-in, so a restart cannot restore the session) and Cognito is told.
        Neither failure is raised: both are reported in the result and logged.

        Args:
            global_sign_out: Sign out every device of the user (GlobalSignOut)
                instead of revoking only this session's refresh token.
        """
        self._bind_to_running_loop()
        tokens = self._core.forget_now()
        self._pending = None  # a challenge half-answered is abandoned too
        self._flight.abort()
        if self._signing_in is not None:
            self._signing_in.cancel()
        self._refresh_loop.wake()
        async with self._lock:
            cleared, stored = await self._core.land_sign_out()
        tokens = tokens or stored  # never loaded: what was stored is what is revoked
        if tokens is None:
            return SignOutResult(revoked=False, storage_cleared=cleared)
        try:
            with anyio.CancelScope(shield=True):
                await self._revoke(tokens, global_sign_out=global_sign_out)
        except AuthError as err:
            _log.warning("signed out locally; Cognito was not told (%s)", err.name)
            return SignOutResult(revoked=False, error=err, storage_cleared=cleared)
        return SignOutResult(revoked=True, storage_cleared=cleared)

    async def _revoke_quietly(self, refresh_token: str) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await self._user_pool.revoke_token(refresh_token)
            except AuthError as err:
                _log.warning("could not revoke the discarded tokens (%s)", err.name)

    async def _revoke(self, tokens: TokenSet, *, global_sign_out: bool) -> None:
        if global_sign_out:
            await self._user_pool.global_sign_out(tokens.access_token.to_string())
        elif tokens.refresh_token is not None:
            await self._user_pool.revoke_token(tokens.refresh_token)

    # -- the session ---------------------------------------------------------

    async def fetch_auth_session(self, *, force_refresh: bool = False) -> AuthSession:
        """Return the current session, refreshing what is due.

        Signed in: tokens, and credentials with the identity id when an
        Identity Pool is configured. Signed out: guest credentials when
        ``allow_guest_access`` is set, otherwise an empty session. A fresh
        session is returned from memory at once; one past its refresh time
        but not expired is returned at once too while the background
        refresh replaces it; an expired one is refreshed first.

        Args:
            force_refresh: Refresh tokens and credentials now, and wait for it.

        Raises:
            NotAuthorizedException: (and the other definitive failures) the
                refresh token no longer works; the session has been cleared.
            NetworkError: A refresh was needed and Cognito could not be reached.
        """
        if not force_refresh:
            core = self._core
            now = self._clock.monotonic()
            if now < core.fresh_until or (now < core.usable_until and self._task_group is not None):
                return core.session
        self._bind_to_running_loop()
        session, _ = await self._flight.run(
            self._refresh, forced=force_refresh, task_group=self._running_group
        )
        return session

    def _running_group(self) -> anyio.abc.TaskGroup | None:
        return self._task_group

    def _due(self) -> float:
        """When the background loop next works: at once while storage lags behind memory."""
        return self._core.fresh_until if self._core.settled else -math.inf

    async def _refresh(self, forced: bool) -> tuple[AuthSession, bool]:
        async with self._lock:
            return await self._core.refresh(forced)

    async def _follow_other_processes(self, shared: CoordinatedStorage) -> None:
        """Apply what other processes announce; after a lost feed, re-read once.

        Nothing escapes: whatever goes wrong (the storage, a stray message, a
        bug) is logged and retried after a backoff, never raised into the
        manager's task group, which would end the user's ``async with``.
        """
        backoff = Backoff(initial=0.5, maximum=10.0)
        while True:
            try:
                async for note in shared.messages():
                    await self._reconcile(note)
                    backoff.reset()
                reason = "the feed ended"
            except Exception as err:  # noqa: BLE001 (see the docstring)
                reason = _name_of(err)
            delay = backoff.next_delay()
            _log.error("lost the shared storage (%s); re-reading in %.1f s", reason, delay)
            await anyio.sleep(delay)
            with contextlib.suppress(Exception):
                await self._reconcile(None)

    async def _reconcile(self, note: str | None) -> None:
        async with self._lock:
            changed = await self._core.reconcile(note)
        if changed:
            self._refresh_loop.wake()  # a new session has a new schedule

    async def _refresh_in_background(self) -> bool:
        # Run in the loop's own task: a flight started on the group at the
        # moment the event loop shuts down would be cancelled before it began.
        _, succeeded = await self._flight.run(
            self._refresh, forced=False, task_group=self._running_group, inline=True
        )
        return succeeded

    async def get_current_user(self) -> AuthUser:
        """Return the signed-in user, from the (refreshed if needed) access token.

        Raises:
            UserUnAuthenticatedException: Nobody is signed in.
        """
        if not self._core.tokens_usable():
            try:
                await self.fetch_auth_session()
            except AuthError:
                if not self._core.tokens_usable():  # the tokens, not the credentials, failed
                    raise
        tokens = self._core.tokens
        if tokens is None:
            raise UserUnAuthenticatedException(
                "no user is signed in", recovery_suggestion="Call sign_in() first."
            )
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
        return await operation(credentials_of(await self.fetch_auth_session()))

    # -- events --------------------------------------------------------------

    def subscribe(
        self, listener: Listener, *, events: Collection[EventName] | None = None
    ) -> Callable[[], None]:
        """Call ``listener`` (sync or async) with every :class:`SessionEvent`.

        Listeners run on the manager's task group while it is open, each in
        order of its events; one that raises is logged, one that hangs is
        cancelled after ``listener_timeout``. Neither delays a refresh or
        other listeners.

        Args:
            listener: Called with each event.
            events: Only these event names (all by default).

        Returns:
            A function that unsubscribes.
        """
        return self._hub.subscribe(listener, events)

    def events(self, *, events: Collection[EventName] | None = None) -> EventStream:
        """An async iterator of session events from this call on.

        It buffers ``event_buffer`` events; when the reader falls further
        behind, the oldest are dropped (counted in ``.dropped``, and a
        warning logged). ``await stream.aclose()`` or ``async with`` unsubscribes.
        """
        return self._hub.stream(events)


def _signed_out_meanwhile(scope: anyio.CancelScope) -> InvalidStateException:
    return InvalidStateException(
        "sign_out() was called during this sign-in; it was abandoned"
        if scope.cancelled_caught
        else "the sign-in ended without an answer"
    )


def _name_of(error: BaseException) -> str:
    return error.name if isinstance(error, AuthError) else type(error).__name__


def _require_text(field: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidParameterException(f"{field} must be a non-empty string")
