"""The confirmed device: its own record and store methods, in Amplify's three device keys.

It outlives a sign-out (as Amplify's clearing of tokens keeps the device
keys); a sign-in says which device its tokens belong to; a refresh never
touches it; only all three keys together are a device (as Amplify reads them).
"""

import pytest

from amplify_session import MemoryStorage, decode_jwt
from amplify_session._token_store import TokenStore
from amplify_session._tokens import DeviceRecord, TokenSet
from tests.support.tokens import make_jwt

pytestmark = pytest.mark.anyio
PREFIX = "CognitoIdentityServiceProvider.client1.alice"
DEVICE = DeviceRecord(
    device_key="us-east-1_device", device_group_key="-group-1", random_password="device-pw-1"
)
KEYS = {
    "deviceKey": "us-east-1_device",
    "deviceGroupKey": "-group-1",
    "randomPasswordKey": "device-pw-1",
}


def _tokens(device: DeviceRecord | None = None) -> TokenSet:
    return TokenSet(
        username="alice",
        access_token=decode_jwt(make_jwt()),
        id_token=None,
        refresh_token="refresh-1",
        device=device,
    )


async def _stored_keys(storage: MemoryStorage) -> dict[str, str | None]:
    return {field: await storage.get_item(f"{PREFIX}.{field}") for field in KEYS}


async def test_a_session_stored_by_amplify_loads_its_device() -> None:
    storage = MemoryStorage()
    await storage.set_item("CognitoIdentityServiceProvider.client1.LastAuthUser", "alice")
    await storage.set_item(f"{PREFIX}.accessToken", make_jwt())
    for field, value in KEYS.items():
        await storage.set_item(f"{PREFIX}.{field}", value)
    tokens = await TokenStore(storage, "client1", None).load()
    assert tokens is not None
    assert tokens.device == DEVICE


@pytest.mark.parametrize("missing", list(KEYS))
async def test_a_device_lacking_any_key_is_no_device(missing: str) -> None:
    # An unconfirmed device (what this library stored before it confirmed
    # devices: no password) must never be sent: Cognito would refuse the refresh.
    storage = MemoryStorage()
    for field, value in KEYS.items():
        if field != missing:
            await storage.set_item(f"{PREFIX}.{field}", value)
    assert await TokenStore(storage, "client1", None).load_device("alice") is None


async def test_a_sign_in_writes_its_device_under_amplifys_keys() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(DEVICE), signing_in=True)
    assert await _stored_keys(storage) == KEYS
    # A sign-in whose tokens belong to no confirmed device removes the old one.
    await store.save(_tokens(), signing_in=True)
    assert await _stored_keys(storage) == dict.fromkeys(KEYS)


async def test_a_refresh_leaves_the_device_keys_alone() -> None:
    # Another process may have forgotten the device meanwhile: a refresh must not
    # write it back, nor remove one stored since.
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(DEVICE), signing_in=True)
    await store.clear_device("alice")
    await store.save(_tokens(DEVICE), signing_in=False)
    assert await _stored_keys(storage) == dict.fromkeys(KEYS)
    await store.save_device("alice", DEVICE)
    await store.save(_tokens(), signing_in=False)
    assert await _stored_keys(storage) == KEYS


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


async def test_a_sign_out_keeps_the_device() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(DEVICE), signing_in=True)
    await store.clear("alice")
    assert await store.load() is None
    assert await store.load_device("alice") == DEVICE
    assert await _stored_keys(storage) == KEYS


async def test_the_device_password_never_shows_in_a_repr() -> None:
    assert "device-pw-1" not in repr(DEVICE)
    assert "device-pw-1" not in repr(_tokens(DEVICE))


def test_the_record_needs_all_three_values() -> None:
    assert DeviceRecord.of(None, "-group-1", "pw") is None
    assert DeviceRecord.of("us-east-1_device", None, "pw") is None
    assert DeviceRecord.of("us-east-1_device", "-group-1", "") is None
    assert DeviceRecord.of("us-east-1_device", "-group-1", "device-pw-1") == DEVICE


async def test_restoring_a_lost_storage_writes_the_device_back() -> None:
    # A Redis restarted without persistence: the process that still holds the
    # session writes it back, device included, or another process would load
    # tokens without the device key Cognito requires on refresh.
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(DEVICE), signing_in=False, last_user=True)
    assert await _stored_keys(storage) == KEYS
    assert await store.load() == _tokens(DEVICE)
    # Tokens without a device restore nothing over a device stored meanwhile.
    await store.save(_tokens(), signing_in=False, last_user=True)
    assert await _stored_keys(storage) == KEYS
