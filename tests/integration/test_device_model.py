"""A model-based test of device tracking: random lifecycles, checked against a model each step.

Two simulated processes (each its own event loop, a blocking portal) sign
the same user in on one pool with device tracking ("always" or "user
opt-in", MFA required) through the strict front on 127.0.0.1, sharing one
MemoryStorage, so they share one device record as a fleet does. Rules sign
in (USER_SRP_AUTH or USER_PASSWORD_AUTH, answering SMS_MFA with the front's
code, now or in a later step), sign out, force a refresh, remember and
forget this device, list the devices, forget the device elsewhere (boto3's
ForgetDevice: the local record goes stale), tamper with the stored
randomPasswordKey, restart a process (a new manager on the storage), and
make the next ConfirmDevice or RespondToAuthChallenge calls fail (503, once:
retried; twice: the call fails; or a final 400 for ConfirmDevice).

The model (``tests/support/device_model_world.py``) says, for every public
call, which calls the front sees (every attempt, in order), which AuthError
is raised, and how the front's devices, the storage and each process's
session change. After every step:

- every exception a public method raised is an AuthError, the one the model
  expects (NotAuthorizedException for a refused device proof,
  DeviceMetadataNotFoundException, ResourceNotFoundException...);
- a sign-in asks for MFA exactly when no remembered device the front still
  knows is stored, and then ends with a confirmed device stored unless
  ConfirmDevice failed for good (the calls it makes are the model's);
- no refresh carries the key of a device the front never confirmed, and
  every refresh of tokens issued to a confirmed device the front still
  knows carries its key;
- the stored device keys are all three or none, and are the model's;
  sign-out never removes them;
- the front's devices, its device proofs, the stored session and each
  process's session are the model's;
- the password, the devices' random passwords and the refresh tokens
  appear in no exception text and no log record.

Each example starts from a drawn world: the first process signed in (maybe
through ConfirmDevice faults), the stored device maybe made stale, the
second process signed in, signed out or restored. ``test_device_model``
runs once per pool mode (heavy); ``AMPLIFY_SESSION_DEVICE_MODEL_EXAMPLES``
(10 per mode) and ``AMPLIFY_SESSION_DEVICE_MODEL_STEPS`` (15) size it, and
``AMPLIFY_SESSION_DEVICE_MODEL_RANDOM=1`` explores new examples instead of
the fixed, derandomized ones. A derandomized sample changes with the
machine's source, so ``test_device_model_scenario`` also runs fixed step
lists through the same machine and checks: one per path the issue names.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections import Counter
from typing import Any, Literal

import attrs
import boto3
import pytest
from botocore.config import Config
from hypothesis import currently_in_test_context, note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from amplify_session import AuthError, MemoryStorage, SessionManager
from amplify_session.emulator import Emulator
from tests.support.device_model_world import (
    ATTEMPTS,
    CONFIRM,
    FINAL,
    RESPOND,
    TRANSIENT,
    Expected,
    Model,
    Observed,
    Session,
)
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
from tests.support.retry import fast_retry

EXAMPLES = int(os.environ.get("AMPLIFY_SESSION_DEVICE_MODEL_EXAMPLES", "10"))
STEPS = int(os.environ.get("AMPLIFY_SESSION_DEVICE_MODEL_STEPS", "15"))
RANDOM = os.environ.get("AMPLIFY_SESSION_DEVICE_MODEL_RANDOM") == "1"

SLOT = st.integers(0, 1)
FLOW = st.sampled_from(["USER_SRP_AUTH", "USER_PASSWORD_AUTH"])
DEVICE_FIELDS = ("deviceKey", "deviceGroupKey", "randomPasswordKey")
REFRESHES = ("REFRESH_TOKEN_AUTH", "GetTokensFromRefreshToken")


class Violation(AssertionError):
    """Device tracking does not do what the model says."""


@attrs.define
class Stats(ModelStats):
    """What the run went through, and the calls the front saw."""

    calls: Counter[str] = attrs.field(factory=Counter)

    def report(self) -> str:
        return f"{super().report()}; calls: {dict(sorted(self.calls.items()))}"


STATS = Stats("device model")


class DeviceModel(RuleBasedStateMachine):
    """Two processes, one storage, one pool with device tracking and MFA."""

    emulator: Emulator
    caplog: pytest.LogCaptureFixture
    #: The pool's device tracking: "always" or "user_opt_in" (remembered on request).
    mode: Literal["always", "user_opt_in"]

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[SimulatedProcess] = []
        self.model = Model(remember_always=True)
        self.raised: list[BaseException] = []  # every exception, for the secret scan
        self.secrets: set[str] = set()
        self.log_mark = len(self.caplog.text)
        self.refresh_mark = 0

    # -- world ---------------------------------------------------------------------------------

    @initialize(
        flow=FLOW,
        confirm_fault=st.sampled_from(
            [None, None, (TRANSIENT, 1), (TRANSIENT, ATTEMPTS), (FINAL, 1)]
        ),
        remember=st.booleans(),
        stale=st.sampled_from([None, None, "tampered", "forgotten"]),
        second=st.sampled_from(["signs in", "signed out", "restored"]),
    )
    def world(
        self,
        flow: str,
        confirm_fault: tuple[int | str, int] | None,
        remember: bool,
        stale: str | None,
        second: str,
    ) -> None:
        """A fresh pool with device tracking (:attr:`mode`); two processes: the first signs in
        (MFA, then a device confirmed through ``confirm_fault``) and maybe remembers
        the device; the stored device is then made ``stale`` (see :meth:`elsewhere`);
        the second process then signs in (the other flow), stays signed out, or
        restarts (restoring the first's session)."""
        STATS.examples += 1
        emulator = self.emulator
        emulator.reset()
        self.pool = emulator.provision(device_tracking=self.mode, mfa_required=True)
        self.front = emulator.front
        self.secrets.add(self.pool.password)
        self.model = Model(remember_always=self.mode == "always")
        self.storage = MemoryStorage()
        self.prefix = f"CognitoIdentityServiceProvider.{self.pool.client_id}.{self.pool.username}"
        config = self.pool.config(
            identity_pool_id=None, device_name="model-box", retry=fast_retry(ATTEMPTS)
        )
        storage = self.storage  # one for both: a fleet's
        for index in (0, 1):
            self.processes.append(
                SimulatedProcess(lambda: SessionManager(config, storage=storage), index=index)
            )
        self.idp = boto3.client(
            "cognito-idp",
            region_name=self.pool.region,
            endpoint_url=emulator.cognito_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )
        self._held(1)  # the second process has read the (empty) storage
        if confirm_fault is not None:
            self.inject((CONFIRM, confirm_fault[0]), confirm_fault[1])
        self.sign_in(0, flow, answer_now=True)
        if remember:
            self.device_call(0, "remember")
        if stale is not None:
            self.elsewhere(0, tamper=stale == "tampered")
        if second == "signs in":
            other = "USER_SRP_AUTH" if flow == "USER_PASSWORD_AUTH" else "USER_PASSWORD_AUTH"
            self.sign_in(1, other, answer_now=True)
        elif second == "restored":
            self.restart(1)

    def teardown(self) -> None:
        try:
            shutdown_all(self.processes)
        finally:
            self.emulator.front.clear_faults()
            if self.processes:
                self.idp.close()
                STATS.seen.update(
                    f"device proof {k}" for k, v in self.model.proofs.items() for _ in range(v)
                )

    # -- reading the world ---------------------------------------------------------------------

    def _stored(self, field: str) -> str | None:
        return self.processes[0].portal.call(self.storage.get_item, f"{self.prefix}.{field}")

    def _held(self, index: int) -> Outcome:
        """The process's session as it serves it (from memory: no call)."""
        return self.processes[index].call("fetch_auth_session")

    def _observe(self, index: int) -> Observed:
        known = self.model.devices
        devices = self.front.devices(self.pool.user_pool_id, self.pool.username)
        held = self._held(index)
        tokens = held.value.tokens if held.error is None and not held.hung else None
        password = self._stored("randomPasswordKey")
        if password is not None:
            self.secrets.add(password)
        return Observed(
            new_devices=[d.key for d in devices if d.key not in known],
            refresh_token=tokens.refresh_token if tokens else None,
            stored_password=password,
        )

    # -- checking a call -----------------------------------------------------------------------

    def _check(self, outcome: Outcome, expected: Expected, what: str, mark: int) -> None:
        """The call raised what the model expects (an AuthError, by name) and made its calls."""
        if outcome.hung:
            raise Violation(f"{what} hung for {HANG_LIMIT:.0f} s")
        error = outcome.error
        got = None
        if error is not None:
            self.raised.append(error)
            if currently_in_test_context():  # not in the scenarios below
                note(f"{what} raised {error_name(error)}")
            if not isinstance(error, AuthError):
                raise Violation(f"{what} raised {error_name(error)}, which is not an AuthError")
            got = error.name
        STATS.seen[f"{what.split(' ')[0]} {got or 'ok'}"] += 1
        calls = [described_call(op, body) for op, body in self.front.requests[mark:]]
        STATS.calls.update(calls)
        if got != expected.error:
            raise Violation(
                f"{what} raised {got or 'nothing'}, the model expects "
                f"{expected.error or 'nothing'} (calls: {calls})"
            )
        if calls != list(expected.calls):
            raise Violation(f"{what} made the calls {calls}, the model expects {expected.calls}")

    def _mark(self) -> int:
        return len(self.front.requests)

    def _prefer(self, slot: int, *, signed_in: bool) -> int:
        """``slot``, or the other process where only that one is signed in (or out): steps
        are spent on calls that can do something (a call in the wrong state still happens
        where both processes are in it)."""
        processes = self.model.processes
        if (processes[slot].session is not None) != signed_in and (
            processes[1 - slot].session is not None
        ) == signed_in:
            return 1 - slot
        return slot

    # -- rules: signing in and out -------------------------------------------------------------

    @rule(slot=SLOT, flow=FLOW, answer_now=st.booleans(), again=st.booleans())
    def sign_in(self, slot: int, flow: str, answer_now: bool, again: bool = False) -> None:
        """sign_in; SMS_MFA answered with the front's code now or (later) by ``answer``.

        A signed-out process signs in where there is one; where both are signed
        in, the process signs out first when ``again``, else the sign-in is refused.
        """
        slot = self._prefer(slot, signed_in=False)
        if again and self.model.processes[slot].session is not None:
            self.sign_out(slot)
        process = self.processes[slot]
        stored_device = self.model.stored_device
        mark = self._mark()
        outcome = process.call("sign_in", self.pool.username, self.pool.password, auth_flow=flow)
        expected = self.model.sign_in(slot, flow, self._observe(slot))
        self._check(outcome, expected, f"sign_in({flow}) in process {slot}", mark)
        if outcome.error is not None:
            return
        result = outcome.value
        asked = result.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_SMS_CODE"
        if expected.calls.count(f"InitiateAuth({flow})") > 1:
            STATS.seen["sign_in dropped a device the front forgot"] += 1
        if asked != expected.mfa or result.is_signed_in == expected.mfa:
            raise Violation(
                f"sign_in asked for {result.next_step.sign_in_step}; the model expects "
                f"{'the SMS code' if expected.mfa else 'nothing'} (stored device: {stored_device})"
            )
        if not asked:
            self._check_device_after_sign_in(mark)
        elif answer_now:
            self.answer(slot)

    @rule(slot=SLOT)
    def answer(self, slot: int) -> None:
        """confirm_sign_in with the front's SMS code (InvalidParameterException where no
        sign-in waits for one), in the process waiting for one if only the other is."""
        processes = self.model.processes
        if processes[slot].pending is None and processes[1 - slot].pending is not None:
            slot = 1 - slot
        process = self.processes[slot]
        mark = self._mark()
        outcome = process.call("confirm_sign_in", self.front.mfa_code)
        expected = self.model.answer(slot, self._observe(slot))
        self._check(outcome, expected, f"confirm_sign_in in process {slot}", mark)
        if outcome.error is None:
            if not outcome.value.is_signed_in:
                raise Violation("confirm_sign_in with the right code did not sign in")
            self._check_device_after_sign_in(mark)

    def _check_device_after_sign_in(self, mark: int) -> None:
        """A sign-in ends with a device the front confirmed stored, unless ConfirmDevice
        was called and failed for good."""
        key = self._stored("deviceKey")
        front = {d.key: d for d in self.front.devices(self.pool.user_pool_id, self.pool.username)}
        if key is not None and (key not in front or not front[key].confirmed):
            raise Violation("a sign-in stored a device the front has not confirmed")
        confirmations = [op for op, _ in self.front.requests[mark:] if op == CONFIRM]
        if key is None and not confirmations:
            raise Violation("a sign-in ended with no device stored, and no ConfirmDevice call")
        STATS.seen["signed in with a device stored" if key else "signed in without a device"] += 1

    @rule(slot=SLOT)
    def sign_out(self, slot: int) -> None:
        before = [self._stored(f) for f in DEVICE_FIELDS]
        mark = self._mark()
        outcome = self.processes[slot].call("sign_out")
        self._check(outcome, self.model.sign_out(slot), f"sign_out in process {slot}", mark)
        if [self._stored(f) for f in DEVICE_FIELDS] != before:
            raise Violation("sign_out changed the stored device record")

    @rule(slot=SLOT)
    def refresh(self, slot: int) -> None:
        """fetch_auth_session(force_refresh=True)."""
        slot = self._prefer(slot, signed_in=True)
        mark = self._mark()
        outcome = self.processes[slot].call("fetch_auth_session", force_refresh=True)
        expected = self.model.refresh(slot)
        self._check(outcome, expected, f"forced fetch_auth_session in process {slot}", mark)

    @rule(slot=SLOT)
    def restart(self, slot: int) -> None:
        """The process restarts: a new manager on the same storage, which it reads."""
        process = self.processes[slot]
        mark = self._mark()
        error = process.restart()
        if error is not None:
            raise error
        outcome = process.call("fetch_auth_session")
        self._check(outcome, self.model.restart(slot), f"restart of process {slot}", mark)

    # -- rules: devices --------------------------------------------------------------------------

    @rule(
        slot=SLOT,
        call=st.sampled_from(
            ["remember", "forget this", "forget stored", "forget another", "list"]
        ),
    )
    def device_call(self, slot: int, call: str) -> None:
        """remember_device(), forget_device() (this device, or by key the stored one or
        another the front knows: an unknown key where there is none), fetch_devices()."""
        slot = self._prefer(slot, signed_in=True)
        if call == "list":
            self._fetch_devices(slot)
            return
        method, operation = (
            ("remember_device", "UpdateDeviceStatus")
            if call == "remember"
            else ("forget_device", "ForgetDevice")
        )
        key = self._device_to_forget(call)
        mark = self._mark()
        outcome = self.processes[slot].call(method, *([key] if key else []))
        expected = self.model.device_call(slot, operation, key)
        self._check(outcome, expected, f"{method} ({call}) in process {slot}", mark)

    def _device_to_forget(self, call: str) -> str | None:
        stored = self.model.stored_device
        if call in ("remember", "forget this"):
            return None
        if call == "forget stored" and stored is not None:
            return stored.key
        others = [k for k in self.model.devices if stored is None or k != stored.key]
        return others[-1] if others else f"{self.pool.region}_{uuid.uuid4()}"

    def _fetch_devices(self, slot: int) -> None:
        mark = self._mark()
        outcome = self.processes[slot].call("fetch_devices")
        expected, listed = self.model.fetch_devices(slot)
        self._check(outcome, expected, f"fetch_devices in process {slot}", mark)
        if outcome.error is None:
            got = {device.id: device.remembered for device in outcome.value}
            if got != listed:
                raise Violation(f"fetch_devices listed {got}, the model expects {listed}")

    @rule(slot=SLOT, tamper=st.booleans())
    def elsewhere(self, slot: int, tamper: bool) -> None:
        """Outside the library, the stored device goes stale: another client forgets it
        (boto3's ForgetDevice, with this process's access token), or its stored
        randomPasswordKey is changed (``tamper``)."""
        stored = self.model.stored_device
        if stored is None:
            return
        if tamper:
            bad = f"tampered-{secrets.token_urlsafe(8)}"
            self.secrets.add(bad)
            key = f"{self.prefix}.randomPasswordKey"
            self.processes[0].portal.call(self.storage.set_item, key, bad)
            self.model.tamper(bad)
            return
        slot = self._prefer(slot, signed_in=True)
        if stored.key not in self.model.devices or self.model.processes[slot].session is None:
            return
        held = self._held(slot)
        if held.error is not None or held.value.tokens is None:
            raise Violation("a signed-in process serves no tokens")
        mark = self._mark()
        self.idp.forget_device(
            AccessToken=held.value.tokens.access_token.to_string(), DeviceKey=stored.key
        )
        expected = self.model.forget_elsewhere(stored.key)
        self._check(Outcome(), expected, "ForgetDevice elsewhere", mark)

    @rule(
        fault=st.sampled_from([(CONFIRM, TRANSIENT), (CONFIRM, FINAL), (RESPOND, TRANSIENT)]),
        times=st.sampled_from([1, 2]),
    )
    def inject(self, fault: tuple[str, int | str], times: int) -> None:
        """The next ``times`` calls of the operation fail (``ATTEMPTS`` calls fail one for good)."""
        operation, error = fault
        self.front.inject(operation, error, times=times)
        self.model.inject(operation, error, times)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def check_world(self) -> None:
        if not self.processes:
            return
        STATS.steps += 1
        self._check_devices()
        self._check_storage()
        self._check_sessions()
        self._check_refreshes()
        self._check_secrets()

    def _check_devices(self) -> None:
        model = self.model
        front = {
            d.key: (d.confirmed, d.remembered)
            for d in self.front.devices(self.pool.user_pool_id, self.pool.username)
        }
        expected = {k: (d.confirmed, d.remembered) for k, d in model.devices.items()}
        if front != expected:
            raise Violation(f"the front's devices are {front}, the model's {expected}")
        proofs = {k: v for k, v in self.front.device_proofs.items() if v}
        if proofs != dict(model.proofs):
            raise Violation(f"device proofs: {proofs}, the model expects {dict(model.proofs)}")

    def _check_storage(self) -> None:
        model = self.model
        record = [self._stored(f) for f in DEVICE_FIELDS]
        if any(v is None for v in record) and any(v is not None for v in record):
            present = [f for f, v in zip(DEVICE_FIELDS, record, strict=True) if v is not None]
            raise Violation(f"a partial device record is stored: only {present}")
        stored = model.stored_device
        key, _, password = record
        if stored is None and key is not None:
            raise Violation("a device record is stored; the model has none")
        if stored is not None and (key, password) != (stored.key, stored.password):
            what = "no record" if key is None else "another device or password"
            raise Violation(f"{what} is stored; the model has {stored}")
        if stored is not None:
            STATS.seen["a device stored after a step"] += 1
        token = self._stored("refreshToken")
        expected = model.stored_session.refresh_token if model.stored_session else None
        if token != expected:
            raise Violation("the stored session is not the model's")
        if bool(self._stored("signedOut")) != model.signed_out_marker:
            raise Violation(f"the sign-out marker is not the model's ({model.signed_out_marker})")

    def _check_sessions(self) -> None:
        for index, process in enumerate(self.model.processes):
            held = self._held(index)
            if held.error is not None or held.hung:
                raise Violation(f"process {index} could not serve its session from memory")
            tokens = held.value.tokens
            token = tokens.refresh_token if tokens else None
            expected = process.session.refresh_token if process.session else None
            if token != expected:
                raise Violation(
                    f"process {index} holds {'no' if token is None else 'other'} tokens; "
                    f"the model has {process.session}"
                )

    def _check_refreshes(self) -> None:
        """No unconfirmed key sent; a confirmed (and known) device's key always sent."""
        model = self.model
        requests = self.front.requests
        for operation, body in requests[self.refresh_mark :]:
            if operation == "InitiateAuth" and body.get("AuthFlow") == "REFRESH_TOKEN_AUTH":
                parameters = body.get("AuthParameters") or {}
                token, sent = parameters.get("REFRESH_TOKEN"), parameters.get("DEVICE_KEY")
            elif operation == "GetTokensFromRefreshToken":
                token, sent = body.get("RefreshToken"), body.get("DeviceKey")
            else:
                continue
            STATS.seen[f"refresh carrying {'a' if sent else 'no'} device key"] += 1
            if sent is not None and sent not in model.ever_confirmed:
                raise Violation(f"a refresh carried the key of a device never confirmed: {sent}")
            session: Session | None = model.sessions.get(str(token))
            if session is None:
                raise Violation("a refresh carried a refresh token no sign-in issued")
            bound = model.devices.get(session.device)
            if bound is not None and bound.confirmed and sent != session.device:
                raise Violation(
                    "a refresh of tokens issued to a confirmed device did not carry its key "
                    f"(sent {sent!r})"
                )
        self.refresh_mark = len(requests)

    def _check_secrets(self) -> None:
        """No password, device password or refresh token in an exception or a log record."""
        secrets_now = self.secrets | {s.refresh_token for s in self.model.sessions.values()}
        text = self.caplog.text[self.log_mark :]
        self.log_mark += len(text)
        for secret in secrets_now:
            if secret in text:
                raise Violation("a secret reached a log record")
        for error in self.raised:
            for link in exception_chain(error):
                if any(s in str(link) or s in repr(link) for s in secrets_now):
                    raise Violation(f"a secret is in the text of {error_name(error)}")
        self.raised.clear()


@pytest.mark.heavy
@pytest.mark.parametrize("mode", ["always", "user_opt_in"])
def test_device_model(
    amplify_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    mode: Literal["always", "user_opt_in"],
) -> None:
    prepare(DeviceModel, caplog, emulator=amplify_emulator, mode=mode)
    run_model(DeviceModel, STATS, examples=EXAMPLES, steps=STEPS, randomized=RANDOM)


#: Fixed step lists through the same machine and checks, one per path the issue
#: names, so that each is taken on every run whatever the sample above draws:
#: (pool mode, the world, the steps).
SRP, PASSWORD = "USER_SRP_AUTH", "USER_PASSWORD_AUTH"
SCENARIOS: dict[str, tuple[str, dict[str, Any], Steps]] = {
    "a second process signs in with the device, which refreshes carry": (
        "always",
        {"flow": SRP, "second": "signs in"},
        [
            ("refresh", {"slot": 1}),
            ("refresh", {"slot": 0}),
            ("sign_out", {"slot": 1}),
            ("sign_in", {"slot": 1, "flow": SRP, "answer_now": True}),
        ],
    ),
    "a refused device proof removes the record; MFA confirms a new device": (
        "always",
        {"flow": PASSWORD, "stale": "tampered", "second": "signs in"},
        [
            ("sign_in", {"slot": 1, "flow": SRP, "answer_now": True}),
            ("sign_out", {"slot": 1}),
            ("sign_in", {"slot": 1, "flow": PASSWORD, "answer_now": True}),
        ],
    ),
    "forgetting this device leaves the record another process stored since": (
        "always",
        {"flow": SRP, "stale": "tampered", "second": "signs in"},
        [
            ("sign_in", {"slot": 1, "flow": SRP, "answer_now": True}),
            ("device_call", {"slot": 0, "call": "forget this"}),
            ("refresh", {"slot": 1}),
        ],
    ),
    "a device forgotten elsewhere is dropped and the sign-in made again": (
        "always",
        {"flow": SRP, "stale": "forgotten", "second": "signs in"},
        [("refresh", {"slot": 0}), ("refresh", {"slot": 1})],
    ),
    "a confirmation that fails for good leaves no device, and the next sign-in one": (
        "always",
        {"flow": PASSWORD, "confirm_fault": (FINAL, 1)},
        [
            ("refresh", {"slot": 0}),
            ("device_call", {"slot": 0, "call": "remember"}),
            ("sign_out", {"slot": 0}),
            ("sign_in", {"slot": 0, "flow": SRP, "answer_now": True}),
            ("refresh", {"slot": 0}),
        ],
    ),
    "transient faults are retried; twice, the sign-in fails and nothing changes": (
        "always",
        {"flow": SRP, "confirm_fault": (TRANSIENT, 1)},
        [
            ("inject", {"fault": (RESPOND, TRANSIENT), "times": 1}),
            ("sign_in", {"slot": 1, "flow": SRP, "answer_now": True}),
            ("sign_out", {"slot": 1}),
            ("inject", {"fault": (RESPOND, TRANSIENT), "times": 2}),
            ("sign_in", {"slot": 1, "flow": PASSWORD, "answer_now": True}),
            ("sign_in", {"slot": 1, "flow": PASSWORD, "answer_now": True}),
        ],
    ),
    "opt-in: remembered while an MFA code is awaited, the device proves itself after it": (
        "user_opt_in",
        {"flow": SRP},
        [
            ("sign_in", {"slot": 1, "flow": PASSWORD, "answer_now": False}),
            ("device_call", {"slot": 0, "call": "remember"}),
            ("answer", {"slot": 1}),
            ("device_call", {"slot": 1, "call": "list"}),
        ],
    ),
    "an MFA answer carries the device stored while the code was awaited": (
        "always",
        {"flow": SRP, "confirm_fault": (FINAL, 1)},
        [
            ("sign_in", {"slot": 1, "flow": SRP, "answer_now": False}),
            ("sign_out", {"slot": 0}),
            ("sign_in", {"slot": 0, "flow": PASSWORD, "answer_now": True}),
            ("answer", {"slot": 1}),
            ("refresh", {"slot": 1}),
        ],
    ),
    "a restored process forgets the device by key; the other's tokens then end": (
        "user_opt_in",
        {"flow": PASSWORD, "second": "restored"},
        [
            ("device_call", {"slot": 1, "call": "forget stored"}),
            ("device_call", {"slot": 1, "call": "forget this"}),
            ("refresh", {"slot": 0}),
            ("restart", {"slot": 0}),
            ("sign_in", {"slot": 0, "flow": SRP, "answer_now": True}),
        ],
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_device_model_scenario(
    amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    mode, world, steps = SCENARIOS[name]
    prepare(DeviceModel, caplog, emulator=amplify_emulator, mode=mode)
    defaults = {"confirm_fault": None, "remember": False, "stale": None, "second": "signed out"}
    replay(DeviceModel(), {**defaults, **world}, steps)
