"""Cognito's JSON 1.1 protocol over a :class:`Transport`, with retries.

Every failure leaves here as an :class:`AuthError`: Cognito error answers
by their ``__type``, transport failures and timeouts as :class:`NetworkError`.
Transient failures (network, throttling, 5xx) are retried with exponential
backoff and jitter, bounded in attempts and in total time. Sending one
request is the transport's job (aiohttp by default, see ``_http.py``).

The retry loop is tenacity's, configured per call: stamina (used before)
reports every retry through process-global hooks whose default logs a bare
``stamina.retry_scheduled`` warning to stderr, and its on/off and testing
switches are global too. Here retries are logged at DEBUG on
``amplify_session.transport`` and nothing is shared with the user's own
stamina or tenacity use.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Collection, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from .._config import AuthConfig
from .._errors import (
    _COGNITO_ERRORS,
    _TRANSIENT_NAMES,
    AuthError,
    InvalidResponseException,
    NetworkError,
    error_from_service,
)
from ._call_gate import DEFAULT_MAX_CALLS, CallGate
from ._http import AiohttpTransport, LoopSession
from ._redact import redact
from ._wire import CognitoRequest, Service, Transport

__all__ = ["CognitoTransport", "Service", "network_error", "redact"]

_log = logging.getLogger("amplify_session.transport")

_MAX_MESSAGE = 300  # characters of a server message kept in an error
_MAX_SCRUBBED = 16_384  # a longer server message is not kept at all
_ERROR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,99}")


class CognitoTransport:
    """Calls Cognito APIs through a :class:`Transport`, retrying and decoding.

    Args:
        config: Where the pools are, the timeout and the retry policy.
        transport: What sends each request; by default a new
            :class:`AiohttpTransport` on ``session``, which :meth:`aclose`
            closes. A transport given here belongs to its owner and is never
            closed by this one.
        gate: What every call passes through (slots, retry budget), shared
            with the other parts of the same client; by default its own.
        session: The connections the default transport uses.
    """

    def __init__(
        self,
        config: AuthConfig,
        transport: Transport | None = None,
        *,
        gate: CallGate | None = None,
        session: LoopSession | None = None,
    ) -> None:
        self._config = config
        self.gate = gate if gate is not None else CallGate(DEFAULT_MAX_CALLS)
        self._owns = transport is None
        self._sender: Transport = (
            transport if transport is not None else AiohttpTransport(config, session)
        )

    def __repr__(self) -> str:
        return f"CognitoTransport({self._sender!r})"

    async def aclose(self) -> None:
        """Close the transport if this one created it; it can be used again afterwards."""
        if self._owns:
            await self._sender.aclose()

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
        request = CognitoRequest(service, operation, json.dumps(payload))
        return await self.gate.call(
            self._config.retry, operation, lambda: self._send_once(request, secrets)
        )

    async def _send_once(
        self, request: CognitoRequest, secrets: Collection[str]
    ) -> tuple[dict[str, Any], float | None]:
        operation = request.operation
        failure: Exception | None = None
        try:
            response = await self._sender.send(request)
        except AuthError:
            raise
        except Exception as exc:  # noqa: BLE001 (translated below, outside this block)
            failure = exc
        if failure is not None:
            # Raised outside the except block, so a failure that may carry the
            # server's bytes is not even the new error's __context__.
            raise network_error(operation, failure, secrets, what="Cognito")
        status, text = response.status, response.body
        if 200 <= status < 300:
            return _decode_success(operation, text), _server_time(response.headers.get("date"))
        error = _decode_error(status, text, response.headers.get("x-amzn-errortype", ""), secrets)
        _log.debug("%s answered %s %s", operation, status, error.name)
        raise error


def network_error(
    operation: str, failure: Exception, secrets: Collection[str], *, what: str
) -> NetworkError:
    """The error for a request that got no answer: ``failure`` is what sending it raised.

    The failure is kept as the cause only when nothing in its chain may quote
    the answer or a secret. A failure that is not a network one is a broken
    transport (a bug in one passed to the manager): not retried.
    """
    cause = failure if _is_clean(failure, secrets) else None
    if not isinstance(failure, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return NetworkError(
            f"{operation}: the transport failed ({type(failure).__name__})",
            recovery_suggestion="Check the transport passed to the SessionManager.",
            underlying_error=cause,
            retryable=False,
        )
    _log.debug("%s failed: %s", operation, type(failure).__name__)
    error = NetworkError(
        f"{operation}: could not reach {what} ({_describe(failure, secrets)})",
        recovery_suggestion="Check the network and the endpoint.",
        underlying_error=cause,
    )
    error.__cause__ = cause
    return error


def _server_time(date: str | None) -> float | None:
    if not date:
        return None
    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


# Failures whose text comes from the OS or the configuration, never from the
# server's answer: aiohttp's parser errors (ClientResponseError), payload
# errors and ServerDisconnectedError(<partial answer>) quote the answer's
# bytes, which a server or proxy may have made an echo of the request.
_DESCRIBED = (OSError, aiohttp.InvalidURL)


def _describe(exc: BaseException, secrets: Collection[str]) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, _DESCRIBED) and str(exc):
        return redact(f"{type(exc).__name__}: {exc}", secrets)
    return type(exc).__name__


def _is_clean(exc: BaseException, secrets: Collection[str]) -> bool:
    """Whether ``exc`` and its chain may be kept: none quotes the answer or a secret."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, aiohttp.ServerDisconnectedError):
            if not isinstance(current.message, str):
                return False
        elif not isinstance(current, (*_DESCRIBED, asyncio.TimeoutError)):
            return False
        text = f"{current!s}\n{current!r}\n{current.args!r}"
        if redact(text, secrets) != text:
            return False
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return True


def _decode_success(operation: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        raise InvalidResponseException(f"{operation}: the answer is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidResponseException(f"{operation}: the answer is not a JSON object")
    return value


def _decode_error(status: int, text: str, error_type: str, secrets: Collection[str]) -> AuthError:
    try:
        body = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    raw_name = body.get("__type") or body.get("code") or error_type
    name = _safe_name(raw_name, status, secrets)
    message = body.get("message") or body.get("Message")
    if not isinstance(message, str) or len(message) > _MAX_SCRUBBED:
        message = f"HTTP {status}"
    # Scrub first, then cut: a secret cut in half at the cut would escape the scrubber.
    message = redact(message, secrets)[:_MAX_MESSAGE]
    return error_from_service(name, message, status=status)


def _safe_name(raw: object, status: int, secrets: Collection[str]) -> str:
    """The error name, unless the server put something else than a name there."""
    if not raw or not isinstance(raw, str):
        return _name_for_status(status)
    name = _error_name(raw)
    if name in _COGNITO_ERRORS or name in _TRANSIENT_NAMES:
        return name
    if _ERROR_NAME.fullmatch(name) and redact(name, secrets) == name:
        return name
    return _name_for_status(status)


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
