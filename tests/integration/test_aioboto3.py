"""aioboto3 sessions built on the manager's aiobotocore session."""

from __future__ import annotations

import aioboto3
import pytest

from amplify_session import SessionManager
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.integrations.aiobotocore import get_session
from tests.support.recording_proxy import recording_proxy

pytestmark = pytest.mark.anyio


async def test_an_aioboto3_resource_signs_with_the_session(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with (
        recording_proxy(amplify_emulator.url) as proxy,
        SessionManager(pool.config()) as manager,
    ):
        await manager.sign_in(pool.username, pool.password)
        session = aioboto3.Session(botocore_session=get_session(manager))
        async with session.resource("s3", region_name=pool.region, endpoint_url=proxy.url) as s3:
            bucket = await s3.create_bucket(Bucket="aioboto3-bucket")
            await bucket.put_object(Key="hello.txt", Body=b"hi")
            keys = [obj.key async for obj in bucket.objects.all()]
        credentials = await manager.get_credentials()
    assert keys == ["hello.txt"]
    assert credentials is not None
    assert amplify_emulator.front.issued_access_keys == [credentials.access_key_id]
    assert set(proxy.access_keys) == {credentials.access_key_id}
