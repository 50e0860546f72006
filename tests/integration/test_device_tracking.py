"""Device tracking through the strict front: a confirmed device skips MFA, outlives sign-out,
and is remembered, forgotten and listed as Amplify does.

The front keeps Cognito's rules (its device SRP is written apart from the
client's): it refuses refreshes that carry an unconfirmed device's key, or
that leave out a confirmed device's key, and asks a remembered device to
prove its password instead of asking the user for MFA.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from amplify_session import (
    InvalidParameterException,
    MemoryStorage,
    NotAuthorizedException,
    ResourceNotFoundException,
    SessionManager,
    StorageException,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.storage.redis import RedisStorage
from tests.support.devices import DEVICE_FIELDS, sign_in_with_mfa

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).parents[2]


def _config(pool: EmulatedPool) -> Any:
    return pool.config(identity_pool_id=None, device_name="edge-box-7")


async def _user_key(storage: Any, pool: EmulatedPool, field: str) -> str:
    """The storage key of one of the signed-in (or last) user's fields, in Amplify's layout."""
    prefix = f"CognitoIdentityServiceProvider.{pool.client_id}"
    user = await storage.get_item(f"{prefix}.LastAuthUser") or pool.username
    return f"{prefix}.{user}.{field}"


async def _stored_device(storage: Any, pool: EmulatedPool) -> dict[str, str | None]:
    return {f: await storage.get_item(await _user_key(storage, pool, f)) for f in DEVICE_FIELDS}


def _calls_since(emulator: Emulator, start: int) -> list[str]:
    """Each call since ``start``, with the challenge it answers."""
    calls = []
    for operation, body in emulator.front.requests[start:]:
        challenge = body.get("ChallengeName")
        calls.append(f"{operation}({challenge})" if challenge else operation)
    return calls


def _refresh_device_keys(emulator: Emulator) -> list[str | None]:
    return [
        (body.get("AuthParameters") or {}).get("DEVICE_KEY")
        for operation, body in emulator.front.requests
        if operation == "InitiateAuth" and body.get("AuthFlow") == "REFRESH_TOKEN_AUTH"
    ]


@pytest.mark.parametrize(
    ("flow", "first_factor"),
    [
        ("USER_SRP_AUTH", ["InitiateAuth", "RespondToAuthChallenge(PASSWORD_VERIFIER)"]),
        ("USER_PASSWORD_AUTH", ["InitiateAuth"]),
    ],
)
async def test_a_confirmed_device_signs_in_again_without_mfa(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator, flow: str, first_factor: list[str]
) -> None:
    front = amplify_emulator.front
    storage = MemoryStorage()
    async with SessionManager(_config(tracking_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator, flow)
        [device] = front.devices(tracking_pool.user_pool_id, tracking_pool.username)
        assert device.confirmed
        assert device.remembered
        assert device.name == "edge-box-7"
        assert front.calls["ConfirmDevice"] == 1
        stored = await _stored_device(storage, tracking_pool)
        assert stored["deviceKey"] == device.key
        assert stored["deviceGroupKey"] == device.group_key
        assert stored["randomPasswordKey"]

        await manager.fetch_auth_session(force_refresh=True)
        await manager.fetch_auth_session(force_refresh=True)
        assert _refresh_device_keys(amplify_emulator) == [device.key, device.key]

        await manager.sign_out()
        assert await _stored_device(storage, tracking_pool) == stored  # outlives the sign-out

        start = len(front.requests)
        result = await manager.sign_in(
            tracking_pool.username, tracking_pool.password, auth_flow=flow
        )
        assert result.is_signed_in  # no MFA
        assert _calls_since(amplify_emulator, start) == [
            *first_factor,
            "RespondToAuthChallenge(DEVICE_SRP_AUTH)",
            "RespondToAuthChallenge(DEVICE_PASSWORD_VERIFIER)",
        ]
        assert front.device_proofs == {"accepted": 1}
        assert front.calls["ConfirmDevice"] == 1  # the same device: nothing new to confirm
        await manager.fetch_auth_session(force_refresh=True)
        assert _refresh_device_keys(amplify_emulator)[-1] == device.key
        assert await _stored_device(storage, tracking_pool) == stored


async def test_a_tampered_device_password_fails_clearly_and_mfa_confirms_a_new_device(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    front = amplify_emulator.front
    storage = MemoryStorage()
    async with SessionManager(_config(tracking_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)
        await manager.sign_out()
        [old] = front.devices(tracking_pool.user_pool_id, tracking_pool.username)
        password_key = await _user_key(storage, tracking_pool, "randomPasswordKey")
        await storage.set_item(password_key, "not-the-device-password")

        with pytest.raises(NotAuthorizedException, match="device's proof") as refused:
            await manager.sign_in(tracking_pool.username, tracking_pool.password)
        assert "not-the-device-password" not in str(refused.value)
        assert front.device_proofs == {"refused": 1}
        assert await _stored_device(storage, tracking_pool) == dict.fromkeys(DEVICE_FIELDS)

        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)  # MFA again
        devices = front.devices(tracking_pool.user_pool_id, tracking_pool.username)
        [new] = [d for d in devices if d.key != old.key]
        assert new.confirmed
        assert (await _stored_device(storage, tracking_pool))["deviceKey"] == new.key
        await manager.sign_out()
        assert (await manager.sign_in(tracking_pool.username, tracking_pool.password)).is_signed_in


async def test_forget_device_then_sign_in_asks_for_mfa(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    front = amplify_emulator.front
    storage = MemoryStorage()
    async with SessionManager(_config(tracking_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)
        [listed] = await manager.fetch_devices()
        assert listed.name == "edge-box-7"
        assert listed.remembered
        await manager.forget_device()
        assert front.devices(tracking_pool.user_pool_id, tracking_pool.username) == []
        assert await _stored_device(storage, tracking_pool) == dict.fromkeys(DEVICE_FIELDS)
        assert await manager.fetch_devices() == []
        await manager.sign_out()
        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)


async def test_a_device_cognito_no_longer_knows_is_dropped_and_the_sign_in_made_again(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # Forgotten elsewhere (another process, the console): Cognito answers "Device
    # does not exist."; the record goes and the sign-in is made once more, with MFA.
    storage = MemoryStorage()
    async with SessionManager(_config(tracking_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)
        [device] = await manager.fetch_devices()
        await manager.forget_device(device.id)  # by key: as if from elsewhere
        await manager.sign_out()
    for field, value in zip(DEVICE_FIELDS, (device.id, "-group", "pw"), strict=True):
        await storage.set_item(await _user_key(storage, tracking_pool, field), value)
    async with SessionManager(_config(tracking_pool), storage=storage) as manager:
        result = await manager.sign_in(tracking_pool.username, tracking_pool.password)
        assert result.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_SMS_CODE"
        assert (await _stored_device(storage, tracking_pool))["deviceKey"] is None


async def test_user_opt_in_remembers_only_when_asked(
    opt_in_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    front = amplify_emulator.front
    storage = MemoryStorage()
    async with SessionManager(_config(opt_in_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, opt_in_pool, amplify_emulator)
        [device] = front.devices(opt_in_pool.user_pool_id, opt_in_pool.username)
        assert device.confirmed
        assert not device.remembered
        await manager.fetch_auth_session(force_refresh=True)  # tracked: its key is sent
        assert _refresh_device_keys(amplify_emulator) == [device.key]
        await manager.sign_out()

        await sign_in_with_mfa(manager, opt_in_pool, amplify_emulator)  # not remembered: MFA
        assert front.calls["ConfirmDevice"] == 1  # the device was presented: no new one
        await manager.remember_device()
        [listed] = await manager.fetch_devices()
        assert listed.remembered
        assert listed.last_authenticated_date is not None
        await manager.sign_out()
        assert (await manager.sign_in(opt_in_pool.username, opt_in_pool.password)).is_signed_in
        assert front.device_proofs == {"accepted": 1}


@pytest.mark.parametrize(
    ("fault", "confirmed"), [("InternalErrorException", True), ("InvalidParameterException", False)]
)
async def test_a_failed_confirmation_leaves_the_sign_in_standing_without_a_device(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator, fault: str, confirmed: bool
) -> None:
    # A transient failure is retried like any call; a final one leaves no device:
    # its key is never sent, so the refreshes still work.
    front = amplify_emulator.front
    front.inject("ConfirmDevice", fault)
    storage = MemoryStorage()
    async with SessionManager(_config(tracking_pool), storage=storage) as manager:
        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)
        [device] = front.devices(tracking_pool.user_pool_id, tracking_pool.username)
        assert device.confirmed is confirmed
        stored = await _stored_device(storage, tracking_pool)
        assert (stored["deviceKey"] == device.key) is confirmed
        await manager.fetch_auth_session(force_refresh=True)
        assert _refresh_device_keys(amplify_emulator) == [device.key if confirmed else None]


async def test_a_sign_in_cancelled_while_confirming_revokes_its_tokens(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    front = amplify_emulator.front
    front.inject("ConfirmDevice", 30.0)  # answered after 30 s
    storage = MemoryStorage()
    async with SessionManager(_config(tracking_pool), storage=storage) as manager:
        await manager.sign_in(tracking_pool.username, tracking_pool.password)
        async with anyio.create_task_group() as group:
            group.start_soon(manager.confirm_sign_in, front.mfa_code)
            with anyio.fail_after(10):
                while not front.calls["ConfirmDevice"]:
                    await anyio.sleep(0.01)
            group.cancel_scope.cancel()
        assert (await manager.fetch_auth_session()).tokens is None
    assert front.calls["RevokeToken"] == 1
    assert await _stored_device(storage, tracking_pool) == dict.fromkeys(DEVICE_FIELDS)


async def test_a_storage_that_cannot_read_the_device_fails_the_sign_in_clearly(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    class DeviceUnreadable(MemoryStorage):
        async def get_item(self, key: str) -> str | None:
            if key.endswith(".deviceKey"):
                raise OSError("disk gone")
            return await super().get_item(key)

    async with SessionManager(_config(tracking_pool), storage=DeviceUnreadable()) as manager:
        with pytest.raises(StorageException):
            await manager.sign_in(tracking_pool.username, tracking_pool.password)
    assert amplify_emulator.front.calls["InitiateAuth"] == 0


async def test_a_fleet_on_redis_shares_one_device(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator, redis_url: str
) -> None:
    front = amplify_emulator.front
    storage = RedisStorage.from_url(redis_url)
    try:
        async with SessionManager(_config(tracking_pool), storage=storage) as manager:
            await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)
    finally:
        await storage.aclose()
    [device] = front.devices(tracking_pool.user_pool_id, tracking_pool.username)
    settings = {
        "config": {
            "user_pool_id": tracking_pool.user_pool_id,
            "user_pool_client_id": tracking_pool.client_id,
            "user_pool_endpoint": tracking_pool.endpoint,
        },
        "redis_url": redis_url,
        "username": tracking_pool.username,
        "password": tracking_pool.password,
    }
    with anyio.fail_after(120):
        other = await anyio.run_process(
            [sys.executable, "-m", "tests.support.device_fleet_worker", json.dumps(settings)],
            cwd=ROOT,
            check=False,
        )
    assert other.returncode == 0, other.stderr.decode()[-2000:]
    report = json.loads(other.stdout)
    assert report == {"refreshed": True, "signed_in_again": True}
    assert front.calls["ConfirmDevice"] == 1  # one process confirmed it; the other used it
    assert front.device_proofs == {"accepted": 1}
    assert _refresh_device_keys(amplify_emulator) == [device.key]


async def test_a_device_challenge_after_an_mfa_answer_is_answered_too(
    tracking_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # Cognito may ask for the device after another challenge; the answer to
    # the user's code goes on into the device proof without the user.
    front = amplify_emulator.front
    async with SessionManager(_config(tracking_pool)) as manager:
        await sign_in_with_mfa(manager, tracking_pool, amplify_emulator)
        await manager.sign_out()
        front.plan_challenges("SOFTWARE_TOKEN_MFA", code="654321")
        result = await manager.sign_in(tracking_pool.username, tracking_pool.password)
        assert result.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_TOTP_CODE"
        start = len(front.requests)
        done = await manager.confirm_sign_in("654321")
        assert done.is_signed_in
        assert _calls_since(amplify_emulator, start) == [
            "RespondToAuthChallenge(SOFTWARE_TOKEN_MFA)",
            "RespondToAuthChallenge(DEVICE_SRP_AUTH)",
            "RespondToAuthChallenge(DEVICE_PASSWORD_VERIFIER)",
        ]
        assert front.device_proofs == {"accepted": 1}
        await manager.fetch_auth_session(force_refresh=True)
        [device] = front.devices(tracking_pool.user_pool_id, tracking_pool.username)
        assert _refresh_device_keys(amplify_emulator)[-1] == device.key


async def test_a_device_vanishing_during_mfa_spends_the_challenge_and_spares_a_newer_device(
    opt_in_pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    # One process waits for its MFA code, having presented D1; D1 is forgotten
    # elsewhere and another process sharing the storage signs in and stores D2.
    # The waiting answer fails ("Device does not exist"): its challenge is spent,
    # and D2's record, which is not the device that vanished, stays.
    front = amplify_emulator.front
    storage = MemoryStorage()
    config = _config(opt_in_pool)
    async with SessionManager(config, storage=storage) as first:
        await sign_in_with_mfa(first, opt_in_pool, amplify_emulator)
        [d1] = await first.fetch_devices()
        await first.sign_out()
    async with (
        SessionManager(config, storage=storage) as waiting,
        SessionManager(config, storage=storage) as other,
    ):
        pending = await waiting.sign_in(opt_in_pool.username, opt_in_pool.password)
        assert pending.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_SMS_CODE"
        await sign_in_with_mfa(other, opt_in_pool, amplify_emulator)
        await other.forget_device(d1.id)  # D1 vanishes (and its record here)
        await other.sign_out()
        await sign_in_with_mfa(other, opt_in_pool, amplify_emulator)  # a new device, D2
        d2 = (await _stored_device(storage, opt_in_pool))["deviceKey"]
        assert d2 not in (None, d1.id)
        with pytest.raises(ResourceNotFoundException):
            await waiting.confirm_sign_in(front.mfa_code)
        assert (await _stored_device(storage, opt_in_pool))["deviceKey"] == d2
        with pytest.raises(InvalidParameterException, match="no sign-in is waiting"):
            await waiting.confirm_sign_in(front.mfa_code)
