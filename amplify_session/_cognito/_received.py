"""Cognito's tokens become a :class:`TokenSet`: the one place a wire answer turns
into the domain value, so neither storage nor the engine reads ``AuthenticationResult``."""

from __future__ import annotations

from .._errors import InvalidResponseException, InvalidTokenException
from .._jwt import decode_jwt
from .._models import JWT, SignInDetails
from .._timing import clock_drift
from .._tokens import DeviceRecord, TokenSet, checked_token, issued_at
from ._user_pool import AuthenticationResult

__all__ = ["token_set_from"]


def token_set_from(
    answer: AuthenticationResult,
    *,
    now: float,
    username: str | None,
    refresh_token: str | None,
    sign_in_details: SignInDetails | None,
    device: DeviceRecord | None,
) -> TokenSet:
    """The TokenSet for tokens Cognito just sent; clock drift is measured here.

    Args:
        answer: Cognito's tokens.
        now: The local time they arrived.
        username: Cognito's username; None takes the access token's claim.
        refresh_token: The refresh token to keep (a new one, or the current one).
        sign_in_details: How the user signed in.
        device: The remembered device, if any.

    Raises:
        InvalidResponseException: A token is malformed or has no ``exp``.
    """
    access = _received_jwt(answer.access_token, "access")
    id_token = _received_jwt(answer.id_token, "id") if answer.id_token else None
    issued = issued_at(access)
    drift = clock_drift(issued, now) if issued is not None else 0.0
    claimed = access.payload.get("username")
    return TokenSet(
        username=username or (claimed if isinstance(claimed, str) else "") or "user",
        access_token=access,
        id_token=id_token,
        refresh_token=refresh_token,
        clock_drift=drift,
        sign_in_details=sign_in_details,
        device=device,
    )


def _received_jwt(raw: str, what: str) -> JWT:
    try:
        return checked_token(decode_jwt(raw))
    except InvalidTokenException as err:
        raise InvalidResponseException(
            f"Cognito sent a malformed {what} token: {err.message}"
        ) from err
