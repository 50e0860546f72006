"""The embedded emulator as a user's script runs it, in a process of its own.

Run as ``python -X dev -m tests.support.emulator_script MODE`` from the
repository root; the test reads the exit code and stderr. Every wait is bounded.

Modes:

- ``sign-in-flow``: ``with Emulator()``, provision a pool, then sign in (SRP),
  fetch, force a refresh, list S3 buckets with the identity's credentials
  through aiobotocore, and sign out.
- ``in-flight-at-exit``: a manager gives up on a credentials call that moto is
  still answering and closes; then the ``with Emulator()`` block ends.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import anyio

from amplify_session import AuthConfig, SessionManager
from amplify_session.emulator import EmulatedPool, Emulator

LIMIT = 30.0  # seconds a scenario may take before it counts as a hang


def _quiet_about_slow_steps() -> None:
    # Development mode also reports every step of this loop over 100 ms; on a
    # loaded machine a paused process trips that, and it is not what we test.
    asyncio.get_running_loop().slow_callback_duration = LIMIT


async def _sign_in_flow(emulator: Emulator, pool: EmulatedPool) -> None:
    from aiobotocore.session import get_session

    _quiet_about_slow_steps()
    with anyio.fail_after(LIMIT):
        async with SessionManager(pool.config()) as manager:
            result = await manager.sign_in(pool.username, pool.password)
            assert result.is_signed_in
            session = await manager.fetch_auth_session()
            refreshed = await manager.fetch_auth_session(force_refresh=True)
            assert session.tokens is not None
            assert refreshed.tokens is not None
            assert str(refreshed.tokens.access_token) != str(session.tokens.access_token)
            credentials = refreshed.credentials
            assert credentials is not None
            async with get_session().create_client(
                "s3",
                region_name=pool.region,
                endpoint_url=emulator.url,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            ) as s3:
                buckets = (await s3.list_buckets())["Buckets"]
            assert [bucket["Name"] for bucket in buckets] == ["hygiene"]
            outcome = await manager.sign_out()
            assert outcome.revoked
            assert not await manager.is_authenticated()


def _hold_credentials_calls() -> tuple[threading.Event, threading.Event]:
    """Make moto hold every GetCredentialsForIdentity; returns (arrived, release)."""
    from moto.cognitoidentity.models import CognitoIdentityBackend

    arrived, release = threading.Event(), threading.Event()
    answer = CognitoIdentityBackend.get_credentials_for_identity

    def held(self: Any, identity_id: str) -> Any:
        arrived.set()
        release.wait(LIMIT)
        return answer(self, identity_id)

    CognitoIdentityBackend.get_credentials_for_identity = held  # type: ignore[method-assign]
    return arrived, release


async def _in_flight_at_exit(pool: EmulatedPool, arrived: threading.Event) -> None:
    _quiet_about_slow_steps()
    config: AuthConfig = pool.config(request_timeout=1.0)
    with anyio.fail_after(LIMIT):
        async with SessionManager(config) as manager:
            await manager.sign_in(pool.username, pool.password)
            async with anyio.create_task_group() as group:
                group.start_soon(manager.fetch_auth_session)
                # The call is now in moto's hands, forwarded by the front.
                await anyio.to_thread.run_sync(arrived.wait, LIMIT)
                group.cancel_scope.cancel()


def main(mode: str) -> None:
    with Emulator() as emulator:
        # Provisioning calls moto with boto3 (blocking): done before the loop runs.
        pool = emulator.provision()
        if mode == "sign-in-flow":
            emulator.client("s3").create_bucket(Bucket="hygiene")
            asyncio.run(_sign_in_flow(emulator, pool))
        elif mode == "in-flight-at-exit":
            arrived, _ = _hold_credentials_calls()
            asyncio.run(_in_flight_at_exit(pool, arrived))
        else:
            raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1])
