"""SRP, SECRET_HASH, challenges and alias sign-in through the strict front."""

from __future__ import annotations

import anyio
import pytest

from amplify_session import (
    CodeMismatchException,
    InvalidParameterException,
    NotAuthorizedException,
    SessionManager,
)
from amplify_session.emulator import EmulatedPool, Emulator

pytestmark = pytest.mark.anyio


async def test_srp_is_the_default_and_the_password_never_travels(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)
        assert result.is_signed_in
        user = await manager.get_current_user()
    assert user.sign_in_details is not None
    assert user.sign_in_details.auth_flow_type == "USER_SRP_AUTH"
    assert amplify_emulator.front.calls["InitiateAuth"] == 1
    assert amplify_emulator.front.calls["RespondToAuthChallenge"] == 1
    sent = str(amplify_emulator.front.requests)
    assert pool.password not in sent
    first = amplify_emulator.front.requests[0][1]
    assert first["AuthFlow"] == "USER_SRP_AUTH"
    assert "SRP_A" in first["AuthParameters"]


async def test_srp_with_a_wrong_password_fails_the_proof(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        with pytest.raises(NotAuthorizedException, match="Incorrect username or password"):
            await manager.sign_in(pool.username, pool.password + "x")
        assert not await manager.is_authenticated()


async def test_the_event_loop_runs_while_srp_computes(pool: EmulatedPool) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with SessionManager(pool.config()) as manager, anyio.create_task_group() as group:
        group.start_soon(ticker)
        await manager.sign_in(pool.username, pool.password)
        group.cancel_scope.cancel()
    # Two 3072-bit exponentiations of >= 1024 bits, yielding every 32 bits.
    assert ticks >= 2 * 1024 // 32


async def test_email_alias_with_a_client_secret(amplify_emulator: Emulator) -> None:
    amplify_emulator.reset()
    pool = amplify_emulator.provision(sign_in_with_email=True, generate_secret=True)
    assert pool.username == pool.email
    async with SessionManager(pool.config()) as manager:
        assert (await manager.sign_in(pool.email, pool.password)).is_signed_in
        user = await manager.get_current_user()
        # Cognito's username in an alias pool is the sub, not what the user typed.
        assert user.username == user.user_id
        assert user.sign_in_details is not None
        assert user.sign_in_details.login_id == pool.email
        # The front checks SECRET_HASH on refresh against the token's username claim.
        before = await manager.fetch_auth_session()
        after = await manager.fetch_auth_session(force_refresh=True)
        assert before.tokens is not None
        assert after.tokens is not None
        assert after.tokens.access_token.payload["jti"] != before.tokens.access_token.payload["jti"]
    hashes = [
        body.get("AuthParameters", body.get("ChallengeResponses", {})).get("SECRET_HASH")
        for _, body in amplify_emulator.front.requests
        if _ in ("InitiateAuth", "RespondToAuthChallenge")
    ]
    assert all(hashes)
    assert len(set(hashes)) == 2  # one for the alias, one for Cognito's username


async def test_a_wrong_client_secret_is_refused(secret_pool: EmulatedPool) -> None:
    config = secret_pool.config(client_secret="not-the-secret")
    async with SessionManager(config) as manager:
        with pytest.raises(NotAuthorizedException, match="secret hash") as info:
            await manager.sign_in(secret_pool.username, secret_pool.password)
    assert "not-the-secret" not in str(info.value)


async def test_new_password_required_with_required_attributes(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.plan_challenges("NEW_PASSWORD_REQUIRED", required_attributes=("name",))
    new_password = "Brand-new-Passw0rd!"
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)
        assert not result.is_signed_in
        assert result.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED"
        assert result.next_step.missing_attributes == ("name",)
        with pytest.raises(InvalidParameterException, match="name"):
            await manager.confirm_sign_in(new_password)
        done = await manager.confirm_sign_in(new_password, user_attributes={"name": "Alice"})
        assert done.is_signed_in
        assert done.next_step.sign_in_step == "DONE"
        info = await manager.get_user_info()
        assert info is not None
        assert info.name == "Alice"
        await manager.sign_out()
        assert (await manager.sign_in(pool.username, new_password)).is_signed_in


async def test_temporary_password_from_an_admin(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.client("cognito-idp").admin_create_user(
        UserPoolId=pool.user_pool_id,
        Username="carol",
        TemporaryPassword="Temp-Passw0rd!",
        MessageAction="SUPPRESS",
    )
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in("carol", "Temp-Passw0rd!")
        assert result.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED"
        assert (await manager.confirm_sign_in("Carol-Passw0rd!")).is_signed_in
        assert (await manager.get_current_user()).username == "carol"


async def test_sms_mfa_wrong_code_then_right_code(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.plan_challenges("SMS_MFA", code="654321")
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)
        assert result.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_SMS_CODE"
        assert result.next_step.additional_info["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
        with pytest.raises(CodeMismatchException):
            await manager.confirm_sign_in("000000")
        assert (await manager.confirm_sign_in("654321")).is_signed_in
        assert await manager.is_authenticated()


async def test_select_mfa_type_then_totp(pool: EmulatedPool, amplify_emulator: Emulator) -> None:
    amplify_emulator.front.plan_challenges("SELECT_MFA_TYPE", code="111222")
    async with SessionManager(pool.config()) as manager:
        result = await manager.sign_in(pool.username, pool.password)
        assert result.next_step.sign_in_step == "CONTINUE_SIGN_IN_WITH_MFA_SELECTION"
        assert result.next_step.allowed_mfa_types == ("SMS", "TOTP")  # Amplify's names
        totp = await manager.confirm_sign_in("TOTP")
        assert totp.next_step.sign_in_step == "CONFIRM_SIGN_IN_WITH_TOTP_CODE"
        assert (await manager.confirm_sign_in("111222")).is_signed_in


async def test_an_expired_challenge_session_says_sign_in_again(
    pool: EmulatedPool, amplify_emulator: Emulator
) -> None:
    amplify_emulator.front.plan_challenges("SOFTWARE_TOKEN_MFA", session_ttl=0.05)
    async with SessionManager(pool.config()) as manager:
        await manager.sign_in(pool.username, pool.password)
        await anyio.sleep(0.2)
        with pytest.raises(NotAuthorizedException, match="expired") as info:
            await manager.confirm_sign_in("123456")
        assert info.value.recovery_suggestion == "Call sign_in() again."
        with pytest.raises(InvalidParameterException, match="no sign-in is waiting"):
            await manager.confirm_sign_in("123456")
        assert (await manager.sign_in(pool.username, pool.password)).is_signed_in


async def test_confirm_without_a_sign_in(pool: EmulatedPool) -> None:
    async with SessionManager(pool.config()) as manager:
        with pytest.raises(InvalidParameterException, match="no sign-in is waiting") as info:
            await manager.confirm_sign_in("123456")
        assert info.value.recovery_suggestion.startswith("Call sign_in() first")
