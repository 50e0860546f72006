"""TokenVerifier.verify per token, cold (JWKS cached, token new) and cached, against PyJWT."""

from __future__ import annotations

import jwt as pyjwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from amplify_session import TokenVerifier
from tests.support.issuer import CLIENT_ID, ISSUER, POOL_ID, SigningKey, claims, jwks_server, mint

from ._stats import sample_async, sample_sync, summary

TOKENS = 2_000


async def measure() -> dict[str, dict[str, float]]:
    key = SigningKey.generate()
    tokens = [mint(key, claims(jti=str(n))) for n in range(TOKENS)]
    public_key = load_pem_public_key(key.public_pem)
    async with (
        jwks_server(key) as issuer,
        TokenVerifier(user_pool_id=POOL_ID, client_id=CLIENT_ID, jwks_url=issuer.url) as verifier,
    ):
        await verifier.verify(tokens[0])  # loads the JWKS
        pending = iter(tokens[1:])
        cold = await sample_async(lambda: verifier.verify(next(pending)), TOKENS - 1)
        cached = await sample_async(lambda: verifier.verify(tokens[0]), 100_000)
    remaining = iter(tokens)

    def pyjwt_decode() -> object:
        return pyjwt.decode(
            next(remaining),
            public_key,
            algorithms=["RS256"],
            issuer=ISSUER,
            options={"verify_aud": False},
        )

    peer = sample_sync(pyjwt_decode, TOKENS)
    return {
        "amplify_session verify (new token)": summary(cold),
        "amplify_session verify (cached)": summary(cached),
        "PyJWT decode (key loaded)": summary(peer),
    }
