import contextlib
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amplify_session import AuthError, InvalidResponseException
from amplify_session._cognito import AuthenticationResult, Challenge
from amplify_session._cognito._identity_pool import parse_credentials
from amplify_session._cognito._user_pool import parse_auth_answer, secret_hash


def test_tokens_answer() -> None:
    answer = parse_auth_answer(
        {
            "AuthenticationResult": {
                "AccessToken": "a",
                "IdToken": "i",
                "RefreshToken": "r",
                "NewDeviceMetadata": {"DeviceKey": "dk"},
            }
        }
    )
    assert answer == AuthenticationResult(
        access_token="a", id_token="i", refresh_token="r", device_key="dk"
    )


def test_challenge_answer() -> None:
    answer = parse_auth_answer(
        {
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": "s",
            "ChallengeParameters": {"USERNAME": "alice"},
        }
    )
    assert answer == Challenge(
        name="NEW_PASSWORD_REQUIRED", session="s", parameters={"USERNAME": "alice"}
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"AuthenticationResult": "x"},
        {"AuthenticationResult": {"IdToken": "i"}},
        {"AuthenticationResult": {"AccessToken": 5}},
        {"AuthenticationResult": {"AccessToken": "a", "RefreshToken": ["r"]}},
        {"ChallengeName": ""},
        {"ChallengeName": "X", "ChallengeParameters": {"a": 1}},
    ],
)
def test_malformed_auth_answers(body: dict[str, object]) -> None:
    with pytest.raises(InvalidResponseException):
        parse_auth_answer(body)


def test_credentials_epoch_and_iso_expiration() -> None:
    creds = {"AccessKeyId": "AK", "SecretKey": "SK", "SessionToken": "ST", "Expiration": 1.9e9}
    parsed = parse_credentials({"Credentials": creds})
    assert parsed.expiration == datetime.fromtimestamp(1.9e9, tz=timezone.utc)
    creds["Expiration"] = "2030-01-01T00:00:00Z"
    assert parse_credentials({"Credentials": creds}).expiration == datetime(
        2030, 1, 1, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    "credentials",
    [
        None,
        {"SecretKey": "SK", "SessionToken": "ST", "Expiration": 1},
        {"AccessKeyId": "AK", "SecretKey": "SK", "SessionToken": "ST"},
        {"AccessKeyId": "AK", "SecretKey": "SK", "SessionToken": "ST", "Expiration": "soon"},
        {"AccessKeyId": "AK", "SecretKey": "SK", "SessionToken": "ST", "Expiration": 1e300},
        {"AccessKeyId": "AK", "SecretKey": "SK", "SessionToken": "ST", "Expiration": True},
    ],
)
def test_malformed_credentials(credentials: object) -> None:
    with pytest.raises(InvalidResponseException):
        parse_credentials({"Credentials": credentials})


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=8,
)
_bodies = st.dictionaries(
    st.sampled_from(
        [
            "AuthenticationResult",
            "ChallengeName",
            "ChallengeParameters",
            "Session",
            "Credentials",
            "AccessToken",
        ]
    ),
    _values
    | st.dictionaries(
        st.sampled_from(
            [
                "AccessToken",
                "IdToken",
                "RefreshToken",
                "AccessKeyId",
                "SecretKey",
                "SessionToken",
                "Expiration",
                "NewDeviceMetadata",
            ]
        ),
        _values,
    ),
)


@given(_bodies)
def test_parsers_raise_only_auth_errors(body: dict[str, object]) -> None:
    for parse in (parse_auth_answer, parse_credentials):
        with contextlib.suppress(AuthError):
            parse(body)


def test_secret_hash_matches_the_documented_formula() -> None:
    # base64(HMAC_SHA256(key=secret, msg=username + client_id))
    assert (
        secret_hash("secret", "client", "alice") == "RTsve+FQ659UKyESgvLg9GYmZEL+QjzQsW/OjL77/b0="
    )
