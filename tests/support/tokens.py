"""Hand-made JWTs for unit tests (signatures are not checked by decode_jwt)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(payload: dict[str, Any] | None = None, header: dict[str, Any] | None = None) -> str:
    now = int(time.time())
    claims = {
        "sub": "user-sub",
        "iat": now,
        "exp": now + 3600,
        "token_use": "access",
        "username": "alice",
    }
    claims.update(payload or {})
    head = header or {"alg": "RS256", "kid": "k1", "typ": "JWT"}
    return ".".join(
        [b64url(json.dumps(head).encode()), b64url(json.dumps(claims).encode()), b64url(b"sig")]
    )
