"""A model-based test of the sign-in flows and steps: random sign-ins, answers and handed-on
states through the strict front on 127.0.0.1, checked against a model after every step.

Each example draws one or two pools: choice-based (USER_AUTH: password, email and
maybe SMS codes), custom auth (1-3 chained rounds) or MFA required (TOTP and/or
EMAIL to set up, maybe a temporary password), each with two users (alice, bob),
the front's one-time code and how many wrong codes a session takes. Every pool has
two managers ("processes", each its own event loop and storage) with one
``sign_in_state_key``; the first pool has a third with another key. Rules: start a
sign-in (a flow, preferred challenge and password that fit the pool, or any
combination, which the library may have to refuse before sending anything);
answer the current step right, wrong (codes, choices, a bad address, WEB_AUTHN,
passwords, custom answers) or blank; hand a state to another manager (the latest,
or any earlier one: spent, another pool's, another key's, or tampered) and answer
there; sign out; force a refresh. A sign-in or answer may run with a short
session lifetime at the front (``SHORT_TTL``); the next call that uses such a
session first waits until it has expired.

The model (``tests/support/sign_in_model_world.py``) says for every call the
AuthError it raises (by name), the calls the front sees, the codes it delivers and
the step it reports. After every step:

- every exception a public method raised is an AuthError, the model's; a wrong code
  keeps the step, used-up attempts and an expired or spent session end it, a
  refused argument or state sends nothing;
- the step reported is the model's, with its extras (``available_challenges``,
  ``allowed_mfa_types``, ``totp_setup_details`` only at TOTP setup, a custom round's
  ``additional_info``, where a code went) and a state only while a step is pending;
- no call of a sign-in carries PASSWORD or SRP_A (or a password) unless a password
  factor was given or chosen;
- no password, TOTP secret, code or custom answer is in an exception, a state
  (opened with its key) or a log record;
- each manager serves the session of the user the model says (none when signed
  out), and a sign-in's session refreshes; a manager without a pending step (one
  signed out mid-step among them) says no sign-in is waiting, and sends nothing.

``test_sign_in_model`` (heavy) runs ``AMPLIFY_SESSION_SIGN_IN_MODEL_EXAMPLES`` (20)
examples of ``AMPLIFY_SESSION_SIGN_IN_MODEL_STEPS`` (15) steps, derandomized unless
``AMPLIFY_SESSION_SIGN_IN_MODEL_RANDOM=1``; ``test_sign_in_model_scenario`` runs
fixed step lists through the same machine on every run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from cryptography.fernet import Fernet
from hypothesis import currently_in_test_context, note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from amplify_session import AuthError, MemoryStorage, SessionManager
from amplify_session._sign_in_state import _fernet_key
from amplify_session.emulator import CustomRound, Emulator
from amplify_session.emulator._codes import mask_email, mask_phone
from tests.support import sign_in_model_world as w
from tests.support.model_portal import (
    HANG_LIMIT,
    ModelStats,
    Outcome,
    SimulatedProcess,
    Steps,
    prepare,
    replay,
    run_model,
    shutdown_all,
)
from tests.support.model_world import described_call, error_name, exception_chain

EXAMPLES = int(os.environ.get("AMPLIFY_SESSION_SIGN_IN_MODEL_EXAMPLES", "20"))
STEPS = int(os.environ.get("AMPLIFY_SESSION_SIGN_IN_MODEL_STEPS", "15"))
RANDOM = os.environ.get("AMPLIFY_SESSION_SIGN_IN_MODEL_RANDOM") == "1"

LONG_TTL = 180.0  # the front's session lifetime otherwise (Cognito's)
SLOT = st.integers(0, 7)  # a manager, modulo how many there are
SHORT = st.sampled_from([False] * 5 + [True])
STRAY = st.sampled_from([False] * 5 + [True])
THEN = st.lists(
    st.tuples(st.sampled_from(["right"] * 3 + ["wrong"]), st.integers(0, 3)), max_size=4
)
ANSWER = st.sampled_from(["right"] * 5 + ["wrong"] * 2 + ["blank"])
USERS = ("alice", "bob")
#: (flow, preferred challenge, with a password) that fit each kind of pool.
FITTING = {
    "choice": [
        ("USER_AUTH", None, False),
        ("USER_AUTH", "EMAIL_OTP", False),
        ("USER_AUTH", "SMS_OTP", False),
        ("USER_AUTH", "PASSWORD", True),
        ("USER_AUTH", "PASSWORD_SRP", True),
        ("USER_SRP_AUTH", None, True),
    ],
    "custom": [
        ("CUSTOM_WITHOUT_SRP", None, False),
        ("CUSTOM_WITH_SRP", None, True),
        ("USER_PASSWORD_AUTH", None, True),
    ],
    "mfa": [("USER_SRP_AUTH", None, True), ("USER_PASSWORD_AUTH", None, True)],
}
ANY_FLOW = st.sampled_from([*w.FLOWS, "USER_SRP"])
ANY_FACTOR = st.sampled_from([None, *w.FACTORS, "PASSWORDLESS"])
REFUSED_SESSION = "NotAuthorizedException"


class Violation(AssertionError):
    """Sign-in does not do what the model says."""


STATS = ModelStats("sign-in model")


def _strong_password() -> str:
    return f"Pw-{secrets.token_urlsafe(12)}-9a"


class SignInModel(RuleBasedStateMachine):
    """Pools, managers and the sign-ins between them."""

    emulator: Emulator
    caplog: pytest.LogCaptureFixture

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[SimulatedProcess] = []
        self.model = w.Model(code="000000", code_attempts=3)
        self.raised: list[BaseException] = []
        self.states_seen: list[tuple[str, str]] = []  # (state, key) for the secret scan
        self.secrets: set[str] = set()  # passwords, TOTP secrets, custom answers
        self.codes: set[str] = set()  # one-time and TOTP codes given
        self.keys = (secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        self.log_mark = len(self.caplog.text)
        self._codes_mark = 0

    # -- world ---------------------------------------------------------------------------------

    @initialize(
        kinds=st.lists(
            st.sampled_from(["choice", "custom", "mfa"]), min_size=1, max_size=2, unique=True
        ),
        phones=st.tuples(st.booleans(), st.booleans()),
        rounds=st.integers(1, 3),
        mfa_types=st.sampled_from(
            [("SOFTWARE_TOKEN_MFA",), ("EMAIL_OTP",), ("SOFTWARE_TOKEN_MFA", "EMAIL_OTP")]
        ),
        temporary=st.tuples(st.booleans(), st.booleans()),
        code_attempts=st.integers(1, 3),
    )
    def world(
        self,
        kinds: list[str],
        phones: tuple[bool, bool],
        rounds: int,
        mfa_types: tuple[str, ...],
        temporary: tuple[bool, bool],
        code_attempts: int,
    ) -> None:
        """The pools of ``kinds`` (alice and bob in each, ``phones`` saying who has one),
        their managers, the front's one-time code and the wrong codes a session takes."""
        STATS.examples += 1
        emulator = self.emulator
        emulator.reset()
        self.front = emulator.front
        code = f"{secrets.randbelow(900000) + 100000}"
        self.front.mfa_code = code
        self.front.code_attempts = code_attempts
        self.codes.add(code)
        self.model = w.Model(code=code, code_attempts=code_attempts)
        for kind in kinds:
            self.model.pools.append(self._pool(kind, phones, rounds, mfa_types, temporary))
        for pool in self.model.pools:
            for _ in range(2):
                self._manager(pool, self.keys[0])
        self._manager(self.model.pools[0], self.keys[1])

    def _pool(
        self,
        kind: str,
        phones: tuple[bool, bool],
        rounds: int,
        mfa_types: tuple[str, ...],
        temporary: tuple[bool, bool],
    ) -> w.Pool:
        emulator = self.emulator
        phone = {name: f"+1555555{1000 + i}" if phones[i] else None for i, name in enumerate(USERS)}
        temp = dict(zip(USERS, temporary, strict=True)) if kind == "mfa" else {}
        options: dict[str, Any] = {}
        if kind == "choice":
            options["first_factors"] = ("PASSWORD", "EMAIL_OTP", "SMS_OTP")
        elif kind == "custom":
            options["custom_auth"] = True
        else:
            options.update(mfa_required=True, mfa_types=mfa_types)
        emulated = emulator.provision(
            username="alice",
            phone_number=phone["alice"],
            temporary_password=temp.get("alice", False),
            **options,
        )
        bob = _strong_password()
        emulator.add_user(
            emulated,
            "bob",
            bob,
            email="bob@example.com",
            temporary=temp.get("bob", False),
            phone_number=phone["bob"],
        )
        users = {
            "alice": w.User("alice", emulated.password, emulated.email, phone["alice"]),
            "bob": w.User("bob", bob, "bob@example.com", phone["bob"]),
        }
        for name, user in users.items():
            user.temporary = temp.get(name, False)
            self.secrets.add(user.password)
        pool = w.Pool(kind, emulated, users)  # type: ignore[arg-type]
        if kind == "choice":
            pool.first_factors = options["first_factors"]
        elif kind == "custom":
            pool.rounds = tuple(
                CustomRound(
                    parameters={"round": str(i + 1), "hint": secrets.token_hex(3)},
                    answer=f"answer-{secrets.token_hex(6)}",
                )
                for i in range(rounds)
            )
            self.secrets.update(r.answer for r in pool.rounds)
            self.front.script_custom_challenge(emulated.user_pool_id, *pool.rounds)
        else:
            pool.mfa_types = mfa_types
        return pool

    def _manager(self, pool: w.Pool, key: str) -> None:
        config = pool.emulated.config(identity_pool_id=None, sign_in_state_key=key)
        self.processes.append(
            SimulatedProcess(lambda: SessionManager(config, storage=MemoryStorage()))
        )
        self.model.managers.append(w.Manager(len(self.model.managers), pool, key))

    def teardown(self) -> None:
        shutdown_all(self.processes)

    # -- calling and checking ------------------------------------------------------------------

    def _slot(
        self, slot: int, prefer: Callable[[w.Manager], bool] | None = None
    ) -> tuple[w.Manager, SimulatedProcess]:
        """The manager at ``slot``, or the next one ``prefer`` likes (steps are spent on
        calls that can do something; the others still come where none is liked)."""
        managers = self.model.managers
        index = slot % len(managers)
        if prefer is not None:
            liked = [(index + i) % len(managers) for i in range(len(managers))]
            index = next((i for i in liked if prefer(managers[i])), index)
        return managers[index], self.processes[index]

    def _run(
        self,
        process: SimulatedProcess,
        exp: w.Expected,
        short: bool,
        method: str,
        *args: Any,
        **kw: Any,
    ) -> Outcome:
        """Wait out the short sessions the call uses, then call (with short sessions at the
        front if ``short``)."""
        pause = exp.wait_until - time.monotonic()
        if pause > 0:
            STATS.seen["waited for a session to expire"] += 1
            time.sleep(pause)
        if short:
            self.front.session_ttl = w.SHORT_TTL
        try:
            return process.call(method, *args, **kw)
        finally:
            self.front.session_ttl = LONG_TTL
            self.model.stamp(exp)

    def _check(self, outcome: Outcome, exp: w.Expected, what: str, mark: int) -> None:
        """The error (by name), the calls and the codes are the model's; no password goes
        where none was given."""
        if outcome.hung:
            raise Violation(f"{what} hung for {HANG_LIMIT:.0f} s")
        got = None
        if outcome.error is not None:
            error = outcome.error
            self.raised.append(error)
            if currently_in_test_context():
                note(f"{what} raised {error_name(error)}")
            if not isinstance(error, AuthError):
                raise Violation(f"{what} raised {error_name(error)}, which is not an AuthError")
            got = error.name
        STATS.seen[f"{what.split('(')[0].split(' ')[0]} {got or 'ok'}"] += 1
        requests = self.front.requests[mark:]
        calls = [described_call(op, body) for op, body in requests]
        if got != exp.error:
            raise Violation(
                f"{what} raised {got or 'nothing'}, the model expects "
                f"{exp.error or 'nothing'} (calls: {calls})"
            )
        if calls != exp.calls:
            raise Violation(f"{what} made the calls {calls}, the model expects {exp.calls}")
        sent = self.front.sent_codes[self._codes_mark :]
        self._codes_mark += len(sent)
        if [c.challenge for c in sent] != exp.codes:
            raise Violation(
                f"{what} delivered codes for {[c.challenge for c in sent]}, "
                f"the model expects {exp.codes}"
            )
        if not exp.password_allowed:
            self._no_password(what, requests)

    def _no_password(self, what: str, requests: list[tuple[str, dict[str, Any]]]) -> None:
        for operation, body in requests:
            fields = {
                **(body.get("AuthParameters") or {}),
                **(body.get("ChallengeResponses") or {}),
            }
            for key in ("PASSWORD", "SRP_A"):
                if key in fields:
                    raise Violation(f"{what} sent {key} in {operation} without a password factor")
            shown = {k: v for k, v in fields.items() if k != "NEW_PASSWORD"}
            text = json.dumps({**body, "ChallengeResponses": shown, "AuthParameters": {}})
            if any(p in text for p in self._passwords()):
                raise Violation(f"{what} sent a password in {operation}")

    def _passwords(self) -> set[str]:
        return {u.password for p in self.model.pools for u in p.users.values()}

    def _check_result(
        self, outcome: Outcome, exp: w.Expected, what: str, manager: w.Manager
    ) -> None:
        """The step reported is the model's, with its extras; records the state and secret."""
        if outcome.error is not None:
            return
        result = outcome.value
        step = result.next_step
        if result.is_signed_in != exp.done:
            raise Violation(f"{what}: signed in {result.is_signed_in}, the model says {exp.done}")
        if exp.done:
            STATS.seen["signed in"] += 1
            if step.sign_in_step != w.DONE or step.state is not None:
                raise Violation(f"{what} signed in with the step {step.sign_in_step} or a state")
            self._refreshes(manager)
            return
        assert exp.step is not None
        STATS.seen[f"step {exp.step.name}"] += 1
        if step.sign_in_step != exp.step.name:
            raise Violation(f"{what} asked for {step.sign_in_step}; the model: {exp.step.name}")
        self._check_extras(step, exp.step, what)
        if not isinstance(step.state, str) or not step.state:
            raise Violation(f"{what} reported a pending step without a state")
        self.states_seen.append((step.state, manager.key))
        self.model.record(manager, step.state)

    def _check_extras(self, step: Any, expected: w.Step, what: str) -> None:
        session = expected.session
        name = expected.name
        available = session.choices if name == w.FIRST_FACTOR_SELECTION else ()
        if tuple(step.available_challenges) != available:
            raise Violation(
                f"{what}: available_challenges {step.available_challenges}, not {available}"
            )
        allowed = w.allowed_mfa(session) if name in (w.MFA_SELECTION, w.MFA_SETUP_SELECTION) else ()
        if tuple(step.allowed_mfa_types) != allowed:
            raise Violation(f"{what}: allowed_mfa_types {step.allowed_mfa_types}, not {allowed}")
        if step.missing_attributes:
            raise Violation(f"{what}: missing_attributes {step.missing_attributes}")
        if dict(step.additional_info) != _info(expected):
            raise Violation(
                f"{what}: additional_info {dict(step.additional_info)}, not {_info(expected)}"
            )
        details = step.totp_setup_details
        if (details is not None) != (name == w.TOTP_SETUP):
            raise Violation(f"{what}: totp_setup_details {'given' if details else 'missing'}")
        if details is not None:
            totp = pyotp.parse_uri(details.setup_uri)
            user = session.progress.user.name
            if (
                totp.secret != details.shared_secret
                or totp.issuer != "amplify-session"
                or totp.name != user
            ):
                raise Violation(
                    f"{what}: the setup URI is not the secret's, the issuer's and {user}'s"
                )
            session.totp_secret = details.shared_secret
            self.secrets.add(details.shared_secret)

    def _refreshes(self, manager: w.Manager) -> None:
        """A sign-in's session refreshes (a forced fetch: one refresh, new tokens)."""
        process = self.processes[manager.index]
        before = process.call("fetch_auth_session")
        self.refresh(manager.index, stray=True, checked_before=before)

    def _trace(self, what: str) -> None:
        if os.environ.get("TRACE"):
            print(what)
        if currently_in_test_context():
            note(what)

    # -- rules -------------------------------------------------------------------------------

    @rule(
        slot=SLOT,
        who=st.sampled_from(USERS),
        fitting=st.booleans() | st.just(True),
        pick=st.integers(0, 5),
        flow=ANY_FLOW,
        factor=ANY_FACTOR,
        password=st.sampled_from(["right", "right", "wrong", "none"]),
        short=SHORT,
        again=st.sampled_from([False] * 4 + [True]),
        then=THEN,
    )
    def sign_in(
        self,
        slot: int,
        who: str,
        fitting: bool,
        pick: int,
        flow: str,
        factor: str | None,
        password: str,
        short: bool,
        again: bool,
        then: list[tuple[str, int]] | None = None,
    ) -> None:
        """sign_in with a flow, factor and password that fit the pool, or any (``fitting``);
        then answer the step it reports as ``then`` says (kind, choice), while one is pending.
        ``again``: a manager maybe signed in already."""
        manager, process = self._slot(slot, None if again else _signed_out)
        user = manager.pool.users[who]
        if fitting:
            options = FITTING[manager.pool.kind]
            flow, factor, with_password = options[pick % len(options)]
            password = ("right" if password == "none" else password) if with_password else "none"
        given = {
            "right": user.password,
            "wrong": "Wrong-" + secrets.token_urlsafe(8),
            "none": None,
        }[password]
        if given is not None:
            self.secrets.add(given)
        what = f"sign_in({who}, {flow}, {factor}, password {password}) on manager {manager.index}"
        self._trace(what + (" with short sessions" if short else ""))
        self.model.short = short
        exp = self.model.sign_in(manager, user, flow, factor, given)
        self.model.short = False
        mark = len(self.front.requests)
        kwargs: dict[str, Any] = {"auth_flow": flow}
        if factor is not None:
            kwargs["preferred_challenge"] = factor
        outcome = self._run(process, exp, short, "sign_in", who, given, **kwargs)
        self._check(outcome, exp, what, mark)
        self._check_result(outcome, exp, what, manager)
        for kind, choice in then or ():
            if manager.pending is None:
                break
            self.answer(manager.index, kind, choice, short=False, stray=True)

    @precondition(lambda self: any(_pending(m) for m in self.model.managers))
    @rule(slot=SLOT, kind=ANSWER, choice=st.integers(0, 3), short=SHORT, stray=STRAY)
    def answer(self, slot: int, kind: str, choice: int, short: bool, stray: bool) -> None:
        """confirm_sign_in of the manager's own step: right, wrong or blank (``stray``: on
        any manager, pending or not)."""
        manager, process = self._slot(slot, None if stray else _pending)
        step = manager.pending
        response = self._response(step, kind, choice) if step else f"answer-{kind}"
        what = (
            f"confirm_sign_in({kind}) on manager {manager.index} at {step.name if step else None}"
        )
        self._answer(manager, process, response, None, False, short, what)

    @precondition(lambda self: bool(self.model.states))
    @rule(
        giver=SLOT,
        taker=SLOT,
        latest=st.booleans(),
        index=st.integers(0, 50),
        tampered=st.sampled_from([False] * 4 + [True]),
        kind=ANSWER,
        choice=st.integers(0, 3),
        short=SHORT,
        stray=STRAY,
    )
    def hand_over(
        self,
        giver: int,
        taker: int,
        latest: bool,
        index: int,
        tampered: bool,
        kind: str,
        choice: int,
        short: bool,
        stray: bool,
    ) -> None:
        """confirm_sign_in(state=...) on another manager: the source's latest state, or any
        state handed out so far (maybe spent, another pool's or key's), maybe tampered."""
        states = self.model.states
        if not states:
            return
        chosen = self._slot(giver)[0].last_state if latest else None
        state = chosen or states[index % len(states)]
        manager, process = self._slot(taker, None if stray else _signed_out)
        response = self._response(state.step, kind, choice)
        text = _tampered(state.text) if tampered else state.text
        what = (
            f"confirm_sign_in({kind}, state of {state.step.name}{', tampered' if tampered else ''}"
            f" from pool {self.model.pools.index(state.pool)}) on manager {manager.index}"
        )
        self._answer(manager, process, response, state, tampered, short, what, text=text)

    def _answer(
        self,
        manager: w.Manager,
        process: SimulatedProcess,
        response: str,
        state: w.State | None,
        tampered: bool,
        short: bool,
        what: str,
        *,
        text: str | None = None,
    ) -> None:
        self._trace(what + (" with short sessions" if short else ""))
        self.model.short = short
        exp = self.model.answer(manager, response, state, tampered)
        self.model.short = False
        mark = len(self.front.requests)
        kwargs = {"state": text} if state is not None else {}
        outcome = self._run(process, exp, short, "confirm_sign_in", response, **kwargs)
        self._check(outcome, exp, what, mark)
        self._check_result(outcome, exp, what, manager)

    def _response(self, step: w.Step, kind: str, choice: int) -> str:
        """The answer to ``step``: right, wrong, or blank (refused before anything is sent)."""
        if kind == "blank":
            return ""
        session, name = step.session, step.name
        progress = session.progress
        right = kind == "right"
        if name == w.FIRST_FACTOR_SELECTION:
            if right:
                return session.choices[choice % len(session.choices)]
            wrong = ["WEB_AUTHN", "SMS", *(["SMS_OTP"] * ("SMS_OTP" not in session.choices))]
            return wrong[choice % len(wrong)]
        if name == w.PASSWORD:
            given = progress.user.password if right else "Wrong-" + secrets.token_urlsafe(8)
            self.secrets.add(given)
            return given
        if name in (w.EMAIL_CODE, w.SMS_CODE, w.TOTP_CODE, w.TOTP_SETUP):
            if session.code is not None:
                code = session.code if right else f"{(int(session.code) + 1) % 1000000:06d}"
            else:
                secret = session.totp_secret
                code = pyotp.TOTP(secret).now() if right and secret else w.wrong_totp(secret)
            if right:
                self.codes.add(code)
            return code
        if name == w.CUSTOM_CHALLENGE:
            return progress.rounds[session.round].answer if right else "wrong-answer"
        if name == w.NEW_PASSWORD:
            if not right:
                return ""  # no new password is wrong but a blank one
            new = _strong_password()
            self.secrets.add(new)
            return new
        if name in (w.MFA_SELECTION, w.MFA_SETUP_SELECTION):
            allowed = w.allowed_mfa(session)
            return allowed[choice % len(allowed)] if right else ["SMS", "PASSWORD"][choice % 2]
        if name == w.EMAIL_SETUP:
            return (
                f"{progress.user.name}+{secrets.token_hex(3)}@example.org"
                if right
                else "not an address"
            )
        raise AssertionError(name)

    @precondition(lambda self: any(_busy(m) for m in self.model.managers))
    @rule(slot=SLOT, stray=STRAY)
    def sign_out(self, slot: int, stray: bool) -> None:
        """sign_out of a manager signed in or in the middle of a step (``stray``: any)."""
        manager, process = self._slot(slot, None if stray else _busy)
        what = f"sign_out on manager {manager.index} (pending {manager.pending is not None})"
        self._trace(what)
        if manager.pending is not None:
            STATS.seen["signed out mid-step"] += 1
        exp = self.model.sign_out(manager)
        mark = len(self.front.requests)
        outcome = process.call("sign_out")
        self._check(outcome, exp, what, mark)

    @precondition(lambda self: any(_signed_in(m) for m in self.model.managers))
    @rule(slot=SLOT, stray=STRAY)
    def refresh(self, slot: int, stray: bool, checked_before: Outcome | None = None) -> None:
        """fetch_auth_session(force_refresh=True): new tokens of the same user when signed in
        (``stray``: any manager)."""
        manager, process = self._slot(slot, None if stray else _signed_in)
        what = f"forced fetch_auth_session on manager {manager.index}"
        before = checked_before or process.call("fetch_auth_session")
        exp = self.model.refresh(manager)
        mark = len(self.front.requests)
        outcome = process.call("fetch_auth_session", force_refresh=True)
        self._check(outcome, exp, what, mark)
        if outcome.error is not None or before.error is not None:
            return
        old, new = before.value.tokens, outcome.value.tokens
        if (new is None) != (manager.signed_in_as is None):
            raise Violation(f"{what} served {'no' if new is None else ''} tokens")
        if new is not None:
            if old is None or new.access_token.to_string() == old.access_token.to_string():
                raise Violation(f"{what} did not bring new tokens")
            self._check_tokens(manager, new, what)
            STATS.seen["refreshed"] += 1

    def _check_tokens(self, manager: w.Manager, tokens: Any, what: str) -> None:
        claims = tokens.access_token.payload
        user = manager.signed_in_as
        assert user is not None
        pool = manager.pool.emulated
        if claims.get("username") != user.name or not str(claims.get("iss", "")).endswith(
            pool.user_pool_id
        ):
            raise Violation(f"{what}: tokens of {claims.get('username')}, the model: {user.name}")
        if claims.get("client_id") != pool.client_id:
            raise Violation(f"{what}: tokens of another app client")

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def check_world(self) -> None:
        if not self.processes:
            return
        STATS.steps += 1
        mark = len(self.front.requests)
        for manager in self.model.managers:
            self._check_manager(manager)
        if len(self.front.requests) != mark:
            calls = [described_call(op, b) for op, b in self.front.requests[mark:]]
            raise Violation(f"checking the managers made calls: {calls}")
        self._check_secrets()

    def _check_manager(self, manager: w.Manager) -> None:
        """It serves the model's user's session, and without a pending step says none waits."""
        process = self.processes[manager.index]
        what = f"manager {manager.index}"
        held = process.call("fetch_auth_session")
        if held.error is not None or held.hung:
            raise Violation(f"{what} could not serve its session from memory")
        tokens = held.value.tokens
        if (tokens is None) != (manager.signed_in_as is None):
            raise Violation(
                f"{what} holds {'no' if tokens is None else ''} tokens; the model: "
                f"{manager.signed_in_as}"
            )
        if tokens is not None:
            self._check_tokens(manager, tokens, what)
        if manager.pending is None:
            probe = process.call("confirm_sign_in", "probe")
            error = probe.error
            if not isinstance(error, AuthError) or error.name != "InvalidParameterException":
                raise Violation(f"{what} holds a pending step; the model: none")
            self.raised.append(error)

    def _check_secrets(self) -> None:
        """No password, TOTP secret, code or custom answer in an error, a state or a log."""
        secrets_now = self.secrets | {
            u.password for p in self.model.pools for u in p.users.values()
        }
        patterns = [re.escape(s) for s in secrets_now] + [
            rf"(?<!\d){re.escape(c)}(?!\d)" for c in self.codes
        ]
        found = re.compile("|".join(patterns))
        text = self.caplog.text[self.log_mark :]
        self.log_mark += len(text)
        if found.search(text):
            raise Violation("a secret reached a log record")
        for error in self.raised:
            for link in exception_chain(error):
                if found.search(str(link)) or found.search(repr(link)):
                    raise Violation(f"a secret is in the text of {error_name(error)}")
        self.raised.clear()
        for state, key in self.states_seen:
            opened = Fernet(_fernet_key(key)).decrypt(state.encode()).decode()
            if found.search(opened):
                raise Violation("a secret is in a sign-in state")
        self.states_seen.clear()


def _signed_out(manager: w.Manager) -> bool:
    return manager.signed_in_as is None


def _signed_in(manager: w.Manager) -> bool:
    return manager.signed_in_as is not None


def _pending(manager: w.Manager) -> bool:
    return manager.pending is not None


def _busy(manager: w.Manager) -> bool:
    return manager.pending is not None or manager.signed_in_as is not None


def _info(step: w.Step) -> dict[str, str]:
    """The additional_info the step should carry: a custom round's parameters, where a code went."""
    session = step.session
    if step.name == w.CUSTOM_CHALLENGE:
        return dict(session.progress.rounds[session.round].parameters)
    if session.destination is None or step.name not in (w.EMAIL_CODE, w.SMS_CODE):
        return {}
    email = step.name == w.EMAIL_CODE
    return {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "EMAIL" if email else "SMS",
        "CODE_DELIVERY_DESTINATION": (mask_email if email else mask_phone)(session.destination),
    }


def _tampered(state: str) -> str:
    middle = len(state) // 2
    return state[:middle] + ("A" if state[middle] != "A" else "B") + state[middle + 1 :]


@pytest.mark.heavy
def test_sign_in_model(amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    prepare(SignInModel, caplog, emulator=amplify_emulator)
    run_model(SignInModel, STATS, examples=EXAMPLES, steps=STEPS, randomized=RANDOM)


#: Fixed step lists through the same machine and checks, so that each path the
#: issue names is taken on every run whatever the sample above draws:
#: (the world, the steps). Managers 0 and 1 share the first pool and key, 2 has the
#: other key (one pool); with two pools, 2 and 3 are the second pool's, 4 the other key.
WORLD: dict[str, Any] = {
    "phones": (True, False),
    "rounds": 1,
    "mfa_types": ("SOFTWARE_TOKEN_MFA", "EMAIL_OTP"),
    "temporary": (False, False),
    "code_attempts": 2,
}


def _sign_in(slot: int, flow: str, factor: str | None, password: str, **more: Any) -> Any:
    arguments = {
        "slot": slot,
        "who": "alice",
        "fitting": False,
        "pick": 0,
        "flow": flow,
        "factor": factor,
        "password": password,
        "short": False,
        "again": False,
        "then": [],
    }
    return ("sign_in", {**arguments, **more})


def _answer(slot: int, kind: str = "right", choice: int = 0, **more: Any) -> Any:
    arguments = {"slot": slot, "kind": kind, "choice": choice, "short": False, "stray": False}
    return ("answer", {**arguments, **more})


def _hand(giver: int, taker: int, kind: str = "right", **more: Any) -> Any:
    arguments = {
        "giver": giver,
        "taker": taker,
        "latest": True,
        "index": 0,
        "tampered": False,
        "kind": kind,
        "choice": 0,
        "short": False,
        "stray": True,
    }
    return ("hand_over", {**arguments, **more})


SCENARIOS: dict[str, tuple[dict[str, Any], Steps]] = {
    "refused combinations send nothing; a signed-in manager refuses another sign-in": (
        {"kinds": ["choice"]},
        [
            _sign_in(0, "USER_AUTH", "EMAIL_OTP", "right"),
            _sign_in(0, "USER_AUTH", "WEB_AUTHN", "none"),
            _sign_in(0, "USER_AUTH", "PASSWORD", "none"),
            _sign_in(0, "USER_SRP_AUTH", "EMAIL_OTP", "right"),
            _sign_in(0, "CUSTOM_WITHOUT_SRP", None, "right"),
            _sign_in(0, "USER_AUTH", "PASSWORD_SRP", "right"),
            _sign_in(0, "USER_AUTH", "EMAIL_OTP", "none", again=True),
        ],
    ),
    "a first factor chosen in one manager, the password given in another, the state spent": (
        {"kinds": ["choice"]},
        [
            _sign_in(0, "USER_AUTH", None, "none"),
            _answer(0, "wrong", 0),  # WEB_AUTHN: refused, the step stays
            _answer(0, "right", 0),  # PASSWORD_SRP: a local step
            _hand(0, 1),  # the password, in manager 1
            _hand(0, 1),  # the same state again: spent
            ("sign_out", {"slot": 1, "stray": False}),
            _hand(0, 1),
        ],
    ),
    "an email code: wrong codes until the attempts run out, then sign in again": (
        {"kinds": ["choice"]},
        [
            _sign_in(1, "USER_AUTH", "EMAIL_OTP", "none"),
            _answer(1, "wrong"),
            _answer(1, "wrong"),
            _answer(1, "wrong"),  # the third wrong code ends the session (code_attempts=2)
            _answer(1, "right", stray=True),
            _sign_in(1, "USER_AUTH", "SMS_OTP", "none"),
            _answer(1, "right"),
        ],
    ),
    "tampered, foreign-key and other-pool states are refused; the genuine one works": (
        {"kinds": ["custom", "choice"], "rounds": 3},
        [
            _sign_in(0, "CUSTOM_WITHOUT_SRP", None, "none"),
            _answer(0, "right"),
            _hand(0, 1, tampered=True),
            _hand(0, 4),  # another key
            _hand(0, 2),  # another pool
            _hand(0, 1),
            _hand(1, 0, kind="wrong"),  # the live round, wrong: the sign-in ends
            _hand(0, 0, latest=False, index=1),  # a spent one
        ],
    ),
    "a new user: new password, MFA setup selection, TOTP with a real code, then TOTP MFA": (
        {"kinds": ["mfa"], "temporary": (True, False)},
        [
            _sign_in(0, "USER_SRP_AUTH", None, "right"),
            _answer(0, "right"),  # the new password
            _answer(0, "wrong"),  # SMS: not offered
            _answer(0, "right", 0),  # TOTP
            _answer(0, "wrong"),
            _hand(0, 2),  # another key: refused
            _hand(0, 1),  # the code, in manager 1
            ("refresh", {"slot": 1, "stray": False}),
            _sign_in(0, "USER_PASSWORD_AUTH", None, "right"),
            _answer(0, "right"),
        ],
    ),
    "TOTP and email set up by two sign-ins at once: the next one selects an MFA": (
        {"kinds": ["mfa"]},
        [
            _sign_in(0, "USER_SRP_AUTH", None, "right"),
            _sign_in(1, "USER_PASSWORD_AUTH", None, "right"),
            _answer(0, "right", 0),  # TOTP
            _answer(0, "right"),
            _answer(1, "right", 1),  # EMAIL
            _answer(1, "right"),
            _answer(1, "right"),
            ("sign_out", {"slot": 0, "stray": False}),
            _sign_in(0, "USER_SRP_AUTH", None, "right"),
            _answer(0, "wrong", 0),  # SMS: not offered
            _answer(0, "right", 1),  # EMAIL
            _hand(0, 2),  # another key: refused
            _answer(0, "right"),
        ],
    ),
    "email MFA setup: a bad address, then a code to the new address": (
        {"kinds": ["mfa"], "mfa_types": ("EMAIL_OTP",)},
        [
            _sign_in(0, "USER_PASSWORD_AUTH", None, "right"),
            _answer(0, "wrong"),
            _answer(0, "right"),
            _hand(0, 1, kind="right"),
            ("sign_out", {"slot": 1, "stray": False}),
            _sign_in(1, "USER_SRP_AUTH", None, "right"),
            _answer(1, "right"),
        ],
    ),
    "a session that expires, and a sign-out in the middle of a step": (
        {"kinds": ["choice", "custom"]},
        [
            _sign_in(0, "USER_AUTH", "EMAIL_OTP", "none", short=True),
            _answer(0, "right"),
            _sign_in(2, "CUSTOM_WITH_SRP", None, "right", short=True),
            _hand(2, 3),
            _sign_in(1, "USER_AUTH", "SMS_OTP", "none"),
            ("sign_out", {"slot": 1, "stray": False}),
            _answer(1, "right", stray=True),
            _hand(1, 0),
        ],
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_sign_in_model_scenario(
    amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    world, steps = SCENARIOS[name]
    prepare(SignInModel, caplog, emulator=amplify_emulator)
    replay(SignInModel(), {**WORLD, **world}, steps)
