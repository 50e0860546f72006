"""The module-level API over one default SessionManager (Amplify's singleton).

The manager is bound to the running event loop. A host task owns it: when
the loop shuts down (the end of ``asyncio.run``) the task is cancelled and
closes the manager's connections, so successive ``asyncio.run()`` calls each
get a working manager over the same storage and leave nothing unclosed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import anyio

from ._client_credentials_config import ClientCredentialsConfig
from ._config import AuthConfig
from ._errors import InvalidConfigurationException
from ._manager import SessionManager
from ._models import AuthDevice, AuthSession, AuthUser, SignInResult, SignOutResult
from .storage import KeyValueStorage, MemoryStorage

__all__ = [
    "confirm_sign_in",
    "configure",
    "fetch_auth_session",
    "fetch_devices",
    "forget_device",
    "get_current_user",
    "get_manager",
    "remember_device",
    "sign_in",
    "sign_in_with_redirect",
    "sign_in_with_tokens",
    "sign_out",
]


class _Default:
    """The configured default and the manager bound to the current loop."""

    def __init__(self) -> None:
        self.config: AuthConfig | ClientCredentialsConfig | None = None
        self.storage: KeyValueStorage = MemoryStorage()
        self.manager: SessionManager | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.host: asyncio.Task[None] | None = None

    def release(self) -> None:
        """Let go of the current manager; its host task closes it."""
        if self.host is not None and not self.host.done():
            self.host.cancel()
        self.manager = self.loop = self.host = None


_default = _Default()


def configure(
    config: AuthConfig | ClientCredentialsConfig, *, storage: KeyValueStorage | None = None
) -> None:
    """Set the configuration (and storage) of the module-level API.

    Args:
        config: Where the pools are and the session policy.
        storage: Where the session is kept; a new MemoryStorage by default.
            It outlives event loops, so a session survives ``asyncio.run()``.
    """
    _default.release()
    _default.config = config
    _default.storage = storage if storage is not None else MemoryStorage()


def get_manager() -> SessionManager:
    """Return the default SessionManager for the running event loop.

    Raises:
        InvalidConfigurationException: ``configure()`` was not called.
        RuntimeError: Called outside a running event loop.
    """
    if _default.config is None:
        raise InvalidConfigurationException(
            "amplify_session is not configured", recovery_suggestion="Call configure() first."
        )
    loop = asyncio.get_running_loop()
    if _default.manager is None or _default.loop is not loop:
        _default.release()
        manager = SessionManager(_default.config, storage=_default.storage)
        _default.manager, _default.loop = manager, loop
        _default.host = loop.create_task(_host(manager), name="amplify_session-default-manager")
    return _default.manager


async def _host(manager: SessionManager) -> None:
    async with manager:
        await anyio.sleep_forever()


async def fetch_auth_session(*, force_refresh: bool = False) -> AuthSession:
    """:meth:`SessionManager.fetch_auth_session` on the default manager."""
    return await get_manager().fetch_auth_session(force_refresh=force_refresh)


async def sign_in(
    username: str,
    password: str | None = None,
    *,
    auth_flow: str = "USER_SRP_AUTH",
    preferred_challenge: str | None = None,
    client_metadata: Mapping[str, str] | None = None,
) -> SignInResult:
    """:meth:`SessionManager.sign_in` on the default manager."""
    return await get_manager().sign_in(
        username,
        password,
        auth_flow=auth_flow,
        preferred_challenge=preferred_challenge,
        client_metadata=client_metadata,
    )


async def confirm_sign_in(
    challenge_response: str,
    *,
    user_attributes: Mapping[str, str] | None = None,
    client_metadata: Mapping[str, str] | None = None,
    state: str | None = None,
) -> SignInResult:
    """:meth:`SessionManager.confirm_sign_in` on the default manager."""
    return await get_manager().confirm_sign_in(
        challenge_response,
        user_attributes=user_attributes,
        client_metadata=client_metadata,
        state=state,
    )


async def sign_in_with_redirect(
    *, provider: str | None = None, open_url: Callable[[str], object] | None = None
) -> SignInResult:
    """:meth:`SessionManager.sign_in_with_redirect` on the default manager."""
    return await get_manager().sign_in_with_redirect(provider=provider, open_url=open_url)


async def sign_in_with_tokens(
    refresh_token: str,
    *,
    access_token: str | None = None,
    id_token: str | None = None,
    username: str | None = None,
) -> SignInResult:
    """:meth:`SessionManager.sign_in_with_tokens` on the default manager."""
    return await get_manager().sign_in_with_tokens(
        refresh_token, access_token=access_token, id_token=id_token, username=username
    )


async def sign_out(*, global_sign_out: bool = False) -> SignOutResult:
    """:meth:`SessionManager.sign_out` on the default manager."""
    return await get_manager().sign_out(global_sign_out=global_sign_out)


async def get_current_user() -> AuthUser:
    """:meth:`SessionManager.get_current_user` on the default manager."""
    return await get_manager().get_current_user()


async def remember_device() -> None:
    """:meth:`SessionManager.remember_device` on the default manager."""
    await get_manager().remember_device()


async def forget_device(device_key: str | None = None) -> None:
    """:meth:`SessionManager.forget_device` on the default manager."""
    await get_manager().forget_device(device_key)


async def fetch_devices() -> list[AuthDevice]:
    """:meth:`SessionManager.fetch_devices` on the default manager."""
    return await get_manager().fetch_devices()
