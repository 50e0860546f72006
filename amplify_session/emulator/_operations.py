"""The Cognito operations the front answers itself, where moto is lax.

- InitiateAuth and RespondToAuthChallenge for every sign-in flow and step
  (``_sign_in.py``), AssociateSoftwareToken and VerifySoftwareToken with a
  challenge Session (``_mfa_setup.py``); REFRESH_TOKEN_AUTH here, checking
  SECRET_HASH from the token owner's Cognito username.
- GetTokensFromRefreshToken (with rotation) and RevokeToken, which moto
  answers with a 500; both refresh calls check the device key in pools
  that track devices.
- ConfirmDevice, UpdateDeviceStatus, ForgetDevice, ListDevices, GetDevice,
  which moto does not implement (``_devices.py``).
- SetUserPoolMfaConfig and GetUserPoolMfaConfig, with the email MFA moto
  does not keep.
- GetCredentialsForIdentity: a new key every time, as Cognito hands out.
- Refresh tokens issued by the OAuth domain's code grant keep their scopes on
  every refresh, through these calls and at ``/oauth2/token`` (:meth:`CognitoOperations.refresh`).

ClientMetadata, on every call that takes it, must be a map of strings.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._devices import DeviceRegistry, DeviceSnapshot, DeviceSrpSessions, Owner
from ._mfa_setup import associate_software_token, verify_software_token
from ._moto_backend import (
    access_token_owner,
    canonical_name,
    client_of,
    forget_refresh_token,
    mfa_config,
    owner_of,
    pool_by_id,
    refresh_token_client,
    refresh_token_owner,
    remembers_on_prompt,
    rotates,
    set_mfa_config,
    tracks_devices,
    user_of,
)
from ._oauth_tokens import refreshed_tokens
from ._refresh_tokens import RefreshTokens
from ._secret_hash import check_client_secret, check_secret_hash, moto_secret_hash
from ._sign_in import SignIns
from ._upstream import Upstream
from ._wire import IDENTITY, Refused

__all__ = ["CognitoOperations", "Operation", "check_client_metadata"]

Operation = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class CognitoOperations:
    """The operations, and the sign-in and refresh-token state they keep between calls."""

    def __init__(self) -> None:
        self._upstream: Upstream | None = None
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget sign-ins, their controls, rotations, revocations, devices and issued keys."""
        self.refresh_tokens = RefreshTokens()
        self.devices = DeviceRegistry()
        self.device_srp = DeviceSrpSessions()
        self.sign_ins = SignIns(lambda: self.upstream, self.devices, self.device_srp)
        self.issued_access_keys: list[str] = []
        #: moto's refresh tokens issued by the code grant -> the scopes it granted.
        self.oauth_scopes: dict[str, tuple[str, ...]] = {}

    @property
    def device_proofs(self) -> Counter[str]:
        """DEVICE_PASSWORD_VERIFIER proofs, "accepted" or "refused"."""
        return self.device_srp.proofs

    def devices_of(self, user_pool_id: str, login: str) -> list[DeviceSnapshot]:
        """The user's devices, confirmed or not, oldest first."""
        pool = pool_by_id(user_pool_id)
        return self.devices.snapshot(owner_of(pool, user_of(pool, login)))

    def totp_secret_of(self, user_pool_id: str, login: str) -> str | None:
        """The TOTP secret the user set up at sign-in, if any."""
        pool = pool_by_id(user_pool_id)
        return self.sign_ins.enrolments.totp_secret(owner_of(pool, user_of(pool, login)))

    def connect(self, upstream: Upstream) -> None:
        """Call moto through ``upstream`` from now on."""
        self._upstream = upstream

    def handler(self, operation: str) -> Operation | None:
        """The front's own answer to ``operation``; None: moto's answer will do."""
        handlers: dict[str, Operation] = {
            "InitiateAuth": self._initiate_auth,
            "RespondToAuthChallenge": self._respond_to_auth_challenge,
            "AssociateSoftwareToken": self._associate_software_token,
            "VerifySoftwareToken": self._verify_software_token,
            "SetUserPoolMfaConfig": self._set_user_pool_mfa_config,
            "GetUserPoolMfaConfig": self._get_user_pool_mfa_config,
            "GetTokensFromRefreshToken": self._get_tokens_from_refresh_token,
            "RevokeToken": self._revoke_token,
            "GetCredentialsForIdentity": self._get_credentials_for_identity,
            "ConfirmDevice": self._confirm_device,
            "UpdateDeviceStatus": self._update_device_status,
            "ForgetDevice": self._forget_device,
            "ListDevices": self._list_devices,
            "GetDevice": self._get_device,
        }
        return handlers.get(operation)

    @property
    def upstream(self) -> Upstream:
        assert self._upstream is not None, "the front is not serving"
        return self._upstream

    # -- sign-in ----------------------------------------------------------------

    async def _initiate_auth(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        check_client_metadata(body)
        flow = body.get("AuthFlow")
        params = body.get("AuthParameters") or {}
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            if rotates(client):
                raise Refused(
                    "NotAuthorizedException",
                    "Refresh token rotation is enabled: use GetTokensFromRefreshToken.",
                )
            return await self._refresh(pool, client, params.get("REFRESH_TOKEN"), params)
        return await self.sign_ins.initiate_auth(pool, client, flow, params)

    async def _respond_to_auth_challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        check_client_metadata(body)
        return await self.sign_ins.respond_to_auth_challenge(pool, client, body)

    async def _associate_software_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if "AccessToken" in body:  # a signed-in user's: moto's
            return await self.upstream.user_pool("AssociateSoftwareToken", body)
        return associate_software_token(self.sign_ins.sessions, body.get("Session"))

    async def _verify_software_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if "AccessToken" in body:
            return await self.upstream.user_pool("VerifySoftwareToken", body)
        sessions = self.sign_ins.sessions
        return verify_software_token(sessions, body.get("Session"), body.get("UserCode"))

    # -- the pool's MFA settings ----------------------------------------------------

    async def _set_user_pool_mfa_config(self, body: dict[str, Any]) -> dict[str, Any]:
        """Email MFA included, which moto does not keep."""
        pool = pool_by_id(str(body.get("UserPoolId")))
        mode = body.get("MfaConfiguration", str(pool.mfa_config))
        if mode not in ("ON", "OFF", "OPTIONAL"):
            raise Refused(
                "InvalidParameterException", "MfaConfiguration must be ON, OFF or OPTIONAL."
            )
        set_mfa_config(pool, mode, body)
        return mfa_config(pool)

    async def _get_user_pool_mfa_config(self, body: dict[str, Any]) -> dict[str, Any]:
        return mfa_config(pool_by_id(str(body.get("UserPoolId"))))

    # -- refresh, rotation, revocation ------------------------------------------

    async def _refresh(
        self, pool: Any, client: Any, token: str | None, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """REFRESH_TOKEN_AUTH: SECRET_HASH from the token owner's Cognito username."""
        moto_token, moto_username = self._owner(pool, token)
        canonical = canonical_name(pool, user_of(pool, moto_username))  # deleted, disabled...
        check_secret_hash(client, canonical, params.get("SECRET_HASH"))
        self._check_device(pool, moto_token, params.get("DEVICE_KEY"))
        return await self._refresh_upstream(pool, client, moto_token, moto_username)

    def _check_device(self, pool: Any, moto_token: str, sent_key: object) -> None:
        if tracks_devices(pool):
            self.devices.check_refresh(moto_token, str(sent_key) if sent_key else None)

    def _owner(self, pool: Any, token: str | None) -> tuple[str, str]:
        """moto's refresh token behind ``token``, and the username moto stored with it."""
        moto_token = self.refresh_tokens.live(token)
        return moto_token, refresh_token_owner(pool, moto_token)

    async def _refresh_upstream(
        self, pool: Any, client: Any, moto_token: str, moto_username: str
    ) -> dict[str, Any]:
        scopes = self.oauth_scopes.get(moto_token)
        if scopes is not None:  # moto would grant aws.cognito.signin.user.admin alone
            return {"AuthenticationResult": refreshed_tokens(pool, moto_token, scopes)}
        return await self.upstream.user_pool(
            "InitiateAuth",
            {
                "AuthFlow": "REFRESH_TOKEN_AUTH",
                "ClientId": client.id,
                "AuthParameters": {
                    "REFRESH_TOKEN": moto_token,
                    **moto_secret_hash(client, moto_username),
                },
            },
        )

    async def _get_tokens_from_refresh_token(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        check_client_secret(client, body.get("ClientSecret"))
        check_client_metadata(body)
        token = body.get("RefreshToken")
        moto_token, moto_username = self._owner(pool, token)
        user_of(pool, moto_username)  # deleted, disabled, reset...
        self._check_device(pool, moto_token, body.get("DeviceKey"))
        return await self._rotating_refresh(pool, client, str(token), moto_token, moto_username)

    async def refresh(self, pool: Any, client: Any, token: str) -> dict[str, Any]:
        """The token endpoint's refresh (the client authenticated): an AuthenticationResult.

        A rotating client's answer has the refresh token that replaces ``token``.
        """
        moto_token, moto_username = self._owner(pool, token)
        if refresh_token_client(pool, moto_token) != client.id:
            raise Refused("NotAuthorizedException", "Invalid Refresh Token.")
        user_of(pool, moto_username)  # deleted, disabled, reset...
        self._check_device(pool, moto_token, None)
        answer = await self._rotating_refresh(pool, client, token, moto_token, moto_username)
        result: dict[str, Any] = answer["AuthenticationResult"]
        return result

    async def _rotating_refresh(
        self, pool: Any, client: Any, token: str, moto_token: str, moto_username: str
    ) -> dict[str, Any]:
        answer = await self._refresh_upstream(pool, client, moto_token, moto_username)
        if rotates(client):
            rotated = self.refresh_tokens.rotate(token, moto_token)
            answer["AuthenticationResult"]["RefreshToken"] = rotated
        return answer

    async def _revoke_token(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        check_client_secret(client, body.get("ClientSecret"))
        token = body.get("Token")
        moto_token = self.refresh_tokens.live(token)
        self.refresh_tokens.revoke(str(token), moto_token)
        forget_refresh_token(pool, moto_token)
        return {}

    # -- devices ------------------------------------------------------------------

    async def _confirm_device(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, owner = _token_owner(body)
        name = body.get("DeviceName")
        opt_in = remembers_on_prompt(pool)
        self.devices.confirm(
            owner,
            str(body.get("DeviceKey")),
            body.get("DeviceSecretVerifierConfig"),
            None if name is None else str(name),
            remember=not opt_in,
        )
        return {"UserConfirmationNecessary": opt_in}

    async def _update_device_status(self, body: dict[str, Any]) -> dict[str, Any]:
        _, owner = _token_owner(body)
        status = body.get("DeviceRememberedStatus")
        if status not in ("remembered", "not_remembered"):
            raise Refused(
                "InvalidParameterException",
                "DeviceRememberedStatus must be remembered or not_remembered.",
            )
        self.devices.set_remembered(owner, str(body.get("DeviceKey")), status == "remembered")
        return {}

    async def _forget_device(self, body: dict[str, Any]) -> dict[str, Any]:
        _, owner = _token_owner(body)
        self.devices.forget(owner, str(body.get("DeviceKey")))
        return {}

    async def _list_devices(self, body: dict[str, Any]) -> dict[str, Any]:
        _, owner = _token_owner(body)
        return self.devices.page(owner, body.get("Limit"), body.get("PaginationToken"))

    async def _get_device(self, body: dict[str, Any]) -> dict[str, Any]:
        _, owner = _token_owner(body)
        return {"Device": self.devices.wire(owner, str(body.get("DeviceKey")))}

    # -- Identity Pool ------------------------------------------------------------

    async def _get_credentials_for_identity(self, body: dict[str, Any]) -> dict[str, Any]:
        """moto hands out the same key every time; Cognito never does."""
        answer = await self.upstream.json(IDENTITY + "GetCredentialsForIdentity", body)
        credentials = answer.get("Credentials") or {}
        credentials["AccessKeyId"] = "ASIA" + secrets.token_hex(8).upper()
        credentials["SecretKey"] = secrets.token_urlsafe(30)
        credentials["SessionToken"] = secrets.token_urlsafe(60)
        with self._lock:
            self.issued_access_keys.append(credentials["AccessKeyId"])
        return answer


def _token_owner(body: Mapping[str, Any]) -> tuple[Any, Owner]:
    """The pool and the user of the call's AccessToken."""
    pool, user = access_token_owner(body.get("AccessToken"))
    return pool, owner_of(pool, user)


def check_client_metadata(body: Mapping[str, Any]) -> None:
    """ClientMetadata, when sent, is a map of strings (it goes to the pool's Lambdas)."""
    metadata = body.get("ClientMetadata")
    if metadata is None:
        return
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise Refused("InvalidParameterException", "ClientMetadata must be a map of strings.")
