"""TokenVerifier: is a Cognito token genuine, current, and for this client?

Kept apart from ``_jwt.py`` (decoding) because it brings python-jose and the
JWKS client with its aiohttp session: a service that only holds a session
decodes tokens but never verifies them, and should not load either.
``amplify_session.TokenVerifier`` imports this module on first use.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import Any, Literal

from ._config import AuthConfig, endpoint_variable
from ._errors import InvalidParameterException, InvalidTokenException, TokenExpiredException
from ._jwks import JWKSCache
from ._jwt import b64url_decode, decode_jwt, numeric_claim
from ._models import JWT
from ._timing import Clock, SystemClock

__all__ = ["TokenVerifier"]

_log = logging.getLogger("amplify_session.verifier")


class TokenVerifier:
    """Verifies Cognito access or id tokens: signature, issuer, use, client, time.

    The pool's JWKS is fetched from the issuer (or ``jwks_url``) and cached.
    An unknown key id triggers one refetch, shared by every concurrent
    caller, then a ``penalty`` window during which unknown key ids are
    refused without fetching, so a flood of bad tokens cannot hammer the
    endpoint. A verified token is cached until it expires: verifying it
    again costs a dictionary lookup.

    Args:
        user_pool_id: The pool that issues the tokens.
        client_id: The app client the tokens must be for.
        token_use: ``"access"`` or ``"id"``.
        jwks_url: Where the keys are, when not at the issuer or the endpoint.
        user_pool_endpoint: An emulator's User Pool endpoint: the keys are
            then fetched from ``<endpoint>/<user_pool_id>/.well-known/jwks.json``,
            and the issuer may also be ``<endpoint>/<user_pool_id>``
            (cognito-local's). By default, what
            ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` says (logged as a
            warning: it decides whose keys are trusted); never the global
            ``AWS_ENDPOINT_URL``, which is often set for other services.
        leeway: Seconds of tolerance on ``exp`` and ``nbf``.
        required_groups: Groups (``cognito:groups``) the user must all be in.
        required_scopes: Scopes (access tokens' ``scope``) that must all be granted.
        clock: The wall clock (a seam for tests).
        penalty: Seconds between JWKS fetches caused by unknown key ids.
        max_token_length: Longer tokens are refused before any decoding.
        cache_size: Verified tokens kept for quick re-verification; the least
            recently used is dropped beyond it.
    """

    def __init__(
        self,
        *,
        user_pool_id: str,
        client_id: str,
        token_use: Literal["access", "id"] = "access",  # noqa: S107 (a token kind)
        jwks_url: str | None = None,
        user_pool_endpoint: str | None = None,
        leeway: float = 0.0,
        required_groups: Collection[str] | None = None,
        required_scopes: Collection[str] | None = None,
        clock: Clock | None = None,
        penalty: float = 10.0,
        max_token_length: int = 16 * 1024,
        cache_size: int = 10_000,
    ) -> None:
        config = AuthConfig(
            user_pool_id=user_pool_id,
            user_pool_client_id=client_id,
            user_pool_endpoint=user_pool_endpoint or _endpoint_from_environment(),
        )
        if token_use not in ("access", "id"):
            raise InvalidParameterException("token_use must be 'access' or 'id'")
        self._issuer = f"https://cognito-idp.{config.region}.amazonaws.com/{user_pool_id}"
        self._issuers = {self._issuer}
        if config.user_pool_endpoint is not None:
            emulated_issuer = f"{config.user_pool_endpoint.rstrip('/')}/{user_pool_id}"
            self._issuers.add(emulated_issuer)
            jwks_url = jwks_url or f"{emulated_issuer}/.well-known/jwks.json"
        self._client_id = client_id
        self._use = token_use
        self._leeway = leeway
        self._groups = frozenset(required_groups or ())
        self._scopes = frozenset(required_scopes or ())
        self._clock = clock if clock is not None else SystemClock()
        self._max_length = max_token_length
        self._jwks = JWKSCache(
            jwks_url or f"{self._issuer}/.well-known/jwks.json",
            clock=self._clock,
            penalty=penalty,
            timeout=10.0,
        )
        self._verified: OrderedDict[str, JWT] = OrderedDict()
        self._public_keys: dict[str, tuple[dict[str, Any], Any]] = {}
        self._cache_size = cache_size

    def __repr__(self) -> str:
        return f"TokenVerifier(issuer={self._issuer!r}, token_use={self._use!r})"

    @property
    def jwks(self) -> JWKSCache:
        """The key cache (its ``fetches`` counts JWKS requests)."""
        return self._jwks

    async def __aenter__(self) -> TokenVerifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the HTTP session used for the JWKS."""
        await self._jwks.aclose()

    async def verify(self, token: str) -> JWT:
        """Return the decoded token if it is genuine, current and for this client.

        Raises:
            TokenExpiredException: Expired, or not valid yet.
            InvalidTokenException: Anything else wrong with it (never echoing it).
            NetworkError: The JWKS could not be fetched.
        """
        value: object = token
        if not isinstance(value, str) or len(value) > self._max_length:
            raise InvalidTokenException(
                f"a token must be a str of at most {self._max_length} chars"
            )
        cached = self._verified.get(token)
        if cached is not None:
            self._check_time(cached.payload)
            self._verified.move_to_end(token)
            return cached
        jwt = decode_jwt(token)
        await self._check_signature(jwt)
        self._check_claims(jwt.payload)
        self._verified[token] = jwt
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return jwt

    async def _check_signature(self, jwt: JWT) -> None:
        alg, kid = jwt.header.get("alg"), jwt.header.get("kid")
        if alg not in _ALGORITHMS:
            raise InvalidTokenException(f"algorithm {alg!r} is not allowed (only RS256)")
        if not isinstance(kid, str):
            raise InvalidTokenException("the token has no key id")
        key = await self._jwks.key(kid)
        signing_input, _, signature = jwt.raw.rpartition(".")
        from jose.exceptions import JOSEError

        try:
            public_key = self._public_key(kid, key, alg)
            genuine = public_key.verify(
                signing_input.encode(), b64url_decode(signature, "signature")
            )
        except JOSEError:
            genuine = False
        if not genuine:
            raise InvalidTokenException("the token's signature is not valid")

    def _public_key(self, kid: str, key: dict[str, Any], alg: str) -> Any:
        """The key object for ``kid``, built once per JWKS entry (building costs more
        than verifying)."""
        # python-jose is imported here, not at the top: most users never verify,
        # and importing it costs a quarter of the package's import time.
        from jose import jwk

        cached = self._public_keys.get(kid)
        if cached is None or cached[0] is not key:
            cached = self._public_keys[kid] = (key, jwk.construct(key, algorithm=alg))
        return cached[1]

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or issuer not in self._issuers:
            raise InvalidTokenException("the token is from another issuer")
        if claims.get("token_use") != self._use:
            raise InvalidTokenException(f"the token is not an {self._use} token")
        audience = claims.get("client_id") if self._use == "access" else claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self._client_id not in audiences:
            raise InvalidTokenException("the token is for another app client")
        self._check_time(claims)
        groups = claims.get("cognito:groups")
        if self._groups - set(groups if isinstance(groups, list) else []):
            raise InvalidTokenException("the user is not in the required groups")
        scope = claims.get("scope")
        if self._scopes - set(scope.split() if isinstance(scope, str) else []):
            raise InvalidTokenException("the token lacks a required scope")

    def _check_time(self, claims: Mapping[str, Any]) -> None:
        now = self._clock.time()
        exp, nbf = numeric_claim(claims, "exp"), numeric_claim(claims, "nbf")
        if exp is None:
            raise InvalidTokenException("the token has no numeric 'exp' claim")
        if now >= exp + self._leeway:
            raise TokenExpiredException("the token has expired")
        if "nbf" in claims and (nbf is None or now + self._leeway < nbf):
            raise TokenExpiredException("the token is not valid yet")


_ALGORITHMS = frozenset({"RS256"})


def _endpoint_from_environment() -> str | None:
    """The Cognito-specific endpoint variable only: a verifier decides whose keys to
    trust, so a global ``AWS_ENDPOINT_URL`` meant for S3 or SQS must not move it."""
    found = endpoint_variable("COGNITO_IDENTITY_PROVIDER", global_fallback=False)
    if found is None:
        return None
    variable, url = found
    _log.warning("TokenVerifier trusts the keys served at the endpoint %s names", variable)
    return url
