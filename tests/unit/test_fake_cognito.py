"""FakeCognito: the whole library against an in-memory Cognito, with no socket.

Each test drives a real SessionManager through ``transport=fake``: what the
fake accepts and refuses is what the library's requests must get right
(SRP proofs are checked server side, SECRET_HASH too).
"""

from __future__ import annotations

import socket

import aiohttp
import pytest

from amplify_session import (
    CodeMismatchException,
    EventName,
    NetworkError,
    NotAuthorizedException,
    RefreshTokenReuseException,
    SessionManager,
    UserNotFoundException,
)
from amplify_session._cognito import CognitoTransport, UserPoolClient
from amplify_session.testing import FakeClock
from amplify_session.testing._fake_cognito import FakeCognito, Fault
from tests.support.waiting import next_event, until

pytestmark = pytest.mark.anyio

PASSWORD = "Corr3ct-Horse!"
FLOWS = ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach a network, or to open an HTTP session, fails the test."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("FakeCognito tests must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(aiohttp.ClientSession, "__init__", refuse)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeCognito:
    fake = FakeCognito(clock=clock)
    fake.add_user(
        "alice",
        PASSWORD,
        attributes={"email": "alice@example.com", "email_verified": "true"},
        groups=["admins"],
    )
    return fake


def refresher(fake: FakeCognito) -> UserPoolClient:
    """The library's own User Pool client, to present a refresh token by hand."""
    config = fake.config()
    return UserPoolClient(CognitoTransport(config, fake), config)


@pytest.mark.parametrize("flow", FLOWS)
async def test_sign_in_gets_tokens_and_credentials(
    fake: FakeCognito, clock: FakeClock, flow: str
) -> None:
    async with SessionManager(fake.config(), transport=fake, clock=clock) as manager:
        result = await manager.sign_in("alice", PASSWORD, auth_flow=flow)
        session = await manager.fetch_auth_session()
        info = await manager.get_user_info()

    assert result.is_signed_in
    assert session.tokens is not None
    assert session.tokens.id_token is not None
    claims = session.tokens.id_token.payload
    assert claims["cognito:username"] == "alice"
    assert claims["aud"] == fake.client_id
    assert claims["iss"].endswith(f"/{fake.user_pool_id}")
    assert session.tokens.access_token.payload["username"] == "alice"
    assert info is not None
    assert info.email == "alice@example.com"
    assert info.groups == ("admins",)
    assert session.credentials is not None
    assert session.identity_id is not None
    assert session.identity_id.startswith("us-east-1:")
    expected = ["InitiateAuth", "RespondToAuthChallenge"] if flow == "USER_SRP_AUTH" else []
    assert fake.calls[: len(expected) or 1] == (expected or ["InitiateAuth"])
    assert PASSWORD not in repr(fake)
    assert PASSWORD not in repr(fake.calls)


@pytest.mark.parametrize("flow", FLOWS)
async def test_a_wrong_password_is_refused(fake: FakeCognito, flow: str) -> None:
    async with SessionManager(fake.config(), transport=fake) as manager:
        with pytest.raises(NotAuthorizedException):
            await manager.sign_in("alice", "Wr0ng-Horse!", auth_flow=flow)
        assert not await manager.is_authenticated()


async def test_an_unknown_user_is_refused(fake: FakeCognito) -> None:
    async with SessionManager(fake.config(), transport=fake) as manager:
        with pytest.raises(UserNotFoundException):
            await manager.sign_in("mallory", PASSWORD)


async def test_tokens_are_refreshed_in_the_background_by_the_fake_clock(
    fake: FakeCognito, clock: FakeClock
) -> None:
    async with SessionManager(fake.config(), transport=fake, clock=clock) as manager:
        await manager.sign_in("alice", PASSWORD)
        before = await manager.fetch_auth_session()
        assert fake.refreshes == 0

        clock.advance(3600 - 300 + 1)  # into the refresh window of hour-long tokens
        await until(lambda: fake.refreshes == 1)
        after = await manager.fetch_auth_session()

    assert before.tokens is not None
    assert after.tokens is not None
    assert after.tokens.access_token.to_string() != before.tokens.access_token.to_string()
    assert after.tokens.access_token.payload["exp"] > before.tokens.access_token.payload["exp"]
    assert after.tokens.refresh_token == before.tokens.refresh_token  # no rotation here
    assert after.credentials != before.credentials  # they expired by the same clock


async def test_a_forced_refresh_asks_the_fake(fake: FakeCognito) -> None:
    async with SessionManager(fake.config(), transport=fake) as manager:
        await manager.sign_in("alice", PASSWORD)
        before = await manager.fetch_auth_session()
        after = await manager.fetch_auth_session(force_refresh=True)
    assert fake.refreshes == 1
    assert before.tokens is not None
    assert after.tokens is not None
    assert after.tokens.access_token.to_string() != before.tokens.access_token.to_string()


async def test_guests_get_credentials(fake: FakeCognito) -> None:
    async with SessionManager(fake.config(allow_guest_access=True), transport=fake) as manager:
        session = await manager.fetch_auth_session()
    assert session.tokens is None
    assert session.credentials is not None
    assert session.identity_id is not None
    assert fake.calls == ["GetId", "GetCredentialsForIdentity"]


async def test_a_pool_without_guests_refuses_them() -> None:
    fake = FakeCognito(allow_guest_access=False)
    async with SessionManager(fake.config(allow_guest_access=True), transport=fake) as manager:
        with pytest.raises(NotAuthorizedException):
            await manager.get_credentials()


async def test_a_user_keeps_one_identity_across_sign_ins(fake: FakeCognito) -> None:
    identities = []
    for _ in range(2):
        async with SessionManager(fake.config(), transport=fake) as manager:
            await manager.sign_in("alice", PASSWORD)
            identities.append((await manager.fetch_auth_session()).identity_id)
    fake.add_user("bob", PASSWORD)
    async with SessionManager(fake.config(), transport=fake) as manager:
        await manager.sign_in("bob", PASSWORD)
        identities.append((await manager.fetch_auth_session()).identity_id)
    assert identities[0] == identities[1] != identities[2]


@pytest.mark.parametrize("global_sign_out", [False, True])
async def test_a_sign_out_revokes_the_refresh_token(
    fake: FakeCognito, global_sign_out: bool
) -> None:
    async with SessionManager(fake.config(), transport=fake) as manager:
        await manager.sign_in("alice", PASSWORD)
        tokens = (await manager.fetch_auth_session()).tokens
        await manager.sign_out(global_sign_out=global_sign_out)
    assert tokens is not None
    assert tokens.refresh_token is not None
    assert ("GlobalSignOut" if global_sign_out else "RevokeToken") in fake.calls

    with pytest.raises(NotAuthorizedException):
        await refresher(fake).refresh_token_auth(
            tokens.refresh_token, username="alice", device_key=None
        )


async def test_a_rotating_client_replaces_the_refresh_token(fake: FakeCognito) -> None:
    fake = FakeCognito(rotate_refresh_tokens=True)
    fake.add_user("alice", PASSWORD)
    async with SessionManager(fake.config(), transport=fake) as manager:
        await manager.sign_in("alice", PASSWORD)
        before = (await manager.fetch_auth_session()).tokens
        after = (await manager.fetch_auth_session(force_refresh=True)).tokens
        again = (await manager.fetch_auth_session(force_refresh=True)).tokens
    assert before is not None
    assert after is not None
    assert again is not None
    assert before.refresh_token is not None
    assert len({before.refresh_token, after.refresh_token, again.refresh_token}) == 3
    assert fake.calls.count("GetTokensFromRefreshToken") == 2

    with pytest.raises(RefreshTokenReuseException):
        await refresher(fake).get_tokens_from_refresh_token(before.refresh_token, device_key=None)


async def test_a_refresh_token_expires_by_the_fake_clock(clock: FakeClock) -> None:
    fake = FakeCognito(clock=clock, refresh_token_lifetime=7200)
    fake.add_user("alice", PASSWORD)
    async with SessionManager(fake.config(), transport=fake, clock=clock) as manager:
        await manager.sign_in("alice", PASSWORD)
        events = manager.events()
        clock.advance(7200)
        assert (await next_event(events, EventName.SIGNED_OUT)).name is EventName.SIGNED_OUT
        assert not await manager.is_authenticated()


@pytest.mark.parametrize("fault", ["TooManyRequestsException", 503, ConnectionResetError()])
async def test_transient_faults_are_retried(fake: FakeCognito, fault: Fault) -> None:
    fake.fail_next("InitiateAuth", fault)
    async with SessionManager(fake.config(), transport=fake) as manager:
        result = await manager.sign_in("alice", PASSWORD)
    assert result.is_signed_in
    assert fake.calls[:3] == ["InitiateAuth", "InitiateAuth", "RespondToAuthChallenge"]


async def test_a_network_outage_is_a_network_error(fake: FakeCognito) -> None:
    config = fake.config()
    fake.fail_next("InitiateAuth", ConnectionRefusedError, times=config.retry.attempts)
    async with SessionManager(config, transport=fake) as manager:
        with pytest.raises(NetworkError):
            await manager.sign_in("alice", PASSWORD)
        assert fake.calls == ["InitiateAuth"] * config.retry.attempts
        assert (await manager.sign_in("alice", PASSWORD)).is_signed_in  # the outage is over


@pytest.mark.parametrize("flow", FLOWS)
async def test_a_client_with_a_secret_gets_its_hash_checked(flow: str) -> None:
    fake = FakeCognito(client_secret="s3cret-of-the-app-client")
    fake.add_user("alice", PASSWORD)
    async with SessionManager(fake.config(), transport=fake) as manager:
        await manager.sign_in("alice", PASSWORD, auth_flow=flow)
        await manager.fetch_auth_session(force_refresh=True)  # REFRESH_TOKEN_AUTH + SECRET_HASH
        await manager.sign_out()  # RevokeToken + ClientSecret
    assert fake.refreshes == 1

    async with SessionManager(fake.config(client_secret=None), transport=fake) as manager:
        with pytest.raises(NotAuthorizedException):
            await manager.sign_in("alice", PASSWORD, auth_flow=flow)
    wrong = fake.config(client_secret="not-the-secret")
    async with SessionManager(wrong, transport=fake) as manager:
        with pytest.raises(NotAuthorizedException):
            await manager.sign_in("alice", PASSWORD, auth_flow=flow)


async def test_a_totp_challenge_takes_the_configured_code(fake: FakeCognito) -> None:
    fake.add_user("carol", PASSWORD, mfa_code="123456")
    async with SessionManager(fake.config(), transport=fake) as manager:
        first = await manager.sign_in("carol", PASSWORD)
        assert first.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_TOTP_CODE"
        with pytest.raises(CodeMismatchException):
            await manager.confirm_sign_in("654321")
        done = await manager.confirm_sign_in("123456")
        assert done.is_signed_in
        assert await manager.is_authenticated()


async def test_a_challenge_session_expires_by_the_fake_clock(
    fake: FakeCognito, clock: FakeClock
) -> None:
    fake.add_user("carol", PASSWORD, mfa_code="123456")
    async with SessionManager(fake.config(), transport=fake, clock=clock) as manager:
        await manager.sign_in("carol", PASSWORD)
        clock.advance(181)  # Cognito's sign-in sessions last three minutes
        with pytest.raises(NotAuthorizedException):
            await manager.confirm_sign_in("123456")
