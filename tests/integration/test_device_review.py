"""Adversarial review of device tracking (issue 16), through the strict front on 127.0.0.1.

Each test names what it pins down. Some stand between the manager and the
front a small rewriting proxy, to play a hostile or absurd Cognito: it
forwards every call and lets a test change one answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from amplify_session import (
    AuthError,
    InvalidResponseException,
    InvalidStateException,
    MemoryStorage,
    NotAuthorizedException,
    SessionManager,
    StorageException,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.emulator._loopback import serve_on_loopback
from amplify_session.storage.redis import RedisStorage
from tests.support.devices import DEVICE_FIELDS, sign_in_with_mfa

pytestmark = pytest.mark.anyio

#: Changes one answer: (operation, request body, answer body) -> the answer to send.
Rewrite = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]


def _unchanged(_: str, __: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return answer


class RewritingProxy:
    """Forwards Cognito calls to the front; ``rewrite`` may change a successful answer."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/") + "/"
        self.url = ""
        self.rewrite: Rewrite = _unchanged
        #: Challenge answers held back (never forwarded); ``held`` is set when one comes.
        self.hold: set[str] = set()
        self.held = anyio.Event()
        #: Challenge answers refused (never forwarded) with (error name, message).
        self.refuse: dict[str, tuple[str, str]] = {}
        self._http: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        operation = target.rsplit(".", 1)[-1]
        raw = await request.read()
        challenge = json.loads(raw or b"{}").get("ChallengeName")
        if challenge in self.hold:
            self.held.set()
            await anyio.sleep(30)  # the client gives up first (cancelled, or its timeout)
        if challenge in self.refuse:
            name, message = self.refuse[challenge]
            return web.json_response({"__type": name, "message": message}, status=400)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("x-amz-target", "content-type")
        }
        assert self._http is not None
        async with self._http.post(self.upstream, data=raw, headers=headers) as upstream:
            status, text = upstream.status, await upstream.text()
            content_type = upstream.headers.get("Content-Type", "application/x-amz-json-1.1")
        if status == 200:
            body = self.rewrite(operation, json.loads(raw or b"{}"), json.loads(text or "{}"))
            text = json.dumps(body)
        return web.Response(status=status, text=text, headers={"Content-Type": content_type})


@asynccontextmanager
async def rewriting_proxy(upstream: str) -> AsyncIterator[RewritingProxy]:
    proxy = RewritingProxy(upstream)
    app = web.Application()
    app.router.add_post("/", proxy.handle)
    async with serve_on_loopback(app) as base, aiohttp.ClientSession() as http:
        proxy.url, proxy._http = base + "/", http
        yield proxy


# -- pools and helpers ------------------------------------------------------------


@pytest.fixture
def no_mfa_pool(amplify_emulator: Emulator) -> EmulatedPool:
    """Device tracking "always", no MFA: a sign-in is the password, then the device."""
    amplify_emulator.reset()
    return amplify_emulator.provision(device_tracking="always")


@pytest.fixture
def email_pool(amplify_emulator: Emulator) -> EmulatedPool:
    """Usernames are email addresses (Cognito's username is the sub); tracking "always"."""
    amplify_emulator.reset()
    return amplify_emulator.provision(
        device_tracking="always", mfa_required=True, sign_in_with_email=True
    )


def _config(pool: EmulatedPool, endpoint: str | None = None) -> Any:
    overrides: dict[str, Any] = {"identity_pool_id": None, "device_name": "review-box"}
    if endpoint is not None:
        overrides["user_pool_endpoint"] = endpoint
    return pool.config(**overrides)


class KeyedStorage(MemoryStorage):
    """A MemoryStorage that remembers every key ever written (whatever user it names)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: set[str] = set()

    async def set_item(self, key: str, value: str) -> None:
        await super().set_item(key, value)
        self.written.add(key)

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        await super().update_items(changes)
        self.written.update(changes)


async def _stored_device(storage: KeyedStorage) -> dict[str, str | None]:
    """The device fields stored, whichever user they belong to (one user per storage here)."""
    found: dict[str, str | None] = dict.fromkeys(DEVICE_FIELDS)
    for key in sorted(storage.written):
        field = key.rsplit(".", 1)[-1]
        if field in found:
            found[field] = await storage.get_item(key) or found[field]
    return found


async def _stored(storage: KeyedStorage, suffix: str) -> list[str]:
    """The values stored under keys ending with ``suffix``."""
    values = [await storage.get_item(k) for k in sorted(storage.written) if k.endswith(suffix)]
    return [v for v in values if v is not None]


def _mfa_answers(emulator: Emulator) -> list[dict[str, Any]]:
    return [
        body.get("ChallengeResponses") or {}
        for operation, body in emulator.front.requests
        if operation == "RespondToAuthChallenge" and body.get("ChallengeName") == "SMS_MFA"
    ]


# -- DEVICE_KEY placement (Amplify's handleMFAChallenge) --------------------------------


async def test_an_mfa_answer_presents_the_stored_device(
    opt_in_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # A confirmed device that is not remembered still gets MFA. Amplify sends its
    # DEVICE_KEY with the MFA code (signInHelpers.handleMFAChallenge); without it
    # Cognito hands the sign-in a new device each time (amplify-android#3289).
    storage = KeyedStorage()
    async with SessionManager(_config(opt_in_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, opt_in_pool, amplify_emulator)
        device_key = (await _stored_device(storage))["deviceKey"]
        assert device_key is not None
        await manager.sign_out()
        await sign_in_with_mfa(manager, opt_in_pool, amplify_emulator)
    assert _mfa_answers(amplify_emulator)[-1].get("DEVICE_KEY") == device_key


async def test_an_email_username_pool_finds_the_device_by_user_id_for_srp(
    email_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # The device is stored under Cognito's username (the sub) while the user types
    # the email: SRP learns the sub from USER_ID_FOR_SRP and presents the device
    # with the password proof (as Amplify's handlePasswordVerifierChallenge does).
    storage = KeyedStorage()
    async with SessionManager(_config(email_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, email_pool, amplify_emulator)
        await manager.sign_out()
        assert (await manager.sign_in(email_pool.username, email_pool.password)).is_signed_in
    assert amplify_emulator.front.calls["ConfirmDevice"] == 1
    assert amplify_emulator.front.device_proofs == {"accepted": 1}


async def test_password_auth_by_email_presents_the_device_with_the_mfa_answer(
    email_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # USER_PASSWORD_AUTH learns Cognito's username (the sub, under which the device
    # is stored) only from the MFA challenge's USERNAME. Amplify looks the device up
    # by that name and sends it with the code; here it is never presented, so every
    # sign-in confirms one more device and none ever skips MFA.
    storage = KeyedStorage()
    flow = "USER_PASSWORD_AUTH"
    async with SessionManager(_config(email_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, email_pool, amplify_emulator, flow)
        device_key = (await _stored_device(storage))["deviceKey"]
        assert device_key is not None
        await manager.sign_out()
        await sign_in_with_mfa(manager, email_pool, amplify_emulator, flow)
    assert _mfa_answers(amplify_emulator)[-1].get("DEVICE_KEY") == device_key


# -- hostile answers --------------------------------------------------------------------


def _new_device_metadata(metadata: object) -> Rewrite:
    """Replace NewDeviceMetadata in the answer that completes the sign-in."""

    def rewrite(operation: str, _: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        result = answer.get("AuthenticationResult")
        if operation == "RespondToAuthChallenge" and result and "NewDeviceMetadata" in result:
            result["NewDeviceMetadata"] = metadata
        return answer

    return rewrite


@pytest.mark.parametrize(
    "metadata",
    [
        {"DeviceKey": 12345, "DeviceGroupKey": "-group"},
        {"DeviceKey": "us-east-1_k", "DeviceGroupKey": ["-group"]},
    ],
    ids=["numeric-key", "list-group-key"],
)
async def test_odd_new_device_metadata_leaves_no_live_refresh_token(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator, metadata: object
) -> None:
    # NewDeviceMetadata that cannot be used must not cost the tokens that came with
    # it: either the sign-in stands without a device (as with keys too long to use),
    # or its refresh token is revoked. Today the answer fails to parse and the
    # refresh token is neither kept nor revoked.
    front = amplify_emulator.front
    async with rewriting_proxy(no_mfa_pool.endpoint) as proxy:
        proxy.rewrite = _new_device_metadata(metadata)
        async with SessionManager(_config(no_mfa_pool, proxy.url)) as manager:
            try:
                signed_in = (
                    await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
                ).is_signed_in
            except AuthError:
                signed_in = False
            assert signed_in or front.calls["RevokeToken"] == 1
            assert front.calls["ConfirmDevice"] == 0


async def test_a_new_device_key_that_is_not_unicode_fails_as_an_auth_error(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # JSON may carry a lone surrogate; the device's SRP identity is UTF-8 encoded.
    # A public method must raise an AuthError (or stand without a device), never a
    # UnicodeEncodeError.
    front = amplify_emulator.front
    metadata = {"DeviceKey": "us-east-1_\ud800", "DeviceGroupKey": "-group"}
    async with rewriting_proxy(no_mfa_pool.endpoint) as proxy:
        proxy.rewrite = _new_device_metadata(metadata)
        async with SessionManager(_config(no_mfa_pool, proxy.url)) as manager:
            try:
                result = await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
            except AuthError:
                assert front.calls["RevokeToken"] == 1
            else:
                assert result.is_signed_in


async def test_device_srp_asked_without_a_presented_device_is_an_invalid_response(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    def ask_for_the_device(
        operation: str, request: dict[str, Any], answer: dict[str, Any]
    ) -> dict[str, Any]:
        if request.get("ChallengeName") == "PASSWORD_VERIFIER":
            return {
                "ChallengeName": "DEVICE_SRP_AUTH",
                "Session": "s",
                "ChallengeParameters": {"USERNAME": no_mfa_pool.username},
            }
        return answer

    async with rewriting_proxy(no_mfa_pool.endpoint) as proxy:
        proxy.rewrite = ask_for_the_device
        async with SessionManager(_config(no_mfa_pool, proxy.url)) as manager:
            with pytest.raises(InvalidResponseException, match="no device was presented"):
                await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
            assert not await manager.is_authenticated()
    assert "DEVICE_SRP_AUTH" not in [
        body.get("ChallengeName") for _, body in amplify_emulator.front.requests
    ]


async def _with_confirmed_device(pool: EmulatedPool, storage: MemoryStorage) -> None:
    async with SessionManager(_config(pool), storage=storage) as manager:
        assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
        await manager.sign_out()


@pytest.mark.parametrize("missing", ["SALT", "SRP_B", "SECRET_BLOCK"])
async def test_a_device_verifier_challenge_lacking_a_field_keeps_the_device(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator, missing: str
) -> None:
    # The server's fault, not the device's: the sign-in fails clearly and the
    # device record stays for the next attempt.
    storage = KeyedStorage()
    await _with_confirmed_device(no_mfa_pool, storage)
    stored = await _stored_device(storage)

    def strip(operation: str, request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        if answer.get("ChallengeName") == "DEVICE_PASSWORD_VERIFIER":
            del answer["ChallengeParameters"][missing]
        return answer

    async with rewriting_proxy(no_mfa_pool.endpoint) as proxy:
        proxy.rewrite = strip
        async with SessionManager(_config(no_mfa_pool, proxy.url), storage=storage) as manager:
            with pytest.raises(InvalidResponseException, match=missing):
                await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
    assert await _stored_device(storage) == stored
    async with SessionManager(_config(no_mfa_pool), storage=storage) as manager:
        assert (await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)).is_signed_in
    assert amplify_emulator.front.device_proofs == {"accepted": 1}


@pytest.mark.parametrize(
    "again", ["DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER", "PASSWORD_VERIFIER"]
)
async def test_a_device_challenge_loop_is_an_invalid_response(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator, again: str
) -> None:
    # After the device's proof the server asks again: the sign-in fails as an
    # invalid answer; no device challenge is handed to the caller to "confirm".
    storage = KeyedStorage()
    await _with_confirmed_device(no_mfa_pool, storage)

    def loop(operation: str, request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        if request.get("ChallengeName") == "DEVICE_PASSWORD_VERIFIER":
            return {
                "ChallengeName": again,
                "Session": "s",
                "ChallengeParameters": {
                    "USERNAME": no_mfa_pool.username,
                    "SALT": "ab",
                    "SRP_B": "cd",
                    "SECRET_BLOCK": "ef",
                    "USER_ID_FOR_SRP": no_mfa_pool.username,
                },
            }
        return answer

    async with rewriting_proxy(no_mfa_pool.endpoint) as proxy:
        proxy.rewrite = loop
        async with SessionManager(_config(no_mfa_pool, proxy.url), storage=storage) as manager:
            with anyio.fail_after(30), pytest.raises(InvalidResponseException):
                await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)


# -- sign-out and cancellation ----------------------------------------------------------


async def test_a_sign_out_during_confirm_device_revokes_and_stores_nothing(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    front = amplify_emulator.front
    front.inject("ConfirmDevice", 20.0)  # answered after 20 s
    storage = KeyedStorage()
    async with SessionManager(_config(no_mfa_pool), storage=storage) as manager:
        outcome: list[BaseException] = []

        async def sign_in() -> None:
            try:
                await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
            except AuthError as err:
                outcome.append(err)

        with anyio.fail_after(15):
            async with anyio.create_task_group() as group:
                group.start_soon(sign_in)
                while not front.calls["ConfirmDevice"]:
                    await anyio.sleep(0.01)
                result = await manager.sign_out()
        assert [type(e) for e in outcome] == [InvalidStateException]
        assert not result.revoked  # the sign-out had no tokens; the sign-in revoked its own
        assert (await manager.fetch_auth_session()).tokens is None
    assert front.calls["RevokeToken"] == 1
    assert await _stored_device(storage) == dict.fromkeys(DEVICE_FIELDS)
    assert await _stored(storage, ".accessToken") == []


async def test_a_sign_out_during_the_device_proof_keeps_the_device(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # Cancelled between DEVICE_SRP_AUTH and the answer to DEVICE_PASSWORD_VERIFIER:
    # no tokens exist yet, the device record is intact, and the next sign-in proves it.
    storage = KeyedStorage()
    await _with_confirmed_device(no_mfa_pool, storage)
    stored = await _stored_device(storage)
    async with rewriting_proxy(no_mfa_pool.endpoint) as proxy:
        proxy.hold.add("DEVICE_PASSWORD_VERIFIER")
        async with SessionManager(_config(no_mfa_pool, proxy.url), storage=storage) as manager:
            with anyio.fail_after(15):
                async with anyio.create_task_group() as group:

                    async def sign_in() -> None:
                        with pytest.raises(InvalidStateException):
                            await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)

                    group.start_soon(sign_in)
                    await proxy.held.wait()
                    await manager.sign_out()
    assert await _stored_device(storage) == stored
    async with SessionManager(_config(no_mfa_pool), storage=storage) as manager:
        assert (await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)).is_signed_in
    assert amplify_emulator.front.calls["ConfirmDevice"] == 1
    assert amplify_emulator.front.device_proofs == {"accepted": 1}


# -- storage failures -------------------------------------------------------------------


class ReadOnlyWhenTold(KeyedStorage):
    """Writes fail (a disk remounted read-only) while ``read_only`` is set; reads work."""

    read_only = False

    async def set_item(self, key: str, value: str) -> None:
        self._check()
        await super().set_item(key, value)

    async def remove_item(self, key: str) -> None:
        self._check()
        await super().remove_item(key)

    async def update_items(self, changes: Mapping[str, str | None]) -> None:
        self._check()
        await super().update_items(changes)

    def _check(self) -> None:
        if self.read_only:
            raise OSError(30, "Read-only file system")


async def test_a_read_only_storage_fails_a_device_sign_in_and_keeps_the_device(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    front = amplify_emulator.front
    storage = ReadOnlyWhenTold()
    await _with_confirmed_device(no_mfa_pool, storage)
    stored = await _stored_device(storage)
    storage.read_only = True
    async with SessionManager(_config(no_mfa_pool), storage=storage) as manager:
        with pytest.raises(StorageException):
            await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
        revoked = front.calls["RevokeToken"]
        assert revoked >= 2  # the first session's sign-out, and the tokens never kept
        storage.read_only = False
        assert await _stored_device(storage) == stored
        assert (await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)).is_signed_in
    assert front.device_proofs == {"accepted": 2}
    assert front.calls["ConfirmDevice"] == 1


async def test_forget_device_on_a_read_only_storage_heals_at_the_next_sign_in(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # Cognito forgot the device but its record could not be removed: the caller is
    # told; the next sign-in presents it, hears "Device does not exist.", drops it
    # and signs in again with a new device.
    front = amplify_emulator.front
    storage = ReadOnlyWhenTold()
    async with SessionManager(_config(no_mfa_pool), storage=storage) as manager:
        assert (await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)).is_signed_in
        old = (await _stored_device(storage))["deviceKey"]
        storage.read_only = True
        with pytest.raises(StorageException):
            await manager.forget_device()
        assert front.devices(no_mfa_pool.user_pool_id, no_mfa_pool.username) == []
        storage.read_only = False
        assert (await _stored_device(storage))["deviceKey"] == old
        await manager.sign_out()
        assert (await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)).is_signed_in
        new = (await _stored_device(storage))["deviceKey"]
        assert new not in (None, old)
        await manager.fetch_auth_session(force_refresh=True)
    assert front.calls["ConfirmDevice"] == 2


async def test_a_refused_proof_on_a_read_only_storage_still_says_why(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    storage = ReadOnlyWhenTold()
    await _with_confirmed_device(no_mfa_pool, storage)
    [password_key] = [k for k in storage.written if k.endswith(".randomPasswordKey")]
    await storage.set_item(password_key, "not-the-device-password")
    storage.read_only = True
    async with SessionManager(_config(no_mfa_pool), storage=storage) as manager:
        with pytest.raises(NotAuthorizedException, match="device's proof"):
            await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
    assert "could not be removed" in caplog.text


# -- several users, one storage ---------------------------------------------------------


async def test_each_user_of_a_shared_storage_presents_only_their_own_device(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    front = amplify_emulator.front
    amplify_emulator.add_user(no_mfa_pool, "bob", no_mfa_pool.password)
    storage = KeyedStorage()
    config = _config(no_mfa_pool)
    users = {"alice": no_mfa_pool.username, "bob": "bob"}
    async with SessionManager(config, storage=storage) as manager:
        for name in users.values():
            assert (await manager.sign_in(name, no_mfa_pool.password)).is_signed_in
            await manager.sign_out()
        devices = {
            who: front.devices(no_mfa_pool.user_pool_id, name)[0].key for who, name in users.items()
        }
        for who, name in users.items():
            start = len(front.requests)
            assert (await manager.sign_in(name, no_mfa_pool.password)).is_signed_in
            sent = {
                (body.get("ChallengeResponses") or body.get("AuthParameters") or {}).get(
                    "DEVICE_KEY"
                )
                for _, body in front.requests[start:]
            } - {None}
            assert sent == {devices[who]}
            await manager.sign_out()
        # Alice forgets hers; Bob's stays and still proves itself.
        assert (await manager.sign_in(users["alice"], no_mfa_pool.password)).is_signed_in
        await manager.forget_device()
        await manager.sign_out()
        assert (await manager.sign_in("bob", no_mfa_pool.password)).is_signed_in
    assert front.device_proofs == {"accepted": 4}
    assert front.calls["ConfirmDevice"] == 2


async def test_another_users_device_under_this_users_keys_is_dropped(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # A storage that holds Alice's device under Bob's keys (copied, tampered): Cognito
    # does not know it for Bob; it is dropped and Bob signs in with his own new device.
    front = amplify_emulator.front
    amplify_emulator.add_user(no_mfa_pool, "bob", no_mfa_pool.password)
    storage = KeyedStorage()
    await _with_confirmed_device(no_mfa_pool, storage)
    alice = {
        k.rsplit(".", 1)[-1]: await storage.get_item(k)
        for k in storage.written
        if k.rsplit(".", 1)[-1] in DEVICE_FIELDS
    }
    prefix = f"CognitoIdentityServiceProvider.{no_mfa_pool.client_id}"
    for field, value in alice.items():
        assert value is not None
        await storage.set_item(f"{prefix}.bob.{field}", value)
    async with SessionManager(_config(no_mfa_pool), storage=storage) as manager:
        assert (await manager.sign_in("bob", no_mfa_pool.password)).is_signed_in
        [bobs] = front.devices(no_mfa_pool.user_pool_id, "bob")
        assert await storage.get_item(f"{prefix}.bob.deviceKey") == bobs.key
        assert await storage.get_item(f"{prefix}.alice.deviceKey") == alice["deviceKey"]
        await manager.fetch_auth_session(force_refresh=True)
    assert front.device_proofs == {}


# -- secrets ----------------------------------------------------------------------------


async def test_the_device_password_and_verifier_never_show(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    front = amplify_emulator.front
    storage = KeyedStorage()
    shown: list[str] = []
    async with SessionManager(_config(no_mfa_pool), storage=storage) as manager:
        manager.subscribe(lambda event: shown.append(repr(event)))
        assert (await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)).is_signed_in
        [confirm] = [body for op, body in front.requests if op == "ConfirmDevice"]
        verifier = confirm["DeviceSecretVerifierConfig"]
        [password] = await _stored(storage, ".randomPasswordKey")
        session = await manager.fetch_auth_session(force_refresh=True)
        shown += [repr(manager), repr(session), repr(await manager.fetch_devices())]
        await manager.sign_out()
        assert (await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)).is_signed_in
        await manager.sign_out()
        [password_key] = [k for k in storage.written if k.endswith(".randomPasswordKey")]
        await storage.set_item(password_key, password[::-1])
        with pytest.raises(NotAuthorizedException) as refused:
            await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
        shown += [str(refused.value), repr(refused.value), repr(refused.value.underlying_error)]
        await anyio.sleep(0.1)  # listeners
    shown.append(caplog.text)
    secrets = [password, password[::-1], verifier["PasswordVerifier"], verifier["Salt"]]
    leaks = [i for i, text in enumerate(shown) for s in secrets if s in text]
    assert leaks == []


# -- a fleet: one forgets the device, another refreshes --------------------------------


async def _until_async(condition: Callable[[], Awaitable[bool]], limit: float = 10.0) -> None:
    with anyio.fail_after(limit):
        while not await condition():
            await anyio.sleep(0.02)


async def _not(condition: Callable[[], Awaitable[bool]]) -> bool:
    return not await condition()


async def test_a_device_forgotten_by_one_process_ends_the_fleets_session(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator, redis_url: str
) -> None:
    # README: Cognito stops renewing a forgotten device's tokens. The other process's
    # refresh is refused, the session ends for the whole fleet (no storm, no
    # resurrected device record), and the next sign-in asks for MFA again.
    front = amplify_emulator.front
    config = _config(tracking_pool)
    one, other = RedisStorage.from_url(redis_url), RedisStorage.from_url(redis_url)
    try:
        async with (
            SessionManager(config, storage=one) as first,
            SessionManager(config, storage=other) as second,
        ):
            await sign_in_with_mfa(first, tracking_pool, amplify_emulator)
            await _until_async(second.is_authenticated)
            await second.forget_device()
            with pytest.raises(NotAuthorizedException):
                await first.fetch_auth_session(force_refresh=True)
            await _until_async(lambda: _not(second.is_authenticated))
            prefix = f"CognitoIdentityServiceProvider.{tracking_pool.client_id}"
            user = tracking_pool.username
            assert await one.get_item(f"{prefix}.{user}.deviceKey") is None
            await sign_in_with_mfa(first, tracking_pool, amplify_emulator)
    finally:
        await one.aclose()
        await other.aclose()
    assert front.calls["ConfirmDevice"] == 2


# -- pools as before, and app clients with a secret -------------------------------------


def _device_keys_sent(emulator: Emulator) -> list[object]:
    sent = []
    for _, body in emulator.front.requests:
        for part in ("AuthParameters", "ChallengeResponses"):
            if "DEVICE_KEY" in (body.get(part) or {}):
                sent.append(body[part]["DEVICE_KEY"])
        if "DeviceKey" in body:
            sent.append(body["DeviceKey"])
    return sent


@pytest.mark.parametrize("flow", ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"])
async def test_a_pool_without_device_tracking_sees_no_device_call(
    pool: EmulatedPool, amplify_emulator: Emulator, flow: str
) -> None:
    storage = KeyedStorage()
    async with SessionManager(_config(pool), storage=storage) as manager:
        for _ in range(2):
            assert (
                await manager.sign_in(pool.username, pool.password, auth_flow=flow)
            ).is_signed_in
            await manager.fetch_auth_session(force_refresh=True)
            await manager.sign_out()
    calls = amplify_emulator.front.calls
    assert sorted(calls) == sorted(
        {"InitiateAuth", "RespondToAuthChallenge", "RevokeToken"}
        - ({"RespondToAuthChallenge"} if flow == "USER_PASSWORD_AUTH" else set())
    )
    assert _device_keys_sent(amplify_emulator) == []
    assert await _stored_device(storage) == dict.fromkeys(DEVICE_FIELDS)


async def test_a_device_signs_in_with_an_app_client_secret_and_an_email_username(
    amplify_emulator: Emulator,
) -> None:
    # SECRET_HASH of each device step is computed from Cognito's USERNAME (the sub),
    # not from the email the user typed.
    amplify_emulator.reset()
    pool = amplify_emulator.provision(
        device_tracking="always", generate_secret=True, sign_in_with_email=True
    )
    async with SessionManager(_config(pool), storage=KeyedStorage()) as manager:
        assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
        await manager.sign_out()
        assert (await manager.sign_in(pool.username, pool.password)).is_signed_in
        await manager.fetch_auth_session(force_refresh=True)
    assert amplify_emulator.front.device_proofs == {"accepted": 1}


# -- which refusals of the device's proof remove the device ------------------------------


@pytest.mark.parametrize(
    "message",
    ["Invalid session for the user, session is expired.", "User is disabled."],
    ids=["session-expired", "user-disabled"],
)
async def test_a_refusal_that_is_not_about_the_device_password_keeps_the_device(
    no_mfa_pool: EmulatedPool, amplify_emulator: Emulator, message: str
) -> None:
    # Only a wrong device password ("Incorrect username or password.") means the
    # stored record is bad. An expired challenge session (a slow or retried proof) or
    # a disabled user is not the device's fault: removing the record costs a headless
    # service a human (MFA) at its next sign-in. Amplify never removes it on a refusal.
    storage = KeyedStorage()
    await _with_confirmed_device(no_mfa_pool, storage)
    stored = await _stored_device(storage)
    async with rewriting_proxy(no_mfa_pool.endpoint) as proxy:
        proxy.refuse["DEVICE_PASSWORD_VERIFIER"] = ("NotAuthorizedException", message)
        async with SessionManager(_config(no_mfa_pool, proxy.url), storage=storage) as manager:
            with pytest.raises(NotAuthorizedException):
                await manager.sign_in(no_mfa_pool.username, no_mfa_pool.password)
    assert await _stored_device(storage) == stored
