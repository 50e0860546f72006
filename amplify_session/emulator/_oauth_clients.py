"""The app client as the OAuth domain sees it: who it is, what it may do, where it may go.

Client authentication as RFC 6749 §2.3.1 has it (HTTP Basic with the
form-urlencoded id and secret, or ``client_id`` and ``client_secret`` in
the body, never both), and redirect URIs matched as Cognito matches them:
exactly, except that a registered loopback URL without a port
(``http://127.0.0.1/callback``, ``http://localhost/callback``) takes any
port, as RFC 8252 §7.3 asks of servers for native apps.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import attrs

from ._moto_backend import client_of, oauth_settings
from ._wire import Refused

__all__ = ["OAuthClient", "OAuthError", "authenticate", "client_named", "uri_matches"]

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


class OAuthError(Exception):
    """An OAuth error answer: ``error`` (RFC 6749 §5.2, §4.1.2.1) and a description.

    The description is a fixed sentence: it never repeats what the caller sent.
    """

    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


@attrs.frozen
class OAuthClient:
    """An app client and its pool, with the OAuth settings CreateUserPoolClient gave it."""

    pool: Any
    client: Any
    flows: tuple[str, ...]
    scopes: tuple[str, ...]
    callback_urls: tuple[str, ...]
    logout_urls: tuple[str, ...]
    identity_providers: tuple[str, ...]

    @property
    def id(self) -> str:
        return str(self.client.id)

    @property
    def custom_scopes(self) -> tuple[str, ...]:
        """The resource servers' scopes it may ask for (``orders/read``...)."""
        return tuple(scope for scope in self.scopes if "/" in scope)

    def allows(self, flow: str) -> bool:
        """The client may use this OAuth flow (``"code"``, ``"client_credentials"``)."""
        return flow in self.flows

    def granted(self, requested: str | None, allowed: Sequence[str]) -> tuple[str, ...]:
        """The scopes a request gets: those it names, all of ``allowed`` when it names none."""
        if requested is None or not requested.strip():
            return tuple(allowed)
        names = tuple(dict.fromkeys(requested.split()))
        if not set(names) <= set(allowed):
            raise OAuthError("invalid_scope", "A requested scope is not allowed for the client.")
        return names


def client_named(client_id: str) -> OAuthClient:
    """The app client with this id; ``invalid_client`` when there is none."""
    try:
        pool, client = client_of(client_id)
    except Refused:
        raise OAuthError("invalid_client", "Client authentication failed.") from None
    settings = oauth_settings(client)
    enabled = bool(settings["AllowedOAuthFlowsUserPoolClient"])
    return OAuthClient(
        pool=pool,
        client=client,
        flows=_strings(settings["AllowedOAuthFlows"]) if enabled else (),
        scopes=_strings(settings["AllowedOAuthScopes"]),
        callback_urls=_strings(settings["CallbackURLs"]),
        logout_urls=_strings(settings["LogoutURLs"]),
        identity_providers=_strings(settings["SupportedIdentityProviders"]),
    )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list | tuple) else ()


def authenticate(form: Mapping[str, str], authorization: str | None) -> OAuthClient:
    """The client a token request comes from, authenticated when it has a secret.

    Raises:
        OAuthError: ``invalid_request`` (no client id, or two ways of
            authenticating), ``invalid_client`` (unknown client, a missing or
            wrong secret, a secret for a client without one).
    """
    basic = _basic(authorization) if authorization is not None else None
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    if basic is not None and body_secret is not None:
        raise OAuthError("invalid_request", "Use one way of authenticating the client.")
    if basic is not None and body_id is not None and body_id != basic[0]:
        raise OAuthError("invalid_request", "client_id does not match the Authorization header.")
    client_id, secret = basic if basic is not None else (body_id, body_secret)
    if not client_id:
        raise OAuthError("invalid_request", "client_id is required.")
    found = client_named(client_id)
    if not _secret_fits(found.client, secret or ""):
        raise OAuthError("invalid_client", "Client authentication failed.")
    return found


def _secret_fits(client: Any, given: str) -> bool:
    if not client.generate_secret:
        return not given  # a public client has nothing to prove, and no secret to send
    return bool(given) and hmac.compare_digest(given.encode(), str(client.secret).encode())


def _basic(authorization: str) -> tuple[str, str]:
    """The id and secret of an ``Authorization: Basic`` header (RFC 6749 §2.3.1)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "Client authentication failed.")
    try:
        pair = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "Client authentication failed.") from None
    client_id, colon, secret = pair.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "Client authentication failed.")
    return unquote_plus(client_id), unquote_plus(secret)


def uri_matches(registered: Sequence[str], given: str) -> bool:
    """``given`` is one of the ``registered`` URLs (a portless loopback one takes any port)."""
    return any(url == given or _loopback_match(url, given) for url in registered)


def _loopback_match(registered: str, given: str) -> bool:
    try:
        want, got = urlsplit(registered), urlsplit(given)
        port = got.port  # raises on a port that is not a number
    except ValueError:
        return False
    if want.scheme != "http" or want.netloc not in _LOOPBACK_HOSTS:
        return False  # not loopback, or registered with a port: exact matches only
    host = got.netloc if port is None else got.netloc.rsplit(":", 1)[0]
    return (
        got.scheme == "http"
        and host == want.netloc
        and (want.path, want.query, want.fragment) == (got.path, got.query, got.fragment)
    )
