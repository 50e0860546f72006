"""Identity Pool credentials for a session: the identity id and its AWS credentials.

Credentials are kept until their own ``Expiration`` (drift-adjusted, less the
expiry tolerance) and belong to one owner: the guest, or one signed-in user.
"""

from __future__ import annotations

import math
from typing import Literal

from ._cognito import IdentityPoolClient
from ._config import AuthConfig
from ._errors import AuthError
from ._models import AWSCredentials
from ._policy import Clock, local_deadline
from ._token_store import StoredIdentity, TokenSet, TokenStore

__all__ = ["IdentityCredentials"]

_Kind = Literal["guest", "primary"]


class IdentityCredentials:
    """The identity id and AWS credentials of the current session."""

    def __init__(
        self,
        identity_pool: IdentityPoolClient | None,
        store: TokenStore,
        config: AuthConfig,
        clock: Clock,
    ) -> None:
        self._identity_pool = identity_pool
        self._store = store
        self._config = config
        self._clock = clock
        self._identity: StoredIdentity | None = None
        self._credentials: AWSCredentials | None = None
        self._owner: tuple[_Kind, str | None] | None = None

    def __repr__(self) -> str:
        kind = self._identity.kind if self._identity else None
        return f"IdentityCredentials(identity={kind!r}, cached={self._credentials is not None})"

    async def load(self) -> None:
        """Read the stored identity id."""
        self._identity = await self._store.load_identity()

    def forget_credentials(self) -> None:
        """Drop the cached credentials (a new user, or signed out)."""
        self._credentials = self._owner = None

    async def forget_identity(self) -> None:
        """Drop the identity id too, in memory and in storage."""
        self.forget_credentials()
        self._identity = None
        await self._store.clear_identity()

    async def forget_primary_identity(self) -> None:
        """Before a new sign-in: another user's identity must not be reused."""
        self.forget_credentials()
        if self._identity is not None and self._identity.kind == "primary":
            await self.forget_identity()

    async def current(
        self, tokens: TokenSet | None, *, force: bool
    ) -> tuple[AWSCredentials | None, str | None]:
        """The credentials and identity id for ``tokens`` (or the guest), fetched if needed."""
        if self._identity_pool is None:
            return None, None
        kind: _Kind
        if tokens is not None and tokens.id_token is not None:
            kind, logins = "primary", {self._config.identity_provider_name: str(tokens.id_token)}
        elif tokens is None and self._config.allow_guest_access:
            kind, logins = "guest", {}
        else:
            return None, None
        owner = (kind, tokens.user_sub if tokens else None)
        cached = self._credentials
        if (
            not force
            and cached is not None
            and self._owner == owner
            and self._identity is not None
            and self._clock.time() < self.deadline(tokens)
        ):
            return cached, self._identity.identity_id
        identity = await self._identity_for(kind, logins)
        try:
            credentials = await self._identity_pool.get_credentials(identity.identity_id, logins)
        except AuthError as err:
            if err.name in ("ResourceNotFoundException", "NotAuthorizedException"):
                # The identity is gone or no longer ours: ask for a new one next time.
                await self.forget_identity()
            raise
        self._credentials, self._owner = credentials, owner
        return credentials, identity.identity_id

    def deadline(self, tokens: TokenSet | None) -> float:
        """Local time after which the cached credentials count as expired."""
        credentials = self._credentials
        if credentials is None or credentials.expiration is None:
            return math.inf
        return local_deadline(
            credentials.expiration.timestamp(),
            drift=tokens.clock_drift if tokens else 0.0,
            tolerance=self._config.expiry_tolerance,
        )

    async def _identity_for(self, kind: _Kind, logins: dict[str, str]) -> StoredIdentity:
        if self._identity is not None and self._identity.kind == kind:
            return self._identity
        assert self._identity_pool is not None
        identity_id = await self._identity_pool.get_id(logins)
        self._identity = StoredIdentity(identity_id=identity_id, kind=kind)
        await self._store.save_identity(self._identity)
        return self._identity
