"""Where the front reads moto's in-process backends: pools, clients, users, refresh tokens.

Every reach into moto's internals (``cognitoidp_backends``, ``_get_user``,
``extended_config``, ``refresh_tokens``) is here, so a moto release that
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
    "canonical_name",
    "challenges_remembered_devices",
    "client_of",
    "forget_refresh_token",
    "pool_by_id",
    "pool_name",
    "refresh_token_owner",
    "remembers_on_prompt",
    "requires_mfa",
    "rotates",
    "set_user_password",
    "tracks_devices",
    "user_of",
]


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
    """Give a user a new password and set (or replace) some of their attributes."""
    user = user_of(pool, login)
    user.password = password
    for name, value in attributes.items():
        user.attributes = [a for a in user.attributes if a["Name"] != name]
        user.attributes.append({"Name": name, "Value": value})


def canonical_name(pool: Any, user: Any) -> str:
    """Cognito's username: the sub in alias pools, as moto's tokens have it."""
    return str(user.id if pool.extended_config.get("UsernameAttributes") else user.username)


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
