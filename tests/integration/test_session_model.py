"""A model-based test: random interleavings of operations and faults, invariants after every step.

Two simulated processes (slots 0 and 1: alice and bob on one user pool) each
have their own event loop (a blocking portal), fake clock, storage (a
MemoryStorage whose methods can be made to raise for a while), and an
observing proxy in front of the emulator that records every Cognito answer
with the manager's fake clock at the moment it arrived. Rules sign in and
out, fetch (plain and forced), enter and leave ``async with`` (or use the
manager without), restart the process, break and repair storage, inject
Cognito faults (5xx, throttling, dropped connections) and hostile answers
(tokens expired or unusable on arrival, absurd claims), let time pass and
step one process's wall clock. A failure shrinks to a short list of these
steps (with notes on what raised).

Time: the fake monotonic clock is the time of the model. Advancing it is
time passing for the server too, so a token is expired "by the server's
clock" at the manager's monotonic time ``m`` when
``server time at receipt + (m - monotonic at receipt) >= exp``. The clocks
only move when no Cognito call is in flight.

After every step, once the background work has settled (no call for a
moment, clocks standing still), the invariants:

- no expired token or credentials served, by the server's clock;
- background calls bounded by the backoff: with the clocks standing still a
  manager makes a few calls, never a stream; the calls are counted per
  manager and operation at its proxy (the front's ``timeline`` sees the
  same calls), and the worst rate and burst are printed at the end
  (``pytest -s``); a wall-clock step alone causes no call;
- every exception a public method raises is an AuthError, and
  InvalidStateException only on misuse (a nested ``async with``);
- no library task left running after ``async with`` is left, and the
  ``async with`` block never ends by itself;
- storage and memory agree once storage works again (given the background
  time to retry);
- a sign-out is final: no tokens served until the next sign-in, and no
  session in storage once the clear landed.

``AMPLIFY_SESSION_MODEL_EXAMPLES`` (25) and ``AMPLIFY_SESSION_MODEL_STEPS``
(20) size the run; ``AMPLIFY_SESSION_MODEL_RANDOM=1`` explores new examples
instead of the fixed, derandomized ones.
"""

from __future__ import annotations

import concurrent.futures
import os
import secrets
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from amplify_session import (
    AuthError,
    AuthSession,
    InvalidStateException,
    SessionManager,
    SignOutResult,
    UserAlreadyAuthenticatedException,
    UserUnAuthenticatedException,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.model_portal import (
    HANG_LIMIT,
    EventLoop,
    ModelStats,
    Outcome,
    SimulatedProcess,
    run_model,
    shutdown_all,
    wait_until_quiet,
)
from tests.support.model_world import (
    STORAGE_FAULTS,
    TAMPERING,
    FaultyStorage,
    ObservingProxy,
    error_name,
    library_tasks,
    observing_proxy,
)
from tests.support.retry import fast_retry

EXAMPLES = int(os.environ.get("AMPLIFY_SESSION_MODEL_EXAMPLES", "25"))
STEPS = int(os.environ.get("AMPLIFY_SESSION_MODEL_STEPS", "20"))
RANDOM = os.environ.get("AMPLIFY_SESSION_MODEL_RANDOM") == "1"

QUIET = 0.03  # seconds without a Cognito call (none in flight): the background has settled
SETTLE_LIMIT = 3.0  # seconds; a manager still calling by then is in a storm
#: Background calls of one operation by one manager while its clock stands still:
#: one due refresh and a productive follow-up or two, each retried once (fast_retry(2));
#: after an unproductive refresh the backoff waits (monotonic time, which stands still).
BURST_BOUND = 10
#: Fake seconds after which a repaired storage must agree with memory (backoff <= 60 s).
RECOVERY = 120.0
SLOT = st.integers(0, 1)
COGNITO_OPERATIONS = [
    "InitiateAuth",
    "RespondToAuthChallenge",
    "GetId",
    "GetCredentialsForIdentity",
    "RevokeToken",
    "GlobalSignOut",
    "*",
]


class Violation(AssertionError):
    """An invariant of the session manager does not hold."""


def _password() -> str:
    return f"Pw-{secrets.token_urlsafe(12)}-9a"


@attrs.frozen
class User:
    """A user of the pool (the password never in a repr)."""

    username: str
    password: str = attrs.field(repr=False)


@attrs.frozen
class Stored:
    """What the storage holds for a slot's user (read past any injected fault)."""

    last_user: str | None
    access_token: str | None = attrs.field(repr=lambda v: "None" if v is None else "'***'")
    has_refresh_token: bool = False

    @property
    def holds_session(self) -> bool:
        return self.last_user is not None or self.access_token is not None or self.has_refresh_token


@attrs.define
class BackgroundStats(ModelStats):
    """Cognito calls made while no caller waited and the clocks stood still, over the run."""

    windows: int = 0
    seconds: float = 0.0
    calls: int = 0
    worst_window: tuple[int, str, float] = (0, "-", 0.0)
    worst_second: tuple[int, str] = (0, "-")

    def record(self, calls: list[tuple[float, str]], seconds: float) -> None:
        self.calls += len(calls)
        by_operation = Counter(op for _, op in calls)
        for operation, count in by_operation.items():
            if count > self.worst_window[0]:
                self.worst_window = (count, operation, seconds)
            times = [t for t, op in calls if op == operation]
            start = 0
            for end, at in enumerate(times):
                while at - times[start] > 1.0:
                    start += 1
                if end - start + 1 > self.worst_second[0]:
                    self.worst_second = (end - start + 1, operation)

    def report(self) -> str:
        count, operation, seconds = self.worst_window
        per_second, second_op = self.worst_second
        return (
            f"{self.name}: {self.examples} examples, {self.steps} steps; background Cognito "
            f"calls (no caller waiting, clocks still): {self.calls} in {self.windows} windows "
            f"({self.seconds:.1f} s); worst rate: {per_second} calls/s ({second_op}, one "
            f"manager); worst burst: {count} {operation} calls by one manager in one window of "
            f"{seconds:.2f} s (bound {BURST_BOUND}); seen: {dict(sorted(self.seen.items()))}"
        )


STATS = BackgroundStats("session model")


class Slot(SimulatedProcess):
    """One simulated process: an event loop, a fake clock, a proxy, a storage, a manager."""

    def __init__(
        self,
        index: int,
        emulator: Emulator,
        pool: EmulatedPool,
        user: User,
        tolerance: float,
    ) -> None:
        self.user, self.username = user, user.username
        clock = FakeClock()
        self.storage = FaultyStorage()
        self.events: list[str] = []
        self.host: concurrent.futures.Future[None] | None = None
        self._close: anyio.Event | None = None
        loop = EventLoop()
        with loop.closing_on_error():
            self.proxy: ObservingProxy = loop.enter(observing_proxy(emulator.cognito_url, clock))
            self.config = pool.config(
                user_pool_endpoint=self.proxy.url,
                identity_pool_endpoint=self.proxy.url,
                retry=fast_retry(2),
                request_timeout=2.0,
                expiry_tolerance=tolerance,
            )
        super().__init__(self._new_manager, index=index, loop=loop, clock=clock)
        self.clock: FakeClock = clock
        self._prefix = f"CognitoIdentityServiceProvider.{pool.client_id}"
        # The model.
        self.state = "out"  # "in", "out", or "unknown" (restored from storage)
        self.clear_landed = True  # when "out": no session in storage since the sign-out
        self.unsure = False  # storage may legitimately lag memory until the next sign-in/out
        self.opened_at: float | None = None  # fake monotonic time of the last entry
        self.healthy_since: float | None = self.clock.monotonic()

    def __repr__(self) -> str:
        return f"Slot({self.index}, state={self.state!r})"

    def _new_manager(self) -> SessionManager:
        manager = SessionManager(self.config, storage=self.storage, clock=self.clock)
        manager.subscribe(lambda event: self.events.append(event.name.value))
        return manager

    @property
    def is_open(self) -> bool:
        return self.host is not None

    def fail(self, message: str) -> Violation:
        return Violation(f"slot {self.index} ({self.username}): {message}")

    # -- calls into the slot's event loop ------------------------------------------------------

    def stored(self) -> Stored:
        return self.portal.call(self._stored)

    async def _stored(self) -> Stored:
        inner = self.storage.inner
        user = f"{self._prefix}.{self.username}"
        return Stored(
            last_user=await inner.get_item(f"{self._prefix}.LastAuthUser"),
            access_token=await inner.get_item(f"{user}.accessToken"),
            has_refresh_token=await inner.get_item(f"{user}.refreshToken") is not None,
        )

    def fetch_with_storage(self) -> tuple[Outcome, Stored]:
        """A plain fetch and what the storage holds right after (no await in between)."""
        return self.portal.call(self._fetch_with_storage)

    async def _fetch_with_storage(self) -> tuple[Outcome, Stored]:
        outcome = await self._call("fetch_auth_session", (), {})
        return outcome, await self._stored()

    # -- async with ----------------------------------------------------------------------------

    def enter(self) -> None:
        self.host, _ = self.portal.start_task(self._hold_open)

    async def _hold_open(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        self._close = anyio.Event()
        async with self.manager:
            task_status.started()
            await self._close.wait()

    def leave(self) -> tuple[BaseException | None, bool]:
        """Leave ``async with``: (what the block raised, whether leaving hung)."""
        host, close = self.host, self._close
        assert host is not None
        assert close is not None
        self.host = self._close = None
        self.portal.call(close.set)
        try:
            host.result(timeout=HANG_LIMIT)
        except concurrent.futures.TimeoutError:
            return None, True
        except BaseException as exc:
            return exc, False
        return None, False

    async def _nested(self) -> str | Exception:
        try:
            async with self.manager:
                return "entered"
        except InvalidStateException:
            return "refused"
        except Exception as exc:
            return exc

    def nested_entry(self) -> str | Exception:
        return self.portal.call(self._nested)

    def leftover_tasks(self) -> list[str]:
        return self.portal.call(self._leftover_tasks)

    async def _leftover_tasks(self) -> list[str]:
        await anyio.lowlevel.checkpoint()
        return library_tasks()

    # -- restart and shutdown ------------------------------------------------------------------

    def shutdown(self, *, cancel: bool = False) -> None:
        """Leave ``async with``, then close; a block that hung or failed: cancel what is left
        rather than wait for it."""
        try:
            if self.host is not None:
                error, hung = self.leave()
                cancel = cancel or hung or error is not None
        except BaseException:
            cancel = True
            raise
        finally:
            super().shutdown(cancel=cancel)

    # -- the model -----------------------------------------------------------------------------

    def recovered(self) -> bool:
        """Open, with working storage, long enough for the background to have retried."""
        now = self.clock.monotonic()
        return (
            self.is_open
            and not self.unsure
            and self.opened_at is not None
            and self.healthy_since is not None
            and now - self.opened_at >= RECOVERY
            and now - self.healthy_since >= RECOVERY
        )

    def note_use(self) -> None:
        """A closed manager has no background to retry a failed write: storage may lag."""
        if not self.is_open and self.storage.fault is not None:
            self.unsure = True

    def signed_in(self) -> None:
        self.state, self.clear_landed, self.unsure = "in", True, False

    def signed_out(self, stored: Stored) -> None:
        self.state, self.clear_landed = "out", not stored.holds_session
        if self.clear_landed:
            self.unsure = False


class SessionModel(RuleBasedStateMachine):
    """Two processes, their storages and clocks, one emulated Cognito with faults."""

    emulator: Emulator

    def __init__(self) -> None:
        super().__init__()
        self.slots: list[Slot] = []
        self._passive = False  # the last rule only flipped a switch: nothing started

    # -- world ---------------------------------------------------------------------------------

    @initialize(
        validity=st.sampled_from([3600, 30]),
        tolerance=st.sampled_from([5.0, 2.0]),
        opened=st.tuples(st.booleans(), st.booleans()),
    )
    def world(
        self,
        validity: int,
        tolerance: float,
        opened: tuple[bool, bool],
    ) -> None:
        """A fresh pool whose tokens live ``validity`` s; two signed-in processes, maybe open."""
        STATS.examples += 1
        emulator = self.emulator
        emulator.reset()
        pool = emulator.provision(token_validity=timedelta(seconds=validity))
        bob = _password()
        emulator.add_user(pool, "bob", bob, email="bob@example.com")
        alice = User(pool.username, pool.password)
        self.slots.append(Slot(0, emulator, pool, alice, tolerance))
        self.slots.append(Slot(1, emulator, pool, User("bob", bob), tolerance))
        for s, is_open in zip(self.slots, opened, strict=True):
            if is_open:
                s.enter()
                s.opened_at = s.clock.monotonic()
            outcome = s.call("sign_in", s.username, s.user.password, auth_flow="USER_PASSWORD_AUTH")
            if not self._expect(s, outcome, "sign_in"):
                raise s.fail("the first sign-in failed")
            s.signed_in()

    def teardown(self) -> None:
        try:
            shutdown_all(self.slots)
        finally:
            self.emulator.front.clear_faults()

    # -- checks shared by the rules ------------------------------------------------------------

    def _expect(self, slot: Slot, outcome: Outcome, what: str, *, misuse: bool = False) -> bool:
        """Check how a public method ended; True when it returned a value."""
        if outcome.hung:
            raise slot.fail(f"{what} hung for {HANG_LIMIT:.0f} s")
        error = outcome.error
        key = what.split(" ")[0]
        if error is None:
            STATS.seen[f"{key} ok"] += 1
            return True
        STATS.seen[f"{key} {getattr(error, 'name', type(error).__name__)}"] += 1
        note(f"slot {slot.index}: {what} raised {error_name(error)}")
        if not isinstance(error, AuthError):
            raise slot.fail(f"{what} raised {error_name(error)}, which is not an AuthError")
        if isinstance(error, InvalidStateException) and not misuse:
            raise slot.fail(f"{what} raised InvalidStateException without any misuse")
        return False

    def _check_served(self, slot: Slot, session: AuthSession, monotonic: float, what: str) -> None:
        tokens = session.tokens
        if tokens is not None and slot.state == "out":
            raise slot.fail(f"sign-out undone: {what} served tokens after sign_out")
        if tokens is None and slot.state == "in":
            raise slot.fail(f"a signed-in session was lost: {what} served no tokens")
        if tokens is not None:
            if tokens.access_token.payload.get("username") != slot.username:
                raise slot.fail(f"{what} served another user's tokens")
            receipt = slot.proxy.tokens.get(str(tokens.access_token.payload.get("jti")))
            if receipt is None:
                raise slot.fail(f"{what} served tokens that never came from Cognito")
            STATS.seen["served tokens"] += 1
            overdue = receipt.overdue(monotonic)
            if overdue >= 0:
                raise slot.fail(
                    f"{what} served an access token {overdue:.1f} s past its exp "
                    "(by the server's clock)"
                )
        credentials = session.credentials
        if credentials is not None:
            got = slot.proxy.credentials.get(credentials.access_key_id)
            if got is None:
                raise slot.fail(f"{what} served AWS credentials that never came from Cognito")
            STATS.seen["served credentials"] += 1
            overdue = got.overdue(monotonic)
            if overdue >= 0:
                raise slot.fail(
                    f"{what} served AWS credentials {overdue:.1f} s past their Expiration "
                    "(by the server's clock)"
                )

    def _after_sign_out(self, slot: Slot, outcome: Outcome, stored: Stored) -> None:
        if outcome.hung:
            raise slot.fail("sign_out hung")
        if outcome.error is not None:
            raise slot.fail(f"sign_out raised {error_name(outcome.error)}; it never raises")
        result: SignOutResult = outcome.value
        note(f"slot {slot.index}: {result!r}")
        STATS.seen[f"sign_out storage_cleared={result.storage_cleared}"] += 1
        if slot.storage.fault is None and not result.storage_cleared:
            raise slot.fail("sign_out said storage_cleared=False with a working storage")
        if result.storage_cleared and stored.holds_session:
            raise slot.fail("sign_out said storage_cleared=True but a session is stored")
        slot.signed_out(stored)

    def _settle(self, *, passive: bool = False) -> None:
        """Wait until no manager has called Cognito for a moment; check the burst bound.

        ``passive``: the world was settled and the last step started nothing
        (it only switched a fault): a glance suffices.
        """
        marks = [len(slot.proxy.calls) for slot in self.slots]
        start = time.monotonic()
        floor = start - QUIET if passive else start
        wait_until_quiet(self._idle_since, quiet=QUIET, limit=SETTLE_LIMIT, floor=floor)
        seconds = time.monotonic() - start
        STATS.windows += 1
        STATS.seconds += seconds
        for slot, mark in zip(self.slots, marks, strict=True):
            calls = slot.proxy.calls[mark:]
            STATS.record(calls, seconds)
            for operation, count in Counter(op for _, op in calls).items():
                if count > BURST_BOUND:
                    raise slot.fail(
                        f"Cognito storm: {count} {operation} calls in {seconds:.1f} s with no "
                        "caller waiting and the clock standing still (the backoff allows a few)"
                    )

    def _idle_since(self) -> float | None:
        """Since when no manager has called Cognito (None: a call is in flight)."""
        if any(slot.proxy.busy for slot in self.slots):
            return None
        return max(slot.proxy.last_activity for slot in self.slots)

    # -- rules: the session --------------------------------------------------------------------

    @rule(slot=SLOT, flow=st.sampled_from(["USER_PASSWORD_AUTH", "USER_SRP_AUTH"]))
    def sign_in(self, slot: int, flow: str) -> None:
        s = self.slots[slot]
        s.note_use()
        outcome = s.call("sign_in", s.username, s.user.password, auth_flow=flow)
        if self._expect(s, outcome, "sign_in"):
            if not outcome.value.is_signed_in:
                raise s.fail("sign_in asked for a challenge nobody planned")
            if s.state == "in":
                raise s.fail("a signed-in session was lost: sign_in succeeded again")
            stored = s.stored()
            if stored.last_user != s.username or stored.access_token is None:
                raise s.fail("sign_in succeeded but the session is not in storage")
            s.signed_in()
        elif isinstance(outcome.error, UserAlreadyAuthenticatedException):
            if s.state == "out":
                raise s.fail("sign_in says a user is signed in, after a sign-out or failed sign-in")
            s.state = "in"

    @rule(slot=SLOT, everywhere=st.booleans(), while_refreshing=st.booleans())
    def sign_out(self, slot: int, everywhere: bool, while_refreshing: bool) -> None:
        """Sign out (GlobalSignOut when ``everywhere``).

        ``while_refreshing``: while a forced refresh waits on a slow Cognito
        (its InitiateAuth answers after 0.5 s).
        """
        s = self.slots[slot]
        s.note_use()
        if while_refreshing:
            self.emulator.front.inject("InitiateAuth", 0.5)
        forced, raced, outcome, stored, after = s.portal.call(
            self._sign_out, s, everywhere, while_refreshing
        )
        if raced:
            note(f"slot {slot}: a refresh was in flight at the sign-out: {raced[0]}")
        self._after_sign_out(s, outcome, stored)
        if self._expect(s, after, "fetch_auth_session right after sign_out"):
            self._check_served(s, after.value, after.monotonic, "fetch right after sign_out")
        if forced is not None:
            self._expect(s, forced, "forced-fetch_auth_session during sign_out")

    async def _sign_out(
        self, s: Slot, everywhere: bool, while_refreshing: bool
    ) -> tuple[Outcome | None, list[bool], Outcome, Stored, Outcome]:
        forced: list[Outcome] = []
        raced: list[bool] = []

        async def refresh() -> None:
            forced.append(await s._call("fetch_auth_session", (), {"force_refresh": True}))

        async with anyio.create_task_group() as group:
            if while_refreshing:
                group.start_soon(refresh)
                with anyio.move_on_after(2):
                    while not s.proxy.busy and not forced:
                        await anyio.sleep(0.005)
                raced.append(not forced)
            outcome = await s._call("sign_out", (), {"global_sign_out": everywhere})
            stored = await s._stored()
            after = await s._call("fetch_auth_session", (), {})
        return (forced[0] if forced else None), raced, outcome, stored, after

    @rule(
        slot=SLOT,
        method=st.sampled_from(
            [
                "fetch_auth_session",
                "fetch_auth_session(force_refresh=True)",
                "is_authenticated",
                "get_current_user",
            ]
        ),
    )
    def ask(self, slot: int, method: str) -> None:
        s = self.slots[slot]
        s.note_use()
        if method.startswith("fetch_auth_session"):
            outcome = s.call("fetch_auth_session", force_refresh="force" in method)
            if self._expect(s, outcome, method):
                self._check_served(s, outcome.value, outcome.monotonic, method)
            return
        outcome = s.call(method)
        if not self._expect(s, outcome, method):
            if isinstance(outcome.error, UserUnAuthenticatedException) and s.state == "in":
                raise s.fail(f"a signed-in session was lost: {method}() says nobody")
            return
        if method == "is_authenticated":
            if outcome.value and s.state == "out":
                raise s.fail("sign-out undone: is_authenticated() is True")
            if not outcome.value and s.state == "in":
                raise s.fail("a signed-in session was lost: is_authenticated() is False")
        else:
            if s.state == "out":
                raise s.fail("sign-out undone: get_current_user() returned a user")
            if outcome.value.username != s.username:
                raise s.fail("get_current_user() returned another user")

    # -- rules: lifecycle ----------------------------------------------------------------------

    @rule(slot=SLOT)
    def enter(self, slot: int) -> None:
        """``async with manager``; a second entry while open is misuse."""
        s = self.slots[slot]
        if s.is_open:
            note(f"slot {slot}: nested async with (misuse)")
            got = s.nested_entry()
            if got == "entered":
                raise s.fail("a nested async with was accepted (InvalidStateException expected)")
            if isinstance(got, Exception):
                self._expect(s, Outcome(error=got), "a nested async with", misuse=True)
                raise s.fail(f"a nested async with raised {error_name(got)}, not InvalidState")
            return
        try:
            s.enter()
        except Exception as exc:
            raise s.fail(f"async with raised {error_name(exc)} on entry") from None
        s.opened_at = s.clock.monotonic()

    @rule(slot=SLOT)
    def leave(self, slot: int) -> None:
        """Leave ``async with`` (nothing when not open)."""
        s = self.slots[slot]
        if s.is_open:
            self._leave(s)

    def _leave(self, s: Slot) -> None:
        error, hung = s.leave()
        s.opened_at = None
        if hung:
            raise s.fail("leaving async with hung")
        if error is not None:
            raise s.fail(f"the async with block raised {error_name(error)}")
        leftover = s.leftover_tasks()
        if leftover:
            raise s.fail(f"tasks still running after async with: {leftover}")

    @rule(slot=SLOT)
    def restart(self, slot: int) -> None:
        """The process restarts: a new manager over the same storage."""
        s = self.slots[slot]
        if s.is_open:
            self._leave(s)
        error = s.restart()
        if error is not None:
            raise s.fail(f"aclose() raised {error_name(error)}")
        stored = s.stored()
        s.state = "unknown" if stored.holds_session else "out"
        s.clear_landed = not stored.holds_session
        s.unsure = s.storage.fault is not None

    # -- rules: faults and time ----------------------------------------------------------------

    @rule(
        slot=SLOT,
        fault=st.sampled_from([None, *sorted(STORAGE_FAULTS)]),
        reads=st.booleans(),
    )
    def storage_fault(self, slot: int, fault: str | None, reads: bool) -> None:
        """From now on the storage's writes (and reads, when ``reads``) raise ``fault``.

        ``fault=None``: the storage is repaired.
        """
        s = self.slots[slot]
        self._passive = True
        if fault is None:
            if s.storage.fault is not None:
                s.storage.repair()
                s.healthy_since = s.clock.monotonic()
            return
        s.storage.break_(fault, reads=reads)
        s.healthy_since = None
        if reads and s.state == "unknown":
            s.unsure = True  # a restored session that could not be read counts as none

    @rule(
        operation=st.sampled_from(COGNITO_OPERATIONS),
        fault=st.sampled_from([None, 503, "TooManyRequestsException", "reset"]),
        times=st.sampled_from([1, 2, 5, 1000]),
    )
    def cognito_fault(self, operation: str, fault: int | str | None, times: int) -> None:
        """The next ``times`` calls of ``operation`` fail (1000: until Cognito recovers).

        ``fault=None``: Cognito recovers (no faults, honest tokens).
        """
        self._passive = True
        if fault is None:
            self.emulator.front.clear_faults()
            for s in self.slots:
                s.proxy.tamper = None
            return
        self.emulator.front.inject(operation, fault, times=times)

    @rule(slot=SLOT, how=st.sampled_from(sorted(TAMPERING)), times=st.sampled_from([1, 3, 1000]))
    def hostile_tokens(self, slot: int, how: str, times: int) -> None:
        """The next ``times`` token answers to this process have odd claims.

        expired: exp an hour before iat; short: exp 2 s after iat (unusable on
        arrival); absurd: iat 1e308. Until Cognito recovers (``cognito_fault(fault=None)``).
        """
        self._passive = True
        self.slots[slot].proxy.tamper = (how, times)

    @rule(seconds=st.sampled_from([0.6, 2.0, 30.0, 61.0, 300.0, 1800.0, 3300.0, 3600.0, 7200.0]))
    def time_passes(self, seconds: float) -> None:
        """Both processes' clocks (wall and monotonic) advance (nothing is in flight)."""
        for s in self.slots:
            s.portal.call(s.clock.advance, seconds)

    @rule(slot=SLOT, seconds=st.sampled_from([-3600.0, 3600.0, -300.0, 300.0, -86400.0, 86400.0]))
    def wall_clock_steps(self, slot: int, seconds: float) -> None:
        """An NTP step of one process's wall clock: must change nothing."""
        s = self.slots[slot]
        mark = len(s.proxy.calls)
        s.portal.call(s.clock.step, seconds)
        self._settle()
        caused = Counter(op for _, op in s.proxy.calls[mark:])
        if caused:
            raise s.fail(f"a wall-clock step alone caused Cognito calls: {dict(caused)}")

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def check_world(self) -> None:
        if not self.slots:
            return
        STATS.steps += 1
        passive, self._passive = self._passive, False
        self._settle(passive=passive)
        for s in self.slots:
            if s.host is not None and s.host.done():
                error = s.host.exception()
                name = error_name(error) if error is not None else "nothing"
                raise s.fail(f"the async with block ended by itself (raised {name})")
            self._check_storage(s)

    def _check_storage(self, s: Slot) -> None:
        stored = s.stored()
        if s.state == "out":
            if not stored.holds_session:
                if not s.clear_landed:
                    STATS.seen["pending sign-out clear landed"] += 1
                s.clear_landed = True
                s.unsure = False
            elif s.clear_landed:
                raise s.fail("sign-out undone: a session was written back to storage")
            elif s.recovered():
                raise s.fail(
                    f"the sign-out's clear never landed: storage repaired and manager open for "
                    f"{RECOVERY:.0f} s, the session is still stored"
                )
            return
        if not s.recovered():
            return
        STATS.seen["storage agreement checked"] += 1
        outcome, stored = s.fetch_with_storage()
        self._settle()  # the next rule may move the clocks
        if not self._expect(s, outcome, "fetch_auth_session (storage check)"):
            return
        session: AuthSession = outcome.value
        self._check_served(s, session, outcome.monotonic, "fetch_auth_session (storage check)")
        if session.tokens is None:
            if stored.holds_session:
                raise s.fail("storage and memory disagree: signed out, but a session is stored")
        elif (
            stored.last_user != s.username
            or stored.access_token != session.tokens.access_token.to_string()
        ):
            raise s.fail("storage and memory disagree: the stored tokens are not those served")


@pytest.mark.heavy
def test_session_model(amplify_emulator: Emulator) -> None:
    SessionModel.emulator = amplify_emulator
    run_model(SessionModel, STATS, examples=EXAMPLES, steps=STEPS, randomized=RANDOM)
