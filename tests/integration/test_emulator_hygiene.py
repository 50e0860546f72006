"""The embedded emulator as users run it: in development mode, quietly, configured as provisioned.

The first two run ``tests/support/emulator_script.py`` under ``python -X dev``
(aiohttp parses strictly there, asyncio reports what it finds) and require a
clean exit with nothing at all on stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from amplify_session import SessionManager
from amplify_session.emulator import EmulatedPool, Emulator

REPO = Path(__file__).resolve().parents[2]


def _run_in_dev_mode(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", "-m", "tests.support.emulator_script", mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sign_in_refresh_and_sign_out_in_development_mode() -> None:
    done = _run_in_dev_mode("sign-in-flow")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""


def test_leaving_the_emulator_with_an_answer_under_way_prints_nothing() -> None:
    done = _run_in_dev_mode("in-flight-at-exit")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""


@pytest.mark.anyio
async def test_guests_get_credentials_before_sign_in_with_the_pools_own_config(
    pool: EmulatedPool,
) -> None:
    config = pool.config()
    assert config.allow_guest_access
    async with SessionManager(config) as manager:
        session = await manager.fetch_auth_session()
        assert session.tokens is None
        assert session.credentials is not None
        assert session.credentials.access_key_id
        assert session.identity_id is not None


@pytest.mark.anyio
async def test_a_pool_without_guest_access_is_configured_without_it(
    amplify_emulator: Emulator,
) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(allow_guest_access=False)
    assert not pool.config().allow_guest_access
    async with SessionManager(pool.config()) as manager:
        session = await manager.fetch_auth_session()
        assert session.credentials is None
        assert session.identity_id is None
    assert amplify_emulator.front.calls["GetId"] == 0
