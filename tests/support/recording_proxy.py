"""A reverse proxy on 127.0.0.1 that records which AWS access key signed each request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import attrs
from aiohttp import web

from amplify_session.emulator._loopback import serve_on_loopback

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "content-encoding", "host"}


@attrs.define
class RecordingProxy:
    upstream: str
    url: str = ""
    access_keys: list[str] = attrs.field(factory=list)
    _http: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        match = _CREDENTIAL.search(request.headers.get("Authorization", ""))
        self.access_keys.append(match.group(1) if match else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        assert self._http is not None
        async with self._http.request(
            request.method,
            self.upstream + request.rel_url.raw_path_qs,
            headers=headers,
            data=await request.read(),
            auto_decompress=False,
        ) as answer:
            body = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=answer.status, body=body, headers=out)


@asynccontextmanager
async def recording_proxy(upstream: str) -> AsyncIterator[RecordingProxy]:
    proxy = RecordingProxy(upstream.rstrip("/"))
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    async with serve_on_loopback(app) as base, aiohttp.ClientSession() as http:
        proxy.url, proxy._http = base, http
        yield proxy
