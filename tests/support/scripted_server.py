"""A Cognito stand-in on 127.0.0.1 that answers from a script, to test the transport.

Each request takes the next step of the script; when the script runs out the
last step repeats. A step is an HTTP answer, or a fault: ``"reset"`` drops the
connection, ``"stall"`` never answers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
from aiohttp import web

from amplify_session import AuthConfig
from amplify_session.emulator._loopback import loopback_server
from tests.support.retry import fast_retry


@attrs.frozen
class Answer:
    status: int = 200
    body: Any = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)


Step = Answer | str


@attrs.define
class ScriptedServer:
    script: list[Step]
    url: str = ""
    requests: list[dict[str, Any]] = attrs.field(factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = request.content_type == "application/x-www-form-urlencoded"
        self.requests.append(
            {
                "target": request.headers.get("X-Amz-Target"),
                "path": request.path,
                "authorization": request.headers.get("Authorization"),
                "body": dict(await request.post()) if form else await request.json(),
            }
        )
        step = self.script[min(len(self.requests), len(self.script)) - 1]
        if step == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if step == "stall":
            await asyncio.sleep(3600)
        assert isinstance(step, Answer)
        text = step.body if isinstance(step.body, str) else json.dumps(step.body)
        return web.Response(
            status=step.status,
            text=text,
            headers=step.headers,
            content_type="application/x-amz-json-1.1",
        )


@asynccontextmanager
async def scripted_server(*script: Step) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer(list(script))
    async with loopback_server(server.handle, ("/", "/oauth2/token")) as port:
        server.url = f"http://127.0.0.1:{port}/"
        yield server


def scripted_config(url: str, **overrides: Any) -> AuthConfig:
    """A config pointing at a scripted server: one attempt per call, a short timeout."""
    fields: dict[str, Any] = {
        "user_pool_id": "us-east-1_Test1",
        "user_pool_client_id": "client1",
        "user_pool_endpoint": url,
        "retry": fast_retry(1),
        "request_timeout": 2.0,
        **overrides,
    }
    return AuthConfig(**fields)
