"""The session's state and how it changes: load, refresh, adopt new tokens, forget.

The manager serialises every call here under its lock (except
:meth:`SessionCore.forget_now`, which must not wait) and shares refreshes with
single flight; this module decides what to refresh, applies the error policy,
keeps memory and storage consistent, publishes the immutable
:class:`AuthSession` the fast path serves, and emits the events.

Rules kept here:

- Memory first, storage second: refreshed tokens are served even when they
  cannot be stored (the loop retries the write); a sign-in is taken only once
  it is stored (a caller is told when it is not, and nothing is held).
- A sign-out is final. :meth:`forget_now` bumps the epoch at once; a refresh
  that began before (here) is discarded when it lands, and one in another
  process finds the stored sign-out marker and follows it.
- Storage errors never leave as anything but :class:`StorageException`, and
  stored data that does not parse counts as no session.
- A standing session (no user: an app client's own tokens) is obtained by
  the refresh that finds none, as a sign-in; after a refusal or a sign-out
  it waits for a caller's fetch (the background loop does not ask again).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import uuid
from collections.abc import Callable

import anyio

from ._config import AuthConfig
from ._credentials import IdentityCredentials
from ._errors import (
    AuthError,
    InvalidStateException,
    InvalidTokenException,
    StorageException,
)
from ._events import EventHub, EventName, SessionEvent
from ._models import AuthSession
from ._server_clock import ServerClock
from ._sign_out import PendingSignOut, land, origin_of
from ._timing import Clock, Schedule
from ._token_source import TokenSource
from ._token_store import TokenStore
from ._tokens import TokenSet, issued_at

__all__ = ["SessionCore"]

_log = logging.getLogger("amplify_session")

_EMPTY_SESSION = AuthSession()
#: Nothing is known yet: every fetch (and the loop) reads the storage again.
_UNKNOWN = Schedule(-math.inf, -math.inf)


class SessionCore:
    """Tokens, credentials and the published session of one manager."""

    def __init__(
        self,
        *,
        config: AuthConfig,
        store: TokenStore,
        credentials: IdentityCredentials,
        source: TokenSource,
        clock: Clock,
        rng: random.Random | None,
        hub: EventHub,
    ) -> None:
        self._config = config
        self._store = store
        self._credentials = credentials
        self._source = source
        self._clock = clock
        self._hub = hub
        self._loaded = False
        self._origin = uuid.uuid4().hex  # tells our own announcements from others'
        self._unsaved = False  # tokens in memory that the storage does not have yet
        self._save_error: StorageException | None = None
        self._reported_unreadable = False
        #: The storage holds a session that does not parse: a sign-out clears it.
        self._stored_unreadable = False
        self._lock_name = f"refresh:{config.user_pool_client_id}"
        #: A standing session's name in storage (None: sessions begin with a sign-in).
        self._standing = source.standing_user
        #: The standing session was refused or signed out: only a caller obtains it again.
        self.standing_paused = False
        #: The tokens in memory were obtained here and are stored as a sign-in.
        self._obtained = False
        #: A sign-out whose storage clear has not landed for good.
        self._sign_out: PendingSignOut | None = None
        self._server_clock = ServerClock(clock, config, rng)
        #: Bumped by every sign-in and sign-out: a refresh begun in another epoch is void.
        self.epoch = 0
        self.tokens: TokenSet | None = None
        self._token_schedule = Schedule.never()
        self.session = _EMPTY_SESSION
        #: When the published session is due for refresh and when it expires.
        self.schedule = _UNKNOWN
        #: Whether a background loop replaces a stale session (the manager is open).
        self._background = False
        #: ``schedule.served_until(background)``: the fast path's one comparison.
        self.served_until = _UNKNOWN.served_until(False)
        #: Told ``(session, served_until)`` whenever either changes: the manager's
        #: fast path keeps a copy of both on itself (see fetch_auth_session).
        self.on_publish: Callable[[AuthSession, float], None] = _nobody_listens

    def __repr__(self) -> str:
        state = "signed-in" if self.tokens is not None else "signed-out"
        return f"SessionCore(state={state!r}, loaded={self._loaded})"

    @property
    def settled(self) -> bool:
        """Whether storage holds what memory does (no write or sign-out clear pending)."""
        return not self._unsaved and self._sign_out is None

    def tokens_usable(self) -> bool:
        """Whether there are tokens that have not expired."""
        return self.tokens is not None and self._token_schedule.serves(
            self._clock.monotonic(), True
        )

    def due(self) -> float:
        """When the background loop next works: at once while storage lags behind memory."""
        if not self.settled:
            return -math.inf
        return math.inf if self.standing_paused else self.schedule.refresh_at

    # -- reading the stored session -------------------------------------------

    async def load(self) -> None:
        """Read the stored session, once. One that does not parse means signed out.

        Raises:
            StorageException: The storage failed (retryable); nothing was loaded.
        """
        if self._loaded:
            return
        await self._require_sign_out_landed()
        try:
            await self._credentials.load()
            tokens = await self._store.load(self._standing)
        except StorageException as err:
            if err.retryable:
                raise
            self._unreadable(err)  # e.g. a corrupt file moved aside: read again next time
            return
        except InvalidTokenException as err:
            self._unreadable(err)
            self._loaded = self._stored_unreadable = True
            return
        self._loaded = True
        self._reported_unreadable = False
        if tokens is None and self.tokens is not None:
            # Held before the storage could be read (a standing session obtained
            # while it failed): kept, and written back.
            self._unsaved = True
        else:
            self._set_tokens(tokens)
        self._publish()

    def _unreadable(self, err: AuthError) -> None:
        """No session can be read: signed out (reported once, until a read works)."""
        self._publish()
        if not self._reported_unreadable:
            self._reported_unreadable = True
            _log.warning("the stored session is unreadable (%s); signed out", err.name)
            self._emit(EventName.SIGNED_OUT, error=err)

    async def _read(self, username: str | None) -> TokenSet | None:
        """A stored session; one that does not parse counts as none."""
        try:
            return await self._store.load(username)
        except InvalidTokenException as err:
            _log.warning("a stored session is unreadable (%s); ignored", err.name)
            return None
        except StorageException as err:
            if err.retryable:
                raise
            _log.warning("a stored session is unreadable (%s); ignored", err.name)
            return None

    # -- refresh --------------------------------------------------------------

    async def refresh(self, forced: bool, *, obtain: bool = True) -> tuple[AuthSession, bool]:
        """Refresh whatever is due (everything when ``forced``).

        ``obtain``: a paused standing session may be obtained again (a caller's
        refresh, not the background loop's).

        Returns:
            The session, and whether every refresh succeeded and was stored.

        Raises:
            AuthError: A definitive refusal (the session is cleared), or a
                failure that leaves nothing usable, or any failure when forced.
        """
        await self._load_or_go_without()
        failures: list[AuthError] = []
        await self._land_sign_out()
        await self._save_unsaved()
        # A token that replaces the one held is a refresh; one that comes after a
        # sign-out (here, or followed from elsewhere during this refresh) is a sign-in.
        signed_in, epoch = self.tokens is not None, self.epoch
        tokens_changed = await self._refresh_tokens(forced, failures, obtain)
        credentials_changed = await self._refresh_credentials(forced, failures)
        self._publish()
        if tokens_changed:
            renewed = signed_in and self.tokens is not None and epoch == self.epoch
            self._emit(EventName.TOKEN_REFRESH if renewed else EventName.SIGNED_IN)
            if self._unsaved and self._save_error is not None:
                self._emit(EventName.TOKEN_REFRESH_FAILURE, error=self._save_error)
        if credentials_changed:
            self._emit(EventName.CREDENTIALS_REFRESH)
        if failures and (forced or not self.schedule.serves(self._clock.monotonic(), True)):
            raise failures[0]
        # What is held only in memory counts as a failure for the background
        # loop, which comes back (with backoff) to store it.
        return self.session, not failures and self.settled

    async def _load_or_go_without(self) -> None:
        """:meth:`load`; a standing session does without a storage that fails (a cache to it)."""
        try:
            await self.load()
        except StorageException as err:
            if self._standing is None:
                raise
            _log.error("the storage failed (%s); the token is obtained without it", err.name)

    async def _refresh_tokens(self, forced: bool, failures: list[AuthError], obtain: bool) -> bool:
        tokens = self.tokens
        if tokens is None:
            if self._standing is None or (self.standing_paused and not obtain):
                return False
        elif not forced and self._token_schedule.serves(self._clock.monotonic(), False):
            return False
        if self._store.locking is None:
            return await self._renew(tokens, failures)
        username = tokens.username if tokens is not None else self._standing
        assert username is not None
        return await self._refresh_tokens_locked(username, forced, failures, obtain)

    async def _refresh_tokens_locked(
        self, username: str, forced: bool, failures: list[AuthError], obtain: bool
    ) -> bool:
        """Refresh under the lock of the processes sharing the storage, unless one just did."""
        locking = self._store.locking
        assert locking is not None
        changed: bool | None = None
        epoch = self.epoch
        try:
            async with locking.lock(self._lock_name, wait=locking.lock_ttl + 1) as held:
                adopted, ours = False, self.tokens
                if held:
                    stored = await self._read(username)
                    # (A standing session without tokens has nothing to sign out.)
                    if (
                        stored is None
                        and ours is not None
                        and await self._store.signed_out(username)
                    ):
                        await self._follow_sign_out(epoch)
                        if self._standing is None or not obtain:
                            return False
                        epoch = self.epoch  # a caller's fetch obtains the app client's anew
                    adopted = self._adopt_if_newer(stored, epoch)
                    if adopted:
                        epoch = self.epoch  # a standing session's adoption is a sign-in
                fresh = self._token_schedule.serves(self._clock.monotonic(), False)
                if adopted and fresh and not forced:
                    changed = True  # another process refreshed: no Cognito call
                elif self._renewable(epoch):
                    # Adopted without a signedIn yet (a standing session): a refusal
                    # now ends what nobody was told of, so no signedOut either.
                    announced = not (adopted and ours is None)
                    changed = await self._renew(self.tokens, failures, announced) or adopted
                else:
                    changed = False  # signed out meanwhile
        except StorageException as err:
            if changed is None and self._renewable(epoch):
                _log.error("shared storage unavailable (%s); refreshing locally", err.name)
                changed = await self._renew(self.tokens, failures)
        return bool(changed)

    def _renewable(self, epoch: int) -> bool:
        """Whether nothing changed since ``epoch`` and there is a session to renew or obtain."""
        return epoch == self.epoch and (self.tokens is not None or self._standing is not None)

    async def _renew(
        self, tokens: TokenSet | None, failures: list[AuthError], announced: bool = True
    ) -> bool:
        """Ask for new tokens and keep them; False when there are none to keep.

        ``tokens`` None: a standing session's first tokens, kept as a sign-in.
        """
        epoch = self.epoch
        try:
            fresh = await self._fetch_tokens(tokens)
        except AuthError as err:
            if epoch != self.epoch:
                return False  # signed out (or in anew) meanwhile: this answer is void
            self._emit(EventName.TOKEN_REFRESH_FAILURE, error=err)
            if err.ends_session and tokens is None:
                self.standing_paused = True  # refused: a caller's fetch asks again
                raise
            if err.ends_session:
                assert tokens is not None
                if await self._adopt_rotated_elsewhere(tokens, epoch):
                    return True
                _log.info("token refresh refused (%s); signing out", err.name)
                if self._standing is not None:
                    # This process's credentials were refused; the stored token is
                    # still good (it cannot be revoked) for the processes whose are not.
                    self._forget(err, announce=announced)
                else:
                    await self.end_session(err)
                raise
            failures.append(err)
            return False
        if epoch != self.epoch:
            _log.info("a refresh landed after a sign-out; discarded")
            await self._drop_refresh_token(fresh, tokens)
            return False
        if tokens is None:  # a standing session begins: as a sign-in
            self.epoch += 1
            self.standing_paused = False
            self._obtained = True
        self._set_tokens(fresh)  # memory first: a rotated refresh token must not be lost
        self._unsaved = True
        await self._save_unsaved()  # still under the lock, where there is one
        return True

    async def _adopt_rotated_elsewhere(self, tokens: TokenSet, epoch: int) -> bool:
        """After a refusal on shared storage: did another process rotate our refresh token?

        (Its refresh may have outlived the lock.) Then its tokens are the session.
        """
        if self._store.locking is None:
            return False
        try:
            stored = await self._read(tokens.username)
        except StorageException:
            return False
        if stored is None or stored.refresh_token in (None, tokens.refresh_token):
            return False
        if not self._adopt_if_newer(stored, epoch):
            return False
        _log.info("another process rotated the refresh token; adopted its tokens")
        return True

    async def _drop_refresh_token(self, dropped: TokenSet, kept: TokenSet | None) -> None:
        """Give up (revoke) a (rotated) refresh token we will never use or store."""
        token = dropped.refresh_token
        if token is not None and (kept is None or token != kept.refresh_token):
            with anyio.CancelScope(shield=True):
                await self._source.discard(dropped)

    async def _fetch_tokens(self, tokens: TokenSet | None) -> TokenSet:
        fresh = await (self._source.obtain() if tokens is None else self._source.renew(tokens))
        self._server_clock.received(fresh)
        return fresh

    async def _save_unsaved(self) -> None:
        """Store tokens the storage does not have yet, unless the user signed out meanwhile."""
        tokens = self.tokens
        if not self._unsaved or tokens is None:
            return
        epoch = self.epoch
        # A standing session's tokens are each a sign-in (no refresh token, nothing a
        # sign-out revoked): they end a sign-out; a user's first tokens likewise.
        signing_in = self._obtained or self._standing is not None
        try:
            if not signing_in and await self._store.signed_out(tokens.username):
                await self._follow_sign_out(epoch)  # signed out elsewhere: no write back
                return
            if epoch != self.epoch:
                return
            # Name the user LastAuthUser only where nobody is (a storage that lost
            # its data): a user who signed in since keeps it.
            unnamed = signing_in or await self._store.last_user() is None
            await self._store.save(tokens, signing_in=signing_in, last_user=unnamed)
            # A sign-out elsewhere between the check and the write: take the write back
            # (its marker already voids it, but other readers of the layout see keys).
            if not signing_in and await self._store.signed_out(tokens.username):
                await self._store.clear(tokens.username)
                await self._follow_sign_out(epoch)
                return
        except StorageException as err:
            _log.error("tokens could not be stored (%s); kept in memory, retrying", err.name)
            self._save_error = err
            return
        self._unsaved = self._obtained = False
        self._save_error = None
        await self._announce("tokens")

    async def _refresh_credentials(self, forced: bool, failures: list[AuthError]) -> bool:
        when = self._credentials.schedule(self.tokens)
        if when == Schedule.never():
            return False
        if not forced and when.serves(self._clock.monotonic(), False):
            return False
        try:
            await self._credentials.fetch(self.tokens)
        except AuthError as err:
            self._emit(EventName.CREDENTIALS_REFRESH_FAILURE, error=err)
            failures.append(err)
            return False
        return True

    # -- sign-in and sign-out -------------------------------------------------

    async def adopt(self, tokens: TokenSet, epoch: int) -> None:
        """Take the tokens of a completed sign-in begun in ``epoch``; stored before kept.

        Raises:
            InvalidResponseException: The tokens are unusable (already expired).
            InvalidStateException: A sign-out happened during the sign-in.
            StorageException: They could not be stored; nothing is kept.
        """
        self._server_clock.received(tokens)
        _require_epoch(epoch, self.epoch)
        await self._require_sign_out_landed()
        # The write and taking the session stand or fall together: a caller
        # cancelled in between would leave a stored session memory never knew.
        # Bounded: a storage that never answers fails the sign-in (whose
        # tokens the manager then revokes) instead of holding it for good.
        deadline = anyio.current_time() + self._config.request_timeout
        with anyio.CancelScope(shield=True, deadline=deadline) as write:
            await self._store.save(tokens, signing_in=True, last_user=True)
            if epoch != self.epoch:  # a sign-out came while we wrote: undo the write
                with contextlib.suppress(StorageException):
                    await self._store.clear(tokens.username)
                _require_epoch(epoch, self.epoch)
            self.epoch += 1
            self._unsaved = False
            replaced_identity = self._credentials.drop_primary_identity()
            self._set_tokens(tokens)
            self._publish()
            self._emit(EventName.SIGNED_IN)
        if write.cancelled_caught:
            raise StorageException(
                "the storage did not confirm the session in time", retryable=True
            )
        if replaced_identity:
            try:
                await self._credentials.clear_stored_identity()
            except StorageException as err:  # a stale identity id heals itself (GetId again)
                _log.warning("the previous identity id could not be removed (%s)", err.name)
        await self._announce("tokens")

    def forget_now(self, error: AuthError | None = None) -> TokenSet | None:
        """Sign out in memory at once (no I/O, no lock); storage follows in :meth:`land_sign_out`.

        Returns:
            The tokens that were held.
        """
        tokens = self.tokens
        earlier = self._sign_out
        unknown = not self._loaded or self._stored_unreadable
        if unknown or tokens is not None or earlier is not None:
            # Unloaded: the stored session, whoever's it is, must go too.
            self._sign_out = PendingSignOut(
                username=tokens.username if tokens else earlier.username if earlier else None,
                wall_time=self._clock.time(),
                server_time=self._server_clock.now(tokens) if tokens else None,
                known_refresh_token=tokens.refresh_token if tokens else None,
                origin=origin_of(tokens) if tokens else None,
            )
        self._forget(error)
        return tokens

    def _forget(self, error: AuthError | None = None, *, announce: bool = True) -> None:
        """The one way a session ends in memory (a sign-out here or elsewhere, a refusal);
        ``announce``: emit ``signedOut`` (not for a session no ``signedIn`` announced)."""
        self._stored_unreadable = False
        self._loaded = True  # what is stored must never be restored now
        self._unsaved = self._obtained = False
        self.standing_paused = self._standing is not None
        self.epoch += 1
        self._set_tokens(None)
        self._credentials.drop_identity()
        self._publish()
        if announce:
            self._emit(EventName.SIGNED_OUT, error=error)

    async def land_sign_out(self) -> tuple[bool, TokenSet | None]:
        """Clear the stored session of a sign-out now.

        Returns:
            Whether the storage is cleared (False, logged: it failed and the
            clear is retried), and the session that was stored when the
            manager held none in memory (for the caller to revoke).
        """
        pending = self._sign_out
        if pending is None:
            return True, None
        landed, stored = await self._land_sign_out(revoke_stored=False)
        if stored is not None and stored.refresh_token == pending.known_refresh_token:
            stored = None  # the caller revokes that one already
        return landed, stored

    async def end_session(self, error: AuthError) -> None:
        """The session is over (a definitive refusal): forget it everywhere."""
        self.forget_now(error)
        await self._land_sign_out()

    async def _land_sign_out(self, *, revoke_stored: bool = True) -> tuple[bool, TokenSet | None]:
        pending = self._sign_out
        if pending is None:
            return True, None
        try:
            stored = await land(self._store, pending)
        except StorageException as err:
            _log.error("the stored session could not be cleared (%s); retrying", err.name)
            return False, None
        if self._sign_out is pending:
            self._sign_out = None
        known = pending.known_refresh_token
        if revoke_stored and stored is not None and stored.refresh_token != known:
            await self._drop_refresh_token(stored, None)
        await self._announce("signedOut")
        return True, stored

    async def _require_sign_out_landed(self) -> None:
        landed, _ = await self._land_sign_out()
        if not landed:
            raise StorageException(
                "the stored session of the last sign-out could not be cleared yet",
                retryable=True,
                recovery_suggestion="Check the storage; the clear is retried.",
            )

    async def _follow_sign_out(self, epoch: int) -> None:
        """Another process signed this user out: forget in memory; storage is done."""
        if epoch != self.epoch:
            return  # our own sign-in or sign-out came first
        tokens = self.tokens
        if self._unsaved and tokens is not None:  # only we knew these (a rotation of ours)
            await self._drop_refresh_token(tokens, None)
        self._forget()

    # -- other processes --------------------------------------------------------

    async def reconcile(self, note: str | None) -> bool:
        """Another process changed the shared session (``note`` None: we may have missed some).

        Adopts newer stored tokens (emitting our own events), follows a
        sign-out, and writes our tokens back where the storage lost them.

        Returns:
            Whether the session changed (the refresh loop has a new schedule).
        """
        _, origin = _parse_note(note)
        if origin == self._origin:
            return False
        await self.load()
        await self._land_sign_out()
        if self._sign_out is not None:
            return False  # our own sign-out comes first: adopt nothing until it lands
        await self._save_unsaved()
        ours, epoch = self.tokens, self.epoch
        stored = await self._read(ours.username if ours is not None else None)
        if self._adopt_if_newer(stored, epoch):
            self._publish()
            self._emit(EventName.TOKEN_REFRESH if ours is not None else EventName.SIGNED_IN)
            return True
        if ours is not None and stored is None and epoch == self.epoch:
            if await self._store.signed_out(ours.username):
                await self._follow_sign_out(epoch)
                return True
            # The storage lost the session (a restart without persistence): restore it.
            self._unsaved = True
            await self._save_unsaved()
        return False

    def _adopt_if_newer(self, stored: TokenSet | None, epoch: int) -> bool:
        """Take ``stored`` if another process stored newer tokens than ours, and nothing
        (a sign-out, a sign-in) changed the session since ``epoch``, when it was read."""
        ours = self.tokens
        if epoch != self.epoch:
            return False
        if stored is None or (ours is not None and not _newer(stored, ours)):
            return False
        if ours is None:
            self.epoch += 1
            self.standing_paused = False
        self._set_tokens(stored)
        self._unsaved = False
        return True

    async def _announce(self, kind: str) -> None:
        shared = self._store.coordinated
        if shared is None:
            return
        try:
            await shared.publish(json.dumps({"kind": kind, "origin": self._origin}))
        except StorageException as err:
            _log.warning("could not tell other processes about %s (%s)", kind, err.name)

    # -- schedules and the published session ------------------------------------

    def _set_tokens(self, tokens: TokenSet | None) -> None:
        self.tokens = tokens
        if tokens is not None:
            self._token_schedule = self._server_clock.schedule_of(tokens)
        else:  # a standing session without tokens is due at once: every fetch obtains them
            self._token_schedule = Schedule.never() if self._standing is None else _UNKNOWN

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
        self.schedule = when if self._loaded else _UNKNOWN
        self.served_until = self.schedule.served_until(self._background)
        self.on_publish(self.session, self.served_until)

    def set_background(self, running: bool) -> None:
        """The background loop started or stopped: a stale session is served while it runs."""
        self._background = running
        self.served_until = self.schedule.served_until(running)
        self.on_publish(self.session, self.served_until)

    def _emit(self, name: EventName, *, error: AuthError | None = None) -> None:
        self._hub.emit(SessionEvent(name=name, session=self.session, error=error))


def _nobody_listens(session: AuthSession, served_until: float) -> None:
    pass


def _require_epoch(began: int, now: int) -> None:
    if began != now:
        raise InvalidStateException(
            "sign_out() was called during this sign-in; the new session was discarded"
        )


def _newer(stored: TokenSet, ours: TokenSet) -> bool:
    """Whether ``stored`` replaces ``ours``: other tokens, issued no earlier."""
    if stored.access_token.raw == ours.access_token.raw:
        return False
    try:
        stored_iat, our_iat = issued_at(stored.access_token), issued_at(ours.access_token)
    except InvalidTokenException:
        return False
    if stored_iat is not None and our_iat is not None:
        return stored_iat >= our_iat
    return True


def _parse_note(note: str | None) -> tuple[str | None, str | None]:
    try:
        value = json.loads(note) if note else {}
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(value, dict):
        return None, None
    kind, origin = value.get("kind"), value.get("origin")
    return (kind if isinstance(kind, str) else None), (origin if isinstance(origin, str) else None)
