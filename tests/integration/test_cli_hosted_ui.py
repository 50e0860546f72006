"""``amplify-session sign-in --hosted-ui``: a CLI process, a stand-in browser, a real loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from amplify_session.emulator import Emulator
from tests.support.cli_runner import cli_env, run_cli

ROOT = Path(__file__).parents[2]
_CLI = (sys.executable, "-m", "amplify_session")


def test_sign_in_in_the_browser_then_sign_out_ends_the_hosted_ui_session(
    amplify_emulator: Emulator, tmp_path: Path
) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(
        oauth_flows=("code",),
        callback_urls=("http://127.0.0.1/callback",),
        logout_urls=("https://app.example.com/signed-out",),
        identity_providers=("COGNITO", "Google"),
    )
    assert pool.domain is not None
    env = {
        **os.environ,
        **cli_env(pool, tmp_path / "session.json"),
        "AMPLIFY_SESSION_OAUTH_DOMAIN": pool.domain,
        "AMPLIFY_SESSION_SCOPES": "openid email",
        "AMPLIFY_SESSION_SIGN_OUT_URI": "https://app.example.com/signed-out",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [*_CLI, "sign-in", "--hosted-ui", "--no-browser", "--provider", "Google"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            if line.strip().startswith("http"):
                url = line.strip()
                break
        assert url is not None
        sent = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert sent["identity_provider"] == "Google"
        # The browser: the authorize endpoint redirects it to the CLI's listener.
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200
            assert b"signed in" in page.read().lower()
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f"signed in as {pool.username}" in out
    status = run_cli(pool, tmp_path / "session.json", "status")
    assert status.exit_code == 0, status.output
    signed_out = subprocess.run(
        [*_CLI, "sign-out"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert signed_out.returncode == 0, signed_out.stderr
    assert f"{pool.domain}/logout?" in signed_out.stderr


@pytest.mark.parametrize("args", [["alice", "--hosted-ui"], ["--resume", "--hosted-ui"]])
def test_hosted_ui_takes_no_username(
    amplify_emulator: Emulator, tmp_path: Path, args: list[str]
) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision()
    result = run_cli(pool, tmp_path / "session.json", "sign-in", *args)
    assert result.exit_code == 2
    assert "--hosted-ui" in result.output
