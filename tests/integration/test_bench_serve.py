"""benchmarks/serve.py at a tiny size, and that the dependencies it measures do verify."""

from __future__ import annotations

import asyncio

import jwt as pyjwt
import pytest

from amplify_session import TokenVerifier
from benchmarks import serve
from tests.support.issuer import CLIENT_ID, POOL_ID, SigningKey, claims, jwks_server, mint

pytestmark = [
    pytest.mark.anyio,
    # fastapi-cloudauth (last released in 2022) calls datetime.utcnow() on each request.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning"),
]
ROWS = ("floor", "PyJWT", "fastapi-cloudauth", "amplify_session")


async def test_every_row_of_both_streams_is_measured_and_every_request_answered_200() -> None:
    results = await serve.measure({"same token": 6, "new token each": 4}, rounds=2)

    streams = {"same token": 12.0, "new token each": 8.0}
    assert set(results) == {f"{row} ({stream})" for row in ROWS for stream in streams}
    for name, row in results.items():
        sent = streams[name[name.index("(") + 1 : -1]]
        assert (row["requests"], row["answered_200"]) == (sent, sent), name
        assert row["requests_per_s"] > 0
    assert results["floor (same token)"]["of_floor"] == 1.0
    assert results["PyJWT (new token each)"]["of_pyjwt"] == 1.0


async def test_every_measured_dependency_refuses_a_token_of_another_key() -> None:
    key, stranger = SigningKey.generate(), SigningKey.generate()
    genuine = mint(key, claims())
    forged = mint(SigningKey(key.kid, stranger.private_pem, stranger.public_pem), claims())
    async with (
        jwks_server(key) as issuer,
        TokenVerifier(user_pool_id=POOL_ID, client_id=CLIENT_ID, jwks_url=issuer.url) as verifier,
    ):
        jwks = pyjwt.PyJWKClient(issuer.url, cache_keys=True)
        await asyncio.to_thread(jwks.get_signing_key_from_jwt, genuine)
        cognito = await asyncio.to_thread(serve.cloudauth_dependency, issuer.url)
        apps = {
            "PyJWT": serve.route(serve.pyjwt_dependency(jwks)),
            "fastapi-cloudauth": serve.route(cognito),
            "amplify_session": serve.route(serve.CognitoBearer(verifier)),
        }
        answers = {
            name: (await serve.call(app, genuine), await serve.call(app, forged))
            for name, app in apps.items()
        }
    assert answers == dict.fromkeys(apps, (200, 401))
