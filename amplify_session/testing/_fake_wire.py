"""How the fake answers on the wire: JSON 1.1 bodies, Cognito's error shape, a Date header."""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any

from .._cognito._wire import CognitoResponse
from ._server_checks import Refused

__all__ = ["Refused", "bare_response", "error_response", "json_response"]

#: Errors Cognito answers with a 5xx status; every other one is a 400.
_SERVER_ERRORS = {"InternalErrorException": 500, "ServiceUnavailableException": 503}


def json_response(body: Mapping[str, Any], now: float) -> CognitoResponse:
    return CognitoResponse(200, json.dumps(body), _headers(now))


def error_response(
    name: str, message: str, now: float, status: int | None = None
) -> CognitoResponse:
    """Cognito's error answer: the name in ``x-amzn-errortype`` and in the body's ``__type``."""
    headers = {**_headers(now), "x-amzn-errortype": f"{name}:"}
    body = json.dumps({"__type": name, "message": message})
    return CognitoResponse(status or _SERVER_ERRORS.get(name, 400), body, headers)


def bare_response(status: int, now: float) -> CognitoResponse:
    """A status with no body, as a proxy or a load balancer answers."""
    return CognitoResponse(status, "", {"Date": formatdate(now, usegmt=True)})


def _headers(now: float) -> dict[str, str]:
    return {
        "Content-Type": "application/x-amz-json-1.1",
        "Date": formatdate(now, usegmt=True),
    }
