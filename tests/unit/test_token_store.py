import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amplify_session import (
    AuthError,
    InvalidResponseException,
    InvalidTokenException,
    MemoryStorage,
    SignInDetails,
    StorageException,
    decode_jwt,
)
from amplify_session._cognito import AuthenticationResult, token_set_from
from amplify_session._token_store import TokenStore
from amplify_session._tokens import DeviceRecord, StoredIdentity, TokenSet
from amplify_session.storage import BatchKeyValueStorage, KeyValueStorage
from tests.support.tokens import make_jwt

pytestmark = pytest.mark.anyio
PREFIX = "CognitoIdentityServiceProvider.client1"
FIELDS = ["accessToken", "idToken", "refreshToken", "clockDrift", "deviceKey", "signInDetails"]


class RecordingStorage:
    """A plain (non-batch) storage that records the order of writes."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}
        self.log: list[str] = []

    async def get_item(self, key: str) -> str | None:
        return self.items.get(key)

    async def set_item(self, key: str, value: str) -> None:
        self.log.append(f"set {key}")
        self.items[key] = value

    async def remove_item(self, key: str) -> None:
        self.log.append(f"remove {key}")
        self.items.pop(key, None)

    async def clear(self) -> None:
        self.items.clear()


def _tokens() -> TokenSet:
    return TokenSet(
        username="alice",
        access_token=decode_jwt(make_jwt()),
        id_token=decode_jwt(make_jwt({"token_use": "id"})),
        refresh_token="refresh-1",
        clock_drift=-1.25,
        sign_in_details=SignInDetails(login_id="a@example.com", auth_flow_type="USER_SRP_AUTH"),
        device=DeviceRecord(
            device_key="us-east-1_device", device_group_key="-group", random_password="pw-1"
        ),
    )


async def test_round_trip_in_amplify_layout() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", "us-east-1:abc")
    tokens = _tokens()
    await store.save(tokens, signing_in=True)
    assert await storage.get_item(f"{PREFIX}.LastAuthUser") == "alice"
    assert await storage.get_item(f"{PREFIX}.alice.accessToken") == str(tokens.access_token)
    assert await storage.get_item(f"{PREFIX}.alice.refreshToken") == "refresh-1"
    assert await storage.get_item(f"{PREFIX}.alice.clockDrift") == "-1250"
    assert await store.load() == tokens
    await store.clear(None)
    assert await store.load() is None
    assert await storage.get_item(f"{PREFIX}.alice.accessToken") is None


async def test_storage_protocols() -> None:
    assert isinstance(MemoryStorage(), BatchKeyValueStorage)
    assert isinstance(RecordingStorage(), KeyValueStorage)
    assert not isinstance(RecordingStorage(), BatchKeyValueStorage)


async def test_in_order_fallback_writes_last_auth_user_last_and_clears_it_first() -> None:
    storage = RecordingStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(), signing_in=True)
    assert storage.log[-1] == f"set {PREFIX}.LastAuthUser"
    storage.log.clear()
    await store.clear(None)
    assert storage.log[0] == f"remove {PREFIX}.LastAuthUser"
    # Only the sign-out marker (a refresh that lands later stays void) and the
    # device (it outlives the session) are left.
    assert storage.items == {
        f"{PREFIX}.alice.signedOut": "true",
        f"{PREFIX}.alice.deviceKey": "us-east-1_device",
        f"{PREFIX}.alice.deviceGroupKey": "-group",
        f"{PREFIX}.alice.randomPasswordKey": "pw-1",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("accessToken", "garbage"),
        ("idToken", "a.b.c"),
        ("clockDrift", "soon"),
        ("signInDetails", "{bad"),
        ("signInDetails", "[1]"),
    ],
)
async def test_corrupt_stored_fields_raise_invalid_token(field: str, value: str) -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(), signing_in=True)
    await storage.set_item(f"{PREFIX}.alice.{field}", value)
    with pytest.raises(InvalidTokenException):
        await store.load()


async def test_access_token_without_exp_is_corrupt() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(), signing_in=True)
    await storage.set_item(f"{PREFIX}.alice.accessToken", make_jwt({"exp": "later"}))
    with pytest.raises(InvalidTokenException, match="exp"):
        await store.load()


@pytest.mark.parametrize(
    "raw", ["not json", "[]", '{"id": 5, "type": "guest"}', '{"id": "x", "type": "admin"}']
)
async def test_unreadable_identity_is_ignored(raw: str) -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", "us-east-1:abc")
    await storage.set_item("com.amplify.Cognito.us-east-1:abc.identityId", raw)
    assert await store.load_identity() is None


async def test_identity_round_trip() -> None:
    store = TokenStore(MemoryStorage(), "client1", "us-east-1:abc")
    identity = StoredIdentity(identity_id="us-east-1:id", kind="primary")
    await store.save_identity(identity)
    assert await store.load_identity() == identity
    await store.clear_identity()
    assert await store.load_identity() is None


_stored_values = st.one_of(
    st.none(), st.text(max_size=60), st.sampled_from(["", "0", "-5", "{}", "[]", "null"])
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), _stored_values), st.text(max_size=20))
async def test_any_stored_content_loads_or_raises_an_auth_error(
    values: dict[str, str | None], username: str
) -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", "us-east-1:abc")
    await storage.set_item(f"{PREFIX}.LastAuthUser", username)
    for field, value in values.items():
        if value is not None:
            await storage.set_item(f"{PREFIX}.{username}.{field}", value)
    await storage.set_item(
        "com.amplify.Cognito.us-east-1:abc.identityId", values.get("idToken") or ""
    )
    with contextlib.suppress(AuthError):
        await store.load()
    await store.load_identity()  # never raises: an unreadable identity is forgotten


def _user_tokens(username: str) -> TokenSet:
    return TokenSet(
        username=username,
        access_token=decode_jwt(make_jwt({"username": username})),
        id_token=None,
        refresh_token=f"refresh-{username}",
    )


async def test_a_sign_out_removes_exactly_its_users_keys() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_user_tokens("alice"), signing_in=True)
    await store.save(_user_tokens("bob"), signing_in=True)  # bob signed in last
    await store.clear("alice")
    assert await store.load("alice") is None
    assert await store.signed_out("alice")
    assert await store.load("bob") == _user_tokens("bob")
    assert await store.last_user() == "bob"  # it named bob, not alice: kept
    await store.clear("bob")
    assert await store.last_user() is None


async def test_tokens_written_after_a_sign_out_stay_void_until_the_next_sign_in() -> None:
    store = TokenStore(MemoryStorage(), "client1", None)
    await store.save(_user_tokens("alice"), signing_in=True)
    await store.clear("alice")
    await store.save(_user_tokens("alice"), signing_in=False)  # a refresh that began before
    assert await store.load() is None
    assert await store.load("alice") is None
    await store.save(_user_tokens("alice"), signing_in=True)
    assert await store.load() == _user_tokens("alice")
    assert not await store.signed_out("alice")


class _BrokenStorage(RecordingStorage):
    def __init__(self, failure: BaseException | None = None, value: object = None) -> None:
        super().__init__()
        self.failure = failure
        self.value = value

    async def get_item(self, key: str) -> str | None:
        if self.failure is not None:
            raise self.failure
        return self.value  # type: ignore[return-value]

    async def set_item(self, key: str, value: str) -> None:
        if self.failure is not None:
            raise self.failure


@pytest.mark.parametrize(
    "failure",
    [ConnectionError("backend down"), OSError(30, "Read-only file system"), KeyError("x")],
)
async def test_whatever_a_storage_raises_becomes_a_storage_exception(failure: Exception) -> None:
    store = TokenStore(_BrokenStorage(failure), "client1", "us-east-1:abc")
    with pytest.raises(StorageException) as info:
        await store.load()
    assert info.value.retryable
    assert info.value.underlying_error is failure
    with pytest.raises(StorageException):
        await store.save(_tokens(), signing_in=True)
    with pytest.raises(StorageException):
        await store.clear("alice")
    with pytest.raises(StorageException):
        await store.load_identity()


async def test_a_storage_that_returns_bytes_is_refused() -> None:
    store = TokenStore(_BrokenStorage(value=b"alice"), "client1", None)
    with pytest.raises(StorageException, match="bytes"):
        await store.load()


@pytest.mark.parametrize(
    "claims",
    [{"iat": 1e308}, {"exp": 1e308}, {"iat": -5}, {"exp": 0}, {"iat": True}, {"exp": 1e12}],
)
async def test_absurd_times_in_a_stored_token_are_no_session(claims: dict[str, object]) -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", None)
    await store.save(_tokens(), signing_in=True)
    await storage.set_item(f"{PREFIX}.alice.accessToken", make_jwt(claims))
    with pytest.raises(InvalidTokenException):
        await store.load()


@pytest.mark.parametrize("claims", [{"iat": 1e308}, {"exp": 1e308}, {"exp": -1}])
def test_absurd_times_from_the_server_are_an_invalid_response(claims: dict[str, object]) -> None:
    answer = AuthenticationResult(access_token=make_jwt(claims), id_token=None, refresh_token="r")
    with pytest.raises(InvalidResponseException):
        token_set_from(
            answer,
            now=0.0,
            username=None,
            refresh_token="r",
            sign_in_details=None,
            device=None,
        )


async def test_deeply_nested_stored_json_is_no_session() -> None:
    storage = MemoryStorage()
    store = TokenStore(storage, "client1", "us-east-1:abc")
    await store.save(_tokens(), signing_in=True)
    nested = "[" * 100_000 + "]" * 100_000
    await storage.set_item(f"{PREFIX}.alice.signInDetails", nested)
    await storage.set_item("com.amplify.Cognito.us-east-1:abc.identityId", nested)
    with pytest.raises(InvalidTokenException):
        await store.load()
    assert await store.load_identity() is None
    await storage.set_item(f"{PREFIX}.alice.clockDrift", "9" * 400)
    await storage.remove_item(f"{PREFIX}.alice.signInDetails")
    with pytest.raises(InvalidTokenException):
        await store.load()
