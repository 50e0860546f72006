import json
from pathlib import Path

import pytest

from amplify_session import AuthConfig, InvalidConfigurationException, RetryPolicy

POOL = "us-east-1_AbC123xyz"
IDENTITY_POOL = "us-east-1:4a7d0f6e-1b2c-4d5e-8f90-123456789abc"


def test_region_is_derived_from_the_pool_id() -> None:
    config = AuthConfig(user_pool_id="eu-west-2_Zz9", user_pool_client_id="client")
    assert config.region == "eu-west-2"
    assert config.user_pool_url == "https://cognito-idp.eu-west-2.amazonaws.com/"
    assert config.identity_pool_url == "https://cognito-identity.eu-west-2.amazonaws.com/"
    assert config.identity_provider_name == "cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Zz9"


def test_endpoint_overrides_win() -> None:
    config = AuthConfig(
        user_pool_id=POOL,
        user_pool_client_id="c",
        user_pool_endpoint="http://127.0.0.1:5000",
        identity_pool_endpoint="http://127.0.0.1:5001/",
    )
    assert config.user_pool_url == "http://127.0.0.1:5000"
    assert config.identity_pool_url == "http://127.0.0.1:5001/"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"user_pool_id": "nope"}, "user_pool_id"),
        ({"user_pool_id": "us-east-1-AbC"}, "user_pool_id"),
        ({"user_pool_id": 42}, "user_pool_id"),
        ({"user_pool_client_id": ""}, "user_pool_client_id"),
        ({"user_pool_client_id": "   "}, "user_pool_client_id"),
        ({"region": "eu-west-1"}, "region"),
        ({"region": "Mars"}, "region"),
        ({"identity_pool_id": "us-east-1-abc"}, "identity_pool_id"),
        ({"identity_pool_id": "eu-west-1:4a7d0f6e-1b2c"}, "identity_pool_id"),
        ({"user_pool_endpoint": "ftp://x"}, "user_pool_endpoint"),
        ({"identity_pool_endpoint": "localhost:5000"}, "identity_pool_endpoint"),
        ({"refresh_window": -1}, "refresh_window"),
        ({"expiry_tolerance": float("nan")}, "expiry_tolerance"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"client_secret": ""}, "client_secret"),
    ],
)
def test_invalid_fields_are_named(fields: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"user_pool_id": POOL, "user_pool_client_id": "client"}
    values.update(fields)
    with pytest.raises(InvalidConfigurationException, match=rf"AuthConfig\.{field}\b"):
        AuthConfig(**values)  # type: ignore[arg-type]


def test_retry_policy_is_validated() -> None:
    with pytest.raises(InvalidConfigurationException, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(InvalidConfigurationException, match="timeout"):
        RetryPolicy(timeout=-1)


def test_client_secret_is_redacted() -> None:
    config = AuthConfig(user_pool_id=POOL, user_pool_client_id="c", client_secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(config)
    assert "s3cr3t-value" not in str(config)


OUTPUTS = {
    "version": "1.3",
    "auth": {
        "aws_region": "us-east-1",
        "user_pool_id": POOL,
        "user_pool_client_id": "client123",
        "identity_pool_id": IDENTITY_POOL,
        "unauthenticated_identities_enabled": True,
        "mfa_configuration": "NONE",
    },
}


def test_from_amplify_outputs_dict_and_file(tmp_path: Path) -> None:
    from_dict = AuthConfig.from_amplify_outputs(OUTPUTS, expiry_tolerance=1.0)
    assert from_dict.user_pool_client_id == "client123"
    assert from_dict.identity_pool_id == IDENTITY_POOL
    assert from_dict.allow_guest_access is True
    assert from_dict.expiry_tolerance == 1.0
    path = tmp_path / "amplify_outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    assert AuthConfig.from_amplify_outputs(path) == AuthConfig.from_amplify_outputs(OUTPUTS)
    assert AuthConfig.from_amplify_outputs(str(path)).region == "us-east-1"


def test_from_amplify_outputs_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigurationException, match="no 'auth'"):
        AuthConfig.from_amplify_outputs({"version": "1"})
    with pytest.raises(InvalidConfigurationException, match="user_pool_client_id"):
        AuthConfig.from_amplify_outputs({"auth": {"user_pool_id": POOL}})
    with pytest.raises(InvalidConfigurationException, match="cannot read"):
        AuthConfig.from_amplify_outputs(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidConfigurationException, match="not valid JSON"):
        AuthConfig.from_amplify_outputs(bad)


LOCAL_ENDPOINT = "http://127.0.0.1:9229"


@pytest.mark.parametrize("pool_id", ["local_AbC12345", "local_a-b_c.d~e", "local_1"])
def test_an_emulators_pool_ids_are_accepted_with_an_endpoint(pool_id: str) -> None:
    config = AuthConfig(
        user_pool_id=pool_id, user_pool_client_id="c", user_pool_endpoint=LOCAL_ENDPOINT
    )
    assert config.user_pool_id == pool_id
    assert config.region == "us-east-1"  # 'local' is no AWS region
    assert config.user_pool_url == LOCAL_ENDPOINT


def test_real_aws_refuses_an_emulators_pool_ids() -> None:
    with pytest.raises(InvalidConfigurationException, match=r"user_pool_id.*user_pool_endpoint"):
        AuthConfig(user_pool_id="local_AbC12345", user_pool_client_id="c")


@pytest.mark.parametrize(
    "pool_id", ["local", "_AbC", "local_", "local_a/b", "local_a b", "local_a?b", "lo/cal_ab", ""]
)
def test_an_emulators_pool_ids_must_still_be_url_safe(pool_id: str) -> None:
    with pytest.raises(InvalidConfigurationException, match=r"AuthConfig\.user_pool_id\b"):
        AuthConfig(user_pool_id=pool_id, user_pool_client_id="c", user_pool_endpoint=LOCAL_ENDPOINT)


def test_an_emulated_pools_region_can_be_given() -> None:
    local = {"user_pool_id": "local_AbC", "user_pool_client_id": "c"}
    given = AuthConfig(**local, user_pool_endpoint=LOCAL_ENDPOINT, region="eu-west-1")
    assert given.region == "eu-west-1"
    assert given.identity_pool_url == "https://cognito-identity.eu-west-1.amazonaws.com/"
    # The emulator's own name for its region is fine too.
    assert AuthConfig(**local, user_pool_endpoint=LOCAL_ENDPOINT, region="local").region == "local"
    with pytest.raises(InvalidConfigurationException, match=r"AuthConfig\.region\b"):
        AuthConfig(**local, user_pool_endpoint=LOCAL_ENDPOINT, region="not a region")


def test_an_emulated_pool_takes_the_identity_pools_region() -> None:
    config = AuthConfig(
        user_pool_id="local_AbC",
        user_pool_client_id="c",
        user_pool_endpoint=LOCAL_ENDPOINT,
        identity_pool_id="eu-west-2:4a7d0f6e-1b2c-4d5e-8f90-123456789abc",
    )
    assert config.region == "eu-west-2"


def test_an_emulated_pool_id_that_names_a_region_is_still_checked() -> None:
    # moto's ids carry a real region: a contradicting region= is still a mistake.
    with pytest.raises(InvalidConfigurationException, match="contradicts"):
        AuthConfig(
            user_pool_id=POOL,
            user_pool_client_id="c",
            user_pool_endpoint=LOCAL_ENDPOINT,
            region="eu-west-1",
        )
    moto = AuthConfig(user_pool_id=POOL, user_pool_client_id="c", user_pool_endpoint=LOCAL_ENDPOINT)
    assert moto.region == "us-east-1"


def test_real_aws_still_wants_a_real_region() -> None:
    with pytest.raises(InvalidConfigurationException, match=r"AuthConfig\.region\b"):
        AuthConfig(user_pool_id=POOL, user_pool_client_id="c", region="local")


def test_the_endpoints_default_to_the_standard_aws_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:2")
    config = AuthConfig(user_pool_id="local_AbC123", user_pool_client_id="client")
    assert config.user_pool_endpoint == "http://127.0.0.1:2"
    assert config.identity_pool_endpoint == "http://127.0.0.1:1"  # the global one
    given = AuthConfig(
        user_pool_id="us-east-1_AbC", user_pool_client_id="c", user_pool_endpoint="http://h:3"
    )
    assert given.user_pool_endpoint == "http://h:3"  # an explicit value wins


def test_the_endpoint_variables_can_be_ignored_as_in_boto3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    config = AuthConfig(user_pool_id="us-east-1_AbC", user_pool_client_id="c")
    assert config.user_pool_endpoint is None
    assert config.identity_pool_endpoint is None
    with pytest.raises(InvalidConfigurationException, match="user_pool_id"):
        AuthConfig(user_pool_id="local_AbC123", user_pool_client_id="c")


def test_without_endpoint_variables_the_config_is_for_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    config = AuthConfig(user_pool_id="us-east-1_AbC", user_pool_client_id="c")
    assert config.user_pool_url == "https://cognito-idp.us-east-1.amazonaws.com/"


def test_amplify_outputs_oauth_becomes_the_oauth_config() -> None:
    from amplify_session import OAuthConfig

    outputs = {
        "auth": {
            "user_pool_id": "us-east-1_AbC",
            "user_pool_client_id": "client",
            "oauth": {
                "identity_providers": ["GOOGLE"],
                "domain": "my-app.auth.us-east-1.amazoncognito.com",
                "scopes": ["openid", "email"],
                "redirect_sign_in_uri": ["http://localhost:3000/"],
                "redirect_sign_out_uri": ["http://localhost:3000/bye"],
                "response_type": "code",
            },
        }
    }
    config = AuthConfig.from_amplify_outputs(outputs)
    assert config.oauth == OAuthConfig(
        domain="https://my-app.auth.us-east-1.amazoncognito.com",
        scopes=("openid", "email"),
        redirect_sign_in=("http://localhost:3000/",),
        redirect_sign_out=("http://localhost:3000/bye",),
    )
    assert config.oauth.token_url == "https://my-app.auth.us-east-1.amazoncognito.com/oauth2/token"
    broken = {"auth": {**outputs["auth"], "oauth": {"scopes": ["openid"]}}}
    with pytest.raises(InvalidConfigurationException, match="domain"):
        AuthConfig.from_amplify_outputs(broken)
    with pytest.raises(InvalidConfigurationException, match="oauth"):
        AuthConfig(user_pool_id="us-east-1_AbC", user_pool_client_id="c", oauth="x")  # type: ignore[arg-type]
