"""Machine-to-machine (client_credentials) test helpers: app-client pools in the emulator,
their configs, and the tokens and answers of a scripted token endpoint.

Two kinds of token endpoint: the emulator's OAuth domain (``machine_pool`` and
``pool_config``), and a scripted server on 127.0.0.1 (``granted`` answers with
``machine_token``; ``endpoint_config`` points a manager at it, as ``CLIENT``
with ``SECRET``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from amplify_session import ClientCredentialsConfig
from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.retry import fast_retry
from tests.support.scripted_server import Answer
from tests.support.tokens import make_jwt

__all__ = [
    "CLIENT",
    "SECRET",
    "credentials",
    "endpoint_config",
    "granted",
    "machine_pool",
    "machine_token",
    "pool_config",
]

SECRET = "s3cr3t-of-the-client-0123456789"
CLIENT = "machine-client"
#: The scopes a machine pool's resource servers offer, unless a test names others.
RESOURCE_SERVERS: Mapping[str, tuple[str, ...]] = {
    "orders": ("read", "write"),
    "stock": ("count",),
}
SCOPES = ("orders/read", "orders/write")


def machine_pool(
    emulator: Emulator,
    lifetime: float = 3600,
    resource_servers: Mapping[str, tuple[str, ...]] = RESOURCE_SERVERS,
) -> EmulatedPool:
    """A fresh emulator with one pool whose app client (with a secret) has the
    client_credentials grant, and tokens that live ``lifetime`` s."""
    emulator.reset()
    return emulator.provision(
        generate_secret=True,
        oauth_flows=("client_credentials",),
        resource_servers=dict(resource_servers),
        token_validity=timedelta(seconds=lifetime),
    )


def credentials(pool: EmulatedPool) -> dict[str, Any]:
    """The pool's app client as ``ClientCredentialsConfig`` fields (no scopes)."""
    assert pool.domain is not None
    assert pool.client_secret is not None
    return {
        "user_pool_id": pool.user_pool_id,
        "client_id": pool.client_id,
        "client_secret": pool.client_secret,
        "domain": pool.domain,
    }


def pool_config(pool: EmulatedPool, **overrides: Any) -> ClientCredentialsConfig:
    """The config of the pool's app client, asking for :data:`SCOPES`, retried twice."""
    fields = {**credentials(pool), "scopes": SCOPES, "retry": fast_retry(2), **overrides}
    return ClientCredentialsConfig(**fields)


def machine_token(lifetime: int = 3600, **claims: Any) -> str:
    """An access token of :data:`CLIENT` that expires ``lifetime`` s from now (unsigned)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": CLIENT,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "orders/read",
        "iat": now,
        "exp": now + lifetime,
        **claims,
    }
    return make_jwt(payload)


def granted(token: str | None = None, **extra: Any) -> Answer:
    """A token endpoint's answer granting ``token`` (a fresh :func:`machine_token`)."""
    body = {"access_token": token or machine_token(), "expires_in": 3600, "token_type": "Bearer"}
    body.update(extra)
    return Answer(200, body)


def endpoint_config(url: str, **overrides: Any) -> ClientCredentialsConfig:
    """A config of :data:`CLIENT` whose token endpoint is the scripted server at ``url``."""
    fields: dict[str, Any] = {
        "user_pool_id": "us-east-1_Test1",
        "client_id": CLIENT,
        "client_secret": SECRET,
        "domain": url,
        "scopes": SCOPES,
        "retry": fast_retry(1),
        "request_timeout": 2.0,
        **overrides,
    }
    return ClientCredentialsConfig(**fields)
