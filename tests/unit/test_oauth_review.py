"""Review of issue 18's client side: inputs that must be AuthErrors, not crashes.

Every public method raises only AuthError subclasses (DESIGN.md); the OAuth
and handed-in paths read URLs and JWT claims a caller (or an attacker) chose.
None of these tests needs a network: each fails before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from amplify_session import (
    AuthConfig,
    AuthError,
    ClientCredentialsConfig,
    InvalidConfigurationException,
    InvalidParameterException,
    InvalidTokenException,
    OAuthConfig,
    SessionManager,
)
from amplify_session._cognito._oauth import OAuthEndpoints
from amplify_session._redirect_sign_in import code_from, new_authorize_request
from tests.support.tokens import make_jwt

pytestmark = pytest.mark.anyio

POOL = "us-east-1_Abc"
CLIENT = "client1"
REDIRECT = "http://127.0.0.1:8765/callback"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


def config() -> AuthConfig:
    return AuthConfig(
        user_pool_id=POOL,
        user_pool_client_id=CLIENT,
        # Nothing listens here: a test that reaches the network fails on its own.
        user_pool_endpoint="http://127.0.0.1:9/",
        oauth=OAuthConfig(domain="http://127.0.0.1:9", scopes="openid email"),
    )


def test_a_redirect_with_a_non_ascii_state_is_not_ours() -> None:
    # secrets.compare_digest refuses non-ASCII str with TypeError: a web page
    # (or anything local) sending ?state=%C3%A9 to the listener must be refused
    # like any forged redirect, not crash the sign-in.
    made = new_authorize_request(OAuthEndpoints(config()), REDIRECT, None)
    with pytest.raises(InvalidParameterException):
        code_from(f"{REDIRECT}?code=c0de&state=%C3%A9", made)


async def test_completing_with_a_url_that_does_not_parse_is_an_auth_error() -> None:
    # urlsplit raises ValueError ("Invalid IPv6 URL") on a bracket left open:
    # a web backend passes the URL its browser came back with, whatever it is.
    manager = SessionManager(config())
    manager.begin_sign_in_with_redirect("https://app.example.com/callback")
    with pytest.raises(InvalidParameterException):
        await manager.complete_sign_in_with_redirect("https://[app.example.com/callback?code=c")
    await manager.aclose()


async def test_a_redirect_uri_that_does_not_parse_is_an_auth_error_at_begin_or_complete() -> None:
    # Bug: begin_sign_in_with_redirect takes any text as redirect_uri, and
    # code_from then calls urlsplit(request.redirect_uri) unguarded: ValueError
    # ("Invalid IPv6 URL") from complete_sign_in_with_redirect. Fix: check the
    # redirect URI in begin (as OAuthConfig checks its URLs).
    manager = SessionManager(config())
    try:
        manager.begin_sign_in_with_redirect("https://[app.example.com/callback")
    except AuthError:
        pass  # refused up front: fine
    else:
        with pytest.raises(AuthError):
            await manager.complete_sign_in_with_redirect(
                "https://app.example.com/callback?code=c&state=s"
            )
    await manager.aclose()


@pytest.mark.parametrize("issuer", [[ISSUER], {"iss": ISSUER}])
async def test_a_handed_in_token_with_an_issuer_that_is_not_a_string_is_refused(
    issuer: object,
) -> None:
    # check_token tests `claims["iss"] in <a set>`: an unhashable claim raised TypeError.
    access = make_jwt({"iss": issuer, "client_id": CLIENT, "token_use": "access"})
    manager = SessionManager(config())
    with pytest.raises(InvalidTokenException):
        await manager.sign_in_with_tokens("a-refresh-token", access_token=access)
    await manager.aclose()


@pytest.mark.parametrize(
    "refresh_token",
    [None, b"bytes", "", "   ", "with space", "x" * (1 << 20), 42],
)
async def test_absurd_refresh_tokens_are_refused_before_anything_is_sent(
    refresh_token: object,
) -> None:
    # (A promise that holds: kept as a guard.)
    manager = SessionManager(config())
    with pytest.raises(InvalidParameterException):
        await manager.sign_in_with_tokens(refresh_token)  # type: ignore[arg-type]
    await manager.aclose()


@pytest.mark.parametrize(
    "build",
    [
        # _urls() calls tuple() on anything that is not a str: TypeError.
        pytest.param(lambda: OAuthConfig(domain="x.example.com", redirect_sign_in=5), id="int"),
        pytest.param(
            lambda: OAuthConfig(domain="x.example.com", redirect_sign_out=None), id="none"
        ),
        # urlsplit() raises ValueError on an unclosed bracket (domain_url, _url_problem).
        pytest.param(lambda: OAuthConfig(domain="http://[x"), id="domain-bracket"),
        pytest.param(
            lambda: OAuthConfig(domain="x.example.com", redirect_sign_in="http://[x/cb"),
            id="redirect-bracket",
        ),
        pytest.param(
            lambda: ClientCredentialsConfig(
                user_pool_id=POOL, client_id="c", client_secret="s", domain="https://[x"
            ),
            id="client-credentials-domain-bracket",
        ),
        pytest.param(
            lambda: AuthConfig.from_amplify_outputs(
                {
                    "auth": {
                        "user_pool_id": POOL,
                        "user_pool_client_id": CLIENT,
                        "aws_region": "us-east-1",
                        "oauth": {"domain": "x.example.com", "redirect_sign_in_uri": 5},
                    }
                }
            ),
            id="amplify-outputs",
        ),
    ],
)
def test_a_bad_oauth_setting_is_a_configuration_error(build: Callable[[], object]) -> None:
    with pytest.raises(InvalidConfigurationException):
        build()
