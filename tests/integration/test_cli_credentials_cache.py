"""The credential_process cache must never get in the way of sign-in/out."""

from __future__ import annotations

import json
from pathlib import Path

from amplify_session._cli_credentials import cache_file_for
from amplify_session.emulator import EmulatedPool
from tests.support.cli_runner import run_cli


def _damage(cache_file: Path) -> None:
    # A crash of another tool, a full disk, a hand edit: the file no longer parses.
    cache_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    cache_file.write_text("{not json")
    cache_file.chmod(0o600)


def test_sign_in_succeeds_over_a_damaged_credentials_cache(
    pool: EmulatedPool, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    _damage(cache_file_for(session_file))
    signed_in = run_cli(pool, session_file, "sign-in", pool.username, stdin=pool.password + "\n")
    # The cache is a convenience of `credentials`, which ignores a damaged one: sign-in must too.
    assert signed_in.exit_code == 0, signed_in.output
    assert run_cli(pool, session_file, "status").exit_code == 0


def test_sign_out_over_a_damaged_credentials_cache_reports_success(
    pool: EmulatedPool, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    signed_in = run_cli(pool, session_file, "sign-in", pool.username, stdin=pool.password + "\n")
    assert signed_in.exit_code == 0, signed_in.output
    kept = json.loads(run_cli(pool, session_file, "credentials").output)
    assert kept["AccessKeyId"]
    _damage(cache_file_for(session_file))

    signed_out = run_cli(pool, session_file, "sign-out")
    # Cognito was told and the session is gone: the command did what it was asked.
    assert signed_out.exit_code == 0, signed_out.output
    assert run_cli(pool, session_file, "token").exit_code == 3  # really signed out
