"""Endpoints from the AWS variables, and TokenVerifier's key source."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk

from amplify_session import AuthConfig, InvalidConfigurationException, TokenVerifier

POOL = "us-east-1_RealPool123"
CLIENT = "real-client"
REAL_ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


@pytest.fixture(autouse=True)
def _no_endpoint_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    "variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"]
)
def test_a_bad_endpoint_variable_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # LocalStack users often write the host without a scheme.
    monkeypatch.setenv(variable, "localhost:4566")
    with pytest.raises(InvalidConfigurationException) as raised:
        AuthConfig(user_pool_id=POOL, user_pool_client_id=CLIENT)
    # The user passed no endpoint: the message must say where the bad value came from.
    assert variable in str(raised.value) + str(raised.value.recovery_suggestion)


def _attacker_key() -> tuple[str, dict[str, object], str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    kid = uuid.uuid4().hex
    public = {**jwk.construct(public_pem, algorithm="RS256").to_dict(), "kid": kid}
    return private_pem, public, kid


@pytest.mark.anyio
async def test_the_global_endpoint_variable_does_not_move_a_verifiers_trust(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AWS_ENDPOINT_URL set for other services (LocalStack's S3 in a container, say) must
    not make a verifier of a real AWS pool take its keys from that endpoint (whoever
    answers there could then sign tokens that claim to be Cognito's)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")  # the global one only
    async with TokenVerifier(user_pool_id=POOL, client_id=CLIENT) as verifier:
        assert "127.0.0.1:4566" not in repr(verifier.jwks)
        assert f"{REAL_ISSUER}/.well-known/jwks.json" in repr(verifier.jwks)


@pytest.mark.anyio
async def test_the_cognito_endpoint_variable_moves_a_verifiers_keys_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:9229")
    async with TokenVerifier(user_pool_id=POOL, client_id=CLIENT) as verifier:
        assert f"127.0.0.1:9229/{POOL}/.well-known/jwks.json" in repr(verifier.jwks)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER" in r.getMessage() for r in warnings)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:notaport/",  # today: NetworkError after every retry
        "http://127.0.0.1:5000/ ",  # today: "HTTP404: HTTP 404" from the server
    ],
)
def test_an_unusable_endpoint_is_refused_up_front(endpoint: str) -> None:
    # Set by hand or by a variable, it is a configuration error, not a network one.
    with pytest.raises(InvalidConfigurationException, match=r"user_pool_endpoint"):
        AuthConfig(user_pool_id=POOL, user_pool_client_id=CLIENT, user_pool_endpoint=endpoint)
