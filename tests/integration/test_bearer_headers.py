"""Whatever a client sends as ``Authorization``, the server integrations answer with a
well-formed RFC 6750 refusal (or the verified token), never an exception or an echo."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from amplify_session import TokenVerifier
from amplify_session.integrations._bearer import Refusal, authenticate
from tests.support.issuer import (
    CLIENT_ID,
    POOL_ID,
    JWKSServer,
    SigningKey,
    claims,
    jwks_server,
    mint,
)

pytestmark = pytest.mark.anyio
KEY = SigningKey.generate()

_QUOTED = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
_PARAM = rf"(?:realm|error|error_description|scope)={_QUOTED}"
CHALLENGE = re.compile(rf"Bearer(?: {_PARAM}(?:, {_PARAM})*)?")


@pytest.fixture
async def issuer() -> AsyncIterator[JWKSServer]:
    async with jwks_server(KEY) as server:
        yield server


def _tokens() -> st.SearchStrategy[str]:
    """Minted tokens with claims a little off: use, client, scope, time, groups."""
    overrides = st.fixed_dictionaries(
        {},
        optional={
            "token_use": st.sampled_from(["access", "id", "refresh"]),
            "client_id": st.sampled_from([CLIENT_ID, "other", ""]),
            "scope": st.sampled_from(["orders/read", "openid", ""]),
            "exp": st.integers(0, 2**33),
            "cognito:groups": st.lists(st.sampled_from(["admins", 'a"b\\c'])),
        },
    )
    return overrides.map(lambda extra: mint(KEY, claims(**extra)))


HEADER = (
    st.text(max_size=200)
    | st.builds(
        lambda scheme, rest: f"{scheme} {rest}",
        st.sampled_from(["Bearer", "bearer", "Basic", "Bearer "]),
        st.text(max_size=100),
    )
    | _tokens().map(lambda token: f"Bearer {token}")
)
#: A request's Authorization headers: mostly none or one, sometimes several.
HEADERS = st.lists(HEADER, max_size=1) | st.lists(HEADER, min_size=2, max_size=3)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(headers=HEADERS, realm=st.none() | st.text(max_size=20))
@example(headers=["Bearer " + "A" * 16], realm="A" * 16)
async def test_any_header_gets_a_well_formed_answer(
    issuer: JWKSServer, headers: list[str], realm: str | None
) -> None:
    async with TokenVerifier(
        user_pool_id=POOL_ID, client_id=CLIENT_ID, jwks_url=issuer.url
    ) as verifier:
        result = await authenticate(
            verifier, headers, scopes=frozenset({"orders/read"}), groups=frozenset(), realm=realm
        )
    if not isinstance(result, Refusal):
        assert len(headers) == 1
        assert result.payload["scope"] == "orders/read"
        return
    if len(headers) > 1:
        assert (result.status, result.error) == (400, "invalid_request")
    assert result.status in (400, 401, 403)
    assert result.challenge is not None
    assert CHALLENGE.fullmatch(result.challenge), result.challenge
    body = json.loads(result.body)
    assert set(body) <= {"error", "error_description"}
    for header in headers:
        credentials = header.partition(" ")[2].strip()
        # (hypothesis likes to reuse a string: a realm may hold the very same text)
        if len(credentials) >= 16 and credentials not in (realm or ""):
            assert credentials not in result.challenge
            assert credentials not in result.body.decode()


async def test_keys_that_cannot_be_fetched_are_a_503_without_a_challenge() -> None:
    async with jwks_server(KEY) as gone:
        url = gone.url  # closed when the block ends: nothing listens there any more
    async with TokenVerifier(user_pool_id=POOL_ID, client_id=CLIENT_ID, jwks_url=url) as verifier:
        token = mint(KEY, claims())
        result = await authenticate(
            verifier, [f"Bearer {token}"], scopes=frozenset(), groups=frozenset(), realm="api"
        )
    assert isinstance(result, Refusal)
    assert (result.status, result.challenge, result.headers) == (503, None, {})
    assert json.loads(result.body) == {
        "error": "temporarily_unavailable",
        "error_description": "the token cannot be verified at the moment",
    }
