"""The command line, and boto3 using it as its credential_process."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from amplify_session import FileStorage, SessionManager
from amplify_session._cli import _Context, cli
from amplify_session._cli_credentials import CredentialsCache, cache_file_for
from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.cli_runner import cli_env, run_cli


def test_help_everywhere() -> None:
    for command in (
        [],
        ["sign-in"],
        ["status"],
        ["token"],
        ["decode"],
        ["verify"],
        ["credentials"],
        ["sign-out"],
        ["demo"],
    ):
        result = CliRunner().invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output


def test_a_whole_session_from_the_shell(
    pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    signed_in = run_cli(pool, session_file, "sign-in", pool.username, stdin=pool.password + "\n")
    assert signed_in.exit_code == 0, signed_in.output
    assert f"signed in as {pool.username}" in signed_in.output
    assert pool.password not in signed_in.output

    status = run_cli(pool, session_file, "status")
    assert status.exit_code == 0
    assert pool.username in status.output
    assert "expire in" in status.output
    assert "identity:" in status.output

    token = run_cli(pool, session_file, "token", "--access").output.strip()
    assert token.count(".") == 2
    assert token not in status.output  # status never shows a token

    decoded = json.loads(run_cli(pool, session_file, "decode", token).output)
    assert decoded["payload"]["username"] == pool.username
    assert "expires" in decoded

    jwks = f"{amplify_emulator.url}/{pool.user_pool_id}/.well-known/jwks.json"
    verified = run_cli(pool, session_file, "verify", token, "--jwks-url", jwks)
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["token_use"] == "access"

    creds = json.loads(run_cli(pool, session_file, "credentials").output)
    assert creds["Version"] == 1
    assert creds["AccessKeyId"] in amplify_emulator.front.issued_access_keys
    assert creds["Expiration"].endswith("Z")

    signed_out = run_cli(pool, session_file, "sign-out")
    assert signed_out.exit_code == 0
    assert run_cli(pool, session_file, "status").output.strip() == "signed out"


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["sign-in", "alice"], "Wrong-password-1\n", 4, "NotAuthorizedException"),
        (["token"], None, 3, "UserUnAuthenticatedException"),
        (["decode", "not-a-token"], None, 5, "InvalidTokenException"),
    ],
)
def test_errors_are_one_line_with_distinct_exit_codes(
    pool: EmulatedPool,
    tmp_path: Path,
    args: list[str],
    stdin: str | None,
    code: int,
    message: str,
) -> None:
    result = run_cli(pool, tmp_path / "session.json", *args, stdin=stdin)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    assert "Wrong-password-1" not in result.output


def test_missing_configuration_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--session-file", str(tmp_path / "s.json"), "status"], env={})
    assert result.exit_code == 7
    assert "--user-pool-id is required" in result.output


def test_boto3_uses_the_cli_as_its_credential_process(
    pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    env = {**os.environ, **cli_env(pool, session_file)}
    subprocess.run(
        [sys.executable, "-m", "amplify_session", "sign-in", pool.username],
        input=pool.password + "\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    command = f"{sys.executable} -m amplify_session credentials --format credential-process"
    config_file = tmp_path / "aws_config"
    config_file.write_text(f"[profile amplify]\ncredential_process = {command}\n")
    amplify_emulator.client("s3").create_bucket(Bucket="via-credential-process")
    # Unmodified, sync boto3 in a process of its own, configured by AWS_CONFIG_FILE.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import boto3, sys; s = boto3.Session(profile_name='amplify');"
                f"c = s.client('s3', region_name='{pool.region}', "
                f"endpoint_url='{amplify_emulator.url}');"
                "print([b['Name'] for b in c.list_buckets()['Buckets']]);"
                "print(s.get_credentials().get_frozen_credentials().access_key)"
            ),
        ],
        env={
            **env,
            "AWS_CONFIG_FILE": str(config_file),
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    buckets, access_key = result.stdout.strip().splitlines()
    assert "via-credential-process" in buckets
    assert access_key in amplify_emulator.front.issued_access_keys


def _sign_in(pool: EmulatedPool, session_file: Path) -> None:
    signed_in = run_cli(pool, session_file, "sign-in", pool.username, stdin=pool.password + "\n")
    assert signed_in.exit_code == 0, signed_in.output


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def test_verify_finds_the_keys_at_the_endpoint_override(
    pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    _sign_in(pool, session_file)
    token = run_cli(pool, session_file, "token").output.strip()
    # moto's own server serves <endpoint>/<pool id>/.well-known/jwks.json, as cognito-local
    # does (the strict front answers the API only).
    env = {
        **cli_env(pool, session_file),
        "AMPLIFY_SESSION_USER_POOL_ENDPOINT": amplify_emulator.url + "/",
    }
    verified = CliRunner().invoke(cli, ["verify", token], env=env)
    assert verified.exit_code == 0, verified.output
    claims = json.loads(verified.output)
    assert (claims["token_use"], claims["username"]) == ("access", pool.username)

    # An explicit --jwks-url still wins over the endpoint.
    elsewhere = CliRunner().invoke(
        cli, ["verify", token, "--jwks-url", _closed_port_url()], env=env
    )
    assert elsewhere.exit_code == 6, elsewhere.output


def _credential_process(pool: EmulatedPool, session_file: Path) -> tuple[dict[str, Any], float]:
    """One run as the AWS CLI makes it (a process of its own); its output and duration."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "amplify_session", "credentials", "--format", "credential-process"],
        env={**os.environ, **cli_env(pool, session_file)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout), elapsed


def test_credential_process_reuses_unexpired_credentials(
    pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    _sign_in(pool, session_file)

    calls = sum(amplify_emulator.front.calls.values())
    first, first_time = _credential_process(pool, session_file)
    assert amplify_emulator.front.calls["GetCredentialsForIdentity"] >= 1
    assert sum(amplify_emulator.front.calls.values()) > calls
    calls = sum(amplify_emulator.front.calls.values())
    second, second_time = _credential_process(pool, session_file)
    print(f"\ncredential_process: first run {first_time:.3f} s, second {second_time:.3f} s")

    # Booleans: a failing comparison must not print the secrets.
    same = second == first
    assert second["AccessKeyId"] == first["AccessKeyId"]
    assert same
    assert sum(amplify_emulator.front.calls.values()) == calls  # not a single call to Cognito
    cache_file = cache_file_for(session_file)
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    only_in_the_cache = first["SecretAccessKey"] not in session_file.read_text()
    assert only_in_the_cache


def _credentials(pool: EmulatedPool, session_file: Path) -> Any:
    return run_cli(pool, session_file, "credentials", "--format", "credential-process")


def test_credentials_are_fetched_again_near_expiry_and_after_sign_out(
    pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_file = tmp_path / "session.json"
    _sign_in(pool, session_file)
    first = json.loads(_credentials(pool, session_file).output)
    fetches = amplify_emulator.front.calls["GetCredentialsForIdentity"]
    assert (
        json.loads(_credentials(pool, session_file).output)["AccessKeyId"] == first["AccessKeyId"]
    )
    assert amplify_emulator.front.calls["GetCredentialsForIdentity"] == fetches

    # A wall clock one second before they expire: too close to hand them out again.
    expiration = datetime.fromisoformat(first["Expiration"].replace("Z", "+00:00")).timestamp()
    shift = expiration - time.time() - 1

    def late_cache(context: _Context) -> CredentialsCache:
        config = context.config()
        return CredentialsCache(context.session_file(), config, clock=lambda: time.time() + shift)

    with monkeypatch.context() as patched:
        patched.setattr(_Context, "credentials_cache", late_cache)
        renewed = json.loads(_credentials(pool, session_file).output)
    assert renewed["AccessKeyId"] != first["AccessKeyId"]
    assert amplify_emulator.front.calls["GetCredentialsForIdentity"] == fetches + 1

    assert run_cli(pool, session_file, "sign-out").exit_code == 0
    assert "credentials" not in cache_file_for(session_file).read_text()
    assert _credentials(pool, session_file).exit_code == 3

    _sign_in(pool, session_file)
    again = json.loads(_credentials(pool, session_file).output)
    assert again["AccessKeyId"] not in (first["AccessKeyId"], renewed["AccessKeyId"])
    assert amplify_emulator.front.calls["GetCredentialsForIdentity"] > fetches + 1


def test_kept_credentials_serve_only_the_user_still_signed_in(
    pool: EmulatedPool, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    _sign_in(pool, session_file)
    kept = json.loads(_credentials(pool, session_file).output)

    async def sign_out_elsewhere() -> None:
        # Another program on the same session file, which knows nothing of the CLI's cache.
        async with SessionManager(pool.config(), storage=FileStorage(session_file)) as manager:
            await manager.sign_out()

    asyncio.run(sign_out_elsewhere())
    assert kept["AccessKeyId"] in cache_file_for(session_file).read_text()
    refused = _credentials(pool, session_file)
    assert refused.exit_code == 3
    assert kept["AccessKeyId"] not in refused.output
