"""moto's server as the front calls it: forwarded requests and the front's own calls."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

from ._wire import IDP, Refused

__all__ = ["Upstream"]


class Upstream:
    """moto's server at ``url``, over ``http`` (the front's client session)."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self._url = url
        self._http = http

    async def forward(self, target: str, body: bytes) -> web.Response:
        """Pass a call on to moto as is, and its answer back."""
        status, text, error_type = await self.call(target, body)
        headers = {"x-amzn-errortype": error_type} if error_type else {}
        return web.Response(
            status=status,
            text=text,
            headers=headers,
            content_type="application/x-amz-json-1.1",
        )

    async def forward_get(self, path: str) -> web.Response:
        """A pool's key set, where Cognito serves it (``/<pool id>/.well-known/jwks.json``)."""
        async with self._http.get(self._url.rstrip("/") + path) as response:
            return web.Response(
                status=response.status,
                text=await response.text(),
                content_type="application/json",
            )

    async def call(self, target: str, body: bytes) -> tuple[int, str, str]:
        """Status, body and error type of moto's answer to one call."""
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
        async with self._http.post(self._url, data=body, headers=headers) as response:
            text = await response.text()
            return response.status, text, response.headers.get("x-amzn-errortype", "")

    async def user_pool(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """moto's answer to a User Pool call; its error refused as is."""
        return await self.json(IDP + operation, payload)

    async def json(self, target: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """moto's JSON answer to ``target``; its error refused as is."""
        status, text, _ = await self.call(target, json.dumps(payload).encode())
        answer: dict[str, Any] = json.loads(text) if text else {}
        if status != 200:
            name = str(answer.get("__type", "InternalErrorException")).rsplit("#", 1)[-1]
            raise Refused(name, str(answer.get("message", "moto refused")), status)
        return answer
