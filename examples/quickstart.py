"""Quick start: sign in, fetch the session, watch a background refresh, use S3.

Runs against the embedded emulator (moto's server in this process, behind a
strict Cognito front), so it needs no AWS account:  make demo
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import anyio
from aiobotocore.session import get_session

from amplify_session import AWSCredentials, EventName, SessionEvent, SessionManager
from amplify_session.emulator import EmulatedPool, Emulator


def show(event: SessionEvent) -> None:
    tokens = event.session.tokens if event.session else None
    expires = tokens.access_token.payload["exp"] if tokens else None
    error = f" error={event.error.name}" if event.error else ""
    print(f"  event: {event.name.value:<20} access token exp={expires}{error}")


def provision(emulator: Emulator) -> EmulatedPool:
    """The pool, user and bucket (blocking boto3 calls: done before the event loop runs)."""
    # Tokens that live 6 seconds, so a background refresh happens during the demo.
    pool = emulator.provision(token_validity=timedelta(seconds=6))
    emulator.client("s3").create_bucket(Bucket="quickstart-bucket")
    print(f"emulator at {emulator.url}; user pool {pool.user_pool_id}")
    return pool


async def main(emulator: Emulator, pool: EmulatedPool) -> None:
    config = pool.config(expiry_tolerance=1.0)  # short-lived tokens: see the README
    async with SessionManager(config) as manager:
        manager.subscribe(show)
        refreshed = manager.events(events={EventName.TOKEN_REFRESH})

        result = await manager.sign_in(pool.username, pool.password)  # SRP by default
        print(f"signed in: {result.is_signed_in} (next step: {result.next_step.sign_in_step})")

        session = await manager.fetch_auth_session()
        print(f"session (secrets redacted):\n  {session!r}")
        user = await manager.get_current_user()
        print(f"current user: {user.username} ({user.user_id})")

        print("waiting for the background refresh (no caller asks for it)...")
        with anyio.fail_after(30):
            await refreshed.__anext__()
        await refreshed.aclose()
        renewed = await manager.fetch_auth_session()
        print(f"the cached session was replaced by the refreshed one: {renewed is not session}")

        async def list_buckets(credentials: AWSCredentials) -> list[str]:
            aws = get_session()
            async with aws.create_client(
                "s3",
                region_name=pool.region,
                endpoint_url=emulator.url,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            ) as s3:
                answer = await s3.list_buckets()
            return [bucket["Name"] for bucket in answer["Buckets"]]

        buckets = await manager.with_aws_credentials(list_buckets)
        print(f"S3 buckets seen with the identity's credentials: {buckets}")
        await manager.sign_out()


if __name__ == "__main__":
    with Emulator() as running:
        asyncio.run(main(running, provision(running)))
