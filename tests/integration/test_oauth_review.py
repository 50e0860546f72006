"""Review of issue 18's client side, through the emulator and scripted servers on 127.0.0.1.

Each test states a promise of the README or DESIGN.md for the hosted-UI,
client-credentials or handed-in sessions; those that fail on the reviewed
code name the bug in their comment.
"""

from __future__ import annotations

import base64
import logging
import socket
import time as _time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import anyio
import anyio.abc
import pytest

from amplify_session import (
    AuthConfig,
    AuthError,
    ClientCredentialsConfig,
    EventName,
    InvalidConfigurationException,
    InvalidResponseException,
    InvalidStateException,
    MemoryStorage,
    NetworkError,
    OAuthConfig,
    OAuthError,
    SessionManager,
)
from amplify_session._timing import SystemClock
from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.m2m import (
    CLIENT,
    SECRET,
    endpoint_config,
    granted,
    machine_pool,
    machine_token,
    pool_config,
)
from tests.support.retry import fast_retry
from tests.support.scripted_server import Answer, scripted_server

pytestmark = pytest.mark.anyio

LOOPBACK = "http://127.0.0.1/callback"
WEB_CALLBACK = "https://app.example.com/callback"
SIGNED_OUT = "https://app.example.com/signed-out"


# -- helpers -------------------------------------------------------------------


def hosted_pool(emulator: Emulator, *callbacks: str) -> EmulatedPool:
    emulator.reset()
    return emulator.provision(
        oauth_flows=("code",),
        callback_urls=callbacks or (LOOPBACK, WEB_CALLBACK),
        logout_urls=(SIGNED_OUT,),
    )


def hosted_config(pool: EmulatedPool, redirect: str = LOOPBACK) -> AuthConfig:
    assert pool.domain is not None
    oauth = OAuthConfig(
        domain=pool.domain,
        scopes=("openid", "email"),
        redirect_sign_in=(redirect,),
        redirect_sign_out=(SIGNED_OUT,),
    )
    return pool.config(allow_guest_access=False, oauth=oauth)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class Browser:
    """Visits URLs like a browser (follows redirects); a page it cannot reach is recorded."""

    def __init__(self, group: anyio.abc.TaskGroup) -> None:
        self._group = group
        self.opened: list[str] = []
        self.pages: list[tuple[int, str]] = []  # (status, final URL); status 0: unreachable

    def open(self, url: str) -> None:
        self.opened.append(url)
        self._group.start_soon(self.visit, url)

    def record(self, url: str) -> None:
        """An ``open_url`` that only notes the URL (the user has not acted yet)."""
        self.opened.append(url)

    async def visit(self, url: str) -> None:
        try:
            async with aiohttp.ClientSession() as http, http.get(url) as response:
                await response.read()
                self.pages.append((response.status, str(response.url)))
        except aiohttp.ClientError:
            self.pages.append((0, url))


async def _follow_authorize(url: str) -> str:
    """Where the authorize endpoint sends the browser: the callback with code and state."""
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as response:
        assert response.status == 302
        return response.headers["Location"]


async def _held_token(manager: SessionManager) -> str | None:
    tokens = (await manager.fetch_auth_session()).tokens
    return str(tokens.access_token) if tokens is not None else None


async def _until(check: Callable[[], bool], limit: float = 10.0) -> None:
    with anyio.fail_after(limit):
        while not check():
            await anyio.sleep(0.02)


class BreakableStorage(MemoryStorage):
    """A storage whose backend raises its own error while ``broken``."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("the storage backend is unreachable")

    async def get_item(self, key: str) -> str | None:
        self._check()
        return await super().get_item(key)

    async def set_item(self, key: str, value: str) -> None:
        self._check()
        await super().set_item(key, value)

    async def remove_item(self, key: str) -> None:
        self._check()
        await super().remove_item(key)

    async def update_items(self, changes: Any) -> None:
        self._check()
        await super().update_items(changes)

    def stored_token(self) -> bool:
        return any(key.endswith(".accessToken") for key in self._items)


class SteppedClock(SystemClock):
    """The real monotonic clock, and a wall clock the test steps (monotonic untouched)."""

    def __init__(self) -> None:
        self.step = 0.0

    def time(self) -> float:  # type: ignore[override]
        return _time.time() + self.step


async def _sign_in_through_browser(manager: SessionManager) -> tuple[Browser, list[object]]:
    """Sign in with a browser stand-in; stop at the page it lands on when it is not ours.

    Returns the browser (what it opened and landed on) and the sign-in's outcome
    (empty: it was still waiting when the browser landed on another page).
    """
    outcome: list[object] = []
    async with anyio.create_task_group() as group:
        browser = Browser(group)

        async def sign_in() -> None:
            try:
                outcome.append(await manager.sign_in_with_redirect(open_url=browser.open))
            except AuthError as err:
                outcome.append(err)

        group.start_soon(sign_in)
        await _until(lambda: bool(browser.pages))
        if browser.pages[0][0] == 200:
            await _until(lambda: bool(outcome))
        group.cancel_scope.cancel()
    return browser, outcome


def _free_port(host: str, family: socket.AddressFamily) -> int:
    """A port free on ``host`` and on 127.0.0.1 (racy, as any such choice)."""
    for _ in range(50):
        with socket.socket(family) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no free port")


# -- hosted UI -----------------------------------------------------------------


async def test_a_non_ascii_state_at_the_listener_is_refused_and_the_wait_goes_on(
    amplify_emulator: Emulator,
) -> None:
    # Bug: code_from compares states with secrets.compare_digest, which raises
    # TypeError on non-ASCII text; through_loopback only catches AuthErrors, so
    # any local page sending ?state=%C3%A9 to the listener kills the sign-in
    # with a TypeError (not an AuthError).
    pool = hosted_pool(amplify_emulator)
    forged: list[int] = []
    async with (
        anyio.create_task_group() as group,
        SessionManager(hosted_config(pool)) as manager,
    ):
        browser = Browser(group)

        async def forge_then_open(url: str) -> None:
            redirect_uri = query_of(url)["redirect_uri"]
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{redirect_uri}?code=x&state=%C3%A9") as response,
            ):
                forged.append(response.status)
            browser.open(url)

        def opener(url: str) -> None:
            group.start_soon(forge_then_open, url)

        with anyio.fail_after(20):
            result = await manager.sign_in_with_redirect(open_url=opener)
    assert result.is_signed_in
    assert forged == [400]


async def test_sign_out_abandons_a_browser_sign_in_waiting_for_its_redirect(
    amplify_emulator: Emulator,
) -> None:
    # Bug: sign_out() cancels only the SignInDesk's sign-in under way; the
    # hosted-UI wait (RedirectDesk.through_browser) is not one of them, so the
    # browser coming back after the sign-out still signs the user in. README
    # (Sign-out): "a sign-in under way is abandoned with InvalidStateException".
    pool = hosted_pool(amplify_emulator)
    outcome: list[object] = []
    async with (
        anyio.create_task_group() as group,
        SessionManager(hosted_config(pool)) as manager,
    ):
        browser = Browser(group)

        async def sign_in() -> None:
            try:
                outcome.append(await manager.sign_in_with_redirect(open_url=browser.record))
            except AuthError as err:
                outcome.append(err)

        group.start_soon(sign_in)
        await _until(lambda: bool(browser.opened))
        await manager.sign_out()
        await browser.visit(browser.opened[0])  # the user finishes in the browser after all
        with anyio.fail_after(10):
            while not outcome:
                await anyio.sleep(0.02)
        signed_in = await manager.is_authenticated()
    assert isinstance(outcome[0], InvalidStateException)
    assert not signed_in


async def test_sign_out_abandons_a_two_step_sign_in_under_way(amplify_emulator: Emulator) -> None:
    # Bug: sign_out() leaves RedirectDesk._under_way in place, so completing the
    # sign-in begun before the sign-out signs the user in. README (Sign-out):
    # a sign-in under way, like a challenge waiting for confirm_sign_in, is
    # abandoned by a sign-out.
    pool = hosted_pool(amplify_emulator)
    async with SessionManager(hosted_config(pool)) as manager:
        callback = await _follow_authorize(manager.begin_sign_in_with_redirect(WEB_CALLBACK))
        await manager.sign_out()
        with pytest.raises(AuthError):
            await manager.complete_sign_in_with_redirect(callback)
        assert not await manager.is_authenticated()


async def test_the_authorization_code_never_reaches_a_log_line(
    amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Bug: the loopback listener's aiohttp AppRunner keeps aiohttp's default
    # access log, which writes the request line ("GET /callback?code=...&state=...")
    # at INFO on the "aiohttp.access" logger. The code is a credential (the
    # library scrubs it from every echo); fix: AppRunner(..., access_log=None).
    caplog.set_level(logging.DEBUG)
    pool = hosted_pool(amplify_emulator)
    async with (
        anyio.create_task_group() as group,
        SessionManager(hosted_config(pool)) as manager,
    ):
        browser = Browser(group)
        with anyio.fail_after(20):
            await manager.sign_in_with_redirect(open_url=browser.open)
    [(status, landed)] = browser.pages
    assert status == 200
    code = query_of(landed)["code"]
    leaked = [r.name for r in caplog.records if code in r.getMessage()]
    assert leaked == []


async def test_an_ipv6_loopback_redirect_uri_is_listened_on(amplify_emulator: Emulator) -> None:
    # Bug: loopback_uri() accepts http://[::1]:PORT/... as a loopback redirect,
    # but listen_for_redirects() binds 127.0.0.1 only: the browser, sent to
    # [::1], finds nobody listening and the sign-in waits for ever. Fix: bind
    # the configured host's address (::1 for [::1], both for localhost).
    port = _free_port("::1", socket.AF_INET6)
    redirect = f"http://[::1]:{port}/callback"
    pool = hosted_pool(amplify_emulator, redirect)
    async with SessionManager(hosted_config(pool, redirect)) as manager:
        browser, outcome = await _sign_in_through_browser(manager)
    assert query_of(browser.opened[0])["redirect_uri"] == redirect
    assert browser.pages[0][0] == 200  # 0: the browser found nobody listening
    assert getattr(outcome[0], "is_signed_in", False)


async def test_a_registered_loopback_uri_without_a_path_is_sent_as_registered(
    amplify_emulator: Emulator,
) -> None:
    # Bug: listen_for_redirects() rebuilds the redirect URI from its parts
    # ("http://127.0.0.1:PORT" becomes "http://127.0.0.1:PORT/"), and Cognito
    # matches callback URLs exactly: the authorize endpoint refuses the rebuilt
    # one (a 400 page) and the sign-in waits for ever. Fix: with a port
    # configured, send the configured URI verbatim.
    port = _free_port("127.0.0.1", socket.AF_INET)
    redirect = f"http://127.0.0.1:{port}"
    pool = hosted_pool(amplify_emulator, redirect)
    async with SessionManager(hosted_config(pool, redirect)) as manager:
        browser, outcome = await _sign_in_through_browser(manager)
    assert query_of(browser.opened[0])["redirect_uri"] == redirect
    assert browser.pages[0][0] == 200  # 400: the authorize endpoint's refusal page
    assert getattr(outcome[0], "is_signed_in", False)


async def test_a_busy_loopback_port_is_a_configuration_error(amplify_emulator: Emulator) -> None:
    # (A promise that holds.) The configured port is taken: an AuthError that says so.
    pool = hosted_pool(amplify_emulator)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        redirect = f"http://127.0.0.1:{taken.getsockname()[1]}/callback"
        async with SessionManager(hosted_config(pool, redirect)) as manager:
            with pytest.raises(InvalidConfigurationException, match="cannot listen"):
                await manager.sign_in_with_redirect(open_url=lambda url: None)


async def test_a_huge_code_in_a_callback_is_an_auth_error(amplify_emulator: Emulator) -> None:
    # (A promise that holds.) The right state, a 1 MB code: refused, nothing kept.
    pool = hosted_pool(amplify_emulator)
    async with SessionManager(hosted_config(pool)) as manager:
        state = query_of(manager.begin_sign_in_with_redirect(WEB_CALLBACK))["state"]
        callback = f"{WEB_CALLBACK}?state={state}&code={'c' * (1 << 20)}"
        with anyio.fail_after(10), pytest.raises(AuthError):
            await manager.complete_sign_in_with_redirect(callback)
        assert not await manager.is_authenticated()


async def test_a_cancelled_exchange_answers_the_browser_and_keeps_nothing(
    amplify_emulator: Emulator,
) -> None:
    # (A promise that holds.) Cancelled while the code is being exchanged: the
    # browser is told, nothing is kept.
    pool = hosted_pool(amplify_emulator)
    amplify_emulator.front.inject("OAuth2Token", 2.0)
    async with SessionManager(hosted_config(pool)) as manager:
        async with anyio.create_task_group() as group:
            browser = Browser(group)
            with anyio.move_on_after(1.0):  # the exchange answers after 2 s
                await manager.sign_in_with_redirect(open_url=browser.open)
            await _until(lambda: bool(browser.pages))
        assert not await manager.is_authenticated()
    assert browser.pages[0][0] == 400


# -- client credentials --------------------------------------------------------


READ = {"orders": ("read",)}  # the one scope these app clients have and ask for


def m2m_pool(emulator: Emulator, lifetime: float = 3600) -> EmulatedPool:
    return machine_pool(emulator, lifetime, resource_servers=READ)


def m2m_config(pool: EmulatedPool, **overrides: Any) -> ClientCredentialsConfig:
    return pool_config(pool, **{"scopes": ("orders/read",), "retry": fast_retry(1), **overrides})


def machine_config(url: str, **overrides: Any) -> ClientCredentialsConfig:
    return endpoint_config(url, **{"scopes": ("orders/read",), **overrides})


async def test_an_echoed_basic_credential_is_scrubbed_from_the_error() -> None:
    # Bug: OAuthEndpoints.token() scrubs the secret and the whole header value
    # ("Basic <b64>"), not the base64 credentials alone, which a server or
    # proxy may echo ("bad credentials: <b64>"): the secret then reaches the
    # exception message (base64 decodes to "client:secret").
    basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    echo = {"error": "invalid_client", "error_description": f"bad credentials {basic}"}
    async with (
        scripted_server(Answer(401, echo)) as server,
        SessionManager(machine_config(server.url)) as machine,
    ):
        with pytest.raises(OAuthError) as caught:
            await machine.fetch_auth_session()
    leaked = basic in str(caught.value) or basic in repr(caught.value)
    assert not leaked  # (a bare `in` assertion would print the secret on failure)


async def test_a_deeply_nested_answer_from_the_token_endpoint_is_an_auth_error() -> None:
    # Bug: _oauth.py _token_answer and _refusal catch ValueError around
    # json.loads, which raises RecursionError on "[[[[..." (so does the user
    # pool transport, _transport.py _decode_success/_decode_error, older code):
    # fetch_auth_session raises RecursionError. Fix: catch (ValueError, RecursionError).
    for status, expected in ((200, InvalidResponseException), (400, AuthError)):
        async with (
            scripted_server(Answer(status, "[" * 100_000)) as server,
            SessionManager(machine_config(server.url)) as machine,
        ):
            with pytest.raises(expected):
                await machine.fetch_auth_session()


async def test_a_sign_out_clear_that_failed_is_retried_in_the_background(
    amplify_emulator: Emulator,
) -> None:
    # Bug: SessionManager._refresh_in_background returns at once for a paused
    # standing session without tokens, even when a sign-out's storage clear is
    # still pending (core.settled False): the loop spins on its backoff and
    # never lands the clear, so the app client's token stays stored (and is
    # restored by the next process) until some caller fetches. README
    # (Sign-out): "the clear is retried in the background (while the manager is
    # open)". Fix: return early only when self._core.settled.
    pool = m2m_pool(amplify_emulator)
    storage = BreakableStorage()
    async with SessionManager(m2m_config(pool), storage=storage) as machine:
        assert (await machine.fetch_auth_session()).tokens is not None
        storage.broken = True
        result = await machine.sign_out()
        assert not result.storage_cleared
        storage.broken = False
        with anyio.fail_after(8):  # the loop's first retries come within ~4 s
            while storage.stored_token():
                await anyio.sleep(0.05)
    assert amplify_emulator.front.calls["OAuth2Token"] == 1


async def test_a_sign_out_during_the_first_request_keeps_nothing_and_asks_no_more(
    amplify_emulator: Emulator,
) -> None:
    # Bug: sign_out() aborts the flight the background loop is running (the
    # first token request); SingleFlight restarts it for its waiter, the loop,
    # and SessionCore._refresh_tokens obtains a token for a standing session
    # without looking at standing_paused: the loop asks again at once and the
    # session is back, although "signed out: the loop does not ask by itself"
    # (test_client_credentials.py). Fix: a background run must not obtain
    # while standing_paused (check it inside the flight, under the lock).
    pool = m2m_pool(amplify_emulator)
    amplify_emulator.front.inject("OAuth2Token", 1.0)  # the first answer comes after 1 s
    storage = BreakableStorage()
    async with SessionManager(m2m_config(pool), storage=storage) as machine:
        events = machine.events()
        await _until(lambda: amplify_emulator.front.calls["OAuth2Token"] == 1)
        await machine.sign_out()
        await anyio.sleep(1.5)  # the delayed answer lands meanwhile
        asked = amplify_emulator.front.calls["OAuth2Token"]
        await events.aclose()
        names = [event.name async for event in events]
        stored = storage.stored_token()
    assert asked == 1
    assert EventName.SIGNED_IN not in names
    assert not stored


async def test_sign_out_of_an_app_client_session_does_not_claim_a_revocation(
    amplify_emulator: Emulator,
) -> None:
    # Bug: ClientCredentialsSource.revoke does nothing and returns, so
    # sign_out() reports SignOutResult(revoked=True), documented as "Cognito
    # confirmed the revocation"; the token stays valid until it expires
    # (README: "nothing can be revoked"). Fix: revoked=False for a standing
    # session (e.g. the source says whether it revoked anything).
    pool = m2m_pool(amplify_emulator)
    async with SessionManager(m2m_config(pool)) as machine:
        await machine.fetch_auth_session()
        result = await machine.sign_out()
    assert result.storage_cleared
    assert not result.revoked


async def test_a_token_endpoint_that_stalls_is_a_network_error_and_the_token_stays() -> None:
    # (A promise that holds.) Beyond request_timeout: NetworkError; a valid token
    # already held is served meanwhile.
    async with (
        scripted_server(granted(), "stall") as server,
        SessionManager(machine_config(server.url, request_timeout=0.5)) as machine,
    ):
        first = (await machine.fetch_auth_session()).tokens
        with pytest.raises(NetworkError):
            await machine.fetch_auth_session(force_refresh=True)
        assert (await machine.fetch_auth_session()).tokens == first


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(machine_token(exp=None), id="exp-null"),
        pytest.param(machine_token(exp="soon"), id="exp-text"),
        pytest.param(machine_token(exp=10**13), id="exp-absurd"),
        pytest.param(machine_token(iat=10**13), id="iat-absurd"),
        pytest.param(machine_token(exp=float("nan")), id="exp-nan"),
    ],
)
async def test_absurd_token_times_are_an_invalid_response(token: str) -> None:
    # (A promise that holds.) Unusable on arrival: InvalidResponseException, no session.
    async with (
        scripted_server(granted(token)) as server,
        SessionManager(machine_config(server.url)) as machine,
    ):
        with pytest.raises(InvalidResponseException):
            await machine.fetch_auth_session()


async def test_a_tampered_stored_token_counts_as_none_and_a_new_one_is_obtained(
    amplify_emulator: Emulator,
) -> None:
    # (A promise that holds.) Bad stored data: signedOut, then a new token, stored.
    pool = m2m_pool(amplify_emulator)
    storage = BreakableStorage()
    async with SessionManager(m2m_config(pool), storage=storage) as machine:
        first = (await machine.fetch_auth_session()).tokens
    assert first is not None
    [key] = [key for key in storage._items if key.endswith(".accessToken")]
    storage._items[key] = "not.a.jwt"
    async with SessionManager(m2m_config(pool), storage=storage) as machine:
        second = (await machine.fetch_auth_session()).tokens
    assert second is not None
    assert str(second.access_token) != str(first.access_token)
    assert storage._items[key] == str(second.access_token)


async def test_a_sign_out_in_one_process_signs_the_fleet_out_and_nobody_asks_by_itself(
    amplify_emulator: Emulator, redis_url: str
) -> None:
    # (A promise that holds.) Another process sharing Redis follows the
    # sign-out (signedOut) and its background loop does not ask again by itself.
    from amplify_session.storage.redis import RedisStorage

    pool = m2m_pool(amplify_emulator)
    async with (
        RedisStorage.from_url(redis_url, prefix="m2m-review") as one_storage,
        RedisStorage.from_url(redis_url, prefix="m2m-review") as other_storage,
        SessionManager(m2m_config(pool), storage=one_storage) as one,
        SessionManager(m2m_config(pool), storage=other_storage) as other,
    ):
        token = (await one.fetch_auth_session()).tokens
        assert (await other.fetch_auth_session()).tokens == token
        events = other.events()
        await one.sign_out()
        await anyio.sleep(1.0)  # the sign-out reaches the other process
        await events.aclose()
        names = [event.name async for event in events]
        asked = amplify_emulator.front.calls["OAuth2Token"]
    assert names == [EventName.SIGNED_OUT]
    assert asked == 1


async def test_wall_clock_steps_around_renewals_neither_serve_expired_nor_storm(
    amplify_emulator: Emulator,
) -> None:
    # (A promise that holds.) 4-second tokens; the wall clock jumps an hour
    # ahead, then two hours back, while the session renews: every token served
    # is valid by the server's clock, and renewals stay about one per lifetime.
    pool = m2m_pool(amplify_emulator, lifetime=4)
    clock = SteppedClock()
    config = m2m_config(pool, refresh_window=1.0, expiry_tolerance=0.25)
    async with SessionManager(config, clock=clock) as machine:
        for step in (3600.0, -3600.0, 0.0):
            clock.step = step
            for _ in range(14):
                tokens = (await machine.fetch_auth_session()).tokens
                assert tokens is not None
                assert tokens.access_token.payload["exp"] > _time.time()
                await anyio.sleep(0.1)
    assert 2 <= amplify_emulator.front.calls["OAuth2Token"] <= 3


async def test_redis_stopped_during_a_renewal_keeps_the_token_served_and_stores_it_after(
    amplify_emulator: Emulator,
) -> None:
    # (A promise that holds.) Redis down at the renewal: renewed locally and
    # served from memory; once Redis is back, the manager stores it by itself.
    from amplify_session.storage.redis import RedisStorage
    from tests.support.redis_server import RedisServer

    server = RedisServer()
    server.start()
    pool = m2m_pool(amplify_emulator, lifetime=4)
    config = m2m_config(pool, refresh_window=1.0, expiry_tolerance=0.25, request_timeout=1.0)
    try:
        async with (
            RedisStorage.from_url(server.url, prefix="m2m-down") as storage,
            SessionManager(config, storage=storage) as machine,
        ):
            first = (await machine.fetch_auth_session()).tokens
            assert first is not None
            await anyio.to_thread.run_sync(server.stop)
            served = first
            with anyio.fail_after(8):
                while served == first:  # every fetch answers with a valid token
                    served = (await machine.fetch_auth_session()).tokens
                    assert served is not None
                    assert served.access_token.payload["exp"] > _time.time()
                    await anyio.sleep(0.05)
            await anyio.to_thread.run_sync(server.start)
            key = f"CognitoIdentityServiceProvider.{pool.client_id}.{pool.client_id}.accessToken"
            with anyio.fail_after(10):
                while await storage.get_item(key) != await _held_token(machine):
                    await anyio.sleep(0.1)
    finally:
        server.stop()
