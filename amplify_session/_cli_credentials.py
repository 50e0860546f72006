"""The command line's AWS credentials, kept between runs for ``credential_process``.

The AWS CLI and SDKs run a ``credential_process`` in every new process, so
without a cache each ``aws`` command would pay a round trip to Cognito. The
credentials are kept in a :class:`FileStorage` beside the session file (mode
0600, replaced atomically, never printed but by the ``credentials`` command),
tied to what they were issued for: the pools, the user (username and
``sub``) and the identity id. They are served again only while that user is
still the one signed in in the session file and they have more than a margin
left; ``sign-in`` and ``sign-out`` remove them.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from ._config import AuthConfig
from ._errors import AuthError
from ._models import AWSCredentials
from ._token_store import TokenStore
from .storage import FileStorage

__all__ = ["CredentialsCache", "cache_file_for"]

_log = logging.getLogger("amplify_session.cli")
_KEY = "credentials"
_FORMAT = 1
#: AWS SDKs refresh process credentials 15 minutes before they expire
#: (botocore's advisory refresh): credentials handed out with less left would
#: make a long-running SDK client run the process again on every call.
_SDK_REFRESH_WINDOW = 15 * 60.0


def cache_file_for(session_file: Path) -> Path:
    """Where the credentials of ``session_file``'s session are kept."""
    return session_file.with_name(f"{session_file.stem}.credentials{session_file.suffix}")


@attrs.frozen(kw_only=True)
class _Owner:
    """Whom credentials were issued for; they are served only to the same owner."""

    user_pool_id: str
    client_id: str
    identity_pool_id: str
    identity_pool_url: str
    username: str
    sub: str
    identity_id: str


class CredentialsCache:
    """The last credentials the CLI printed, for as long as they may be printed again.

    Args:
        session_file: The CLI's session file (a FileStorage).
        config: The configuration the CLI runs with.
        clock: The wall clock (a seam for tests).
    """

    def __init__(
        self,
        session_file: Path,
        config: AuthConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = FileStorage(session_file)
        self._cache_file = cache_file_for(session_file)
        self._cache = FileStorage(self._cache_file)
        self._config = config
        self._clock = clock

    def __repr__(self) -> str:
        return f"CredentialsCache({self._cache!r})"

    async def get(self) -> AWSCredentials | None:
        """The kept credentials, if the session's user is their owner and enough time is left.

        Any failure to read counts as nothing kept: the caller asks Cognito.
        """
        try:
            current = await self._current()
            raw = await self._cache.get_item(_KEY)
        except AuthError as error:
            _log.debug("credentials cache not read: %s", error.name)
            return None
        if current is None or raw is None:
            return None
        owner, drift = current
        record = _parse(raw)
        if record is None or record[0] != owner:
            return None
        _, credentials, lifetime = record
        assert credentials.expiration is not None  # _parse only accepts credentials that expire
        left = credentials.expiration.timestamp() - (self._clock() + drift)
        return credentials if left > self._margin(lifetime) else None

    async def put(self, credentials: AWSCredentials, identity_id: str | None) -> None:
        """Keep ``credentials``, fetched for the session now stored, if they can be kept.

        A failure to write is logged and otherwise ignored: the next run asks Cognito.
        """
        if credentials.expiration is None or identity_id is None:
            return
        try:
            current = await self._current()
            if current is None or current[0].identity_id != identity_id:
                return
            owner, drift = current
            lifetime = credentials.expiration.timestamp() - (self._clock() + drift)
            await self._cache.set_item(_KEY, _dump(owner, credentials, lifetime))
        except AuthError as error:
            _log.debug("credentials cache not written: %s", error.name)

    async def clear(self) -> None:
        """Forget the kept credentials; never fails a sign-in or sign-out.

        A cache file that cannot be read (damaged, or with loose permissions)
        is deleted whole: it holds nothing but these credentials.
        """
        try:
            await self._cache.remove_item(_KEY)
        except AuthError as error:
            _log.debug("credentials cache unreadable (%s): deleting it", error.name)
            try:
                self._cache_file.unlink(missing_ok=True)
            except OSError as unlink_error:
                _log.debug("credentials cache not deleted: %s", type(unlink_error).__name__)

    def _margin(self, lifetime: float) -> float:
        """Time that must be left: the SDKs' refresh window (or ours, if longer), at most half
        the lifetime (short-lived credentials, as emulators issue), at least the tolerance."""
        margin = min(max(self._config.refresh_window, _SDK_REFRESH_WINDOW), lifetime / 2)
        return max(margin, self._config.expiry_tolerance)

    async def _current(self) -> tuple[_Owner, float] | None:
        """The owner credentials fetched now would have, and the session's clock drift."""
        config = self._config
        if config.identity_pool_id is None:
            return None
        store = TokenStore(self._sessions, config.user_pool_client_id, config.identity_pool_id)
        tokens = await store.load()
        identity = await store.load_identity()
        if tokens is None or tokens.user_sub is None or identity is None:
            return None
        if identity.kind != "primary":
            return None
        owner = _Owner(
            user_pool_id=config.user_pool_id,
            client_id=config.user_pool_client_id,
            identity_pool_id=config.identity_pool_id,
            identity_pool_url=config.identity_pool_url,
            username=tokens.username,
            sub=tokens.user_sub,
            identity_id=identity.identity_id,
        )
        return owner, tokens.clock_drift


def _dump(owner: _Owner, credentials: AWSCredentials, lifetime: float) -> str:
    assert credentials.expiration is not None
    return json.dumps(
        {
            "version": _FORMAT,
            "owner": attrs.asdict(owner),
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key,
            "session_token": credentials.session_token,
            "expiration": credentials.expiration.timestamp(),
            "lifetime": lifetime,
        }
    )


def _parse(raw: str) -> tuple[_Owner, AWSCredentials, float] | None:
    """The stored record, or None when it is not one (the file is not trusted)."""
    try:
        value: Any = json.loads(raw)
        if not isinstance(value, dict) or value.get("version") != _FORMAT:
            return None
        owner = value["owner"]
        if not isinstance(owner, dict) or not all(_is_text(v) for v in owner.values()):
            return None
        key, secret = value["access_key_id"], value["secret_access_key"]
        token = value["session_token"]
        expiration, lifetime = value["expiration"], value["lifetime"]
        if not (_is_text(key) and _is_text(secret) and (token is None or _is_text(token))):
            return None
        if not (_is_time(expiration) and _is_time(lifetime)):
            return None
        credentials = AWSCredentials(
            access_key_id=key,
            secret_access_key=secret,
            session_token=token,
            expiration=datetime.fromtimestamp(expiration, timezone.utc),
        )
        return _Owner(**owner), credentials, float(lifetime)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _is_time(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
