"""A second process holding a session in a shared FileStorage (issue 13, item 9a).

Run by tests as ``python -m tests.support.storage_promise_worker SETTINGS_JSON``:
it restores the session from the file, says so (``ready_marker``), fetches
it every 20 ms for ``duration`` seconds, and writes what it saw as JSON to
``out``: the events it got, the errors fetches raised, each new access
token's jti, and whether it was still signed in at the end. No token value
is ever written.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from amplify_session import AuthConfig, AuthError, FileStorage, SessionEvent, SessionManager


async def run(settings: dict[str, Any]) -> dict[str, Any]:
    config = AuthConfig(**settings["config"])
    events: list[str] = []
    errors: list[str] = []
    jtis: list[str] = []

    def record(event: SessionEvent) -> None:
        events.append(event.name.value)

    manager = SessionManager(config, storage=FileStorage(settings["file"]))
    manager.subscribe(record)
    signed_in = False
    async with manager:
        first = await manager.fetch_auth_session()
        if first.tokens is not None:
            jtis.append(str(first.tokens.access_token.payload["jti"]))
        Path(settings["ready_marker"]).write_text("serving")
        deadline = time.monotonic() + settings["duration"]
        while time.monotonic() < deadline:
            try:
                session = await manager.fetch_auth_session()
            except AuthError as err:
                errors.append(err.name)
            else:
                if session.tokens is not None:
                    jti = str(session.tokens.access_token.payload["jti"])
                    if not jtis or jtis[-1] != jti:
                        jtis.append(jti)
            await asyncio.sleep(0.02)
        try:
            signed_in = (await manager.fetch_auth_session()).tokens is not None
        except AuthError as err:
            errors.append(err.name)
    return {"events": events, "errors": errors, "jtis": jtis, "signed_in": signed_in}


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1])
    result = asyncio.run(run(arguments))
    Path(arguments["out"]).write_text(json.dumps(result))
