"""SRP proofs as a sign-in makes them: a user's password (PASSWORD_VERIFIER) and a
device's (DEVICE_PASSWORD_VERIFIER) are the same claim over different names.

The arithmetic (``_cognito/srp.py``) runs in small steps between which the
event loop serves other tasks, so a sign-in never stalls a service.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TypeVar

import anyio.lowlevel

from ._cognito.srp import SrpSession, Steps, cognito_timestamp, password_claim_signature
from ._errors import InvalidResponseException

__all__ = ["cooperatively", "new_srp_session", "password_claim"]

_T = TypeVar("_T")


async def cooperatively(steps: Steps[_T]) -> _T:
    """Drive a stepwise computation, letting the event loop run between steps."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        await anyio.lowlevel.checkpoint()


async def new_srp_session() -> SrpSession:
    """A fresh client side of one SRP exchange (SRP_A to send)."""
    return await cooperatively(SrpSession.start())


async def password_claim(
    srp: SrpSession,
    parameters: Mapping[str, str],
    *,
    pool_name: str,
    user_id: str,
    password: str,
    challenge_name: str,
) -> dict[str, str]:
    """The ChallengeResponses proving ``password`` for a verifier challenge.

    For a user: ``pool_name`` is the pool's name and ``user_id`` USER_ID_FOR_SRP.
    For a device: the device group key and the device key.

    Raises:
        InvalidResponseException: The challenge lacks SALT, SRP_B or SECRET_BLOCK,
            or carries malformed numbers.
    """
    try:
        salt, srp_b, secret_block = (
            parameters["SALT"],
            parameters["SRP_B"],
            parameters["SECRET_BLOCK"],
        )
    except KeyError as missing:
        raise InvalidResponseException(f"{challenge_name} lacks {missing.args[0]}") from None
    try:
        (pool_name + user_id).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidResponseException(f"{challenge_name} names a user that is not text") from None
    key = await cooperatively(
        srp.password_key(
            pool_name=pool_name, user_id=user_id, password=password, salt=salt, srp_b=srp_b
        )
    )
    timestamp = cognito_timestamp(datetime.now(timezone.utc))
    signature = password_claim_signature(
        key,
        pool_name=pool_name,
        user_id=user_id,
        secret_block=secret_block,
        timestamp=timestamp,
    )
    return {
        "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
        "PASSWORD_CLAIM_SIGNATURE": signature,
        "TIMESTAMP": timestamp,
    }
