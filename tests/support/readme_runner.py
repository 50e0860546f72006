"""Runs one README block as a user would: `python -X dev -W error readme_runner.py BLOCK.py`.

The test (tests/integration/test_readme.py) has already put the emulator's
values in place of the placeholders and set the `AWS_ENDPOINT_URL_*`
variables; `README_CONTEXT` (JSON) carries the pool ids. See
tests/support/readme_blocks.py for what each kind of block gets.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from amplify_session import AuthConfig, SessionManager
from amplify_session.emulator._loopback import serve_on_loopback
from tests.support.readme_blocks import PASSWORD, PLACEHOLDERS, USERNAME


def _config(context: dict[str, str]) -> AuthConfig:
    return AuthConfig(
        user_pool_id=context["user_pool_id"],
        user_pool_client_id=context["client_id"],
        identity_pool_id=context["identity_pool_id"],
    )


@asynccontextmanager
async def _api() -> AsyncIterator[str]:
    """`https://api.example.com` of the examples: answers 200 to a bearer token, else 401."""

    async def me(request: web.Request) -> web.Response:
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        return web.json_response({"ok": bearer}, status=200 if bearer else 401)

    app = web.Application()
    app.router.add_get("/me", me)
    async with serve_on_loopback(app) as url:
        yield url


async def _run_async(code: str, context: dict[str, str]) -> None:
    config = _config(context)
    async with _api() as api_url, SessionManager(config) as manager:
        code = code.replace(PLACEHOLDERS["api_url"], api_url.rstrip("/"))
        compiled = compile(code, "README block", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        await manager.sign_in(USERNAME, PASSWORD)
        session = await manager.fetch_auth_session()
        assert session.tokens is not None
        namespace: dict[str, Any] = {
            "__name__": "__main__",
            "config": config,
            "manager": manager,
            "token": session.tokens.access_token.to_string(),
        }
        result = eval(compiled, namespace)
        if result is not None:
            await result


def main(path: str) -> None:
    code = Path(path).read_text(encoding="utf-8")
    context = json.loads(os.environ["README_CONTEXT"])
    try:
        compiled = compile(code, "README block", "exec", dont_inherit=True)
    except SyntaxError:  # top-level await: run inside an event loop
        compiled = None
    if compiled is None:
        asyncio.run(_run_async(code, context))
        return
    exec(compiled, {"__name__": "__main__", "config": _config(context)})


if __name__ == "__main__":
    main(sys.argv[1])
