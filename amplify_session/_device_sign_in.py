"""A user's device at sign-in: presented, proved (DEVICE_SRP_AUTH), and confirmed when new.

Pools with device tracking hand a new device to every sign-in that presents
none (``NewDeviceMetadata``). The device is confirmed at once, as Amplify
does: a random password is made, its SRP verifier registered with
ConfirmDevice, and the password stored with the tokens. Until then its key is
never sent: Cognito refuses refreshes that carry the key of a device it has
not confirmed ("Invalid Refresh Token"). A confirmed device's key goes with
every later sign-in and refresh; where the pool remembers it, Cognito asks
the device to prove its password (DEVICE_SRP_AUTH, then
DEVICE_PASSWORD_VERIFIER) instead of asking the user for MFA.
"""

from __future__ import annotations

import logging
import socket

from ._cognito import AuthenticationResult, Challenge, UserPoolClient
from ._cognito._devices import DeviceCalls
from ._cognito.srp import device_secret
from ._errors import AuthError, InvalidResponseException, NotAuthorizedException, StorageException
from ._sign_in import Attempt
from ._srp_proof import cooperatively, new_srp_session, password_claim
from ._token_store import TokenStore
from ._tokens import DeviceRecord

__all__ = ["DeviceSignIn"]

_log = logging.getLogger("amplify_session")
#: Cognito's device keys are under 60 characters; far longer ones are an absurd answer.
_LONGEST_KEY = 1024


class DeviceSignIn:
    """The stored devices of one app client's users, as sign-ins present and prove them."""

    def __init__(
        self,
        user_pool: UserPoolClient,
        calls: DeviceCalls,
        store: TokenStore,
        device_name: str | None,
    ) -> None:
        self._user_pool = user_pool
        self._calls = calls
        self._store = store
        self._device_name = device_name or socket.gethostname() or "amplify-session"

    def __repr__(self) -> str:
        return f"DeviceSignIn(device_name={self._device_name!r})"

    # -- RememberedDevices ----------------------------------------------------------

    async def stored(self, username: str) -> DeviceRecord | None:
        """The user's confirmed device, if one is stored.

        Raises:
            StorageException: The storage failed (the sign-in fails with it:
                signing in without the device would ask the user for MFA).
        """
        return await self._store.load_device(username)

    async def forget_locally(self, username: str, device_key: str) -> None:
        """Remove the user's stored device if it is ``device_key`` (Cognito no longer knows
        it, or refused its proof); a device another sign-in stored since stays.

        A storage failure is logged, not raised: the sign-in's own error is the
        one that matters, and the device is presented (and refused) again next time.
        """
        try:
            stored = await self._store.load_device(username)
            if stored is None or stored.device_key != device_key:
                return
            await self._store.clear_device(username)
        except StorageException as err:
            _log.warning("the invalid stored device could not be removed (%s)", err.name)
            return
        _log.info("the stored device is no longer valid at Cognito; removed")

    # -- DEVICE_SRP_AUTH ---------------------------------------------------------------

    async def prove(
        self, challenge: Challenge, attempt: Attempt
    ) -> AuthenticationResult | Challenge:
        """Answer DEVICE_SRP_AUTH, then DEVICE_PASSWORD_VERIFIER, with the presented device.

        Raises:
            NotAuthorizedException: Cognito refused the device's proof (its stored
                password is not the one confirmed); the device record is removed,
                so the next sign-in goes through MFA and confirms a new device.
            InvalidResponseException: Cognito asked although no device was presented,
                or answered out of turn.
        """
        device = attempt.device
        if device is None:
            raise InvalidResponseException(
                "Cognito asked for DEVICE_SRP_AUTH, but no device was presented"
            )
        username = challenge.parameters.get("USERNAME", attempt.login_id)
        srp = await new_srp_session()
        answer = await self._user_pool.respond_to_auth_challenge(
            challenge,
            username,
            {"SRP_A": srp.srp_a, "DEVICE_KEY": device.device_key},
            client_metadata=attempt.client_metadata,
        )
        if not isinstance(answer, Challenge) or answer.name != "DEVICE_PASSWORD_VERIFIER":
            raise InvalidResponseException(
                "DEVICE_SRP_AUTH was not answered with DEVICE_PASSWORD_VERIFIER"
            )
        responses = await password_claim(
            srp,
            answer.parameters,
            pool_name=device.device_group_key,
            user_id=device.device_key,
            password=device.random_password,
            challenge_name=answer.name,
        )
        responses["DEVICE_KEY"] = device.device_key
        try:
            return await self._user_pool.respond_to_auth_challenge(
                answer,
                answer.parameters.get("USERNAME", username),
                responses,
                client_metadata=attempt.client_metadata,
            )
        except NotAuthorizedException as err:
            if "incorrect username or password" not in err.message.lower():
                raise  # an expired session, a disabled user: not the device's fault
            if attempt.device_owner is not None:
                await self.forget_locally(attempt.device_owner, device.device_key)
            raise NotAuthorizedException(
                "Cognito refused this device's proof: its stored password is not the one "
                "it confirmed. The device record was removed.",
                recovery_suggestion=(
                    "Sign in again: Cognito asks for MFA and a new device is confirmed."
                ),
                underlying_error=err,
            ) from err

    # -- a new device --------------------------------------------------------------------

    async def confirm(self, result: AuthenticationResult) -> DeviceRecord | None:
        """Confirm the new device a sign-in brought; None when there is none or it failed.

        A failure is logged and leaves the sign-in standing without a device
        (as Amplify does): the tokens are valid, the unconfirmed key is never
        sent, and the next sign-in brings a new device. Transient failures are
        retried first, like any call.
        """
        key, group = result.device_key, result.device_group_key
        if key is None:
            return None
        if group is None or not _usable(key) or not _usable(group):
            _log.warning("Cognito sent new device keys that cannot be used; not confirmed")
            return None
        secret = await cooperatively(device_secret(device_group_key=group, device_key=key))
        try:
            await self._calls.confirm_device(result.access_token, key, secret, self._device_name)
        except AuthError as err:
            _log.warning(
                "the new device could not be confirmed (%s); it is not remembered", err.name
            )
            return None
        return DeviceRecord(
            device_key=key, device_group_key=group, random_password=secret.random_password
        )


def _usable(key: str) -> bool:
    """A key Cognito could have sent: not absurdly long, and text (no lone surrogates)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return len(key) <= _LONGEST_KEY
