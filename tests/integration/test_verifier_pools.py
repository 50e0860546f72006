"""One TokenVerifier for several pools and clients: JWKS servers of our own on 127.0.0.1
and the emulator's pools; the issuer picks the pool, claims checks, groups, scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amplify_session import (
    JWT,
    InsufficientScopeException,
    InvalidParameterException,
    InvalidTokenException,
    TokenVerifier,
    TrustedPool,
)
from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.bearer_world import add_client, user_tokens
from tests.support.issuer import JWKSServer, SigningKey, claims, jwks_server, mint

pytestmark = pytest.mark.anyio

POOL_A, POOL_B, POOL_C = "us-east-1_PoolA", "eu-west-1_PoolB", "us-east-1_PoolC"
KEY_A, KEY_B = SigningKey.generate(), SigningKey.generate()


def issuer_of(pool_id: str) -> str:
    region = pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def access(pool_id: str, client: str, **extra: Any) -> dict[str, Any]:
    return claims(**{"iss": issuer_of(pool_id), "client_id": client, **extra})


def id_token(pool_id: str, client: str, **extra: Any) -> dict[str, Any]:
    fields = {"iss": issuer_of(pool_id), "client_id": None, "aud": client, "token_use": "id"}
    return claims(**{**fields, **extra})


@attrs.define
class Issuers:
    a: JWKSServer
    b: JWKSServer

    def verifier(self, **a_rules: Any) -> TokenVerifier:
        """Pool A: access tokens of clients a1 and a2; pool B: id tokens of client b1."""
        return TokenVerifier(
            pools=[
                TrustedPool(
                    user_pool_id=POOL_A, client_id=["a1", "a2"], jwks_url=self.a.url, **a_rules
                ),
                TrustedPool(
                    user_pool_id=POOL_B, client_id="b1", token_use="id", jwks_url=self.b.url
                ),
            ]
        )


@pytest.fixture
async def issuers() -> AsyncIterator[Issuers]:
    async with jwks_server(KEY_A) as a, jwks_server(KEY_B) as b:
        yield Issuers(a, b)


async def test_two_pools_and_three_clients_verify_with_one_verifier(issuers: Issuers) -> None:
    tokens = [
        mint(KEY_A, access(POOL_A, "a1")),
        mint(KEY_A, access(POOL_A, "a2")),
        mint(KEY_B, id_token(POOL_B, "b1")),
    ]
    async with issuers.verifier() as verifier:
        verified = [await verifier.verify(token) for token in tokens]
        assert [await verifier.verify(token) for token in tokens] == verified  # cached
        assert set(verifier.key_sets) == {POOL_A, POOL_B}
    assert [jwt.payload.get("client_id") or jwt.payload["aud"] for jwt in verified] == [
        "a1",
        "a2",
        "b1",
    ]
    # Each pool's key set fetched once, from its own endpoint.
    assert (issuers.a.fetches, issuers.b.fetches) == (1, 1)


async def test_an_unknown_issuer_is_refused_before_any_key_is_fetched(issuers: Issuers) -> None:
    strangers = [
        mint(KEY_A, access(POOL_C, "a1")),
        mint(KEY_A, access(POOL_A, "a1", iss=f"http://127.0.0.1:1/{POOL_A}")),
        mint(KEY_A, access(POOL_A, "a1", iss=None)),
    ]
    async with issuers.verifier() as verifier:
        for token in strangers:
            with pytest.raises(InvalidTokenException, match="another issuer"):
                await verifier.verify(token)
    assert (issuers.a.fetches, issuers.b.fetches) == (0, 0)


async def test_a_pool_s_token_signed_with_another_pool_s_key_is_refused(issuers: Issuers) -> None:
    # Pool B's key set is never consulted for a token that names pool A.
    forged = mint(KEY_B, access(POOL_A, "a1"), kid=KEY_B.kid)
    async with issuers.verifier() as verifier:
        with pytest.raises(InvalidTokenException, match="key id"):
            await verifier.verify(forged)
    assert issuers.b.fetches == 0


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: mint(KEY_A, access(POOL_A, "b1")), "another app client"),
        (lambda: mint(KEY_B, id_token(POOL_B, "a1")), "another app client"),
        (lambda: mint(KEY_A, id_token(POOL_A, "a1")), "not an access token"),
        (lambda: mint(KEY_B, access(POOL_B, "b1")), "not an id token"),
    ],
    ids=["A with B's client", "B with A's client", "A's id token", "B's access token"],
)
async def test_right_pool_wrong_client_or_use_is_refused(
    issuers: Issuers, make: Any, reason: str
) -> None:
    token = make()
    async with issuers.verifier() as verifier:
        with pytest.raises(InvalidTokenException, match=reason) as info:
            await verifier.verify(token)
    assert not isinstance(info.value, InsufficientScopeException)
    assert token not in str(info.value)


async def test_either_use_when_token_use_is_none(issuers: Issuers) -> None:
    pool = TrustedPool(user_pool_id=POOL_A, client_id="a1", token_use=None, jwks_url=issuers.a.url)
    async with TokenVerifier(pools=[pool]) as verifier:
        await verifier.verify(mint(KEY_A, access(POOL_A, "a1")))
        await verifier.verify(mint(KEY_A, id_token(POOL_A, "a1")))
        with pytest.raises(InvalidTokenException, match="not an access or id token"):
            await verifier.verify(mint(KEY_A, access(POOL_A, "a1", token_use="refresh")))


async def test_a_claims_check_refuses_by_returning_false_or_raising(issuers: Issuers) -> None:
    seen: list[JWT] = []

    def blue_team_only(jwt: JWT) -> bool:
        seen.append(jwt)
        if jwt.payload.get("custom:team") == "red":
            raise ValueError("red team members may not call this API")
        return jwt.payload.get("custom:team") == "blue"

    blue = mint(KEY_A, access(POOL_A, "a1", **{"custom:team": "blue"}))
    red = mint(KEY_A, access(POOL_A, "a1", **{"custom:team": "red"}))
    green = mint(KEY_A, access(POOL_A, "a1", **{"custom:team": "green"}))
    async with issuers.verifier(claims_check=blue_team_only) as verifier:
        assert (await verifier.verify(blue)).payload["custom:team"] == "blue"
        with pytest.raises(InvalidTokenException, match="red team members") as raised:
            await verifier.verify(red)
        with pytest.raises(InvalidTokenException, match="claims check refused") as returned:
            await verifier.verify(green)
        # Pool B has no check: its tokens never reach pool A's.
        await verifier.verify(mint(KEY_B, id_token(POOL_B, "b1", **{"custom:team": "red"})))
        # The check runs at every verification, cached token or not.
        await verifier.verify(blue)
    assert [jwt.payload["custom:team"] for jwt in seen] == ["blue", "red", "green", "blue"]
    assert isinstance(raised.value.underlying_error, ValueError)
    for info, token in ((raised, red), (returned, green)):
        assert type(info.value) is InvalidTokenException
        assert token not in str(info.value)


async def test_a_claims_check_may_refuse_with_insufficient_scope(issuers: Issuers) -> None:
    def admins_only(jwt: JWT) -> None:
        if not jwt.payload.get("custom:admin"):
            raise InsufficientScopeException("only administrators", required_scopes=["admin"])

    async with issuers.verifier(claims_check=admins_only) as verifier:
        with pytest.raises(InsufficientScopeException, match="only administrators") as info:
            await verifier.verify(mint(KEY_A, access(POOL_A, "a1")))
    assert info.value.required_scopes == ("admin",)


async def test_groups_per_pool_and_per_call(issuers: Issuers) -> None:
    admin = mint(KEY_A, access(POOL_A, "a1", **{"cognito:groups": ["staff", "admins"]}))
    staff = mint(KEY_A, access(POOL_A, "a1", **{"cognito:groups": ["staff"]}))
    nobody = mint(KEY_A, access(POOL_A, "a2"))
    async with issuers.verifier(required_groups=["staff"]) as verifier:
        await verifier.verify(staff)
        await verifier.verify(admin, required_groups=["admins"])
        with pytest.raises(InsufficientScopeException, match="required groups") as info:
            await verifier.verify(staff, required_groups=["admins"])
        with pytest.raises(InsufficientScopeException, match="required groups"):
            await verifier.verify(nobody)
        # The pool's groups are pool A's: pool B's tokens need none.
        await verifier.verify(mint(KEY_B, id_token(POOL_B, "b1")))
    assert info.value.required_scopes == ()


async def test_scopes_per_pool_and_per_call(issuers: Issuers) -> None:
    reader = mint(KEY_A, access(POOL_A, "a1", scope="orders/read"))
    writer = mint(KEY_A, access(POOL_A, "a1", scope="orders/read orders/write"))
    async with issuers.verifier(required_scopes=["orders/read"]) as verifier:
        await verifier.verify(reader)
        await verifier.verify(writer, required_scopes=["orders/write"])
        with pytest.raises(InsufficientScopeException, match="scope") as info:
            await verifier.verify(reader, required_scopes=["orders/write"])
        with pytest.raises(InsufficientScopeException):
            await verifier.verify(mint(KEY_A, access(POOL_A, "a1", scope="openid")))
    assert info.value.required_scopes == ("orders/read", "orders/write")
    assert isinstance(info.value, InvalidTokenException)  # still an InvalidTokenException


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"user_pool_id": POOL_A},
        {
            "user_pool_id": POOL_A,
            "client_id": "a1",
            "pools": [TrustedPool(user_pool_id=POOL_B, client_id="b1")],
        },
        {"pools": [TrustedPool(user_pool_id=POOL_A, client_id="a1")], "required_scopes": ["x"]},
        {"pools": [TrustedPool(user_pool_id=POOL_A, client_id="a1")], "token_use": "id"},
        {"pools": [TrustedPool(user_pool_id=POOL_A, client_id=c) for c in ("a1", "a2")]},
        {"user_pool_id": POOL_A, "client_id": []},
        {"user_pool_id": POOL_A, "client_id": "a1", "required_groups": "admins"},
        {"user_pool_id": POOL_A, "client_id": "a1", "claims_check": "not callable"},
        {"user_pool_id": POOL_A, "client_id": "a1", "token_use": "refresh"},
    ],
    ids=[
        "nothing",
        "no client",
        "both ways",
        "pools and a single-pool rule",
        "pools and a token use",
        "the same pool twice",
        "no client ids",
        "a string of groups",
        "a check that is not callable",
        "a refresh token use",
    ],
)
def test_misconfigurations_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameterException):
        TokenVerifier(**arguments)


async def test_a_string_of_scopes_at_verify_time_is_refused(issuers: Issuers) -> None:
    async with issuers.verifier() as verifier:
        with pytest.raises(InvalidParameterException):
            await verifier.verify(mint(KEY_A, access(POOL_A, "a1")), required_scopes="openid")


async def test_emulator_pools_and_clients(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    other = amplify_emulator.provision(username="bob")
    second_client = add_client(amplify_emulator, pool)
    first_access, _ = await user_tokens(pool, pool.client_id)
    second_access, _ = await user_tokens(pool, second_client)
    _, other_id = await user_tokens(other, other.client_id)

    def jwks(p: EmulatedPool) -> str:
        return f"{amplify_emulator.url}/{p.user_pool_id}/.well-known/jwks.json"

    pools = [
        TrustedPool(
            user_pool_id=pool.user_pool_id,
            client_id=[pool.client_id, second_client],
            jwks_url=jwks(pool),
        ),
        TrustedPool(
            user_pool_id=other.user_pool_id,
            client_id=other.client_id,
            token_use="id",
            jwks_url=jwks(other),
        ),
    ]
    async with TokenVerifier(pools=pools) as verifier:
        assert (await verifier.verify(first_access)).payload["client_id"] == pool.client_id
        assert (await verifier.verify(second_access)).payload["client_id"] == second_client
        assert (await verifier.verify(other_id)).payload["cognito:username"] == "bob"
    # Only the first client is trusted: the second client's token is refused.
    async with TokenVerifier(
        user_pool_id=pool.user_pool_id, client_id=pool.client_id, jwks_url=jwks(pool)
    ) as single:
        with pytest.raises(InvalidTokenException, match="another app client"):
            await single.verify(second_access)


# The property: a token verifies exactly when its issuer, token use and client are
# configured together; anything else is refused (and never with a 403).
ISSUERS = [issuer_of(POOL_A), issuer_of(POOL_B), issuer_of(POOL_C), "https://evil.example"]
ACCEPTED = {(issuer_of(POOL_A), "access", "a1"), (issuer_of(POOL_A), "access", "a2")}
ACCEPTED |= {(issuer_of(POOL_B), "id", "b1")}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    issuer=st.sampled_from(ISSUERS),
    use=st.sampled_from(["access", "id", "refresh", None]),
    client=st.sampled_from(["a1", "a2", "b1", "c1", None]),
    audience_as_list=st.booleans(),
)
async def test_only_configured_issuer_use_and_client_triples_verify(
    issuers: Issuers, issuer: str, use: str | None, client: str | None, audience_as_list: bool
) -> None:
    audience: object = [client] if audience_as_list else client
    fields = {"client_id": audience} if use == "access" else {"client_id": None, "aud": audience}
    payload = claims(iss=issuer, token_use=use, **fields)
    token = mint(KEY_B if issuer == issuer_of(POOL_B) else KEY_A, payload)
    async with issuers.verifier() as verifier:
        if (issuer, use, client) in ACCEPTED:
            await verifier.verify(token)
        else:
            with pytest.raises(InvalidTokenException) as refused:
                await verifier.verify(token)
            assert not isinstance(refused.value, InsufficientScopeException)
