"""Scenarios that need a process of their own: several event loops, threads, a stepped wall clock.

Run as ``python -m tests.support.lifecycle_script MODE`` from the repository root,
with the pool in the ``AMPLIFY_LIFECYCLE_POOL`` environment variable (JSON: the
``AuthConfig`` fields plus ``username`` and ``password``). The last line printed
is a JSON report; it never holds a token or the password. Every wait is bounded.

Modes:

- ``wall-step-back``: sign in, then step the wall clock (``time.time``) back an
  hour and keep fetching past the first token's ``exp``; reports how many served
  tokens were expired by the real clock (the server's).
- ``wall-step-forward``: sign in, step the wall clock an hour forward, then an
  hour back, fetching all along; reports whether the first session was served
  throughout.
- ``two-runs``: one manager used from two successive ``asyncio.run()`` calls,
  with no ``aclose()`` between.
- ``left-open``: a manager opened in one ``asyncio.run()`` that ended with it
  open, then closed and opened again in the next.
- ``two-threads``: one manager open on a loop in one thread, used from a second
  loop in another thread meanwhile.
- ``facade-sign-in``: ``configure()`` then ``asyncio.run(sign_in(...))`` (run it
  with ``-W error``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

# The wall clock as this process sees it: the real one plus a step the scenario
# sets. Installed before amplify_session is imported, as an NTP step would be
# seen by any code, however it holds on to ``time.time``. The monotonic clock
# is left alone.
_REAL_TIME = time.time
_WALL_STEP = [0.0]
time.time = lambda: _REAL_TIME() + _WALL_STEP[0]

LIMIT = 20.0  # seconds any one scenario may take before it counts as a hang


def _pool() -> tuple[dict[str, Any], str, str]:
    fields = json.loads(os.environ["AMPLIFY_LIFECYCLE_POOL"])
    return fields, fields.pop("username"), fields.pop("password")


def _config(fields: dict[str, Any]) -> Any:
    from amplify_session import AuthConfig

    return AuthConfig(**fields)


def _outcome(error: BaseException) -> str:
    return type(error).__name__


def _jti(session: Any) -> str | None:
    if session.tokens is None:
        return None
    return str(session.tokens.access_token.payload.get("jti"))


async def _wall_step_back(fields: dict[str, Any], username: str, password: str) -> dict[str, Any]:
    import anyio

    from amplify_session import AuthError, SessionManager

    report: dict[str, Any] = {"served": 0, "expired": 0, "signed_out": 0, "errors": []}
    with anyio.fail_after(LIMIT):
        async with SessionManager(_config(fields)) as manager:
            await manager.sign_in(username, password)
            first = await manager.fetch_auth_session()
            assert first.tokens is not None
            first_exp = float(first.tokens.access_token.payload["exp"])
            _WALL_STEP[0] = -3600.0
            while _REAL_TIME() < first_exp + 1.5:
                try:
                    session = await manager.fetch_auth_session()
                except AuthError as err:
                    report["errors"].append(err.name)
                else:
                    if session.tokens is None:
                        report["signed_out"] += 1
                    else:
                        report["served"] += 1
                        if float(session.tokens.access_token.payload["exp"]) <= _REAL_TIME():
                            report["expired"] += 1
                await anyio.sleep(0.02)
    return report


async def _wall_step_forward(
    fields: dict[str, Any], username: str, password: str
) -> dict[str, Any]:
    import anyio

    from amplify_session import AuthError, SessionManager

    report: dict[str, Any] = {"fetches": 0, "other_sessions": 0, "errors": []}
    with anyio.fail_after(LIMIT):
        async with SessionManager(_config(fields)) as manager:
            await manager.sign_in(username, password)
            first = await manager.fetch_auth_session()
            for step in (3600.0, -3600.0):
                _WALL_STEP[0] = step
                until = _REAL_TIME() + 0.75
                while _REAL_TIME() < until:
                    try:
                        session = await manager.fetch_auth_session()
                    except AuthError as err:
                        report["errors"].append(err.name)
                    else:
                        report["fetches"] += 1
                        if session is not first:
                            report["other_sessions"] += 1
                    await anyio.sleep(0.02)
    return report


def _run_each(*runs: Callable[[], Awaitable[None]], report: dict[str, Any]) -> None:
    """Each in an ``asyncio.run`` of its own; what escapes one goes in ``run_errors``."""
    for run in runs:
        try:
            asyncio.run(run())
        except BaseException as err:
            report.setdefault("run_errors", []).append(_outcome(err))


def _two_runs(fields: dict[str, Any], username: str, password: str) -> dict[str, Any]:
    import anyio

    from amplify_session import SessionManager

    manager = SessionManager(_config(fields))
    report: dict[str, Any] = {}

    async def first_run() -> None:
        with anyio.fail_after(LIMIT):
            await manager.sign_in(username, password)
            session = await manager.fetch_auth_session(force_refresh=True)
            report["first"] = "tokens" if session.tokens is not None else "no tokens"

    async def second_run() -> None:
        outcomes: list[str] = []
        with anyio.fail_after(LIMIT):
            for _ in range(3):
                try:
                    session = await manager.fetch_auth_session(force_refresh=True)
                except Exception as err:
                    outcomes.append(_outcome(err))
                else:
                    outcomes.append("tokens" if session.tokens is not None else "no tokens")
            try:
                async with manager:
                    session = await manager.fetch_auth_session(force_refresh=True)
                    outcomes.append("tokens" if session.tokens is not None else "no tokens")
                    result = await manager.sign_out()
                    outcomes.append("revoked" if result.revoked else "not revoked")
            except Exception as err:
                outcomes.append(_outcome(err))
            await manager.aclose()
        report["second"] = outcomes

    _run_each(first_run, second_run, report=report)
    return report


def _left_open(fields: dict[str, Any], username: str, password: str) -> dict[str, Any]:
    import anyio

    from amplify_session import SessionManager

    manager = SessionManager(_config(fields))
    report: dict[str, Any] = {}

    async def first_run() -> None:
        # No fail_after here: the manager's task group would be left inside its scope.
        await manager.__aenter__()  # and never closed in this run
        await manager.sign_in(username, password)

    async def second_run() -> None:
        with anyio.fail_after(LIMIT):
            try:
                await manager.aclose()
            except Exception as err:
                report["close"] = _outcome(err)
            else:
                report["close"] = "closed"
            async with manager:
                session = await manager.fetch_auth_session(force_refresh=True)
                report["reopened"] = "tokens" if session.tokens is not None else "no tokens"

    _run_each(first_run, second_run, report=report)
    return report


def _two_threads(fields: dict[str, Any], username: str, password: str) -> dict[str, Any]:
    import anyio

    from amplify_session import AuthError, SessionManager

    manager = SessionManager(_config(fields))
    report: dict[str, Any] = {}
    opened = threading.Event()
    intruder_done = threading.Event()

    async def owner() -> None:
        with anyio.fail_after(LIMIT):
            async with manager:
                await manager.sign_in(username, password)
                opened.set()
                while not intruder_done.is_set():
                    await anyio.sleep(0.01)
                # The owner's loop still works after the intrusion.
                session = await manager.fetch_auth_session(force_refresh=True)
                report["owner_after"] = "tokens" if session.tokens is not None else "no tokens"

    async def intruder() -> None:
        try:
            with anyio.fail_after(10):
                await manager.fetch_auth_session(force_refresh=True)
        except TimeoutError:
            report["intruder"] = "hang"
        except AuthError as err:
            report["intruder"] = _outcome(err)
        else:
            report["intruder"] = "served"

    def run_owner() -> None:
        try:
            asyncio.run(owner())
        except BaseException as err:
            report["owner_error"] = _outcome(err)
        finally:
            opened.set()

    def run_intruder() -> None:
        try:
            if opened.wait(LIMIT):
                asyncio.run(intruder())
        except BaseException as err:
            report["intruder"] = _outcome(err)
        finally:
            intruder_done.set()

    threads = [
        threading.Thread(target=run_owner, daemon=True),
        threading.Thread(target=run_intruder, daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(LIMIT + 5)
    report["threads_alive"] = sum(thread.is_alive() for thread in threads)
    return report


def _facade_sign_in(fields: dict[str, Any], username: str, password: str) -> dict[str, Any]:
    import gc

    import amplify_session

    amplify_session.configure(_config(fields))
    result = asyncio.run(amplify_session.sign_in(username, password))
    session = asyncio.run(amplify_session.fetch_auth_session())
    gc.collect()
    return {
        "signed_in": result.is_signed_in,
        "tokens": session.tokens is not None,
        "credentials": session.credentials is not None,
    }


def main() -> None:
    mode = sys.argv[1]
    fields, username, password = _pool()
    report: dict[str, Any]
    if mode == "wall-step-back":
        report = asyncio.run(_wall_step_back(fields, username, password))
    elif mode == "wall-step-forward":
        report = asyncio.run(_wall_step_forward(fields, username, password))
    elif mode == "two-runs":
        report = _two_runs(fields, username, password)
    elif mode == "left-open":
        report = _left_open(fields, username, password)
    elif mode == "two-threads":
        report = _two_threads(fields, username, password)
    elif mode == "facade-sign-in":
        report = _facade_sign_in(fields, username, password)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
