"""The embedded emulator: moto's server in-process, behind the strict front.

moto issues every token with a one-hour lifetime; the emulator makes it honour
the app client's ``AccessTokenValidity`` / ``IdTokenValidity`` (in any
``TokenValidityUnits``, and below Cognito's five-minute floor) so refresh can
be exercised in seconds. Its Identity Pool credentials live 90 seconds.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import urllib.request
from collections.abc import Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any

import attrs

from .._config import AuthConfig
from ._front import StrictFront

__all__ = ["EmulatedPool", "Emulator", "patch_moto_token_lifetimes"]

_ADMIN_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_READABLE_ATTRIBUTES = (
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "custom:team",
)
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _client_token_lifetime(pool: Any, client_id: str, token_use: str) -> int | None:
    client = pool.clients.get(client_id)
    if client is None:
        return None
    settings = client.extended_config
    prefix = "AccessToken" if token_use == "access" else "IdToken"  # noqa: S105
    validity = settings.get(f"{prefix}Validity")
    if validity is None:
        return None
    unit = settings.get("TokenValidityUnits", {}).get(prefix, "hours")
    return int(validity) * _UNIT_SECONDS[unit]


@functools.cache
def patch_moto_token_lifetimes() -> None:
    """Make moto issue tokens that live as long as the app client says (idempotent)."""
    from moto.cognitoidp.models import CognitoIdpUserPool

    issue = CognitoIdpUserPool.create_jwt

    def create_jwt(
        self: Any,
        client_id: str,
        username: str,
        token_use: str,
        expires_in: int = 60 * 60,
        extra_data: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        lifetime = _client_token_lifetime(self, client_id, token_use)
        return issue(self, client_id, username, token_use, lifetime or expires_in, extra_data)

    CognitoIdpUserPool.create_jwt = create_jwt  # type: ignore[method-assign]


@attrs.frozen(kw_only=True)
class EmulatedPool:
    """A provisioned user pool, app client, identity pool and user.

    Attributes:
        endpoint: The strict front's URL: the User Pool and Identity Pool endpoint.
        region: The pool's region.
        user_pool_id: The User Pool id.
        client_id: The app client id.
        client_secret: The app client's secret, if it has one.
        identity_pool_id: The Identity Pool id.
        username: The confirmed user's name.
        password: The user's password.
        email: The user's email address.
        allow_guest_access: The identity pool hands out guest credentials.
    """

    endpoint: str
    region: str
    user_pool_id: str
    client_id: str
    client_secret: str | None = attrs.field(default=None, repr=False)
    identity_pool_id: str
    username: str
    password: str = attrs.field(repr=False)
    email: str
    allow_guest_access: bool = True

    def config(self, **overrides: Any) -> AuthConfig:
        """An AuthConfig pointing at this pool on the emulator, as it was provisioned."""
        fields: dict[str, Any] = {
            "user_pool_id": self.user_pool_id,
            "user_pool_client_id": self.client_id,
            "client_secret": self.client_secret,
            "identity_pool_id": self.identity_pool_id,
            "allow_guest_access": self.allow_guest_access,
            "user_pool_endpoint": self.endpoint,
            "identity_pool_endpoint": self.endpoint,
        }
        fields.update(overrides)
        return AuthConfig(**fields)


# Headers that http.server writes for every answer and moto writes again among its own.
_WRITTEN_TWICE = frozenset({"server", "date"})


def _moto_request_handler() -> type[Any]:
    """moto's request handler, writing each of ``_WRITTEN_TWICE`` once.

    http.server names itself in a ``Server`` header, then moto's answer names
    itself again (``server: amazon.com``). RFC 9110 allows one; aiohttp refuses
    two in Python's development mode (``BadHttpMessage: Duplicate 'Server'
    header``), which broke the front and every aiohttp client of the emulator.
    """
    from moto.moto_server import werkzeug_app
    from werkzeug.serving import WSGIRequestHandler

    # Recent moto keeps S3 metadata header names in a handler of its own.
    base: type[WSGIRequestHandler] = getattr(werkzeug_app, "MotoRequestHandler", WSGIRequestHandler)

    class OnceEachHandler(base):  # type: ignore[misc,valid-type]
        def send_response_only(self, code: int, message: str | None = None) -> None:
            self._written: set[str] = set()
            super().send_response_only(code, message)

        def send_header(self, keyword: str, value: str) -> None:
            name = keyword.lower()
            if name in _WRITTEN_TWICE:
                if name in self._written:
                    return
                self._written.add(name)
            super().send_header(keyword, value)

    return OnceEachHandler


class _MotoServer:
    """moto's server application on 127.0.0.1, from a daemon thread."""

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=_moto_request_handler()
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)
        self._server.server_close()


class Emulator:
    """moto's server on 127.0.0.1 in a thread of this process.

    Args:
        port: The TCP port; 0 picks a free one.
        quiet: Silence the per-request log lines of moto's web server.
    """

    def __init__(self, *, port: int = 0, quiet: bool = True) -> None:
        self._port = port
        self._quiet = quiet
        self._server: _MotoServer | None = None
        self._front: StrictFront | None = None

    def __repr__(self) -> str:
        return f"Emulator(url={self.url if self._server else None!r})"

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server (and patch moto's token lifetimes)."""
        patch_moto_token_lifetimes()
        if self._quiet:
            # werkzeug logs every request at INFO; keep the demo and test output readable.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = _MotoServer(self._port)
        self._server.start()
        self._front = StrictFront(self.url)
        self._front.start()

    def stop(self) -> None:
        """Stop the server and the front."""
        if self._front is not None:
            self._front.stop()
            self._front = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def front(self) -> StrictFront:
        """The strict front: Cognito's endpoint, with fault injection and challenges."""
        assert self._front is not None, "start() the emulator first"
        return self._front

    @property
    def cognito_url(self) -> str:
        """The Cognito endpoint (User Pool and Identity Pool): the strict front."""
        return str(self.front.url)

    @property
    def url(self) -> str:
        """moto's own base URL, for S3, DynamoDB and administration."""
        assert self._server is not None, "start() the emulator first"
        return self._server.url

    def reset(self) -> None:
        """Forget every pool, user, bucket and table."""
        # Our own http URL on 127.0.0.1, never a user-supplied scheme.
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
        self.front.reset()

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client for administering the emulator (create pools, buckets...)."""
        import boto3

        return boto3.client(
            service, region_name=region, endpoint_url=self.url, **_ADMIN_CREDENTIALS
        )

    def provision(
        self,
        *,
        region: str = "us-east-1",
        username: str = "alice",
        password: str | None = None,
        email: str = "alice@example.com",
        token_validity: timedelta = timedelta(hours=1),
        generate_secret: bool = False,
        allow_guest_access: bool = True,
        user_attributes: Sequence[tuple[str, str]] = (),
        sign_in_with_email: bool = False,
        refresh_token_rotation: bool = False,
    ) -> EmulatedPool:
        """Create a user pool, an app client, an identity pool and a confirmed user.

        Args:
            region: The pool's region.
            username: The user's name.
            password: The user's password; None: a generated strong one.
            email: The user's email address.
            token_validity: Lifetime of access and id tokens (seconds allowed).
            generate_secret: Give the app client a secret.
            allow_guest_access: Let the identity pool hand out guest credentials.
            user_attributes: Extra attributes, e.g. ``("custom:team", "blue")``.
            sign_in_with_email: The pool's usernames are email addresses
                (``UsernameAttributes=["email"]``); Cognito's username is then the sub.
            refresh_token_rotation: The app client rotates refresh tokens.
        """
        idp = self.client("cognito-idp", region)
        pool_settings: dict[str, Any] = {}
        if sign_in_with_email:
            pool_settings["UsernameAttributes"] = ["email"]
            username = email
        pool_id = idp.create_user_pool(
            PoolName=f"pool-{secrets.token_hex(4)}",
            Schema=[{"Name": "team", "AttributeDataType": "String", "Mutable": True}],
            **pool_settings,
        )["UserPool"]["Id"]
        seconds = int(token_validity.total_seconds())
        client_settings: dict[str, Any] = {}
        if refresh_token_rotation:
            client_settings["RefreshTokenRotation"] = {
                "Feature": "ENABLED",
                "RetryGracePeriodSeconds": 0,
            }
        client = idp.create_user_pool_client(
            **client_settings,
            UserPoolId=pool_id,
            ClientName="app",
            GenerateSecret=generate_secret,
            ExplicitAuthFlows=[
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
            AccessTokenValidity=seconds,
            IdTokenValidity=seconds,
            TokenValidityUnits={"AccessToken": "seconds", "IdToken": "seconds"},
            ReadAttributes=list(_READABLE_ATTRIBUTES),
        )["UserPoolClient"]
        identity_pool_id = self.client("cognito-identity", region).create_identity_pool(
            IdentityPoolName=f"identities{secrets.token_hex(4)}",
            AllowUnauthenticatedIdentities=allow_guest_access,
            CognitoIdentityProviders=[
                {
                    "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
                    "ClientId": client["ClientId"],
                }
            ],
        )["IdentityPoolId"]
        pool = EmulatedPool(
            endpoint=self.cognito_url,
            region=region,
            user_pool_id=pool_id,
            client_id=client["ClientId"],
            client_secret=client.get("ClientSecret"),
            identity_pool_id=identity_pool_id,
            username=username,
            password=password or _strong_password(),
            email=email,
            allow_guest_access=allow_guest_access,
        )
        self.add_user(
            pool,
            username,
            pool.password,
            email=None if sign_in_with_email else email,
            attributes=user_attributes,
        )
        return pool

    def add_user(
        self,
        pool: EmulatedPool,
        username: str,
        password: str,
        *,
        email: str | None = None,
        confirmed: bool = True,
        attributes: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Add a user: confirmed with a permanent password, or signed up unconfirmed."""
        idp = self.client("cognito-idp", pool.region)
        attrs_list = [{"Name": k, "Value": v} for k, v in attributes]
        if email is not None:
            attrs_list += [
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ]
        if not confirmed:
            idp.sign_up(
                ClientId=pool.client_id,
                Username=username,
                Password=password,
                UserAttributes=attrs_list,
            )
            return
        idp.admin_create_user(
            UserPoolId=pool.user_pool_id,
            Username=username,
            UserAttributes=attrs_list,
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=pool.user_pool_id, Username=username, Password=password, Permanent=True
        )


def _strong_password() -> str:
    # Meets Cognito's default policy: upper, lower, digit, symbol, length >= 8.
    return f"Pw-{secrets.token_urlsafe(12)}-9a"
