"""JWTs decoded without verifying (Amplify's ``decodeJWT``).

Reading a stored session decodes its tokens, so this module stays light: the
signature check (python-jose, the JWKS client and its HTTP session) is in
``_verifier.py``, imported only by whoever verifies.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidTokenException
from ._models import JWT

__all__ = ["MAX_TOKEN_LENGTH", "b64url_decode", "decode_jwt", "numeric_claim"]

#: Longest token accepted, checked before any decoding. Cognito id tokens
#: with many groups and attributes stay far below this.
MAX_TOKEN_LENGTH = 64 * 1024

# Unpadded base64url, as RFC 7515 requires; a length of 4n+1 is never valid.
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


def decode_jwt(token: str) -> JWT:
    """Decode a compact JWS without checking its signature.

    Args:
        token: The raw token, three base64url segments joined by dots.

    Returns:
        The decoded header and payload; ``str()`` of it is ``token``.

    Raises:
        InvalidTokenException: For anything that is not a well-formed JWT
            whose header and payload are JSON objects. The message never
            includes the token itself.
    """
    if not isinstance(token, str):
        raise InvalidTokenException(f"a token must be a str, not {type(token).__name__}")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenException(f"token is longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidTokenException("token must have three dot-separated parts")
    header_part, payload_part, signature = parts
    header = _decode_object(header_part, "header")
    payload = _decode_object(payload_part, "payload")
    b64url_decode(signature, "signature")
    return JWT(header=header, payload=payload, signature=signature, raw=token)


def _decode_object(segment: str, what: str) -> dict[str, Any]:
    raw = b64url_decode(segment, what)
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidTokenException(f"token {what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise InvalidTokenException(f"token {what} must be a JSON object")
    return value


def b64url_decode(segment: str, what: str) -> bytes:
    """Decode one unpadded base64url segment of a token (``what`` names it in errors)."""
    if not segment and what != "signature":
        raise InvalidTokenException(f"token {what} is empty")
    if len(segment) % 4 == 1 or not _SEGMENT.fullmatch(segment):
        raise InvalidTokenException(f"token {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidTokenException(f"token {what} is not base64url") from exc


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python accepts them by default.
    raise ValueError(name)


def _shared_strings(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose names, and the values of :data:`_SHARED_CLAIMS`, are interned.

    A process holding 10,000 sessions holds 20,000 decoded tokens: their claim
    names, and values such as ``iss``, ``client_id`` or ``token_use``, are the
    same strings in each, kept once instead of 20,000 times. A token's own
    values (``jti``, ``sub``...) are not: interning a string nobody shares
    costs more than it saves.
    """
    return {
        sys.intern(name): sys.intern(value)
        if name in _SHARED_CLAIMS and isinstance(value, str)
        else value
        for name, value in pairs
    }


#: Claims (and header fields) whose values are the same in the tokens of a pool's client.
_SHARED_CLAIMS = frozenset(
    {"iss", "aud", "client_id", "token_use", "scope", "alg", "kid", "typ", "cognito:username"}
)

# One decoder for every token: json.loads with options builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_shared_strings)


def numeric_claim(claims: Mapping[str, Any], name: str) -> float | None:
    """The claim ``name`` if it is a finite number (JSON booleans are not), else None."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
