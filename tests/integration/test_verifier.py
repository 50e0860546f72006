"""TokenVerifier against a JWKS endpoint on 127.0.0.1: genuine tokens, attacks, caching."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amplify_session._verifier
from amplify_session import (
    AuthError,
    InvalidTokenException,
    SessionManager,
    TokenExpiredException,
    TokenVerifier,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.issuer import (
    CLIENT_ID,
    POOL_ID,
    JWKSServer,
    SigningKey,
    claims,
    id_claims,
    jwks_server,
    mint,
    mint_hs256_with_public_key,
    mint_unsigned,
)

pytestmark = pytest.mark.anyio
KEY = SigningKey.generate()


@pytest.fixture
async def issuer() -> AsyncIterator[JWKSServer]:
    async with jwks_server(KEY) as server:
        yield server


def _verifier(issuer: JWKSServer, **kw: object) -> TokenVerifier:
    return TokenVerifier(user_pool_id=POOL_ID, client_id=CLIENT_ID, jwks_url=issuer.url, **kw)  # type: ignore[arg-type]


async def test_a_genuine_token_verifies_and_is_cached(issuer: JWKSServer) -> None:
    token = mint(KEY, claims(**{"cognito:groups": ["admins"]}))
    async with _verifier(issuer, required_groups={"admins"}) as verifier:
        jwt = await verifier.verify(token)
        for _ in range(1000):
            assert await verifier.verify(token) is jwt
    assert jwt.payload["sub"] == "user-1"
    assert str(jwt) == token
    assert issuer.fetches == 1


async def test_id_tokens_are_checked_against_aud(issuer: JWKSServer) -> None:
    async with _verifier(issuer, token_use="id") as verifier:
        assert (await verifier.verify(mint(KEY, id_claims()))).payload["aud"] == CLIENT_ID
        with pytest.raises(InvalidTokenException, match="not an id token"):
            await verifier.verify(mint(KEY, claims()))


ATTACKS = {
    "alg none": (lambda: mint_unsigned(claims(), {"alg": "none", "kid": KEY.kid}), "algorithm"),
    "HS256 with the public key": (lambda: mint_hs256_with_public_key(KEY, claims()), "algorithm"),
    "unknown kid": (lambda: mint(SigningKey.generate(), claims()), "key id"),
    "wrong issuer": (lambda: mint(KEY, claims(iss="https://evil.example.com/pool")), "issuer"),
    "issuer not a string": (lambda: mint(KEY, claims(iss=["https://x"])), "issuer"),
    "another client": (lambda: mint(KEY, claims(client_id="someone-else")), "another app client"),
    "id token as access": (lambda: mint(KEY, id_claims()), "not an access token"),
    "missing group": (lambda: mint(KEY, claims()), None),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_attacks_are_refused(issuer: JWKSServer, attack: str) -> None:
    make, reason = ATTACKS[attack]
    token = make()
    groups = {"admins"} if attack == "missing group" else None
    async with _verifier(issuer, required_groups=groups) as verifier:
        with pytest.raises(InvalidTokenException, match=reason or "required groups") as info:
            await verifier.verify(token)
    assert token not in str(info.value)


async def test_tampering_breaks_the_signature(issuer: JWKSServer) -> None:
    header, payload, signature = mint(KEY, claims()).split(".")
    forged_claims = json.dumps(claims(sub="admin-user")).encode()
    forged = base64.urlsafe_b64encode(forged_claims).rstrip(b"=").decode()
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    async with _verifier(issuer) as verifier:
        for token in (f"{header}.{forged}.{signature}", f"{header}.{payload}.{flipped}"):
            with pytest.raises(InvalidTokenException, match="signature"):
                await verifier.verify(token)


async def test_expiry_not_before_and_leeway(issuer: JWKSServer) -> None:
    clock = FakeClock()
    now = clock.time()
    expired = mint(KEY, claims(exp=int(now) - 5))
    future = mint(KEY, claims(nbf=int(now) + 60))
    async with _verifier(issuer, clock=clock) as verifier:
        with pytest.raises(TokenExpiredException, match="expired"):
            await verifier.verify(expired)
        with pytest.raises(TokenExpiredException, match="not valid yet"):
            await verifier.verify(future)
    async with _verifier(issuer, clock=clock, leeway=10) as lenient:
        assert await lenient.verify(expired)
    # A cached token stops verifying once it expires.
    token = mint(KEY, claims(exp=int(now) + 30))
    async with _verifier(issuer, clock=clock) as verifier:
        await verifier.verify(token)
        clock.advance(31)
        with pytest.raises(TokenExpiredException):
            await verifier.verify(token)


async def test_oversize_tokens_are_refused_before_decoding(
    issuer: JWKSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(token: str) -> None:
        raise AssertionError("decoded an oversize token")

    monkeypatch.setattr(amplify_session._verifier, "decode_jwt", never)
    async with _verifier(issuer, max_token_length=4096) as verifier:
        with pytest.raises(InvalidTokenException, match="at most 4096"):
            await verifier.verify("a" * 4097)


async def test_scopes(issuer: JWKSServer) -> None:
    async with _verifier(issuer, required_scopes={"orders.read"}) as verifier:
        assert await verifier.verify(mint(KEY, claims(scope="openid orders.read")))
        with pytest.raises(InvalidTokenException, match="scope"):
            await verifier.verify(mint(KEY, claims(scope="openid")))


async def test_unknown_key_ids_cannot_hammer_the_jwks_endpoint(issuer: JWKSServer) -> None:
    clock = FakeClock()
    async with _verifier(issuer, clock=clock, penalty=10) as verifier:
        await verifier.verify(mint(KEY, claims()))
        for _ in range(50):
            with pytest.raises(InvalidTokenException, match="key id"):
                await verifier.verify(mint(SigningKey.generate(), claims()))
        assert issuer.fetches == 2  # the first, and one refetch for the first unknown kid
        clock.advance(10)
        with pytest.raises(InvalidTokenException):
            await verifier.verify(mint(SigningKey.generate(), claims()))
        assert issuer.fetches == 3


async def test_a_rotated_key_is_fetched_once_for_all_concurrent_callers(
    issuer: JWKSServer,
) -> None:
    async with _verifier(issuer) as verifier:
        await verifier.verify(mint(KEY, claims()))
        new_key = SigningKey.generate()
        issuer.keys.append(new_key)
        tokens = [mint(new_key, claims(jti=str(n))) for n in range(100)]
        async with anyio.create_task_group() as group:
            for token in tokens:
                group.start_soon(verifier.verify, token)
    assert issuer.fetches == 2


async def test_emulator_tokens_verify(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    async with SessionManager(pool.config(identity_pool_id=None)) as manager:
        await manager.sign_in(pool.username, pool.password)
        session = await manager.fetch_auth_session()
    assert session.tokens is not None
    jwks_url = f"{amplify_emulator.url}/{pool.user_pool_id}/.well-known/jwks.json"
    async with TokenVerifier(
        user_pool_id=pool.user_pool_id, client_id=pool.client_id, jwks_url=jwks_url
    ) as verifier:
        verified = await verifier.verify(str(session.tokens.access_token))
    assert verified.payload["username"] == pool.username


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(max_size=300)
    | st.from_regex(
        r"[A-Za-z0-9_-]{2,40}\.[A-Za-z0-9_-]{2,40}\.[A-Za-z0-9_-]{0,40}", fullmatch=True
    )
)
async def test_arbitrary_input_raises_only_auth_errors(issuer: JWKSServer, text: str) -> None:
    async with _verifier(issuer) as verifier:
        with contextlib.suppress(AuthError):
            await verifier.verify(text)
