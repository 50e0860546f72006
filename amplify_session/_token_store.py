"""The session as stored: Amplify's key layout over any KeyValueStorage.

::

    CognitoIdentityServiceProvider.<clientId>.LastAuthUser
    CognitoIdentityServiceProvider.<clientId>.<username>.{accessToken,idToken,refreshToken,
                                                        clockDrift,deviceKey,signInDetails}
    CognitoIdentityServiceProvider.<clientId>.<username>.signedOut   (ours: see below)
    com.amplify.Cognito.<identityPoolId>.identityId     {"id": ..., "type": "guest"|"primary"}

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
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Literal

import attrs

from ._cognito import AuthenticationResult
from ._errors import AuthError, InvalidResponseException, InvalidTokenException, StorageException
from ._jwt import decode_jwt, numeric_claim
from ._models import JWT, AuthTokens, SignInDetails
from ._policy import clock_drift
from ._secret_repr import secret_repr
from .storage import CoordinatedStorage, KeyValueStorage, LockingStorage, write_items

__all__ = [
    "StoredIdentity",
    "issued_at",
    "token_set_from",
    "TokenSet",
    "TokenStore",
    "expiry_of",
]

_TOKEN_FIELDS = (
    "accessToken",
    "idToken",
    "refreshToken",
    "clockDrift",
    "deviceKey",
    "deviceGroupKey",
    "signInDetails",
)


#: Times beyond this (the year 5138) are absurd: no server issues them, and
#: arithmetic on them (milliseconds of drift) must stay finite.
_LATEST_TIME = 1e11
#: Cognito's tokens live at most a day; ten years is beyond any server's.
_LONGEST_LIFETIME = 10 * 365 * 86400


def expiry_of(token: JWT) -> float:
    """Return a token's ``exp`` claim (server time), or raise InvalidTokenException."""
    exp = _time_claim(token, "exp")
    if exp is None:
        raise InvalidTokenException("token has no numeric 'exp' claim")
    return exp


def issued_at(token: JWT) -> float | None:
    """Return a token's ``iat`` claim (server time), None when it has none."""
    return _time_claim(token, "iat")


def _time_claim(token: JWT, name: str) -> float | None:
    if name not in token.payload:
        return None
    value = numeric_claim(token.payload, name)
    if value is None or not 0 < value < _LATEST_TIME:
        raise InvalidTokenException(f"token claim {name!r} is not a plausible time")
    return value


@attrs.frozen(kw_only=True)
class TokenSet:
    """One user's tokens and what goes with them; stored and replaced as a unit."""

    username: str
    access_token: JWT
    id_token: JWT | None
    refresh_token: str | None = attrs.field(repr=secret_repr)
    clock_drift: float = 0.0
    sign_in_details: SignInDetails | None = None
    device_key: str | None = None
    device_group_key: str | None = None

    @property
    def server_expiry(self) -> float:
        """When the first of the access and id tokens expires, in server time."""
        expiries = [expiry_of(self.access_token)]
        if self.id_token is not None:
            expiries.append(expiry_of(self.id_token))
        return min(expiries)

    @property
    def user_sub(self) -> str | None:
        """The user's ``sub`` claim."""
        sub = self.access_token.payload.get("sub")
        return sub if isinstance(sub, str) else None

    def to_auth_tokens(self) -> AuthTokens:
        """The public view of these tokens."""
        return AuthTokens(
            access_token=self.access_token,
            id_token=self.id_token,
            refresh_token=self.refresh_token,
        )


@attrs.frozen(kw_only=True)
class StoredIdentity:
    """An Identity Pool identity id and whether it is a guest's or a user's."""

    identity_id: str
    kind: Literal["guest", "primary"]


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

    async def _get(self, key: str) -> str | None:
        async with _storage_errors("read"):
            value = await self._storage.get_item(key)
        if value is not None and not isinstance(value, str):
            raise StorageException(
                f"the storage returned {type(value).__name__} for a key, not str", retryable=False
            )
        return value

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
        fields = (*_TOKEN_FIELDS, _SIGNED_OUT)
        raw = {f: await self._get(self._user_key(username, f)) for f in fields}
        if not raw["accessToken"] or raw[_SIGNED_OUT]:
            return None
        return TokenSet(
            username=username,
            access_token=_stored_jwt(raw["accessToken"]),
            id_token=_stored_jwt(raw["idToken"]) if raw["idToken"] else None,
            refresh_token=raw["refreshToken"] or None,
            clock_drift=_parse_drift(raw["clockDrift"]),
            sign_in_details=_parse_sign_in_details(raw["signInDetails"]),
            device_key=raw["deviceKey"] or None,
            device_group_key=raw["deviceGroupKey"] or None,
        )

    async def signed_out(self, username: str) -> bool:
        """Whether ``username`` signed out since their session was stored."""
        return bool(await self._get(self._user_key(username, _SIGNED_OUT)))

    async def save(self, tokens: TokenSet, *, signing_in: bool, last_user: bool = False) -> None:
        """Store ``tokens`` as one unit; LastAuthUser, when asked for, is written last.

        Only a sign-in removes the user's sign-out marker: tokens refreshed
        before a sign-out stay void even if their write lands after it. Only
        a sign-in (or a restore of a lost storage) names the user LastAuthUser:
        a routine refresh must not take it from a user who signed in since.
        """
        values: dict[str, str | None] = {
            "accessToken": tokens.access_token.to_string(),
            "idToken": tokens.id_token.to_string() if tokens.id_token else None,
            "refreshToken": tokens.refresh_token,
            "clockDrift": str(round(tokens.clock_drift * 1000)),
            "deviceKey": tokens.device_key,
            "deviceGroupKey": tokens.device_group_key,
            "signInDetails": _dump_sign_in_details(tokens.sign_in_details),
        }
        changes = {self._user_key(tokens.username, f): v for f, v in values.items()}
        if signing_in:
            changes[self._user_key(tokens.username, _SIGNED_OUT)] = None
        if signing_in or last_user:
            changes[self._last_user_key] = tokens.username
        await self._write(changes)

    async def clear(self, username: str | None) -> None:
        """Sign ``username`` (default: LastAuthUser) out in storage: their keys go, a marker
        stays; LastAuthUser goes first, if it names them."""
        last_user = await self.last_user()
        username = username or last_user
        if username is None:
            return
        changes: dict[str, str | None] = {}
        if last_user == username:
            changes[self._last_user_key] = None
        changes.update({self._user_key(username, f): None for f in _TOKEN_FIELDS})
        changes[self._user_key(username, _SIGNED_OUT)] = "true"
        await self._write(changes)

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


_SIGNED_OUT = "signedOut"
_log = logging.getLogger("amplify_session")


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


def token_set_from(
    answer: AuthenticationResult,
    *,
    now: float,
    username: str | None,
    refresh_token: str | None,
    sign_in_details: SignInDetails | None,
    device: tuple[str | None, str | None],
) -> TokenSet:
    """The TokenSet for tokens Cognito just sent; clock drift is measured here.

    Args:
        answer: Cognito's tokens.
        now: The local time they arrived.
        username: Cognito's username; None takes the access token's claim.
        refresh_token: The refresh token to keep (a new one, or the current one).
        sign_in_details: How the user signed in.
        device: The remembered device's key and group key.

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
        device_key=device[0],
        device_group_key=device[1],
    )


def _received_jwt(raw: str, what: str) -> JWT:
    try:
        return _stored_jwt(raw)
    except InvalidTokenException as err:
        raise InvalidResponseException(
            f"Cognito sent a malformed {what} token: {err.message}"
        ) from err


def _stored_jwt(raw: str) -> JWT:
    token = decode_jwt(raw)
    expires, issued = expiry_of(token), issued_at(token)
    if issued is not None and expires - issued > _LONGEST_LIFETIME:
        raise InvalidTokenException("token lifetime (exp - iat) is not plausible")
    return token


def _parse_drift(raw: str | None) -> float:
    if not raw:
        return 0.0
    try:
        millis = int(raw)
    except ValueError:
        raise InvalidTokenException("stored clockDrift is not an integer") from None
    if abs(millis) > _LATEST_TIME * 1000:
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
