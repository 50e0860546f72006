"""A session of an app client itself (machine to machine): its configuration.

The app client's own access token comes from the ``client_credentials``
grant at the pool's domain; there is no user and no refresh token. The
session engine runs it as any other, from the :class:`AuthConfig` this
configuration stands for.
"""

from __future__ import annotations

import attrs

from ._config import AuthConfig, RetryPolicy
from ._oauth_config import OAuthConfig, check_scopes, domain_url, invalid_field, scope_tuple
from ._secret_repr import secret_repr

__all__ = ["ClientCredentialsConfig"]


def _domain(value: object) -> str:
    return domain_url(value, "ClientCredentialsConfig")


def _check_text(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise invalid_field("ClientCredentialsConfig", attribute.name, "must be a non-empty string")


@attrs.frozen(kw_only=True)
class ClientCredentialsConfig:
    """A session of an app client itself (machine to machine): ``client_credentials`` tokens.

    ``SessionManager(ClientCredentialsConfig(...))`` holds the app client's
    access token, requests the first one when asked and renews it ahead of
    expiry by requesting a new one (there is no refresh token); processes
    sharing a ``RedisStorage`` request one token per window between them.

    Attributes:
        user_pool_id: The User Pool id (``<region>_<id>``): the issuer of the tokens.
        client_id: The app client id (a client allowed the ``client_credentials`` flow).
        client_secret: The app client's secret; redacted in ``repr``.
        domain: The pool's domain: ``"<prefix>.auth.<region>.amazoncognito.com"``, a custom
            domain, or a base URL (an emulator's).
        scopes: Resource-server scopes to ask for (``"orders/read"``); empty: all allowed.
        refresh_window: Seconds before expiry a renewal starts, at most half the lifetime (300).
        expiry_tolerance: Seconds before expiry a token counts as expired (5).
        request_timeout: Seconds each token request may take (10).
        retry: How transient failures (5xx, 429, network) are retried.
    """

    user_pool_id: str
    client_id: str = attrs.field(validator=_check_text)
    client_secret: str = attrs.field(repr=secret_repr, validator=_check_text)
    domain: str = attrs.field(converter=_domain)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=scope_tuple, validator=check_scopes)
    refresh_window: float = 300.0
    expiry_tolerance: float = 5.0
    request_timeout: float = 10.0
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    #: The AuthConfig the session engine runs with (validates the shared fields).
    auth_config: AuthConfig = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        config = AuthConfig(
            user_pool_id=self.user_pool_id,
            user_pool_client_id=self.client_id,
            client_secret=self.client_secret,
            oauth=OAuthConfig(domain=self.domain, scopes=self.scopes),
            refresh_window=self.refresh_window,
            expiry_tolerance=self.expiry_tolerance,
            request_timeout=self.request_timeout,
            retry=self.retry,
        )
        object.__setattr__(self, "auth_config", config)
