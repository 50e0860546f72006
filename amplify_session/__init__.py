"""amplify-session: async AWS Cognito sessions for long-running Python services.

What AWS Amplify's ``fetchAuthSession`` is to a browser: sign-in, tokens,
Identity Pool AWS credentials, kept fresh and served from memory.
"""

import logging
from typing import TYPE_CHECKING

from ._client_credentials_config import ClientCredentialsConfig
from ._cognito import CognitoRequest, CognitoResponse, Transport
from ._cognito_client import CognitoClient
from ._config import AuthConfig, RetryPolicy
from ._errors import (
    AuthError,
    CodeMismatchException,
    DeviceMetadataNotFoundException,
    ExpiredCodeException,
    InsufficientScopeException,
    InternalErrorException,
    InvalidConfigurationException,
    InvalidParameterException,
    InvalidPasswordException,
    InvalidResponseException,
    InvalidStateException,
    InvalidTokenException,
    LimitExceededException,
    NetworkError,
    NoCredentialsException,
    NotAuthorizedException,
    OAuthError,
    PasswordResetRequiredException,
    RefreshTokenReuseException,
    ResourceNotFoundException,
    SignInException,
    StorageException,
    TokenExpiredException,
    TokenRevokedException,
    TooManyRequestsException,
    UserAlreadyAuthenticatedException,
    UserNotConfirmedException,
    UserNotFoundException,
    UserUnAuthenticatedException,
)
from ._events import EventName, SessionEvent
from ._facade import (
    configure,
    confirm_sign_in,
    fetch_auth_session,
    fetch_devices,
    forget_device,
    get_current_user,
    get_manager,
    remember_device,
    sign_in,
    sign_in_with_redirect,
    sign_in_with_tokens,
    sign_out,
)
from ._jwt import decode_jwt
from ._manager import SessionManager
from ._models import (
    JWT,
    AuthDevice,
    AuthSession,
    AuthTokens,
    AuthUser,
    AWSCredentials,
    SignInDetails,
    SignInNextStep,
    SignInResult,
    SignOutResult,
    TOTPSetupDetails,
    UserInfo,
)
from ._oauth_config import OAuthConfig
from ._trusted_pool import TrustedPool
from .storage import FileStorage, KeyValueStorage, MemoryStorage

if TYPE_CHECKING:
    from ._verifier import TokenVerifier

__all__ = [
    "AWSCredentials",
    "AuthConfig",
    "AuthDevice",
    "AuthError",
    "AuthSession",
    "AuthTokens",
    "AuthUser",
    "ClientCredentialsConfig",
    "CodeMismatchException",
    "CognitoClient",
    "CognitoRequest",
    "CognitoResponse",
    "DeviceMetadataNotFoundException",
    "EventName",
    "ExpiredCodeException",
    "FileStorage",
    "InsufficientScopeException",
    "InternalErrorException",
    "InvalidConfigurationException",
    "InvalidParameterException",
    "InvalidPasswordException",
    "InvalidResponseException",
    "InvalidStateException",
    "InvalidTokenException",
    "JWT",
    "KeyValueStorage",
    "LimitExceededException",
    "MemoryStorage",
    "NetworkError",
    "NoCredentialsException",
    "NotAuthorizedException",
    "OAuthConfig",
    "OAuthError",
    "PasswordResetRequiredException",
    "RefreshTokenReuseException",
    "ResourceNotFoundException",
    "RetryPolicy",
    "SessionEvent",
    "SessionManager",
    "SignInDetails",
    "SignInException",
    "SignInNextStep",
    "SignInResult",
    "SignOutResult",
    "StorageException",
    "TOTPSetupDetails",
    "TokenExpiredException",
    "TokenRevokedException",
    "TokenVerifier",
    "TooManyRequestsException",
    "Transport",
    "TrustedPool",
    "UserAlreadyAuthenticatedException",
    "UserInfo",
    "UserNotConfirmedException",
    "UserNotFoundException",
    "UserUnAuthenticatedException",
    "configure",
    "confirm_sign_in",
    "decode_jwt",
    "fetch_auth_session",
    "fetch_devices",
    "forget_device",
    "get_current_user",
    "get_manager",
    "remember_device",
    "sign_in",
    "sign_in_with_redirect",
    "sign_in_with_tokens",
    "sign_out",
]

# A library's logs go where the application sends them, and nowhere when it
# configures no logging: without this, Python prints WARNING records to stderr.
logging.getLogger("amplify_session").addHandler(logging.NullHandler())


def __getattr__(name: str) -> object:
    """Import ``TokenVerifier`` on first use (PEP 562): it brings python-jose and the
    JWKS client, which a service that only holds a session never needs."""
    if name == "TokenVerifier":
        from ._verifier import TokenVerifier as verifier

        globals()[name] = verifier  # later look-ups skip this function
        return verifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
