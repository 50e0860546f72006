"""Identity Pool credentials for a session: the identity id and its AWS credentials.

Credentials are kept until their own ``Expiration`` (drift-adjusted, less the
expiry tolerance) and belong to one owner: the guest, or one signed-in user.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
from typing import Literal

from ._cognito import IdentityPoolClient
from ._config import AuthConfig
from ._errors import AuthError, InvalidResponseException, StorageException
from ._models import AWSCredentials
from ._timing import Clock, Schedule, schedule
from ._token_store import TokenStore
from ._tokens import StoredIdentity, TokenSet

__all__ = ["IdentityCredentials"]

_log = logging.getLogger("amplify_session")

_Kind = Literal["guest", "primary"]


class IdentityCredentials:
    """The identity id and AWS credentials of the current session."""

    def __init__(
        self,
        identity_pool: IdentityPoolClient | None,
        store: TokenStore,
        config: AuthConfig,
        clock: Clock,
        rng: random.Random | None,
    ) -> None:
        self._identity_pool = identity_pool
        self._store = store
        self._config = config
        self._clock = clock
        self._rng = rng
        self._identity: StoredIdentity | None = None
        self._credentials: AWSCredentials | None = None
        self._owner: tuple[_Kind, str | None] | None = None
        self._schedule = Schedule.never()

    def __repr__(self) -> str:
        kind = self._identity.kind if self._identity else None
        return f"IdentityCredentials(identity={kind!r}, cached={self._credentials is not None})"

    async def load(self) -> None:
        """Read the stored identity id."""
        self._identity = await self._store.load_identity()

    def forget_credentials(self) -> None:
        """Drop the cached credentials (a new user, or signed out)."""
        self._credentials = self._owner = None
        self._schedule = Schedule.never()

    def drop_identity(self) -> None:
        """Drop the credentials and the identity id, in memory only."""
        self.forget_credentials()
        self._identity = None

    async def clear_stored_identity(self) -> None:
        """Remove the identity id from storage."""
        await self._store.clear_identity()

    def drop_primary_identity(self) -> bool:
        """Before a new sign-in: another user's identity must not be reused (memory only).

        Returns:
            Whether a user's identity id was dropped (the caller clears it in storage).
        """
        self.forget_credentials()
        if self._identity is not None and self._identity.kind == "primary":
            self._identity = None
            return True
        return False

    def cached(self, tokens: TokenSet | None) -> tuple[AWSCredentials | None, str | None]:
        """The cached credentials and identity id, if they belong to ``tokens``' owner."""
        owner = self._owner_of(tokens)
        if owner is None or owner != self._owner or self._identity is None:
            return None, None
        return self._credentials, self._identity.identity_id

    def schedule(self, tokens: TokenSet | None) -> Schedule:
        """When the credentials for ``tokens`` (or the guest) need refreshing.

        Never, where there are none to have; at once, where they are not fetched yet.
        """
        owner = self._owner_of(tokens)
        if owner is None:
            return Schedule.never()
        if owner != self._owner or self._credentials is None:
            return Schedule(-math.inf, -math.inf)
        return self._schedule

    def _owner_of(self, tokens: TokenSet | None) -> tuple[_Kind, str | None] | None:
        if self._identity_pool is None:
            return None
        if tokens is not None:
            return ("primary", tokens.user_sub) if tokens.id_token is not None else None
        return ("guest", None) if self._config.allow_guest_access else None

    async def fetch(self, tokens: TokenSet | None) -> tuple[AWSCredentials | None, str | None]:
        """Fetch new credentials for ``tokens`` (or the guest); GetId first if needed."""
        owner = self._owner_of(tokens)
        if owner is None or self._identity_pool is None:
            return None, None
        kind = owner[0]
        logins = (
            {self._config.identity_provider_name: str(tokens.id_token)}
            if tokens is not None and tokens.id_token is not None
            else {}
        )
        identity = await self._identity_for(kind, logins)
        try:
            credentials, server_time = await self._identity_pool.get_credentials(
                identity.identity_id, logins
            )
        except AuthError as err:
            if err.ends_identity:
                # The identity is gone or no longer ours: ask for a new one next time.
                self.drop_identity()
                with contextlib.suppress(StorageException):
                    await self.clear_stored_identity()
            raise
        when = self._schedule_of(credentials, tokens, server_time)
        if when.expire_at <= self._clock.monotonic():
            raise InvalidResponseException("Cognito sent AWS credentials that have already expired")
        self._credentials, self._owner, self._schedule = credentials, owner, when
        return credentials, identity.identity_id

    def _schedule_of(
        self, credentials: AWSCredentials, tokens: TokenSet | None, server_time: float | None
    ) -> Schedule:
        if credentials.expiration is None:
            return Schedule.never()
        # How long they remain valid, by the server's own clock when it answered
        # (its Date header); failing that, by the drift measured on the tokens.
        drift = tokens.clock_drift if tokens else 0.0
        server_now = server_time if server_time is not None else self._clock.time() + drift
        remaining = credentials.expiration.timestamp() - server_now
        return schedule(
            expires_at=self._clock.monotonic() + remaining,
            lifetime=remaining,
            refresh_window=self._config.refresh_window,
            tolerance=self._config.expiry_tolerance,
            rng=self._rng,
        )

    async def _identity_for(self, kind: _Kind, logins: dict[str, str]) -> StoredIdentity:
        if self._identity is not None and self._identity.kind == kind:
            return self._identity
        assert self._identity_pool is not None
        identity_id = await self._identity_pool.get_id(logins)
        self._identity = StoredIdentity(identity_id=identity_id, kind=kind)
        try:
            await self._store.save_identity(self._identity)
        except StorageException as err:  # kept in memory; a restart asks GetId again
            _log.warning("the identity id could not be stored (%s)", err.name)
        return self._identity
