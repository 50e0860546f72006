"""benchmarks/serve.py and serve_http.py at a tiny size; the dependencies they measure verify."""

from __future__ import annotations

import pytest

from benchmarks import serve, serve_http
from tests.support.issuer import SigningKey, jwks_server

pytestmark = [
    pytest.mark.anyio,
    # fastapi-cloudauth (last released in 2022) calls datetime.utcnow() on each request.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning"),
]
ROWS = ("floor", "PyJWT", "fastapi-cloudauth", "amplify_session")


def _check(results: dict[str, dict[str, float]], sent: dict[str, float]) -> None:
    assert set(results) == {f"{row} ({stream})" for row in ROWS for stream in sent}
    for name, row in results.items():
        stream = name[name.index("(") + 1 : -1]
        assert (row["requests"], row["answered_200"]) == (sent[stream], sent[stream]), name
        assert row["requests_per_s"] > 0
    assert results["floor (same token)"]["of_floor"] == 1.0
    assert results["PyJWT (new token each)"]["of_pyjwt"] == 1.0


async def test_in_process_every_row_of_both_streams_is_measured_and_answered_200() -> None:
    results = await serve.measure({"same token": 6, "new token each": 4}, rounds=2)

    _check(results, {"same token": 12.0, "new token each": 8.0})


async def test_through_uvicorn_every_row_of_both_streams_is_measured_and_answered_200() -> None:
    results = await serve_http.measure(
        {"same token": 5, "new token each": 3}, rounds=2, concurrency=2
    )

    _check(results, {"same token": 10.0, "new token each": 6.0})


async def test_every_measured_dependency_refuses_a_token_of_another_key() -> None:
    key, stranger = SigningKey.generate(), SigningKey.generate()
    genuine = serve.token_maker(key)(1)[0]
    forged = serve.token_maker(SigningKey(key.kid, stranger.private_pem, stranger.public_pem))(1)[0]
    async with jwks_server(key) as issuer, serve.verifier_for(issuer.url) as verifier:
        apps = await serve.warm_apps(issuer.url, key.kid, verifier)
        answers = {
            name: (await serve.call(app, genuine), await serve.call(app, forged))
            for name, app in apps.items()
        }
    assert answers == {"floor": (200, 200), **dict.fromkeys(ROWS[1:], (200, 401))}
