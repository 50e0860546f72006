"""The session as stored: Amplify's key layout over any KeyValueStorage.

::

    CognitoIdentityServiceProvider.<clientId>.LastAuthUser
    CognitoIdentityServiceProvider.<clientId>.<username>.{accessToken,idToken,refreshToken,
                                                        clockDrift,signInDetails}
    CognitoIdentityServiceProvider.<clientId>.<username>.{deviceKey,deviceGroupKey,
                                                        randomPasswordKey}  (the device)
    CognitoIdentityServiceProvider.<clientId>.<username>.signedOut   (ours: see below)
    com.amplify.Cognito.<identityPoolId>.identityId     {"id": ..., "type": "guest"|"primary"}

This module knows the keys and the stored formats only; the values
(:class:`TokenSet`, :class:`DeviceRecord`, :class:`StoredIdentity`) are in
``_tokens.py``. The device has its own keys and methods because it has its
own lifecycle: it outlives a sign-out (``clear`` leaves it, as Amplify's
clearing of tokens does), a sign-in says which device its tokens belong to,
and ``clear_device`` removes it. Its password is stored with the same care
as the tokens: in the same storage, never in a log.

Several users may share one storage (processes signed in as different
users): each user's keys belong to that user, and ``LastAuthUser`` names the
most recent sign-in, which a process that starts signed out restores.

``signedOut`` is written by a sign-out and removed by the user's next
sign-in. It tells a process whose refresh began before the sign-out (here or
in another process) that the session ended, where an empty storage alone
could also mean a storage that lost its data (a Redis restarted without
persistence), which a running process writes back.

What is read here is untrusted: anything that does not parse, or holds
absurd values, is an :class:`InvalidTokenException`; any exception a
storage raises is a :class:`StorageException`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager

from ._errors import AuthError, InvalidTokenException, StorageException
from ._jwt import decode_jwt
from ._models import JWT, SignInDetails
from ._tokens import LATEST_TIME, DeviceRecord, StoredIdentity, TokenSet, checked_token
from .storage import CoordinatedStorage, KeyValueStorage, LockingStorage, write_items

__all__ = ["TokenStore"]

_log = logging.getLogger("amplify_session")

_TOKEN_FIELDS = ("accessToken", "idToken", "refreshToken", "clockDrift", "signInDetails")
_DEVICE_FIELDS = ("deviceKey", "deviceGroupKey", "randomPasswordKey")
_SIGNED_OUT = "signedOut"


class TokenStore:
    """Reads and writes sessions in Amplify's layout; any storage failure is a StorageException."""

    def __init__(
        self, storage: KeyValueStorage, client_id: str, identity_pool_id: str | None
    ) -> None:
        self._storage = storage
        #: The storage, when processes share it and it can lock a refresh.
        self.locking = storage if isinstance(storage, LockingStorage) else None
        #: The storage, when it also tells processes about changes (pub/sub).
        self.coordinated = storage if isinstance(storage, CoordinatedStorage) else None
        self._prefix = f"CognitoIdentityServiceProvider.{client_id}"
        self._identity_key = (
            f"com.amplify.Cognito.{identity_pool_id}.identityId" if identity_pool_id else None
        )

    def __repr__(self) -> str:
        return f"TokenStore(prefix={self._prefix!r})"

    @property
    def _last_user_key(self) -> str:
        return f"{self._prefix}.LastAuthUser"

    def _user_key(self, username: str, field: str) -> str:
        return f"{self._prefix}.{username}.{field}"

    def _user_changes(
        self, username: str, values: Mapping[str, str | None]
    ) -> dict[str, str | None]:
        return {self._user_key(username, field): value for field, value in values.items()}

    async def _get(self, key: str) -> str | None:
        async with _storage_errors("read"):
            value = await self._storage.get_item(key)
        if value is not None and not isinstance(value, str):
            raise StorageException(
                f"the storage returned {type(value).__name__} for a key, not str", retryable=False
            )
        return value

    async def _read(self, username: str, fields: Iterable[str]) -> dict[str, str | None]:
        return {field: await self._get(self._user_key(username, field)) for field in fields}

    async def _write(self, changes: Mapping[str, str | None]) -> None:
        async with _storage_errors("write"):
            await write_items(self._storage, changes)

    async def last_user(self) -> str | None:
        """The username of the most recent sign-in, if any."""
        return await self._get(self._last_user_key) or None

    async def load(self, username: str | None = None) -> TokenSet | None:
        """Return ``username``'s stored session (default: LastAuthUser's), or None
        (also when they signed out since it was written).

        Raises:
            InvalidTokenException: The stored session does not parse.
            StorageException: The storage failed.
        """
        if username is None:
            username = await self.last_user()
            if username is None:
                return None
        raw = await self._read(username, (*_TOKEN_FIELDS, *_DEVICE_FIELDS, _SIGNED_OUT))
        if not raw["accessToken"] or raw[_SIGNED_OUT]:
            return None
        return TokenSet(
            username=username,
            access_token=_stored_jwt(raw["accessToken"]),
            id_token=_stored_jwt(raw["idToken"]) if raw["idToken"] else None,
            refresh_token=raw["refreshToken"] or None,
            clock_drift=_parse_drift(raw["clockDrift"]),
            sign_in_details=_parse_sign_in_details(raw["signInDetails"]),
            device=_device_from(raw),
        )

    async def signed_out(self, username: str) -> bool:
        """Whether ``username`` signed out since their session was stored."""
        return bool(await self._get(self._user_key(username, _SIGNED_OUT)))

    async def save(self, tokens: TokenSet, *, signing_in: bool, last_user: bool = False) -> None:
        """Store ``tokens`` as one unit (with their device, for a sign-in); LastAuthUser,
        when asked for, last.

        Only a sign-in says which device is the user's: the one its tokens
        were issued to, or none (a device Cognito no longer knows, or a new
        one that could not be confirmed, must not be sent again). A refresh
        leaves the device keys alone (another process may have forgotten the
        device meanwhile), unless it restores a storage that lost everything
        (``last_user``), where it writes back the device it holds. Only a
        sign-in removes the user's sign-out marker: tokens refreshed
        before a sign-out stay void even if their write lands after it. Only
        a sign-in (or a restore of a lost storage) names the user LastAuthUser:
        a routine refresh must not take it from a user who signed in since.
        """
        values: dict[str, str | None] = {
            "accessToken": tokens.access_token.to_string(),
            "idToken": tokens.id_token.to_string() if tokens.id_token else None,
            "refreshToken": tokens.refresh_token,
            "clockDrift": str(round(tokens.clock_drift * 1000)),
            "signInDetails": _dump_sign_in_details(tokens.sign_in_details),
        }
        changes = self._user_changes(tokens.username, values)
        if signing_in:
            changes.update(self._device_changes(tokens.username, tokens.device))
            changes[self._user_key(tokens.username, _SIGNED_OUT)] = None
        elif last_user and tokens.device is not None:
            # Restoring a storage that lost its data: without the device, another
            # process would load tokens whose refreshes Cognito refuses.
            changes.update(self._device_changes(tokens.username, tokens.device))
        if signing_in or last_user:
            changes[self._last_user_key] = tokens.username
        await self._write(changes)

    async def clear(self, username: str | None) -> None:
        """Sign ``username`` (default: LastAuthUser) out in storage: their tokens go, a marker
        stays, their device stays; LastAuthUser goes first, if it names them."""
        last_user = await self.last_user()
        username = username or last_user
        if username is None:
            return
        changes: dict[str, str | None] = {}
        if last_user == username:
            changes[self._last_user_key] = None
        changes.update(self._user_changes(username, dict.fromkeys(_TOKEN_FIELDS)))
        changes[self._user_key(username, _SIGNED_OUT)] = "true"
        await self._write(changes)

    async def load_device(self, username: str) -> DeviceRecord | None:
        """``username``'s confirmed device, if any; a sign-out marker does not hide it
        (a device outlives the session it was confirmed in).

        Raises:
            StorageException: The storage failed.
        """
        return _device_from(await self._read(username, _DEVICE_FIELDS))

    async def save_device(self, username: str, device: DeviceRecord) -> None:
        """Remember ``device`` for ``username``, leaving their tokens as they are."""
        await self._write(self._device_changes(username, device))

    async def clear_device(self, username: str) -> None:
        """Forget ``username``'s device, leaving their tokens as they are."""
        await self._write(self._device_changes(username, None))

    def _device_changes(self, username: str, device: DeviceRecord | None) -> dict[str, str | None]:
        """The writes that store ``device`` (None: remove it), in Amplify's device keys."""
        values = {
            "deviceKey": device.device_key if device else None,
            "deviceGroupKey": device.device_group_key if device else None,
            "randomPasswordKey": device.random_password if device else None,
        }
        return self._user_changes(username, values)

    async def load_identity(self) -> StoredIdentity | None:
        """Return the stored identity id, or None (also when it does not parse)."""
        if self._identity_key is None:
            return None
        raw = await self._get(self._identity_key)
        identity = _parse_identity(raw) if raw else None
        if raw and identity is None:
            _log.warning("the stored identity id is unreadable; asking Cognito again")
        return identity

    async def save_identity(self, identity: StoredIdentity) -> None:
        """Store the identity id."""
        if self._identity_key is not None:
            value = json.dumps({"id": identity.identity_id, "type": identity.kind})
            await self._write({self._identity_key: value})

    async def clear_identity(self) -> None:
        """Forget the identity id."""
        if self._identity_key is not None:
            await self._write({self._identity_key: None})


def _parse_identity(raw: str) -> StoredIdentity | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    identity_id, kind = value.get("id"), value.get("type")
    if not isinstance(identity_id, str) or kind not in ("guest", "primary"):
        return None
    return StoredIdentity(identity_id=identity_id, kind=kind)


@asynccontextmanager
async def _storage_errors(action: str) -> AsyncIterator[None]:
    """Whatever a storage raises leaves as a StorageException (user backends raise anything)."""
    try:
        yield
    except AuthError:
        raise
    except Exception as exc:
        raise StorageException(
            f"the session storage failed to {action}: {type(exc).__name__}",
            retryable=True,
            underlying_error=exc,
        ) from exc


def _stored_jwt(raw: str) -> JWT:
    return checked_token(decode_jwt(raw))


def _device_from(raw: Mapping[str, str | None]) -> DeviceRecord | None:
    return DeviceRecord.of(raw["deviceKey"], raw["deviceGroupKey"], raw["randomPasswordKey"])


def _parse_drift(raw: str | None) -> float:
    if not raw:
        return 0.0
    try:
        millis = int(raw)
    except ValueError:
        raise InvalidTokenException("stored clockDrift is not an integer") from None
    if abs(millis) > LATEST_TIME * 1000:
        raise InvalidTokenException("stored clockDrift is absurd")
    return millis / 1000


def _parse_sign_in_details(raw: str | None) -> SignInDetails | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidTokenException("stored signInDetails is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidTokenException("stored signInDetails is not a JSON object")
    return SignInDetails(
        login_id=str(value.get("loginId", "")),
        auth_flow_type=str(value.get("authFlowType", "")),
    )


def _dump_sign_in_details(details: SignInDetails | None) -> str | None:
    if details is None:
        return None
    return json.dumps({"loginId": details.login_id, "authFlowType": details.auth_flow_type})
