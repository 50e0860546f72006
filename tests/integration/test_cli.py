"""The command line, and boto3 using it as its credential_process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from amplify_session._cli import cli
from amplify_session.testing import EmulatedPool, Emulator


def _env(pool: EmulatedPool, session_file: Path) -> dict[str, str]:
    return {
        "AMPLIFY_SESSION_USER_POOL_ID": pool.user_pool_id,
        "AMPLIFY_SESSION_CLIENT_ID": pool.client_id,
        "AMPLIFY_SESSION_IDENTITY_POOL_ID": pool.identity_pool_id,
        "AMPLIFY_SESSION_USER_POOL_ENDPOINT": pool.endpoint,
        "AMPLIFY_SESSION_IDENTITY_POOL_ENDPOINT": pool.endpoint,
        "AMPLIFY_SESSION_SESSION_FILE": str(session_file),
    }


def _cli(pool: EmulatedPool, session_file: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=stdin, env=_env(pool, session_file))


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
    pool: EmulatedPool, emulator: Emulator, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    signed_in = _cli(pool, session_file, "sign-in", pool.username, stdin=pool.password + "\n")
    assert signed_in.exit_code == 0, signed_in.output
    assert f"signed in as {pool.username}" in signed_in.output
    assert pool.password not in signed_in.output

    status = _cli(pool, session_file, "status")
    assert status.exit_code == 0
    assert pool.username in status.output
    assert "expire in" in status.output
    assert "identity:" in status.output

    token = _cli(pool, session_file, "token", "--access").output.strip()
    assert token.count(".") == 2
    assert token not in status.output  # status never shows a token

    decoded = json.loads(_cli(pool, session_file, "decode", token).output)
    assert decoded["payload"]["username"] == pool.username
    assert "expires" in decoded

    jwks = f"{emulator.url}/{pool.user_pool_id}/.well-known/jwks.json"
    verified = _cli(pool, session_file, "verify", token, "--jwks-url", jwks)
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["token_use"] == "access"

    creds = json.loads(_cli(pool, session_file, "credentials").output)
    assert creds["Version"] == 1
    assert creds["AccessKeyId"] in emulator.front.issued_access_keys
    assert creds["Expiration"].endswith("Z")

    signed_out = _cli(pool, session_file, "sign-out")
    assert signed_out.exit_code == 0
    assert _cli(pool, session_file, "status").output.strip() == "signed out"


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
    result = _cli(pool, tmp_path / "session.json", *args, stdin=stdin)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    assert "Wrong-password-1" not in result.output


def test_missing_configuration_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--session-file", str(tmp_path / "s.json"), "status"], env={})
    assert result.exit_code == 7
    assert "--user-pool-id is required" in result.output


def test_boto3_uses_the_cli_as_its_credential_process(
    pool: EmulatedPool, emulator: Emulator, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    env = {**os.environ, **_env(pool, session_file)}
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
    emulator.client("s3").create_bucket(Bucket="via-credential-process")
    # Unmodified, sync boto3 in a process of its own, configured by AWS_CONFIG_FILE.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import boto3, sys; s = boto3.Session(profile_name='amplify');"
                f"c = s.client('s3', region_name='{pool.region}', endpoint_url='{emulator.url}');"
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
    assert access_key in emulator.front.issued_access_keys
