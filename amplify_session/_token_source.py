"""The seam between the engine and the ways a session's tokens are obtained.

The engine (:class:`~amplify_session._session_core.SessionCore`: schedules,
single flight, the fleet lock, storage, events) asks a source for four
things only: new tokens for a session (:meth:`TokenSource.renew`), to give up
tokens nobody will use (:meth:`TokenSource.discard`), to end the session at
the server (:meth:`TokenSource.revoke`), and, for a *standing* session (one
with no user, such as an app client's own, :attr:`TokenSource.standing_user`),
its first tokens (:meth:`TokenSource.obtain`). How a user's tokens are first
obtained is each source's own API (a sign-in with challenges, a code
exchange, tokens handed in), because what it needs from the caller differs;
it hands the engine a :class:`TokenSet` either way.

Whether a failed renewal ends the session is the error's call
(:attr:`AuthError.ends_session`), not the source's: a source raises what the
server said and the engine decides. A source whose tokens come without a
refresh token renews by obtaining again; one that cannot (the user pool's,
which needs the user) refuses with an error that ends the session.
"""

from __future__ import annotations

from typing import Protocol

from ._tokens import TokenSet

__all__ = ["TokenSource"]


class TokenSource(Protocol):
    """How the engine renews and gives up the tokens of one session."""

    #: The name a standing session is stored under; None: a session needs a sign-in.
    standing_user: str | None

    async def obtain(self) -> TokenSet:
        """The first tokens of a standing session (only called when ``standing_user`` is set).

        Raises:
            AuthError: As :meth:`renew`.
        """
        ...

    async def renew(self, tokens: TokenSet) -> TokenSet:
        """Return new tokens for the session ``tokens`` belong to.

        Raises:
            AuthError: As the server answered; one whose ``ends_session`` is
                true ends the session, any other is retried later.
        """
        ...

    async def discard(self, tokens: TokenSet) -> None:
        """Give up ``tokens``, which will never be used or stored (revoke what can be).

        Never raises: a failure is logged, there is nobody to tell.
        """
        ...

    async def revoke(self, tokens: TokenSet, *, everywhere: bool) -> None:
        """End the session at the server (a sign-out); ``everywhere``: all of the user's.

        Raises:
            AuthError: The server could not be told.
        """
        ...
