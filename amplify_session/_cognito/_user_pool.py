"""User Pool calls: sign-in (InitiateAuth, RespondToAuthChallenge, the TOTP setup of
MFA_SETUP) and token refresh."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import attrs

from .._config import AuthConfig, ClientMetadata
from .._errors import InvalidResponseException
from .._secret_repr import secret_repr
from ._transport import CognitoTransport, Service

__all__ = [
    "AuthenticationResult",
    "Challenge",
    "ClientMetadata",
    "SoftwareToken",
    "UserPoolClient",
    "parse_auth_answer",
    "secret_hash",
]


@attrs.frozen(kw_only=True)
class AuthenticationResult:
    """Raw tokens from Cognito; refresh and id tokens may be absent."""

    access_token: str = attrs.field(repr=secret_repr)
    id_token: str | None = attrs.field(default=None, repr=secret_repr)
    refresh_token: str | None = attrs.field(default=None, repr=secret_repr)
    device_key: str | None = None
    device_group_key: str | None = None


@attrs.frozen(kw_only=True)
class Challenge:
    """A challenge Cognito wants answered before it hands out tokens."""

    name: str
    session: str | None = attrs.field(default=None, repr=secret_repr)
    parameters: Mapping[str, str] = attrs.field(factory=dict)
    #: USER_AUTH's first factors the user may choose (the answer's ``AvailableChallenges``).
    available_challenges: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class SoftwareToken:
    """AssociateSoftwareToken's answer: the TOTP secret, and the session to verify it in."""

    secret_code: str = attrs.field(repr=secret_repr)
    session: str = attrs.field(repr=secret_repr)


def secret_hash(client_secret: str, client_id: str, username: str) -> str:
    """Cognito's SECRET_HASH: base64(HMAC-SHA256(secret, username + client_id))."""
    digest = hmac.new(
        client_secret.encode("utf-8"), (username + client_id).encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def parse_auth_answer(body: Mapping[str, Any]) -> AuthenticationResult | Challenge:
    """Read an InitiateAuth / RespondToAuthChallenge answer.

    Raises:
        InvalidResponseException: Neither tokens nor a challenge, or wrong types.
    """
    result = body.get("AuthenticationResult")
    if result is not None:
        if not isinstance(result, Mapping):
            raise InvalidResponseException("AuthenticationResult is not an object")
        device = result.get("NewDeviceMetadata")
        return AuthenticationResult(
            access_token=_required_str(result, "AccessToken"),
            id_token=_optional_str(result, "IdToken"),
            refresh_token=_optional_str(result, "RefreshToken"),
            device_key=_lenient_str(device, "DeviceKey"),
            device_group_key=_lenient_str(device, "DeviceGroupKey"),
        )
    name = body.get("ChallengeName")
    if not isinstance(name, str) or not name:
        raise InvalidResponseException("the answer has neither tokens nor a challenge")
    parameters = body.get("ChallengeParameters") or {}
    if not isinstance(parameters, Mapping) or not all(
        isinstance(v, str) for v in parameters.values()
    ):
        raise InvalidResponseException("ChallengeParameters is not an object of strings")
    return Challenge(
        name=name,
        session=_optional_str(body, "Session"),
        parameters=dict(parameters),
        available_challenges=_str_list(body, "AvailableChallenges"),
    )


def _str_list(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidResponseException(f"{key} is not a list of strings")
    return tuple(value)


def _required_str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidResponseException(f"the answer has no {key}")
    return value


def _lenient_str(obj: object, key: str) -> str | None:
    """A NewDeviceMetadata field: what is not a non-empty string is no device (the tokens stand)."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, str) and value else None


def _optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidResponseException(f"{key} is not a string")
    return value


class UserPoolClient:
    """The User Pool API calls the manager needs."""

    def __init__(self, transport: CognitoTransport, config: AuthConfig) -> None:
        self._transport = transport
        self._config = config

    def __repr__(self) -> str:
        return f"UserPoolClient(client_id={self._config.user_pool_client_id!r})"

    def _with_secret_hash(self, parameters: dict[str, str], username: str) -> list[str]:
        """Add SECRET_HASH when the app client has a secret; return the secrets sent."""
        secrets = [v for k, v in parameters.items() if k != "USERNAME"]
        if self._config.client_secret is not None:
            parameters["SECRET_HASH"] = secret_hash(
                self._config.client_secret, self._config.user_pool_client_id, username
            )
            secrets += [parameters["SECRET_HASH"], self._config.client_secret]
        return secrets

    async def initiate_auth(
        self,
        auth_flow: str,
        username: str,
        parameters: Mapping[str, str],
        *,
        client_metadata: ClientMetadata | None = None,
    ) -> AuthenticationResult | Challenge:
        """Start a sign-in with ``auth_flow`` (Cognito's name) for ``username``."""
        auth_parameters = {"USERNAME": username, **parameters}
        secrets = self._with_secret_hash(auth_parameters, username)
        payload = {
            "AuthFlow": auth_flow,
            "ClientId": self._config.user_pool_client_id,
            "AuthParameters": auth_parameters,
        }
        secrets += _with_metadata(payload, client_metadata)
        body = await self._transport.call(
            Service.USER_POOL, "InitiateAuth", payload, secrets=secrets
        )
        return parse_auth_answer(body)

    async def respond_to_auth_challenge(
        self,
        challenge: Challenge,
        username: str,
        responses: Mapping[str, str],
        *,
        client_metadata: ClientMetadata | None = None,
    ) -> AuthenticationResult | Challenge:
        """Answer ``challenge`` for ``username`` (Cognito's, from the challenge)."""
        challenge_responses = {"USERNAME": username, **responses}
        secrets = self._with_secret_hash(challenge_responses, username)
        payload: dict[str, Any] = {
            "ChallengeName": challenge.name,
            "ClientId": self._config.user_pool_client_id,
            "ChallengeResponses": challenge_responses,
        }
        if challenge.session is not None:
            payload["Session"] = challenge.session
            secrets.append(challenge.session)
        secrets += _with_metadata(payload, client_metadata)
        body = await self._transport.call(
            Service.USER_POOL, "RespondToAuthChallenge", payload, secrets=secrets
        )
        return parse_auth_answer(body)

    async def associate_software_token(self, session: str) -> SoftwareToken:
        """MFA_SETUP's first call: a new TOTP secret for the user signing in."""
        body = await self._transport.call(
            Service.USER_POOL, "AssociateSoftwareToken", {"Session": session}, secrets=[session]
        )
        return SoftwareToken(
            secret_code=_required_str(body, "SecretCode"), session=_required_str(body, "Session")
        )

    async def verify_software_token(
        self, session: str, code: str, *, friendly_device_name: str | None = None
    ) -> str:
        """Prove a TOTP code from the new secret; returns the session MFA_SETUP is answered in.

        Raises:
            InvalidResponseException: The answer is not SUCCESS with a session.
        """
        payload = {"Session": session, "UserCode": code}
        if friendly_device_name:
            payload["FriendlyDeviceName"] = friendly_device_name
        body = await self._transport.call(
            Service.USER_POOL, "VerifySoftwareToken", payload, secrets=[session, code]
        )
        if body.get("Status") != "SUCCESS":
            raise InvalidResponseException("VerifySoftwareToken did not answer SUCCESS")
        return _required_str(body, "Session")

    async def refresh_token_auth(
        self,
        refresh_token: str,
        *,
        username: str,
        device_key: str | None,
        client_metadata: ClientMetadata | None = None,
    ) -> AuthenticationResult:
        """Trade a refresh token for new tokens with InitiateAuth REFRESH_TOKEN_AUTH.

        Args:
            refresh_token: The stored refresh token.
            username: The token's ``username`` claim, which SECRET_HASH needs
                (not the alias the user signed in with).
            device_key: Sent as DEVICE_KEY when the device is remembered.
        """
        parameters = {"REFRESH_TOKEN": refresh_token}
        if device_key:
            parameters["DEVICE_KEY"] = device_key
        secrets = self._with_secret_hash(parameters, username)
        payload = {
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": self._config.user_pool_client_id,
            "AuthParameters": parameters,
        }
        secrets += _with_metadata(payload, client_metadata)
        body = await self._transport.call(
            Service.USER_POOL, "InitiateAuth", payload, secrets=secrets
        )
        return _tokens_only(parse_auth_answer(body), "REFRESH_TOKEN_AUTH")

    async def get_tokens_from_refresh_token(
        self,
        refresh_token: str,
        *,
        device_key: str | None,
        client_metadata: ClientMetadata | None = None,
    ) -> AuthenticationResult:
        """Trade a refresh token for new tokens with GetTokensFromRefreshToken.

        Where the app client rotates refresh tokens the answer carries a new
        refresh token, and the one sent stops working.
        """
        payload = self._client_payload({"RefreshToken": refresh_token})
        if device_key:
            payload["DeviceKey"] = device_key
        secrets = self._secrets_of(refresh_token) + _with_metadata(payload, client_metadata)
        body = await self._transport.call(
            Service.USER_POOL, "GetTokensFromRefreshToken", payload, secrets=secrets
        )
        return _tokens_only(parse_auth_answer(body), "GetTokensFromRefreshToken")

    async def revoke_token(self, refresh_token: str) -> None:
        """Revoke a refresh token and the access tokens issued from it."""
        await self._transport.call(
            Service.USER_POOL,
            "RevokeToken",
            self._client_payload({"Token": refresh_token}),
            secrets=self._secrets_of(refresh_token),
        )

    async def global_sign_out(self, access_token: str) -> None:
        """Sign the user out of every device: all their refresh tokens stop working."""
        await self._transport.call(
            Service.USER_POOL,
            "GlobalSignOut",
            {"AccessToken": access_token},
            secrets=[access_token],
        )

    def _client_payload(self, fields: dict[str, Any]) -> dict[str, Any]:
        """ClientId, and ClientSecret itself (not a hash) for the calls that take it."""
        payload = {"ClientId": self._config.user_pool_client_id, **fields}
        if self._config.client_secret is not None:
            payload["ClientSecret"] = self._config.client_secret
        return payload

    def _secrets_of(self, token: str) -> list[str]:
        return [token] + ([self._config.client_secret] if self._config.client_secret else [])


def _with_metadata(payload: dict[str, Any], client_metadata: ClientMetadata | None) -> list[str]:
    """Add ClientMetadata (for the pool's Lambda triggers).

    Its values are not scrubbed from error messages: they are not credentials,
    and masking a common word ("user") would mangle Cognito's messages, which
    the library reads ("Incorrect username or password."). Returns no secrets.
    """
    if client_metadata:
        payload["ClientMetadata"] = dict(client_metadata)
    return []


def _tokens_only(answer: AuthenticationResult | Challenge, operation: str) -> AuthenticationResult:
    if isinstance(answer, Challenge):
        # The challenge's name is not quoted: it is the server's text, and an
        # echoing server could put the request (a refresh token) in it.
        raise InvalidResponseException(f"{operation} answered with a challenge, not tokens")
    return answer
