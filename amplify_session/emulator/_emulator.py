"""The embedded emulator: moto's server in-process, behind the strict front.

moto issues every token with a one-hour lifetime; the emulator makes it honour
the app client's ``AccessTokenValidity`` / ``IdTokenValidity`` (in any
``TokenValidityUnits``, and below Cognito's five-minute floor) so refresh can
be exercised in seconds. Its Identity Pool credentials live 90 seconds.
"""

from __future__ import annotations

import logging
import secrets
import urllib.request
from collections.abc import Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal

import attrs

from .._config import AuthConfig
from ._front import StrictFront
from ._moto_server import MotoServer, patch_moto_token_lifetimes

__all__ = ["EmulatedPool", "Emulator"]

_ADMIN_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_READABLE_ATTRIBUTES = (
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "custom:team",
)


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


class Emulator:
    """moto's server on 127.0.0.1 in a thread of this process.

    Args:
        port: The TCP port; 0 picks a free one.
        quiet: Silence the per-request log lines of moto's web server.
    """

    def __init__(self, *, port: int = 0, quiet: bool = True) -> None:
        self._port = port
        self._quiet = quiet
        self._server: MotoServer | None = None
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
        self._server = MotoServer(self._port)
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
        device_tracking: Literal["always", "user_opt_in"] | None = None,
        mfa_required: bool = False,
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
            device_tracking: The pool remembers devices: ``"always"`` or only
                when the user says so (``"user_opt_in"``, UpdateDeviceStatus);
                a remembered device signs in with DEVICE_SRP_AUTH and skips MFA
                (``ChallengeRequiredOnNewDevice``). None: no device tracking.
            mfa_required: ``MfaConfiguration="ON"``: every sign-in not skipped by a
                remembered device answers SMS_MFA with ``front.mfa_code``.
        """
        idp = self.client("cognito-idp", region)
        pool_settings: dict[str, Any] = {}
        if sign_in_with_email:
            pool_settings["UsernameAttributes"] = ["email"]
            username = email
        if device_tracking is not None:
            pool_settings["DeviceConfiguration"] = {
                "ChallengeRequiredOnNewDevice": True,
                "DeviceOnlyRememberedOnUserPrompt": device_tracking == "user_opt_in",
            }
        if mfa_required:
            pool_settings["MfaConfiguration"] = "ON"
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
