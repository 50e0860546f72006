"""Where the parts of one session engine are chosen and wired together.

A new way to obtain tokens (a token source), a new storage layout or a new
transport is registered here, in one place; the manager only drives what
this builds.
"""

from __future__ import annotations

import random

import attrs

from ._client_credentials import ClientCredentialsSource
from ._cognito import CognitoTransport, IdentityPoolClient, Transport, UserPoolClient
from ._cognito._devices import DeviceCalls
from ._cognito._oauth import OAuthEndpoints
from ._config import AuthConfig
from ._credentials import IdentityCredentials
from ._device_desk import DeviceDesk
from ._device_sign_in import DeviceSignIn
from ._events import EventHub
from ._session_core import SessionCore
from ._timing import Clock
from ._token_source import TokenSource
from ._token_store import TokenStore
from ._user_pool_source import UserPoolSource
from .storage import KeyValueStorage, MemoryStorage

__all__ = ["Engine", "assemble"]


@attrs.frozen(kw_only=True)
class Engine:
    """The wired parts of one manager's session."""

    store: TokenStore
    transport: CognitoTransport
    #: The pool's OAuth domain, when the config names one.
    oauth: OAuthEndpoints | None
    source: TokenSource
    #: The source of a user's session (sign-in, devices); None for an app client's own.
    user_pool: UserPoolSource | None
    core: SessionCore
    devices: DeviceDesk


def assemble(
    config: AuthConfig,
    *,
    storage: KeyValueStorage | None,
    transport: Transport | None,
    clock: Clock,
    hub: EventHub,
    client_credentials: bool = False,
) -> Engine:
    """Build the engine for ``config``: storage layout, transport, token source, core.

    ``client_credentials``: the session is the app client's own (no user).
    """
    store = TokenStore(
        storage if storage is not None else MemoryStorage(),
        config.user_pool_client_id,
        config.identity_pool_id,
    )
    cognito = CognitoTransport(config, transport)
    user_pool = UserPoolClient(cognito, config)
    device_calls = DeviceCalls(cognito, config)
    device_sign_in = DeviceSignIn(user_pool, device_calls, store, config.device_name)
    oauth = OAuthEndpoints(config) if config.oauth is not None else None
    user_pool_source: UserPoolSource | None = None
    source: TokenSource
    if client_credentials:
        assert oauth is not None, "a ClientCredentialsConfig always names its domain"
        source = ClientCredentialsSource(oauth, config.user_pool_client_id, clock)
    else:
        source = user_pool_source = UserPoolSource(user_pool, config, clock, device_sign_in)
    rng = random.Random()  # noqa: S311 (jitter, not secrets)
    identity_pool = IdentityPoolClient(cognito, config) if config.identity_pool_id else None
    core = SessionCore(
        config=config,
        store=store,
        credentials=IdentityCredentials(identity_pool, store, config, clock, rng),
        source=source,
        clock=clock,
        rng=rng,
        hub=hub,
    )
    devices = DeviceDesk(device_calls, store)
    return Engine(
        store=store,
        transport=cognito,
        oauth=oauth,
        source=source,
        user_pool=user_pool_source,
        core=core,
        devices=devices,
    )
