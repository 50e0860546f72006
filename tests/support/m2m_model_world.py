"""The world of the M2M model test: managers ("processes") of one app client, their storages
and clocks, and the scripted token endpoint, all in one event loop.

Every manager has a fake clock of its own (its wall clock can be stepped
apart), advanced in step with the endpoint's, which is the model's true time.
One event loop hosts them all, so advancing the clocks is one synchronous act
with nothing in flight; the storages they share are real (a RedisStorage
client each on one Redis, or FileStorage objects on one file), so sharing
goes through the same sockets and files as between processes. Each manager's
events queue in a stream of its own, read at the moment the test looks at the
manager's state (one synchronous act in the loop), so events and state agree.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs

from amplify_session import (
    AuthError,
    ClientCredentialsConfig,
    FileStorage,
    MemoryStorage,
    SessionEvent,
    SessionManager,
)
from amplify_session._events import EventStream
from amplify_session.storage.redis import RedisStorage
from amplify_session.testing import FakeClock
from tests.support.m2m_model_endpoint import Request, TokenEndpoint, token_endpoint
from tests.support.retry import fast_retry

__all__ = [
    "ATTEMPTS",
    "STORAGES",
    "Outcome",
    "Process",
    "Profile",
    "Seen",
    "World",
    "world",
]

#: Token requests per flight the managers' retry policy allows.
ATTEMPTS = 2
REQUEST_TIMEOUT = 0.5  # seconds; a stalled answer takes longer
CLIENT_ID = "m2m-model-client"
SCOPE = "orders/read"
#: Events a manager keeps for the test between two looks (none may be dropped).
EVENT_BUFFER = 10_000
#: "memory": a storage per manager (a per-process cache); the others are shared.
STORAGES = ("memory", "file", "redis")


@attrs.frozen
class Profile:
    """How long tokens live, and the managers' refresh window and expiry tolerance."""

    lifetime: int
    refresh_window: float
    tolerance: float


@attrs.frozen
class Seen:
    """An event as it was emitted: its name, the token of its session, its error."""

    name: str
    jti: str | None
    error: AuthError | None

    @classmethod
    def of(cls, event: SessionEvent) -> Seen:
        tokens = event.session.tokens if event.session is not None else None
        jti = tokens.access_token.payload.get("jti") if tokens is not None else None
        return cls(event.name.value, jti if isinstance(jti, str) else None, event.error)


@attrs.frozen
class Outcome:
    """What a public method did, the requests its manager sent meanwhile, and the time."""

    value: Any = None
    error: Exception | None = None
    hung: bool = False
    requests: tuple[Request, ...] = ()
    server_now: float = 0.0  # the endpoint's (true) time when it returned


@attrs.define(eq=False)
class Process:
    """One manager of the app client, with its clock, storage and event log."""

    index: int
    clock: FakeClock
    right_secret: bool
    storage: Any
    manager: SessionManager
    events: list[Seen] = attrs.field(factory=list, repr=False)
    wall_offset: float = 0.0  # the sum of its wall-clock steps
    #: Set while ``async with manager`` is held open by a task.
    close: anyio.Event | None = None
    #: Whether that task ended (and how): an open manager's block never ends by itself.
    host_ended: bool = False
    host_error: BaseException | None = None
    stream: EventStream | None = attrs.field(default=None, repr=False)

    @property
    def is_open(self) -> bool:
        return self.close is not None

    @property
    def holds_token(self) -> bool:
        """Whether the manager holds a token (its repr says so; nothing is awaited)."""
        return "state='signed-in'" in repr(self.manager)

    def drain(self) -> None:
        """Move the events emitted so far to :attr:`events`, without awaiting anything.

        (A peek at the stream's queue: reading it through ``async for`` would let
        the manager change between the last event read and a look at its state.)
        """
        if self.stream is not None:
            queued = self.stream._mailbox._events
            while queued:
                self.events.append(Seen.of(queued.popleft()))


@attrs.define(eq=False)
class World:
    """The endpoint and the processes, in the running event loop (see the module docstring)."""

    endpoint: TokenEndpoint
    profile: Profile
    storage_kind: str
    wrong_secret: str = attrs.field(repr=False)
    group: anyio.abc.TaskGroup
    make_storage: Callable[[], Any]
    processes: list[Process] = attrs.field(factory=list)

    @property
    def shared(self) -> bool:
        return self.storage_kind != "memory"

    # -- managers --------------------------------------------------------------------------

    def config(self, index: int, right_secret: bool) -> ClientCredentialsConfig:
        return ClientCredentialsConfig(
            user_pool_id="us-east-1_M2mModel",
            client_id=CLIENT_ID,
            client_secret=self.endpoint.secret if right_secret else self.wrong_secret,
            domain=self.endpoint.domain(index),
            scopes=(SCOPE,),
            refresh_window=self.profile.refresh_window,
            expiry_tolerance=self.profile.tolerance,
            request_timeout=REQUEST_TIMEOUT,
            retry=fast_retry(ATTEMPTS),
        )

    async def add(self, right_secret: bool) -> Process:
        index = len(self.processes)
        clock = FakeClock(self.endpoint.clock.time())
        clock.advance(self.endpoint.clock.monotonic() - clock.monotonic())
        process = Process(index, clock, right_secret, None, None)  # type: ignore[arg-type]
        self.processes.append(process)
        await self._new_manager(process, right_secret)
        return process

    async def _new_manager(self, process: Process, right_secret: bool) -> None:
        process.storage = self.make_storage()
        process.right_secret = right_secret
        process.manager = SessionManager(
            self.config(process.index, right_secret),
            storage=process.storage,
            clock=process.clock,
            event_buffer=EVENT_BUFFER,
        )
        process.stream = process.manager.events()

    async def restart(self, index: int, right_secret: bool) -> Exception | None:
        """The process restarts: its manager closed, a new one on a new client of the shared
        storage (or a new MemoryStorage: a per-process cache dies with the process)."""
        process = self.processes[index]
        error: Exception | None = None
        try:
            await process.manager.aclose()
        except Exception as exc:  # the test reports it
            error = exc
        await self._close_stream(process)
        if isinstance(process.storage, RedisStorage):
            await process.storage.aclose()  # the process's connections die with it
        await self._new_manager(process, right_secret)
        return error

    async def _close_stream(self, process: Process) -> None:
        process.drain()
        if process.stream is not None:
            await process.stream.aclose()

    # -- async with --------------------------------------------------------------------------

    async def open(self, index: int) -> None:
        process = self.processes[index]
        process.host_ended, process.host_error = False, None
        await self.group.start(self._hold_open, process)

    async def _hold_open(self, process: Process, *, task_status: Any) -> None:
        close = process.close = anyio.Event()
        try:
            async with process.manager:
                task_status.started()
                await close.wait()
        except Exception as exc:  # what the block raised: the test reports it
            process.host_error = exc
        finally:
            process.host_ended = True

    async def close(self, index: int, limit: float) -> tuple[BaseException | None, bool]:
        """Leave ``async with``: (what the block raised, whether leaving hung)."""
        process = self.processes[index]
        close, process.close = process.close, None
        assert close is not None
        close.set()
        with anyio.move_on_after(limit):
            while not process.host_ended:
                await anyio.sleep(0.005)
        return process.host_error, not process.host_ended

    # -- calls -------------------------------------------------------------------------------

    async def call(self, index: int, method: str, limit: float, **kwargs: Any) -> Outcome:
        """Call a public method of a manager; the requests it sent meanwhile come along."""
        mark = len(self.endpoint.requests)
        value: Any = None
        error: Exception | None = None
        with anyio.move_on_after(limit) as scope:
            try:
                value = await getattr(self.processes[index].manager, method)(**kwargs)
            except Exception as exc:  # the test judges it
                error = exc
        sent = tuple(r for r in self.endpoint.requests[mark:] if r.manager == index)
        return Outcome(value, error, scope.cancelled_caught, sent, self.endpoint.clock.time())

    async def fetch_all(self, limit: float) -> list[Outcome]:
        """Every manager fetches at once (a fleet's demand)."""
        outcomes: dict[int, Outcome] = {}

        async def one(index: int) -> None:
            outcomes[index] = await self.call(index, "fetch_auth_session", limit)

        async with anyio.create_task_group() as group:
            for process in self.processes:
                group.start_soon(one, process.index)
        return [outcomes[i] for i in range(len(self.processes))]

    def snapshot(self) -> tuple[int, list[tuple[int, bool]]]:
        """The requests so far, and each process's events so far and whether it holds a
        token, at one instant (called in the loop: nothing changes meanwhile)."""
        for process in self.processes:
            process.drain()
        held = [(len(p.events), p.holds_token) for p in self.processes]
        return len(self.endpoint.requests), held

    # -- time --------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Time passes for everyone (called in the loop: nothing runs in between)."""
        self.endpoint.clock.advance(seconds)
        for process in self.processes:
            process.clock.advance(seconds)

    def step_wall(self, index: int, seconds: float) -> None:
        process = self.processes[index]
        process.clock.step(seconds)
        process.wall_offset += seconds

    def idle_since(self) -> float | None:
        """Since when (``time.monotonic``) no token request has been in flight, None while
        one is or a manager refreshes (called in the loop)."""
        if self.endpoint.in_flight or any(_refreshing(p.manager) for p in self.processes):
            return None
        return self.endpoint.last_activity

    async def shutdown(self, limit: float) -> list[BaseException]:
        errors: list[BaseException] = []
        for process in self.processes:
            if process.is_open:
                error, hung = await self.close(process.index, limit)
                if error is not None:
                    errors.append(error)
                if hung:
                    errors.append(TimeoutError(f"process {process.index} hung on close"))
            try:
                await process.manager.aclose()
            except Exception as exc:  # reported by the test
                errors.append(exc)
            await self._close_stream(process)
            if isinstance(process.storage, RedisStorage):
                await process.storage.aclose()
        return errors


def _refreshing(manager: SessionManager) -> bool:
    # A refresh may wait for the shared lock (polled in real time) before it asks the
    # endpoint: the endpoint being quiet is not enough. (A peek at the single flight.)
    return bool(manager._flight.in_progress)


def storage_factory(kind: str, redis_url: str | None, scratch: Path) -> Callable[[], Any]:
    """A maker of one process's storage: its own MemoryStorage, or a client of the shared one."""
    name = f"m2m-model-{uuid.uuid4().hex[:12]}"
    if kind == "memory":
        return MemoryStorage
    if kind == "file":
        path = scratch / name / "session.json"
        return lambda: FileStorage(path)
    assert redis_url is not None
    return lambda: RedisStorage.from_url(redis_url, prefix=name)


@asynccontextmanager
async def world(
    *,
    profile: Profile,
    storage_kind: str,
    secrets: tuple[str, str],
    right_secrets: list[bool],
    redis_url: str | None,
    scratch: Path,
    stall: float,
) -> AsyncIterator[World]:
    """The endpoint and one process per entry of ``right_secrets`` (False: a wrong secret)."""
    clock = FakeClock()
    async with (
        token_endpoint(
            clock,
            client_id=CLIENT_ID,
            secret=secrets[0],
            lifetime=profile.lifetime,
            scope=SCOPE,
            stall=stall,
        ) as endpoint,
        anyio.create_task_group() as group,
    ):
        made = World(
            endpoint,
            profile,
            storage_kind,
            secrets[1],
            group,
            storage_factory(storage_kind, redis_url, scratch),
        )
        for right in right_secrets:
            await made.add(right)
        try:
            yield made
        finally:
            group.cancel_scope.cancel()
