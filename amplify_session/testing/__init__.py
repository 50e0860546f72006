"""Test helpers: an embedded Cognito emulator and a fake clock.

Needs the ``emulator`` extra (``pip install amplify-session[emulator]``):

    with Emulator() as emulator:
        pool = emulator.provision(token_validity=timedelta(seconds=30))
        async with SessionManager(pool.config()) as manager:
            await manager.sign_in(pool.username, pool.password)

The emulator is moto's server (User Pool, Identity Pool, S3, DynamoDB...)
in this process, with a strict front for the Cognito APIs that verifies SRP
proofs and SECRET_HASH, implements token revocation and rotation, answers
any challenge and injects faults (:class:`StrictFront`).
"""

from ._clock import FakeClock
from ._emulator import EmulatedPool, Emulator, patch_moto_token_lifetimes
from ._front import StrictFront

__all__ = ["EmulatedPool", "Emulator", "FakeClock", "StrictFront", "patch_moto_token_lifetimes"]
