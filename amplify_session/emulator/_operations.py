"""The Cognito operations the front answers itself, where moto is lax.

- InitiateAuth: USER_SRP_AUTH with a real proof, USER_PASSWORD_AUTH, and
  REFRESH_TOKEN_AUTH, each checking SECRET_HASH; then the planned challenges.
- RespondToAuthChallenge: PASSWORD_VERIFIER, the planned challenges, SMS_MFA
  in pools with MfaConfiguration "ON", and DEVICE_SRP_AUTH /
  DEVICE_PASSWORD_VERIFIER for a remembered device (which skips MFA).
- GetTokensFromRefreshToken (with rotation) and RevokeToken, which moto
  answers with a 500; both refresh calls check the device key in pools
  that track devices.
- ConfirmDevice, UpdateDeviceStatus, ForgetDevice, ListDevices, GetDevice,
  which moto does not implement (``_devices.py``).
- GetCredentialsForIdentity: a new key every time, as Cognito hands out.

Tokens still come from moto: the front signs in to moto with the user's
password once the user has proved it.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._challenges import ChallengeSessions, Plan
from ._devices import DeviceRegistry, DeviceSignIn, DeviceSnapshot, DeviceSrpSessions, Owner
from ._moto_backend import (
    access_token_owner,
    canonical_name,
    challenges_remembered_devices,
    client_of,
    forget_refresh_token,
    pool_by_id,
    refresh_token_owner,
    remembers_on_prompt,
    requires_mfa,
    rotates,
    tracks_devices,
    user_of,
)
from ._refresh_tokens import RefreshTokens
from ._secret_hash import check_client_secret, check_secret_hash, moto_secret_hash
from ._srp import SrpSessions
from ._upstream import Upstream
from ._wire import IDENTITY, IDP, Refused

__all__ = ["CognitoOperations", "Operation"]

Operation = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

#: The MFA code a pool with MfaConfiguration "ON" accepts, unless told otherwise.
DEFAULT_MFA_CODE = "123456"
_MFA_SESSION_TTL = 180.0


class CognitoOperations:
    """The operations, and the sign-in and refresh-token state they keep between calls."""

    def __init__(self) -> None:
        self._upstream: Upstream | None = None
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget sign-ins under way, plans, rotations, revocations and issued keys."""
        self.srp = SrpSessions()
        self.challenges = ChallengeSessions()
        self.refresh_tokens = RefreshTokens()
        self.devices = DeviceRegistry()
        self.device_srp = DeviceSrpSessions()
        self.mfa_code = DEFAULT_MFA_CODE
        self.issued_access_keys: list[str] = []

    @property
    def device_proofs(self) -> Counter[str]:
        """DEVICE_PASSWORD_VERIFIER proofs, "accepted" or "refused"."""
        return self.device_srp.proofs

    def devices_of(self, user_pool_id: str, login: str) -> list[DeviceSnapshot]:
        """The user's devices, confirmed or not, oldest first."""
        pool = pool_by_id(user_pool_id)
        return self.devices.snapshot(_owner(pool, user_of(pool, login)))

    def connect(self, upstream: Upstream) -> None:
        """Call moto through ``upstream`` from now on."""
        self._upstream = upstream

    def handler(self, operation: str) -> Operation | None:
        """The front's own answer to ``operation``; None: moto's answer will do."""
        handlers: dict[str, Operation] = {
            "InitiateAuth": self._initiate_auth,
            "RespondToAuthChallenge": self._respond_to_auth_challenge,
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
        flow = body.get("AuthFlow")
        params = body.get("AuthParameters") or {}
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            if rotates(client):
                raise Refused(
                    "NotAuthorizedException",
                    "Refresh token rotation is enabled: use GetTokensFromRefreshToken.",
                )
            return await self._refresh(pool, client, params.get("REFRESH_TOKEN"), params)
        login = params.get("USERNAME", "")
        check_secret_hash(client, login, params.get("SECRET_HASH"))
        user = user_of(pool, login)
        device_key = self._device_key(pool, user, params.get("DEVICE_KEY"))
        if flow == "USER_PASSWORD_AUTH":
            if params.get("PASSWORD") != user.password:
                raise Refused("NotAuthorizedException", "Incorrect username or password.")
            return await self._after_password(pool, client, login, user, device_key)
        if flow == "USER_SRP_AUTH":
            return self.srp.challenge(
                pool, client, login, user, params.get("SRP_A", ""), device_key
            )
        raise Refused("InvalidParameterException", f"Unsupported AuthFlow {flow}")

    async def _respond_to_auth_challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        name = body.get("ChallengeName")
        responses = body.get("ChallengeResponses") or {}
        check_secret_hash(client, responses.get("USERNAME", ""), responses.get("SECRET_HASH"))
        if name == "PASSWORD_VERIFIER":
            login, device_key = self.srp.verify(pool, client, responses)
            user = user_of(pool, login)
            device_key = self._device_key(pool, user, responses.get("DEVICE_KEY")) or device_key
            return await self._after_password(pool, client, login, user, device_key)
        session = body.get("Session", "")
        if name == "DEVICE_SRP_AUTH":
            return self.device_srp.challenge(self.devices, client.id, session, responses)
        if name == "DEVICE_PASSWORD_VERIFIER":
            sign_in = self.device_srp.verify(self.devices, client.id, session, responses)
            user = user_of(pool, sign_in.login)
            return await self._signed_in(pool, client, sign_in.login, user, sign_in.device_key)
        state = self.challenges.find(session)
        if state is None:
            return await self._moto_challenge(body)
        remaining = self.challenges.answer(pool, session, state, name, responses)
        if remaining:
            return self.challenges.issue(
                state.login, state.canonical, remaining, state.plan, state.device_key
            )
        user = user_of(pool, state.login)
        # Cognito reads the device from the last answer: an MFA code sent without
        # DEVICE_KEY gets a new device (amplify-android#3289).
        device_key = self._device_key(pool, user, responses.get("DEVICE_KEY"))
        return await self._after_challenges(pool, client, state.login, user, device_key)

    async def _moto_challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        """A challenge session the front did not open: moto's to answer."""
        status, text, _ = await self.upstream.call(
            IDP + "RespondToAuthChallenge", json.dumps(body).encode()
        )
        answer: dict[str, Any] = json.loads(text)
        if status != 200:
            raise Refused(str(answer.get("__type")), str(answer.get("message")), status)
        return answer

    def _device_key(self, pool: Any, user: Any, key: object) -> str | None:
        """A sign-in's DEVICE_KEY: one of the user's devices, else "Device does not exist."."""
        if not key or not tracks_devices(pool):
            return None
        self.devices.device(_owner(pool, user), str(key))
        return str(key)

    async def _after_password(
        self, pool: Any, client: Any, login: str, user: Any, device_key: str | None
    ) -> dict[str, Any]:
        """The password is proven: the planned challenges, else the device or MFA, then tokens."""
        plan = self.challenges.take_plan()
        if plan is None and requires_mfa(pool) and self._remembered(pool, user, device_key) is None:
            plan = Plan(["SMS_MFA"], self.mfa_code, (), _MFA_SESSION_TTL)
        if plan is not None and plan.names:
            canonical = canonical_name(pool, user)
            return self.challenges.issue(login, canonical, plan.names, plan, device_key)
        return await self._after_challenges(pool, client, login, user, device_key)

    async def _after_challenges(
        self, pool: Any, client: Any, login: str, user: Any, device_key: str | None
    ) -> dict[str, Any]:
        """The user's factors are proven: a remembered device proves itself, then tokens."""
        device = self._remembered(pool, user, device_key)
        if device is None:
            return await self._signed_in(pool, client, login, user, device_key)
        sign_in = DeviceSignIn(
            client.id, login, canonical_name(pool, user), _owner(pool, user), device, 0.0
        )
        return self.device_srp.issue(sign_in)

    def _remembered(self, pool: Any, user: Any, device_key: str | None) -> str | None:
        """The sign-in's device, if it is to sign in with device SRP (and skip MFA)."""
        if device_key is None or not challenges_remembered_devices(pool):
            return None
        device = self.devices.device(_owner(pool, user), device_key)
        return device.key if device.confirmed and device.remembered else None

    async def _signed_in(
        self, pool: Any, client: Any, login: str, user: Any, device_key: str | None
    ) -> dict[str, Any]:
        """moto's tokens, bound to the sign-in's confirmed device or to a new one."""
        answer = await self._moto_tokens(client, login, user.password)
        if not tracks_devices(pool):
            return answer
        result = answer["AuthenticationResult"]
        owner = _owner(pool, user)
        key, new_device = self.devices.settle(owner, device_key, pool.region)
        self.devices.bind(result["RefreshToken"], owner, key)
        if new_device is not None:
            result["NewDeviceMetadata"] = new_device
        return answer

    async def _moto_tokens(self, client: Any, login: str, password: str) -> dict[str, Any]:
        return await self.upstream.user_pool(
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client.id,
                "AuthParameters": {
                    "USERNAME": login,
                    "PASSWORD": password,
                    **moto_secret_hash(client, login),
                },
            },
        )

    # -- refresh, rotation, revocation ------------------------------------------

    async def _refresh(
        self, pool: Any, client: Any, token: str | None, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """REFRESH_TOKEN_AUTH: SECRET_HASH from the token owner's Cognito username."""
        moto_token, moto_username = self._owner(pool, token)
        canonical = canonical_name(pool, user_of(pool, moto_username))  # deleted, disabled...
        check_secret_hash(client, canonical, params.get("SECRET_HASH"))
        self._check_device(pool, moto_token, params.get("DEVICE_KEY"))
        return await self._refresh_upstream(client, moto_token, moto_username)

    def _check_device(self, pool: Any, moto_token: str, sent_key: object) -> None:
        if tracks_devices(pool):
            self.devices.check_refresh(moto_token, str(sent_key) if sent_key else None)

    def _owner(self, pool: Any, token: str | None) -> tuple[str, str]:
        """moto's refresh token behind ``token``, and the username moto stored with it."""
        moto_token = self.refresh_tokens.live(token)
        return moto_token, refresh_token_owner(pool, moto_token)

    async def _refresh_upstream(
        self, client: Any, moto_token: str, moto_username: str
    ) -> dict[str, Any]:
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
        token = body.get("RefreshToken")
        moto_token, moto_username = self._owner(pool, token)
        user_of(pool, moto_username)  # deleted, disabled, reset...
        self._check_device(pool, moto_token, body.get("DeviceKey"))
        answer = await self._refresh_upstream(client, moto_token, moto_username)
        if rotates(client):
            rotated = self.refresh_tokens.rotate(str(token), moto_token)
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


def _owner(pool: Any, user: Any) -> Owner:
    """Whose devices: the pool and moto's username (what its access tokens name)."""
    return str(pool.id), str(user.username)


def _token_owner(body: Mapping[str, Any]) -> tuple[Any, Owner]:
    """The pool and the user of the call's AccessToken."""
    pool, user = access_token_owner(body.get("AccessToken"))
    return pool, _owner(pool, user)
