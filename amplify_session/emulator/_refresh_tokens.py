"""Refresh-token rotation and revocation, which moto does not implement.

The front hands out its own token in place of moto's when a client rotates
(an alias of moto's), and remembers every token it retired or revoked, with
the reason Cognito gives when one comes back.
"""

from __future__ import annotations

import threading
import uuid

from ._wire import Refused

__all__ = ["RefreshTokens"]


class RefreshTokens:
    """The front's refresh tokens: aliases of moto's, and the ones that no longer work."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._aliases: dict[str, str] = {}  # our refresh token -> moto's
        self._dead: dict[str, str] = {}  # refresh token -> why it no longer works

    def live(self, token: str | None) -> str:
        """moto's refresh token behind ``token``; refused if it was rotated out or revoked."""
        if not token:
            raise Refused("InvalidParameterException", "Missing refresh token.")
        with self._lock:
            why = self._dead.get(token)
            moto_token = self._aliases.get(token, token)
        if why is not None:
            raise Refused("NotAuthorizedException", why)
        return moto_token

    def rotate(self, token: str, moto_token: str) -> str:
        """Retire ``token``; returns the token that replaces it (standing for ``moto_token``)."""
        rotated = str(uuid.uuid4())
        with self._lock:
            self._aliases[rotated] = moto_token
            self._dead[token] = "Invalid Refresh Token."
        return rotated

    def revoke(self, token: str, moto_token: str) -> None:
        """Revoke ``token`` and every token of its family (moto's and each rotation)."""
        with self._lock:
            family = [t for t, m in self._aliases.items() if m == moto_token]
            for revoked in [token, moto_token, *family]:
                self._dead[revoked] = "Refresh Token has been revoked"
