"""The session's state and how it changes: load, refresh, adopt new tokens, forget.

The manager serialises every call here under its lock and shares refreshes
with single flight; this module decides what to refresh, applies the error
policy, publishes the immutable :class:`AuthSession` the fast path serves,
and emits the events.
"""

from __future__ import annotations

import json
import logging
import math
import random
import uuid

from ._cognito import AuthenticationResult
from ._config import AuthConfig
from ._credentials import IdentityCredentials
from ._errors import AuthError, InvalidTokenException, NotAuthorizedException, StorageException
from ._events import EventHub, EventName, SessionEvent
from ._jwt import numeric_claim
from ._models import AuthSession, SignInDetails
from ._policy import Clock, Phase, Schedule, local_deadline, phase, schedule
from ._refresh import TokenRefresher
from ._token_store import TokenSet, TokenStore, token_set_from

__all__ = ["DEFINITIVE_FAILURES", "SessionCore"]

_log = logging.getLogger("amplify_session")

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
_IAT_RESOLUTION = 1.0  # seconds


class SessionCore:
    """Tokens, credentials and the published session of one manager."""

    def __init__(
        self,
        *,
        config: AuthConfig,
        store: TokenStore,
        credentials: IdentityCredentials,
        refresher: TokenRefresher,
        clock: Clock,
        rng: random.Random | None,
        hub: EventHub,
    ) -> None:
        self._config = config
        self._store = store
        self._credentials = credentials
        self._refresher = refresher
        self._clock = clock
        self._rng = rng
        self._hub = hub
        self._loaded = False
        self._shared = store.coordinated  # RedisStorage and the like: refresh once per fleet
        self._origin = uuid.uuid4().hex  # tells our own announcements from others'
        self._unsaved = False
        self.tokens: TokenSet | None = None
        self._token_schedule = Schedule.never()
        self.session = _EMPTY_SESSION
        #: Before this local time the session is served as it is (FRESH).
        self.fresh_until = -math.inf
        #: Before this local time the session may be served while it is refreshed (STALE).
        self.usable_until = -math.inf

    def __repr__(self) -> str:
        state = "signed-in" if self.tokens is not None else "signed-out"
        return f"SessionCore(state={state!r}, loaded={self._loaded})"

    def tokens_usable(self) -> bool:
        """Whether there are tokens that have not expired."""
        return self.tokens is not None and self._clock.time() < self._token_schedule.expire_at

    async def load(self) -> None:
        """Read the stored session, once. An unreadable one means signed out."""
        if self._loaded:
            return
        self._loaded = True
        try:
            await self._credentials.load()
            tokens = await self._store.load()
        except AuthError as err:
            _log.warning("the stored session is unreadable (%s); signed out", err.name)
            self._publish()
            self._emit(EventName.SIGNED_OUT, error=err)
            return
        self._set_tokens(tokens)
        self._publish()

    async def refresh(self, forced: bool) -> tuple[AuthSession, bool]:
        """Refresh whatever is due (everything when ``forced``).

        Returns:
            The session, and whether every refresh succeeded.

        Raises:
            AuthError: A definitive refusal (the session is cleared), or a
                failure that leaves nothing usable, or any failure when forced.
        """
        await self.load()
        failures: list[AuthError] = []
        await self._save_unsaved()
        tokens_changed = await self._refresh_tokens(forced, failures)
        credentials_changed = await self._refresh_credentials(forced, failures)
        self._publish()
        if tokens_changed:
            self._emit(EventName.TOKEN_REFRESH)
        if credentials_changed:
            self._emit(EventName.CREDENTIALS_REFRESH)
        if failures and (forced or self._clock.time() >= self.usable_until):
            raise failures[0]
        # Tokens kept only in memory count as a failure for the background
        # loop, which comes back (with backoff) to store them.
        return self.session, not failures and not self._unsaved

    async def adopt(self, answer: AuthenticationResult, details: SignInDetails) -> None:
        """Take the tokens of a completed sign-in."""
        tokens = token_set_from(
            answer,
            now=self._clock.time(),
            username=None,
            refresh_token=answer.refresh_token,
            sign_in_details=details,
            device=(answer.device_key, answer.device_group_key),
        )
        await self._credentials.forget_primary_identity()
        self._set_tokens(tokens)
        await self._store.save(tokens)
        self._publish()
        self._emit(EventName.SIGNED_IN)
        await self._announce("tokens")

    async def forget(self, error: AuthError | None = None) -> TokenSet | None:
        """Sign out locally: memory and storage. Returns the tokens that were held."""
        await self.load()
        tokens = self.tokens
        self._set_tokens(None)
        await self._credentials.forget_identity()
        await self._store.clear()
        self._publish()
        self._emit(EventName.SIGNED_OUT, error=error)
        await self._announce("signedOut")
        return tokens

    async def _refresh_tokens(self, forced: bool, failures: list[AuthError]) -> bool:
        tokens = self.tokens
        if tokens is None:
            return False
        if not forced and phase(self._clock.time(), self._token_schedule) is Phase.FRESH:
            return False
        if self._shared is None:
            return await self._refresh_tokens_now(tokens, failures)
        return await self._refresh_tokens_shared(forced, failures)

    async def _refresh_tokens_shared(self, forced: bool, failures: list[AuthError]) -> bool:
        """Refresh under the fleet's lock, unless another process just did."""
        assert self._shared is not None
        changed: bool | None = None
        try:
            name = f"refresh:{self._config.user_pool_client_id}"
            async with self._shared.lock(name, wait=self._shared.lock_ttl + 1) as held:
                adopted = held and self._adopt_if_newer(await self._read_stored())
                fresh = phase(self._clock.time(), self._token_schedule) is Phase.FRESH
                if adopted and fresh and not forced:
                    changed = True  # another process refreshed: no Cognito call
                else:
                    assert self.tokens is not None
                    changed = await self._refresh_tokens_now(self.tokens, failures)
        except StorageException as err:
            if changed is None:
                _log.error("shared storage unavailable (%s); refreshing locally", err.name)
                assert self.tokens is not None
                changed = await self._refresh_tokens_now(self.tokens, failures)
        return changed

    async def _refresh_tokens_now(self, tokens: TokenSet, failures: list[AuthError]) -> bool:
        try:
            fresh = await self._fetch_tokens(tokens)
        except AuthError as err:
            self._emit(EventName.TOKEN_REFRESH_FAILURE, error=err)
            if err.name in DEFINITIVE_FAILURES:
                _log.info("token refresh refused (%s); signing out", err.name)
                await self.forget(error=err)
                raise
            failures.append(err)
            return False
        self._set_tokens(fresh)  # memory first: a rotated refresh token must not be lost
        self._unsaved = True
        await self._save_unsaved()
        return True

    async def _save_unsaved(self) -> None:
        """Store tokens that could not be stored before (the storage was down)."""
        if not self._unsaved or self.tokens is None:
            return
        try:
            await self._store.save(self.tokens)
        except AuthError as err:
            _log.error("tokens could not be stored (%s); kept in memory", err.name)
            return
        self._unsaved = False
        await self._announce("tokens")

    async def _read_stored(self) -> TokenSet | None:
        """The shared store's tokens; an unreadable session counts as none."""
        try:
            return await self._store.load()
        except InvalidTokenException:
            return None

    def _adopt_if_newer(self, stored: TokenSet | None) -> bool:
        """Take ``stored`` if another process stored newer tokens than ours."""
        ours = self.tokens
        if stored is None or (ours is not None and not _newer(stored, ours)):
            return False
        self._set_tokens(stored)
        return True

    async def reconcile(self, note: str | None) -> None:
        """Another process changed the shared session (``note`` None: we may have missed some).

        Adopts newer stored tokens (emitting our own events), follows a
        sign-out, and writes our tokens back where the storage lost them.
        """
        kind, origin = _parse_note(note)
        if origin == self._origin:
            return
        await self.load()
        await self._save_unsaved()
        had, stored = self.tokens, await self._read_stored()
        if self._adopt_if_newer(stored):
            self._publish()
            self._emit(EventName.TOKEN_REFRESH if had is not None else EventName.SIGNED_IN)
            return
        if had is None or stored is not None:
            return
        if kind == "signedOut":
            self._set_tokens(None)
            await self._credentials.forget_identity()
            self._publish()
            self._emit(EventName.SIGNED_OUT)
        else:  # the storage lost the session (a restart without persistence): restore it
            self._unsaved = True
            await self._save_unsaved()

    async def _announce(self, kind: str) -> None:
        if self._shared is None:
            return
        try:
            await self._shared.publish(json.dumps({"kind": kind, "origin": self._origin}))
        except StorageException as err:
            _log.warning("could not tell other processes about %s (%s)", kind, err.name)

    async def _fetch_tokens(self, tokens: TokenSet) -> TokenSet:
        if tokens.refresh_token is None:
            raise NotAuthorizedException("the session has no refresh token")
        username = tokens.access_token.payload.get("username")
        answer = await self._refresher.refresh(
            tokens.refresh_token,
            username=username if isinstance(username, str) else tokens.username,
            device_key=tokens.device_key,
        )
        return token_set_from(
            answer,
            now=self._clock.time(),
            username=tokens.username,
            refresh_token=answer.refresh_token or tokens.refresh_token,
            sign_in_details=tokens.sign_in_details,
            device=(tokens.device_key, tokens.device_group_key),
        )

    async def _refresh_credentials(self, forced: bool, failures: list[AuthError]) -> bool:
        when = self._credentials.schedule(self.tokens)
        if when == Schedule.never():
            return False
        if not forced and phase(self._clock.time(), when) is Phase.FRESH:
            return False
        try:
            await self._credentials.fetch(self.tokens)
        except AuthError as err:
            self._emit(EventName.CREDENTIALS_REFRESH_FAILURE, error=err)
            failures.append(err)
            return False
        return True

    def _set_tokens(self, tokens: TokenSet | None) -> None:
        self.tokens = tokens
        self._token_schedule = Schedule.never() if tokens is None else self._schedule_of(tokens)

    def _schedule_of(self, tokens: TokenSet) -> Schedule:
        # iat has whole seconds, so the measured drift can be up to a second
        # short: assume the worst, and a token is never served past its exp.
        expires_at = local_deadline(
            tokens.server_expiry, drift=tokens.clock_drift, tolerance=_IAT_RESOLUTION
        )
        issued_at = numeric_claim(tokens.access_token.payload, "iat")
        lifetime = (
            tokens.server_expiry - issued_at - _IAT_RESOLUTION  # the part we count on
            if issued_at is not None
            else expires_at - self._clock.time()
        )
        return schedule(
            expires_at=expires_at,
            lifetime=lifetime,
            refresh_window=self._config.refresh_window,
            tolerance=self._config.expiry_tolerance,
            rng=self._rng,
        )

    def _publish(self) -> None:
        """Make the current state the session the fast path serves."""
        tokens = self.tokens
        credentials, identity_id = self._credentials.cached(tokens)
        session = AuthSession(
            tokens=tokens.to_auth_tokens() if tokens else None,
            credentials=credentials,
            identity_id=identity_id,
            user_sub=tokens.user_sub if tokens else None,
        )
        if session != self.session:
            self.session = session
        when = self._token_schedule.earliest(self._credentials.schedule(tokens))
        self.fresh_until, self.usable_until = when.refresh_at, when.expire_at

    def _emit(self, name: EventName, *, error: AuthError | None = None) -> None:
        self._hub.emit(SessionEvent(name=name, session=self.session, error=error))


def _newer(stored: TokenSet, ours: TokenSet) -> bool:
    """Whether ``stored`` replaces ``ours``: other tokens, issued no earlier."""
    if stored.access_token.raw == ours.access_token.raw:
        return False
    stored_iat = numeric_claim(stored.access_token.payload, "iat")
    our_iat = numeric_claim(ours.access_token.payload, "iat")
    if stored_iat is not None and our_iat is not None:
        return stored_iat >= our_iat
    return True


def _parse_note(note: str | None) -> tuple[str | None, str | None]:
    try:
        value = json.loads(note) if note else {}
    except ValueError:
        return None, None
    if not isinstance(value, dict):
        return None, None
    kind, origin = value.get("kind"), value.get("origin")
    return (kind if isinstance(kind, str) else None), (origin if isinstance(origin, str) else None)
