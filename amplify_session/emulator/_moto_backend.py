"""Where the front reads moto's in-process backends: pools, clients, users, refresh tokens.

Every reach into moto's internals (``cognitoidp_backends``, ``_get_user``,
``extended_config``, ``refresh_tokens``, the pool's signing key and token
makers, for the OAuth domain) is here, so a moto release that
moves one breaks this module only; ``pyproject.toml`` pins the ``emulator``
extra to the moto releases the project's tests run against.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .._errors import AuthError
from .._jwt import decode_jwt
from ._wire import Refused

__all__ = [
    "access_token_owner",
    "allowed_first_factors",
    "allows_flow",
    "attribute_of",
    "canonical_name",
    "challenges_remembered_devices",
    "client_of",
    "enabled_mfa_types",
    "first_user",
    "forget_refresh_token",
    "is_temporary",
    "issuer_of",
    "mfa_config",
    "missing_required_attributes",
    "new_refresh_token",
    "oauth_settings",
    "owner_of",
    "pool_by_id",
    "pool_name",
    "refresh_token_client",
    "refresh_token_owner",
    "register_token",
    "remembers_on_prompt",
    "requires_mfa",
    "rotates",
    "set_mfa_config",
    "set_user_attributes",
    "set_user_password",
    "sign_as_pool",
    "token_lifetime",
    "tokens_from_refresh_token",
    "tracks_devices",
    "user_attributes",
    "user_of",
    "MFA_TYPES",
]

#: Cognito's MFA types, in the order its lists name them.
MFA_TYPES = ("SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP")
#: An app client's flows when CreateUserPoolClient names none.
_DEFAULT_FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")


def client_of(client_id: object) -> tuple[Any, Any]:
    """The user pool and the app client with this id."""
    from moto.cognitoidp.models import cognitoidp_backends, find_account_region_by_value

    if not isinstance(client_id, str):
        raise Refused("InvalidParameterException", "ClientId is required.")
    account, region = find_account_region_by_value("client_id", client_id, ("", ""))
    if not account:
        raise Refused("ResourceNotFoundException", "User pool client does not exist.")
    for pool in cognitoidp_backends[account][region].user_pools.values():
        if client_id in pool.clients:
            return pool, pool.clients[client_id]
    raise Refused("ResourceNotFoundException", "User pool client does not exist.")


def pool_by_id(user_pool_id: str) -> Any:
    """The user pool with this id."""
    from moto.cognitoidp.models import cognitoidp_backends

    for regions in cognitoidp_backends.values():
        for backend in regions.values():
            if user_pool_id in backend.user_pools:
                return backend.user_pools[user_pool_id]
    raise Refused("ResourceNotFoundException", "User pool does not exist.")


def access_token_owner(token: object) -> tuple[Any, Any]:
    """The pool and the user of a live access token moto issued; refused otherwise.

    moto forgets access tokens on GlobalSignOut but keeps expired ones.
    """
    from moto.cognitoidp.models import cognitoidp_backends

    invalid = Refused("NotAuthorizedException", "Invalid Access Token")
    if not isinstance(token, str) or not token:
        raise invalid
    for regions in cognitoidp_backends.values():
        for backend in regions.values():
            for pool in backend.user_pools.values():
                owner = pool.access_tokens.get(token)
                if owner is not None and _unexpired(token):
                    user = pool._get_user(owner[1])
                    if user is None:
                        raise invalid
                    return pool, user
    raise invalid


def _unexpired(token: str) -> bool:
    try:
        expiry = decode_jwt(token).payload.get("exp")
    except AuthError:
        return False
    return isinstance(expiry, int | float) and expiry > time.time()


def user_of(pool: Any, login: str) -> Any:
    """The user who may sign in as ``login``; refused as Cognito refuses the others."""
    user = pool._get_user(login) if login else None
    if user is None:
        raise Refused("UserNotFoundException", "User does not exist.")
    if not user.enabled:
        raise Refused("NotAuthorizedException", "User is disabled.")
    if str(user.status.value) == "UNCONFIRMED":
        raise Refused("UserNotConfirmedException", "User is not confirmed.")
    if str(user.status.value) == "RESET_REQUIRED":
        raise Refused("PasswordResetRequiredException", "Password reset required for the user")
    return user


def set_user_password(pool: Any, login: str, password: str, attributes: Mapping[str, str]) -> None:
    """Give a user a new, permanent password and set (or replace) some of their attributes."""
    from moto.cognitoidp.models import UserStatus

    user = user_of(pool, login)
    user.password = password
    if is_temporary(user):
        user.status = UserStatus.CONFIRMED
    set_user_attributes(user, attributes)


def set_user_attributes(user: Any, attributes: Mapping[str, str]) -> None:
    """Set (or replace) some of a user's attributes."""
    for name, value in attributes.items():
        user.attributes = [a for a in user.attributes if a["Name"] != name]
        user.attributes.append({"Name": name, "Value": value})


def user_attributes(user: Any) -> dict[str, str]:
    """A user's attributes by name."""
    return {str(a["Name"]): str(a["Value"]) for a in user.attributes}


def attribute_of(user: Any, name: str) -> str | None:
    """One of a user's attributes, if set."""
    return user_attributes(user).get(name)


def is_temporary(user: Any) -> bool:
    """The user's password is a temporary one an admin set (FORCE_CHANGE_PASSWORD)."""
    return str(user.status.value) == "FORCE_CHANGE_PASSWORD"


def missing_required_attributes(pool: Any, user: Any) -> tuple[str, ...]:
    """The attributes the pool requires that the user does not have yet (sub aside)."""
    have = user_attributes(user)
    return tuple(
        str(a.name)
        for a in pool.schema_attributes.values()
        if a.required and a.name != "sub" and a.name not in have
    )


def canonical_name(pool: Any, user: Any) -> str:
    """Cognito's username: the sub in alias pools, as moto's tokens have it."""
    return str(user.id if pool.extended_config.get("UsernameAttributes") else user.username)


def owner_of(pool: Any, user: Any) -> tuple[str, str]:
    """Whose devices and MFA: the pool id and moto's username (what its access tokens name)."""
    return str(pool.id), str(user.username)


def pool_name(pool: Any) -> str:
    """The pool id without its region (SRP's hashes use it)."""
    return str(pool.id).split("_", 1)[1]


def tracks_devices(pool: Any) -> bool:
    """The pool remembers devices (CreateUserPool's ``DeviceConfiguration``)."""
    return bool(pool.extended_config.get("DeviceConfiguration"))


def challenges_remembered_devices(pool: Any) -> bool:
    """A remembered device signs in with device SRP instead of MFA."""
    settings = pool.extended_config.get("DeviceConfiguration") or {}
    return bool(settings.get("ChallengeRequiredOnNewDevice"))


def remembers_on_prompt(pool: Any) -> bool:
    """Devices are remembered only when the user says so ("user opt-in")."""
    settings = pool.extended_config.get("DeviceConfiguration") or {}
    return bool(settings.get("DeviceOnlyRememberedOnUserPrompt"))


def requires_mfa(pool: Any) -> bool:
    """MfaConfiguration "ON" (from CreateUserPool, or SetUserPoolMfaConfig since)."""
    return (
        str(getattr(pool, "mfa_config", None) or pool.extended_config.get("MfaConfiguration"))
        == "ON"
    )


def mfa_config(pool: Any) -> dict[str, Any]:
    """GetUserPoolMfaConfig's answer, email MFA included (which moto does not keep)."""
    answer: dict[str, Any] = {"MfaConfiguration": str(pool.mfa_config)}
    settings = {
        "SmsMfaConfiguration": pool.sms_mfa_config,
        "SoftwareTokenMfaConfiguration": pool.token_mfa_config,
        "EmailMfaConfiguration": getattr(pool, "email_mfa_config", None),
    }
    answer.update({name: value for name, value in settings.items() if value is not None})
    return answer


def set_mfa_config(pool: Any, mode: str, settings: Mapping[str, Any]) -> None:
    """SetUserPoolMfaConfig: ``mode`` ON, OPTIONAL or OFF, and each type's configuration.

    A type left out of ``settings`` keeps its configuration, as Cognito does.
    """
    pool.mfa_config = mode
    if "SmsMfaConfiguration" in settings:
        pool.sms_mfa_config = settings["SmsMfaConfiguration"]
    if "SoftwareTokenMfaConfiguration" in settings:
        pool.token_mfa_config = settings["SoftwareTokenMfaConfiguration"]
    if "EmailMfaConfiguration" in settings:
        # moto has no email MFA: the front keeps it on moto's pool, which a reset forgets.
        pool.email_mfa_config = settings["EmailMfaConfiguration"]


def enabled_mfa_types(pool: Any) -> tuple[str, ...]:
    """The MFA types the pool offers; SMS alone in a pool made with MfaConfiguration ON only."""
    enabled = (
        pool.sms_mfa_config is not None,
        bool((pool.token_mfa_config or {}).get("Enabled")),
        getattr(pool, "email_mfa_config", None) is not None,
    )
    types = tuple(name for name, on in zip(MFA_TYPES, enabled, strict=True) if on)
    if not types and str(pool.mfa_config) in ("ON", "OPTIONAL"):
        return ("SMS_MFA",)
    return types


def allows_flow(client: Any, flow: str) -> bool:
    """The app client's ExplicitAuthFlows has ``flow`` (``"ALLOW_CUSTOM_AUTH"``...)."""
    flows = client.extended_config.get("ExplicitAuthFlows") or _DEFAULT_FLOWS
    return flow in flows


def allowed_first_factors(pool: Any) -> tuple[str, ...]:
    """The pool's SignInPolicy.AllowedFirstAuthFactors (Cognito's default: PASSWORD)."""
    policy = (pool.extended_config.get("Policies") or {}).get("SignInPolicy") or {}
    return tuple(policy.get("AllowedFirstAuthFactors") or ("PASSWORD",))


def rotates(client: Any) -> bool:
    """The app client rotates refresh tokens."""
    rotation = client.extended_config.get("RefreshTokenRotation") or {}
    return bool(rotation.get("Feature") == "ENABLED")


def refresh_token_owner(pool: Any, moto_token: str) -> str:
    """The username moto stored with one of its refresh tokens."""
    owner = pool.refresh_tokens.get(moto_token)
    if owner is None:
        raise Refused("NotAuthorizedException", "Invalid Refresh Token.")
    return str(owner[1])


def forget_refresh_token(pool: Any, moto_token: str) -> None:
    """Make moto refuse one of its refresh tokens from now on."""
    if moto_token in pool.refresh_tokens:
        pool.refresh_tokens[moto_token] = None


# -- the pool's OAuth 2.0 domain (_oauth*.py) ---------------------------------------

#: The app client's settings the domain's endpoints obey.
_OAUTH_SETTINGS = (
    "AllowedOAuthFlowsUserPoolClient",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "CallbackURLs",
    "LogoutURLs",
    "SupportedIdentityProviders",
)


def oauth_settings(client: Any) -> dict[str, Any]:
    """The app client's OAuth settings, as CreateUserPoolClient took them."""
    return {name: client.extended_config.get(name) for name in _OAUTH_SETTINGS}


def first_user(pool: Any) -> Any | None:
    """The pool's oldest user, if any (the one ``Emulator.provision`` made)."""
    return next(iter(pool.users.values()), None)


def token_lifetime(pool: Any, client_id: str) -> int:
    """Seconds the client's access tokens live, as moto's (patched) tokens do."""
    from ._moto_server import _client_token_lifetime

    return _client_token_lifetime(pool, client_id, "access") or 3600


def sign_as_pool(
    pool: Any, claims: Mapping[str, Any], header: Mapping[str, Any] | None = None
) -> str:
    """A JWT signed with the pool's key, as moto signs its tokens (its JWKS verifies it).

    ``header`` defaults to moto's: RS256 and the key id its ``jwks-public.json`` names.
    """
    from joserfc import jwt

    header = {"kid": "dummy", "alg": "RS256"} if header is None else header
    return jwt.encode(dict(header), dict(claims), pool.json_web_key)


def issuer_of(pool: Any) -> str:
    """The ``iss`` of the pool's tokens, as moto writes it."""
    return f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.id}"


def new_refresh_token(pool: Any, client_id: str, username: str) -> str:
    """A refresh token moto keeps for the user (REFRESH_TOKEN_AUTH takes it)."""
    token, _ = pool.create_refresh_token(client_id, username)
    return str(token)


def refresh_token_client(pool: Any, moto_token: str) -> str | None:
    """The app client one of moto's live refresh tokens was issued to."""
    record = pool.refresh_tokens.get(moto_token)
    return None if record is None else str(record[0])


def tokens_from_refresh_token(pool: Any, moto_token: str) -> tuple[str, str, int]:
    """moto's access token, id token and lifetime for one of its live refresh tokens."""
    access, id_token, expires_in = pool.create_tokens_from_refresh_token(moto_token)
    return str(access), str(id_token), int(expires_in)


def register_token(pool: Any, issued: str, replacement: str) -> None:
    """moto honours ``replacement`` (GetUser, GlobalSignOut...) in place of ``issued``."""
    for table in (pool.access_tokens, pool.id_tokens):
        if issued in table:
            table[replacement] = table.pop(issued)
