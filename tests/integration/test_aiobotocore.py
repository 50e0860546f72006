"""aiobotocore clients signing with the Identity Pool credentials, through real sockets."""

from __future__ import annotations

import anyio
import pytest

from amplify_session import EventName, NoCredentialsException, SessionManager
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.integrations.aiobotocore import create_client, get_session
from amplify_session.testing import FakeClock
from tests.support.recording_proxy import recording_proxy

pytestmark = pytest.mark.anyio


async def test_s3_and_dynamodb_with_identity_credentials(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with (
        recording_proxy(amplify_emulator.url) as proxy,
        SessionManager(pool.config()) as manager,
    ):
        await manager.sign_in(pool.username, pool.password)
        async with create_client(manager, "s3", endpoint_url=proxy.url) as s3:
            await s3.create_bucket(Bucket="reports")
            await s3.put_object(Bucket="reports", Key="q1.txt", Body=b"profit")
            listing = await s3.list_objects_v2(Bucket="reports")
            answer = await s3.get_object(Bucket="reports", Key="q1.txt")
            async with answer["Body"] as body:
                assert await body.read() == b"profit"
        assert [o["Key"] for o in listing["Contents"]] == ["q1.txt"]

        async with create_client(manager, "dynamodb", endpoint_url=proxy.url) as dynamodb:
            await dynamodb.create_table(
                TableName="notes",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            await dynamodb.put_item(TableName="notes", Item={"id": {"S": "1"}, "t": {"S": "hi"}})
            item = await dynamodb.get_item(TableName="notes", Key={"id": {"S": "1"}})
        assert item["Item"]["t"] == {"S": "hi"}
        current = await manager.get_credentials()
    assert current is not None
    assert len(proxy.access_keys) == 7  # 4 S3 calls, 3 DynamoDB calls
    assert set(proxy.access_keys) == {current.access_key_id}
    assert current.access_key_id in amplify_emulator.front.issued_access_keys


async def test_a_long_lived_client_follows_credential_refreshes(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    clock = FakeClock()
    async with (
        recording_proxy(amplify_emulator.url) as proxy,
        SessionManager(pool.config(), clock=clock) as manager,
    ):
        await manager.sign_in(pool.username, pool.password)
        async with create_client(manager, "s3", endpoint_url=proxy.url) as s3:
            await s3.create_bucket(Bucket="bucket-1")
            async with manager.events(events={EventName.CREDENTIALS_REFRESH}) as refreshes:
                for _ in range(2):
                    clock.advance(50)  # moto's 90-second credentials are due
                    with anyio.fail_after(10):
                        await refreshes.__anext__()
                    await s3.list_objects_v2(Bucket="bucket-1")
    keys = amplify_emulator.front.issued_access_keys
    assert len(keys) == 3
    # Each request was signed with the credentials current at the time.
    assert proxy.access_keys == [keys[0], keys[1], keys[2]]


async def test_many_requests_do_not_refresh_credentials(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        async with create_client(manager, "s3", endpoint_url=amplify_emulator.url) as s3:
            await s3.create_bucket(Bucket="bucket-1")
            for _ in range(30):
                await s3.list_objects_v2(Bucket="bucket-1")
    assert amplify_emulator.front.calls["GetCredentialsForIdentity"] == 1


async def test_signed_out_without_guests_there_is_a_clear_error(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config(allow_guest_access=False)) as manager:
        session = get_session(manager)
        async with session.create_client(
            "s3", region_name=pool.region, endpoint_url=pool.endpoint
        ) as s3:
            with pytest.raises(NoCredentialsException):
                await s3.list_buckets()
