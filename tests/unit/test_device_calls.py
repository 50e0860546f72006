"""The device calls read what the server answers as untrusted, and list every page, boundedly.

A scripted transport stands in for Cognito: the parsing and the page loop
are the library's and need no socket.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from amplify_session import (
    AuthConfig,
    CognitoRequest,
    CognitoResponse,
    DeviceMetadataNotFoundException,
    InvalidResponseException,
    MemoryStorage,
    RetryPolicy,
    decode_jwt,
)
from amplify_session._cognito import CognitoTransport
from amplify_session._cognito._devices import DeviceCalls
from amplify_session._device_desk import DeviceDesk
from amplify_session._token_store import TokenStore
from amplify_session._tokens import DeviceRecord, TokenSet
from tests.support.tokens import make_jwt

pytestmark = pytest.mark.anyio
CONFIG = AuthConfig(
    user_pool_id="us-east-1_Devices1",
    user_pool_client_id="client1",
    retry=RetryPolicy(attempts=1, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0),
)
DEVICE = DeviceRecord(
    device_key="us-east-1_d1", device_group_key="-g", random_password="device pw!"
)


class Pages:
    """Answers ListDevices with scripted pages; records every request body."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.bodies = list(bodies)
        self.requests: list[tuple[str, dict[str, Any]]] = []

    async def send(self, request: CognitoRequest) -> CognitoResponse:
        self.requests.append((request.operation, json.loads(request.body)))
        body = self.bodies.pop(0) if self.bodies else {}
        return CognitoResponse(200, json.dumps(body))

    async def aclose(self) -> None:
        pass


def _desk(transport: Pages, storage: MemoryStorage | None = None) -> DeviceDesk:
    store = TokenStore(storage or MemoryStorage(), CONFIG.user_pool_client_id, None)
    return DeviceDesk(DeviceCalls(CognitoTransport(CONFIG, transport), CONFIG), store)


def _tokens(device: DeviceRecord | None = None) -> TokenSet:
    return TokenSet(
        username="alice",
        access_token=decode_jwt(make_jwt()),
        id_token=None,
        refresh_token="r",
        device=device,
    )


def _entry(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "DeviceKey": key,
        "DeviceAttributes": [
            {"Name": "device_name", "Value": f"host-{key}"},
            {"Name": "dev:device_remembered_status", "Value": "remembered"},
        ],
        "DeviceCreateDate": 1.7e9,
        "DeviceLastAuthenticatedDate": 1.8e9,
        **extra,
    }


async def test_every_page_is_read_with_its_token() -> None:
    pages = Pages(
        {"Devices": [_entry("a"), _entry("b")], "PaginationToken": "p2"},
        {"Devices": [_entry("c")]},
    )
    devices = await _desk(pages).fetch(_tokens())
    assert [d.id for d in devices] == ["a", "b", "c"]
    assert devices[0].name == "host-a"
    assert devices[0].remembered
    assert devices[0].last_authenticated_date == datetime.fromtimestamp(1.8e9, tz=timezone.utc)
    assert devices[0].last_modified_date is None
    assert [body.get("PaginationToken") for _, body in pages.requests] == [None, "p2"]
    assert all(body["Limit"] == 60 for _, body in pages.requests)


async def test_a_server_that_paginates_forever_gets_a_bounded_number_of_calls() -> None:
    endless = Pages(*({"Devices": [], "PaginationToken": f"p{n}"} for n in range(1000)))
    with pytest.raises(InvalidResponseException, match="more than 100 pages"):
        await _desk(endless).fetch(_tokens())
    assert len(endless.requests) == 100


async def test_a_repeated_page_token_stops_the_listing() -> None:
    looping = Pages(*({"Devices": [], "PaginationToken": "same"} for _ in range(10)))
    with pytest.raises(InvalidResponseException, match="repeated"):
        await _desk(looping).fetch(_tokens())
    assert len(looping.requests) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"Devices": "nope"},
        {"Devices": [42]},
        {"Devices": [{"DeviceAttributes": []}]},
        {"Devices": [_entry("a", DeviceAttributes={"Name": "x"})]},
        {"Devices": [_entry("a", DeviceCreateDate="yesterday")]},
        {"Devices": [_entry("a", DeviceCreateDate=1e300)]},
        {"Devices": [_entry("a", DeviceCreateDate=float("nan"))]},
        {"Devices": [], "PaginationToken": 7},
    ],
)
async def test_a_malformed_listing_is_an_invalid_response(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidResponseException):
        await _desk(Pages(body)).fetch(_tokens())


async def test_remember_and_forget_need_a_confirmed_device() -> None:
    desk = _desk(Pages())
    with pytest.raises(DeviceMetadataNotFoundException):
        await desk.remember(_tokens())
    with pytest.raises(DeviceMetadataNotFoundException):
        await desk.forget(_tokens(), None)


async def test_forgetting_the_current_device_removes_its_record_and_no_other() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, CONFIG.user_pool_client_id, None)
    await store.save_device("alice", DEVICE)
    calls = Pages({}, {})
    desk = _desk(calls, storage)
    await desk.forget(_tokens(DEVICE), "us-east-1_other")
    assert await store.load_device("alice") == DEVICE
    await desk.forget(_tokens(DEVICE), None)
    assert await store.load_device("alice") is None
    assert [(op, body["DeviceKey"]) for op, body in calls.requests] == [
        ("ForgetDevice", "us-east-1_other"),
        ("ForgetDevice", "us-east-1_d1"),
    ]


async def test_remember_sends_the_stored_device_when_the_tokens_have_none() -> None:
    storage = MemoryStorage()
    await TokenStore(storage, CONFIG.user_pool_client_id, None).save_device("alice", DEVICE)
    calls = Pages({})
    await _desk(calls, storage).remember(_tokens())
    assert calls.requests[0][0] == "UpdateDeviceStatus"
    assert calls.requests[0][1]["DeviceKey"] == "us-east-1_d1"
    assert calls.requests[0][1]["DeviceRememberedStatus"] == "remembered"
    assert "device pw!" not in json.dumps(
        calls.requests
    )  # the device password never goes on the wire


def test_the_cli_prints_a_servers_device_names_without_terminal_codes() -> None:
    from amplify_session._cli import _printable

    assert _printable("edge-box-7") == "edge-box-7"
    assert _printable("evil\x1b[2J\nname\ud800") == "evil?[2J?name?"


async def test_forgetting_the_tokens_device_leaves_a_newer_stored_one() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, CONFIG.user_pool_client_id, None)
    newer = DeviceRecord(device_key="us-east-1_d2", device_group_key="-g", random_password="p2")
    await store.save_device("alice", newer)
    await _desk(Pages({}), storage).forget(_tokens(DEVICE), None)
    assert await store.load_device("alice") == newer
