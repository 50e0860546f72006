"""The server's clock, as the tokens tell it, and the refresh schedule it gives a token set.

Cognito's ``exp`` is in the server's time. How long tokens remain valid is
read off the server's clock once, when they arrive (``iat`` is "now" there)
or are read from storage (the wall clock plus the stored drift); from then
on the local monotonic clock counts it down, so a wall-clock step can neither
make an expired token look valid nor a valid one look expired.
"""

from __future__ import annotations

import random

from ._config import AuthConfig
from ._errors import InvalidResponseException
from ._timing import IAT_RESOLUTION, Clock, Schedule, local_deadline, schedule
from ._tokens import TokenSet, issued_at

__all__ = ["ServerClock"]


class ServerClock:
    """Measures the server's clock at each token receipt and schedules token sets by it."""

    def __init__(self, clock: Clock, config: AuthConfig, rng: random.Random | None) -> None:
        self._clock = clock
        self._config = config
        self._rng = rng
        #: The server's clock minus our monotonic one, measured at our last token
        #: receipt: a wall-clock step since then does not move it.
        self._offset: float | None = None

    def __repr__(self) -> str:
        return f"ServerClock(measured={self._offset is not None})"

    def now(self, tokens: TokenSet) -> float:
        """The server's time now, counted on the monotonic clock from our last measure
        (a token receipt): a wall-clock step since does not move it.

        At first (tokens from storage) it is the wall clock plus the stored
        drift. A token is not issued in the future: if that puts the server
        before the token's ``iat``, the wall clock was stepped back since it
        was stored, and how long ago that was cannot be known, so the tokens
        count as expiring now (they are refreshed before they are served).
        """
        if self._offset is not None:
            return self._clock.monotonic() + self._offset
        estimate = self._clock.time() + tokens.clock_drift
        issued = issued_at(tokens.access_token)
        if issued is not None and estimate < issued - IAT_RESOLUTION:
            return tokens.server_expiry  # no offset kept: Cognito's next answer sets it
        self._offset = estimate - self._clock.monotonic()
        return estimate

    def received(self, tokens: TokenSet) -> None:
        """Tokens just came from Cognito: measure the server's clock, refuse unusable ones.

        Raises:
            InvalidResponseException: They are expired already (or within
                ``expiry_tolerance``).
        """
        issued = issued_at(tokens.access_token)
        if issued is not None:
            self._offset = issued - self._clock.monotonic()
        if self.schedule_of(tokens).expire_at <= self._clock.monotonic():
            raise InvalidResponseException(
                "Cognito sent tokens that are already expired (or expire within "
                f"expiry_tolerance={self._config.expiry_tolerance:g} s)"
            )

    def schedule_of(self, tokens: TokenSet) -> Schedule:
        """When ``tokens`` are due for refresh and when they expire (local monotonic times)."""
        # iat has whole
        # seconds, so the measured drift can be up to a second short: assume
        # the worst, and a token is never served past its exp.
        server_expiry = tokens.server_expiry
        expires_at = local_deadline(
            server_expiry,
            server_now=self.now(tokens),
            local_now=self._clock.monotonic(),
            tolerance=IAT_RESOLUTION,
        )
        issued = issued_at(tokens.access_token)
        lifetime = (
            server_expiry - issued - IAT_RESOLUTION  # the part we count on
            if issued is not None
            else expires_at - self._clock.monotonic()
        )
        return schedule(
            expires_at=expires_at,
            lifetime=lifetime,
            refresh_window=self._config.refresh_window,
            tolerance=self._config.expiry_tolerance,
            rng=self._rng,
        )
