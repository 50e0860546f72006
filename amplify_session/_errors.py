"""The error tree: every error a user sees is an :class:`AuthError`.

    AuthError
    ├── NetworkError                        transport failure or timeout (retryable)
    ├── InvalidConfigurationException       a bad AuthConfig field
    ├── InvalidTokenException               a malformed, forged or unacceptable JWT, or a
    │   │                                   stored session that does not parse
    │   ├── TokenExpiredException           a token past its exp (or before its nbf)
    │   └── InsufficientScopeException      a genuine token without a required scope or
    │                                       group (HTTP 403, not 401: RFC 6750)
    ├── InvalidResponseException            the server answered something we cannot read
    ├── UserUnAuthenticatedException        the call needs a signed-in user
    ├── UserAlreadyAuthenticatedException   sign_in while a user is signed in
    ├── NoCredentialsException              no Identity Pool credentials for this session
    ├── StorageException                    the session storage is unreadable or unwritable
    ├── InvalidStateException               the manager is misused: opened twice, or used
    │                                       from another event loop while its own runs
    ├── DeviceMetadataNotFoundException     a device call, but no confirmed device is stored
    ├── SignInException                     a sign-in step this library cannot take
    │                                       (WEB_AUTHN, an unknown challenge, SMS-only MFA setup)
    ├── OAuthError                          the pool's OAuth 2.0 endpoints refused: ``name``
    │                                       is the OAuth error (``invalid_client``, ...)
    └── one class per Cognito error name users catch:
        NotAuthorizedException, UserNotFoundException, UserNotConfirmedException,
        PasswordResetRequiredException, TokenRevokedException,
        RefreshTokenReuseException, CodeMismatchException, ExpiredCodeException,
        InvalidParameterException, InvalidPasswordException,
        ResourceNotFoundException, TooManyRequestsException,
        LimitExceededException, InternalErrorException

Any other Cognito error name becomes a plain ``AuthError`` whose ``name`` is
that Cognito name. What an error means for the session is decided here, by
class, and nowhere else: ``retryable`` (try again later, the session stands),
``ends_session`` (a refused refresh ends it) and ``ends_identity`` (the
Identity Pool id is gone). Messages never carry a token, password or secret: the
transport scrubs the values it sent from whatever the server echoes back.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

__all__ = [
    "AuthError",
    "CodeMismatchException",
    "DeviceMetadataNotFoundException",
    "ExpiredCodeException",
    "InternalErrorException",
    "InsufficientScopeException",
    "InvalidConfigurationException",
    "InvalidParameterException",
    "InvalidPasswordException",
    "InvalidResponseException",
    "InvalidStateException",
    "InvalidTokenException",
    "LimitExceededException",
    "NetworkError",
    "NoCredentialsException",
    "NotAuthorizedException",
    "OAuthError",
    "PasswordResetRequiredException",
    "RefreshTokenReuseException",
    "ResourceNotFoundException",
    "SignInException",
    "StorageException",
    "TokenExpiredException",
    "TokenRevokedException",
    "TooManyRequestsException",
    "UserAlreadyAuthenticatedException",
    "UserNotConfirmedException",
    "UserNotFoundException",
    "UserUnAuthenticatedException",
    "error_from_service",
]


class AuthError(Exception):
    """Base of every error amplify-session raises.

    Attributes:
        name: The error's name; for Cognito errors the Cognito ``__type``
            with any ``namespace#`` prefix stripped.
        message: A human-readable description (never a secret).
        recovery_suggestion: What the caller can do about it, when known.
        underlying_error: The foreign exception this one translates, if any.
        retryable: True when the same call may succeed later (network,
            throttling, 5xx); such errors never clear a session.
        ends_session: True when Cognito refusing a refresh with this error
            means the refresh token will never work again: the session is
            over (cleared everywhere, ``signedOut`` emitted with the error).
        ends_identity: True when the Identity Pool answering this error means
            the identity id is gone or no longer the session's: a new one is
            asked for next time.
    """

    default_name: ClassVar[str] = "AuthError"
    default_retryable: ClassVar[bool] = False
    ends_session: ClassVar[bool] = False
    ends_identity: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        message: str,
        recovery_suggestion: str | None = None,
        underlying_error: BaseException | None = None,
        *,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.recovery_suggestion = recovery_suggestion
        self.underlying_error = underlying_error
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, message={self.message!r})"


class _NamedAuthError(AuthError):
    """An AuthError whose name is fixed by its class."""

    def __init__(
        self,
        message: str,
        recovery_suggestion: str | None = None,
        underlying_error: BaseException | None = None,
        *,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(
            self.default_name,
            message,
            recovery_suggestion,
            underlying_error,
            retryable=retryable,
        )

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.default_name = cls.__name__


class NetworkError(_NamedAuthError):
    """The server could not be reached, or did not answer in time."""

    default_retryable = True


class InvalidConfigurationException(_NamedAuthError):
    """An :class:`AuthConfig` field is missing or malformed."""


class InvalidTokenException(_NamedAuthError):
    """A JWT (or a stored session) is malformed."""


class TokenExpiredException(InvalidTokenException):
    """A token is expired, or not valid yet."""


class InsufficientScopeException(InvalidTokenException):
    """A genuine, current token that lacks a required scope or group.

    The token is fine; the caller is not allowed: a web service answers 403
    ``insufficient_scope``, not 401 ``invalid_token`` (RFC 6750 section 3.1).

    Attributes:
        required_scopes: The scopes the resource needs (empty when a group, or a
            claims check, refused): what a ``WWW-Authenticate`` ``scope`` names.
    """

    def __init__(
        self,
        message: str,
        recovery_suggestion: str | None = None,
        underlying_error: BaseException | None = None,
        *,
        required_scopes: Collection[str] = (),
    ) -> None:
        super().__init__(message, recovery_suggestion, underlying_error)
        self.required_scopes = tuple(sorted(required_scopes))


class InvalidResponseException(_NamedAuthError):
    """The server's answer is not what the Cognito API documents."""


class UserUnAuthenticatedException(_NamedAuthError):
    """The call needs a signed-in user and there is none."""


class UserAlreadyAuthenticatedException(_NamedAuthError):
    """``sign_in`` was called while a user is signed in."""


class NoCredentialsException(_NamedAuthError):
    """The session has no Identity Pool credentials."""


class StorageException(_NamedAuthError):
    """The session storage could not be read or written (a corrupt file, a locked one...)."""


class InvalidStateException(_NamedAuthError):
    """The manager cannot do this in its current state (opened twice, another event loop)."""


class DeviceMetadataNotFoundException(_NamedAuthError):
    """No confirmed device is stored for the signed-in user (Amplify's name)."""


class SignInException(_NamedAuthError):
    """A sign-in step this library cannot take: WEB_AUTHN (needs a platform
    authenticator), a challenge it does not know, or MFA setup offering no type
    it can set up (Amplify's name)."""


class OAuthError(AuthError):
    """The pool's OAuth 2.0 domain refused a request (RFC 6749 §5.2).

    ``name`` is the OAuth error: ``invalid_client`` (wrong client id or
    secret), ``invalid_grant`` (a code or refresh token that is spent,
    expired or not this client's), ``invalid_scope``, ``unauthorized_client``
    (the app client may not use this flow), ``unsupported_grant_type``,
    ``invalid_request``, or from the authorize endpoint ``access_denied``.
    Each ends the session it was renewing: the same request will be refused
    again. Throttling and server errors are not OAuthErrors but
    :class:`TooManyRequestsException` and :class:`InternalErrorException`.
    """

    ends_session = True


class NotAuthorizedException(_NamedAuthError):
    """Cognito: wrong password, revoked or expired refresh token, disabled user..."""

    ends_session = True
    ends_identity = True


class UserNotFoundException(_NamedAuthError):
    """Cognito: the user does not exist."""

    ends_session = True


class UserNotConfirmedException(_NamedAuthError):
    """Cognito: the user signed up but is not confirmed."""

    ends_session = True


class PasswordResetRequiredException(_NamedAuthError):
    """Cognito: the user must reset the password."""

    ends_session = True


class TokenRevokedException(_NamedAuthError):
    """Cognito: the token was revoked."""

    ends_session = True


class RefreshTokenReuseException(_NamedAuthError):
    """Cognito: a rotated-out refresh token was used again."""

    ends_session = True


class CodeMismatchException(_NamedAuthError):
    """Cognito: a wrong confirmation or MFA code."""


class ExpiredCodeException(_NamedAuthError):
    """Cognito: the code or the challenge session expired."""


class InvalidParameterException(_NamedAuthError):
    """Cognito (or local validation): a parameter is missing or malformed."""


class InvalidPasswordException(_NamedAuthError):
    """Cognito: the new password breaks the pool's password policy."""


class ResourceNotFoundException(_NamedAuthError):
    """Cognito: the pool, client or identity does not exist."""

    ends_identity = True


class TooManyRequestsException(_NamedAuthError):
    """Cognito: throttled. Retried with backoff."""

    default_retryable = True


class LimitExceededException(_NamedAuthError):
    """Cognito: a quota was exceeded."""


class InternalErrorException(_NamedAuthError):
    """Cognito: an internal error. Retried with backoff."""

    default_retryable = True


_COGNITO_ERRORS: dict[str, type[_NamedAuthError]] = {
    cls.default_name: cls
    for cls in (
        NotAuthorizedException,
        UserNotFoundException,
        UserNotConfirmedException,
        PasswordResetRequiredException,
        TokenRevokedException,
        RefreshTokenReuseException,
        CodeMismatchException,
        ExpiredCodeException,
        InvalidParameterException,
        InvalidPasswordException,
        ResourceNotFoundException,
        TooManyRequestsException,
        LimitExceededException,
        InternalErrorException,
    )
}

# Names Cognito (or a proxy in front of it) uses for "try again later".
_TRANSIENT_NAMES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "InternalErrorException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def error_from_service(name: str, message: str, *, status: int) -> AuthError:
    """Build the AuthError for a Cognito error answer.

    Args:
        name: The error name, already stripped of namespace and suffix.
        message: The server's message, already scrubbed of secrets.
        status: The HTTP status; 429 and 5xx make the error retryable.
    """
    retryable = status == 429 or status >= 500 or name in _TRANSIENT_NAMES
    cls = _COGNITO_ERRORS.get(name)
    if cls is not None:
        return cls(message, retryable=retryable)
    return AuthError(name, message, retryable=retryable)
