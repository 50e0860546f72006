"""The default flows against moto's own server, untouched, with nothing in between.

moto's server is what most Python users test Cognito code against, so it must
work as they run it: started as ``ThreadedMotoServer`` in a process of its own
(no patch of ours), a pool provisioned with boto3, the library pointed at it.
The strict front (``amplify_session.emulator``) is tested elsewhere.

moto's server sends two ``Server`` headers, which aiohttp refuses in Python's
development mode (by design: aio-libs/aiohttp#12297, getmoto/moto#9930), so no
aiohttp client can read it there; run this module without ``-X dev``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from amplify_session import AuthConfig, MemoryStorage, SessionManager
from tests.support.moto_server import untouched_moto

pytestmark = pytest.mark.anyio
REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with untouched_moto() as url:
        yield url


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _provision(url: str, *, generate_secret: bool) -> tuple[AuthConfig, str, str]:
    """A user pool, app client, identity pool and user, as a user makes them with boto3."""
    idp = _client("cognito-idp", url)
    pool_id = idp.create_user_pool(PoolName="app-users")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="app",
        GenerateSecret=generate_secret,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    identity_pool_id = _client("cognito-identity", url).create_identity_pool(
        IdentityPoolName="app_identities",
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool_id}",
                "ClientId": client["ClientId"],
            }
        ],
    )["IdentityPoolId"]
    username, password = "alice", f"Pw-{secrets.token_urlsafe(12)}-9a"
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=password, Permanent=True
    )
    config = AuthConfig(
        user_pool_id=pool_id,
        user_pool_client_id=client["ClientId"],
        client_secret=client.get("ClientSecret"),
        identity_pool_id=identity_pool_id,
        allow_guest_access=True,
        user_pool_endpoint=url,
        identity_pool_endpoint=url,
    )
    return config, username, password


@pytest.mark.parametrize("generate_secret", [False, True], ids=["public", "secret"])
async def test_default_sign_in_refresh_and_credentials(
    moto_url: str, generate_secret: bool
) -> None:
    config, username, password = _provision(moto_url, generate_secret=generate_secret)
    async with SessionManager(config, storage=MemoryStorage()) as manager:
        guest = await manager.fetch_auth_session()
        assert guest.tokens is None
        assert guest.credentials is not None
        assert guest.credentials.access_key_id
        assert guest.identity_id is not None
        assert guest.identity_id.startswith(f"{REGION}:")

        result = await manager.sign_in(username, password)  # USER_SRP_AUTH, the default
        assert result.is_signed_in
        user = await manager.get_current_user()
        assert user.username == username
        assert user.sign_in_details is not None
        assert user.sign_in_details.auth_flow_type == "USER_SRP_AUTH"

        session = await manager.fetch_auth_session()
        assert session.tokens is not None
        assert session.tokens.refresh_token
        assert session.user_sub == session.tokens.access_token.payload["sub"]
        assert session.credentials is not None
        assert session.credentials.expiration is not None
        assert session.identity_id is not None
        assert session.identity_id != guest.identity_id

        refreshed = await manager.fetch_auth_session(force_refresh=True)
        assert refreshed.tokens is not None
        assert str(refreshed.tokens.access_token) != str(session.tokens.access_token)
        assert refreshed.tokens.access_token.payload["sub"] == session.user_sub
        assert refreshed.credentials is not None
        assert refreshed.identity_id == session.identity_id
        assert await manager.is_authenticated()

        # moto has no RevokeToken (it answers 500): the session ends here all the same.
        outcome = await manager.sign_out()
        assert outcome.storage_cleared
        assert not await manager.is_authenticated()
        assert (await manager.fetch_auth_session()).tokens is None
