"""SRP math, cross-checked against RFC 3526 and an independent client (pycognito)."""

import base64
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycognito import aws_srp

from amplify_session import InvalidResponseException
from amplify_session._cognito.srp import (
    N,
    SrpSession,
    cognito_timestamp,
    modpow_steps,
    pad,
    password_claim_signature,
    run_steps,
    secret_block_bytes,
)

POOL_ID = "us-east-1_AbCdEf123"
POOL_NAME = "AbCdEf123"


def _floor_pi_shifted(bits: int) -> int:
    """floor(pi * 2**bits) by Machin's formula in integers."""

    def arctan_inv(x: int, one: int) -> int:
        total = term = one // x
        n, sign = 1, -1
        while term:
            term //= x * x
            total += sign * (term // (2 * n + 1))
            n, sign = n + 1, -sign
        return total

    guard = 64
    one = 1 << (bits + guard)
    return (16 * arctan_inv(5, one) - 4 * arctan_inv(239, one)) >> guard


def test_group_is_rfc_3526_3072_bit_modp() -> None:
    expected = 2**3072 - 2**3008 - 1 + 2**64 * (_floor_pi_shifted(2942) + 1690314)
    assert expected == N
    assert int(aws_srp.N_HEX, 16) == N


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, b"\x00"),
        (0x7F, b"\x7f"),
        (0x80, b"\x00\x80"),
        (0x100, b"\x01\x00"),
        (0xFFFF, b"\x00\xff\xff"),
    ],
)
def test_pad_adds_a_zero_byte_when_the_top_bit_is_set(value: int, expected: bytes) -> None:
    assert pad(value) == expected


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**3072), st.integers(min_value=0, max_value=2**1400))
def test_stepwise_pow_equals_pow(base: int, exponent: int) -> None:
    assert run_steps(modpow_steps(base, exponent, N)) == pow(base, exponent, N)


def test_stepwise_pow_yields_often() -> None:
    steps = modpow_steps(3, 2**1300 - 1, N)
    assert sum(1 for _ in steps) >= 1300 // 32


def test_timestamp_format_has_an_unpadded_day() -> None:
    moment = datetime(2026, 11, 3, 7, 4, 5, tzinfo=timezone.utc)
    assert cognito_timestamp(moment) == "Tue Nov 3 07:04:05 UTC 2026"
    assert cognito_timestamp(moment.replace(day=23)) == "Mon Nov 23 07:04:05 UTC 2026"


def _pycognito(small_a: int) -> aws_srp.AWSSRP:
    client = aws_srp.AWSSRP(
        username="alice", password="pw", pool_id=POOL_ID, client_id="c", pool_region="us-east-1"
    )
    client.small_a_value = small_a
    client.large_a_value = client.calculate_a()
    return client


def _base64_block() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


def _uuid_block() -> str:
    """What moto's server sends; pycognito signs over ``standard_b64decode`` of it."""
    return str(uuid.uuid4())


@pytest.mark.parametrize("make_secret_block", [_base64_block, _uuid_block])
@pytest.mark.parametrize("seed", range(3))
def test_matches_pycognito_on_the_same_inputs(
    seed: int, make_secret_block: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = secrets.SystemRandom()
    small_a = rng.getrandbits(1024)
    password = f"Pässword-{seed}!"
    user_id = f"user-{seed}"
    salt = format(rng.getrandbits(128) | (1 << 124), "x")  # no leading zero nibble
    srp_b = format(pow(2, rng.getrandbits(1024), N), "x")
    secret_block = make_secret_block()
    moment = datetime(2026, 11, 3, 7, 4, 5)

    ours = run_steps(SrpSession.start(small_a=small_a))
    theirs = _pycognito(small_a)
    theirs.password = password
    assert int(ours.srp_a, 16) == theirs.large_a_value

    key = run_steps(
        ours.password_key(
            pool_name=POOL_NAME, user_id=user_id, password=password, salt=salt, srp_b=srp_b
        )
    )
    assert key == theirs.get_password_authentication_key(user_id, password, int(srp_b, 16), salt)

    class FrozenDatetime(datetime):
        @classmethod
        def utcnow(cls) -> "FrozenDatetime":  # type: ignore[override]
            return cls(2026, 11, 3, 7, 4, 5)

    monkeypatch.setattr(aws_srp.datetime, "datetime", FrozenDatetime)
    response = theirs.process_challenge(
        {
            "USERNAME": "alice",
            "USER_ID_FOR_SRP": user_id,
            "SALT": salt,
            "SRP_B": srp_b,
            "SECRET_BLOCK": secret_block,
        },
        {"USERNAME": "alice"},
    )
    timestamp = cognito_timestamp(moment)
    assert response["TIMESTAMP"] == timestamp
    signature = password_claim_signature(
        key, pool_name=POOL_NAME, user_id=user_id, secret_block=secret_block, timestamp=timestamp
    )
    assert signature == response["PASSWORD_CLAIM_SIGNATURE"]


@pytest.mark.parametrize(
    ("salt", "srp_b"),
    [("zz", "ab"), ("ab", "-5"), ("ab", ""), ("ab", format(N, "x")), ("ab", "0")],
)
def test_bad_server_values_are_invalid_responses(salt: str, srp_b: str) -> None:
    session = run_steps(SrpSession.start())
    with pytest.raises(InvalidResponseException):
        run_steps(
            session.password_key(
                pool_name=POOL_NAME, user_id="u", password="p", salt=salt, srp_b=srp_b
            )
        )


@pytest.mark.parametrize("secret_block", ["", None, 42])
def test_missing_secret_block_is_an_invalid_response(secret_block: object) -> None:
    with pytest.raises(InvalidResponseException, match="SECRET_BLOCK") as info:
        password_claim_signature(
            b"k" * 16,
            pool_name="p",
            user_id="u",
            secret_block=secret_block,  # type: ignore[arg-type]
            timestamp="t",
        )
    assert "42" not in str(info.value)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_valid_base64_is_decoded_strictly(raw: bytes) -> None:
    assert secret_block_bytes(base64.b64encode(raw).decode()) == raw


@pytest.mark.parametrize(
    ("secret_block", "expected"),
    [
        ("QUJDRA", b"ABCD"),  # padding missing
        ("QUJD\nRA==", b"ABCD"),  # a line break
        ("QU-JD_", b"ABC"),  # characters outside the alphabet
        ("QUJDR", b"ABC"),  # a dangling sixth of a byte
        ("!!", b""),
    ],
)
def test_other_text_is_decoded_leniently(secret_block: str, expected: bytes) -> None:
    assert secret_block_bytes(secret_block) == expected


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_text_gives_a_signature(secret_block: str) -> None:
    signature = password_claim_signature(
        b"k" * 16, pool_name="p", user_id="u", secret_block=secret_block, timestamp="t"
    )
    assert len(base64.b64decode(signature, validate=True)) == 32
