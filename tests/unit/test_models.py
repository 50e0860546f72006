from datetime import datetime, timezone

from amplify_session import AuthSession, AuthTokens, AWSCredentials, UserInfo, decode_jwt
from amplify_session._cognito import AuthenticationResult, Challenge
from amplify_session._tokens import TokenSet
from tests.support.tokens import make_jwt

SECRETS = ("REFRESH-SECRET-123", "AWS-SECRET-KEY-456", "SESSION-TOKEN-789", "CHALLENGE-SESSION")


def _session() -> tuple[AuthSession, str]:
    access = make_jwt()
    tokens = AuthTokens(access_token=decode_jwt(access), id_token=None, refresh_token=SECRETS[0])
    credentials = AWSCredentials(
        access_key_id="AKIAEXAMPLE",
        secret_access_key=SECRETS[1],
        session_token=SECRETS[2],
        expiration=datetime(2030, 1, 1, tzinfo=timezone.utc),
    )
    return AuthSession(tokens=tokens, credentials=credentials, identity_id="id-1"), access


def test_session_repr_and_str_hide_every_secret() -> None:
    session, access = _session()
    for text in (repr(session), str(session), f"{session}", repr(session.tokens)):
        assert access not in text
        for secret in SECRETS:
            assert secret not in text
    assert "AKIAEXAMPLE" in repr(session)
    assert "'***'" in repr(session.credentials)


def test_internal_values_hide_secrets_too() -> None:
    access = make_jwt()
    texts = [
        repr(AuthenticationResult(access_token=access, id_token=access, refresh_token=SECRETS[0])),
        repr(Challenge(name="PASSWORD_VERIFIER", session=SECRETS[3])),
        repr(
            TokenSet(
                username="alice",
                access_token=decode_jwt(access),
                id_token=None,
                refresh_token=SECRETS[0],
            )
        ),
    ]
    for text in texts:
        assert access not in text
        for secret in SECRETS:
            assert secret not in text


def test_user_info_reads_profile_claims_groups_and_custom_attributes() -> None:
    token = decode_jwt(
        make_jwt(
            {
                "token_use": "id",
                "email": "a@example.com",
                "email_verified": "true",
                "given_name": "Alice",
                "cognito:groups": ["admins", "staff"],
                "custom:team": "blue",
                "custom:level": "3",
            }
        )
    )
    info = UserInfo.from_id_token(token)
    assert info.sub == "user-sub"
    assert info.email == "a@example.com"
    assert info.email_verified is True
    assert info.given_name == "Alice"
    assert info.family_name is None
    assert info.groups == ("admins", "staff")
    assert info.custom_attributes == {"team": "blue", "level": "3"}


def test_user_info_without_optional_claims() -> None:
    info = UserInfo.from_id_token(decode_jwt(make_jwt({"email_verified": False})))
    assert info.groups == ()
    assert info.custom_attributes == {}
    assert info.email_verified is False
