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
from collections.abc import Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal

import attrs

from .._config import AuthConfig
from ._front import StrictFront
from ._moto_server import MotoServer, patch_moto_token_lifetimes

__all__ = ["EmulatedPool", "Emulator"]

_ADMIN_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
#: SetUserPoolMfaConfig's setting that enables each MFA type.
_MFA_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "SMS_MFA": (
        "SmsMfaConfiguration",
        {
            "SmsAuthenticationMessage": "Your code is {####}",
            "SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::123456789012:role/sns-caller"},
        },
    ),
    "SOFTWARE_TOKEN_MFA": ("SoftwareTokenMfaConfiguration", {"Enabled": True}),
    "EMAIL_OTP": (
        "EmailMfaConfiguration",
        {"Message": "Your code is {####}", "Subject": "Your code"},
    ),
}
_FIRST_FACTORS = dict.fromkeys(("PASSWORD", "EMAIL_OTP", "SMS_OTP"))
_OAUTH_FLOWS = dict.fromkeys(("client_credentials", "code"))
#: The scopes of the user's own tokens an authorization-code client may ask for.
_USER_SCOPES = ("openid", "email", "profile", "aws.cognito.signin.user.admin")
#: CreateIdentityProvider's ProviderType for the social providers' names.
_PROVIDER_TYPES = {
    "Google": "Google",
    "Facebook": "Facebook",
    "LoginWithAmazon": "LoginWithAmazon",
    "SignInWithApple": "SignInWithApple",
}
#: moto's default, which a pool with a SignInPolicy would otherwise lose.
_PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
_READABLE_ATTRIBUTES = (
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "phone_number",
    "phone_number_verified",
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
        domain: The base URL of the pool's OAuth 2.0 domain (``/oauth2/token``,
            ``/oauth2/authorize``, ``/logout``): the front's URL, without a
            trailing slash. None when the app client has no OAuth flows.
        scopes: The resource-server scopes provisioned (``"orders/read"``...).
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
    domain: str | None = None
    scopes: tuple[str, ...] = ()

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
        mfa_types: Sequence[str] = ("SMS_MFA",),
        first_factors: Sequence[str] | None = None,
        custom_auth: bool = False,
        temporary_password: bool = False,
        phone_number: str | None = None,
        resource_servers: Mapping[str, Sequence[str]] | None = None,
        oauth_flows: Sequence[str] = (),
        callback_urls: Sequence[str] = (),
        logout_urls: Sequence[str] = (),
        identity_providers: Sequence[str] = ("COGNITO",),
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
                remembered device answers MFA (SMS_MFA with ``front.mfa_code``
                when ``mfa_types`` has it), or sets it up (MFA_SETUP).
            mfa_types: The MFA the pool enables: ``"SMS_MFA"``,
                ``"SOFTWARE_TOKEN_MFA"``, ``"EMAIL_OTP"``. Without
                ``mfa_required``, other than the default, MFA is OPTIONAL: a
                user who set some up answers it.
            first_factors: Choice-based sign-in (USER_AUTH) with these first
                factors: ``"PASSWORD"``, ``"EMAIL_OTP"``, ``"SMS_OTP"``.
            custom_auth: The app client allows CUSTOM_AUTH
                (``front.script_custom_challenge`` plays its Lambdas).
            temporary_password: The user is created by an admin with
                ``password`` as a temporary password (FORCE_CHANGE_PASSWORD).
            phone_number: The user's verified phone number (SMS_OTP, SMS_MFA).
            resource_servers: Resource servers and their scope names:
                ``{"orders": ("read", "write")}`` makes the scopes
                ``orders/read`` and ``orders/write`` (``EmulatedPool.scopes``).
            oauth_flows: The app client's OAuth flows, ``"client_credentials"``
                (needs ``generate_secret`` and a resource-server scope) or
                ``"code"``, not both (Cognito refuses it). Gives the pool a
                domain (``EmulatedPool.domain``); the client may ask for every
                resource-server scope, and with ``"code"`` for ``openid``,
                ``email``, ``profile`` and ``aws.cognito.signin.user.admin``.
            callback_urls: The app client's callback URLs (``redirect_uri``);
                ``http://127.0.0.1/callback`` or ``http://localhost/...``
                without a port takes any port (RFC 8252 §7.3).
            logout_urls: The app client's sign-out URLs (``logout_uri``).
            identity_providers: The app client's identity providers; other than
                ``"COGNITO"``, made in the pool without federating for real:
                /oauth2/authorize approves with any of them.
        """
        scopes = _scopes(resource_servers or {})
        _check_oauth(oauth_flows, scopes, generate_secret=generate_secret)
        _check_names("mfa_types", mfa_types, _MFA_TYPES)
        _check_names("first_factors", first_factors or (), _FIRST_FACTORS)
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
        if first_factors is not None:
            pool_settings["Policies"] = _policies(first_factors)
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
            ExplicitAuthFlows=_auth_flows(
                user_auth=first_factors is not None, custom_auth=custom_auth
            ),
            AccessTokenValidity=seconds,
            IdTokenValidity=seconds,
            TokenValidityUnits={"AccessToken": "seconds", "IdToken": "seconds"},
            ReadAttributes=list(_READABLE_ATTRIBUTES),
            **self._oauth_client(
                idp,
                pool_id,
                resource_servers or {},
                _oauth_settings(oauth_flows, scopes, callback_urls, logout_urls),
                identity_providers,
            ),
        )["UserPoolClient"]
        if tuple(mfa_types) != ("SMS_MFA",):  # MfaConfiguration "ON" alone means SMS
            self._enable_mfa(region, pool_id, mfa_types, required=mfa_required)
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
            domain=self.cognito_url.rstrip("/") if oauth_flows else None,
            scopes=scopes,
        )
        self.add_user(
            pool,
            username,
            pool.password,
            email=None if sign_in_with_email else email,
            attributes=user_attributes,
            temporary=temporary_password,
            phone_number=phone_number,
        )
        return pool

    def _oauth_client(
        self,
        idp: Any,
        pool_id: str,
        resource_servers: Mapping[str, Sequence[str]],
        settings: dict[str, Any],
        identity_providers: Sequence[str],
    ) -> dict[str, Any]:
        """Make what the app client's OAuth settings name; returns the settings."""
        for identifier, names in resource_servers.items():
            idp.create_resource_server(
                UserPoolId=pool_id,
                Identifier=identifier,
                Name=identifier,
                Scopes=[{"ScopeName": n, "ScopeDescription": n} for n in names],
            )
        for provider in identity_providers:
            if provider != "COGNITO":
                idp.create_identity_provider(
                    UserPoolId=pool_id,
                    ProviderName=provider,
                    ProviderType=_PROVIDER_TYPES.get(provider, "OIDC"),
                    ProviderDetails={"client_id": "emulated", "authorize_scopes": "openid"},
                )
        if settings.get("AllowedOAuthFlows"):
            idp.create_user_pool_domain(Domain=f"auth-{secrets.token_hex(6)}", UserPoolId=pool_id)
        return {**settings, "SupportedIdentityProviders": list(identity_providers)}

    def _enable_mfa(
        self, region: str, pool_id: str, types: Sequence[str], *, required: bool
    ) -> None:
        """SetUserPoolMfaConfig, at the front: moto does not keep email MFA."""
        import boto3

        front = boto3.client(
            "cognito-idp", region_name=region, endpoint_url=self.cognito_url, **_ADMIN_CREDENTIALS
        )
        try:
            front.set_user_pool_mfa_config(
                UserPoolId=pool_id,
                MfaConfiguration="ON" if required else "OPTIONAL",
                **{_MFA_TYPES[name][0]: _MFA_TYPES[name][1] for name in types},
            )
        finally:
            front.close()

    def add_user(
        self,
        pool: EmulatedPool,
        username: str,
        password: str,
        *,
        email: str | None = None,
        confirmed: bool = True,
        attributes: Sequence[tuple[str, str]] = (),
        temporary: bool = False,
        phone_number: str | None = None,
    ) -> None:
        """Add a user: confirmed with a permanent password, or signed up unconfirmed.

        ``temporary``: created by an admin with ``password`` as a temporary
        password (FORCE_CHANGE_PASSWORD). ``email`` and ``phone_number`` are verified.
        """
        idp = self.client("cognito-idp", pool.region)
        attrs_list = [{"Name": k, "Value": v} for k, v in attributes]
        for name, value in (("email", email), ("phone_number", phone_number)):
            if value is not None:
                attrs_list += [
                    {"Name": name, "Value": value},
                    {"Name": f"{name}_verified", "Value": "true"},
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
            **({"TemporaryPassword": password} if temporary else {}),
        )
        if temporary:
            return
        idp.admin_set_user_password(
            UserPoolId=pool.user_pool_id, Username=username, Password=password, Permanent=True
        )


def _check_names(what: str, given: Sequence[str], known: Mapping[str, object]) -> None:
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ValueError(f"{what}: unknown {unknown}; known: {sorted(known)}")


def _scopes(resource_servers: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    return tuple(f"{server}/{name}" for server, names in resource_servers.items() for name in names)


def _check_oauth(flows: Sequence[str], scopes: Sequence[str], *, generate_secret: bool) -> None:
    """Refuse the app clients Cognito refuses (InvalidOAuthFlowException)."""
    _check_names("oauth_flows", flows, _OAUTH_FLOWS)
    if "client_credentials" not in flows:
        return
    if "code" in flows:
        raise ValueError("oauth_flows: Cognito refuses client_credentials with code in one client")
    if not generate_secret:
        raise ValueError("oauth_flows: client_credentials needs generate_secret=True")
    if not scopes:
        raise ValueError("oauth_flows: client_credentials needs a resource-server scope")


def _oauth_settings(
    flows: Sequence[str],
    scopes: Sequence[str],
    callback_urls: Sequence[str],
    logout_urls: Sequence[str],
) -> dict[str, Any]:
    """CreateUserPoolClient's OAuth settings (none without flows, as today)."""
    settings: dict[str, Any] = {}
    if flows:
        user_scopes = _USER_SCOPES if "code" in flows else ()
        settings.update(
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthFlows=list(flows),
            AllowedOAuthScopes=[*scopes, *user_scopes],
        )
    if callback_urls:
        settings["CallbackURLs"] = list(callback_urls)
    if logout_urls:
        settings["LogoutURLs"] = list(logout_urls)
    return settings


def _policies(first_factors: Sequence[str]) -> dict[str, Any]:
    """CreateUserPool's Policies: moto's default password policy, and the first factors."""
    return {
        "PasswordPolicy": _PASSWORD_POLICY,
        "SignInPolicy": {"AllowedFirstAuthFactors": list(first_factors)},
    }


def _auth_flows(*, user_auth: bool, custom_auth: bool) -> list[str]:
    flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    return flows + ["ALLOW_USER_AUTH"] * user_auth + ["ALLOW_CUSTOM_AUTH"] * custom_auth


def _strong_password() -> str:
    # Meets Cognito's default policy: upper, lower, digit, symbol, length >= 8.
    return f"Pw-{secrets.token_urlsafe(12)}-9a"
