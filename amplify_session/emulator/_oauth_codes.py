"""Authorization codes: issued by /oauth2/authorize, redeemed once at /oauth2/token.

A code is bound to its client, its redirect URI, the PKCE challenge (S256,
RFC 7636), the nonce and the scopes of its authorize request, and to the
approved user. It lives ``ttl`` seconds (Cognito: five minutes) and is
spent by the first attempt to redeem it, successful or not, so a code
cannot be replayed nor its verifier guessed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
import uuid

import attrs

from ._oauth_clients import OAuthError

__all__ = ["CodeBook", "Grant", "s256"]

#: RFC 7636 §4.1: 43 to 128 unreserved characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


@attrs.frozen(kw_only=True)
class Grant:
    """What an authorize request approved, for whom."""

    client_id: str
    user_pool_id: str
    username: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    nonce: str | None


def s256(verifier: str) -> str:
    """The S256 code challenge of a code verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class CodeBook:
    """The codes issued and not yet redeemed."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._codes: dict[str, tuple[Grant, float]] = {}  # code -> grant, monotonic expiry

    def issue(self, grant: Grant) -> str:
        """A new code for ``grant``, living ``ttl`` seconds from now."""
        code = str(uuid.uuid4())
        with self._lock:
            self._codes[code] = (grant, time.monotonic() + self.ttl)
        return code

    def redeem(
        self, code: str, client_id: str, redirect_uri: str | None, verifier: str | None
    ) -> Grant:
        """The grant behind ``code``, spending it.

        Raises:
            OAuthError: ``invalid_grant``: unknown, spent or expired code, another
                client's, another redirect URI, a missing or wrong PKCE verifier.
        """
        with self._lock:
            grant, expiry = self._codes.pop(code, (None, 0.0))
        if grant is None or time.monotonic() >= expiry:
            raise OAuthError("invalid_grant", "The code is not valid: unknown, used or expired.")
        if grant.client_id != client_id:
            raise OAuthError("invalid_grant", "The code was issued to another client.")
        if redirect_uri != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri is not the authorize request's.")
        _check_verifier(grant.challenge, verifier)
        return grant


def _check_verifier(challenge: str | None, verifier: str | None) -> None:
    if challenge is None:
        if verifier is not None:
            raise OAuthError("invalid_grant", "code_verifier for a code issued without PKCE.")
        return
    if verifier is None or not _VERIFIER.fullmatch(verifier):
        raise OAuthError("invalid_grant", "A valid code_verifier is required.")
    if not hmac.compare_digest(s256(verifier).encode(), challenge.encode()):
        raise OAuthError("invalid_grant", "code_verifier does not match the code challenge.")
