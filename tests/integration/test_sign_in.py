"""Password sign-in against moto's server over a real socket."""

import pytest

from amplify_session import (
    InvalidParameterException,
    MemoryStorage,
    NotAuthorizedException,
    SessionManager,
    UserAlreadyAuthenticatedException,
    UserNotConfirmedException,
    UserNotFoundException,
    UserUnAuthenticatedException,
)
from amplify_session.emulator import EmulatedPool, Emulator

pytestmark = pytest.mark.anyio
FLOW = "USER_PASSWORD_AUTH"


async def test_sign_in_gives_tokens_credentials_identity_and_user(pool: EmulatedPool) -> None:
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage) as manager:
        result = await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        assert result.is_signed_in
        assert result.next_step.sign_in_step == "DONE"

        session = await manager.fetch_auth_session()
        assert session.tokens is not None
        assert session.tokens.access_token.payload["token_use"] == "access"
        assert session.tokens.id_token is not None
        assert session.tokens.refresh_token
        assert session.user_sub == session.tokens.access_token.payload["sub"]
        assert session.credentials is not None
        assert session.credentials.expiration is not None
        assert session.credentials.expiration.tzinfo is not None
        assert session.identity_id is not None
        assert session.identity_id.startswith(f"{pool.region}:")

        user = await manager.get_current_user()
        assert user.username == pool.username
        assert user.user_id == session.user_sub
        assert user.sign_in_details is not None
        assert user.sign_in_details.login_id == pool.username
        assert user.sign_in_details.auth_flow_type == FLOW

        info = await manager.get_user_info()
        assert info is not None
        assert info.email == pool.email
        assert info.email_verified is True
        assert info.name == "Alice Smith"
        assert info.custom_attributes == {"team": "blue"}
        assert await manager.is_authenticated()

    prefix = f"CognitoIdentityServiceProvider.{pool.client_id}"
    assert await storage.get_item(f"{prefix}.LastAuthUser") == pool.username
    stored_access = await storage.get_item(f"{prefix}.{pool.username}.accessToken")
    assert stored_access == str(session.tokens.access_token)
    stored_identity = await storage.get_item(
        f"com.amplify.Cognito.{pool.identity_pool_id}.identityId"
    )
    assert stored_identity is not None
    assert session.identity_id in stored_identity


async def test_wrong_password(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        with pytest.raises(NotAuthorizedException) as info:
            await manager.sign_in(pool.username, "Wrong-password-1", auth_flow=FLOW)
        assert "Wrong-password-1" not in str(info.value)
        assert not await manager.is_authenticated()


async def test_unknown_user(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        with pytest.raises(UserNotFoundException):
            await manager.sign_in("nobody", pool.password, auth_flow=FLOW)


async def test_unconfirmed_user(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    amplify_emulator.add_user(pool, "bob", "Bob-password-1", confirmed=False)
    async with SessionManager(pool.config()) as manager:
        with pytest.raises(UserNotConfirmedException):
            await manager.sign_in("bob", "Bob-password-1", auth_flow=FLOW)


async def test_second_sign_in_is_refused_until_sign_out(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        with pytest.raises(UserAlreadyAuthenticatedException):
            await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)
        await manager.sign_out()
        assert (await manager.fetch_auth_session()).tokens is None
        with pytest.raises(UserUnAuthenticatedException):
            await manager.get_current_user()
        assert (await manager.sign_in(pool.username, pool.password, auth_flow=FLOW)).is_signed_in


@pytest.mark.parametrize(
    ("username", "password", "auth_flow", "match"),
    [
        ("", "x", FLOW, "username"),
        ("alice", "", FLOW, "password"),
        ("alice", "x", "CUSTOM_AUTH", "auth_flow"),
    ],
)
async def test_invalid_sign_in_arguments(
    pool: EmulatedPool, username: str, password: str, auth_flow: str, match: str
) -> None:
    async with SessionManager(pool.config()) as manager:
        with pytest.raises(InvalidParameterException, match=match):
            await manager.sign_in(username, password, auth_flow=auth_flow)


async def test_app_client_with_secret(secret_pool: EmulatedPool) -> None:
    assert secret_pool.client_secret
    async with SessionManager(secret_pool.config()) as manager:
        assert (
            await manager.sign_in(secret_pool.username, secret_pool.password, auth_flow=FLOW)
        ).is_signed_in
        # moto checks SECRET_HASH on refresh: a forced refresh proves ours is right.
        before = await manager.fetch_auth_session()
        after = await manager.fetch_auth_session(force_refresh=True)
        assert before.tokens is not None
        assert after.tokens is not None
        assert after.tokens.access_token.payload["jti"] != before.tokens.access_token.payload["jti"]
