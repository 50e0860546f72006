"""Hosted-UI sign-in (authorization code + PKCE) through the emulator's OAuth domain.

An aiohttp client stands in for the browser: it opens the authorize URL and
follows the redirect to the manager's loopback listener on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import anyio
import anyio.abc
import pytest

from amplify_session import (
    AuthConfig,
    InvalidConfigurationException,
    InvalidParameterException,
    MemoryStorage,
    OAuthConfig,
    OAuthError,
    SessionManager,
    UserAlreadyAuthenticatedException,
)
from amplify_session.emulator import EmulatedPool, Emulator

pytestmark = pytest.mark.anyio

LOOPBACK = "http://127.0.0.1/callback"
WEB_CALLBACK = "https://app.example.com/callback"
SIGNED_OUT = "https://app.example.com/signed-out"


@pytest.fixture
def hosted(amplify_emulator: Emulator) -> EmulatedPool:
    amplify_emulator.reset()
    return amplify_emulator.provision(
        oauth_flows=("code",),
        callback_urls=(LOOPBACK, WEB_CALLBACK),
        logout_urls=(SIGNED_OUT,),
        identity_providers=("COGNITO", "Google"),
    )


def hosted_config(pool: EmulatedPool, **overrides: Any) -> AuthConfig:
    assert pool.domain is not None
    oauth = OAuthConfig(
        domain=pool.domain,
        scopes=("openid", "email", "aws.cognito.signin.user.admin"),
        redirect_sign_in=(LOOPBACK,),
        redirect_sign_out=(SIGNED_OUT,),
    )
    return pool.config(allow_guest_access=False, oauth=oauth, **overrides)


class Browser:
    """Opens URLs the way a browser would: follows redirects, records where it went."""

    def __init__(self, group: anyio.abc.TaskGroup) -> None:
        self._group = group
        self.pages: list[tuple[int, str]] = []  # (status, final URL) of each visit
        self.opened: list[str] = []

    def open(self, url: str) -> None:
        self.opened.append(url)
        self._group.start_soon(self.visit, url)

    async def visit(self, url: str) -> None:
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            await response.read()
            self.pages.append((response.status, str(response.url)))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_a_cli_signs_in_through_the_browser_and_the_session_refreshes(
    hosted: EmulatedPool, amplify_emulator: Emulator
) -> None:
    storage = MemoryStorage()
    async with (
        anyio.create_task_group() as group,
        SessionManager(hosted_config(hosted), storage=storage) as manager,
    ):
        browser = Browser(group)
        with anyio.fail_after(20):
            result = await manager.sign_in_with_redirect(open_url=browser.open)
        assert result.is_signed_in
        user = await manager.get_current_user()
        first = (await manager.fetch_auth_session()).tokens
        again = (await manager.fetch_auth_session(force_refresh=True)).tokens
    assert user.username == hosted.username
    assert user.sign_in_details is not None
    assert user.sign_in_details.auth_flow_type == "SIGN_IN_WITH_REDIRECT"
    assert first is not None
    assert again is not None
    assert str(again.access_token) != str(first.access_token)
    [url] = browser.opened
    sent = query_of(url)
    assert sent["response_type"] == "code"
    assert sent["client_id"] == hosted.client_id
    assert sent["code_challenge_method"] == "S256"
    assert len(sent["state"]) >= 32
    assert len(sent["nonce"]) >= 32
    assert sent["scope"] == "openid email aws.cognito.signin.user.admin"
    assert urlsplit(sent["redirect_uri"]).hostname == "127.0.0.1"
    assert "identity_provider" not in sent
    # The browser was shown the listener's success page.
    [(status, landed)] = browser.pages
    assert status == 200
    assert landed.startswith(sent["redirect_uri"])
    # The id token carries the nonce; the access token the scopes asked for.
    assert first.id_token is not None
    assert first.id_token.payload["nonce"] == sent["nonce"]
    assert "openid" in str(first.access_token.payload.get("scope", ""))


async def test_a_federated_provider_is_asked_for_by_name(
    hosted: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with anyio.create_task_group() as group, SessionManager(hosted_config(hosted)) as manager:
        browser = Browser(group)
        with anyio.fail_after(20):
            await manager.sign_in_with_redirect(provider="Google", open_url=browser.open)
    assert query_of(browser.opened[0])["identity_provider"] == "Google"
    assert amplify_emulator.front.authorize_requests[-1]["identity_provider"] == "Google"


async def test_a_redirect_with_another_state_is_refused_and_the_real_one_still_lands(
    hosted: EmulatedPool,
) -> None:
    async with anyio.create_task_group() as group, SessionManager(hosted_config(hosted)) as manager:
        browser = Browser(group)
        forged_status: list[int] = []

        async def forge_then_open(url: str) -> None:
            redirect_uri = query_of(url)["redirect_uri"]
            forged = f"{redirect_uri}?{urlencode({'code': 'attacker-code', 'state': 'forged'})}"
            async with aiohttp.ClientSession() as http, http.get(forged) as response:
                forged_status.append(response.status)
            browser.open(url)

        def opener(url: str) -> None:
            group.start_soon(forge_then_open, url)

        with anyio.fail_after(20):
            result = await manager.sign_in_with_redirect(open_url=opener)
        assert result.is_signed_in
    assert forged_status == [400]
    assert browser.pages[0][0] == 200


async def test_a_refusal_from_the_hosted_ui_ends_the_sign_in(
    hosted: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.deny(hosted.user_pool_id, "access_denied")
    async with anyio.create_task_group() as group, SessionManager(hosted_config(hosted)) as manager:
        browser = Browser(group)
        with anyio.fail_after(20), pytest.raises(OAuthError) as caught:
            await manager.sign_in_with_redirect(open_url=browser.open)
        assert caught.value.name == "access_denied"
        assert not await manager.is_authenticated()


async def _follow_authorize(url: str) -> str:
    """What a browser would be redirected to: the callback URL with code and state."""
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as response:
        assert response.status == 302
        return response.headers["Location"]


async def test_two_steps_for_a_web_backend_and_a_replayed_code_is_refused(
    hosted: EmulatedPool, amplify_emulator: Emulator
) -> None:
    storage = MemoryStorage()
    async with SessionManager(hosted_config(hosted), storage=storage) as manager:
        callback = await _follow_authorize(manager.begin_sign_in_with_redirect(WEB_CALLBACK))
        # Another state (a forged redirect) is refused; the sign-in stays under way.
        with pytest.raises(InvalidParameterException, match="state"):
            await manager.complete_sign_in_with_redirect(callback.replace("state=", "state=x"))
        assert (await manager.complete_sign_in_with_redirect(callback)).is_signed_in
        with pytest.raises(InvalidParameterException, match="under way"):
            await manager.complete_sign_in_with_redirect(callback)  # a code is tried once
        another = await _follow_authorize(manager.begin_sign_in_with_redirect(WEB_CALLBACK))
        with pytest.raises(UserAlreadyAuthenticatedException):
            await manager.complete_sign_in_with_redirect(another)
        signed_out = await manager.sign_out()
        # The spent code once more, in a new sign-in's redirect: the server refuses it
        # (spent, and sent with another verifier: refused either way, nothing kept).
        fresh = query_of(manager.begin_sign_in_with_redirect(WEB_CALLBACK))
        spent = {"code": query_of(callback)["code"], "state": fresh["state"]}
        replayed = f"{WEB_CALLBACK}?{urlencode(spent)}"
        with pytest.raises(OAuthError) as caught:
            await manager.complete_sign_in_with_redirect(replayed)
        assert caught.value.name == "invalid_grant"
        assert not await manager.is_authenticated()
        with pytest.raises(InvalidParameterException, match="under way"):
            await manager.complete_sign_in_with_redirect(callback)
    assert not [key for key in storage._items if key.endswith(".accessToken")]
    # Sign-out gave the /logout URL that ends the hosted UI's own session.
    logout = signed_out.hosted_ui_logout_url
    assert logout is not None
    assert query_of(logout) == {"client_id": hosted.client_id, "logout_uri": SIGNED_OUT}
    async with aiohttp.ClientSession() as http, http.get(logout, allow_redirects=False) as answer:
        assert answer.status == 302
        assert answer.headers["Location"].startswith(SIGNED_OUT)
    assert amplify_emulator.front.logouts == [(hosted.client_id, SIGNED_OUT)]


@pytest.mark.parametrize(
    "build",
    [
        lambda pool: pool.config(),  # no oauth at all
    ],
)
async def test_without_an_oauth_domain_the_redirect_sign_in_says_what_is_missing(
    hosted: EmulatedPool, build: Callable[[EmulatedPool], AuthConfig]
) -> None:
    async with SessionManager(build(hosted)) as manager:
        with pytest.raises(InvalidConfigurationException, match="oauth"):
            await manager.sign_in_with_redirect(open_url=print)
        with pytest.raises(InvalidConfigurationException, match="oauth"):
            manager.begin_sign_in_with_redirect(WEB_CALLBACK)


async def test_without_a_browser_the_default_says_to_pass_open_url(
    hosted: EmulatedPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    from amplify_session import SignInException

    monkeypatch.setattr(webbrowser, "open", lambda url: False)  # a headless host
    async with SessionManager(hosted_config(hosted)) as manager:
        with anyio.fail_after(10), pytest.raises(SignInException, match="browser") as caught:
            await manager.sign_in_with_redirect()
    assert "open_url" in str(caught.value.recovery_suggestion)
