"""A session started from tokens obtained elsewhere (``sign_in_with_tokens``), through the front.

The frontend's sign-in is a separate manager (another process would do the
same); the backend's manager gets only the tokens.
"""

from __future__ import annotations

from typing import Any

import pytest

from amplify_session import (
    AuthTokens,
    EventName,
    InvalidParameterException,
    InvalidTokenException,
    MemoryStorage,
    NotAuthorizedException,
    SessionManager,
    UserAlreadyAuthenticatedException,
)
from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.retry import fast_retry
from tests.support.tokens import make_jwt

pytestmark = pytest.mark.anyio


async def frontend_tokens(pool: EmulatedPool) -> AuthTokens:
    """Tokens of a sign-in somewhere else (a frontend), which stays signed in."""
    async with SessionManager(pool.config()) as frontend:
        await frontend.sign_in(pool.username, pool.password)
        tokens = (await frontend.fetch_auth_session()).tokens
    assert tokens is not None
    assert tokens.refresh_token is not None
    return tokens


def stored_keys(storage: MemoryStorage) -> list[str]:
    return sorted(storage._items)


@pytest.mark.parametrize("with_access_token", [True, False])
async def test_a_refresh_token_from_elsewhere_becomes_a_working_session(
    pool: EmulatedPool, amplify_emulator: Emulator, with_access_token: bool
) -> None:
    handed = await frontend_tokens(pool)
    assert handed.refresh_token is not None
    storage = MemoryStorage()
    async with SessionManager(pool.config(), storage=storage) as backend:
        events = backend.events()
        result = await backend.sign_in_with_tokens(
            handed.refresh_token,
            access_token=str(handed.access_token) if with_access_token else None,
        )
        assert result.is_signed_in
        user = await backend.get_current_user()
        first = (await backend.fetch_auth_session()).tokens
        refreshed = (await backend.fetch_auth_session(force_refresh=True)).tokens
        await events.aclose()
        names = [event.name async for event in events]
    assert user.username == pool.username
    assert first is not None
    assert refreshed is not None
    # Cognito's answer is the session: a new access token at adoption, another at refresh.
    assert str(first.access_token) != str(handed.access_token)
    assert str(refreshed.access_token) != str(first.access_token)
    assert names[0] == EventName.SIGNED_IN
    assert EventName.TOKEN_REFRESH in names
    # Stored under Cognito's username, so a restart restores it.
    assert f"CognitoIdentityServiceProvider.{pool.client_id}.LastAuthUser" in storage._items
    async with SessionManager(pool.config(), storage=storage) as restarted:
        assert await restarted.is_authenticated()


async def test_a_client_with_a_secret_needs_the_username_or_the_access_token(
    secret_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    pool = secret_pool
    handed = await frontend_tokens(pool)
    assert handed.refresh_token is not None
    calls = sum(amplify_emulator.front.calls.values())
    async with SessionManager(pool.config(allow_guest_access=False)) as backend:
        with pytest.raises(InvalidParameterException, match="username"):
            await backend.sign_in_with_tokens(handed.refresh_token)
        assert sum(amplify_emulator.front.calls.values()) == calls  # nothing was sent
        await backend.sign_in_with_tokens(handed.refresh_token, username=pool.username)
        assert await backend.is_authenticated()
    async with SessionManager(pool.config()) as backend:
        await backend.sign_in_with_tokens(
            handed.refresh_token, access_token=str(handed.access_token)
        )
        assert (await backend.get_current_user()).username == pool.username


def _forged(pool: EmulatedPool, **claims: Any) -> str:
    payload = {
        "iss": f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.user_pool_id}",
        "token_use": "access",
        "client_id": pool.client_id,
        "username": pool.username,
    }
    payload.update(claims)
    return make_jwt(payload)


@pytest.mark.parametrize(
    ("access_token", "match"),
    [
        ("not.a.jwt", "access token is malformed"),
        ("garbage", "access token is malformed"),
        ("ey" * 20000, "not a token"),
        ("with space", "not a token"),
        ("issuer", "another user pool"),
        ("client", "another app client"),
        ("use", "not an access token"),
    ],
)
async def test_malformed_or_foreign_tokens_are_refused_before_anything_is_sent(
    pool: EmulatedPool, amplify_emulator: Emulator, access_token: str, match: str
) -> None:
    forged = {
        "issuer": _forged(pool, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
        "client": _forged(pool, client_id="another-client"),
        "use": _forged(pool, token_use="id"),
    }
    token = forged.get(access_token, access_token)
    storage = MemoryStorage()
    calls = sum(amplify_emulator.front.calls.values())
    async with SessionManager(pool.config(allow_guest_access=False), storage=storage) as backend:
        with pytest.raises((InvalidTokenException, InvalidParameterException), match=match):
            await backend.sign_in_with_tokens("some-refresh-token", access_token=token)
        assert not await backend.is_authenticated()
    assert sum(amplify_emulator.front.calls.values()) == calls
    assert stored_keys(storage) == []


async def test_a_foreign_pools_refresh_token_is_refused_by_cognito_and_nothing_is_stored(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    other = amplify_emulator.provision(username="bob")
    handed = await frontend_tokens(other)
    assert handed.refresh_token is not None
    storage = MemoryStorage()
    async with SessionManager(pool.config(allow_guest_access=False), storage=storage) as backend:
        events = backend.events()
        # Its access token gives it away at once.
        with pytest.raises(InvalidTokenException):
            await backend.sign_in_with_tokens(
                handed.refresh_token, access_token=str(handed.access_token)
            )
        # Alone, the refresh token is Cognito's to refuse.
        with pytest.raises(NotAuthorizedException):
            await backend.sign_in_with_tokens(handed.refresh_token)
        with pytest.raises(NotAuthorizedException):
            await backend.sign_in_with_tokens("made-up-refresh-token")
        await events.aclose()
        assert [event async for event in events] == []
        assert not await backend.is_authenticated()
    assert stored_keys(storage) == []
    # The refused attempts revoked nothing: the other pool's session still refreshes.
    async with SessionManager(other.config(retry=fast_retry(1))) as owner:
        await owner.sign_in_with_tokens(handed.refresh_token)
        assert await owner.is_authenticated()


async def test_handing_in_while_signed_in_is_refused(pool: EmulatedPool) -> None:
    handed = await frontend_tokens(pool)
    assert handed.refresh_token is not None
    async with SessionManager(pool.config()) as backend:
        await backend.sign_in(pool.username, pool.password)
        with pytest.raises(UserAlreadyAuthenticatedException):
            await backend.sign_in_with_tokens(handed.refresh_token)


async def test_the_module_level_api_takes_handed_in_tokens(pool: EmulatedPool) -> None:
    import amplify_session

    handed = await frontend_tokens(pool)
    assert handed.refresh_token is not None
    amplify_session.configure(pool.config())
    try:
        assert (await amplify_session.sign_in_with_tokens(handed.refresh_token)).is_signed_in
        assert (await amplify_session.get_current_user()).username == pool.username
    finally:
        await amplify_session.sign_out()
        amplify_session.configure(pool.config())  # let the default manager go
