"""The User Pool's device calls: ConfirmDevice, UpdateDeviceStatus, ForgetDevice, ListDevices.

Each is authorised by the signed-in user's access token. ListDevices answers
are untrusted: a page is read into :class:`AuthDevice` values, skipping
nothing silently (a malformed entry is an :class:`InvalidResponseException`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from .._config import AuthConfig
from .._errors import InvalidResponseException
from .._models import AuthDevice
from ._transport import CognitoTransport, Service
from .srp import DeviceSecret

__all__ = ["DeviceCalls", "DevicePage"]

#: ListDevices' largest page.
PAGE_SIZE = 60


@attrs.frozen(kw_only=True)
class DevicePage:
    """One ListDevices answer: its devices, and the token of the next page (None: the last)."""

    devices: tuple[AuthDevice, ...]
    next_token: str | None


class DeviceCalls:
    """The device API calls, for the user whose access token each call carries."""

    def __init__(self, transport: CognitoTransport, config: AuthConfig) -> None:
        self._transport = transport
        self._config = config

    def __repr__(self) -> str:
        return f"DeviceCalls(client_id={self._config.user_pool_client_id!r})"

    async def confirm_device(
        self, access_token: str, device_key: str, secret: DeviceSecret, device_name: str
    ) -> bool:
        """Register the device's verifier with Cognito; returns UserConfirmationNecessary
        (the pool remembers devices only when the user asks: ``remember_device``)."""
        body = await self._call(
            "ConfirmDevice",
            {
                "AccessToken": access_token,
                "DeviceKey": device_key,
                "DeviceSecretVerifierConfig": {
                    "PasswordVerifier": secret.password_verifier,
                    "Salt": secret.salt,
                },
                "DeviceName": device_name,
            },
            secrets=[access_token, secret.password_verifier, secret.salt],
        )
        return body.get("UserConfirmationNecessary") is True

    async def update_device_status(
        self, access_token: str, device_key: str, *, remembered: bool
    ) -> None:
        """Remember the device (MFA skipped on it), or stop remembering it."""
        await self._call(
            "UpdateDeviceStatus",
            {
                "AccessToken": access_token,
                "DeviceKey": device_key,
                "DeviceRememberedStatus": "remembered" if remembered else "not_remembered",
            },
            secrets=[access_token],
        )

    async def forget_device(self, access_token: str, device_key: str) -> None:
        """Make Cognito forget the device; the refresh tokens issued to it stop working."""
        await self._call(
            "ForgetDevice",
            {"AccessToken": access_token, "DeviceKey": device_key},
            secrets=[access_token],
        )

    async def list_devices(self, access_token: str, page_token: str | None) -> DevicePage:
        """One page of the user's devices."""
        payload: dict[str, Any] = {"AccessToken": access_token, "Limit": PAGE_SIZE}
        if page_token is not None:
            payload["PaginationToken"] = page_token
        body = await self._call("ListDevices", payload, secrets=[access_token])
        entries = body.get("Devices") or []
        if not isinstance(entries, list):
            raise InvalidResponseException("ListDevices' Devices is not a list")
        next_token = body.get("PaginationToken")
        if next_token is not None and (not isinstance(next_token, str) or not next_token):
            raise InvalidResponseException("ListDevices' PaginationToken is not a string")
        return DevicePage(devices=tuple(_device(entry) for entry in entries), next_token=next_token)

    async def _call(
        self, operation: str, payload: dict[str, Any], *, secrets: list[str]
    ) -> Mapping[str, Any]:
        return await self._transport.call(Service.USER_POOL, operation, payload, secrets=secrets)


def _device(entry: object) -> AuthDevice:
    """One DeviceType of a ListDevices answer."""
    if not isinstance(entry, Mapping):
        raise InvalidResponseException("a ListDevices entry is not an object")
    key = entry.get("DeviceKey")
    if not isinstance(key, str) or not key:
        raise InvalidResponseException("a ListDevices entry has no DeviceKey")
    attributes = _attributes(entry.get("DeviceAttributes") or [])
    return AuthDevice(
        id=key,
        name=attributes.get("device_name"),
        attributes=attributes,
        create_date=_date(entry.get("DeviceCreateDate")),
        last_modified_date=_date(entry.get("DeviceLastModifiedDate")),
        last_authenticated_date=_date(entry.get("DeviceLastAuthenticatedDate")),
    )


def _attributes(raw: object) -> dict[str, str]:
    if not isinstance(raw, list):
        raise InvalidResponseException("DeviceAttributes is not a list")
    attributes: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, Mapping):
            raise InvalidResponseException("a device attribute is not an object")
        name, value = item.get("Name"), item.get("Value")
        if isinstance(name, str) and isinstance(value, str):
            attributes[name] = value
    return attributes


def _date(raw: object) -> datetime | None:
    """Cognito's epoch seconds; None when absent, refused when absurd."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise InvalidResponseException("a device date is not a number")
    try:
        return datetime.fromtimestamp(raw, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise InvalidResponseException("a device date is out of range") from None
