"""aiobotocore clients that sign with the manager's current Identity Pool credentials.

The credentials enter through aiobotocore's public credential-provider chain:
a provider inserted first in the session's ``credential_provider`` resolver.
The credentials it hands over ask the manager for the current credentials
each time a request is signed, which costs a cached fetch (well under a
microsecond) while they are fresh. So the manager's refresh policy alone
decides when Cognito is asked: botocore's 15-minute advisory refresh window
never turns hour-long (or 90-second) credentials into a refresh per request,
and a long-lived client keeps working across refreshes.

::

    async with create_client(manager, "s3") as s3:
        await s3.list_buckets()

For aioboto3: ``aioboto3.Session(botocore_session=get_session(manager))``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiobotocore.credentials import AioCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider, ReadOnlyCredentials

from .._manager import SessionManager
from .._models import credentials_of

__all__ = [
    "SessionCredentialProvider",
    "SessionCredentials",
    "attach",
    "create_client",
    "get_session",
]

METHOD = "amplify-session"


class SessionCredentials(AioCredentials):  # type: ignore[misc]
    """Credentials that are always the manager's current ones.

    aiobotocore signs each request with ``await get_frozen_credentials()``;
    that is answered from the manager, never from a copy. The plain
    attributes (``access_key``...) hold the credentials as they were when
    last frozen, for code that reads them synchronously.
    """

    def __init__(self, manager: SessionManager) -> None:
        super().__init__(access_key="", secret_key="", token=None, method=METHOD)
        self._manager = manager

    def __repr__(self) -> str:
        return f"SessionCredentials(manager={self._manager!r})"

    async def get_frozen_credentials(self) -> ReadOnlyCredentials:
        """The manager's current credentials (refreshed first if they had expired).

        Raises:
            NoCredentialsException: The session has no Identity Pool credentials.
        """
        credentials = credentials_of(await self._manager.fetch_auth_session())
        self.access_key = credentials.access_key_id
        self.secret_key = credentials.secret_access_key
        self.token = credentials.session_token
        return ReadOnlyCredentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        )


class SessionCredentialProvider(CredentialProvider):  # type: ignore[misc]
    """An aiobotocore credential provider backed by a :class:`SessionManager`.

    aiobotocore's resolver awaits ``load()`` of each provider in its chain.
    """

    METHOD = METHOD
    CANONICAL_NAME = "AmplifySession"

    def __init__(self, manager: SessionManager) -> None:
        super().__init__()
        self._manager = manager

    def __repr__(self) -> str:
        return f"SessionCredentialProvider(manager={self._manager!r})"

    async def load(self) -> SessionCredentials:
        """The credentials object clients of this session sign with."""
        return SessionCredentials(self._manager)


def attach(session: AioSession, manager: SessionManager) -> AioSession:
    """Make ``session`` use the manager's credentials, ahead of every other source."""
    resolver = session.get_component("credential_provider")
    resolver.insert_before(resolver.providers[0].METHOD, SessionCredentialProvider(manager))
    return session


def get_session(manager: SessionManager) -> AioSession:
    """A new AioSession whose clients sign with the manager's credentials."""
    return attach(AioSession(), manager)


@asynccontextmanager
async def create_client(
    manager: SessionManager, service_name: str, **client_kwargs: Any
) -> AsyncIterator[Any]:
    """An aiobotocore client for ``service_name`` signing with the manager's credentials.

    Args:
        manager: The session manager.
        service_name: e.g. ``"s3"``.
        **client_kwargs: Passed to ``AioSession.create_client``; ``region_name``
            defaults to the manager's region.
    """
    client_kwargs.setdefault("region_name", manager.config.region)
    async with get_session(manager).create_client(service_name, **client_kwargs) as client:
        yield client
