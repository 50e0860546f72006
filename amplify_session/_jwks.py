"""A cached JSON Web Key Set: one fetch however many verifiers wait, and a
penalty window so a flood of tokens with unknown key ids cannot hammer the
issuer's endpoint."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from ._errors import InvalidResponseException, InvalidTokenException, NetworkError
from ._flight import FlightInterrupted, SingleFlight
from ._timing import Clock

__all__ = ["JWKSCache"]

_log = logging.getLogger("amplify_session.verifier")
_MAX_JWKS_BYTES = 1024 * 1024


class JWKSCache:
    """The keys of one issuer, by ``kid``.

    Args:
        url: Where the JWKS is served.
        clock: The wall clock.
        penalty: Seconds after a fetch during which an unknown ``kid`` is
            refused without fetching again.
        timeout: Seconds one fetch may take.
    """

    def __init__(self, url: str, *, clock: Clock, penalty: float, timeout: float) -> None:
        self._url = url
        self._clock = clock
        self._penalty = penalty
        self._timeout = timeout
        self._keys: dict[str, dict[str, Any]] = {}
        self._loaded = False
        self._penalty_until = -float("inf")
        self._failure: NetworkError | None = None
        self._flight: SingleFlight[None] = SingleFlight()
        self._http: aiohttp.ClientSession | None = None
        self.fetches = 0

    def __repr__(self) -> str:
        return f"JWKSCache(url={self._url!r}, keys={len(self._keys)})"

    async def aclose(self) -> None:
        """Close the HTTP session."""
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    async def key(self, kid: str) -> dict[str, Any]:
        """The JWK for ``kid``, fetching the set once if it is not known yet.

        Raises:
            InvalidTokenException: No such key (after at most one fetch per
                penalty window).
            NetworkError: The JWKS could not be fetched.
        """
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._flight.in_progress or self._clock.time() >= self._penalty_until:
            try:
                await self._flight.run(self._fetch, task_group=lambda: None)
            except FlightInterrupted:
                raise NetworkError("the key set download was interrupted") from None
            key = self._keys.get(kid)
        elif self._failure is not None:
            raise self._failure
        if key is None:
            raise InvalidTokenException("the token's key id is not in the issuer's key set")
        return key

    async def _fetch(self) -> None:
        # The first load is free; every later fetch (an unknown key id, or a
        # failure) opens the penalty window.
        if self._loaded or self._failure is not None:
            self._penalty_until = self._clock.time() + self._penalty
        self.fetches += 1
        try:
            self._keys = await self._download()
        except NetworkError as err:
            self._failure = err
            self._penalty_until = self._clock.time() + self._penalty
            raise
        self._loaded, self._failure = True, None

    async def _download(self) -> dict[str, dict[str, Any]]:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        try:
            async with self._http.get(self._url) as response:
                raw = await response.content.read(_MAX_JWKS_BYTES)
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise NetworkError(f"could not fetch the JWKS from {self._url}") from exc
        if status != 200:
            raise NetworkError(f"the JWKS endpoint answered HTTP {status}", retryable=status >= 500)
        keys = _parse_jwks(raw)
        _log.debug("fetched %d keys from %s", len(keys), self._url)
        return keys


def _parse_jwks(raw: bytes) -> dict[str, dict[str, Any]]:
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidResponseException("the JWKS is not JSON") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise InvalidResponseException("the JWKS has no key list")
    return {
        key["kid"]: key
        for key in keys
        if isinstance(key, dict) and isinstance(key.get("kid"), str) and key.get("kty") == "RSA"
    }
