"""Write and read a DynamoDB item with the signed-in user's credentials."""

from __future__ import annotations

import asyncio

from amplify_session import SessionManager
from amplify_session.emulator import Emulator
from amplify_session.integrations.aiobotocore import create_client


async def main(emulator: Emulator) -> None:
    pool = emulator.provision()
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        user = await manager.get_current_user()
        async with create_client(manager, "dynamodb", endpoint_url=emulator.url) as dynamodb:
            await dynamodb.create_table(
                TableName="profiles",
                KeySchema=[{"AttributeName": "sub", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "sub", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            await dynamodb.put_item(
                TableName="profiles",
                Item={"sub": {"S": user.user_id}, "theme": {"S": "dark"}},
            )
            item = await dynamodb.get_item(TableName="profiles", Key={"sub": {"S": user.user_id}})
        print("stored profile:", {k: v["S"] for k, v in item["Item"].items()})


if __name__ == "__main__":
    with Emulator() as running:
        asyncio.run(main(running))
