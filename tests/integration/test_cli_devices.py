"""``amplify-session devices list|remember|forget`` against a pool with device tracking."""

from __future__ import annotations

from pathlib import Path

from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.cli_runner import run_cli


def test_devices_are_listed_remembered_and_forgotten(
    opt_in_pool: EmulatedPool, amplify_emulator: Emulator, tmp_path: Path
) -> None:
    session_file = tmp_path / "session.json"
    front = amplify_emulator.front
    code = front.mfa_code
    signed_in = run_cli(
        opt_in_pool,
        session_file,
        "sign-in",
        opt_in_pool.username,
        stdin=f"{opt_in_pool.password}\n{code}\n",
    )
    assert signed_in.exit_code == 0, signed_in.output
    [device] = front.devices(opt_in_pool.user_pool_id, opt_in_pool.username)
    assert device.confirmed

    listed = run_cli(opt_in_pool, session_file, "devices", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.split("\t")[:2] == [device.key, "not-remembered"]

    assert run_cli(opt_in_pool, session_file, "devices", "remember").exit_code == 0
    assert front.devices(opt_in_pool.user_pool_id, opt_in_pool.username)[0].remembered
    assert "\tremembered\t" in run_cli(opt_in_pool, session_file, "devices", "list").output

    forgotten = run_cli(opt_in_pool, session_file, "devices", "forget")
    assert forgotten.exit_code == 0, forgotten.output
    assert front.devices(opt_in_pool.user_pool_id, opt_in_pool.username) == []
    assert run_cli(opt_in_pool, session_file, "devices", "list").output == ""

    again = run_cli(opt_in_pool, session_file, "devices", "forget")
    assert again.exit_code != 0
    assert "DeviceMetadataNotFoundException" in again.output
    assert "Traceback" not in again.output


def test_devices_need_a_signed_in_user(opt_in_pool: EmulatedPool, tmp_path: Path) -> None:
    result = run_cli(opt_in_pool, tmp_path / "session.json", "devices", "list")
    assert result.exit_code == 3
    assert "UserUnAuthenticatedException" in result.output
