"""A model-based test of machine-to-machine (client_credentials) sessions: random interleavings
of fetches, time, endpoint answers, sign-outs and restarts, with invariants after every step.

Each example draws a world (``tests/support/m2m_model_world.py``): a scripted
token endpoint on 127.0.0.1 (``tests/support/m2m_model_endpoint.py``) whose
tokens' ``iat``/``exp`` follow its fake clock, the model's true time; two or
three managers of the app client ("processes"), each with a fake clock of its
own advanced with the endpoint's (its wall clock can be stepped apart), one
of them maybe with a wrong secret; and their storage: a MemoryStorage each
(a per-process cache), or one FileStorage file, or one Redis (a RedisStorage
client each), shared. Rules: fetch (plain or forced) in one manager or in all
at once, let time pass (one jump, or small ticks with the background loops
acting between them, maybe polled by callers), step a manager's wall clock,
script the endpoint's next answers (a token, 503, 429, a reset, a stall past
the request timeout, a slow answer, ``invalid_client``, ``invalid_scope``,
``unauthorized_client``, an ``invalid_client`` that quotes the secret, another
client's token, an expired one, one too short to use, HTML), sign out, enter
and leave ``async with``, restart a process (maybe with the other secret).

After every step, once no manager refreshes and no token request has been in
flight for a moment, the checks (``tests/support/m2m_model_checks.py``):

- a fetch returns this client's usable token, never one expired or within
  ``expiry_tolerance`` by the endpoint's clock, or raises the AuthError the
  endpoint's last answer to it calls for (a refusal: the OAuthError it names,
  whether or not a token was held); a forced fetch returns a token it
  requested;
- token requests are bounded: per manager and step, a few flights beyond its
  callers' (a storm while the clocks stand still fails at once); over many
  ticks, one flight per renewal window, one per scripted failure, and the
  backoff's retries while the endpoint keeps failing; a wall-clock step alone
  sends nothing; after a refusal or a sign-out a manager sends nothing until
  a caller fetches (or it adopts a token another process stored);
- events: ``signedIn`` when a manager comes to hold a token, ``tokenRefresh``
  for a new one while it holds one, ``tokenRefresh_failure`` no more often than
  failed answers, ``signedOut`` only when a session ends (or ``sign_out()`` is
  called), and what they say is what the manager holds; the ``async with``
  block never ends by itself, and no library task outlives the managers;
- no secret (the client secrets as sent, URL-encoded or in the Basic header,
  any token's payload or signature) is in an exception's text, an event's
  error or a log record;
- with shared storage and an endpoint answering tokens, the fleet gets one
  token per renewal window between its processes: they adopt it.

A manager that never measured the server's clock itself judges a stored
token by its wall clock and the stored ``clockDrift``; after a wall-clock
step back before a restart (or between hosts) it may believe a token lives
longer than it does, by the step. Nothing in a process can tell (see
``ServerClock.now``), so the expiry check allows that much, and counts it.

``test_m2m_model_quick`` runs a few examples on every run,
``test_m2m_model_scenario`` fixed step lists (the paths the issue names and
the bugs this model found), ``test_m2m_model`` (heavy)
``AMPLIFY_SESSION_M2M_MODEL_EXAMPLES`` (60) examples of
``AMPLIFY_SESSION_M2M_MODEL_STEPS`` (30) steps, derandomized unless
``AMPLIFY_SESSION_M2M_MODEL_RANDOM=1``; ``pytest -s`` prints what they saw.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from amplify_session import AuthError, InvalidStateException, SignOutResult
from tests.support.m2m_model_checks import (
    MEASURED,
    Expect,
    SecretScanner,
    backoff_flights,
    credential_forms,
    event_problem,
    expected_error,
    renewal_interval,
)
from tests.support.m2m_model_endpoint import GOOD, KINDS, REFUSALS, Request
from tests.support.m2m_model_world import (
    ATTEMPTS,
    CLIENT_ID,
    REQUEST_TIMEOUT,
    STORAGES,
    Outcome,
    Process,
    Profile,
    World,
    world,
)
from tests.support.model_portal import (
    HANG_LIMIT,
    EventLoop,
    ModelStats,
    Steps,
    note,
    prepare,
    replay,
    run_model,
    wait_until_quiet,
)
from tests.support.model_world import error_name, exception_chain, library_tasks

EXAMPLES = int(os.environ.get("AMPLIFY_SESSION_M2M_MODEL_EXAMPLES", "60"))
STEPS = int(os.environ.get("AMPLIFY_SESSION_M2M_MODEL_STEPS", "30"))
RANDOM = os.environ.get("AMPLIFY_SESSION_M2M_MODEL_RANDOM") == "1"

QUIET = 0.02  # seconds with no refresh and no token request in flight: settled
SETTLE_LIMIT = 5.0  # seconds; still refreshing by then is a storm
STALL = REQUEST_TIMEOUT + 0.3  # seconds a stalled answer takes
#: Background flights per manager in a step with the clocks moved at most once:
#: the one due, and one after a wake (a session that began or ended).
BACKGROUND_FLIGHTS = 3
PROFILES = (
    Profile(lifetime=3600, refresh_window=300.0, tolerance=5.0),
    Profile(lifetime=60, refresh_window=10.0, tolerance=2.0),
    Profile(lifetime=10, refresh_window=2.0, tolerance=0.5),
)
SLOT = st.integers(0, 2)  # a manager, modulo how many there are
SCRIPTED = st.lists(st.sampled_from(KINDS), max_size=4)
STICKY = st.sampled_from([None, None, "503", "429", "reset", "invalid_client", "expired"])
WALL_STEPS = (-86400.0, -3600.0, -300.0, -30.0, 30.0, 300.0, 3600.0, 86400.0)


class Violation(AssertionError):
    """An invariant of M2M sessions does not hold."""


STATS = ModelStats("m2m model")


class M2MModel(RuleBasedStateMachine):
    """Managers of one app client, their storage and clocks, one scripted token endpoint."""

    redis_url: str
    scratch: Path
    caplog: pytest.LogCaptureFixture

    def __init__(self) -> None:
        super().__init__()
        self.w: World | None = None
        self.expect: list[Expect] = []
        self.raised: list[BaseException] = []  # errors since the last secret scan
        self.request_mark = 0
        self.log_mark = len(self.caplog.text)
        self.fleet_bound: int | None = None  # good tokens the fleet may get in this step
        #: The greatest wall-clock offset a manager had when it received a good token.
        self.writer_offset = 0.0
        self.scanner = SecretScanner(())
        self.scanned_tokens = 0

    # -- world ---------------------------------------------------------------------------------

    @initialize(
        storage=st.sampled_from(STORAGES),
        profile=st.sampled_from(PROFILES),
        managers=st.integers(2, 3),
        wrong=st.sampled_from([None, None, 1]),
        opened=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    )
    def world(
        self,
        storage: str,
        profile: Profile,
        managers: int,
        wrong: int | None,
        opened: tuple[bool, bool, bool],
    ) -> None:
        """``managers`` processes on ``storage``; ``wrong`` has a wrong secret; some open."""
        STATS.examples += 1
        STATS.seen[f"storage {storage}"] += 1
        secret, wrong_secret = f"S3cr+{os.urandom(18).hex()}/=", f"Wr0+{os.urandom(18).hex()}/="
        self.scanner = SecretScanner(
            credential_forms(CLIENT_ID, secret) + credential_forms(CLIENT_ID, wrong_secret)
        )
        self.loop = EventLoop()
        self.portal = self.loop.portal
        with self.loop.closing_on_error():
            self.w = self.loop.enter(
                world(
                    profile=profile,
                    storage_kind=storage,
                    secrets=(secret, wrong_secret),
                    right_secrets=[i != wrong for i in range(managers)],
                    redis_url=self.redis_url if storage == "redis" else None,
                    scratch=self.scratch,
                    stall=STALL,
                )
            )
        self.expect = [Expect() for _ in range(managers)]
        for index in range(managers):
            if opened[index]:
                self._open(index)

    def teardown(self) -> None:
        if self.w is None:
            return
        try:
            errors = self.portal.call(self.w.shutdown, HANG_LIMIT)
            leftover = self.portal.call(self._leftover)
        finally:
            self.loop.close()
        if errors:
            raise Violation(f"closing the managers raised {error_name(errors[0])}")
        if leftover:
            raise Violation(f"tasks still running after every manager closed: {leftover}")

    async def _leftover(self) -> list[str]:
        return library_tasks()

    @property
    def world_(self) -> World:
        assert self.w is not None
        return self.w

    def _slot(self, slot: int) -> tuple[Process, Expect]:
        index = slot % len(self.expect)
        return self.world_.processes[index], self.expect[index]

    def fail(self, process: Process, message: str) -> Violation:
        secret = "right" if process.right_secret else "wrong"
        return Violation(f"manager {process.index} ({secret} secret): {message}")

    # -- judging a fetch -----------------------------------------------------------------------

    def _judge(self, process: Process, outcome: Outcome, *, forced: bool, what: str) -> None:
        self.expect[process.index].unloaded = False
        if outcome.hung:
            raise self.fail(process, f"{what} hung for {HANG_LIMIT:.0f} s")
        note(f"manager {process.index}: {what} sent {[r.kind for r in outcome.requests]}")
        if outcome.error is None:
            self._judge_served(process, outcome, forced=forced, what=what)
        else:
            self._judge_error(process, outcome, what=what)

    def _judge_served(self, process: Process, outcome: Outcome, *, forced: bool, what: str) -> None:
        tokens = outcome.value.tokens
        if tokens is None:
            raise self.fail(process, f"{what} returned a session without a token")
        jti = tokens.access_token.payload.get("jti")
        minted = self.world_.endpoint.minted.get(jti) if isinstance(jti, str) else None
        if minted is None or minted.kind not in GOOD:
            kind = minted.kind if minted is not None else "never issued"
            raise self.fail(process, f"{what} returned a token that is not usable ({kind})")
        STATS.seen["served"] += 1
        self._judge_expiry(process, outcome, minted.exp - outcome.server_now, what)
        last = outcome.requests[-1].kind if outcome.requests else None
        if last in REFUSALS:
            raise self.fail(
                process, f"{what} returned a token though the endpoint refused ({last})"
            )
        if forced and jti not in {r.jti for r in outcome.requests}:
            raise self.fail(process, f"{what} returned a token it did not request")

    def _judge_expiry(self, process: Process, outcome: Outcome, left: float, what: str) -> None:
        tolerance = self.world_.profile.tolerance
        if left > tolerance:
            return
        if left > tolerance - self._drift_slack(process, outcome):
            STATS.seen["served within a stepped wall clock's error"] += 1
            return
        raise self.fail(
            process,
            f"{what} returned a token {left:.1f} s from its exp by the endpoint's clock "
            f"(expiry_tolerance {tolerance:g} s)",
        )

    def _drift_slack(self, process: Process, outcome: Outcome) -> float:
        """How much longer than it lives a manager may believe a token lives: one that has
        not measured the server's clock, by how far its wall clock is behind the clock of
        the writer that measured the stored drift (see the module docstring)."""
        expect = self.expect[process.index]
        if expect.measured or any(r.kind in MEASURED for r in outcome.requests):
            return 0.0
        return max(0.0, self.writer_offset - expect.least_offset)

    def _judge_error(self, process: Process, outcome: Outcome, *, what: str) -> None:
        error = outcome.error
        assert error is not None
        self.raised.append(error)
        STATS.seen[f"raised {getattr(error, 'name', type(error).__name__)}"] += 1
        note(f"manager {process.index}: {what} raised {error_name(error)}")
        if not isinstance(error, AuthError):
            raise self.fail(process, f"{what} raised {error_name(error)}, not an AuthError")
        if isinstance(error, InvalidStateException):
            raise self.fail(process, f"{what} raised InvalidStateException without misuse")
        if not outcome.requests:
            raise self.fail(process, f"{what} raised {error_name(error)} without asking")
        last = outcome.requests[-1].kind
        wanted, name = expected_error(last)
        if not isinstance(error, wanted) or (name is not None and error.name != name):
            raise self.fail(
                process,
                f"{what} raised {error_name(error)} after the answer {last!r} "
                f"({wanted.__name__}{f' {name}' if name else ''} expected)",
            )

    def _fetch(self, process: Process, *, forced: bool = False, what: str = "fetch") -> None:
        outcome = self.portal.call(
            lambda: self.world_.call(
                process.index, "fetch_auth_session", HANG_LIMIT, force_refresh=forced
            )
        )
        self._judge(process, outcome, forced=forced, what=what)

    # -- rules: the session --------------------------------------------------------------------

    @rule(slot=SLOT, forced=st.booleans())
    def fetch(self, slot: int, forced: bool) -> None:
        process, expect = self._slot(slot)
        expect.flights += 1
        expect.callers += 1
        self._fetch(process, forced=forced, what="forced fetch" if forced else "fetch")

    @rule()
    def fetch_everywhere(self) -> None:
        """Every manager fetches at once: on shared storage they ask the endpoint once."""
        for expect in self.expect:
            expect.flights += 1
            expect.callers += 1
        self._fleet_step(1)
        outcomes = self.portal.call(self.world_.fetch_all, HANG_LIMIT)
        for process, outcome in zip(self.world_.processes, outcomes, strict=True):
            self._judge(process, outcome, forced=False, what="fetch (all at once)")

    @rule(slot=SLOT)
    def sign_out(self, slot: int) -> None:
        """Forget the token (nothing to revoke): no request, and its loop waits for a caller."""
        process, expect = self._slot(slot)
        expect.sign_outs += 1
        expect.unloaded = False
        outcome = self.portal.call(lambda: self.world_.call(process.index, "sign_out", HANG_LIMIT))
        if outcome.hung:
            raise self.fail(process, "sign_out hung")
        if outcome.error is not None:
            self.raised.append(outcome.error)
            raise self.fail(process, f"sign_out raised {error_name(outcome.error)}")
        result: SignOutResult = outcome.value
        if not result.storage_cleared:
            raise self.fail(process, "sign_out did not clear a working storage")
        if outcome.requests:
            raise self.fail(process, "sign_out sent a token request")

    # -- rules: lifecycle ----------------------------------------------------------------------

    def _open(self, index: int) -> None:
        self.portal.call(self.world_.open, index)
        self.expect[index].was_open = True

    def _close(self, process: Process) -> None:
        error, hung = self.portal.call(self.world_.close, process.index, HANG_LIMIT)
        if hung:
            raise self.fail(process, "leaving async with hung")
        if error is not None:
            self.raised.append(error)
            raise self.fail(process, f"the async with block raised {error_name(error)}")

    @rule(slot=SLOT)
    def open_or_close(self, slot: int) -> None:
        """Enter ``async with`` (the loop starts), or leave it."""
        process, _ = self._slot(slot)
        if process.is_open:
            self._close(process)
        else:
            self._open(process.index)

    @rule(slot=SLOT, right_secret=st.sampled_from([True, True, False]))
    def restart(self, slot: int, right_secret: bool) -> None:
        """The process restarts (maybe with the other secret): a new manager and storage
        client (a MemoryStorage is lost); it comes back open if it was."""
        process, expect = self._slot(slot)
        was_open = process.is_open
        if was_open:
            self._close(process)
        error = self.portal.call(self.world_.restart, process.index, right_secret)
        if error is not None:
            self.raised.append(error)
            raise self.fail(process, f"aclose() raised {error_name(error)}")
        # The old manager's last events are not checked against the new one (secrets only).
        self.raised += [e.error for e in process.events[expect.event_mark :] if e.error]
        self.expect[process.index] = Expect(
            flights=expect.flights,
            was_open=expect.was_open,
            event_mark=len(process.events),
            least_offset=process.wall_offset,
        )
        if was_open:
            self._open(process.index)

    # -- rules: time and the endpoint -----------------------------------------------------------

    @rule(fraction=st.sampled_from([0.01, 0.3, 0.5, 0.8, 0.95, 1.0, 1.5, 3.0]))
    def time_passes(self, fraction: float) -> None:
        """Every clock (the endpoint's too) jumps ``fraction`` of a token's lifetime."""
        self._fleet_step(1)
        self.portal.call(self.world_.advance, fraction * self.world_.profile.lifetime)

    @rule(ticks=st.sampled_from([8, 20]), tick=st.sampled_from([0.5, 2.0, 7.0]), poll=st.booleans())
    def run_for(self, ticks: int, tick: float, poll: bool) -> None:
        """Time passes in ``ticks`` small steps, the background loops acting between them;
        ``poll``: then every open manager is fetched from, as by a busy service."""
        total = ticks * tick
        renewals = math.floor(total / renewal_interval(self.world_.profile)) + 1
        endpoint = self.world_.endpoint
        flights = renewals + len(endpoint.script)
        if endpoint.sticky is not None and endpoint.sticky not in GOOD:
            flights += backoff_flights(total)
        polled = [p for p in self.world_.processes if p.is_open and poll]
        for process, expect in zip(self.world_.processes, self.expect, strict=True):
            callers = ticks if process in polled else 0
            expect.flights += flights + callers
            expect.callers += callers
        self._fleet_step(renewals)
        for _ in range(ticks):
            self.portal.call(self.world_.advance, tick)
            self._settle()
            for process in polled:
                self._fetch(process, what="fetch (polling)")

    @rule(slot=SLOT, seconds=st.sampled_from(WALL_STEPS))
    def wall_clock_steps(self, slot: int, seconds: float) -> None:
        """An NTP step of one manager's wall clock: it must send nothing by itself."""
        process, expect = self._slot(slot)
        mark = len(self.world_.endpoint.requests)
        self.portal.call(self.world_.step_wall, process.index, seconds)
        if not expect.measured:
            expect.least_offset = min(expect.least_offset, process.wall_offset)
        self._settle()
        caused = [r.kind for r in self.world_.endpoint.requests[mark:]]
        if caused:
            raise self.fail(process, f"a wall-clock step alone caused token requests: {caused}")

    @rule(answers=SCRIPTED, sticky=STICKY)
    def endpoint_answers(self, answers: list[str], sticky: str | None) -> None:
        """The endpoint answers ``answers`` next, then ``sticky`` (None: tokens) for good."""
        self.world_.endpoint.tell(answers, sticky)
        note(f"endpoint: next {answers}, then {sticky or 'tokens'}")

    # -- invariants ----------------------------------------------------------------------------

    def _fleet_step(self, windows: int) -> None:
        """In this step a healthy fleet on shared storage gets ``windows`` tokens at most
        (with one wall clock: see _drift_slack for managers that disagree)."""
        world_ = self.world_
        same_clocks = all(p.wall_offset == 0 for p in world_.processes)
        if world_.shared and world_.endpoint.healthy and same_clocks:
            self.fleet_bound = windows

    def _settle(self) -> None:
        idle_since = partial(self.portal.call, self.world_.idle_since)
        if not wait_until_quiet(idle_since, quiet=QUIET, limit=SETTLE_LIMIT):
            requests = self.world_.endpoint.requests[self.request_mark :]
            raise Violation(
                f"token request storm: still refreshing after {SETTLE_LIMIT:.0f} s with the "
                f"clocks standing still ({dict(Counter(r.manager for r in requests))} "
                "requests by manager this step)"
            )

    @invariant()
    def check_world(self) -> None:
        if self.w is None:
            return
        STATS.steps += 1
        self._settle()
        # Another process's change may still arrive (a Redis message): judge one instant.
        count, held = self.portal.call(self.world_.snapshot)
        requests = self.world_.endpoint.requests[self.request_mark : count]
        for process, expect, (seen, holds) in zip(
            self.world_.processes, self.expect, held, strict=True
        ):
            self._check_process(process, expect, requests, seen, holds)
        self._check_fleet(requests)
        self._check_secrets()
        self.request_mark, self.fleet_bound = count, None

    def _check_process(
        self, process: Process, expect: Expect, requests: list[Request], seen: int, holds: bool
    ) -> None:
        if process.is_open:  # its loop has loaded the stored session by now
            expect.was_open, expect.unloaded = True, False
        if process.is_open and process.host_ended:
            name = error_name(process.host_error) if process.host_error else "nothing"
            raise self.fail(process, f"the async with block ended by itself ({name})")
        sent = [r for r in requests if r.manager == process.index]
        events = process.events[expect.event_mark : seen]
        for event in events:
            STATS.seen[f"event {event.name}"] += 1
            if event.error is not None:
                self.raised.append(event.error)
        self._check_events(process, expect, events, sent, holds)
        self._check_requests(process, expect, events, sent)
        adopted = any(e.name == "signedIn" for e in events)
        if sent and sent[-1].kind in REFUSALS and holds and not adopted:
            raise self.fail(process, f"the refusal {sent[-1].kind!r} did not end its session")
        if any(r.kind in GOOD for r in sent):
            self.writer_offset = max(self.writer_offset, process.wall_offset)
        expect.end_step(holds=holds, events=events, sent=sent)
        expect.was_open, expect.event_mark = process.is_open, seen

    def _check_events(
        self, process: Process, expect: Expect, events: list[Any], sent: list[Request], holds: bool
    ) -> None:
        problem = event_problem(expect, events, sent, self.world_.endpoint.minted)
        if problem is not None:
            raise self.fail(process, f"{problem}; answers {[r.kind for r in sent]}")
        if expect.holding is None and not expect.unloaded:
            expect.holding = holds  # restored from storage: no event says so
        if expect.holding is not None and expect.holding != holds:
            state = "holds a token" if holds else "holds none"
            raise self.fail(process, f"its events say holding={expect.holding}, but it {state}")

    def _check_requests(
        self, process: Process, expect: Expect, events: list[Any], sent: list[Request]
    ) -> None:
        background = BACKGROUND_FLIGHTS if expect.was_open else 0
        bound = ATTEMPTS * (expect.flights + background)
        if len(sent) > bound:
            raise self.fail(
                process,
                f"{len(sent)} token requests in one step ({[r.kind for r in sent]}); "
                f"{expect.callers} callers, bound {bound}",
            )
        if not (expect.paused and expect.callers == 0):
            return
        STATS.seen["paused managers checked"] += 1
        adopted = any(e.name == "signedIn" for e in events)
        if sent and not adopted:
            raise self.fail(
                process,
                f"after a refusal or sign-out its background loop asked again "
                f"({[r.kind for r in sent]}) with no caller",
            )

    def _check_fleet(self, requests: list[Request]) -> None:
        if self.fleet_bound is None:
            return
        good = [r for r in requests if r.kind in GOOD]
        STATS.seen["fleet steps checked"] += 1
        if len(good) > self.fleet_bound:
            raise Violation(
                f"shared storage: the fleet got {len(good)} tokens in one step (bound "
                f"{self.fleet_bound}; by manager {dict(Counter(r.manager for r in good))}): "
                "its processes do not adopt each other's"
            )

    def _check_secrets(self) -> None:
        """No secret in a log record, an exception's text or an event's error."""
        minted = list(self.world_.endpoint.minted.values())
        self.scanner.add_tokens(m.raw for m in minted[self.scanned_tokens :])
        self.scanned_tokens = len(minted)
        text = self.caplog.text[self.log_mark :]
        self.log_mark += len(text)
        if self.scanner.found_in(text):
            raise Violation("a secret reached a log record")
        for error in self.raised:
            for link in exception_chain(error):
                if self.scanner.found_in(str(link)) or self.scanner.found_in(repr(link)):
                    raise Violation(f"a secret is in the text of {error_name(error)}")
        self.raised.clear()


def _prepare(redis_url: str, scratch: Path, caplog: pytest.LogCaptureFixture) -> None:
    prepare(M2MModel, caplog, redis_url=redis_url, scratch=scratch)


def _run(examples: int, steps: int) -> None:
    run_model(M2MModel, STATS, examples=examples, steps=steps, randomized=RANDOM)


def test_m2m_model_quick(redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _prepare(redis_url, tmp_path, caplog)
    _run(examples=4, steps=12)


@pytest.mark.heavy
def test_m2m_model(redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _prepare(redis_url, tmp_path, caplog)
    _run(EXAMPLES, STEPS)


def _world(storage: str, managers: int = 2, *, wrong: int | None = None, opened: int = 3) -> Any:
    """60-second tokens renewed 10 s before expiry; the first ``opened`` managers open."""
    return {
        "storage": storage,
        "profile": PROFILES[1],
        "managers": managers,
        "wrong": wrong,
        "opened": tuple(i < opened for i in range(3)),
    }


def _answers(answers: list[str], sticky: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("endpoint_answers", {"answers": answers, "sticky": sticky})


def _run_for(ticks: int, tick: float, poll: bool = True) -> tuple[str, dict[str, Any]]:
    return ("run_for", {"ticks": ticks, "tick": tick, "poll": poll})


FETCH = ("fetch", {"slot": 0, "forced": False})
EVERYWHERE = ("fetch_everywhere", {})

#: Fixed step lists through the same machine and checks, so that each path the issue
#: names is taken on every run whatever the sample draws: (the world, the steps).
SCENARIOS: dict[str, tuple[dict[str, Any], Steps]] = {
    "an outage: the valid token is served, then the outage's error, never an expired one": (
        _world("memory", managers=1),
        [
            FETCH,
            ("time_passes", {"fraction": 0.8}),
            _answers([], "503"),
            _run_for(20, 0.5),
            _answers(["reset", "429", "stall", "slow"]),
            _run_for(20, 2.0),
            _answers([], "reset"),
            ("time_passes", {"fraction": 1.0}),
            _run_for(20, 7.0, poll=False),
            _answers([]),
            _run_for(8, 2.0),
        ],
    ),
    "a refusal ends the session once; the loop waits for a caller, who gets the refusal": (
        _world("memory", managers=1),
        [
            FETCH,
            _answers([], "invalid_client"),
            ("time_passes", {"fraction": 0.95}),
            _run_for(20, 7.0, poll=False),
            FETCH,
            _answers(["invalid_scope", "unauthorized_client"]),
            FETCH,
            FETCH,
            FETCH,
        ],
    ),
    "answers that are not this client's usable token, and an echo of the secret": (
        _world("memory", managers=2),
        [
            _answers(["other_client", "other_client", "expired", "expired", "short", "html"]),
            ("fetch", {"slot": 0, "forced": True}),
            ("fetch", {"slot": 0, "forced": True}),
            ("fetch", {"slot": 1, "forced": True}),
            _answers(["echo"]),
            ("fetch", {"slot": 1, "forced": True}),
            EVERYWHERE,
        ],
    ),
    "a fleet on Redis: one token per renewal window between three processes": (
        _world("redis", managers=3),
        [EVERYWHERE, _run_for(20, 7.0), ("time_passes", {"fraction": 3.0}), EVERYWHERE],
    ),
    "a fleet on one file, one process with a rotated secret: the others keep the token": (
        _world("file", managers=3, wrong=1),
        [
            EVERYWHERE,
            _run_for(20, 7.0),
            ("restart", {"slot": 1, "right_secret": True}),
            ("time_passes", {"fraction": 1.5}),
            EVERYWHERE,
        ],
    ),
    "wall clocks stepped both ways, and a restart after a step back": (
        _world("redis", managers=2),
        [
            EVERYWHERE,
            ("wall_clock_steps", {"slot": 0, "seconds": -3600.0}),
            ("wall_clock_steps", {"slot": 1, "seconds": 86400.0}),
            _run_for(20, 7.0),
            ("wall_clock_steps", {"slot": 0, "seconds": -30.0}),
            ("restart", {"slot": 0, "right_secret": True}),
            ("time_passes", {"fraction": 0.95}),
            EVERYWHERE,
        ],
    ),
    "a stored token adopted and refused in one refresh: a failure event, no signedOut": (
        _world("file", managers=2, wrong=1, opened=0),
        [
            FETCH,
            ("fetch", {"slot": 1, "forced": True}),
            ("time_passes", {"fraction": 0.9}),
            ("fetch", {"slot": 1, "forced": False}),
        ],
    ),
    "sign-out on Redis: the others follow, callers obtain it again, restarts": (
        _world("redis", managers=3, opened=2),
        [
            EVERYWHERE,
            ("sign_out", {"slot": 0}),
            _run_for(8, 2.0, poll=False),
            FETCH,
            ("open_or_close", {"slot": 1}),
            ("restart", {"slot": 2, "right_secret": True}),
            EVERYWHERE,
        ],
    ),
    "a fetch after a sign-out elsewhere (no pub/sub) announces its token as a sign-in": (
        _world("file", managers=2, opened=0),
        [
            FETCH,
            ("fetch", {"slot": 1, "forced": False}),
            ("sign_out", {"slot": 0}),
            ("time_passes", {"fraction": 0.95}),
            ("fetch", {"slot": 1, "forced": False}),
        ],
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_m2m_model_scenario(
    redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    _prepare(redis_url, tmp_path, caplog)
    world_, steps = SCENARIOS[name]
    replay(M2MModel(), world_, steps, announce=True)
