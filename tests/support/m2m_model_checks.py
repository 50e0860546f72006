"""What the M2M model test expects of each manager, and the checks that need no I/O.

The test (``tests/integration/test_m2m_model.py``) drives the world and calls
these after every step: the error a fetch must raise after a given answer,
the bound on token requests (renewal windows, the backoff's retries), the
grammar of a manager's events, and a scan for secrets in text.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote_plus

import attrs

from amplify_session import (
    AuthError,
    InternalErrorException,
    InvalidResponseException,
    NetworkError,
    OAuthError,
    TooManyRequestsException,
)
from amplify_session._refresh_loop import MIN_PROGRESS
from amplify_session._timing import IAT_RESOLUTION, JITTER_FRACTION, Backoff
from tests.support.m2m_model_endpoint import BAD_TOKENS, GOOD, REFUSALS, Minted, Request
from tests.support.m2m_model_world import Profile, Seen

__all__ = [
    "MEASURED",
    "Expect",
    "SecretScanner",
    "backoff_flights",
    "credential_forms",
    "event_problem",
    "expected_error",
    "renewal_interval",
]

#: Answers whose token's ``iat`` a manager measures the server's clock by.
MEASURED = GOOD | {"expired", "short"}


@attrs.define
class Expect:
    """What the model knows of one manager, and what it did in the current step."""

    #: Whether it holds a token, by its events (None: not known, as after a restart).
    holding: bool | None = None
    #: Whether it may still load a stored session (no event says so), until it is used.
    unloaded: bool = True
    #: The token of its last signedIn/tokenRefresh event.
    last_jti: str | None = None
    #: A refusal or a sign-out: its background loop must not ask until a caller does.
    paused: bool = False
    #: Whether it measured the server's clock itself (a token's ``iat`` on arrival) since
    #: its creation; until then it judges stored tokens by its wall clock and their
    #: stored ``clockDrift``. And its least wall-clock offset since its creation.
    measured: bool = False
    least_offset: float = 0.0
    #: Flights its callers (and, by the run_for rule, its loop) may start in this step.
    flights: int = 0
    callers: int = 0
    sign_outs: int = 0
    was_open: bool = False
    event_mark: int = 0

    def end_step(self, *, holds: bool, events: list[Seen], sent: list[Request]) -> None:
        """What the step leaves: paused (a refusal or a sign-out left it without a token)."""
        ended = bool(events) and events[-1].name == "signedOut"
        if holds:
            self.paused = False
        elif ended or (sent and sent[-1].kind in REFUSALS):
            self.paused = True
        elif self.callers or sent:
            self.paused = False
        if any(r.kind in MEASURED for r in sent):
            self.measured = True
        self.flights = self.callers = self.sign_outs = 0


def expected_error(kind: str) -> tuple[type[AuthError], str | None]:
    """The error (and its name, for an OAuthError) a fetch whose last answer was ``kind`` raises."""
    if kind in REFUSALS:
        return OAuthError, REFUSALS[kind]
    if kind in BAD_TOKENS:
        return InvalidResponseException, None
    return {
        "503": (InternalErrorException, None),
        "429": (TooManyRequestsException, None),
        "reset": (NetworkError, None),
        "stall": (NetworkError, None),
    }[kind]


def renewal_interval(profile: Profile) -> float:
    """The least time between two renewals (``_timing.schedule``): the lifetime less the
    second ``iat`` may be off, the lead with its jitter, and the ``iat`` rounding."""
    counted = profile.lifetime - IAT_RESOLUTION
    lead = min(profile.refresh_window, counted / 2) * (1 + JITTER_FRACTION)
    return max(counted - lead - IAT_RESOLUTION, MIN_PROGRESS)


def backoff_flights(seconds: float) -> int:
    """Flights a loop that fails throughout ``seconds`` may start: the backoff's shortest
    waits (half of each exponential step) added up."""
    backoff, elapsed, flights = Backoff(), 0.0, 1
    while True:
        base = min(backoff.initial * 2**backoff.failures, backoff.maximum)
        backoff.failures += 1
        elapsed += base / 2
        if elapsed > seconds:
            return flights
        flights += 1


def event_problem(
    expect: Expect,
    events: list[Seen],
    sent: list[Request],
    minted: Mapping[str, Minted],
) -> str | None:
    """What is wrong with a manager's events in a step, if anything; updates ``expect``.

    signedIn when it comes to hold a token (this client's, usable), tokenRefresh for a
    new one while it holds one, signedOut only when a session ends or sign_out() is
    called, no more tokenRefresh_failure than failed answers.
    """
    holding, credits = expect.holding, expect.sign_outs
    for event in events:
        if event.name in ("signedIn", "tokenRefresh"):
            if event.name == "signedIn" and holding:
                return "signedIn while it held a token"
            if event.name == "tokenRefresh" and holding is False:
                return "tokenRefresh while it held no token"
            token = minted.get(event.jti) if event.jti is not None else None
            if token is None or token.kind not in GOOD:
                return f"{event.name} with a token that is not usable"
            if event.name == "tokenRefresh" and event.jti == expect.last_jti:
                return "tokenRefresh without a new token"
            holding, expect.last_jti = True, event.jti
        elif event.name == "signedOut":
            if holding is False and credits == 0:
                return f"signedOut with no session to end (events {[e.name for e in events]})"
            credits, holding = max(0, credits - 1), False
        elif event.name != "tokenRefresh_failure":
            return f"unexpected event {event.name}"
    expect.holding = holding
    failures = sum(e.name == "tokenRefresh_failure" for e in events)
    failed = sum(r.kind not in GOOD for r in sent)
    if failures > failed:
        return f"{failures} tokenRefresh_failure events for {failed} failed answers"
    return None


def credential_forms(client_id: str, secret: str) -> list[str]:
    """A client secret as it may be echoed: raw, URL- and JSON-encoded, in a Basic header."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return [secret, quote_plus(secret), json.dumps(secret)[1:-1], base64.b64encode(pair).decode()]


#: Runs of base64url text long enough to be a token's payload or signature.
_WORDS = re.compile(r"[A-Za-z0-9_\-]{16,}")


class SecretScanner:
    """Finds the client secrets (in any form) and any token's payload or signature in text."""

    def __init__(self, fixed: Iterable[str]) -> None:
        self._fixed = sorted(set(fixed), key=len, reverse=True)
        self._parts: set[str] = set()

    def add_tokens(self, raws: Iterable[str]) -> None:
        """Tokens issued since: their payload and signature are secrets (the header is not)."""
        for raw in raws:
            self._parts.update(raw.split(".")[1:])

    def found_in(self, text: str) -> bool:
        if any(secret in text for secret in self._fixed):
            return True
        return any(word in self._parts for word in _WORDS.findall(text))
