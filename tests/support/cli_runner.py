"""The command line run in-process (click's runner) against an emulated pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from amplify_session._cli import cli
from amplify_session.emulator import EmulatedPool


def cli_env(pool: EmulatedPool, session_file: Path) -> dict[str, str]:
    """The AMPLIFY_SESSION_* variables that point the CLI at ``pool`` and ``session_file``."""
    return {
        "AMPLIFY_SESSION_USER_POOL_ID": pool.user_pool_id,
        "AMPLIFY_SESSION_CLIENT_ID": pool.client_id,
        "AMPLIFY_SESSION_IDENTITY_POOL_ID": pool.identity_pool_id,
        "AMPLIFY_SESSION_USER_POOL_ENDPOINT": pool.endpoint,
        "AMPLIFY_SESSION_IDENTITY_POOL_ENDPOINT": pool.endpoint,
        "AMPLIFY_SESSION_SESSION_FILE": str(session_file),
    }


def run_cli(pool: EmulatedPool, session_file: Path, *args: str, stdin: str | None = None) -> Any:
    """``amplify-session ARGS`` against ``pool``; click's Result."""
    return CliRunner().invoke(cli, list(args), input=stdin, env=cli_env(pool, session_file))
