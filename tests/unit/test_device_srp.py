"""Device SRP, cross-checked against pycognito's AWSSRP (an implementation nobody here wrote).

ConfirmDevice's verifier and the DEVICE_PASSWORD_VERIFIER key and signature
must be exactly what Cognito's other clients compute, or a confirmed device
could never prove itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycognito.aws_srp import (
    AWSSRP,
    G_HEX,
    N_HEX,
    generate_hash_device,
    hash_sha256,
    hex_hash,
    hex_to_long,
    pad_hex,
)

from amplify_session._cognito.srp import (
    G,
    N,
    SrpSession,
    device_secret,
    password_claim_signature,
    run_steps,
)
from amplify_session.testing._server_checks import PasswordVerifier, SrpChallenge

GROUP, KEY = "-AbCdEfGhI", "us-east-1_5f1c1d9a-0000-4000-8000-000000000001"
keys = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=40)


def _pycognito_verifier(group: str, key: str, password: str, salt: int) -> tuple[str, str]:
    """pycognito's generate_hash_device, with the salt given instead of drawn."""
    salt_hex = pad_hex(salt)
    x = hex_to_long(hex_hash(salt_hex + hash_sha256(f"{group}{key}:{password}".encode())))
    verifier = pad_hex(pow(hex_to_long(G_HEX), x, hex_to_long(N_HEX)))
    return (
        base64.standard_b64encode(bytearray.fromhex(verifier)).decode(),
        base64.standard_b64encode(bytearray.fromhex(salt_hex)).decode(),
    )


@settings(max_examples=25, deadline=None)
@given(group=keys, key=keys, password=st.text(min_size=1, max_size=60), salt=st.integers(1, 2**128))
def test_the_confirm_device_verifier_is_pycognitos(
    group: str, key: str, password: str, salt: int
) -> None:
    secret = run_steps(
        device_secret(device_group_key=group, device_key=key, random_password=password, salt=salt)
    )
    assert (secret.password_verifier, secret.salt) == _pycognito_verifier(
        group, key, password, salt
    )


@pytest.mark.parametrize("_", range(5))
def test_pycognitos_own_device_verifier_is_ours_for_its_password_and_salt(_: int) -> None:
    password, config = generate_hash_device(GROUP, KEY)
    salt = int.from_bytes(base64.b64decode(config["Salt"]), "big")
    ours = run_steps(
        device_secret(device_group_key=GROUP, device_key=KEY, random_password=password, salt=salt)
    )
    assert (ours.password_verifier, ours.salt) == (config["PasswordVerifier"], config["Salt"])


def test_a_new_device_secret_is_random_and_hidden() -> None:
    first = run_steps(device_secret(device_group_key=GROUP, device_key=KEY))
    second = run_steps(device_secret(device_group_key=GROUP, device_key=KEY))
    assert first.random_password != second.random_password
    assert len(base64.b64decode(first.random_password)) == 40  # as Amplify makes it
    assert first.salt != second.salt
    assert first.random_password not in repr(first)
    verifier = int.from_bytes(base64.b64decode(first.password_verifier), "big")
    assert 1 < verifier < N


def test_the_device_proof_key_is_pycognitos() -> None:
    # The same a, B and salt: the key of DEVICE_PASSWORD_VERIFIER must be the same bytes.
    theirs = AWSSRP("u", "p", "us-east-1_Pool1", "c", client=object())
    ours = run_steps(SrpSession.start(small_a=theirs.small_a_value))
    assert int(ours.srp_a, 16) == theirs.large_a_value
    big_b, salt = pow(G, 12345, N) + 7, "1a2b3c4d5e6f"
    expected = theirs.get_device_authentication_key(GROUP, KEY, "device-pw", big_b, salt)
    key = run_steps(
        ours.password_key(
            pool_name=GROUP, user_id=KEY, password="device-pw", salt=salt, srp_b=format(big_b, "x")
        )
    )
    assert key == bytes(expected)


@pytest.mark.parametrize("right_password", [True, False])
def test_a_server_holding_only_the_verifier_accepts_the_device_proof(right_password: bool) -> None:
    secret = run_steps(device_secret(device_group_key=GROUP, device_key=KEY))
    stored = PasswordVerifier(
        int.from_bytes(base64.b64decode(secret.salt), "big"),
        int.from_bytes(base64.b64decode(secret.password_verifier), "big"),
    )
    client = run_steps(SrpSession.start())
    server = SrpChallenge(stored, client.srp_a)
    parameters = server.parameters
    password = secret.random_password if right_password else secret.random_password + "x"
    key = run_steps(
        client.password_key(
            pool_name=GROUP,
            user_id=KEY,
            password=password,
            salt=parameters["SALT"],
            srp_b=parameters["SRP_B"],
        )
    )
    timestamp = "Fri Nov 27 17:00:00 UTC 2026"
    signature = password_claim_signature(
        key,
        pool_name=GROUP,
        user_id=KEY,
        secret_block=parameters["SECRET_BLOCK"],
        timestamp=timestamp,
    )
    proved = server.proves_password(
        pool_name=GROUP,
        user_id=KEY,
        secret_block=parameters["SECRET_BLOCK"],
        timestamp=timestamp,
        signature=signature,
    )
    assert proved is right_password
    # pycognito signs the same message the same way.
    message = GROUP.encode() + KEY.encode() + base64.b64decode(parameters["SECRET_BLOCK"])
    mac = hmac.new(key, message + timestamp.encode(), hashlib.sha256).digest()
    assert signature == base64.standard_b64encode(mac).decode()
