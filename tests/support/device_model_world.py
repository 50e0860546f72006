"""The model of the device model test: what Cognito (the strict front), the shared storage and
each process hold, and what every public call should do to them.

Pure Python, no I/O. The test runs a call, then asks the model what it
should have done: the calls the front should have seen (each attempt, in
order), the AuthError it should have raised (by name), and what changes.
Identifiers the model cannot know in advance (a new device's key, a new
refresh token, a device's random password) are read after the call and
handed in as an :class:`Observed`; decisions never depend on them.

How the front decides (``amplify_session/emulator/_devices.py``): a sign-in
that presents a confirmed device gets tokens bound to it, any other a new
(unconfirmed) device; a refresh with a device key works only for the
confirmed device its tokens are bound to, one without a key only for tokens
bound to an unconfirmed device, and none once that device is forgotten. A
confirmed device that is remembered signs in with DEVICE_SRP_AUTH instead
of SMS_MFA.
"""

from __future__ import annotations

from collections import Counter, deque

import attrs

__all__ = [
    "ATTEMPTS",
    "CONFIRM",
    "FINAL",
    "RESPOND",
    "TRANSIENT",
    "Expected",
    "FrontDevice",
    "Model",
    "Observed",
    "Pending",
    "Process",
    "Session",
    "StoredDevice",
]

RESPOND = "RespondToAuthChallenge"
CONFIRM = "ConfirmDevice"
#: Calls per operation the test's retry policy makes (``fast_retry(ATTEMPTS)``).
ATTEMPTS = 2
TRANSIENT = 503
FINAL = "InvalidParameterException"  # a 400: not retried


@attrs.define
class FrontDevice:
    """A device of the user, as the front keeps it."""

    confirmed: bool = False
    remembered: bool = False


@attrs.define(eq=False)
class Session:
    """One authentication: its refresh token, and the device the front bound it to."""

    refresh_token: str = attrs.field(repr=False)
    device: str
    revoked: bool = False


@attrs.frozen
class StoredDevice:
    """A device record as the storage held it (a process that read it keeps this copy)."""

    key: str
    password: str = attrs.field(repr=False)  # the randomPasswordKey stored
    tampered: bool = False


@attrs.define
class Pending:
    """A sign-in waiting for its MFA code, with the device record it presented."""

    device: StoredDevice | None


@attrs.define
class Process:
    """What one process's manager holds in memory."""

    session: Session | None = None
    #: The device its tokens carry (``TokenSet.device``): sent with refreshes.
    device_key: str | None = None
    pending: Pending | None = None

    def forget(self) -> None:
        self.session, self.device_key = None, None


@attrs.frozen
class Expected:
    """What a public call should have done."""

    calls: tuple[str, ...] = ()
    error: str | None = None  # the AuthError's name
    mfa: bool = False  # a sign-in that asks for the SMS code


@attrs.define
class Observed:
    """Identifiers read after a call: the new devices (oldest first), the process's refresh
    token, and the randomPasswordKey stored."""

    new_devices: list[str] = attrs.field(factory=list)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    stored_password: str | None = attrs.field(default=None, repr=False)


def _call(operation: str, detail: str | None = None) -> str:
    return f"{operation}({detail})" if detail else operation


@attrs.define
class Model:
    """The front's devices and sessions, the shared storage, and two processes."""

    remember_always: bool
    processes: list[Process] = attrs.field(factory=lambda: [Process(), Process()])
    devices: dict[str, FrontDevice] = attrs.field(factory=dict)
    #: Every key the front ever confirmed (a refresh may carry no other).
    ever_confirmed: set[str] = attrs.field(factory=set)
    sessions: dict[str, Session] = attrs.field(factory=dict, repr=False)
    faults: dict[str, deque[int | str]] = attrs.field(
        factory=lambda: {RESPOND: deque(), CONFIRM: deque()}
    )
    proofs: Counter[str] = attrs.field(factory=Counter)
    # The shared storage.
    stored_session: Session | None = None
    signed_out_marker: bool = False
    stored_device: StoredDevice | None = None

    # -- the front's rules ------------------------------------------------------------------

    def remembered(self, device: StoredDevice | None) -> bool:
        """Whether a sign-in presenting ``device`` proves it (DEVICE_SRP_AUTH), skipping MFA."""
        known = self.devices.get(device.key) if device else None
        return known is not None and known.confirmed and known.remembered

    def refresh_works(self, session: Session, sent_key: str | None) -> bool:
        if session.revoked:
            return False
        device = self.devices.get(session.device)
        if sent_key is not None:
            return device is not None and device.confirmed and sent_key == session.device
        return device is not None and not device.confirmed

    def inject(self, operation: str, fault: int | str, times: int) -> None:
        self.faults[operation].extend([fault] * times)

    def _attempts(self, calls: list[str], operation: str, detail: str | None = None) -> bool:
        """One call (retried on a transient fault); whether it got through."""
        for _ in range(ATTEMPTS):
            calls.append(_call(operation, detail))
            queue = self.faults[operation]
            if not queue:
                return True
            if queue.popleft() != TRANSIENT:
                return False
        return False

    def _forget_stored(self, key: str) -> None:
        """The client drops its record of ``key`` (never another device's record)."""
        if self.stored_device is not None and self.stored_device.key == key:
            self.stored_device = None

    # -- sign-in ------------------------------------------------------------------------------

    def sign_in(self, index: int, flow: str, seen: Observed) -> Expected:
        process = self.processes[index]
        if process.session is not None:
            return Expected(error="UserAlreadyAuthenticatedException")
        process.pending = None
        calls = [_call("InitiateAuth", flow)]
        device = self.stored_device
        if device is not None and device.key not in self.devices:
            # "Device does not exist.": dropped, and the sign-in made again without it.
            self._forget_stored(device.key)
            device = None
            calls.append(_call("InitiateAuth", flow))
        if flow == "USER_SRP_AUTH" and not self._attempts(calls, RESPOND, "PASSWORD_VERIFIER"):
            return Expected(tuple(calls), "InternalErrorException")
        if self.remembered(device):
            return self._prove(index, device, calls, seen)
        process.pending = Pending(device)
        return Expected(tuple(calls), mfa=True)

    def answer(self, index: int, seen: Observed) -> Expected:
        """confirm_sign_in with the right SMS code."""
        process = self.processes[index]
        pending = process.pending
        if pending is None:
            return Expected(error="InvalidParameterException")
        calls: list[str] = []
        # The device goes with the answer: the one the sign-in presented, else the one
        # stored now (Cognito reads DEVICE_KEY from the last answer).
        device = pending.device or self.stored_device
        if not self._attempts(calls, RESPOND, "SMS_MFA"):
            return Expected(tuple(calls), "InternalErrorException")  # the challenge stands
        if device is not None and device.key not in self.devices:
            # Forgotten since the sign-in began: the front closed the challenge
            # session and refuses the device; nothing is left to answer.
            process.pending = None
            self._forget_stored(device.key)
            return Expected(tuple(calls), "ResourceNotFoundException")
        if self.remembered(device):  # remembered meanwhile: the device proves itself now
            return self._prove(index, device, calls, seen)
        return self._signed_in(index, device, calls, seen)

    def _prove(
        self, index: int, device: StoredDevice | None, calls: list[str], seen: Observed
    ) -> Expected:
        assert device is not None
        process = self.processes[index]
        for step in ("DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"):
            if not self._attempts(calls, RESPOND, step):
                return Expected(tuple(calls), "InternalErrorException")
        process.pending = None
        if device.tampered:
            self.proofs["refused"] += 1
            self._forget_stored(device.key)
            return Expected(tuple(calls), "NotAuthorizedException")
        self.proofs["accepted"] += 1
        return self._signed_in(index, device, calls, seen)

    def _signed_in(
        self, index: int, device: StoredDevice | None, calls: list[str], seen: Observed
    ) -> Expected:
        """Tokens: bound to the presented confirmed device, else to a new one (confirmed now)."""
        process = self.processes[index]
        process.pending = None
        known = self.devices.get(device.key) if device else None
        record = device
        if device is not None and known is not None and known.confirmed:
            bound = device.key
        else:
            assert seen.new_devices, "the front made no new device for a sign-in without one"
            bound = seen.new_devices.pop(0)
            self.devices[bound] = FrontDevice()
            record = None
            if self._attempts(calls, CONFIRM):
                self.devices[bound] = FrontDevice(True, self.remember_always)
                self.ever_confirmed.add(bound)
                assert seen.stored_password is not None, "a confirmed device with no password"
                record = StoredDevice(bound, seen.stored_password)
        assert seen.refresh_token is not None, "signed in without a refresh token"
        session = Session(seen.refresh_token, bound)
        self.sessions[session.refresh_token] = session
        process.session, process.device_key = session, record.key if record else None
        self.stored_session, self.signed_out_marker = session, False
        self.stored_device = record
        return Expected(tuple(calls))

    # -- the session ------------------------------------------------------------------------

    def refresh(self, index: int) -> Expected:
        """fetch_auth_session(force_refresh=True)."""
        process = self.processes[index]
        session = process.session
        if session is None:
            return Expected()
        calls = [_call("InitiateAuth", "REFRESH_TOKEN_AUTH")]
        if not self.refresh_works(session, process.device_key):
            # Refused: GetTokensFromRefreshToken is asked once (a rotating client?), then
            # the session ends, and the stored one with it if it is this one.
            calls.append("GetTokensFromRefreshToken")
            process.forget()
            self._clear_stored(session)
            return Expected(tuple(calls), "NotAuthorizedException")
        if self.signed_out_marker:  # signed out elsewhere: followed, the new tokens revoked
            calls.append("RevokeToken")
            session.revoked = True
            process.forget()
        else:
            self.stored_session = session
        return Expected(tuple(calls))

    def _clear_stored(self, session: Session) -> None:
        """A sign-out lands: the stored session goes if it is ``session`` (or none is stored)."""
        if self.stored_session is None or self.stored_session is session:
            self.stored_session, self.signed_out_marker = None, True

    def sign_out(self, index: int) -> Expected:
        process = self.processes[index]
        process.pending = None
        session = process.session
        if session is None:
            return Expected()
        self._clear_stored(session)
        session.revoked = True
        process.forget()
        return Expected(("RevokeToken",))

    def restart(self, index: int) -> Expected:
        """A new manager on the storage, which it reads at its first call."""
        process = self.processes[index] = Process()
        if self.stored_session is not None and not self.signed_out_marker:
            process.session = self.stored_session
            process.device_key = self.stored_device.key if self.stored_device else None
        return Expected()

    # -- the device calls ------------------------------------------------------------------

    def _current_device(self, process: Process) -> str | None:
        if process.device_key is not None:
            return process.device_key
        return self.stored_device.key if self.stored_device else None

    def device_call(self, index: int, operation: str, key: str | None = None) -> Expected:
        """remember_device() (UpdateDeviceStatus) or forget_device(key) (ForgetDevice), of
        this device (the one the tokens carry, else the stored one) when ``key`` is None.

        Forgetting a device removes the stored record if it is that device's.
        """
        process = self.processes[index]
        if process.session is None:
            return Expected(error="UserUnAuthenticatedException")
        key = key or self._current_device(process)
        if key is None:
            return Expected(error="DeviceMetadataNotFoundException")
        calls = (operation,)
        if key not in self.devices:
            return Expected(calls, "ResourceNotFoundException")
        if operation == "UpdateDeviceStatus":
            self.devices[key].remembered = True
        else:
            del self.devices[key]
            self._forget_stored(key)
        return Expected(calls)

    def fetch_devices(self, index: int) -> tuple[Expected, dict[str, bool]]:
        """fetch_devices(): the confirmed devices, and whether each is remembered."""
        if self.processes[index].session is None:
            return Expected(error="UserUnAuthenticatedException"), {}
        listed = {k: d.remembered for k, d in self.devices.items() if d.confirmed}
        return Expected(("ListDevices",)), listed

    def forget_elsewhere(self, key: str) -> Expected:
        """ForgetDevice from another client (boto3): the stored record goes stale."""
        del self.devices[key]
        return Expected(("ForgetDevice",))

    def tamper(self, password: str) -> None:
        """The stored password changes; what a process read before keeps the old one."""
        assert self.stored_device is not None
        self.stored_device = attrs.evolve(self.stored_device, password=password, tampered=True)
