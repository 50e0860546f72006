"""Cached fetch: ns per call on a fresh session, against the floor and the peers.

- floor: awaiting a coroutine that returns a cached object;
- aiobotocore: ``AioRefreshableCredentials.get_frozen_credentials()`` on
  credentials an hour from expiry;
- pycognito: ``Cognito.check_token(renew=False)`` on a fresh token (sync).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aiobotocore.credentials import AioRefreshableCredentials
from pycognito import Cognito

from amplify_session import SessionManager
from amplify_session.emulator import Emulator

from ._stats import sample_async, sample_sync, summary

ROUNDS = 200_000


async def measure(emulator: Emulator) -> dict[str, dict[str, float]]:
    pool = emulator.provision()
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        cached = await manager.fetch_auth_session()
        assert cached.tokens is not None
        assert cached.credentials is not None

        async def floor() -> object:
            return cached

        async def refresh() -> dict[str, str]:
            raise AssertionError("fresh credentials never refresh")

        botocore = AioRefreshableCredentials(
            "AKIDEXAMPLE",
            "secret",
            "token",
            datetime.now(timezone.utc) + timedelta(hours=1),
            refresh,
            "bench",
        )
        cognito = Cognito(
            pool.user_pool_id,
            pool.client_id,
            user_pool_region=pool.region,
            access_token=str(cached.tokens.access_token),
            id_token=str(cached.tokens.id_token),
            refresh_token=cached.tokens.refresh_token,
        )
        cases = {
            "floor (await cached object)": floor,
            "amplify_session fetch_auth_session": manager.fetch_auth_session,
            "aiobotocore get_frozen_credentials": botocore.get_frozen_credentials,
        }
        results = {}
        for name, call in cases.items():
            await sample_async(call, ROUNDS // 10)  # warm up
            results[name] = summary(await sample_async(call, ROUNDS))
        check = lambda: cognito.check_token(renew=False)  # noqa: E731
        sample_sync(check, ROUNDS // 100)
        results["pycognito check_token (sync)"] = summary(sample_sync(check, ROUNDS // 10))
    floor_median = results["floor (await cached object)"]["median"]
    for row in results.values():
        row["x_floor"] = row["median"] / floor_median
    return results
