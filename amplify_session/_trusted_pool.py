"""TrustedPool: one user pool a TokenVerifier accepts tokens from, and what it asks of them.

The rules that need no key: which clients and token kinds a pool's tokens may
be for, and what a caller must hold (groups, scopes, a claims check). The
signature and the issuer are the verifier's business (``_verifier.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal

import attrs

from ._errors import (
    InsufficientScopeException,
    InvalidParameterException,
    InvalidTokenException,
)
from ._models import JWT

__all__ = ["ClaimsCheck", "TrustedPool", "authorize", "check_audience"]

#: A custom claims check: refuses the token by raising or returning False.
ClaimsCheck = Callable[[JWT], object]

_USES = ("access", "id", None)


def _client_ids(value: str | Collection[str]) -> tuple[str, ...]:
    ids = (value,) if isinstance(value, str) else tuple(value)
    if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise InvalidParameterException("client_id must be a client id or a list of them")
    return ids


def _names(value: Collection[str] | None) -> frozenset[str]:
    if isinstance(value, str):  # "admins" would become {"a", "d", ...}
        raise InvalidParameterException("required groups and scopes are lists of names")
    return frozenset(value or ())


def _check_use(_: object, __: object, value: object) -> None:
    if value not in _USES:
        raise InvalidParameterException("token_use must be 'access', 'id' or None")


def _check_callable(_: object, __: object, value: ClaimsCheck | None) -> None:
    if value is not None and not callable(value):
        raise InvalidParameterException("claims_check must be a callable taking the JWT")


@attrs.frozen(kw_only=True)
class TrustedPool:
    """A user pool whose tokens a :class:`TokenVerifier` accepts, and on what terms.

    Attributes:
        user_pool_id: The pool (its issuer picks this rule for a token).
        client_id: The app client, or the several app clients, the tokens
            may be for (``client_id`` of access tokens, ``aud`` of id tokens).
        token_use: ``"access"``, ``"id"``, or None for either.
        jwks_url: Where the pool's keys are, when not at its issuer or endpoint.
        user_pool_endpoint: An emulator's User Pool endpoint (see
            :class:`TokenVerifier`); None: what
            ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` says, if set.
        required_groups: Groups (``cognito:groups``) the user must all be in.
        required_scopes: Scopes (access tokens' ``scope``) that must all be granted.
        claims_check: Called with the verified :class:`JWT` at every
            verification; raising or returning ``False`` refuses the token
            (an :class:`InvalidTokenException` raised there is kept as is, so
            raising :class:`InsufficientScopeException` means 403).
    """

    user_pool_id: str
    client_id: tuple[str, ...] = attrs.field(converter=_client_ids)
    token_use: Literal["access", "id"] | None = attrs.field(
        default="access",
        validator=_check_use,
    )
    jwks_url: str | None = None
    user_pool_endpoint: str | None = None
    required_groups: frozenset[str] = attrs.field(default=None, converter=_names)
    required_scopes: frozenset[str] = attrs.field(default=None, converter=_names)
    claims_check: ClaimsCheck | None = attrs.field(default=None, validator=_check_callable)


def check_audience(pool: TrustedPool, claims: Mapping[str, Any]) -> None:
    """The token is of an accepted kind and for one of the pool's clients.

    Raises:
        InvalidTokenException: It is not.
    """
    use = claims.get("token_use")
    if use not in ("access", "id") or (pool.token_use is not None and use != pool.token_use):
        raise InvalidTokenException(f"the token is not an {pool.token_use or 'access or id'} token")
    audience = claims.get("client_id") if use == "access" else claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(client in audiences for client in pool.client_id):
        raise InvalidTokenException("the token is for another app client")


def authorize(pool: TrustedPool, jwt: JWT, scopes: frozenset[str], groups: frozenset[str]) -> None:
    """The genuine ``jwt`` grants the pool's and the caller's groups and scopes, and
    passes the pool's claims check.

    Raises:
        InsufficientScopeException: A group or scope is missing.
        InvalidTokenException: The claims check refused the token.
    """
    claims = jwt.payload
    needed_groups = pool.required_groups | groups
    if needed_groups:
        held = claims.get("cognito:groups")
        if needed_groups - set(held if isinstance(held, list) else ()):
            raise InsufficientScopeException("the user is not in the required groups")
    needed_scopes = pool.required_scopes | scopes
    if needed_scopes:
        granted = claims.get("scope")
        if needed_scopes - set(granted.split() if isinstance(granted, str) else ()):
            raise InsufficientScopeException(
                "the token lacks a required scope", required_scopes=needed_scopes
            )
    if pool.claims_check is not None:
        _run_check(pool.claims_check, jwt)


def _run_check(check: ClaimsCheck, jwt: JWT) -> None:
    try:
        accepted = check(jwt)
    except InvalidTokenException:
        raise
    except Exception as exc:  # noqa: BLE001 (the user's code: any failure refuses)
        # The type and message of the user's exception, not its traceback: the
        # message is theirs to keep free of the token.
        reason = f"{type(exc).__name__}: {exc}"[:200]
        raise InvalidTokenException(
            f"the claims check refused the token ({reason})", underlying_error=exc
        ) from None
    if accepted is False:
        raise InvalidTokenException("the claims check refused the token")
