"""The strict front's device tracking, driven by a client nobody here wrote.

boto3 makes the calls and pycognito's ``aws_srp`` does the client's SRP
(user and device) and makes the device verifier, so the front's device SRP
is checked against an independent implementation, over 127.0.0.1.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP, N_HEX, generate_hash_device, long_to_hex

from amplify_session.emulator import EmulatedPool, Emulator

Idp = Any  # a boto3 cognito-idp client
Answer = dict[str, Any]


class Device:
    """A device as its owner keeps it: the keys and the random password."""

    def __init__(self, metadata: dict[str, str], password: str = "") -> None:
        self.key = metadata["DeviceKey"]
        self.group_key = metadata["DeviceGroupKey"]
        self.password = password


@pytest.fixture
def always(amplify_emulator: Emulator) -> EmulatedPool:
    """Device tracking "always", MFA required."""
    amplify_emulator.reset()
    return amplify_emulator.provision(device_tracking="always", mfa_required=True)


@pytest.fixture
def opt_in(amplify_emulator: Emulator) -> EmulatedPool:
    """Device tracking "user opt-in", MFA required."""
    amplify_emulator.reset()
    return amplify_emulator.provision(device_tracking="user_opt_in", mfa_required=True)


@pytest.fixture
def tracking(amplify_emulator: Emulator) -> EmulatedPool:
    """Device tracking "always", no MFA: sign-ins are one call."""
    amplify_emulator.reset()
    return amplify_emulator.provision(device_tracking="always")


@pytest.fixture
def idp(amplify_emulator: Emulator) -> Iterator[Idp]:
    """boto3, pointed at the strict front (not at moto)."""
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


def _refused(error: pytest.ExceptionInfo[ClientError], name: str, message: str) -> bool:
    return error.value.response["Error"] == {"Code": name, "Message": message}


# -- sign-in steps -------------------------------------------------------------


def _srp(pool: EmulatedPool, idp: Idp, device: Device | None = None, **more: Any) -> AWSSRP:
    keys = (
        {}
        if device is None
        else {
            "device_key": device.key,
            "device_group_key": device.group_key,
            "device_password": device.password,
        }
    )
    return AWSSRP(
        pool.username,
        more.pop("password", pool.password),
        pool.user_pool_id,
        pool.client_id,
        client=idp,
        client_secret=pool.client_secret,
        **keys,
    )


def _password_verified(pool: EmulatedPool, idp: Idp, srp: AWSSRP) -> Answer:
    """USER_SRP_AUTH and PASSWORD_VERIFIER (with DEVICE_KEY when ``srp`` has a device)."""
    params = srp.get_auth_params()
    challenge = idp.initiate_auth(
        AuthFlow="USER_SRP_AUTH", ClientId=pool.client_id, AuthParameters=params
    )
    with warnings.catch_warnings():  # pycognito calls datetime.utcnow()
        warnings.simplefilter("ignore", DeprecationWarning)
        responses = srp.process_challenge(challenge["ChallengeParameters"], params)
    answer: Answer = idp.respond_to_auth_challenge(
        ClientId=pool.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
    )
    return answer


def _mfa(
    pool: EmulatedPool,
    idp: Idp,
    challenge: Answer,
    code: str = "123456",
    device_key: str | None = None,
) -> Answer:
    """Answer SMS_MFA; with ``device_key`` as Amplify does (Cognito reads the device there)."""
    assert challenge["ChallengeName"] == "SMS_MFA"
    responses = {"USERNAME": challenge["ChallengeParameters"]["USERNAME"], "SMS_MFA_CODE": code}
    if device_key is not None:
        responses["DEVICE_KEY"] = device_key
    answer: Answer = idp.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="SMS_MFA",
        Session=challenge["Session"],
        ChallengeResponses=responses,
    )
    return answer


def _device_srp(pool: EmulatedPool, idp: Idp, srp: AWSSRP, challenge: Answer) -> Answer:
    """DEVICE_SRP_AUTH then DEVICE_PASSWORD_VERIFIER, the proof made by pycognito."""
    answer: Answer = idp.respond_to_auth_challenge(**_device_proof(pool, idp, srp, challenge))
    return answer


def _device_proof(pool: EmulatedPool, idp: Idp, srp: AWSSRP, challenge: Answer) -> Answer:
    """DEVICE_SRP_AUTH; the DEVICE_PASSWORD_VERIFIER call that answers it, not yet made."""
    assert challenge["ChallengeName"] == "DEVICE_SRP_AUTH"
    username = challenge["ChallengeParameters"]["USERNAME"]
    verifier = idp.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="DEVICE_SRP_AUTH",
        Session=challenge["Session"],
        ChallengeResponses=_with_secret_hash(
            pool,
            {"USERNAME": username, "DEVICE_KEY": srp.device_key, "SRP_A": _srp_a(srp)},
        ),
    )
    assert verifier["ChallengeName"] == "DEVICE_PASSWORD_VERIFIER"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        responses = srp.process_device_challenge(verifier["ChallengeParameters"])
    return {
        "ClientId": pool.client_id,
        "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
        "Session": verifier["Session"],
        "ChallengeResponses": responses,
    }


def _srp_a(srp: AWSSRP) -> str:
    return str(long_to_hex(srp.large_a_value))


def _with_secret_hash(pool: EmulatedPool, responses: dict[str, str]) -> dict[str, str]:
    if pool.client_secret is None:
        return responses
    secret_hash = AWSSRP.get_secret_hash(responses["USERNAME"], pool.client_id, pool.client_secret)
    return {**responses, "SECRET_HASH": secret_hash}


def _signed_in(pool: EmulatedPool, idp: Idp, device: Device | None = None) -> Answer:
    """A whole sign-in without device SRP: SRP, then MFA if asked."""
    answer = _password_verified(pool, idp, _srp(pool, idp, device))
    if answer.get("ChallengeName") == "SMS_MFA":
        answer = _mfa(pool, idp, answer)
    assert "AuthenticationResult" in answer, answer.get("ChallengeName")
    return answer


def _confirmed(idp: Idp, answer: Answer, name: str = "edge-1") -> Device:
    """ConfirmDevice with a verifier pycognito made for the new device."""
    device = Device(answer["AuthenticationResult"]["NewDeviceMetadata"])
    device.password, config = generate_hash_device(device.group_key, device.key)
    idp.confirm_device(
        AccessToken=answer["AuthenticationResult"]["AccessToken"],
        DeviceKey=device.key,
        DeviceSecretVerifierConfig=config,
        DeviceName=name,
    )
    return device


def _refresh(pool: EmulatedPool, idp: Idp, answer: Answer, key: str | None) -> Answer:
    params = {"REFRESH_TOKEN": answer["AuthenticationResult"]["RefreshToken"]}
    if key is not None:
        params["DEVICE_KEY"] = key
    refreshed: Answer = idp.initiate_auth(
        AuthFlow="REFRESH_TOKEN_AUTH", ClientId=pool.client_id, AuthParameters=params
    )
    return refreshed


def _access(answer: Answer) -> str:
    return str(answer["AuthenticationResult"]["AccessToken"])


# -- new devices and ConfirmDevice ------------------------------------------------


def test_each_sign_in_without_a_device_gets_a_new_unconfirmed_one(
    always: EmulatedPool, idp: Idp, amplify_emulator: Emulator
) -> None:
    first = _signed_in(always, idp)["AuthenticationResult"]["NewDeviceMetadata"]
    second = _signed_in(always, idp)["AuthenticationResult"]["NewDeviceMetadata"]

    assert first["DeviceKey"].startswith("us-east-1_")
    assert len(first["DeviceGroupKey"]) == 10
    assert first["DeviceGroupKey"].startswith("-")
    assert first["DeviceGroupKey"][1:].isalnum()
    assert first["DeviceKey"] != second["DeviceKey"]
    devices = amplify_emulator.front.devices(always.user_pool_id, always.username)
    assert [(d.key, d.confirmed, d.remembered) for d in devices] == [
        (first["DeviceKey"], False, False),
        (second["DeviceKey"], False, False),
    ]


def test_a_pool_without_device_tracking_hands_out_no_device(pool: EmulatedPool, idp: Idp) -> None:
    assert "NewDeviceMetadata" not in _signed_in(pool, idp)["AuthenticationResult"]


def test_confirm_device_remembers_the_device_in_an_always_pool(
    always: EmulatedPool, idp: Idp, amplify_emulator: Emulator
) -> None:
    answer = _signed_in(always, idp)
    device = Device(answer["AuthenticationResult"]["NewDeviceMetadata"])
    _, config = generate_hash_device(device.group_key, device.key)

    confirmed = idp.confirm_device(
        AccessToken=_access(answer),
        DeviceKey=device.key,
        DeviceSecretVerifierConfig=config,
        DeviceName="edge-1",
    )

    assert confirmed["UserConfirmationNecessary"] is False
    [kept] = amplify_emulator.front.devices(always.user_pool_id, always.username)
    assert (kept.key, kept.confirmed, kept.remembered, kept.name) == (
        device.key,
        True,
        True,
        "edge-1",
    )


def _b64(number: int) -> str:
    return base64.b64encode(number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")).decode()


@pytest.mark.parametrize(
    "config",
    [
        {"PasswordVerifier": "not base64!", "Salt": _b64(7)},
        {"PasswordVerifier": _b64(1), "Salt": _b64(7)},  # v = 1 accepts any proof
        {"PasswordVerifier": _b64(int(N_HEX, 16)), "Salt": _b64(7)},
        {"PasswordVerifier": _b64(5), "Salt": _b64(0)},
        {"PasswordVerifier": _b64(5)},
    ],
    ids=["not-base64", "one", "N", "zero-salt", "no-salt"],
)
def test_a_malformed_verifier_is_refused_and_the_device_stays_unconfirmed(
    always: EmulatedPool, idp: Idp, amplify_emulator: Emulator, config: dict[str, str]
) -> None:
    answer = _signed_in(always, idp)
    key = answer["AuthenticationResult"]["NewDeviceMetadata"]["DeviceKey"]

    with pytest.raises(ClientError) as refused:
        idp.confirm_device(
            AccessToken=_access(answer), DeviceKey=key, DeviceSecretVerifierConfig=config
        )

    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    [device] = amplify_emulator.front.devices(always.user_pool_id, always.username)
    assert not device.confirmed


# -- refresh -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "sent", "works"),
    [
        ("confirmed", "own", True),
        ("confirmed", "none", False),
        ("confirmed", "other", False),
        ("unconfirmed", "own", False),
        ("unconfirmed", "none", True),
        ("unconfirmed", "other", False),
        ("forgotten", "own", False),
        ("forgotten", "none", False),
    ],
)
def test_a_refresh_needs_the_key_of_its_confirmed_device(
    tracking: EmulatedPool, idp: Idp, state: str, sent: str, works: bool
) -> None:
    answer = _signed_in(tracking, idp)
    other = _confirmed(idp, _signed_in(tracking, idp), name="other")
    own = answer["AuthenticationResult"]["NewDeviceMetadata"]["DeviceKey"]
    if state != "unconfirmed":
        own = _confirmed(idp, answer).key
    if state == "forgotten":
        idp.forget_device(AccessToken=_access(answer), DeviceKey=own)
    key = {"own": own, "none": None, "other": other.key}[sent]

    if works:
        refreshed = _refresh(tracking, idp, answer, key)["AuthenticationResult"]
        assert refreshed["AccessToken"]
        assert "NewDeviceMetadata" not in refreshed
        return
    with pytest.raises(ClientError) as refused:
        _refresh(tracking, idp, answer, key)
    assert _refused(refused, "NotAuthorizedException", "Invalid Refresh Token")


def test_get_tokens_from_refresh_token_checks_the_device_and_rotation_keeps_it(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(device_tracking="always", refresh_token_rotation=True)
    answer = _signed_in(pool, idp)
    device = _confirmed(idp, answer)
    token = answer["AuthenticationResult"]["RefreshToken"]

    with pytest.raises(ClientError) as refused:
        idp.get_tokens_from_refresh_token(RefreshToken=token, ClientId=pool.client_id)
    rotated = idp.get_tokens_from_refresh_token(
        RefreshToken=token, ClientId=pool.client_id, DeviceKey=device.key
    )["AuthenticationResult"]["RefreshToken"]

    assert _refused(refused, "NotAuthorizedException", "Invalid Refresh Token")
    assert rotated != token
    with pytest.raises(ClientError) as again:
        idp.get_tokens_from_refresh_token(RefreshToken=rotated, ClientId=pool.client_id)
    assert _refused(again, "NotAuthorizedException", "Invalid Refresh Token")
    assert idp.get_tokens_from_refresh_token(
        RefreshToken=rotated, ClientId=pool.client_id, DeviceKey=device.key
    )["AuthenticationResult"]["AccessToken"]


# -- MFA and device SRP -----------------------------------------------------------


def test_a_required_mfa_takes_the_fronts_code(
    always: EmulatedPool, idp: Idp, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.mfa_code = "654321"
    challenge = _password_verified(always, idp, _srp(always, idp))
    with pytest.raises(ClientError) as refused:
        _mfa(always, idp, challenge, "123456")
    assert refused.value.response["Error"]["Code"] == "CodeMismatchException"

    challenge = _password_verified(always, idp, _srp(always, idp))
    assert "AccessToken" in _mfa(always, idp, challenge, "654321")["AuthenticationResult"]


def test_planned_challenges_come_before_the_pools_mfa(
    always: EmulatedPool, idp: Idp, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.plan_challenges("SOFTWARE_TOKEN_MFA")
    answer = _password_verified(always, idp, _srp(always, idp))
    assert answer["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_a_remembered_device_signs_in_with_device_srp_and_skips_mfa(
    always: EmulatedPool, idp: Idp, amplify_emulator: Emulator
) -> None:
    front = amplify_emulator.front
    device = _confirmed(idp, _signed_in(always, idp))
    before = len(front.requests)

    srp = _srp(always, idp, device)
    challenge = _password_verified(always, idp, srp)
    assert challenge["ChallengeName"] == "DEVICE_SRP_AUTH"
    answer = _device_srp(always, idp, srp, challenge)

    result = answer["AuthenticationResult"]
    assert result["AccessToken"]
    assert "NewDeviceMetadata" not in result
    assert front.device_proofs == {"accepted": 1}
    # Exactly these calls: no MFA was asked for.
    steps = [(op, body.get("ChallengeName")) for op, body in front.requests[before:]]
    assert steps == [
        ("InitiateAuth", None),
        ("RespondToAuthChallenge", "PASSWORD_VERIFIER"),
        ("RespondToAuthChallenge", "DEVICE_SRP_AUTH"),
        ("RespondToAuthChallenge", "DEVICE_PASSWORD_VERIFIER"),
    ]
    # The tokens are the device's: its key refreshes them.
    assert _refresh(always, idp, answer, device.key)["AuthenticationResult"]["AccessToken"]


def test_an_unconfirmed_device_gets_mfa_and_a_new_device(always: EmulatedPool, idp: Idp) -> None:
    first = Device(_signed_in(always, idp)["AuthenticationResult"]["NewDeviceMetadata"])

    challenge = _password_verified(always, idp, _srp(always, idp, first))
    answer = _mfa(always, idp, challenge)

    assert answer["AuthenticationResult"]["NewDeviceMetadata"]["DeviceKey"] != first.key


def test_a_wrong_device_password_fails_the_proof(
    always: EmulatedPool, idp: Idp, amplify_emulator: Emulator
) -> None:
    device = _confirmed(idp, _signed_in(always, idp))
    device.password = device.password[::-1]  # what a tampered randomPasswordKey does
    srp = _srp(always, idp, device)

    with pytest.raises(ClientError) as refused:
        _device_srp(always, idp, srp, _password_verified(always, idp, srp))

    assert _refused(refused, "NotAuthorizedException", "Incorrect username or password.")
    assert amplify_emulator.front.device_proofs == {"refused": 1}


def test_user_password_auth_checks_the_device_key_too(tracking: EmulatedPool, idp: Idp) -> None:
    device = _confirmed(idp, _signed_in(tracking, idp))

    def password_auth(key: str) -> Answer:
        answer: Answer = idp.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=tracking.client_id,
            AuthParameters={
                "USERNAME": tracking.username,
                "PASSWORD": tracking.password,
                "DEVICE_KEY": key,
            },
        )
        return answer

    with pytest.raises(ClientError) as refused:
        password_auth("us-east-1_00000000-0000-4000-8000-000000000000")
    assert _refused(refused, "ResourceNotFoundException", "Device does not exist.")
    challenge = password_auth(device.key)
    assert challenge["ChallengeName"] == "DEVICE_SRP_AUTH"
    srp = _srp(tracking, idp, device)
    assert "AuthenticationResult" in _device_srp(tracking, idp, srp, challenge)


def test_each_device_session_answers_once(always: EmulatedPool, idp: Idp) -> None:
    device = _confirmed(idp, _signed_in(always, idp))
    srp = _srp(always, idp, device)
    challenge = _password_verified(always, idp, srp)
    proof = _device_proof(always, idp, srp, challenge)
    assert "AuthenticationResult" in idp.respond_to_auth_challenge(**proof)

    with pytest.raises(ClientError) as proof_again:
        idp.respond_to_auth_challenge(**proof)
    with pytest.raises(ClientError) as challenge_again:
        _device_proof(always, idp, srp, challenge)

    for refused in (proof_again, challenge_again):
        assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_device_srp_takes_only_the_sessions_device(always: EmulatedPool, idp: Idp) -> None:
    device = _confirmed(idp, _signed_in(always, idp))
    other = _confirmed(idp, _signed_in(always, idp), name="other")
    challenge = _password_verified(always, idp, _srp(always, idp, device))

    with pytest.raises(ClientError) as refused:
        _device_srp(always, idp, _srp(always, idp, other), challenge)

    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_device_srp_with_a_client_secret_needs_the_secret_hash(
    amplify_emulator: Emulator, idp: Idp
) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(device_tracking="always", generate_secret=True)
    device = _confirmed(idp, _signed_in(pool, idp))
    srp = _srp(pool, idp, device)
    assert "AuthenticationResult" in _device_srp(pool, idp, srp, _password_verified(pool, idp, srp))

    challenge = _password_verified(pool, idp, srp)
    with pytest.raises(ClientError) as refused:
        idp.respond_to_auth_challenge(
            ClientId=pool.client_id,
            ChallengeName="DEVICE_SRP_AUTH",
            Session=challenge["Session"],
            ChallengeResponses={
                "USERNAME": pool.username,
                "DEVICE_KEY": device.key,
                "SRP_A": _srp_a(srp),
            },
        )
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_user_opt_in_remembers_a_device_only_when_told(
    opt_in: EmulatedPool, idp: Idp, amplify_emulator: Emulator
) -> None:
    answer = _signed_in(opt_in, idp)
    device = Device(answer["AuthenticationResult"]["NewDeviceMetadata"])
    device.password, config = generate_hash_device(device.group_key, device.key)
    confirmed = idp.confirm_device(
        AccessToken=_access(answer), DeviceKey=device.key, DeviceSecretVerifierConfig=config
    )
    assert confirmed["UserConfirmationNecessary"] is True

    not_yet = _password_verified(opt_in, idp, _srp(opt_in, idp, device))
    # Confirmed, not remembered: MFA, then tokens bound to that device (no new one),
    # when the MFA answer carries the device; without it, a new device.
    bound = _mfa(opt_in, idp, not_yet, device_key=device.key)
    assert "NewDeviceMetadata" not in bound["AuthenticationResult"]
    again = _mfa(opt_in, idp, _password_verified(opt_in, idp, _srp(opt_in, idp, device)))
    assert again["AuthenticationResult"]["NewDeviceMetadata"]["DeviceKey"] != device.key
    assert _refresh(opt_in, idp, bound, device.key)["AuthenticationResult"]["AccessToken"]
    idp.update_device_status(
        AccessToken=_access(answer), DeviceKey=device.key, DeviceRememberedStatus="remembered"
    )
    srp = _srp(opt_in, idp, device)
    remembered = _password_verified(opt_in, idp, srp)

    assert remembered["ChallengeName"] == "DEVICE_SRP_AUTH"
    assert "AuthenticationResult" in _device_srp(opt_in, idp, srp, remembered)
    [status] = [
        a["Value"]
        for a in idp.get_device(AccessToken=_access(answer), DeviceKey=device.key)["Device"][
            "DeviceAttributes"
        ]
        if a["Name"] == "dev:device_remembered_status"
    ]
    assert status == "remembered"


# -- ForgetDevice, ListDevices, access tokens ---------------------------------------


def test_a_forgotten_device_does_not_exist_at_sign_in_and_its_tokens_stop(
    always: EmulatedPool, idp: Idp
) -> None:
    answer = _signed_in(always, idp)
    device = _confirmed(idp, answer)
    assert _refresh(always, idp, answer, device.key)

    idp.forget_device(AccessToken=_access(answer), DeviceKey=device.key)

    with pytest.raises(ClientError) as at_sign_in:
        _password_verified(always, idp, _srp(always, idp, device))
    assert _refused(at_sign_in, "ResourceNotFoundException", "Device does not exist.")
    with pytest.raises(ClientError) as at_refresh:
        _refresh(always, idp, answer, device.key)
    assert _refused(at_refresh, "NotAuthorizedException", "Invalid Refresh Token")
    with pytest.raises(ClientError) as at_get:
        idp.get_device(AccessToken=_access(answer), DeviceKey=device.key)
    assert _refused(at_get, "ResourceNotFoundException", "Device does not exist.")


def test_another_users_device_does_not_exist_for_this_one(
    tracking: EmulatedPool, idp: Idp, amplify_emulator: Emulator
) -> None:
    device = _confirmed(idp, _signed_in(tracking, idp))
    amplify_emulator.add_user(tracking, "bob", "Bob-password-1")
    bob = EmulatedPool(**{**_fields(tracking), "username": "bob", "password": "Bob-password-1"})
    bobs = _signed_in(bob, idp)

    with pytest.raises(ClientError) as at_sign_in:
        _password_verified(bob, idp, _srp(bob, idp, device))
    with pytest.raises(ClientError) as at_get:
        idp.get_device(AccessToken=_access(bobs), DeviceKey=device.key)
    with pytest.raises(ClientError) as at_forget:
        idp.forget_device(AccessToken=_access(bobs), DeviceKey=device.key)

    for refused in (at_sign_in, at_get, at_forget):
        assert _refused(refused, "ResourceNotFoundException", "Device does not exist.")
    assert len(amplify_emulator.front.devices(tracking.user_pool_id, tracking.username)) == 1


def _fields(pool: EmulatedPool) -> dict[str, Any]:
    return {
        name: getattr(pool, name)
        for name in (
            "endpoint",
            "region",
            "user_pool_id",
            "client_id",
            "client_secret",
            "identity_pool_id",
            "username",
            "password",
            "email",
        )
    }


def test_list_devices_pages_through_the_confirmed_devices_oldest_first(
    tracking: EmulatedPool, idp: Idp
) -> None:
    answers = [_signed_in(tracking, idp) for _ in range(4)]
    keys = [_confirmed(idp, a, name=f"edge-{i}").key for i, a in enumerate(answers[:3])]
    token = _access(answers[3])  # the fourth device stays unconfirmed: not listed

    pages = [idp.list_devices(AccessToken=token, Limit=1)]
    while "PaginationToken" in pages[-1]:
        pages.append(
            idp.list_devices(
                AccessToken=token, Limit=1, PaginationToken=pages[-1]["PaginationToken"]
            )
        )

    assert [[d["DeviceKey"] for d in page["Devices"]] for page in pages] == [[k] for k in keys]
    everything = idp.list_devices(AccessToken=token)
    assert [d["DeviceKey"] for d in everything["Devices"]] == keys
    assert "PaginationToken" not in everything
    first = everything["Devices"][0]
    attributes = {a["Name"]: a["Value"] for a in first["DeviceAttributes"]}
    assert attributes == {
        "device_status": "valid",
        "device_name": "edge-0",
        "dev:device_remembered_status": "remembered",
        "last_ip_used": "127.0.0.1",
    }
    assert first["DeviceCreateDate"] <= first["DeviceLastModifiedDate"]


@pytest.mark.parametrize("limit", [0, 61])
def test_list_devices_refuses_a_limit_out_of_range(
    tracking: EmulatedPool, idp: Idp, limit: int
) -> None:
    token = _access(_signed_in(tracking, idp))
    with pytest.raises(ClientError) as refused:
        idp.list_devices(AccessToken=token, Limit=limit)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_device_calls_need_a_live_access_token_of_the_pool(
    tracking: EmulatedPool, idp: Idp
) -> None:
    answer = _signed_in(tracking, idp)
    key = answer["AuthenticationResult"]["NewDeviceMetadata"]["DeviceKey"]
    # A well-formed token the pool never issued: the id token, then a forged one.
    forged = ".".join([*_access(answer).split(".")[:2], "c2lnbmF0dXJl"])

    for token in (answer["AuthenticationResult"]["IdToken"], forged, "x" * 40):
        with pytest.raises(ClientError) as refused:
            idp.get_device(AccessToken=token, DeviceKey=key)
        assert _refused(refused, "NotAuthorizedException", "Invalid Access Token")
    idp.global_sign_out(AccessToken=_access(answer))
    with pytest.raises(ClientError) as signed_out:
        idp.list_devices(AccessToken=_access(answer))
    assert _refused(signed_out, "NotAuthorizedException", "Invalid Access Token")
