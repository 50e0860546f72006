"""TokenVerifier: is a Cognito token genuine, current, and for this client?

Kept apart from ``_jwt.py`` (decoding) because it brings python-jose and the
JWKS client with its aiohttp session: a service that only holds a session
decodes tokens but never verifies them, and should not load either.
``amplify_session.TokenVerifier`` imports this module on first use.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

from ._config import AuthConfig, endpoint_variable, pool_issuers
from ._errors import InvalidParameterException, InvalidTokenException, TokenExpiredException
from ._jwks import JWKSCache
from ._jwt import b64url_decode, decode_jwt, numeric_claim
from ._models import JWT
from ._timing import Clock, SystemClock
from ._trusted_pool import ClaimsCheck, TrustedPool, authorize, check_audience

__all__ = ["TokenVerifier"]

_log = logging.getLogger("amplify_session.verifier")


class TokenVerifier:
    """Verifies Cognito access or id tokens: signature, issuer, use, client, time.

    One pool and client, ``TokenVerifier(user_pool_id=..., client_id=...)``, or
    several, ``TokenVerifier(pools=[TrustedPool(...), ...])`` (each with its
    own clients, token use, groups, scopes and claims check). A token's ``iss``
    picks its pool: a token of any other issuer is refused before any key is
    fetched.

    Each pool's JWKS is fetched from its issuer (or ``jwks_url``) and cached
    on its own. An unknown key id triggers one refetch, shared by every
    concurrent caller, then a ``penalty`` window during which unknown key ids
    are refused without fetching, so a flood of bad tokens cannot hammer the
    endpoint. A verified token is cached until it expires: verifying it again
    costs a dictionary lookup (and the group, scope and claims checks).

    Args:
        user_pool_id: The pool that issues the tokens (one pool; or ``pools``).
        client_id: The app client the tokens must be for, or several.
        token_use: ``"access"``, ``"id"``, or None for either.
        jwks_url: Where the keys are, when not at the issuer or the endpoint.
        user_pool_endpoint: An emulator's User Pool endpoint: the keys are
            then fetched from ``<endpoint>/<user_pool_id>/.well-known/jwks.json``,
            and the issuer may also be ``<endpoint>/<user_pool_id>``
            (cognito-local's). By default, what
            ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` says (logged as a
            warning: it decides whose keys are trusted); never the global
            ``AWS_ENDPOINT_URL``, which is often set for other services.
        required_groups: Groups (``cognito:groups``) the user must all be in.
        required_scopes: Scopes (access tokens' ``scope``) that must all be granted.
        claims_check: A callable given the verified :class:`JWT`; raising or
            returning ``False`` refuses the token (see :class:`TrustedPool`).
        pools: Several pools, instead of the single-pool arguments above.
        leeway: Seconds of tolerance on ``exp`` and ``nbf``.
        clock: The wall clock (a seam for tests).
        penalty: Seconds between JWKS fetches caused by unknown key ids.
        max_token_length: Longer tokens are refused before any decoding.
        cache_size: Verified tokens kept for quick re-verification; the least
            recently used is dropped beyond it.

    Raises:
        InvalidParameterException: Neither ``user_pool_id`` nor ``pools``, both,
            or the same pool twice.
        InvalidConfigurationException: A malformed pool id or endpoint.
    """

    def __init__(
        self,
        *,
        user_pool_id: str | None = None,
        client_id: str | Collection[str] | None = None,
        token_use: Literal["access", "id"] | None = "access",  # noqa: S107 (a token kind)
        jwks_url: str | None = None,
        user_pool_endpoint: str | None = None,
        required_groups: Collection[str] | None = None,
        required_scopes: Collection[str] | None = None,
        claims_check: ClaimsCheck | None = None,
        pools: Sequence[TrustedPool] = (),
        leeway: float = 0.0,
        clock: Clock | None = None,
        penalty: float = 10.0,
        max_token_length: int = 16 * 1024,
        cache_size: int = 10_000,
    ) -> None:
        single = {
            "user_pool_id": user_pool_id,
            "client_id": client_id,
            "jwks_url": jwks_url,
            "user_pool_endpoint": user_pool_endpoint,
            "required_groups": required_groups,
            "required_scopes": required_scopes,
            "claims_check": claims_check,
        }
        single_given = any(v is not None for v in single.values()) or token_use != "access"  # noqa: S105
        if pools and single_given:
            raise InvalidParameterException(
                "give either pools= or one pool's user_pool_id=, client_id=, ..., not both"
            )
        if not pools:
            if user_pool_id is None or client_id is None:
                raise InvalidParameterException("give user_pool_id= and client_id=, or pools=")
            pools = [TrustedPool(token_use=token_use, **single)]  # type: ignore[arg-type]
        self._clock = clock if clock is not None else SystemClock()
        self._leeway = leeway
        self._max_length = max_token_length
        self._cache_size = cache_size
        self._pools = [_PoolKeys(pool, clock=self._clock, penalty=penalty) for pool in pools]
        self._by_issuer: dict[str, _PoolKeys] = {}
        for keys in self._pools:
            if any(issuer in self._by_issuer for issuer in keys.issuers):
                raise InvalidParameterException(
                    f"the pool {keys.pool.user_pool_id} is given twice: one TrustedPool per pool"
                )
            self._by_issuer.update(dict.fromkeys(keys.issuers, keys))
        self._verified: OrderedDict[str, tuple[JWT, _PoolKeys]] = OrderedDict()

    def __repr__(self) -> str:
        issuers = [keys.issuers[0] for keys in self._pools]
        return f"TokenVerifier(issuers={issuers!r})"

    @property
    def jwks(self) -> JWKSCache:
        """The first pool's key cache (its ``fetches`` counts JWKS requests)."""
        return self._pools[0].jwks

    @property
    def key_sets(self) -> Mapping[str, JWKSCache]:
        """Each pool's key cache, by user pool id."""
        return {keys.pool.user_pool_id: keys.jwks for keys in self._pools}

    async def __aenter__(self) -> TokenVerifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the HTTP sessions used for the JWKS."""
        for keys in self._pools:
            await keys.jwks.aclose()

    async def verify(
        self,
        token: str,
        *,
        required_scopes: Collection[str] = (),
        required_groups: Collection[str] = (),
    ) -> JWT:
        """Return the decoded token if it is genuine, current, for an accepted client,
        and grants what its pool (and this call) requires.

        Args:
            token: The raw JWT.
            required_scopes: Scopes this call needs on top of the pool's.
            required_groups: Groups this call needs on top of the pool's.

        Raises:
            TokenExpiredException: Expired, or not valid yet.
            InsufficientScopeException: Genuine, but a scope or group is missing.
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
            jwt, keys = cached
            self._check_time(jwt.payload)
            self._verified.move_to_end(token)
        else:
            jwt = decode_jwt(token)
            keys = self._pool_of(jwt.payload)
            await keys.check_signature(jwt)
            check_audience(keys.pool, jwt.payload)
            self._check_time(jwt.payload)
            self._verified[token] = (jwt, keys)
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        if keys.authorizes or required_scopes or required_groups:
            authorize(keys.pool, jwt, _names(required_scopes), _names(required_groups))
        return jwt

    def _pool_of(self, claims: Mapping[str, Any]) -> _PoolKeys:
        """The pool whose issuer the token names: checked before any key is fetched."""
        issuer = claims.get("iss")
        keys = self._by_issuer.get(issuer) if isinstance(issuer, str) else None
        if keys is None:
            raise InvalidTokenException("the token is from another issuer")
        return keys

    def _check_time(self, claims: Mapping[str, Any]) -> None:
        now = self._clock.time()
        exp, nbf = numeric_claim(claims, "exp"), numeric_claim(claims, "nbf")
        if exp is None:
            raise InvalidTokenException("the token has no numeric 'exp' claim")
        if now >= exp + self._leeway:
            raise TokenExpiredException("the token has expired")
        if "nbf" in claims and (nbf is None or now + self._leeway < nbf):
            raise TokenExpiredException("the token is not valid yet")


def _names(values: Collection[str]) -> frozenset[str]:
    if isinstance(values, str):  # "admins" would become {"a", "d", ...}
        raise InvalidParameterException("required scopes and groups are lists of names")
    return frozenset(values)


class _PoolKeys:
    """One trusted pool's issuers, key set and constructed public keys."""

    def __init__(self, pool: TrustedPool, *, clock: Clock, penalty: float) -> None:
        config = AuthConfig(
            user_pool_id=pool.user_pool_id,
            user_pool_client_id=pool.client_id[0],
            user_pool_endpoint=pool.user_pool_endpoint or _endpoint_from_environment(),
        )
        self.pool = pool
        self.issuers = pool_issuers(config)
        # Most pools require nothing beyond a genuine token: skip the checks then.
        self.authorizes = bool(pool.required_groups or pool.required_scopes or pool.claims_check)
        # Behind an endpoint the emulator serves the keys at its own issuer form.
        jwks_url = pool.jwks_url or f"{self.issuers[-1]}/.well-known/jwks.json"
        self.jwks = JWKSCache(jwks_url, clock=clock, penalty=penalty, timeout=10.0)
        self._public_keys: dict[str, tuple[dict[str, Any], Any]] = {}

    async def check_signature(self, jwt: JWT) -> None:
        alg, kid = jwt.header.get("alg"), jwt.header.get("kid")
        if alg not in _ALGORITHMS:
            raise InvalidTokenException(f"algorithm {alg!r} is not allowed (only RS256)")
        if not isinstance(kid, str):
            raise InvalidTokenException("the token has no key id")
        key = await self.jwks.key(kid)
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
