"""The remembered device: its own record and store methods, in Amplify's device keys.

A sign-out still forgets it (until devices can be confirmed); the layout is
the one sessions were stored in before the device had a record of its own.
"""

import pytest

from amplify_session import MemoryStorage, decode_jwt
from amplify_session._token_store import TokenStore
from amplify_session._tokens import DeviceRecord, TokenSet
from tests.support.tokens import make_jwt

pytestmark = pytest.mark.anyio
PREFIX = "CognitoIdentityServiceProvider.client1.alice"
DEVICE = DeviceRecord(device_key="us-east-1_device", device_group_key="group-1")


def _tokens(device: DeviceRecord | None = None) -> TokenSet:
    return TokenSet(
        username="alice",
        access_token=decode_jwt(make_jwt()),
        id_token=None,
        refresh_token="refresh-1",
        device=device,
    )


async def test_a_session_stored_before_the_record_existed_loads_its_device() -> None:
    storage = MemoryStorage()
    await storage.set_item("CognitoIdentityServiceProvider.client1.LastAuthUser", "alice")
    await storage.set_item(f"{PREFIX}.accessToken", make_jwt())
    await storage.set_item(f"{PREFIX}.deviceKey", "us-east-1_device")
    await storage.set_item(f"{PREFIX}.deviceGroupKey", "group-1")
    tokens = await TokenStore(storage, "client1", None).load()
    assert tokens is not None
    assert tokens.device == DEVICE
    assert tokens.device == DeviceRecord(device_key="us-east-1_device", device_group_key="group-1")


async def test_saving_tokens_writes_their_device_under_amplifys_keys() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(DEVICE), signing_in=True)
    assert await storage.get_item(f"{PREFIX}.deviceKey") == "us-east-1_device"
    assert await storage.get_item(f"{PREFIX}.deviceGroupKey") == "group-1"
    # Tokens without a device (a sign-in Cognito sent no device for) remove it.
    await store.save(_tokens(), signing_in=True)
    assert await storage.get_item(f"{PREFIX}.deviceKey") is None
    assert await storage.get_item(f"{PREFIX}.deviceGroupKey") is None


async def test_the_device_is_saved_and_cleared_without_touching_the_tokens() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(), signing_in=True)
    await store.save_device("alice", DEVICE)
    assert await store.load_device("alice") == DEVICE
    assert await store.load() == _tokens(DEVICE)
    await store.clear_device("alice")
    assert await store.load_device("alice") is None
    assert await store.load() == _tokens()


async def test_a_sign_out_still_forgets_the_device() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(DEVICE), signing_in=True)
    await store.clear("alice")
    assert await store.load_device("alice") is None
    assert await storage.get_item(f"{PREFIX}.deviceKey") is None
    assert await storage.get_item(f"{PREFIX}.deviceGroupKey") is None


async def test_a_device_is_read_whatever_the_sign_out_marker_says() -> None:
    # A device outlives the session it was remembered in; the marker voids tokens only.
    store = TokenStore(MemoryStorage(), "client1", None)
    await store.save(_tokens(), signing_in=True)
    await store.clear("alice")
    await store.save_device("alice", DEVICE)
    assert await store.load() is None
    assert await store.load_device("alice") == DEVICE


async def test_a_group_key_without_a_device_key_is_no_device() -> None:
    storage = MemoryStorage()
    await storage.set_item(f"{PREFIX}.deviceGroupKey", "group-1")
    assert await TokenStore(storage, "client1", None).load_device("alice") is None


def test_the_record_of_no_key_is_none() -> None:
    assert DeviceRecord.of(None, "group-1") is None
    assert DeviceRecord.of("", None) is None
    assert DeviceRecord.of("us-east-1_device", "") == DeviceRecord(device_key="us-east-1_device")
