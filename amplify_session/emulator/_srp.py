"""Server-side SRP-6a for USER_SRP_AUTH, written independently of the client's module.

moto accepts any proof; the front checks it, so a wrong password fails the
PASSWORD_VERIFIER step as it does against Cognito.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Mapping
from typing import Any

import attrs

from .._cognito.srp import G, N
from ._moto_backend import canonical_name, pool_name
from ._wire import Refused

__all__ = ["SrpSessions"]

_TIMESTAMP = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[1-9]\d? \d\d:\d\d:\d\d UTC \d{4}"
)


def _hex_pad(value: int) -> str:
    """Amplify's padHex: even-length hex, "00" in front when the top nibble is >= 8."""
    text = format(value, "x")
    text = "0" + text if len(text) % 2 else text
    return "00" + text if text[0] in "89abcdef" else text


def _h(hex_text: str) -> int:
    return int(hashlib.sha256(bytes.fromhex(hex_text)).hexdigest(), 16)


_K = _h(_hex_pad(N) + _hex_pad(G))


@attrs.define
class _SrpState:
    pool_id: str
    client_id: str
    login: str
    canonical: str
    big_a: int
    small_b: int
    big_b: int
    salt: int
    verifier: int


class SrpSessions:
    """The PASSWORD_VERIFIER challenges issued and not yet answered, by secret block."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _SrpState] = {}

    def challenge(
        self, pool: Any, client: Any, login: str, user: Any, srp_a: str
    ) -> dict[str, Any]:
        """Answer USER_SRP_AUTH: the PASSWORD_VERIFIER challenge for ``user``."""
        try:
            big_a = int(srp_a, 16)
        except ValueError:
            raise Refused("InvalidParameterException", "SRP_A is not hex") from None
        if big_a % N == 0:
            raise Refused("NotAuthorizedException", "Incorrect username or password.")
        canonical = canonical_name(pool, user)
        salt = secrets.randbits(128) | (1 << 127)
        inner = hashlib.sha256(f"{pool_name(pool)}{canonical}:{user.password}".encode()).hexdigest()
        verifier = pow(G, _h(_hex_pad(salt) + inner), N)
        small_b = secrets.randbits(1024)
        big_b = (_K * verifier + pow(G, small_b, N)) % N
        secret_block = base64.b64encode(secrets.token_bytes(48)).decode()
        with self._lock:
            self._states[secret_block] = _SrpState(
                pool.id, client.id, login, canonical, big_a, small_b, big_b, salt, verifier
            )
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": format(salt, "x"),
                "SRP_B": format(big_b, "x"),
                "SECRET_BLOCK": secret_block,
                "USER_ID_FOR_SRP": canonical,
                "USERNAME": canonical,
            },
        }

    def verify(self, pool: Any, client: Any, responses: Mapping[str, str]) -> str:
        """Check a PASSWORD_VERIFIER answer (once); returns the login that proved its password."""
        with self._lock:
            state = self._states.pop(responses.get("PASSWORD_CLAIM_SECRET_BLOCK", ""), None)
        if state is None or state.client_id != client.id:
            raise Refused("NotAuthorizedException", "Incorrect username or password.")
        timestamp = responses.get("TIMESTAMP", "")
        if not _TIMESTAMP.fullmatch(timestamp) or responses.get("USERNAME") != state.canonical:
            raise Refused("InvalidParameterException", "TIMESTAMP or USERNAME is malformed.")
        u = _h(_hex_pad(state.big_a) + _hex_pad(state.big_b))
        shared = pow(state.big_a * pow(state.verifier, u, N), state.small_b, N)
        prk = hmac.new(bytes.fromhex(_hex_pad(u)), bytes.fromhex(_hex_pad(shared)), "sha256")
        key = hmac.new(prk.digest(), b"Caldera Derived Key\x01", "sha256").digest()[:16]
        block = base64.b64decode(responses["PASSWORD_CLAIM_SECRET_BLOCK"])
        message = f"{pool_name(pool)}{state.canonical}".encode() + block + timestamp.encode()
        expected = base64.b64encode(hmac.new(key, message, "sha256").digest()).decode()
        if not hmac.compare_digest(expected, responses.get("PASSWORD_CLAIM_SIGNATURE", "")):
            raise Refused("NotAuthorizedException", "Incorrect username or password.")
        return state.login
