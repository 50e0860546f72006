"""What a Cognito server checks, for both of our servers (the in-memory fake and the
emulator's strict front): the server's half of SRP-6a as Cognito runs
USER_SRP_AUTH, SECRET_HASH, and the error answer they raise.

Written from the protocol (RFC 5054 with Cognito's conventions), not from the
client in ``amplify_session._cognito.srp``, so that a mistake in one is not
silently repeated in the other: the client's proof must satisfy this check.

- group: RFC 5054's 3072-bit prime, g = 2, k = H(PAD(N) | PAD(g));
- x = H(PAD(salt) | H(poolName | userId | ":" | password)), v = g^x;
- B = k v + g^b; u = H(PAD(A) | PAD(B)); S = (A v^u)^b;
- key = HKDF-SHA256(ikm=PAD(S), salt=PAD(u), info="Caldera Derived Key"), 16 bytes;
- the proof is HMAC-SHA256(key, poolName | userId | secretBlock | timestamp).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

import attrs

# The group is public (RFC 5054's 3072-bit prime, g = 2): only the arithmetic
# here is written apart from the client's.
from .._cognito.srp import G, N

__all__ = [
    "InsecureSrpA",
    "PasswordVerifier",
    "Refused",
    "SrpChallenge",
    "expected_secret_hash",
]


class Refused(Exception):
    """A Cognito error answer: raised by an operation, sent as Cognito sends it."""

    def __init__(self, name: str, message: str, status: int = 400) -> None:
        super().__init__(name)
        self.name, self.message, self.status = name, message, status


class InsecureSrpA(ValueError):
    """The client's A is 0 mod N: the exchange would prove nothing."""


def expected_secret_hash(secret: str, client_id: str, username: str) -> str:
    """SECRET_HASH: Base64(HMAC-SHA256(secret, username | client_id))."""
    mac = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _padded(number: int) -> bytes:
    """Minimal big-endian bytes, with a zero byte in front if the first one is >= 0x80.

    Cognito's clients hash numbers as Java's BigInteger.toByteArray() writes them.
    """
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw


def _hash(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha256(b"".join(parts)).digest(), "big")


_K = _hash(_padded(N), _padded(G))


@attrs.frozen
class PasswordVerifier:
    """What the server keeps instead of the password: a salt and v = g^x."""

    salt: int
    verifier: int = attrs.field(repr=False)

    @classmethod
    def create(cls, *, pool_name: str, user_id: str, password: str) -> PasswordVerifier:
        salt = secrets.randbits(128)
        return cls(salt, pow(G, _private_key(salt, pool_name, user_id, password), N))

    @classmethod
    def given(cls, *, salt: int, verifier: int) -> PasswordVerifier:
        """A verifier a client made and handed over (ConfirmDevice's salt and verifier).

        Raises:
            ValueError: the salt is not positive, or v is not in 1 < v < N (v = 0
                or 1 would accept any proof).
        """
        if salt <= 0 or not 1 < verifier < N:
            raise ValueError("the salt or the verifier is out of range")
        return cls(salt, verifier)

    def matches(self, *, pool_name: str, user_id: str, password: str) -> bool:
        """Whether ``password`` is the one this verifier was made from (USER_PASSWORD_AUTH)."""
        x = _private_key(self.salt, pool_name, user_id, password)
        return pow(G, x, N) == self.verifier


def _private_key(salt: int, pool_name: str, user_id: str, password: str) -> int:
    inner = hashlib.sha256(f"{pool_name}{user_id}:{password}".encode()).digest()
    return _hash(_padded(salt), inner)


class SrpChallenge:
    """One PASSWORD_VERIFIER exchange: B for the client, then a check of its proof."""

    def __init__(self, verifier: PasswordVerifier, srp_a: str) -> None:
        """Answer the client's A (hex).

        Raises:
            ValueError: A is not hex or is 0 mod N (the exchange would be insecure).
        """
        if len(srp_a) > 1024:  # 3072 bits are 768 hex digits
            raise ValueError("A is too long")
        big_a = int(srp_a, 16)  # ValueError when not hex
        if big_a % N == 0:
            raise InsecureSrpA("A is 0 mod N")
        while True:
            b = secrets.randbits(256)
            self.big_b = (_K * verifier.verifier + pow(G, b, N)) % N
            u = _hash(_padded(big_a), _padded(self.big_b))
            if u:  # u = 0 would let a client prove nothing
                break
        shared = pow(big_a * pow(verifier.verifier, u, N), b, N)
        self.salt = verifier.salt
        self.secret_block = base64.b64encode(secrets.token_bytes(64)).decode("ascii")
        self._key = _hkdf(ikm=_padded(shared), salt=_padded(u))

    def __repr__(self) -> str:
        return "SrpChallenge(key=<hidden>)"

    @property
    def parameters(self) -> dict[str, str]:
        """SALT, SRP_B and SECRET_BLOCK, as Cognito sends them."""
        return {
            "SALT": format(self.salt, "x"),
            "SRP_B": format(self.big_b, "x"),
            "SECRET_BLOCK": self.secret_block,
        }

    def proves_password(
        self, *, pool_name: str, user_id: str, secret_block: str, timestamp: str, signature: str
    ) -> bool:
        """Whether ``signature`` shows the client derived the same key (knows the password)."""
        if not hmac.compare_digest(
            secret_block.encode(errors="surrogatepass"), self.secret_block.encode()
        ):
            return False
        try:
            claimed = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        message = (
            pool_name.encode()
            + user_id.encode()
            + base64.b64decode(self.secret_block)
            + timestamp.encode(errors="surrogatepass")
        )
        return hmac.compare_digest(claimed, hmac.new(self._key, message, hashlib.sha256).digest())


def _hkdf(*, ikm: bytes, salt: bytes) -> bytes:
    """RFC 5869 HKDF-SHA256, one block, Cognito's info string, the first 16 bytes."""
    pseudo_random_key = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(pseudo_random_key, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
