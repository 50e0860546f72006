"""List an S3 bucket with the signed-in user's Identity Pool credentials.

The client keeps signing with the session's current credentials however
long it lives: the manager refreshes them in the background.
"""

from __future__ import annotations

import asyncio

from amplify_session import SessionManager
from amplify_session.emulator import Emulator
from amplify_session.integrations.aiobotocore import create_client


async def main(emulator: Emulator) -> None:
    pool = emulator.provision()
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        async with create_client(manager, "s3", endpoint_url=emulator.url) as s3:
            await s3.create_bucket(Bucket="photos")
            for name in ("cat.jpg", "dog.jpg"):
                await s3.put_object(Bucket="photos", Key=name, Body=b"...")
            listing = await s3.list_objects_v2(Bucket="photos")
        print("photos:", [item["Key"] for item in listing["Contents"]])


if __name__ == "__main__":
    with Emulator() as running:
        asyncio.run(main(running))
