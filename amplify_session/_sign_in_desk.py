"""The sign-ins of one manager: one at a time, a pending challenge, and cancelled by a sign-out.

The manager calls in under its lock. Whatever a sign-in's token source
returns is either a challenge kept for :meth:`SignInDesk.confirm`, or tokens
the engine adopts (stored before kept); tokens that cannot be kept are
given back to the source, which revokes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping

import anyio

from ._config import ClientMetadata
from ._errors import (
    AuthError,
    CodeMismatchException,
    InvalidParameterException,
    InvalidStateException,
    UserAlreadyAuthenticatedException,
)
from ._models import SignInNextStep, SignInResult
from ._session_core import SessionCore
from ._sign_in import PendingChallenge, SignInRequest
from ._sign_in_state import SignInStates
from ._tokens import TokenSet
from ._user_pool_source import Completed, UserPoolSource

__all__ = ["SignInDesk", "require_text"]


class SignInDesk:
    """Runs sign-ins and challenge answers against a source, for one engine."""

    def __init__(
        self,
        source: UserPoolSource,
        core: SessionCore,
        signed_in: Callable[[], None],
        *,
        states: SignInStates,
        totp_issuer: str,
    ) -> None:
        self._source = source
        self._core = core
        self._states = states
        self._totp_issuer = totp_issuer
        self._signed_in = signed_in  # the engine has a new session to schedule
        self._pending: PendingChallenge | None = None
        #: The sign-in (or challenge answer) under way, which a sign-out cancels.
        self._under_way: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        return f"SignInDesk(pending={self._pending is not None})"

    def abandon(self) -> None:
        """A sign-out: drop a half-answered challenge, cancel a sign-in under way."""
        self._pending = None
        if self._under_way is not None:
            self._under_way.cancel()

    async def sign_in(self, request: SignInRequest) -> SignInResult:
        """Sign in (the caller holds the manager's lock)."""
        await self._nobody_signed_in()
        self._pending = None
        epoch = self._core.epoch
        with self._cancellable() as scope:
            outcome = await self._source.sign_in(request)
            return await self._settle(outcome, epoch)
        raise _signed_out_meanwhile(scope)

    async def require_nobody_signed_in(self) -> None:
        """Refuse a sign-in while a user is signed in (the caller holds the lock)."""
        await self._nobody_signed_in()

    async def _nobody_signed_in(self) -> None:
        await self._core.load()
        if self._core.tokens is not None:
            raise UserAlreadyAuthenticatedException(
                "a user is already signed in",
                recovery_suggestion="Call sign_out() before signing in again.",
            )

    async def confirm(
        self,
        challenge_response: str,
        user_attributes: Mapping[str, str],
        client_metadata: ClientMetadata | None,
        state: str | None,
    ) -> SignInResult:
        """Answer the pending step, this manager's or the one ``state`` holds (the
        caller holds the manager's lock)."""
        if state is not None:
            resumed = self._states.open(state)
            await self._nobody_signed_in()
            self._pending = resumed
        epoch = self._core.epoch
        pending = self._pending
        if pending is None:
            raise InvalidParameterException(
                "no sign-in is waiting for a challenge response",
                recovery_suggestion="Call sign_in() first, or pass the state of its next step.",
            )
        with self._cancellable() as scope:
            try:
                outcome = await self._source.answer(
                    pending, challenge_response, user_attributes, client_metadata
                )
            except AuthError as err:
                if not _step_stays_open(err):
                    self._pending = None
                raise
            return await self._settle(outcome, epoch)
        raise _signed_out_meanwhile(scope)

    @contextlib.contextmanager
    def _cancellable(self) -> Iterator[anyio.CancelScope]:
        with anyio.CancelScope() as scope:
            self._under_way = scope
            try:
                yield scope
            finally:
                self._under_way = None

    async def _settle(self, outcome: Completed | PendingChallenge, epoch: int) -> SignInResult:
        if isinstance(outcome, PendingChallenge):
            self._pending = outcome
            step = outcome.next_step(
                totp_issuer=self._totp_issuer, state=self._states.seal(outcome)
            )
            return SignInResult(is_signed_in=False, next_step=step)
        self._pending = None  # the challenge session is spent, whatever the tokens are
        return await self._keep(await self._source.tokens_of(outcome), epoch, discard=True)

    async def sign_in_with(
        self, obtain: Callable[[], Awaitable[TokenSet]], *, discard: bool
    ) -> SignInResult:
        """Sign in with tokens ``obtain`` gets (a code exchange, tokens handed in).

        ``discard``: revoke them if they cannot be kept (not a refresh token
        someone else still holds).
        """
        await self._nobody_signed_in()
        self._pending = None
        epoch = self._core.epoch
        with self._cancellable() as scope:
            return await self._keep(await obtain(), epoch, discard=discard)
        raise _signed_out_meanwhile(scope)

    async def _keep(self, tokens: TokenSet, epoch: int, *, discard: bool) -> SignInResult:
        try:
            await self._core.adopt(tokens, epoch)
        except BaseException:  # a refusal, or the caller (or a sign-out) cancelling
            if discard and self._core.tokens is not tokens:  # not kept: must not live on unseen
                await self._source.discard(tokens)  # shielded from the cancellation
            raise
        self._signed_in()
        return SignInResult(is_signed_in=True, next_step=SignInNextStep(sign_in_step="DONE"))


def _step_stays_open(error: AuthError) -> bool:
    """Whether the step can still be answered after ``error``.

    A wrong code or an answer the step cannot take leaves it open (Cognito
    keeps the session for its remaining attempts), and so does a failure to
    reach Cognito. Anything else (an expired session, a vanished device, an
    answer the library cannot read, a step it cannot take) means the
    challenge session is spent: the next answer needs a new sign-in.
    """
    return error.retryable or isinstance(error, (CodeMismatchException, InvalidParameterException))


def _signed_out_meanwhile(scope: anyio.CancelScope) -> InvalidStateException:
    return InvalidStateException(
        "sign_out() was called during this sign-in; it was abandoned"
        if scope.cancelled_caught
        else "the sign-in ended without an answer"
    )


def require_text(field: str, value: object) -> None:
    """Refuse anything but a non-empty string."""
    if not isinstance(value, str) or not value:
        raise InvalidParameterException(f"{field} must be a non-empty string")
