"""The pure parts of the hosted-UI sign-in: the authorize request and reading the redirect."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amplify_session import (
    AuthConfig,
    InvalidConfigurationException,
    InvalidParameterException,
    OAuthConfig,
    OAuthError,
)
from amplify_session._cognito._oauth import OAuthEndpoints
from amplify_session._loopback_redirect import loopback_uri
from amplify_session._redirect_sign_in import AuthorizeRequest, code_from, new_authorize_request

CONFIG = AuthConfig(
    user_pool_id="us-east-1_Abc",
    user_pool_client_id="client1",
    oauth=OAuthConfig(domain="pool.auth.us-east-1.amazoncognito.com", scopes="openid email"),
)
REDIRECT = "http://127.0.0.1:8765/callback"


def request() -> AuthorizeRequest:
    return new_authorize_request(OAuthEndpoints(CONFIG), REDIRECT, None)


def test_the_authorize_url_carries_a_s256_challenge_of_the_verifier() -> None:
    made = request()
    parts = urlsplit(made.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://pool.auth.us-east-1.amazoncognito.com/oauth2/authorize"
    )
    sent = {k: v[0] for k, v in parse_qs(parts.query).items()}
    digest = hashlib.sha256(made.code_verifier.encode()).digest()
    assert sent["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert sent["code_challenge_method"] == "S256"
    assert 43 <= len(made.code_verifier) <= 128
    assert sent["state"] == made.state
    assert sent["nonce"] == made.nonce
    assert sent["scope"] == "openid email"
    assert sent["client_id"] == "client1"
    assert "code_verifier" not in made.url
    assert made.code_verifier not in repr(made)
    assert made.state not in repr(made)
    assert made.nonce not in repr(made)


def test_every_request_is_new() -> None:
    first, second = request(), request()
    assert first.state != second.state
    assert first.nonce != second.nonce
    assert first.code_verifier != second.code_verifier


def _callback(made: AuthorizeRequest, **query: str) -> str:
    return f"{REDIRECT}?{urlencode(query)}"


def test_the_code_is_read_once_the_state_is_ours() -> None:
    made = request()
    assert code_from(_callback(made, code="c0de", state=made.state), made) == "c0de"


@pytest.mark.parametrize(
    "query",
    [
        {"code": "c0de"},
        {"code": "c0de", "state": "forged"},
        {"code": "c0de", "state": ""},
        {"state": "OURS"},
    ],
)
def test_a_redirect_that_is_not_ours_or_has_no_code_is_refused(query: dict[str, str]) -> None:
    made = request()
    query = {k: (made.state if v == "OURS" else v) for k, v in query.items()}
    with pytest.raises(InvalidParameterException):
        code_from(_callback(made, **query), made)


def test_a_redirect_elsewhere_is_refused() -> None:
    made = request()
    for elsewhere in ("http://127.0.0.1:9999/callback", "http://127.0.0.1:8765/other"):
        with pytest.raises(InvalidParameterException):
            code_from(f"{elsewhere}?{urlencode({'code': 'c', 'state': made.state})}", made)


def test_an_error_with_our_state_is_an_oauth_error_named_by_it() -> None:
    made = request()
    with pytest.raises(OAuthError) as caught:
        code_from(_callback(made, error="access_denied", state=made.state), made)
    assert caught.value.name == "access_denied"
    assert caught.value.ends_session


@given(st.text(max_size=200))
def test_any_callback_text_is_a_code_or_an_auth_error(text: str) -> None:
    made = request()
    with contextlib.suppress(InvalidParameterException, OAuthError):
        code_from(f"{REDIRECT}?{text}", made)


def test_the_loopback_uri_is_the_configured_one_or_a_free_port() -> None:
    assert loopback_uri(()) == "http://127.0.0.1/callback"
    assert loopback_uri(("https://app.example.com/cb", REDIRECT)) == REDIRECT
    assert loopback_uri(("http://localhost:9/cb",)) == "http://localhost:9/cb"
    with pytest.raises(InvalidConfigurationException, match="loopback"):
        loopback_uri(("https://app.example.com/cb",))
