"""AuthConfig: where the pools are and how to talk to them, validated up front."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._errors import InvalidConfigurationException

__all__ = ["AuthConfig", "RetryPolicy"]

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_USER_POOL_ID = re.compile(rf"(?P<region>{_REGION})_[0-9A-Za-z]+")
_IDENTITY_POOL_ID = re.compile(rf"(?P<region>{_REGION}):[0-9a-fA-F-]+")
_REGION_RE = re.compile(_REGION)


def _invalid(field: str, problem: str) -> InvalidConfigurationException:
    return InvalidConfigurationException(
        f"AuthConfig.{field} {problem}",
        recovery_suggestion=f"Check the {field} value passed to AuthConfig.",
    )


def _check_user_pool_id(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _USER_POOL_ID.fullmatch(value):
        raise _invalid(attribute.name, "must look like '<region>_<id>', e.g. 'us-east-1_AbC123'")


def _check_client_id(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(attribute.name, "must be a non-empty string")


def _check_identity_pool_id(
    _: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and (not isinstance(value, str) or not _IDENTITY_POOL_ID.fullmatch(value)):
        raise _invalid(attribute.name, "must look like '<region>:<uuid>'")


def _check_endpoint(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid(attribute.name, "must be an http(s) URL such as 'http://127.0.0.1:5000'")


def _check_non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise _invalid(attribute.name, "must be a number >= 0")


def _check_positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise _invalid(attribute.name, "must be a number > 0")


def _check_attempts(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(attribute.name, "must be an integer >= 1")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How transient failures (network, throttling, 5xx) are retried.

    Retries back off exponentially with jitter and stop at whichever bound
    comes first: ``attempts`` calls in all, or ``timeout`` seconds in all.
    """

    attempts: int = attrs.field(default=4, validator=_check_attempts)
    timeout: float = attrs.field(default=30.0, validator=_check_positive)
    wait_initial: float = attrs.field(default=0.1, validator=_check_non_negative)
    wait_max: float = attrs.field(default=5.0, validator=_check_non_negative)
    wait_jitter: float = attrs.field(default=1.0, validator=_check_non_negative)


def _secret_repr(value: str | None) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen(kw_only=True)
class AuthConfig:
    """Where the User Pool and Identity Pool are, and the session policy.

    Invalid values raise :class:`InvalidConfigurationException` naming the
    field. ``region`` defaults to the one in ``user_pool_id``.
    """

    user_pool_id: str = attrs.field(validator=_check_user_pool_id)
    user_pool_client_id: str = attrs.field(validator=_check_client_id)
    client_secret: str | None = attrs.field(default=None, repr=_secret_repr)
    identity_pool_id: str | None = attrs.field(default=None, validator=_check_identity_pool_id)
    # None means "the region in user_pool_id"; always a str once constructed.
    region: str | None = None
    allow_guest_access: bool = False
    user_pool_endpoint: str | None = attrs.field(default=None, validator=_check_endpoint)
    identity_pool_endpoint: str | None = attrs.field(default=None, validator=_check_endpoint)
    refresh_window: float = attrs.field(default=300.0, validator=_check_non_negative)
    expiry_tolerance: float = attrs.field(default=5.0, validator=_check_non_negative)
    request_timeout: float = attrs.field(default=10.0, validator=_check_positive)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    #: True: GetTokensFromRefreshToken; False: REFRESH_TOKEN_AUTH; None: decide from
    #: the server's answers (see the README's "Token refresh").
    refresh_token_rotation: bool | None = None

    def __attrs_post_init__(self) -> None:
        pool_region = self.user_pool_id.split("_", 1)[0]
        if self.region is None:
            object.__setattr__(self, "region", pool_region)
        elif not _REGION_RE.fullmatch(str(self.region)):
            raise _invalid("region", "must look like 'us-east-1'")
        elif self.region != pool_region:
            raise _invalid("region", f"{self.region!r} contradicts user_pool_id ({pool_region!r})")
        if self.identity_pool_id is not None:
            identity_region = self.identity_pool_id.split(":", 1)[0]
            if identity_region != self.region:
                raise _invalid(
                    "identity_pool_id",
                    f"is in {identity_region!r} but the user pool is in {self.region!r}",
                )
        if self.client_secret is not None and not self.client_secret:
            raise _invalid("client_secret", "must be None or a non-empty string")

    @property
    def user_pool_url(self) -> str:
        """The User Pool API endpoint (the override, or AWS's)."""
        return self.user_pool_endpoint or f"https://cognito-idp.{self.region}.amazonaws.com/"

    @property
    def identity_pool_url(self) -> str:
        """The Identity Pool API endpoint (the override, or AWS's)."""
        return (
            self.identity_pool_endpoint or f"https://cognito-identity.{self.region}.amazonaws.com/"
        )

    @property
    def identity_provider_name(self) -> str:
        """The ``Logins`` key for this User Pool's id tokens."""
        return f"cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @classmethod
    def from_amplify_outputs(
        cls, source: str | PathLike[str] | Mapping[str, Any], **overrides: Any
    ) -> AuthConfig:
        """Read the ``auth`` section of an Amplify Gen 2 ``amplify_outputs.json``.

        Args:
            source: The file's path, or its already-parsed content.
            **overrides: AuthConfig fields to set on top (endpoints, policy...).
        """
        outputs = source if isinstance(source, Mapping) else _read_json(Path(source))
        auth = outputs.get("auth")
        if not isinstance(auth, Mapping):
            raise InvalidConfigurationException("amplify_outputs has no 'auth' section")
        fields: dict[str, Any] = {}
        for key, field in (
            ("user_pool_id", "user_pool_id"),
            ("user_pool_client_id", "user_pool_client_id"),
            ("identity_pool_id", "identity_pool_id"),
            ("aws_region", "region"),
            ("unauthenticated_identities_enabled", "allow_guest_access"),
        ):
            if key in auth:
                fields[field] = auth[key]
        for required in ("user_pool_id", "user_pool_client_id"):
            if required not in fields:
                raise InvalidConfigurationException(f"amplify_outputs auth has no {required!r}")
        fields.update(overrides)
        return cls(**fields)


def _read_json(path: Path) -> Mapping[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidConfigurationException(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise InvalidConfigurationException(f"{path} is not valid JSON") from exc
    if not isinstance(value, Mapping):
        raise InvalidConfigurationException(f"{path} must hold a JSON object")
    return value
