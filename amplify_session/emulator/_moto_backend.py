"""Where the front reads moto's in-process backends: pools, clients, users, refresh tokens.

Every reach into moto's internals (``cognitoidp_backends``, ``_get_user``,
``extended_config``, ``refresh_tokens``) is here, so a moto release that
moves one breaks this module only; ``pyproject.toml`` pins the ``emulator``
extra to the moto releases the project's tests run against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._wire import Refused

__all__ = [
    "canonical_name",
    "client_of",
    "forget_refresh_token",
    "pool_name",
    "refresh_token_owner",
    "rotates",
    "set_user_password",
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
