"""Immutable values the library hands out. Every secret is redacted in repr."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import attrs

from ._errors import NoCredentialsException
from ._secret_repr import secret_repr

__all__ = [
    "AWSCredentials",
    "AuthDevice",
    "AuthSession",
    "AuthTokens",
    "AuthUser",
    "JWT",
    "SignInDetails",
    "SignInNextStep",
    "SignInResult",
    "SignOutResult",
    "TOTPSetupDetails",
    "UserInfo",
]


@attrs.frozen(kw_only=True)
class JWT:
    """A decoded (not verified) JSON Web Token.

    ``str(jwt)`` and ``jwt.to_string()`` give the raw token, as Amplify's
    ``toString()`` does; ``repr`` shows the claims but never the token.

    Attributes:
        header: The decoded JOSE header (``alg``, ``kid``...).
        payload: The decoded claims (``sub``, ``exp``, ``iat``...).
        signature: The signature segment, base64url-encoded.
        raw: The whole encoded token.
    """

    header: Mapping[str, Any]
    payload: Mapping[str, Any]
    signature: str = attrs.field(repr=False)
    raw: str = attrs.field(repr=False)

    def to_string(self) -> str:
        """Return the raw, encoded token."""
        return self.raw

    def __str__(self) -> str:
        return self.raw


@attrs.frozen(kw_only=True)
class AuthTokens:
    """The User Pool tokens of a signed-in user.

    Attributes:
        access_token: The access token.
        id_token: The id token, when the session has one.
        refresh_token: The refresh token, when the session has one; redacted in ``repr``.
    """

    access_token: JWT
    id_token: JWT | None = None
    refresh_token: str | None = attrs.field(default=None, repr=secret_repr)


@attrs.frozen(kw_only=True)
class AWSCredentials:
    """Identity Pool AWS credentials; ``expiration`` is timezone-aware UTC.

    Attributes:
        access_key_id: The AWS access key id.
        secret_access_key: The secret key; redacted in ``repr``.
        session_token: The session token; redacted in ``repr``.
        expiration: When the credentials expire (timezone-aware UTC).
    """

    access_key_id: str
    secret_access_key: str = attrs.field(repr=secret_repr)
    session_token: str | None = attrs.field(default=None, repr=secret_repr)
    expiration: datetime | None = None


@attrs.frozen(kw_only=True)
class AuthSession:
    """What ``fetch_auth_session`` returns; every field is None when signed out.

    Attributes:
        tokens: The User Pool tokens.
        credentials: The Identity Pool AWS credentials (guest ones when signed
            out and the pool allows guests).
        identity_id: The Identity Pool identity id.
        user_sub: The user's ``sub`` claim.
    """

    tokens: AuthTokens | None = None
    credentials: AWSCredentials | None = None
    identity_id: str | None = None
    user_sub: str | None = None


def credentials_of(session: AuthSession) -> AWSCredentials:
    """``session``'s AWS credentials; the one place that says there are none.

    Raises:
        NoCredentialsException: The session has no Identity Pool credentials.
    """
    if session.credentials is None:
        raise NoCredentialsException(
            "no AWS credentials for this session",
            recovery_suggestion="Configure identity_pool_id and sign in "
            "(or set allow_guest_access).",
        )
    return session.credentials


@attrs.frozen(kw_only=True)
class SignInDetails:
    """How the current user signed in.

    Attributes:
        login_id: What the user signed in with (a username or an alias).
        auth_flow_type: The flow used: ``USER_SRP_AUTH`` or ``USER_PASSWORD_AUTH``.
    """

    login_id: str
    auth_flow_type: str


@attrs.frozen(kw_only=True)
class AuthUser:
    """The signed-in user, from the access token: ``username`` is Cognito's.

    Attributes:
        username: Cognito's username (the token's ``username`` claim).
        user_id: The user's ``sub`` claim.
        sign_in_details: How the user signed in, when known.
    """

    username: str
    user_id: str
    sign_in_details: SignInDetails | None = None


@attrs.frozen(kw_only=True)
class AuthDevice:
    """A device Cognito tracks for the signed-in user (``fetch_devices``), as Amplify's.

    Attributes:
        id: The device key.
        name: The ``device_name`` attribute (the name given at confirmation), if any.
        attributes: Every device attribute Cognito reports, by name
            (``device_status``, ``dev:device_remembered_status``, ``last_ip_used``...).
        create_date: When the device was first tracked.
        last_modified_date: When the device record last changed.
        last_authenticated_date: When the device was last used to sign in.
    """

    id: str
    name: str | None = None
    attributes: Mapping[str, str] = attrs.field(factory=dict)
    create_date: datetime | None = None
    last_modified_date: datetime | None = None
    last_authenticated_date: datetime | None = None

    @property
    def remembered(self) -> bool:
        """Cognito remembers the device: signing in on it skips MFA (where the pool allows)."""
        return self.attributes.get("dev:device_remembered_status") == "remembered"


@attrs.frozen(kw_only=True)
class TOTPSetupDetails:
    """The TOTP secret to set up in an authenticator app (``CONTINUE_SIGN_IN_WITH_TOTP_SETUP``).

    Attributes:
        shared_secret: The base32 secret from AssociateSoftwareToken; redacted in ``repr``.
        username: The account the URI names by default (what the user signed in with).
        setup_uri: The ``otpauth://`` URI for a QR code, issued by
            ``AuthConfig.totp_issuer``; redacted in ``repr`` (it holds the secret).
    """

    shared_secret: str = attrs.field(repr=secret_repr)
    username: str
    setup_uri: str = attrs.field(repr=secret_repr)

    @classmethod
    def of(cls, shared_secret: str, username: str, issuer: str) -> TOTPSetupDetails:
        """The details, with the setup URI built for ``issuer``."""
        return cls(
            shared_secret=shared_secret,
            username=username,
            setup_uri=_otpauth_uri(shared_secret, issuer, username),
        )

    def get_setup_uri(self, app_name: str, account_name: str | None = None) -> str:
        """An ``otpauth://`` URI for another issuer or account name (Amplify's method)."""
        return _otpauth_uri(self.shared_secret, app_name, account_name or self.username)


def _otpauth_uri(secret: str, issuer: str, account: str) -> str:
    # Key URI format: otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=... (each part escaped).
    label = f"{quote(issuer, safe='')}:{quote(account, safe='@')}"
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": issuer})


@attrs.frozen(kw_only=True)
class SignInNextStep:
    """What a sign-in needs next: ``DONE`` or a step to answer with ``confirm_sign_in``.

    Attributes:
        sign_in_step: ``DONE``, or Amplify's name of the step, such as
            ``CONFIRM_SIGN_IN_WITH_TOTP_CODE``.
        additional_info: Where a code was sent (``CODE_DELIVERY_DESTINATION``
            and ``CODE_DELIVERY_DELIVERY_MEDIUM``), when Cognito says; for a
            custom challenge, its challenge parameters.
        missing_attributes: The user attributes a new-password challenge requires.
        allowed_mfa_types: The MFA types the user may choose from (or set up),
            in Amplify's names: ``SMS``, ``TOTP``, ``EMAIL``.
        available_challenges: The first factors the user may choose from
            (``CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION``).
        totp_setup_details: The secret and ``otpauth://`` URI to set up
            (``CONTINUE_SIGN_IN_WITH_TOTP_SETUP``).
        state: The pending sign-in, sealed: pass it to ``confirm_sign_in(...,
            state=...)`` of any manager of the same app client (another process
            too, with the same ``AuthConfig.sign_in_state_key``) within 3 minutes.
            It holds Cognito's challenge session, never the password; redacted in ``repr``.
    """

    sign_in_step: str
    additional_info: Mapping[str, str] = attrs.field(factory=dict)
    missing_attributes: tuple[str, ...] = ()
    allowed_mfa_types: tuple[str, ...] = ()
    available_challenges: tuple[str, ...] = ()
    totp_setup_details: TOTPSetupDetails | None = None
    state: str | None = attrs.field(default=None, repr=secret_repr)


@attrs.frozen(kw_only=True)
class SignInResult:
    """The outcome of ``sign_in`` or ``confirm_sign_in``.

    Attributes:
        is_signed_in: The user is signed in; nothing more to answer.
        next_step: What to do next (``DONE`` once signed in).
    """

    is_signed_in: bool
    next_step: SignInNextStep


@attrs.frozen(kw_only=True)
class SignOutResult:
    """The outcome of ``sign_out``: the local session is always gone.

    Attributes:
        revoked: Cognito confirmed the revocation (or the global sign-out).
        error: Why Cognito could not be told, when it could not.
        storage_cleared: The stored session is gone. When False the storage
            failed; the manager keeps retrying the clear in the background
            (while open) and before any later sign-in or restore.
        hosted_ui_logout_url: For a hosted-UI sign-in (``sign_in_with_redirect``)
            with ``OAuthConfig.redirect_sign_out`` configured: the ``/logout``
            URL a browser opens to end the hosted UI's own session too.
    """

    revoked: bool
    error: Exception | None = None
    storage_cleared: bool = True
    hosted_ui_logout_url: str | None = None


@attrs.frozen(kw_only=True)
class UserInfo:
    """Profile claims from the id token, as the Amplify docs' ``getUserInfo``.

    Attributes:
        sub: The user's ``sub`` claim.
        email: The ``email`` claim.
        email_verified: The ``email_verified`` claim.
        name: The ``name`` claim.
        given_name: The ``given_name`` claim.
        family_name: The ``family_name`` claim.
        groups: The ``cognito:groups`` claim.
        custom_attributes: The ``custom:`` claims, with the prefix stripped.
    """

    sub: str
    email: str | None = None
    email_verified: bool | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    groups: tuple[str, ...] = ()
    custom_attributes: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_id_token(cls, id_token: JWT) -> UserInfo:
        """Read the profile claims of an id token."""
        claims = id_token.payload
        return cls(
            sub=str(claims.get("sub", "")),
            email=_optional_str(claims.get("email")),
            email_verified=_optional_bool(claims.get("email_verified")),
            name=_optional_str(claims.get("name")),
            given_name=_optional_str(claims.get("given_name")),
            family_name=_optional_str(claims.get("family_name")),
            groups=tuple(str(g) for g in _as_list(claims.get("cognito:groups"))),
            custom_attributes={
                key.removeprefix("custom:"): value
                for key, value in claims.items()
                if key.startswith("custom:")
            },
        )


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _optional_bool(value: object) -> bool | None:
    # Cognito sends booleans in id tokens as JSON booleans or as "true"/"false".
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]
