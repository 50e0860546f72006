"""The emulator's OAuth 2.0 domain, driven by plain HTTP clients over 127.0.0.1.

aiohttp plays the service and the browser (redirects followed by hand),
boto3 the SDK that refreshes through the Cognito API; tokens are checked
with TokenVerifier against the pool's JWKS at the front.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import boto3
import pytest
from botocore.config import Config

from amplify_session import TokenVerifier, decode_jwt
from amplify_session.emulator import EmulatedPool, Emulator

pytestmark = pytest.mark.anyio

LOOPBACK = "http://127.0.0.1/callback"
APP = "https://app.example.com/cb"
BYE = "https://app.example.com/bye"


@pytest.fixture
def machine(amplify_emulator: Emulator) -> EmulatedPool:
    """An app client for client_credentials, with two resource servers."""
    amplify_emulator.reset()
    return amplify_emulator.provision(
        generate_secret=True,
        resource_servers={"orders": ("read", "write"), "stock": ("count",)},
        oauth_flows=("client_credentials",),
    )


def _web_pool(emulator: Emulator, **more: Any) -> EmulatedPool:
    emulator.reset()
    return emulator.provision(
        resource_servers={"orders": ("read",)},
        oauth_flows=("code",),
        callback_urls=(LOOPBACK, APP),
        logout_urls=(BYE,),
        identity_providers=("COGNITO", "Google"),
        **more,
    )


@pytest.fixture
def web(amplify_emulator: Emulator) -> EmulatedPool:
    """A public app client for the authorization code grant, with Google as an IdP."""
    return _web_pool(amplify_emulator)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def idp(amplify_emulator: Emulator) -> Iterator[Any]:
    """boto3, pointed at the strict front."""
    client = boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=amplify_emulator.cognito_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )
    yield client
    client.close()


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def _token(
    http: aiohttp.ClientSession, pool: EmulatedPool, form: dict[str, str], **headers: str
) -> tuple[int, Any, str]:
    """Status, JSON body (None if not JSON) and raw text of a token request."""
    assert pool.domain is not None
    async with http.post(f"{pool.domain}/oauth2/token", data=form, headers=headers) as response:
        text = await response.text()
        body = await response.json(content_type=None) if response.status in (200, 400) else None
        return response.status, body, text


async def _machine_token(
    http: aiohttp.ClientSession, pool: EmulatedPool, **form: str
) -> tuple[int, Any, str]:
    assert pool.client_secret is not None
    auth = _basic(pool.client_id, pool.client_secret)
    form = {"grant_type": "client_credentials", **form}
    return await _token(http, pool, form, Authorization=auth)


def _verifier(pool: EmulatedPool, token_use: str = "access") -> TokenVerifier:
    return TokenVerifier(
        user_pool_id=pool.user_pool_id,
        client_id=pool.client_id,
        token_use=token_use,  # type: ignore[arg-type]
        user_pool_endpoint=pool.endpoint,
    )


# -- client credentials ----------------------------------------------------------------


async def test_a_machine_token_verifies_and_names_the_client_not_a_user(
    machine: EmulatedPool, http: aiohttp.ClientSession, amplify_emulator: Emulator
) -> None:
    status, body, _ = await _machine_token(http, machine)
    assert status == 200
    assert set(body) == {"access_token", "expires_in", "token_type"}  # no refresh or id token
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    async with _verifier(machine) as verifier:
        claims = (await verifier.verify(body["access_token"])).payload
    assert claims["scope"] == "orders/read orders/write stock/count"
    assert claims["sub"] == claims["client_id"] == machine.client_id
    assert "username" not in claims
    assert claims["version"] == 2
    assert claims["exp"] - claims["iat"] == 3600
    assert amplify_emulator.front.calls["OAuth2Token"] == 1
    assert machine.scopes == ("orders/read", "orders/write", "stock/count")
    assert machine.domain == amplify_emulator.cognito_url.rstrip("/")


async def test_the_requested_scopes_and_only_those_are_granted(
    machine: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await _machine_token(http, machine, scope="stock/count orders/read")
    assert status == 200
    assert decode_jwt(body["access_token"]).payload["scope"] == "stock/count orders/read"


@pytest.mark.parametrize("scope", ["orders/delete", "openid", "orders/read billing/read"])
async def test_a_scope_the_client_may_not_have_is_invalid_scope(
    machine: EmulatedPool, http: aiohttp.ClientSession, scope: str
) -> None:
    status, body, _ = await _machine_token(http, machine, scope=scope)
    assert (status, body["error"]) == (400, "invalid_scope")


async def test_the_secret_in_the_body_works_like_basic_and_is_not_recorded(
    machine: EmulatedPool, http: aiohttp.ClientSession, amplify_emulator: Emulator
) -> None:
    assert machine.client_secret is not None
    form = {
        "grant_type": "client_credentials",
        "client_id": machine.client_id,
        "client_secret": machine.client_secret,
    }
    status, body, _ = await _token(http, machine, form)
    assert status == 200
    async with _verifier(machine) as verifier:
        await verifier.verify(body["access_token"])
    await _machine_token(http, machine)
    recorded = amplify_emulator.front.requests
    assert [operation for operation, _ in recorded] == ["OAuth2Token", "OAuth2Token"]
    assert recorded[0][1]["client_secret"] == "<redacted>"
    assert recorded[1][1]["Authorization"] == "<redacted>"
    assert machine.client_secret not in repr(recorded)


async def test_both_ways_of_authenticating_at_once_are_refused(
    machine: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    assert machine.client_secret is not None
    auth = _basic(machine.client_id, machine.client_secret)
    form = {"grant_type": "client_credentials", "client_secret": machine.client_secret}
    status, body, _ = await _token(http, machine, form, Authorization=auth)
    assert (status, body["error"]) == (400, "invalid_request")


async def test_a_wrong_or_missing_secret_is_invalid_client_and_never_echoed(
    machine: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    assert machine.client_secret is not None
    wrong = "wrong-" + secrets.token_urlsafe(16)
    attempts = [
        ({"grant_type": "client_credentials"}, {"Authorization": _basic(machine.client_id, wrong)}),
        ({"grant_type": "client_credentials", "client_id": machine.client_id}, {}),
        (
            {"grant_type": "client_credentials", "client_id": machine.client_id},
            {"Authorization": "Basic !!not-base64!!"},
        ),
    ]
    for form, headers in attempts:
        status, body, text = await _token(http, machine, form, **headers)
        assert (status, body["error"]) == (400, "invalid_client")
        assert wrong not in text
        assert machine.client_secret not in text


async def test_an_unknown_client_is_invalid_client(
    machine: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    form = {"grant_type": "client_credentials"}
    status, body, _ = await _token(http, machine, form, Authorization=_basic("nobody", "x"))
    assert (status, body["error"]) == (400, "invalid_client")


async def test_a_client_without_the_flow_is_unauthorized(
    amplify_emulator: Emulator, http: aiohttp.ClientSession, web: EmulatedPool
) -> None:
    form = {"grant_type": "client_credentials", "client_id": web.client_id}
    status, body, _ = await _token(http, web, form)
    assert (status, body["error"]) == (400, "unauthorized_client")
    # A confidential client that has no OAuth flows at all.
    plain = amplify_emulator.provision(generate_secret=True)
    assert plain.domain is None
    assert plain.client_secret is not None
    auth = _basic(plain.client_id, plain.client_secret)
    form = {"grant_type": "client_credentials"}
    status, body, _ = await _token(http, web, form, Authorization=auth)
    assert (status, body["error"]) == (400, "unauthorized_client")


async def test_an_injected_503_then_the_token(
    machine: EmulatedPool, http: aiohttp.ClientSession, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.inject("OAuth2Token", 503)
    status, _, _ = await _machine_token(http, machine)
    assert status == 503
    status, _, _ = await _machine_token(http, machine)
    assert status == 200
    assert amplify_emulator.front.injected["OAuth2Token"] == 1
    assert amplify_emulator.front.calls["OAuth2Token"] == 2


async def test_unknown_grants_and_malformed_requests(
    machine: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    assert machine.client_secret is not None
    auth = {"Authorization": _basic(machine.client_id, machine.client_secret)}
    status, body, _ = await _token(http, machine, {"grant_type": "password"}, **auth)
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, body, _ = await _token(http, machine, {"scope": "orders/read"}, **auth)
    assert (status, body["error"]) == (400, "invalid_request")
    async with http.post(
        f"{machine.domain}/oauth2/token", json={"grant_type": "client_credentials"}, headers=auth
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_request"


def test_provision_refuses_the_app_clients_cognito_refuses(amplify_emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="generate_secret"):
        amplify_emulator.provision(
            resource_servers={"orders": ("read",)}, oauth_flows=("client_credentials",)
        )
    with pytest.raises(ValueError, match="with code"):
        amplify_emulator.provision(
            generate_secret=True,
            resource_servers={"orders": ("read",)},
            oauth_flows=("client_credentials", "code"),
        )
    with pytest.raises(ValueError, match="oauth_flows"):
        amplify_emulator.provision(oauth_flows=("implicit",))


# -- authorization code + PKCE ---------------------------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def _authorize(
    http: aiohttp.ClientSession, pool: EmulatedPool, **params: str
) -> tuple[int, dict[str, str]]:
    """Status and the redirect's query parameters (empty when not redirected)."""
    assert pool.domain is not None
    query = {"response_type": "code", "client_id": pool.client_id, **params}
    async with http.get(
        f"{pool.domain}/oauth2/authorize", params=query, allow_redirects=False
    ) as response:
        location = response.headers.get("Location")
        if location is None:
            return response.status, {}
        assert location.startswith(params["redirect_uri"].split("?")[0])
        return response.status, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _code(
    http: aiohttp.ClientSession,
    pool: EmulatedPool,
    challenge: str,
    redirect_uri: str = "http://127.0.0.1:53682/callback",
    **more: str,
) -> str:
    status, answer = await _authorize(
        http,
        pool,
        redirect_uri=redirect_uri,
        state="st-1",
        code_challenge=challenge,
        code_challenge_method="S256",
        **more,
    )
    assert status == 302
    assert answer["state"] == "st-1"
    return answer["code"]


def _exchange(
    pool: EmulatedPool,
    code: str,
    verifier: str,
    redirect_uri: str = "http://127.0.0.1:53682/callback",
) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": pool.client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }


async def test_code_and_pkce_sign_the_user_in_with_the_nonce_and_scopes(
    web: EmulatedPool, http: aiohttp.ClientSession, amplify_emulator: Emulator
) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge, scope="openid orders/read", nonce="n-0S6_WzA2Mj")
    status, body, _ = await _token(http, web, _exchange(web, code, verifier))
    assert status == 200
    assert set(body) == {"access_token", "id_token", "refresh_token", "expires_in", "token_type"}
    async with _verifier(web, "id") as ids, _verifier(web) as access:
        id_claims = (await ids.verify(body["id_token"])).payload
        access_claims = (await access.verify(body["access_token"])).payload
    assert id_claims["nonce"] == "n-0S6_WzA2Mj"
    assert id_claims["cognito:username"] == web.username
    assert access_claims["scope"] == "openid orders/read"
    assert access_claims["username"] == web.username
    request = amplify_emulator.front.authorize_requests[-1]
    assert (request["state"], request["code_challenge"]) == ("st-1", challenge)
    assert amplify_emulator.front.calls["OAuth2Authorize"] == 1
    recorded = repr(amplify_emulator.front.requests)
    assert code not in recorded
    assert verifier not in recorded
    assert body["refresh_token"] not in recorded


async def test_without_scope_every_allowed_scope_and_without_openid_no_id_token(
    web: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge)
    _, body, _ = await _token(http, web, _exchange(web, code, verifier))
    scope = decode_jwt(body["access_token"]).payload["scope"]
    assert set(scope.split()) == {
        "orders/read",
        "openid",
        "email",
        "profile",
        "aws.cognito.signin.user.admin",
    }
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge, scope="orders/read")
    _, body, _ = await _token(http, web, _exchange(web, code, verifier))
    assert "id_token" not in body
    assert decode_jwt(body["access_token"]).payload["scope"] == "orders/read"


async def test_the_codes_refresh_token_refreshes_through_the_api_and_the_token_endpoint(
    web: EmulatedPool, http: aiohttp.ClientSession, idp: Any
) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge, scope="openid orders/read")
    _, first, _ = await _token(http, web, _exchange(web, code, verifier))
    refreshed = idp.initiate_auth(
        ClientId=web.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": first["refresh_token"]},
    )["AuthenticationResult"]
    form = {
        "grant_type": "refresh_token",
        "client_id": web.client_id,
        "refresh_token": first["refresh_token"],
    }
    status, again, _ = await _token(http, web, form)
    assert status == 200
    assert "refresh_token" not in again  # the client does not rotate
    async with _verifier(web) as access:
        for token in (refreshed["AccessToken"], again["access_token"]):
            claims = (await access.verify(token)).payload
            assert claims["scope"] == "openid orders/read"  # the code's scopes, kept
            assert claims["username"] == web.username
    assert idp.get_user(AccessToken=again["access_token"])["Username"] == web.username


async def test_a_revoked_or_unknown_refresh_token_is_invalid_grant(
    web: EmulatedPool, http: aiohttp.ClientSession, idp: Any
) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge)
    _, body, _ = await _token(http, web, _exchange(web, code, verifier))
    idp.revoke_token(Token=body["refresh_token"], ClientId=web.client_id)
    for token in (body["refresh_token"], "not-a-refresh-token"):
        form = {"grant_type": "refresh_token", "client_id": web.client_id, "refresh_token": token}
        status, refused, text = await _token(http, web, form)
        assert (status, refused["error"]) == (400, "invalid_grant")
        assert token not in text


async def test_a_rotating_client_rotates_at_the_token_endpoint_and_through_the_api(
    amplify_emulator: Emulator, http: aiohttp.ClientSession, idp: Any
) -> None:
    pool = _web_pool(amplify_emulator, refresh_token_rotation=True, generate_secret=True)
    assert pool.client_secret is not None
    auth = _basic(pool.client_id, pool.client_secret)
    verifier, challenge = _pkce()
    code = await _code(http, pool, challenge, scope="openid orders/read")
    form = _exchange(pool, code, verifier)
    del form["client_id"]
    _, first, _ = await _token(http, pool, form, Authorization=auth)
    rotated = idp.get_tokens_from_refresh_token(
        RefreshToken=first["refresh_token"],
        ClientId=pool.client_id,
        ClientSecret=pool.client_secret,
    )["AuthenticationResult"]
    assert rotated["RefreshToken"] != first["refresh_token"]
    assert decode_jwt(rotated["AccessToken"]).payload["scope"] == "openid orders/read"
    form = {"grant_type": "refresh_token", "refresh_token": rotated["RefreshToken"]}
    status, again, _ = await _token(http, pool, form, Authorization=auth)
    assert status == 200
    assert again["refresh_token"] not in (first["refresh_token"], rotated["RefreshToken"])
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    status, refused, _ = await _token(http, pool, form, Authorization=auth)
    assert (status, refused["error"]) == (400, "invalid_grant")


async def test_a_wrong_or_missing_verifier_is_refused_and_spends_the_code(
    web: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge)
    other, _ = _pkce()
    status, body, _ = await _token(http, web, _exchange(web, code, other))
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body, _ = await _token(http, web, _exchange(web, code, verifier))
    assert (status, body["error"]) == (400, "invalid_grant")  # spent by the wrong attempt
    code = await _code(http, web, challenge)
    form = _exchange(web, code, verifier)
    del form["code_verifier"]
    status, body, _ = await _token(http, web, form)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_a_code_is_redeemed_once(web: EmulatedPool, http: aiohttp.ClientSession) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge)
    status, _, _ = await _token(http, web, _exchange(web, code, verifier))
    assert status == 200
    status, body, text = await _token(http, web, _exchange(web, code, verifier))
    assert (status, body["error"]) == (400, "invalid_grant")
    assert code not in text


async def test_an_expired_code_is_refused(
    web: EmulatedPool, http: aiohttp.ClientSession, amplify_emulator: Emulator
) -> None:
    assert amplify_emulator.front.code_ttl == 300
    amplify_emulator.front.code_ttl = 0
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge)
    status, body, _ = await _token(http, web, _exchange(web, code, verifier))
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_redirect_uris_match_exactly_but_for_a_portless_loopback_one(
    web: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    for accepted in ("http://127.0.0.1:8765/callback", "http://127.0.0.1/callback", APP):
        status, answer = await _authorize(http, web, redirect_uri=accepted, state="s")
        assert (status, answer["state"]) == (302, "s")
        assert "code" in answer
    for refused in (
        "http://127.0.0.1:8765/callback/",
        "http://localhost:8765/callback",
        "https://app.example.com:8443/cb",
        "https://app.example.com/cb?x=1",
        "https://evil.example.com/cb",
    ):
        async with http.get(
            f"{web.domain}/oauth2/authorize",
            params={"response_type": "code", "client_id": web.client_id, "redirect_uri": refused},
            allow_redirects=False,
        ) as response:
            assert response.status == 400
            assert "Location" not in response.headers
            assert refused not in await response.text()


async def test_the_token_request_must_name_the_authorize_requests_redirect_uri(
    web: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge, redirect_uri="http://127.0.0.1:8765/callback")
    form = _exchange(web, code, verifier, redirect_uri="http://127.0.0.1:8766/callback")
    status, body, _ = await _token(http, web, form)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_an_unknown_client_gets_a_page_not_a_redirect(
    web: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    status, answer = await _authorize(
        http, web, client_id="nobody", redirect_uri=LOOPBACK, state="s"
    )
    assert (status, answer) == (400, {})


async def test_identity_providers_of_the_client_approve_and_others_are_refused(
    web: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    redirect = "http://127.0.0.1:9000/callback"
    status, answer = await _authorize(
        http, web, redirect_uri=redirect, state="s", identity_provider="Google"
    )
    assert (status, "code" in answer) == (302, True)
    status, answer = await _authorize(
        http, web, redirect_uri=redirect, state="s", identity_provider="Facebook"
    )
    assert status == 302
    assert (answer["error"], answer["state"]) == ("invalid_request", "s")
    assert "code" not in answer


async def test_bad_scope_or_pkce_method_redirect_with_the_error(
    web: EmulatedPool, http: aiohttp.ClientSession
) -> None:
    redirect = "http://127.0.0.1:9000/callback"
    _, answer = await _authorize(http, web, redirect_uri=redirect, state="s", scope="orders/write")
    assert (answer["error"], answer["state"]) == ("invalid_scope", "s")
    _, challenge = _pkce()
    _, answer = await _authorize(
        http,
        web,
        redirect_uri=redirect,
        state="s",
        code_challenge=challenge,
        code_challenge_method="plain",
    )
    assert answer["error"] == "invalid_request"


async def test_deny_and_approve_as_decide_who_signs_in(
    web: EmulatedPool, http: aiohttp.ClientSession, amplify_emulator: Emulator
) -> None:
    amplify_emulator.add_user(web, "bob", "Pw-bob-Secret-9a", email="bob@example.com")
    front = amplify_emulator.front
    front.deny(web.user_pool_id)
    redirect = "http://127.0.0.1:9000/callback"
    _, answer = await _authorize(http, web, redirect_uri=redirect, state="s")
    assert (answer["error"], answer["state"]) == ("access_denied", "s")
    assert "code" not in answer
    front.approve_as(web.user_pool_id, "bob")
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge, redirect_uri=redirect, scope="openid")
    _, body, _ = await _token(http, web, _exchange(web, code, verifier, redirect_uri=redirect))
    assert decode_jwt(body["id_token"]).payload["cognito:username"] == "bob"
    with pytest.raises(LookupError):
        front.approve_as(web.user_pool_id, "nobody")
    front.reset()
    assert front.authorize_requests == []
    verifier, challenge = _pkce()
    code = await _code(http, web, challenge, redirect_uri=redirect, scope="openid")
    _, body, _ = await _token(http, web, _exchange(web, code, verifier, redirect_uri=redirect))
    assert decode_jwt(body["id_token"]).payload["cognito:username"] == web.username


# -- logout --------------------------------------------------------------------------------


async def test_logout_goes_back_to_a_sign_out_url_only(
    web: EmulatedPool, http: aiohttp.ClientSession, amplify_emulator: Emulator
) -> None:
    async def logout(client_id: str, logout_uri: str) -> tuple[int, str | None]:
        async with http.get(
            f"{web.domain}/logout",
            params={"client_id": client_id, "logout_uri": logout_uri},
            allow_redirects=False,
        ) as response:
            return response.status, response.headers.get("Location")

    assert await logout(web.client_id, BYE) == (302, BYE)
    assert await logout(web.client_id, "https://evil.example.com/bye") == (400, None)
    assert await logout("nobody", BYE) == (400, None)
    assert amplify_emulator.front.calls["Logout"] == 3
    assert amplify_emulator.front.logouts == [(web.client_id, BYE)]


async def test_boto3_sees_the_oauth_settings_provision_made(
    web: EmulatedPool, amplify_emulator: Emulator
) -> None:
    client = amplify_emulator.client("cognito-idp").describe_user_pool_client(
        UserPoolId=web.user_pool_id, ClientId=web.client_id
    )["UserPoolClient"]
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["CallbackURLs"] == [LOOPBACK, APP]
    assert client["SupportedIdentityProviders"] == ["COGNITO", "Google"]
    assert web.scopes == ("orders/read",)
