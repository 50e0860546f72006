"""SRP-6a as Cognito's USER_SRP_AUTH uses it. Pure math: no I/O, no clock.

Cognito's conventions (those of the Amplify and AWS SDK clients):

- the 3072-bit MODP group of RFC 3526 with g = 2, and k = H(PAD(N) | PAD(g));
- PAD(n) is n big-endian with a leading zero byte when its top bit is set;
- x = H(PAD(salt) | H(poolName | USER_ID_FOR_SRP | ":" | password)), where
  poolName is the part of the pool id after the underscore;
- u = H(PAD(A) | PAD(B)); S = (B - k g^x)^(a + u x) mod N;
- the key is HKDF-SHA256(ikm=PAD(S), salt=PAD(u), info="Caldera Derived Key"), 16 bytes;
- PASSWORD_CLAIM_SIGNATURE = base64(HMAC-SHA256(key, poolName | USER_ID_FOR_SRP |
  secret block | TIMESTAMP)), TIMESTAMP like "Tue Nov 3 07:04:05 UTC 2026".

A remembered device proves itself the same way (DEVICE_SRP_AUTH), with the
device group key in place of poolName, the device key in place of
USER_ID_FOR_SRP and a random password made when the device was confirmed;
:func:`device_secret` makes that password and the verifier ConfirmDevice
registers (v = g^x, the salt and v sent as base64 of their padded bytes).

The modular exponentiations (about 20 ms each on 3072-bit numbers) are
written as generators that yield every few hundred microseconds, so an async
caller can drive them without stalling its event loop; :func:`run_steps`
drives them in one go.

Nothing here keeps the password; ``repr`` of the session never shows ``a``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Generator
from datetime import datetime
from typing import TypeVar

from .._errors import InvalidResponseException

__all__ = [
    "G",
    "N",
    "DeviceSecret",
    "SrpSession",
    "Steps",
    "cognito_timestamp",
    "device_secret",
    "modpow_steps",
    "password_claim_signature",
    "run_steps",
    "secret_block_bytes",
]

_T = TypeVar("_T")
#: A computation that yields (None) whenever it is a good moment to let others run.
Steps = Generator[None, None, _T]

#: RFC 3526's 3072-bit MODP prime: 2^3072 - 2^3008 - 1 + 2^64 * ([2^2942 pi] + 1690314).
N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
G = 2
_INFO = b"Caldera Derived Key\x01"
_HEX = re.compile(r"[0-9a-fA-F]{1,2048}")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def pad(value: int) -> bytes:
    """Big-endian bytes of ``value``, with a zero byte in front when the top bit is set."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def _hash_int(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha256(b"".join(parts)).digest(), "big")


K = _hash_int(pad(N), pad(G))
_WINDOW = 4  # bits of exponent per table lookup
_DIGITS_PER_STEP = 8  # 32 bits of exponent, well under a millisecond, between yields


def modpow_steps(base: int, exponent: int, modulus: int) -> Steps[int]:
    """``pow(base, exponent, modulus)`` by fixed-window exponentiation, in small steps."""
    mask = (1 << _WINDOW) - 1
    table = [1] * (1 << _WINDOW)
    for digit in range(1, 1 << _WINDOW):
        table[digit] = table[digit - 1] * base % modulus
    result = 1
    for position in range((exponent.bit_length() + _WINDOW - 1) // _WINDOW - 1, -1, -1):
        for _ in range(_WINDOW):
            result = result * result % modulus
        digit = (exponent >> (position * _WINDOW)) & mask
        if digit:
            result = result * table[digit] % modulus
        if position % _DIGITS_PER_STEP == 0:
            yield
    return result % modulus


def run_steps(steps: Steps[_T]) -> _T:
    """Drive a stepwise computation to its end without pausing."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _hex_int(value: str, what: str) -> int:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise InvalidResponseException(f"{what} is not a hexadecimal number")
    return int(value, 16)


class SrpSession:
    """One client side of one SRP exchange; make it with :meth:`start`."""

    def __init__(self, small_a: int, big_a: int) -> None:
        self._a = small_a
        self._big_a = big_a

    def __repr__(self) -> str:
        return "SrpSession(a=<hidden>)"

    @classmethod
    def start(cls, *, small_a: int | None = None) -> Steps[SrpSession]:
        """Pick ``a`` (1024 random bits unless given, for tests) and compute A = g^a."""
        while True:
            a = small_a if small_a is not None else secrets.randbits(1024)
            big_a = yield from modpow_steps(G, a, N)
            if big_a % N:
                return cls(a, big_a)
            if small_a is not None:
                raise ValueError("small_a gives A = 0 mod N")

    @property
    def srp_a(self) -> str:
        """SRP_A as Cognito wants it: lower-case hex."""
        return format(self._big_a, "x")

    def password_key(
        self, *, pool_name: str, user_id: str, password: str, salt: str, srp_b: str
    ) -> Steps[bytes]:
        """Derive the 16-byte key both sides share when the password is right.

        Raises:
            InvalidResponseException: SRP_B or SALT is malformed, or B mod N is 0.
        """
        big_b = _hex_int(srp_b, "SRP_B")
        if big_b % N == 0:
            raise InvalidResponseException("SRP_B is 0 mod N")
        u = _hash_int(pad(self._big_a), pad(big_b))
        if u == 0:
            raise InvalidResponseException("SRP u is 0")
        identity = hashlib.sha256(f"{pool_name}{user_id}:{password}".encode()).digest()
        x = _hash_int(pad(_hex_int(salt, "SALT")), identity)
        g_x = yield from modpow_steps(G, x, N)
        base = (big_b - K * g_x) % N
        secret = yield from modpow_steps(base, self._a + u * x, N)
        return hkdf_sha256(ikm=pad(secret), salt=pad(u))


class DeviceSecret:
    """A new device's password and the verifier Cognito keeps instead of it."""

    def __init__(self, random_password: str, salt: str, password_verifier: str) -> None:
        self.random_password = random_password  # Amplify's randomPasswordKey
        self.salt = salt  # base64, as DeviceSecretVerifierConfig wants it
        self.password_verifier = password_verifier  # base64

    def __repr__(self) -> str:
        return "DeviceSecret(random_password=<hidden>)"


def device_secret(
    *,
    device_group_key: str,
    device_key: str,
    random_password: str | None = None,
    salt: int | None = None,
) -> Steps[DeviceSecret]:
    """Make a device's random password and its verifier (both random unless given, for tests).

    The password is 40 random bytes in base64, as Amplify makes it; the salt 128 random bits.
    """
    if random_password is None:
        random_password = base64.b64encode(secrets.token_bytes(40)).decode("ascii")
    if salt is None:
        salt = secrets.randbits(128) or 1
    identity = hashlib.sha256(f"{device_group_key}{device_key}:{random_password}".encode()).digest()
    x = _hash_int(pad(salt), identity)
    verifier = yield from modpow_steps(G, x, N)
    return DeviceSecret(
        random_password,
        salt=base64.b64encode(pad(salt)).decode("ascii"),
        password_verifier=base64.b64encode(pad(verifier)).decode("ascii"),
    )


def hkdf_sha256(*, ikm: bytes, salt: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) with Cognito's info string, one block, 16 bytes."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, _INFO, hashlib.sha256).digest()[:16]


def password_claim_signature(
    key: bytes, *, pool_name: str, user_id: str, secret_block: str, timestamp: str
) -> str:
    """PASSWORD_CLAIM_SIGNATURE for the PASSWORD_VERIFIER challenge.

    Raises:
        InvalidResponseException: SECRET_BLOCK is not a non-empty string.
    """
    block = secret_block_bytes(secret_block)
    message = pool_name.encode() + user_id.encode() + block + timestamp.encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def secret_block_bytes(secret_block: str) -> bytes:
    """The bytes of SECRET_BLOCK that the signature covers.

    Cognito sends base64 and gets it back verbatim: the block is opaque to the
    client. Emulators send other text (moto a UUID, which it never checks), so
    what is not valid base64 is decoded leniently, as pycognito's
    ``standard_b64decode`` does: characters outside the alphabet are skipped
    and the padding is mended.

    Raises:
        InvalidResponseException: SECRET_BLOCK is not a non-empty string.
    """
    if not isinstance(secret_block, str) or not secret_block:
        raise InvalidResponseException("SECRET_BLOCK is missing or empty")
    try:
        return base64.b64decode(secret_block, validate=True)
    except (binascii.Error, ValueError):
        pass
    letters = _NOT_BASE64.sub("", secret_block)
    # A lone trailing character holds six bits, less than a byte: drop it.
    letters = letters[: len(letters) - (len(letters) % 4 == 1)]
    return base64.b64decode(letters + "=" * (-len(letters) % 4), validate=True)


def cognito_timestamp(moment: datetime) -> str:
    """Format a UTC time as Cognito expects: ``Tue Nov 3 07:04:05 UTC 2026`` (day unpadded)."""
    return f"{moment:%a %b} {moment.day} {moment:%H:%M:%S} UTC {moment.year}"
