"""What the device-tracking tests share: Amplify's device keys and a sign-in through SMS MFA."""

from __future__ import annotations

from amplify_session import SessionManager
from amplify_session.emulator import EmulatedPool, Emulator

#: Amplify's three device keys, under each user's prefix.
DEVICE_FIELDS = ("deviceKey", "deviceGroupKey", "randomPasswordKey")


async def sign_in_with_mfa(
    manager: SessionManager, pool: EmulatedPool, emulator: Emulator, flow: str = "USER_SRP_AUTH"
) -> None:
    """Sign the pool's user in, answering the SMS_MFA challenge with the front's code."""
    result = await manager.sign_in(pool.username, pool.password, auth_flow=flow)
    assert result.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_SMS_CODE"
    done = await manager.confirm_sign_in(emulator.front.mfa_code)
    assert done.is_signed_in
