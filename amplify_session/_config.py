"""AuthConfig: where the pools are and how to talk to them, validated up front."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._errors import InvalidConfigurationException, InvalidParameterException
from ._oauth_config import OAuthConfig
from ._secret_repr import secret_repr

__all__ = [
    "AuthConfig",
    "ClientMetadata",
    "RetryPolicy",
    "check_client_metadata",
    "pool_issuers",
]

#: Key-value pairs for the pool's Lambda triggers (Cognito's ClientMetadata).
ClientMetadata = Mapping[str, str]

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_USER_POOL_ID = re.compile(rf"(?P<region>{_REGION})_[0-9A-Za-z]+")
_IDENTITY_POOL_ID = re.compile(rf"(?P<region>{_REGION}):[0-9a-fA-F-]+")
_REGION_RE = re.compile(_REGION)
# What an emulator behind an endpoint override issues (cognito-local: 'local_<id>',
# some releases with '-' or '_' in the id): URL-safe characters (the id goes into
# the issuer's URL path) either side of the first underscore.
_EMULATED_USER_POOL_ID = re.compile(r"[0-9A-Za-z.~-]+_[0-9A-Za-z._~-]+")
_EMULATED_REGION_RE = re.compile(r"[0-9A-Za-z](?:[0-9A-Za-z-]*[0-9A-Za-z])?")
# The region of an emulated pool whose id names none (cognito-local's 'local_...'):
# the AWS SDKs' habitual default, so AWS clients built from ``config.region`` work.
_EMULATED_DEFAULT_REGION = "us-east-1"


def _invalid(field: str, problem: str) -> InvalidConfigurationException:
    return InvalidConfigurationException(
        f"AuthConfig.{field} {problem}",
        recovery_suggestion=f"Check the {field} value passed to AuthConfig.",
    )


def _check_user_pool_id(config: AuthConfig, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise _invalid(attribute.name, "must be a string such as 'us-east-1_AbC123'")
    if config.user_pool_endpoint is not None:
        if not _EMULATED_USER_POOL_ID.fullmatch(value):
            raise _invalid(attribute.name, "must look like '<prefix>_<id>', e.g. 'local_AbC123'")
    elif not _USER_POOL_ID.fullmatch(value):
        raise _invalid(
            attribute.name,
            "must look like '<region>_<id>', e.g. 'us-east-1_AbC123'"
            " (an emulator's ids, such as 'local_AbC123', need user_pool_endpoint)",
        )


def _check_client_id(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(attribute.name, "must be a non-empty string")


def _check_identity_pool_id(
    _: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and (not isinstance(value, str) or not _IDENTITY_POOL_ID.fullmatch(value)):
        raise _invalid(attribute.name, "must look like '<region>:<uuid>'")


def endpoint_variable(service: str, *, global_fallback: bool = True) -> tuple[str, str] | None:
    """(variable, URL) of the endpoint variables every AWS SDK reads, if one is set.

    ``AWS_ENDPOINT_URL_<SERVICE>`` first, then (``global_fallback``)
    ``AWS_ENDPOINT_URL``; none when ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is
    true; an empty variable counts as unset, as in botocore. An unusable URL
    raises InvalidConfigurationException naming the variable.
    """
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return None
    names = [f"AWS_ENDPOINT_URL_{service}"] + (["AWS_ENDPOINT_URL"] if global_fallback else [])
    for name in names:
        value = os.environ.get(name)
        if value:
            problem = _endpoint_problem(value)
            if problem is not None:
                raise InvalidConfigurationException(
                    f"the environment variable {name} {problem}",
                    recovery_suggestion=f"Fix or unset {name}.",
                )
            return name, value
    return None


def _endpoint_from_environment(service: str) -> Any:
    """A default read from the endpoint variables, as boto3 reads them, so code that
    runs against an emulator with boto3 runs against it with this library too."""

    def read() -> str | None:
        found = endpoint_variable(service)
        return None if found is None else found[1]

    return attrs.Factory(read)


def _endpoint_problem(value: object) -> str | None:
    """What makes ``value`` unusable as an endpoint URL, or None."""
    usage = "must be an http(s) URL such as 'http://127.0.0.1:5000'"
    if not isinstance(value, str) or value != value.strip() or any(c.isspace() for c in value):
        return usage
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        return usage
    return None


def _check_endpoint(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and (problem := _endpoint_problem(value)) is not None:
        raise _invalid(attribute.name, problem)


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

    Attributes:
        attempts: Calls in all, the first included (4).
        timeout: Seconds for all attempts together, waits included (30).
        wait_initial: Seconds of the first backoff, doubled after each attempt (0.1).
        wait_max: The longest backoff, in seconds (5).
        wait_jitter: Up to this many random seconds added to each backoff (1).
    """

    attempts: int = attrs.field(default=4, validator=_check_attempts)
    timeout: float = attrs.field(default=30.0, validator=_check_positive)
    wait_initial: float = attrs.field(default=0.1, validator=_check_non_negative)
    wait_max: float = attrs.field(default=5.0, validator=_check_non_negative)
    wait_jitter: float = attrs.field(default=1.0, validator=_check_non_negative)


def _check_device_name(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    # Cognito's DeviceName: 1 to 1024 characters.
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 1024):
        raise _invalid(attribute.name, "must be None or a string of 1 to 1024 characters")


def check_client_metadata(value: object, where: str = "client_metadata") -> None:
    """Refuse anything but a mapping of strings to strings (Cognito's ClientMetadata).

    Raises:
        InvalidParameterException: It is not.
    """
    if not _is_metadata(value):
        raise InvalidParameterException(f"{where} must be a mapping of strings to strings")


def _is_metadata(value: object) -> bool:
    """None, or a mapping of strings to strings."""
    return value is None or (
        isinstance(value, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    )


class _ReadOnlyMetadata(Mapping[str, str]):
    """A config's own read-only copy of its ClientMetadata, so a config shared by
    managers cannot change under them; unlike MappingProxyType it pickles and copies
    (a config goes to worker processes)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(self._items)


def _frozen_metadata(value: object) -> object:
    return _ReadOnlyMetadata(value) if isinstance(value, Mapping) else value


def _check_config_metadata(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not _is_metadata(value):
        raise _invalid(attribute.name, "must be None or a mapping of strings to strings")


def _check_state_key(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    # The key seals challenge sessions: a guessable one would let anyone forge a state.
    if value is not None and (not isinstance(value, str) or len(value) < 32):
        raise _invalid(
            attribute.name,
            "must be None or a secret of at least 32 characters (e.g. secrets.token_urlsafe(32))",
        )


def _check_issuer(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(attribute.name, "must be a non-empty string")


def _check_oauth(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, OAuthConfig):
        raise _invalid(attribute.name, "must be an OAuthConfig or None")


@attrs.frozen(kw_only=True)
class AuthConfig:
    """Where the User Pool and Identity Pool are, and the session policy.

    Invalid values raise :class:`InvalidConfigurationException` naming the
    field. ``region`` defaults to the one in ``user_pool_id``.

    With ``user_pool_endpoint`` set (an emulator), ``user_pool_id`` may be
    any id the emulator issues, such as cognito-local's ``local_AbC123``;
    when that id names no AWS region, ``region`` defaults to the identity
    pool's, else to ``us-east-1``. Without it, ids must be real AWS ones.

    The endpoints default to what the standard AWS variables say, as in
    boto3: ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` (User Pool),
    ``AWS_ENDPOINT_URL_COGNITO_IDENTITY`` (Identity Pool), else
    ``AWS_ENDPOINT_URL``, unless ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true``.

    Attributes:
        user_pool_id: The User Pool id (``<region>_<id>``).
        user_pool_client_id: The app client id.
        client_secret: The app client's secret, if it has one; redacted in ``repr``.
        identity_pool_id: The Identity Pool id, for AWS credentials; None for tokens only.
        region: The AWS region; by default the one in ``user_pool_id``.
        allow_guest_access: Fetch guest credentials while signed out.
        user_pool_endpoint: Override of the User Pool endpoint (an emulator).
        identity_pool_endpoint: Override of the Identity Pool endpoint.
        refresh_window: Seconds before expiry a refresh starts, at most half the lifetime (300).
        expiry_tolerance: Seconds before expiry a token counts as expired (5).
        request_timeout: Seconds each Cognito call may take (10).
        retry: How transient failures are retried.
        refresh_token_rotation: True: GetTokensFromRefreshToken; False: REFRESH_TOKEN_AUTH;
            None: decide from the server's answers.
        device_name: The name a new device is confirmed under (ConfirmDevice), shown by
            ``fetch_devices``; by default this host's name.
        client_metadata: ClientMetadata for the pool's Lambda triggers, sent with
            every sign-in, challenge answer and refresh (a sign-in or answer may
            pass its own instead).
        totp_issuer: The issuer an ``otpauth://`` TOTP setup URI names (what
            authenticator apps show), ``"amplify-session"`` by default.
        oauth: The pool's OAuth domain (hosted UI / managed login): needed by
            ``sign_in_with_redirect`` and by machine-to-machine sessions.
        sign_in_state_key: The secret that seals ``SignInNextStep.state``; give
            every process that resumes another's sign-ins the same one (at least
            32 characters). None: a random key of this process; redacted in ``repr``.
    """

    user_pool_id: str = attrs.field(validator=_check_user_pool_id)
    user_pool_client_id: str = attrs.field(validator=_check_client_id)
    client_secret: str | None = attrs.field(default=None, repr=secret_repr)
    identity_pool_id: str | None = attrs.field(default=None, validator=_check_identity_pool_id)
    # None means "the region in user_pool_id"; always a str once constructed.
    region: str | None = None
    allow_guest_access: bool = False
    user_pool_endpoint: str | None = attrs.field(
        default=_endpoint_from_environment("COGNITO_IDENTITY_PROVIDER"), validator=_check_endpoint
    )
    identity_pool_endpoint: str | None = attrs.field(
        default=_endpoint_from_environment("COGNITO_IDENTITY"), validator=_check_endpoint
    )
    refresh_window: float = attrs.field(default=300.0, validator=_check_non_negative)
    expiry_tolerance: float = attrs.field(default=5.0, validator=_check_non_negative)
    request_timeout: float = attrs.field(default=10.0, validator=_check_positive)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    #: True: GetTokensFromRefreshToken; False: REFRESH_TOKEN_AUTH; None: decide from
    #: the server's answers (see the README's "Token refresh").
    refresh_token_rotation: bool | None = None
    device_name: str | None = attrs.field(default=None, validator=_check_device_name)
    client_metadata: ClientMetadata | None = attrs.field(
        default=None, validator=_check_config_metadata, converter=_frozen_metadata, hash=False
    )
    totp_issuer: str = attrs.field(default="amplify-session", validator=_check_issuer)
    sign_in_state_key: str | None = attrs.field(
        default=None, repr=secret_repr, validator=_check_state_key
    )
    oauth: OAuthConfig | None = attrs.field(default=None, validator=_check_oauth)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "region", self._resolved_region())
        if self.identity_pool_id is not None:
            identity_region = self.identity_pool_id.split(":", 1)[0]
            if identity_region != self.region:
                raise _invalid(
                    "identity_pool_id",
                    f"is in {identity_region!r} but the user pool is in {self.region!r}",
                )
        if self.client_secret is not None and not self.client_secret:
            raise _invalid("client_secret", "must be None or a non-empty string")

    def _resolved_region(self) -> str:
        """``region``, checked against the pool id, or the one the ids imply."""
        pool_region = self.user_pool_id.split("_", 1)[0]
        # Only an emulated pool's id can name no region (real ids are checked strictly).
        names_region = _REGION_RE.fullmatch(pool_region) is not None
        if self.region is None:
            return pool_region if names_region else self._emulated_default_region()
        region_re = _REGION_RE if self.user_pool_endpoint is None else _EMULATED_REGION_RE
        if not isinstance(self.region, str) or not region_re.fullmatch(self.region):
            raise _invalid("region", "must look like 'us-east-1'")
        if names_region and self.region != pool_region:
            raise _invalid("region", f"{self.region!r} contradicts user_pool_id ({pool_region!r})")
        return self.region

    def _emulated_default_region(self) -> str:
        # An emulated identity pool's id names its region: agree with it.
        if self.identity_pool_id is not None:
            return self.identity_pool_id.split(":", 1)[0]
        return _EMULATED_DEFAULT_REGION

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
        return pool_issuers(self)[0].removeprefix("https://")

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
        if isinstance(auth.get("oauth"), Mapping):
            fields["oauth"] = _oauth_of(auth["oauth"])
        fields.update(overrides)
        return cls(**fields)


def pool_issuers(config: AuthConfig) -> tuple[str, ...]:
    """The ``iss`` values this pool's tokens may carry: AWS's first, then, behind an
    endpoint override, the emulator's own form ``<endpoint>/<pool id>`` (cognito-local's).

    The one place that says which issuers a pool has: handed-in tokens, the
    TokenVerifier and the Identity Pool's ``Logins`` key all read it.
    """
    aws = f"https://cognito-idp.{config.region}.amazonaws.com/{config.user_pool_id}"
    if not config.user_pool_endpoint:
        return (aws,)
    return aws, f"{config.user_pool_endpoint.rstrip('/')}/{config.user_pool_id}"


def _oauth_of(oauth: Mapping[str, Any]) -> OAuthConfig:
    """The ``oauth`` part of amplify_outputs' auth section."""
    if "domain" not in oauth:
        raise InvalidConfigurationException("amplify_outputs auth.oauth has no 'domain'")
    return OAuthConfig(
        domain=oauth["domain"],
        scopes=oauth.get("scopes", ()),
        redirect_sign_in=oauth.get("redirect_sign_in_uri", ()),
        redirect_sign_out=oauth.get("redirect_sign_out_uri", ()),
    )


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
