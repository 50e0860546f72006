"""Cognito's wire answers, as the front writes them: JSON bodies and error bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..testing._server_checks import Refused

__all__ = ["IDENTITY", "IDP", "Refused", "error_response", "json_response"]

#: X-Amz-Target prefixes of the User Pool and the Identity Pool APIs.
IDP = "AWSCognitoIdentityProviderService."
IDENTITY = "AWSCognitoIdentityService."


def json_response(body: Mapping[str, Any]) -> web.Response:
    return web.Response(text=json.dumps(body), content_type="application/x-amz-json-1.1")


def error_response(name: str, message: str, status: int = 400) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"__type": name, "message": message}),
        headers={"x-amzn-errortype": f"{name}:"},
        content_type="application/x-amz-json-1.1",
    )
