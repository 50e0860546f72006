"""Identity Pool calls: GetId and GetCredentialsForIdentity."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .._config import AuthConfig
from .._errors import InvalidResponseException
from .._models import AWSCredentials
from ._transport import CognitoTransport, Service

__all__ = ["IdentityPoolClient", "parse_credentials"]


def parse_credentials(body: Mapping[str, Any]) -> AWSCredentials:
    """Read a GetCredentialsForIdentity answer.

    Raises:
        InvalidResponseException: A field is missing or of the wrong type.
    """
    credentials = body.get("Credentials")
    if not isinstance(credentials, Mapping):
        raise InvalidResponseException("the answer has no Credentials object")
    values = {}
    for key in ("AccessKeyId", "SecretKey", "SessionToken"):
        value = credentials.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidResponseException(f"Credentials has no {key}")
        values[key] = value
    return AWSCredentials(
        access_key_id=values["AccessKeyId"],
        secret_access_key=values["SecretKey"],
        session_token=values["SessionToken"],
        expiration=_parse_expiration(credentials.get("Expiration")),
    )


def _parse_expiration(value: object) -> datetime:
    # JSON 1.1 sends timestamps as epoch seconds; accept ISO 8601 too.
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise InvalidResponseException("Credentials has no valid Expiration")


class IdentityPoolClient:
    """The Identity Pool API calls the manager needs."""

    def __init__(self, transport: CognitoTransport, config: AuthConfig) -> None:
        self._transport = transport
        self._config = config

    def __repr__(self) -> str:
        return f"IdentityPoolClient(identity_pool_id={self._config.identity_pool_id!r})"

    async def get_id(self, logins: Mapping[str, str]) -> str:
        """Return the identity id for ``logins`` (a guest's when it is empty)."""
        payload: dict[str, Any] = {"IdentityPoolId": self._config.identity_pool_id}
        if logins:
            payload["Logins"] = dict(logins)
        body = await self._transport.call(
            Service.IDENTITY_POOL, "GetId", payload, secrets=list(logins.values())
        )
        identity_id = body.get("IdentityId")
        if not isinstance(identity_id, str) or not identity_id:
            raise InvalidResponseException("GetId answered no IdentityId")
        return identity_id

    async def get_credentials(
        self, identity_id: str, logins: Mapping[str, str]
    ) -> tuple[AWSCredentials, float | None]:
        """Return AWS credentials for ``identity_id``, and the server's clock when it answered."""
        payload: dict[str, Any] = {"IdentityId": identity_id}
        if logins:
            payload["Logins"] = dict(logins)
        body, server_time = await self._transport.call_with_date(
            Service.IDENTITY_POOL,
            "GetCredentialsForIdentity",
            payload,
            secrets=list(logins.values()),
        )
        return parse_credentials(body), server_time
