"""Against cognito-local itself (from npm): its 'local_...' pools, as its users run it.

cognito-local supports USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH, honours the app
client's token validity, and revokes refresh tokens; it has no SRP and no
GlobalSignOut (it answers HTTP 500 "Unsupported" to both) and no Identity Pool.
A wrong password is an InvalidPasswordException there, a NotAuthorizedException
on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from amplify_session import AuthError, EventName, SessionManager, TokenVerifier
from tests.support.cognito_local import CognitoLocal, LocalPool, ensure_installed, running
from tests.support.retry import fast_retry
from tests.support.waiting import next_event

pytestmark = pytest.mark.anyio
FLOW = "USER_PASSWORD_AUTH"


@pytest.fixture(scope="module")
def cognito_local() -> Iterator[CognitoLocal]:
    """cognito-local on 127.0.0.1 (installed into .cache/ on first use)."""
    with running(_installed()) as server:
        yield server


def _installed() -> Path:
    """cognito-local's launcher; without Node.js or npm, a failure that says so (not a skip)."""
    try:
        return ensure_installed()
    except RuntimeError as err:
        problem = str(err)
    pytest.fail(problem, pytrace=False)


@pytest.fixture
def local_pool(cognito_local: CognitoLocal) -> LocalPool:
    """A fresh pool, app client and confirmed user; tokens live an hour."""
    return cognito_local.provision()


async def test_password_sign_in_and_current_user(local_pool: LocalPool) -> None:
    assert local_pool.user_pool_id.startswith("local_")
    async with SessionManager(local_pool.config()) as manager:
        result = await manager.sign_in(local_pool.email, local_pool.password, auth_flow=FLOW)
        assert result.is_signed_in
        session = await manager.fetch_auth_session()
        assert session.tokens is not None
        issuer = f"{local_pool.endpoint}/{local_pool.user_pool_id}"
        assert session.tokens.access_token.payload["iss"] == issuer
        assert session.credentials is None  # cognito-local has no Identity Pool
        user = await manager.get_current_user()
        assert user.username == local_pool.username  # a UUID: the pool signs in by email
        assert user.user_id == session.user_sub
        assert user.sign_in_details is not None
        assert user.sign_in_details.login_id == local_pool.email
        info = await manager.get_user_info()
        assert info is not None
        assert info.email == local_pool.email


async def test_wrong_password_is_refused(local_pool: LocalPool) -> None:
    async with SessionManager(local_pool.config()) as manager:
        with pytest.raises(AuthError) as refused:
            await manager.sign_in(local_pool.email, "Wrong-Passw0rd!", auth_flow=FLOW)
        # Real Cognito says NotAuthorizedException; cognito-local names it differently.
        assert refused.value.name == "InvalidPasswordException"
        assert not await manager.is_authenticated()


async def test_srp_is_unsupported_by_cognito_local(local_pool: LocalPool) -> None:
    # The default flow: cognito-local answers 500 "Unsupported"; an AuthError, not a hang.
    async with SessionManager(local_pool.config(retry=fast_retry(1))) as manager:
        with pytest.raises(AuthError) as refused:
            await manager.sign_in(local_pool.email, local_pool.password)
        assert refused.value.name == "Unsupported"


async def test_tokens_are_refreshed_in_the_background_before_expiry(
    cognito_local: CognitoLocal,
) -> None:
    short = cognito_local.provision(token_validity=3)
    async with SessionManager(short.config(expiry_tolerance=0.5)) as manager:
        events = manager.events()
        await manager.sign_in(short.email, short.password, auth_flow=FLOW)
        first = await manager.fetch_auth_session()
        event = await next_event(events, EventName.TOKEN_REFRESH)  # nobody asked for it
        await events.aclose()
        assert first.tokens is not None
        assert event.session is not None
        assert event.session.tokens is not None
        renewed = event.session.tokens
        assert renewed.access_token.payload["jti"] != first.tokens.access_token.payload["jti"]
        assert renewed.access_token.payload["exp"] >= first.tokens.access_token.payload["exp"]
        # cognito-local does not rotate: the refresh token is kept.
        assert renewed.refresh_token == first.tokens.refresh_token
        assert await manager.fetch_auth_session() is event.session


async def test_force_refresh_gets_new_tokens(local_pool: LocalPool) -> None:
    async with SessionManager(local_pool.config()) as manager:
        await manager.sign_in(local_pool.email, local_pool.password, auth_flow=FLOW)
        before = await manager.fetch_auth_session()
        after = await manager.fetch_auth_session(force_refresh=True)
        assert before.tokens is not None
        assert after.tokens is not None
        assert after.tokens.access_token.payload["jti"] != before.tokens.access_token.payload["jti"]
        assert (await manager.get_current_user()).username == local_pool.username


async def test_sign_out_revokes_the_refresh_token(
    local_pool: LocalPool, cognito_local: CognitoLocal
) -> None:
    async with SessionManager(local_pool.config()) as manager:
        await manager.sign_in(local_pool.email, local_pool.password, auth_flow=FLOW)
        tokens = (await manager.fetch_auth_session()).tokens
        assert tokens is not None
        assert tokens.refresh_token is not None
        result = await manager.sign_out()
        assert result.revoked
        assert result.storage_cleared
        assert not await manager.is_authenticated()
        assert (await manager.fetch_auth_session()).tokens is None
    with pytest.raises(ClientError) as refused:
        cognito_local.client().initiate_auth(
            ClientId=local_pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens.refresh_token},
        )
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


async def test_global_sign_out_is_unsupported_yet_signs_out_locally(
    local_pool: LocalPool,
) -> None:
    async with SessionManager(local_pool.config(retry=fast_retry(1))) as manager:
        await manager.sign_in(local_pool.email, local_pool.password, auth_flow=FLOW)
        result = await manager.sign_out(global_sign_out=True)
        assert not result.revoked
        assert isinstance(result.error, AuthError)
        assert result.error.name == "Unsupported"
        assert not await manager.is_authenticated()


async def test_a_service_verifies_cognito_locals_tokens_through_the_endpoint(
    local_pool: LocalPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SessionManager(local_pool.config()) as manager:
        await manager.sign_in(local_pool.email, local_pool.password, auth_flow=FLOW)
        session = await manager.fetch_auth_session()
    assert session.tokens is not None
    token = session.tokens.access_token.to_string()
    async with TokenVerifier(
        user_pool_id=local_pool.user_pool_id,
        client_id=local_pool.client_id,
        user_pool_endpoint=local_pool.endpoint,
    ) as verifier:
        assert (await verifier.verify(token)).payload["sub"] == session.user_sub
    # The same through the standard variable, as a service configured for boto3 has it.
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", local_pool.endpoint)
    async with TokenVerifier(
        user_pool_id=local_pool.user_pool_id, client_id=local_pool.client_id
    ) as verifier:
        assert (await verifier.verify(token)).payload["sub"] == session.user_sub
