"""One OS process of a sign-in split across two: it starts a sign-in, or finishes one
another process started, from the state passed on the command line.

Run by tests as ``python -m tests.support.resume_worker SETTINGS_JSON``; prints
one JSON line: the step and its state, or signed in (and who), or the error.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from amplify_session import AuthConfig, AuthError, FileStorage, SessionManager


async def run(settings: dict[str, Any]) -> dict[str, Any]:
    config = AuthConfig(**settings["config"])
    storage = FileStorage(settings["session_file"])
    async with SessionManager(config, storage=storage) as manager:
        try:
            if settings["mode"] == "start":
                result = await manager.sign_in(settings["username"], **settings["sign_in"])
            else:
                result = await manager.confirm_sign_in(settings["answer"], state=settings["state"])
        except AuthError as err:
            return {"error": err.name, "message": err.message}
        if result.is_signed_in:
            return {"signed_in": (await manager.get_current_user()).username}
        return {"step": result.next_step.sign_in_step, "state": result.next_step.state}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
