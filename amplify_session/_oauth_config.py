"""The configuration of a user pool's OAuth 2.0 domain (Amplify's ``loginWith.oauth``).

Where the domain is (Cognito's prefix domain, a custom domain, or an
emulator's URL) and which scopes and redirect URLs the app client uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import attrs

from ._errors import InvalidConfigurationException

__all__ = [
    "OAuthConfig",
    "check_scopes",
    "domain_url",
    "invalid_field",
    "scope_tuple",
    "url_problem",
]

# RFC 6749 §3.3: scope tokens are printable ASCII without space, '"' or '\'.
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def invalid_field(owner: str, field: str, problem: str) -> InvalidConfigurationException:
    """The error for a bad ``owner.field`` (a config class and one of its fields)."""
    return InvalidConfigurationException(
        f"{owner}.{field} {problem}",
        recovery_suggestion=f"Check the {field} value passed to {owner}.",
    )


def scope_tuple(value: Iterable[str] | str) -> tuple[str, ...]:
    """Scopes as a tuple; one string is the space-separated form Cognito's console shows."""
    items = value.split() if isinstance(value, str) else value
    try:
        return tuple(items)
    except TypeError:
        raise invalid_field("OAuthConfig", "scopes", "must be a list of scope names") from None


def check_scopes(owner: object, attribute: attrs.Attribute[tuple[str, ...]], value: object) -> None:
    """Every scope is a scope token (RFC 6749 §3.3)."""
    assert isinstance(value, tuple)
    for scope in value:
        if not isinstance(scope, str) or not _SCOPE.fullmatch(scope):
            raise invalid_field(
                type(owner).__name__, attribute.name, "must hold scope names such as 'orders/read'"
            )


def _urls(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise invalid_field("OAuthConfig", "redirect URLs", "must be a list of URLs") from None


def _check_urls(_: object, attribute: attrs.Attribute[tuple[str, ...]], value: object) -> None:
    assert isinstance(value, tuple)
    for url in value:
        if not isinstance(url, str) or url_problem(url) is not None:
            raise invalid_field("OAuthConfig", attribute.name, "must hold absolute URLs")


def url_problem(value: str) -> str | None:
    """What makes ``value`` unusable as an absolute URL, or None."""
    if value != value.strip() or any(c.isspace() for c in value):
        return "must not hold spaces"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:  # a bad port, "Invalid IPv6 URL"...
        return "does not parse"
    if not parts.scheme or not parts.netloc:
        return "must be absolute"
    return None


def domain_url(value: object, owner: str = "OAuthConfig") -> str:
    """The base URL of an OAuth domain given as a host name or a URL, without a slash."""
    if not isinstance(value, str) or not value.strip():
        raise invalid_field(owner, "domain", "must be a host name or an https URL")
    url = value if "://" in value else f"https://{value}"
    problem = url_problem(url)
    if problem is None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            problem = "must be an http(s) URL"
        elif parts.query or parts.fragment or not parts.hostname:
            problem = "must be a host name or a base URL, without a query"
    if problem is not None:
        raise invalid_field(owner, "domain", problem)
    return url.rstrip("/")


def _domain(value: object) -> str:
    return domain_url(value)


@attrs.frozen(kw_only=True)
class OAuthConfig:
    """A user pool's OAuth 2.0 domain, as the app client uses it (Amplify's ``loginWith.oauth``).

    Attributes:
        domain: The domain: ``"<prefix>.auth.<region>.amazoncognito.com"``, a custom
            domain, or a base URL (``"http://127.0.0.1:9229"`` for an emulator).
        scopes: The scopes to ask for, e.g. ``("openid", "email")`` or
            ``("orders/read",)``; empty: all the app client allows.
        redirect_sign_in: The app client's callback URLs.
        redirect_sign_out: The app client's sign-out URLs.
    """

    domain: str = attrs.field(converter=_domain)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=scope_tuple, validator=check_scopes)
    redirect_sign_in: tuple[str, ...] = attrs.field(
        default=(), converter=_urls, validator=_check_urls
    )
    redirect_sign_out: tuple[str, ...] = attrs.field(
        default=(), converter=_urls, validator=_check_urls
    )

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return f"{self.domain}/oauth2/token"

    @property
    def authorize_url(self) -> str:
        """The authorize endpoint."""
        return f"{self.domain}/oauth2/authorize"

    @property
    def logout_url(self) -> str:
        """The logout endpoint."""
        return f"{self.domain}/logout"
