"""The call gate of a CognitoClient: calls on the wire at once are bounded, and retries
come out of one budget that successes refill (the AWS SDKs' standard retry quota)."""

from __future__ import annotations

import asyncio
import json

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amplify_session import (
    AuthConfig,
    CognitoClient,
    CognitoRequest,
    CognitoResponse,
    InternalErrorException,
    NetworkError,
    RetryPolicy,
)
from amplify_session._cognito import Service
from amplify_session._cognito._call_gate import CallGate, RetryBudget

pytestmark = pytest.mark.anyio

NO_WAIT = RetryPolicy(attempts=4, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
CONFIG = AuthConfig(user_pool_id="us-east-1_Gate1", user_pool_client_id="client1", retry=NO_WAIT)
FAILED = CognitoResponse(500, json.dumps({"__type": "InternalErrorException"}), {})
OK = CognitoResponse(200, "{}", {})


class Failing:
    """Answers 500 until ``failures`` answers have been sent, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent = 0

    async def send(self, request: CognitoRequest) -> CognitoResponse:
        self.sent += 1
        return FAILED if self.sent <= self.failures else OK

    async def aclose(self) -> None:
        pass


class Held:
    """Holds every call until released; counts how many are held at once."""

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.held = self.most = 0

    async def send(self, request: CognitoRequest) -> CognitoResponse:
        self.held += 1
        self.most = max(self.most, self.held)
        try:
            await self.release.wait()
        finally:
            self.held -= 1
        return OK

    async def aclose(self) -> None:
        pass


async def call(client: CognitoClient) -> dict[str, object]:
    return await client.transport.call(Service.USER_POOL, "GetUser", {})


async def test_calls_beyond_the_limit_wait_their_turn() -> None:
    held = Held()
    client = CognitoClient(CONFIG, max_connections=3, transport=held)
    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(call, client)
        with anyio.fail_after(5):
            while held.held < 3:
                await anyio.sleep(0.01)
        await anyio.sleep(0.05)  # the others had every chance to go
        assert held.held == 3
        assert client.calls_in_flight == 3
        held.release.set()
    assert held.most == 3
    assert client.peak_calls_in_flight == 3
    assert client.calls_in_flight == 0


async def test_with_the_budget_spent_a_failure_is_not_retried() -> None:
    failing = Failing(failures=10_000)
    client = CognitoClient(CONFIG, transport=failing)
    budget = client.transport.gate.budget
    budget.available = 7  # one retry's worth (5), not two
    with pytest.raises(InternalErrorException):
        await call(client)
    assert failing.sent == 2  # the first attempt, one retry
    assert budget.available == 2
    failing.sent = 0
    with pytest.raises(InternalErrorException):
        await call(client)
    assert failing.sent == 1  # nothing left to retry with


async def test_a_success_refills_the_budget() -> None:
    client = CognitoClient(CONFIG, transport=Failing(failures=2))
    budget = client.transport.gate.budget
    budget.available = 100
    await call(client)  # two retries (10), given back when the call succeeds
    assert budget.available == 100
    await call(client)  # first time: one token earned
    assert budget.available == 101


async def test_a_retry_the_policy_would_not_make_costs_nothing() -> None:
    failing = Failing(failures=10_000)
    client = CognitoClient(CONFIG, transport=failing)
    budget = client.transport.gate.budget
    with pytest.raises(InternalErrorException):
        await call(client)
    assert failing.sent == NO_WAIT.attempts
    assert budget.available == budget.capacity - (NO_WAIT.attempts - 1) * budget.retry_cost


def test_a_timeout_costs_more_than_a_refusal() -> None:
    budget = RetryBudget()
    assert budget.withdraw(NetworkError("GetUser: timed out")) == budget.timeout_cost
    assert budget.withdraw(InternalErrorException("HTTP 500")) == budget.retry_cost


@given(st.lists(st.one_of(st.booleans(), st.integers(1, 20)), max_size=200))
def test_the_budget_stays_within_its_capacity(steps: list[bool | int]) -> None:
    """Withdrawals (True: a timeout, False: another failure) and deposits in any order."""
    budget = RetryBudget(capacity=50)
    for step in steps:
        if isinstance(step, bool):
            before = budget.available
            cost = budget.withdraw(NetworkError("x") if step else InternalErrorException("x"))
            assert (cost is None and budget.available == before) or (
                cost is not None and budget.available == before - cost
            )
        else:
            budget.deposit(step)
        assert 0 <= budget.available <= budget.capacity


def test_a_gate_used_from_successive_event_loops_takes_new_slots() -> None:
    """A manager may serve one asyncio.run after another: its gate must not hold the old loop."""
    gate = CallGate(1)

    async def twice() -> None:
        async def one() -> None:
            await gate.call(NO_WAIT, "GetUser", lambda: asyncio.sleep(0.01))

        await asyncio.gather(one(), one())  # the second waits on the semaphore

    asyncio.run(twice())
    asyncio.run(twice())
    assert gate.peak == 1
