"""Cognito's JSON 1.1 protocol over one shared aiohttp session, with retries.

Every failure leaves here as an :class:`AuthError`: Cognito error answers
by their ``__type``, transport failures and timeouts as :class:`NetworkError`.
Transient failures (network, throttling, 5xx) are retried with exponential
backoff and jitter, bounded in attempts and in total time (stamina).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Collection, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import stamina

from .._config import AuthConfig
from .._errors import AuthError, InvalidResponseException, NetworkError, error_from_service

__all__ = ["CognitoTransport", "Service", "redact"]

_log = logging.getLogger("amplify_session.transport")

_CONTENT_TYPE = "application/x-amz-json-1.1"
_MAX_MESSAGE = 300  # characters of a server message kept in an error


class Service(enum.Enum):
    """The two Cognito APIs, by their X-Amz-Target prefix."""

    USER_POOL = "AWSCognitoIdentityProviderService"
    IDENTITY_POOL = "AWSCognitoIdentityService"


def redact(text: str, secrets: Collection[str]) -> str:
    """Replace every occurrence of a secret in ``text`` (servers echo input back)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class CognitoTransport:
    """Sends Cognito API calls; owns one aiohttp ClientSession, opened lazily."""

    def __init__(self, config: AuthConfig) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"CognitoTransport(open={self._session is not None and not self._session.closed})"

    async def aclose(self) -> None:
        """Close the HTTP session; the transport can be used again afterwards."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._config.request_timeout),
                headers={"Content-Type": _CONTENT_TYPE},
            )
        return self._session

    async def call(
        self,
        service: Service,
        operation: str,
        payload: Mapping[str, Any],
        *,
        secrets: Collection[str] = (),
    ) -> dict[str, Any]:
        """Call ``operation``; see :meth:`call_with_date`."""
        body, _ = await self.call_with_date(service, operation, payload, secrets=secrets)
        return body

    async def call_with_date(
        self,
        service: Service,
        operation: str,
        payload: Mapping[str, Any],
        *,
        secrets: Collection[str] = (),
    ) -> tuple[dict[str, Any], float | None]:
        """Call ``operation``, retrying transient failures within the policy's bounds.

        Args:
            service: Which Cognito API.
            operation: The API action, e.g. ``"InitiateAuth"``.
            payload: The JSON request body.
            secrets: Values in ``payload`` to scrub from any error message.

        Returns:
            The decoded JSON answer, and the server's clock (its ``Date``
            header, epoch seconds) when it sent one.

        Raises:
            AuthError: The Cognito error, or NetworkError after the last retry.
        """
        policy = self._config.retry
        url = (
            self._config.user_pool_url
            if service is Service.USER_POOL
            else self._config.identity_pool_url
        )
        body = json.dumps(payload)
        async for attempt in stamina.retry_context(
            on=_is_retryable,
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        ):
            with attempt:
                return await self._send_once(url, f"{service.value}.{operation}", body, secrets)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _send_once(
        self, url: str, target: str, body: str, secrets: Collection[str]
    ) -> tuple[dict[str, Any], float | None]:
        operation = target.rsplit(".", 1)[1]
        try:
            async with self._client().post(
                url, data=body, headers={"X-Amz-Target": target}
            ) as response:
                status = response.status
                text = await response.text(encoding="utf-8", errors="replace")
                error_type = response.headers.get("x-amzn-errortype", "")
                server_time = _server_time(response.headers.get("Date"))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            _log.debug("%s failed: %s", operation, type(exc).__name__)
            raise NetworkError(
                f"{operation}: could not reach Cognito ({_describe(exc)})",
                recovery_suggestion="Check the network and the endpoint; the call is retried.",
                underlying_error=exc,
            ) from exc
        if 200 <= status < 300:
            return _decode_success(operation, text), server_time
        error = _decode_error(status, text, error_type, secrets)
        _log.debug("%s answered %s %s", operation, status, error.name)
        raise error


def _server_time(date: str | None) -> float | None:
    if not date:
        return None
    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _is_retryable(exc: Exception) -> bool:
    return isinstance(exc, AuthError) and exc.retryable


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    # aiohttp's messages name the host and port, never the request body.
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _decode_success(operation: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        raise InvalidResponseException(f"{operation}: the answer is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidResponseException(f"{operation}: the answer is not a JSON object")
    return value


def _decode_error(status: int, text: str, error_type: str, secrets: Collection[str]) -> AuthError:
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    raw_name = body.get("__type") or body.get("code") or error_type
    name = _error_name(str(raw_name)) if raw_name else _name_for_status(status)
    message = body.get("message") or body.get("Message") or f"HTTP {status}"
    message = redact(str(message), secrets)[:_MAX_MESSAGE]
    return error_from_service(name, message, status=status)


def _error_name(raw: str) -> str:
    # "com.amazonaws.cognito#NotAuthorizedException" or
    # "NotAuthorizedException:http://internal.amazon.com/coral/..."
    return raw.rsplit("#", 1)[-1].split(":", 1)[0].strip() or "UnknownError"


def _name_for_status(status: int) -> str:
    if status == 429:
        return "TooManyRequestsException"
    if status >= 500:
        return "InternalErrorException"
    return f"HTTP{status}"
