"""What every call to Cognito (and to the pool's OAuth domain) of one client passes through.

Many sessions share one :class:`CallGate` when they share a ``CognitoClient``:

- *slots*: at most ``max_calls`` requests are on the wire at once; the others
  wait their turn before they start, so their request timeout starts when they
  go, not while they queue (10,000 sessions expiring together queue instead of
  opening 10,000 connections, and none times out for having waited);
- a *retry budget* (the AWS SDKs' "standard" retry quota): a retry costs
  tokens, a success earns some back, and with the budget spent a failure is
  not retried. When Cognito is down, a few retries tell; thousands of sessions
  retrying each request several times would only add to the outage. The
  sessions' own background backoff takes over from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import attrs
import tenacity

from .._config import RetryPolicy
from .._errors import AuthError, InvalidStateException, NetworkError
from .._timing import JITTER

__all__ = ["DEFAULT_MAX_CALLS", "CallGate", "RetryBudget"]

_log = logging.getLogger("amplify_session.transport")
_T = TypeVar("_T")

#: Calls on the wire at once (and connections) by default: aiohttp's own connector limit.
DEFAULT_MAX_CALLS = 100


@attrs.define
class RetryBudget:
    """A token bucket of retries, as the AWS SDKs' standard retry mode keeps one.

    A retry after a failure withdraws ``retry_cost`` (``timeout_cost`` after a
    timeout or a connection failure); a call that succeeds first time deposits
    one token, one that succeeds after retries gives back what they cost.
    """

    capacity: int = 500
    retry_cost: int = 5
    timeout_cost: int = 10
    available: int = attrs.field(default=-1)

    def __attrs_post_init__(self) -> None:
        if self.available < 0:
            self.available = self.capacity

    def withdraw(self, error: BaseException | None) -> int | None:
        """Take the cost of retrying after ``error``; None (and nothing taken) when spent."""
        cost = self.timeout_cost if isinstance(error, NetworkError) else self.retry_cost
        if cost > self.available:
            return None
        self.available -= cost
        return cost

    def deposit(self, amount: int) -> None:
        """Give back ``amount`` tokens (never beyond the capacity)."""
        self.available = min(self.capacity, self.available + amount)


class CallGate:
    """Bounds the calls on the wire at once, and their retries (see the module docstring).

    Args:
        max_calls: Requests on the wire at once, at most.
        budget: The retry budget; a new one by default.
    """

    def __init__(self, max_calls: int, budget: RetryBudget | None = None) -> None:
        self.max_calls = max_calls
        self.budget = budget if budget is not None else RetryBudget()
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Requests on the wire now, and the most there ever were (a test's view).
        self.in_flight = 0
        self.peak = 0

    def __repr__(self) -> str:
        return (
            f"CallGate(max_calls={self.max_calls}, in_flight={self.in_flight}, "
            f"retry_budget={self.budget.available})"
        )

    async def call(
        self, policy: RetryPolicy, operation: str, send: Callable[[], Awaitable[_T]]
    ) -> _T:
        """``send()`` in a slot, retried per ``policy`` while the budget lasts.

        Raises:
            AuthError: What the last attempt raised.
        """
        withdrawn: list[int] = []
        first_sent: list[float] = []  # when the first attempt went on the wire
        async for attempt in _retrying(policy, operation, self.budget, withdrawn, first_sent):
            with attempt:
                async with self._slot():
                    if not first_sent:
                        first_sent.append(time.monotonic())
                    result = await send()
                self.budget.deposit(sum(withdrawn) or 1)
                return result
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        async with self._slots_of_running_loop():
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1

    def _slots_of_running_loop(self) -> asyncio.Semaphore:
        # A semaphore belongs to the loop it first waited on; a manager may be
        # used from successive asyncio.run calls, each with a loop of its own,
        # but not from two loops at once (two threads): the slots are one count.
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop and self._loop.is_running():
            raise InvalidStateException(
                "this CognitoClient is in use on another event loop",
                recovery_suggestion="Make one CognitoClient per event loop (thread).",
            )
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop = asyncio.Semaphore(self.max_calls), loop
            self.in_flight = 0
        return self._slots


def _retrying(
    policy: RetryPolicy,
    operation: str,
    budget: RetryBudget,
    withdrawn: list[int],
    first_sent: list[float],
) -> tenacity.AsyncRetrying:
    """The retry loop for one call: ``policy``'s bounds, then the budget's.

    The policy's ``timeout`` runs from the first attempt on the wire: time
    spent queued for a slot is not the call's (10,000 sessions queued on 100
    slots must not each give up their retries for having waited).
    """

    def log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        # The error's name only: it was checked to be a name, never a server's echo.
        _log.debug(
            "%s: attempt %d failed (%s); retrying in %.3f s",
            operation,
            state.attempt_number,
            error.name if isinstance(error, AuthError) else type(error).__name__,
            state.upcoming_sleep,
        )

    return tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception(_is_retryable),
        # Whichever comes first; the total time is checked after each failed attempt.
        stop=tenacity.stop_any(
            tenacity.stop_after_attempt(policy.attempts),
            _OutOfTime(policy.timeout, first_sent),
            _BudgetSpent(operation, budget, withdrawn),
        ),
        wait=lambda state: backoff(policy, state.attempt_number),
        before_sleep=log_retry,
        reraise=True,
    )


class _OutOfTime(tenacity.stop.stop_base):
    """Stops once ``timeout`` seconds have passed since the first attempt went on the wire."""

    def __init__(self, timeout: float, first_sent: list[float]) -> None:
        self._timeout = timeout
        self._first_sent = first_sent

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return bool(self._first_sent) and time.monotonic() - self._first_sent[0] >= self._timeout


class _BudgetSpent(tenacity.stop.stop_base):
    """Stops when the retry budget cannot pay for the retry; otherwise takes its cost.

    Asked last (``stop_any`` stops at the first bound that says stop), so a
    retry the policy would not make costs nothing.
    """

    def __init__(self, operation: str, budget: RetryBudget, withdrawn: list[int]) -> None:
        self._operation = operation
        self._budget = budget
        self._withdrawn = withdrawn

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        cost = self._budget.withdraw(outcome.exception() if outcome is not None else None)
        if cost is None:
            _log.debug("%s: the retry budget is spent; not retried", self._operation)
            return True
        self._withdrawn.append(cost)
        return False


def backoff(policy: RetryPolicy, attempt: int) -> float:
    """Exponential from ``wait_initial``, plus up to ``wait_jitter``, capped at ``wait_max``."""
    jitter = JITTER.uniform(0, policy.wait_jitter) if policy.wait_jitter else 0.0
    try:
        exponential = policy.wait_initial * 2.0 ** (attempt - 1)
    except OverflowError:
        return policy.wait_max
    return min(policy.wait_max, exponential + jitter)


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, AuthError) and exc.retryable
