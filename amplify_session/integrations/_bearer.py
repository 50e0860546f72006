"""RFC 6750 for the server integrations: read ``Authorization: Bearer``, verify, and say
no the way the RFC says (status, ``WWW-Authenticate`` challenge, JSON body).

Framework-free, so FastAPI's dependency, the aiohttp middleware and the plain
ASGI middleware answer alike. No answer carries the token: only the verifier's
messages, which never echo it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection, Sequence

import attrs

from .._errors import (
    AuthError,
    InsufficientScopeException,
    InvalidParameterException,
    InvalidTokenException,
)
from .._models import JWT
from .._verifier import TokenVerifier

__all__ = ["Refusal", "authenticate", "names"]

_log = logging.getLogger("amplify_session.server")

# RFC 6750 section 2.1's b64token: what may follow "Bearer ".
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# What a quoted-string of the challenge may hold (RFC 6750 section 3): no '"' or '\'.
_UNQUOTABLE = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


@attrs.frozen
class Refusal:
    """An answer instead of the resource: status, headers and a JSON body."""

    status: int
    description: str
    error: str | None = None
    challenge: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        """``WWW-Authenticate`` (when the refusal is about the credentials)."""
        return {} if self.challenge is None else {"WWW-Authenticate": self.challenge}

    @property
    def body(self) -> bytes:
        """The JSON body: ``error`` (when there is one) and ``error_description``."""
        fields = {"error": self.error} if self.error else {}
        return json.dumps({**fields, "error_description": self.description}).encode()


def names(values: Collection[str]) -> frozenset[str]:
    """Scope or group names, refusing a bare string (it would become its letters)."""
    if isinstance(values, str):
        raise InvalidParameterException("required scopes and groups are lists of names")
    return frozenset(values)


async def authenticate(
    verifier: TokenVerifier,
    authorization: Sequence[str],
    *,
    scopes: frozenset[str],
    groups: frozenset[str],
    realm: str | None,
) -> JWT | Refusal:
    """The verified token of a request's ``Authorization`` headers (every value the
    request sent, in order), or how to refuse it."""
    if len(authorization) > 1:
        # Not a list-valued field (RFC 9110): several are a malformed request, and
        # taking the first (or the last) would let a proxy and the app disagree.
        return _challenge(400, "send one Authorization header", realm, "invalid_request")
    if not authorization or not authorization[0]:
        return _challenge(401, "a bearer token is required", realm)
    scheme, _, credentials = authorization[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        # Credentials of another scheme are no bearer credentials at all: RFC 6750
        # section 3.1 says to send the bare challenge, with no error code.
        return _challenge(401, "a bearer token is required", realm)
    token = credentials.strip()
    if not _B64TOKEN.fullmatch(token):
        return _challenge(400, "the header is not 'Bearer <token>'", realm, "invalid_request")
    try:
        return await verifier.verify(token, required_scopes=scopes, required_groups=groups)
    except InsufficientScopeException as err:
        return _challenge(403, err.message, realm, "insufficient_scope", err.required_scopes)
    except InvalidTokenException as err:
        return _challenge(401, err.message, realm, "invalid_token")
    except AuthError as err:  # the key set could not be fetched: not the caller's fault
        _log.warning("could not verify a bearer token: %s", err)
        return Refusal(503, "the token cannot be verified at the moment", "temporarily_unavailable")


def _challenge(
    status: int,
    description: str,
    realm: str | None,
    error: str | None = None,
    scopes: Collection[str] = (),
) -> Refusal:
    params = [] if realm is None else [f'realm="{_quotable(realm)}"']
    if error is not None:
        params += [f'error="{error}"', f'error_description="{_quotable(description)}"']
    if scopes:
        params.append(f'scope="{_quotable(" ".join(scopes))}"')
    challenge = "Bearer " + ", ".join(params) if params else "Bearer"
    # DEBUG, not INFO: a flood of bad tokens must not flood the log too.
    _log.debug("refused a request (%d): %s", status, description)
    return Refusal(status, description, error, challenge)


def _quotable(text: str) -> str:
    return _UNQUOTABLE.sub("?", text)
