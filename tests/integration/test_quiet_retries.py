"""Retries against an unreachable Cognito are logged at DEBUG, never printed (issue 14 item 6).

The library logs each retry on ``amplify_session.transport`` and nothing
else: no process-global retry hook, so a process with no logging configured
(where Python's last-resort handler prints warnings) sees nothing on stderr,
and the CLI prints its one-line error only.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from amplify_session import AuthConfig, InternalErrorException, SessionManager
from amplify_session._cli import cli
from tests.support.retry import fast_retry
from tests.support.scripted_server import Answer, scripted_server

PASSWORD = "Sup3r-Secret-Pw"
ATTEMPTS = 4


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def test_the_library_prints_nothing_while_retrying() -> None:
    script = textwrap.dedent(
        f"""
        import asyncio
        from amplify_session import AuthConfig, NetworkError, RetryPolicy, SessionManager

        async def main():
            config = AuthConfig(
                user_pool_id="us-east-1_Test1",
                user_pool_client_id="client1",
                user_pool_endpoint={_closed_port_url()!r},
                retry=RetryPolicy(attempts={ATTEMPTS}, wait_initial=0.01, wait_max=0.01,
                                  wait_jitter=0),
            )
            async with SessionManager(config) as manager:
                try:
                    await manager.sign_in("alice", {PASSWORD!r}, auth_flow="USER_PASSWORD_AUTH")
                except NetworkError as error:
                    print(type(error).__name__)

        asyncio.run(main())
        """
    )
    # No logging configured: whatever reaches a WARNING would be printed.
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "NetworkError\n"
    assert done.stderr == ""


def test_the_cli_prints_one_line_while_retrying(tmp_path: object) -> None:
    env = {
        **os.environ,
        "AMPLIFY_SESSION_USER_POOL_ID": "us-east-1_Test1",
        "AMPLIFY_SESSION_CLIENT_ID": "client1",
        "AMPLIFY_SESSION_USER_POOL_ENDPOINT": _closed_port_url(),
        "AMPLIFY_SESSION_SESSION_FILE": f"{tmp_path}/session.json",
    }
    done = subprocess.run(
        [sys.executable, "-m", "amplify_session", "sign-in", "alice"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 6  # NetworkError, after the default policy's retries
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: NetworkError: InitiateAuth: could not reach Cognito")
    assert PASSWORD not in done.stderr
    assert done.stdout == ""


def test_the_cli_shows_the_retries_when_asked(tmp_path: object) -> None:
    logger = logging.getLogger("amplify_session")
    handlers, level = list(logger.handlers), logger.level
    env = {
        "AMPLIFY_SESSION_USER_POOL_ID": "us-east-1_Test1",
        "AMPLIFY_SESSION_CLIENT_ID": "client1",
        "AMPLIFY_SESSION_USER_POOL_ENDPOINT": _closed_port_url(),
        "AMPLIFY_SESSION_SESSION_FILE": f"{tmp_path}/session.json",
    }
    result = CliRunner().invoke(cli, ["-v", "sign-in", "alice"], input=PASSWORD + "\n", env=env)
    assert result.exit_code == 6
    retries = [line for line in result.stderr.splitlines() if "retrying in" in line]
    assert len(retries) == 3  # the default policy: four attempts
    assert all(line.startswith("DEBUG amplify_session.transport: ") for line in retries)
    assert result.stderr.splitlines()[-1].startswith("error: NetworkError")
    assert PASSWORD not in result.stderr
    assert (logger.handlers, logger.level) == (handlers, level)  # undone on exit


@pytest.mark.anyio
async def test_retries_are_logged_at_debug_on_the_librarys_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with scripted_server(Answer(503, {"message": f"echo {PASSWORD}"})) as server:
        config = AuthConfig(
            user_pool_id="us-east-1_Test1",
            user_pool_client_id="client1",
            user_pool_endpoint=server.url,
            retry=fast_retry(ATTEMPTS),
        )
        async with SessionManager(config) as manager:
            with pytest.raises(InternalErrorException):
                await manager.sign_in("alice", PASSWORD, auth_flow="USER_PASSWORD_AUTH")
    assert len(server.requests) == ATTEMPTS
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert [(r.name, r.levelno) for r in retries] == [
        ("amplify_session.transport", logging.DEBUG)
    ] * (ATTEMPTS - 1)
    assert [r.getMessage().split(";")[0] for r in retries] == [
        f"InitiateAuth: attempt {n} failed (InternalErrorException)" for n in range(1, ATTEMPTS)
    ]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    elsewhere = [r.name for r in caplog.records if r.name != "amplify_session.transport"]
    assert [n for n in elsewhere if "retry" in n or "stamina" in n] == []
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
