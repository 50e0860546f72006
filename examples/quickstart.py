"""Quick start: sign in, fetch the session, use its AWS credentials with aiobotocore.

Runs against the embedded emulator (moto's server, in this process), so it
needs no AWS account:  make demo   (or: nox -s demo)
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiobotocore.session import get_session

from amplify_session import AWSCredentials, SessionManager
from amplify_session.testing import Emulator


async def main(emulator: Emulator) -> None:
    pool = emulator.provision(token_validity=timedelta(minutes=60))
    emulator.client("s3").create_bucket(Bucket="quickstart-bucket")
    print(f"emulator at {emulator.url}; user pool {pool.user_pool_id}")

    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)  # SRP: the password stays here
        print(f"signed in: {result.is_signed_in} (next step: {result.next_step.sign_in_step})")

        session = await manager.fetch_auth_session()
        print(f"session (secrets redacted):\n  {session!r}")
        assert session.tokens is not None
        print(f"access token expires at {session.tokens.access_token.payload['exp']}")
        user = await manager.get_current_user()
        print(f"current user: {user.username} ({user.user_id})")

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


if __name__ == "__main__":
    with Emulator() as running:
        asyncio.run(main(running))
