"""Landing a sign-out in storage: which session to clear.

A sign-out ends the session in memory at once; this is the part that can
fail and be retried. It does not wait for another process's refresh lock:
the sign-out marker it writes voids whatever a refresh in flight writes
after, and that process, seeing the marker right after its write, takes the
write back and follows the sign-out.

A clear that lands late must not end a session that began after the
sign-out (the user signed in again elsewhere meanwhile). The stored session
is cleared only if it is the one signed out: the same refresh token, or the
same authentication (Cognito's ``origin_jti`` claim, which refreshes and
rotations keep), or, where neither tells, tokens issued before the sign-out.
"""

from __future__ import annotations

import logging

import attrs

from ._errors import InvalidTokenException, StorageException
from ._timing import IAT_RESOLUTION
from ._token_store import TokenStore
from ._tokens import TokenSet, issued_at

__all__ = ["PendingSignOut", "land", "origin_of"]

_log = logging.getLogger("amplify_session")


@attrs.define
class PendingSignOut:
    """A sign-out whose storage clear has not landed, or landed without the lock."""

    #: Whose keys; None when the manager never loaded: whoever LastAuthUser names.
    username: str | None
    #: When the user signed out, by the local wall clock...
    wall_time: float
    #: ...and in the server's time, where the manager knew it (it held tokens).
    server_time: float | None
    #: The refresh token the manager held (it revokes that one itself).
    known_refresh_token: str | None = attrs.field(default=None, repr=False)
    #: The ``origin_jti`` of the session signed out, when its tokens had one.
    origin: str | None = attrs.field(default=None, repr=False)


async def land(store: TokenStore, pending: PendingSignOut) -> TokenSet | None:
    """Clear the stored session ``pending`` is about.

    Returns:
        The session that was stored and is now cleared (for revocation).

    Raises:
        StorageException: The storage failed; nothing is known to be cleared.
    """
    username = pending.username or await store.last_user()
    if username is None:
        return None
    stored = await _stored(store, username)
    if stored is not None and not _is_signed_out_session(stored, pending):
        _log.info("a newer sign-in replaced the signed-out session; left alone")
        return None
    await store.clear(username)
    await store.clear_identity()
    return stored


async def _stored(store: TokenStore, username: str) -> TokenSet | None:
    try:
        return await store.load(username)
    except InvalidTokenException:
        return None
    except StorageException as err:
        if err.retryable:
            raise
        return None


def origin_of(tokens: TokenSet) -> str | None:
    """The authentication a token set comes from (kept by refreshes), when it says."""
    origin = tokens.access_token.payload.get("origin_jti")
    return origin if isinstance(origin, str) else None


def _is_signed_out_session(stored: TokenSet, pending: PendingSignOut) -> bool:
    if pending.known_refresh_token is not None:
        if stored.refresh_token == pending.known_refresh_token:
            return True
        stored_origin = origin_of(stored)
        if pending.origin is not None and stored_origin is not None:
            return stored_origin == pending.origin
    try:
        issued = issued_at(stored.access_token)
    except InvalidTokenException:
        return True  # unreadable: clearing it loses nothing
    # Where the manager never knew the server's time, the stored session's own
    # drift (measured on this host when it was stored) translates the wall clock.
    server_time = pending.server_time
    if server_time is None:
        server_time = pending.wall_time + stored.clock_drift
    return issued is None or issued <= server_time + IAT_RESOLUTION
