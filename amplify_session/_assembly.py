"""Where the parts of one session engine are chosen and wired together.

A new way to obtain tokens (a token source), a new storage layout or a new
transport is registered here, in one place; the manager only drives what
this builds.
"""

from __future__ import annotations

import random

import attrs

from ._cognito import CognitoTransport, IdentityPoolClient, Transport, UserPoolClient
from ._cognito._devices import DeviceCalls
from ._config import AuthConfig
from ._credentials import IdentityCredentials
from ._device_desk import DeviceDesk
from ._device_sign_in import DeviceSignIn
from ._events import EventHub
from ._session_core import SessionCore
from ._timing import Clock
from ._token_store import TokenStore
from ._user_pool_source import UserPoolSource
from .storage import KeyValueStorage, MemoryStorage

__all__ = ["Engine", "assemble"]


@attrs.frozen(kw_only=True)
class Engine:
    """The wired parts of one manager's session."""

    store: TokenStore
    transport: CognitoTransport
    source: UserPoolSource
    core: SessionCore
    devices: DeviceDesk


def assemble(
    config: AuthConfig,
    *,
    storage: KeyValueStorage | None,
    transport: Transport | None,
    clock: Clock,
    hub: EventHub,
) -> Engine:
    """Build the engine for ``config``: storage layout, transport, token source, core."""
    store = TokenStore(
        storage if storage is not None else MemoryStorage(),
        config.user_pool_client_id,
        config.identity_pool_id,
    )
    cognito = CognitoTransport(config, transport)
    user_pool = UserPoolClient(cognito, config)
    device_calls = DeviceCalls(cognito, config)
    device_sign_in = DeviceSignIn(user_pool, device_calls, store, config.device_name)
    source = UserPoolSource(user_pool, config, clock, device_sign_in)
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
    return Engine(store=store, transport=cognito, source=source, core=core, devices=devices)
