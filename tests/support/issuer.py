"""A token issuer of our own: RSA keys, a JWKS endpoint on 127.0.0.1, and minted tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from amplify_session.emulator._loopback import serve_on_loopback

POOL_ID = "us-east-1_TestPool1"
CLIENT_ID = "client-123"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@attrs.define
class SigningKey:
    kid: str
    private_pem: bytes
    public_pem: bytes

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(kid=uuid.uuid4().hex, private_pem=private_pem, public_pem=public_pem)

    def jwk(self) -> dict[str, Any]:
        public = jwk.construct(self.public_pem.decode(), algorithm="RS256").to_dict()
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "user-1",
        "iss": ISSUER,
        "client_id": CLIENT_ID,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "iat": now,
        "exp": now + 3600,
        "username": "alice",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def id_claims(**overrides: Any) -> dict[str, Any]:
    return claims(token_use="id", client_id=None, aud=CLIENT_ID, **overrides)


def mint(key: SigningKey, payload: dict[str, Any], **header: Any) -> str:
    return jwt.encode(payload, _signer(key), algorithm="RS256", headers={"kid": key.kid, **header})


#: Each private key loaded, by its PEM (not its kid: a forger's key may share
#: one): loading the PEM, which checks the RSA key, costs 35 ms a token;
#: signing with the loaded key, a hundredth of that.
_SIGNERS: dict[bytes, Any] = {}


def _signer(key: SigningKey) -> Any:
    if key.private_pem not in _SIGNERS:
        _SIGNERS[key.private_pem] = jwk.construct(key.private_pem.decode(), algorithm="RS256")
    return _SIGNERS[key.private_pem]


def mint_unsigned(payload: dict[str, Any], header: dict[str, Any]) -> str:
    parts = [_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode())]
    return ".".join([*parts, ""])


def mint_hs256_with_public_key(key: SigningKey, payload: dict[str, Any]) -> str:
    """The classic confusion attack: HMAC keyed with the issuer's public key."""
    header = {"alg": "HS256", "kid": key.kid, "typ": "JWT"}
    signing_input = ".".join(
        [_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode())]
    )
    mac = hmac.new(key.public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@attrs.define
class JWKSServer:
    keys: list[SigningKey]
    url: str = ""
    fetches: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response({"keys": [k.jwk() for k in self.keys]})


@asynccontextmanager
async def jwks_server(*keys: SigningKey) -> AsyncIterator[JWKSServer]:
    server = JWKSServer(list(keys))
    app = web.Application()
    app.router.add_get("/jwks.json", server.handle)
    async with serve_on_loopback(app) as base:
        server.url = f"{base}/jwks.json"
        yield server
