"""Client-side SRP computation: time, and how long it stalls the event loop.

Three computations, each against pycognito's: a user's PASSWORD_VERIFIER
(USER_SRP_AUTH), a remembered device's DEVICE_PASSWORD_VERIFIER (the same
arithmetic over the device's names) and a new device's ConfirmDevice verifier
(one exponentiation). Ours runs in sub-millisecond steps between which the
loop serves other tasks; pycognito's AWSSRP computes the same values with
blocking pow() calls. All run inside an event loop while a ticker task
measures the longest gap between its turns.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable

from pycognito import aws_srp

from amplify_session._cognito.srp import N, SrpSession, device_secret
from amplify_session._srp_proof import cooperatively as _cooperatively

ROUNDS = 20
POOL_ID = "us-east-1_AbCdEf123"
DEVICE_GROUP, DEVICE_KEY = "-AbCdEfGhI", "us-east-1_5f1c1d9a-0000-4000-8000-000000000001"


def _challenge() -> dict[str, str]:
    return {
        "SALT": format(secrets.randbits(128) | 1 << 127, "x"),
        "SRP_B": format(pow(2, secrets.randbits(1024), N), "x"),
        "USER_ID_FOR_SRP": "alice",
        "SECRET_BLOCK": base64.b64encode(secrets.token_bytes(64)).decode(),
    }


async def _our_proof(
    pool_name: str, user_id: str, password: str, challenge: dict[str, str]
) -> None:
    session = await _cooperatively(SrpSession.start())
    await _cooperatively(
        session.password_key(
            pool_name=pool_name,
            user_id=user_id,
            password=password,
            salt=challenge["SALT"],
            srp_b=challenge["SRP_B"],
        )
    )


def _pycognito_client() -> aws_srp.AWSSRP:
    client = aws_srp.AWSSRP("alice", "pw", POOL_ID, "client", pool_region="us-east-1")
    client.small_a_value = client.generate_random_small_a()
    client.large_a_value = client.calculate_a()
    return client


_ours = functools.partial(_our_proof, "AbCdEf123", "alice", "pw")
_ours_device_proof = functools.partial(_our_proof, DEVICE_GROUP, DEVICE_KEY, "device-pw")


async def _pycognito(challenge: dict[str, str]) -> None:
    _pycognito_client().get_password_authentication_key(
        challenge["USER_ID_FOR_SRP"], "pw", int(challenge["SRP_B"], 16), challenge["SALT"]
    )


async def _pycognito_device_proof(challenge: dict[str, str]) -> None:
    _pycognito_client().get_device_authentication_key(
        DEVICE_GROUP, DEVICE_KEY, "device-pw", int(challenge["SRP_B"], 16), challenge["SALT"]
    )


async def _ours_device_confirm(_: dict[str, str]) -> None:
    await _cooperatively(device_secret(device_group_key=DEVICE_GROUP, device_key=DEVICE_KEY))


async def _pycognito_device_confirm(_: dict[str, str]) -> None:
    aws_srp.generate_hash_device(DEVICE_GROUP, DEVICE_KEY)


_RUNS: tuple[tuple[str, Callable[[dict[str, str]], Awaitable[None]]], ...] = (
    ("amplify_session", _ours),
    ("pycognito", _pycognito),
    ("amplify_session device proof", _ours_device_proof),
    ("pycognito device proof", _pycognito_device_proof),
    ("amplify_session device confirm", _ours_device_confirm),
    ("pycognito device confirm", _pycognito_device_confirm),
)


async def _measure(run: Callable[[dict[str, str]], Awaitable[None]]) -> tuple[float, float]:
    """(seconds for one computation, longest gap the ticker saw) for one round."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    challenge = _challenge()  # the server's side, not measured
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = time.perf_counter()
    await run(challenge)
    elapsed = time.perf_counter() - start
    done.set()
    await task
    return elapsed, max(gaps)


async def measure() -> dict[str, dict[str, float]]:
    results = {}
    for name, run in _RUNS:
        rounds = [await _measure(run) for _ in range(ROUNDS)]
        results[name] = {
            "compute_ms_median": statistics.median(r[0] for r in rounds) * 1000,
            "loop_stall_ms_max": max(r[1] for r in rounds) * 1000,
        }
    return results
