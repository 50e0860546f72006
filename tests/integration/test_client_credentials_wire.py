"""The client_credentials token source against a scripted token endpoint on 127.0.0.1.

What it sends (grant, scope, HTTP Basic), and what it makes of hostile or
absurd answers: every failure is an AuthError, none carries the secret, a
refusal ends the session, and a transient failure keeps serving the token.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import anyio
import pytest

from amplify_session import (
    AuthError,
    EventName,
    InternalErrorException,
    InvalidResponseException,
    InvalidStateException,
    NetworkError,
    OAuthError,
    SessionManager,
    TooManyRequestsException,
)
from tests.support.m2m import CLIENT, SECRET, endpoint_config, granted, machine_token
from tests.support.scripted_server import Answer, Step, scripted_server

pytestmark = pytest.mark.anyio


async def test_it_posts_the_grant_with_basic_auth_and_the_scopes() -> None:
    async with (
        scripted_server(granted()) as server,
        SessionManager(endpoint_config(server.url)) as machine,
    ):
        session = await machine.fetch_auth_session()
    assert session.tokens is not None
    assert session.tokens.refresh_token is None
    assert session.tokens.id_token is None
    [request] = server.requests
    assert request["path"] == "/oauth2/token"
    assert request["body"] == {
        "grant_type": "client_credentials",
        "scope": "orders/read orders/write",
    }
    basic = base64.b64decode(request["authorization"].removeprefix("Basic ")).decode()
    assert basic == f"{CLIENT}:{SECRET}"


async def test_no_scopes_asks_for_all_the_client_may_have() -> None:
    async with (
        scripted_server(granted()) as server,
        SessionManager(endpoint_config(server.url, scopes=())) as machine,
    ):
        await machine.fetch_auth_session()
    assert server.requests[0]["body"] == {"grant_type": "client_credentials"}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer(200, "not json"), InvalidResponseException),
        (Answer(200, [1, 2]), InvalidResponseException),
        (Answer(200, {"expires_in": 3600, "token_type": "Bearer"}), InvalidResponseException),
        (granted(token_type="mac"), InvalidResponseException),
        (granted("not-a-jwt"), InvalidResponseException),
        (granted(machine_token(client_id="another-client")), InvalidResponseException),
        (granted(machine_token(token_use="id")), InvalidResponseException),
        (granted(machine_token(lifetime=-60)), InvalidResponseException),
        (Answer(400, {"error": "invalid_client"}), OAuthError),
        (Answer(400, {"error": "invalid_scope"}), OAuthError),
        (Answer(400, {"error": "unauthorized_client"}), OAuthError),
        (Answer(401, {"error": "<script>alert(1)</script>"}), AuthError),
        (Answer(404, "<html>no such domain</html>"), AuthError),
        (Answer(503, {"error": "server_error"}), InternalErrorException),
        (Answer(429, ""), TooManyRequestsException),
        ("reset", NetworkError),
    ],
)
async def test_every_bad_answer_is_an_auth_error(answer: Step, expected: type[AuthError]) -> None:
    async with (
        scripted_server(answer) as server,
        SessionManager(endpoint_config(server.url)) as machine,
    ):
        with pytest.raises(expected) as caught:
            await machine.fetch_auth_session()
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    if expected is OAuthError:
        assert caught.value.ends_session
        assert caught.value.name == answer.body["error"]  # type: ignore[union-attr]


async def test_a_secret_echoed_in_the_error_description_is_scrubbed() -> None:
    echo = {"error": "invalid_client", "error_description": f"bad secret {SECRET} for {CLIENT}"}
    async with (
        scripted_server(Answer(400, echo)) as server,
        SessionManager(endpoint_config(server.url)) as machine,
    ):
        with pytest.raises(OAuthError) as caught:
            await machine.fetch_auth_session()
    assert SECRET not in str(caught.value)
    assert "invalid_client" in str(caught.value)


async def test_a_refused_first_request_is_one_failure_event_and_no_background_retry() -> None:
    async with (
        scripted_server(Answer(400, {"error": "invalid_client"})) as server,
        SessionManager(endpoint_config(server.url)) as machine,
    ):
        events = machine.events()
        with pytest.raises(OAuthError):
            await machine.fetch_auth_session()
        await anyio.sleep(0.5)  # the background loop has had its chances
        requests = len(server.requests)
        await events.aclose()
        names = [event.name async for event in events]
    assert requests == 1
    assert names == [EventName.TOKEN_REFRESH_FAILURE]


async def test_a_caller_asks_again_after_a_refusal_and_the_session_begins() -> None:
    async with (
        scripted_server(Answer(400, {"error": "invalid_scope"}), granted()) as server,
        SessionManager(endpoint_config(server.url)) as machine,
    ):
        with pytest.raises(OAuthError):
            await machine.fetch_auth_session()
        session = await machine.fetch_auth_session()
        assert session.tokens is not None
        assert await machine.is_authenticated()


async def test_user_methods_are_refused_with_a_clear_error() -> None:
    async with (
        scripted_server(granted()) as server,
        SessionManager(endpoint_config(server.url)) as machine,
    ):
        for call in (
            lambda: machine.sign_in("alice", "pw"),
            lambda: machine.confirm_sign_in("123456"),
            machine.fetch_devices,
            machine.remember_device,
        ):
            with pytest.raises(InvalidStateException, match="no user"):
                await call()
    assert server.requests == []


async def test_the_manager_opens_with_no_request_until_the_loop_or_a_caller_asks() -> None:
    # Opened: the background loop requests the token at once (a standing session is due).
    async with (
        scripted_server(granted()) as server,
        SessionManager(endpoint_config(server.url)) as machine,
    ):
        with anyio.fail_after(5):
            while not server.requests:
                await anyio.sleep(0.01)
        session = await machine.fetch_auth_session()
        assert len(server.requests) == 1
    assert session.tokens is not None
    # Not opened: nothing is sent until a fetch.
    async with scripted_server(granted()) as server:
        machine = SessionManager(endpoint_config(server.url))
        await anyio.sleep(0.1)
        assert server.requests == []
        await machine.fetch_auth_session()
        await machine.aclose()
        assert len(server.requests) == 1


def test_the_config_validates_and_hides_the_secret() -> None:
    from amplify_session import InvalidConfigurationException

    config = endpoint_config("https://pool.auth.us-east-1.amazoncognito.com/")
    assert SECRET not in repr(config)
    assert config.domain == "https://pool.auth.us-east-1.amazoncognito.com"
    assert endpoint_config("pool.auth.us-east-1.amazoncognito.com").domain == config.domain
    assert endpoint_config("x", scopes="a/b c/d").scopes == ("a/b", "c/d")
    for bad in (
        {"client_secret": ""},
        {"client_id": " "},
        {"domain": "ftp://x"},
        {"domain": "https://x/?q=1"},
        {"scopes": ("has space",)},
        {"scopes": ('quote"',)},
        {"user_pool_id": "nonsense"},
        {"refresh_window": -1},
        {"domain": ""},
    ):
        with pytest.raises(InvalidConfigurationException):
            endpoint_config("https://x", **bad)
    assert not math.isnan(config.refresh_window)


async def test_with_its_storage_down_the_app_client_still_gets_its_token() -> None:
    import socket

    from amplify_session.storage.redis import RedisStorage

    with socket.socket() as probe:  # a port nobody listens on: Redis is down
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    async with (
        scripted_server(granted()) as server,
        RedisStorage.from_url(dead, socket_connect_timeout=0.5) as storage,
        SessionManager(endpoint_config(server.url), storage=storage) as machine,
    ):
        session = await machine.fetch_auth_session()
        again = await machine.fetch_auth_session()
    assert session.tokens is not None
    assert again.tokens == session.tokens
    assert len(server.requests) == 1  # held in memory: not asked for again


async def test_a_fetch_after_a_sign_out_elsewhere_returns_a_token_not_an_empty_session(
    tmp_path: Any,
) -> None:
    from amplify_session import FileStorage

    path = tmp_path / "machine.json"
    async with (
        scripted_server(granted(), granted(), granted()) as server,
        SessionManager(endpoint_config(server.url), storage=FileStorage(path)) as one,
        SessionManager(endpoint_config(server.url), storage=FileStorage(path)) as two,
    ):
        assert (await one.fetch_auth_session()).tokens is not None
        assert (await two.fetch_auth_session()).tokens is not None  # adopted from the file
        await one.sign_out()
        renewed = await two.fetch_auth_session(force_refresh=True)
    assert renewed.tokens is not None
