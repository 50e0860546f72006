"""SessionManager: signs a user in, holds the session and keeps it fresh.

While open (``async with``) the manager owns a task group running the
background refresh loop and the event listeners. A fetch of a fresh session
compares the clock with one number published with the session (the
``Schedule.serves`` decision, taken at publication) and returns the cached
immutable session; anything else goes through single flight, so any
number of callers cause one refresh. The parts are built in ``_assembly``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from types import TracebackType
from typing import TypeVar

import anyio
import anyio.abc

from ._assembly import assemble
from ._checkpoint_lock import CheckpointLock
from ._client_credentials_config import ClientCredentialsConfig
from ._cognito import Transport
from ._cognito_client import CognitoClient
from ._config import AuthConfig, check_client_metadata
from ._errors import (
    AuthError,
    InvalidParameterException,
    InvalidStateException,
    UserUnAuthenticatedException,
)
from ._events import EventHub, EventName, EventStream, Listener
from ._fleet_follower import follow_other_processes
from ._flight import FlightInterrupted, SingleFlight
from ._handed_in import check_handed_in
from ._models import (
    AuthDevice,
    AuthSession,
    AuthUser,
    AWSCredentials,
    SignInResult,
    SignOutResult,
    UserInfo,
    credentials_of,
)
from ._redirect_desk import RedirectDesk
from ._refresh_loop import RefreshLoop
from ._sign_in import SignInRequest
from ._sign_in_desk import SignInDesk, require_text
from ._sign_in_state import SignInStates
from ._timing import Backoff, Clock, SystemClock
from ._tokens import TokenSet
from .storage import KeyValueStorage

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

    With a :class:`ClientCredentialsConfig` the session is the app client's
    own (machine to machine): there is no user to sign in, the first fetch
    (or the background loop, once open) requests the token and it is renewed
    ahead of expiry like any other; the user methods raise
    :class:`InvalidStateException`.

    Made from a :class:`CognitoClient`, it shares the client's connections
    with every other session made from it (many users in one process); its
    :meth:`aclose` leaves them to the client.

    Args:
        config: Where the pools are and the session policy, or an app client's
            own credentials, or a :class:`CognitoClient` shared by many sessions.
        storage: Where the session is kept; a new :class:`MemoryStorage` by default.
        transport: What sends Cognito calls (e.g. a ``FakeCognito`` in tests); by
            default an aiohttp one this manager opens and closes. A given transport
            is never closed by the manager: it belongs to whoever passed it. With
            a CognitoClient, give the transport to the client.
        clock: The wall clock (a seam for tests).
        event_buffer: Events kept per subscriber before the oldest is dropped.
        listener_timeout: Seconds an async listener may take per event.
    """

    def __init__(
        self,
        config: AuthConfig | ClientCredentialsConfig | CognitoClient,
        *,
        storage: KeyValueStorage | None = None,
        transport: Transport | None = None,
        clock: Clock | None = None,
        event_buffer: int = 100,
        listener_timeout: float = 5.0,
    ) -> None:
        client = _client_of(config, transport)
        #: The client this manager made for itself, which it closes (None: a shared one).
        self._own_client = None if client is config else client
        config = self._config = client.config
        self._clock = clock if clock is not None else SystemClock()
        self._hub = EventHub(buffer=event_buffer, listener_timeout=listener_timeout)
        engine = assemble(client, storage=storage, clock=self._clock, hub=self._hub)
        self._store = engine.store
        self._source, self._core = engine.source, engine.core
        self._user_pool = engine.user_pool
        self._devices = engine.devices
        self._lock = CheckpointLock()
        self._flight: SingleFlight[tuple[AuthSession, bool]] = SingleFlight()
        self._refresh_loop = RefreshLoop(
            self._clock, self._core.due, self._refresh_in_background, Backoff()
        )
        # The sign-in and redirect desks are made at their first use: a service
        # holding ten thousand restored sessions signs none of them in.
        self._desk: SignInDesk | None = None
        self._redirects: RedirectDesk | None = None
        self._oauth = engine.oauth
        self._task_group: anyio.abc.TaskGroup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The fast path (fetch_auth_session): the clock's monotonic function bound
        # once, and the published session with its deadline kept here, on the
        # manager, where the core hands each new one over (_take_published).
        self._monotonic = self._clock.monotonic
        self._take_published(self._core.session, self._core.served_until)
        self._core.on_publish = self._take_published

    def __repr__(self) -> str:
        state = "signed-in" if self._core.tokens is not None else "signed-out"
        is_open = self._task_group is not None
        return (
            f"SessionManager(client_id={self._config.user_pool_client_id!r}, "
            f"state={state!r}, open={is_open})"
        )

    @property
    def config(self) -> AuthConfig:
        """The configuration this manager was built with (for a ClientCredentialsConfig,
        the AuthConfig it stands for)."""
        return self._config

    def _user_desk(self) -> SignInDesk:
        """The sign-in desk; refused for an app client's own session, which has no user."""
        if self._user_pool is None:
            raise InvalidStateException(
                "this is an app client's own session (client credentials): it has no user",
                recovery_suggestion="Call fetch_auth_session(); its token is requested for you.",
            )
        if self._desk is None:
            self._desk = SignInDesk(
                self._user_pool,
                self._core,
                self._refresh_loop.wake,
                states=SignInStates(self._config, self._clock.time),
                totp_issuer=self._config.totp_issuer,
            )
        return self._desk

    def _redirect_desk(self) -> RedirectDesk:
        """The desk of the OAuth redirect sign-in (the hosted UI)."""
        if self._redirects is None:
            self._redirects = RedirectDesk(
                self._oauth,
                self._config,
                self._clock,
                sign_in_with=self._sign_in_with,
                require_signed_out=self._require_signed_out,
            )
        return self._redirects

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
        self._lock = CheckpointLock()
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
        self._core.set_background(True)
        self._hub.attach(group)
        self._refresh_loop.start()
        if self._store.coordinated is not None:
            group.start_soon(follow_other_processes, self._store.coordinated, self._reconcile)
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
        # A refresh already sent (by the loop or a caller) lands before its task
        # is cancelled or its connection closed: its answer may carry a rotated
        # refresh token Cognito has already put in place of the stored one, and
        # lost, the session goes with it. Then a sign-out's storage clear is
        # tried once more, so a restart cannot restore the session.
        if self._task_group is not None:
            await self._settle(land_sign_out=False)
        group, self._task_group = self._task_group, None
        self._core.set_background(False)
        try:
            await self._refresh_loop.stop()
            if group is not None:
                self._hub.detach()
                if self._loop is asyncio.get_running_loop():
                    group.cancel_scope.cancel()
                    await group.__aexit__(None, None, None)
                # else it was opened on an event loop that has ended (an earlier
                # asyncio.run), which cancelled its tasks: nothing is left to wait for.
            await self._settle(land_sign_out=True)
        finally:
            # Even when the event loop is shutting down around us (asyncio.run's end).
            if self._own_client is not None:
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await self._own_client.aclose()

    async def _settle(self, *, land_sign_out: bool) -> None:
        """Let the refresh in flight land (and a sign-out's clear), within ``request_timeout``."""
        if self._loop is not asyncio.get_running_loop():
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(self._config.request_timeout):
            await self._flight.idle()
            if land_sign_out and not self._core.settled:
                async with self._lock:
                    await self._core.land_sign_out()

    # -- sign-in -----------------------------------------------------------

    async def sign_in(
        self,
        username: str,
        password: str | None = None,
        *,
        auth_flow: str = "USER_SRP_AUTH",
        preferred_challenge: str | None = None,
        client_metadata: Mapping[str, str] | None = None,
    ) -> SignInResult:
        """Sign a user in, with any of Amplify's flows.

        Args:
            username: The username or a sign-in alias (email, phone).
            password: The user's password, for the flows that use one (never
                logged or kept); refused by those that do not.
            auth_flow: ``"USER_SRP_AUTH"`` (the password never leaves this
                process), ``"USER_PASSWORD_AUTH"``, ``"CUSTOM_WITH_SRP"``,
                ``"CUSTOM_WITHOUT_SRP"`` (the pool's Lambda challenges) or
                ``"USER_AUTH"`` (choice-based: passwordless codes or a password).
            preferred_challenge: With ``USER_AUTH``, the first factor to try:
                ``"EMAIL_OTP"``, ``"SMS_OTP"``, ``"PASSWORD"`` or
                ``"PASSWORD_SRP"`` (these two need the password). None: the
                user chooses from ``next_step.available_challenges``.
            client_metadata: For the pool's Lambda triggers; by default
                ``AuthConfig.client_metadata``.

        Returns:
            Signed in, or the step to answer with :meth:`confirm_sign_in`.

        Raises:
            UserAlreadyAuthenticatedException: A user is signed in already.
            InvalidParameterException: Arguments that do not go together (a
                password a flow does not use, a missing one...).
            SignInException: ``WEB_AUTHN``, which needs a platform authenticator.
            NotAuthorizedException: Wrong password (and other refusals).
            UserNotFoundException, UserNotConfirmedException: As Cognito says.
            NetworkError: Cognito could not be reached.
        """
        request = SignInRequest.checked(
            username, password, auth_flow, preferred_challenge, client_metadata
        )
        desk = self._user_desk()
        self._bind_to_running_loop()
        async with self._lock:
            return await desk.sign_in(request)

    async def confirm_sign_in(
        self,
        challenge_response: str,
        *,
        user_attributes: Mapping[str, str] | None = None,
        client_metadata: Mapping[str, str] | None = None,
        state: str | None = None,
    ) -> SignInResult:
        """Answer the step a sign-in returned (see the README's table of steps).

        Args:
            challenge_response: The code, the new password, the password, the
                custom answer, the email address to set up, or a choice:
                ``"SMS"``/``"TOTP"``/``"EMAIL"`` for an MFA (setup) selection,
                ``"EMAIL_OTP"``/``"SMS_OTP"``/``"PASSWORD"``/``"PASSWORD_SRP"``
                for a first-factor selection.
            user_attributes: Required attributes for a new password.
            client_metadata: For the pool's Lambda triggers; by default
                ``AuthConfig.client_metadata``.
            state: ``next_step.state`` of a sign-in another manager (or process)
                started, to answer it here instead of this manager's own.

        Raises:
            InvalidParameterException: No sign-in waits for an answer, an answer
                the step cannot take (it stays open), or a state that was altered,
                sealed with another key or made for another app client.
            CodeMismatchException: A wrong code; the step stays open.
            NotAuthorizedException: The challenge (or the state) expired; sign in again.
            UserAlreadyAuthenticatedException: A state was given while a user is signed in.
        """
        require_text("challenge_response", challenge_response)
        check_client_metadata(client_metadata)
        check_client_metadata(user_attributes, "user_attributes")
        desk = self._user_desk()
        self._bind_to_running_loop()
        async with self._lock:
            return await desk.confirm(
                challenge_response, user_attributes or {}, client_metadata, state
            )

    async def sign_in_with_tokens(
        self,
        refresh_token: str,
        *,
        access_token: str | None = None,
        id_token: str | None = None,
        username: str | None = None,
    ) -> SignInResult:
        """Start the session from tokens obtained elsewhere, e.g. a frontend's refresh token.

        The tokens are checked (they must come from this pool, for this app
        client), then the refresh token is used at once: the session is what
        Cognito answers, stored and refreshed as any other. Nothing is stored
        when Cognito refuses the refresh token. A refresh token is shared with
        whoever handed it in: :meth:`sign_out` revokes it for them too.

        Args:
            refresh_token: The User Pool refresh token.
            access_token: Its access token, if at hand: checked, and it names
                the user (which an app client with a secret needs).
            id_token: Its id token, if at hand: checked likewise.
            username: Cognito's username, for an app client with a secret when
                no token names it.

        Raises:
            InvalidTokenException: A token that is malformed, or from another
                pool or app client.
            InvalidParameterException: No refresh token, or no username where
                the client secret needs one.
            NotAuthorizedException: Cognito refuses the refresh token.
            UserAlreadyAuthenticatedException: A user is signed in already.
        """
        handed = check_handed_in(self._config, refresh_token, access_token, id_token, username)
        desk = self._user_desk()
        user_pool = self._user_pool
        assert user_pool is not None
        self._bind_to_running_loop()
        async with self._lock:
            return await desk.sign_in_with(
                lambda: user_pool.tokens_for(handed.refresh_token, handed.username),
                discard=False,  # the refresh token is still its giver's
            )

    async def sign_in_with_redirect(
        self, *, provider: str | None = None, open_url: Callable[[str], object] | None = None
    ) -> SignInResult:
        """Sign in through the hosted UI (managed login) in a browser, for command lines.

        Amplify's ``signInWithRedirect`` with a loopback redirect (RFC 8252):
        a listener on 127.0.0.1 (on the port of the loopback URL in
        ``OAuthConfig.redirect_sign_in``, or a free one), the authorize URL
        with ``state``, ``nonce`` and a PKCE S256 challenge opened in the
        browser, then the code exchanged. Redirects with another ``state``
        are refused and the wait goes on (bound it with ``anyio.fail_after``).
        The session refreshes as any other.

        Args:
            provider: A federated identity provider to go straight to
                (``"Google"``, ``"SignInWithApple"``, a SAML or OIDC provider's name).
            open_url: Called with the authorize URL (e.g. print it on a
                headless terminal); by default the web browser opens it.

        Raises:
            InvalidConfigurationException: No ``AuthConfig.oauth``.
            OAuthError: The hosted UI or the token endpoint refused.
            UserAlreadyAuthenticatedException: A user is signed in already.
        """
        self._user_desk()
        self._bind_to_running_loop()
        return await self._redirect_desk().through_browser(provider, open_url)

    def begin_sign_in_with_redirect(self, redirect_uri: str, *, provider: str | None = None) -> str:
        """Start a hosted-UI sign-in that comes back to ``redirect_uri`` (a web backend's).

        Returns:
            The authorize URL to send the browser to; then pass the URL the
            browser comes back with to :meth:`complete_sign_in_with_redirect`.
            One sign-in is under way per manager: a new one replaces it.
        """
        self._user_desk()
        return self._redirect_desk().begin(redirect_uri, provider)

    async def complete_sign_in_with_redirect(self, callback_url: str) -> SignInResult:
        """Finish the hosted-UI sign-in :meth:`begin_sign_in_with_redirect` started.

        Raises:
            InvalidParameterException: No sign-in under way, or a redirect with
                another ``state`` (the sign-in stays under way).
            OAuthError: The hosted UI refused, or the code is spent (``invalid_grant``).
        """
        self._user_desk()
        self._bind_to_running_loop()
        return await self._redirect_desk().complete(callback_url)

    async def _sign_in_with(self, obtain: Callable[[], Awaitable[TokenSet]]) -> SignInResult:
        async with self._lock:
            return await self._user_desk().sign_in_with(obtain, discard=True)

    async def _require_signed_out(self) -> None:
        async with self._lock:
            await self._user_desk().require_nobody_signed_in()

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
        if self._desk is not None:
            self._desk.abandon()
        if self._redirects is not None:
            self._redirects.abandon()
        self._flight.abort()
        self._refresh_loop.wake()
        async with self._lock:
            cleared, stored = await self._core.land_sign_out()
        tokens = tokens or stored  # never loaded: what was stored is what is revoked
        if tokens is None or self._user_pool is None:  # an app client's token just expires
            return SignOutResult(revoked=False, storage_cleared=cleared)
        logout_url = self._redirect_desk().logout_url(tokens)
        try:
            with anyio.CancelScope(shield=True):
                await self._source.revoke(tokens, everywhere=global_sign_out)
        except AuthError as err:
            _log.warning("signed out locally; Cognito was not told (%s)", err.name)
            return SignOutResult(
                revoked=False, error=err, storage_cleared=cleared, hosted_ui_logout_url=logout_url
            )
        return SignOutResult(revoked=True, storage_cleared=cleared, hosted_ui_logout_url=logout_url)

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
        # Schedule.serves, decided when the session was published. Every load here
        # is an attribute of the manager itself and the clock is one call (a C one
        # for the SystemClock), most of what a cached fetch costs. The clock goes
        # through a local: ``self._monotonic()`` would be a method lookup, which
        # CPython 3.11 cannot specialise for an instance attribute (20 ns a call).
        monotonic = self._monotonic
        if not force_refresh and monotonic() < self._served_until:
            return self._session
        self._bind_to_running_loop()
        session, _ = await self._shared_refresh(forced=force_refresh, inline=False)
        return session

    def _take_published(self, session: AuthSession, served_until: float) -> None:
        """The core published ``session``, served until ``served_until`` (monotonic)."""
        self._session, self._served_until = session, served_until

    async def _shared_refresh(self, *, forced: bool, inline: bool) -> tuple[AuthSession, bool]:
        """Refresh through single flight: one run, however many callers."""

        async def refresh() -> tuple[AuthSession, bool]:
            async with self._lock:
                epoch = self._core.epoch
                try:
                    # A refused or signed-out app client session is obtained again by
                    # a caller only, never by the background loop.
                    return await self._core.refresh(forced, obtain=not inline)
                finally:
                    if epoch != self._core.epoch:  # a session began or ended: a new schedule
                        self._refresh_loop.wake()

        try:
            return await self._flight.run(
                refresh, exclusive=forced, task_group=self._running_group, inline=inline
            )
        except FlightInterrupted:
            raise InvalidStateException(
                "the session manager closed during the refresh",
                recovery_suggestion="Fetch the session while the manager is open.",
            ) from None

    def _running_group(self) -> anyio.abc.TaskGroup | None:
        return self._task_group

    async def _reconcile(self, note: str | None) -> None:
        async with self._lock:
            changed = await self._core.reconcile(note)
        if changed:
            self._refresh_loop.wake()  # a new session has a new schedule

    async def _refresh_in_background(self) -> bool:
        core = self._core
        if core.standing_paused and core.tokens is None and core.settled:
            return True  # a refused (or signed-out) app client session waits for a caller
        # Run in the loop's own task: a flight started on the group at the
        # moment the event loop shuts down would be cancelled before it began.
        _, succeeded = await self._shared_refresh(forced=False, inline=True)
        return succeeded

    async def get_current_user(self) -> AuthUser:
        """Return the signed-in user, from the (refreshed if needed) access token.

        Raises:
            UserUnAuthenticatedException: Nobody is signed in.
        """
        return (await self._current_tokens()).to_auth_user()

    async def _current_tokens(self) -> TokenSet:
        """The signed-in user's tokens, refreshed first if they expired.

        Credentials that fail to refresh do not matter here: only the tokens do.
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
        return tokens

    # -- devices ---------------------------------------------------------------

    async def remember_device(self) -> None:
        """Ask Cognito to remember this device: signing in on it then skips MFA.

        Needed on pools that remember devices only when the user opts in;
        elsewhere a confirmed device is remembered already. Devices are
        confirmed automatically at sign-in on pools with device tracking.

        Raises:
            UserUnAuthenticatedException: Nobody is signed in.
            DeviceMetadataNotFoundException: No confirmed device is stored.
        """
        self._user_desk()
        await self._devices.remember(await self._current_tokens())

    async def forget_device(self, device_key: str | None = None) -> None:
        """Make Cognito forget a device of the signed-in user (by default this one).

        Forgetting this device removes its stored record, so the next sign-in
        asks for MFA again. Cognito stops renewing the tokens issued to a
        forgotten device: this session is served until its tokens expire and
        ends at its next renewal (``tokenRefresh_failure`` then ``signedOut``).

        Args:
            device_key: The device to forget (an ``AuthDevice.id`` from
                :meth:`fetch_devices`); None: this device.

        Raises:
            UserUnAuthenticatedException: Nobody is signed in.
            DeviceMetadataNotFoundException: No key given and no device stored.
            ResourceNotFoundException: Cognito knows no such device.
        """
        if device_key is not None:
            require_text("device_key", device_key)
        self._user_desk()
        await self._devices.forget(await self._current_tokens(), device_key)

    async def fetch_devices(self) -> list[AuthDevice]:
        """Every device Cognito tracks for the signed-in user (all pages).

        Raises:
            UserUnAuthenticatedException: Nobody is signed in.
        """
        self._user_desk()
        return await self._devices.fetch(await self._current_tokens())

    async def is_authenticated(self) -> bool:
        """Return whether a user is signed in with a session that still works."""
        try:
            session = await self.fetch_auth_session()
        except AuthError as err:
            if err.ends_session:
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


def _client_of(
    config: AuthConfig | ClientCredentialsConfig | CognitoClient, transport: Transport | None
) -> CognitoClient:
    """The client a manager's session goes through: the one given, or its own."""
    if not isinstance(config, CognitoClient):
        return CognitoClient(config, transport=transport)
    if transport is not None:
        raise InvalidParameterException(
            "a SessionManager made from a CognitoClient uses the client's transport",
            recovery_suggestion="Pass the transport to CognitoClient(config, transport=...).",
        )
    return config
