"""Where the parts of one session engine are chosen and wired together.

A new way to obtain tokens (a token source), a new storage layout or a new
transport is registered here, in one place; the manager only drives what
this builds.
"""

from __future__ import annotations

import attrs

from ._client_credentials import ClientCredentialsSource
from ._cognito._oauth import OAuthEndpoints
from ._cognito_client import CognitoClient
from ._credentials import IdentityCredentials
from ._device_desk import DeviceDesk
from ._device_sign_in import DeviceSignIn
from ._events import EventHub
from ._session_core import SessionCore
from ._timing import JITTER, Clock
from ._token_source import TokenSource
from ._token_store import TokenStore
from ._user_pool_source import UserPoolSource
from .storage import KeyValueStorage, MemoryStorage

__all__ = ["Engine", "assemble"]


@attrs.frozen(kw_only=True)
class Engine:
    """The wired parts of one manager's session."""

    store: TokenStore
    #: The pool's OAuth domain, when the config names one.
    oauth: OAuthEndpoints | None
    source: TokenSource
    #: The source of a user's session (sign-in, devices); None for an app client's own.
    user_pool: UserPoolSource | None
    core: SessionCore
    devices: DeviceDesk


def assemble(
    client: CognitoClient,
    *,
    storage: KeyValueStorage | None,
    clock: Clock,
    hub: EventHub,
) -> Engine:
    """Build the engine of a session of ``client``: storage layout, token source, core."""
    config = client.config
    store = TokenStore(
        storage if storage is not None else MemoryStorage(),
        config.user_pool_client_id,
        config.identity_pool_id,
    )
    user_pool, device_calls = client.user_pool, client.devices
    device_sign_in = DeviceSignIn(user_pool, device_calls, store, config.device_name)
    oauth = client.oauth
    user_pool_source: UserPoolSource | None = None
    source: TokenSource
    if client.client_credentials:
        assert oauth is not None, "a ClientCredentialsConfig always names its domain"
        source = ClientCredentialsSource(oauth, config.user_pool_client_id, clock)
    else:
        source = user_pool_source = UserPoolSource(user_pool, config, clock, device_sign_in)
    core = SessionCore(
        config=config,
        store=store,
        credentials=IdentityCredentials(client.identity_pool, store, config, clock, JITTER),
        source=source,
        clock=clock,
        rng=JITTER,
        hub=hub,
    )
    devices = DeviceDesk(device_calls, store)
    return Engine(
        store=store,
        oauth=oauth,
        source=source,
        user_pool=user_pool_source,
        core=core,
        devices=devices,
    )
