"""`amplify-session sign-in` through every kind of step: prompts, passwordless flows, a TOTP
setup driven from the printed secret, wrong codes asked again, and --resume."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyotp
import pytest

from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.cli_runner import cli_env, run_cli

ROOT = Path(__file__).parents[2]


@pytest.fixture
def choice_pool(amplify_emulator: Emulator) -> EmulatedPool:
    amplify_emulator.reset()
    return amplify_emulator.provision(first_factors=("PASSWORD", "EMAIL_OTP"))


def _email_code_sign_in(pool: EmulatedPool, session_file: Path, stdin: str) -> Any:
    """`sign-in USER --flow USER_AUTH --challenge EMAIL_OTP`, answering from ``stdin``."""
    args = ["sign-in", pool.username, "--flow", "USER_AUTH", "--challenge", "EMAIL_OTP"]
    return run_cli(pool, session_file, *args, stdin=stdin)


def test_passwordless_sign_in_asks_only_for_the_code(
    choice_pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    code = amplify_emulator.front.mfa_code
    result = _email_code_sign_in(choice_pool, tmp_path / "session.json", f"{code}\n")
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output
    assert "A code was sent by EMAIL to" in result.output
    assert f"signed in as {choice_pool.username}" in result.output
    assert choice_pool.password not in str(amplify_emulator.front.requests)
    assert not (tmp_path / "session.json.sign-in").exists()


def test_a_wrong_code_is_asked_again(
    choice_pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    code = amplify_emulator.front.mfa_code
    result = run_cli(
        choice_pool,
        tmp_path / "session.json",
        "sign-in",
        choice_pool.username,
        "--flow",
        "USER_AUTH",
        stdin=f"EMAIL_OTP\n000000\n{code}\n",
    )
    assert result.exit_code == 0, result.output
    assert "CodeMismatchException" in result.output
    assert "try again" in result.output
    assert "signed in as" in result.output


def test_an_interrupted_sign_in_is_finished_by_resume(
    choice_pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    waiting = tmp_path / "session.json.sign-in"
    first = _email_code_sign_in(choice_pool, session_file, "")  # end of input at the prompt
    assert first.exit_code == 1
    assert "sign-in --resume" in first.output
    assert stat.S_IMODE(waiting.stat().st_mode) == 0o600
    assert choice_pool.password not in waiting.read_text()
    resumed = run_cli(
        choice_pool,
        session_file,
        "sign-in",
        "--resume",
        stdin=f"{amplify_emulator.front.mfa_code}\n",
    )
    assert resumed.exit_code == 0, resumed.output
    assert f"signed in as {choice_pool.username}" in resumed.output
    assert not waiting.exists()
    again = run_cli(choice_pool, session_file, "sign-in", "--resume", stdin="123456\n")
    assert again.exit_code == 4
    assert "no sign-in is waiting" in again.output


def test_resume_with_a_tampered_state_is_refused(choice_pool: EmulatedPool, tmp_path: Path) -> None:
    session_file = tmp_path / "session.json"
    waiting = tmp_path / "session.json.sign-in"
    _email_code_sign_in(choice_pool, session_file, "")
    text = waiting.read_text()
    state = re.search(r'"state": "([^"]+)"', text)
    assert state is not None
    value = state.group(1)
    waiting.write_text(
        text.replace(value, value[:30] + ("x" if value[30] != "x" else "y") + value[31:])
    )
    refused = run_cli(choice_pool, session_file, "sign-in", "--resume", stdin="123456\n")
    assert refused.exit_code == 4
    assert "altered" in refused.output
    assert not waiting.exists()


def test_totp_setup_from_the_printed_secret_with_a_qr_code(
    amplify_emulator: Emulator, tmp_path: Path
) -> None:
    """A real terminal session: the CLI prints the secret, a QR code and the URI; the code
    typed is computed from what it printed."""
    amplify_emulator.reset()
    pool = amplify_emulator.provision(mfa_required=True, mfa_types=("SOFTWARE_TOKEN_MFA",))
    process = subprocess.Popen(
        [sys.executable, "-m", "amplify_session", "sign-in", pool.username],
        cwd=ROOT,
        env={**os.environ, **cli_env(pool, tmp_path / "session.json"), "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(pool.password + "\n")
    process.stdin.flush()
    printed = []
    secret = None
    for line in process.stdout:
        printed.append(line)
        if line.strip().startswith("secret:"):
            secret = line.split(":", 1)[1].strip()
            break
    assert secret is not None, printed
    uri = next(line.strip() for line in printed if line.strip().startswith("otpauth://"))
    assert pyotp.parse_uri(uri).secret == secret
    out, err = process.communicate(pyotp.TOTP(secret).now() + "\n", timeout=60)
    assert process.returncode == 0, err
    assert "█" in out  # the QR code (segno is installed with the test extra)
    assert f"signed in as {pool.username}" in out
    assert pool.password not in out + err
