"""The app client's secret: SECRET_HASH and ClientSecret checks, as Cognito makes them."""

from __future__ import annotations

import hmac
from typing import Any

from ..testing._server_checks import Refused, expected_secret_hash

__all__ = ["check_client_secret", "check_secret_hash", "moto_secret_hash"]


def check_secret_hash(client: Any, username: str, given: str | None) -> None:
    """Refuse a missing or wrong SECRET_HASH when the client has a secret."""
    if not client.generate_secret:
        return
    if given is None:
        raise Refused("NotAuthorizedException", "SECRET_HASH was not received")
    if not hmac.compare_digest(expected_secret_hash(client.secret, client.id, username), given):
        raise Refused("NotAuthorizedException", "Unable to verify secret hash for client")


def check_client_secret(client: Any, given: str | None) -> None:
    """Refuse a wrong ClientSecret (RevokeToken, GetTokensFromRefreshToken)."""
    if client.generate_secret and not hmac.compare_digest(str(given or ""), client.secret):
        raise Refused("NotAuthorizedException", "Client secret mismatch.")


def moto_secret_hash(client: Any, moto_username: str) -> dict[str, str]:
    """moto checks SECRET_HASH on refresh against the username it stored."""
    if not client.generate_secret:
        return {}
    return {"SECRET_HASH": expected_secret_hash(client.secret, client.id, moto_username)}
