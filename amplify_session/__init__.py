"""amplify-session: async AWS Cognito sessions for long-running Python services.

What AWS Amplify's ``fetchAuthSession`` is to a browser: sign-in, tokens,
Identity Pool AWS credentials, kept fresh and served from memory.
"""

import logging

from ._config import AuthConfig, RetryPolicy
from ._errors import (
    AuthError,
    CodeMismatchException,
    ExpiredCodeException,
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
    PasswordResetRequiredException,
    RefreshTokenReuseException,
    ResourceNotFoundException,
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
    get_current_user,
    get_manager,
    sign_in,
    sign_out,
)
from ._jwt import TokenVerifier, decode_jwt
from ._manager import SessionManager
from ._models import (
    JWT,
    AuthSession,
    AuthTokens,
    AuthUser,
    AWSCredentials,
    SignInDetails,
    SignInNextStep,
    SignInResult,
    SignOutResult,
    UserInfo,
)
from .storage import FileStorage, KeyValueStorage, MemoryStorage

__all__ = [
    "AWSCredentials",
    "AuthConfig",
    "AuthError",
    "AuthSession",
    "AuthTokens",
    "AuthUser",
    "CodeMismatchException",
    "EventName",
    "ExpiredCodeException",
    "FileStorage",
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
    "PasswordResetRequiredException",
    "RefreshTokenReuseException",
    "ResourceNotFoundException",
    "RetryPolicy",
    "SessionEvent",
    "SessionManager",
    "SignInDetails",
    "SignInNextStep",
    "SignInResult",
    "SignOutResult",
    "StorageException",
    "TokenExpiredException",
    "TokenRevokedException",
    "TokenVerifier",
    "TooManyRequestsException",
    "UserAlreadyAuthenticatedException",
    "UserInfo",
    "UserNotConfirmedException",
    "UserNotFoundException",
    "UserUnAuthenticatedException",
    "configure",
    "confirm_sign_in",
    "decode_jwt",
    "fetch_auth_session",
    "get_current_user",
    "get_manager",
    "sign_in",
    "sign_out",
]

# A library's logs go where the application sends them, and nowhere when it
# configures no logging: without this, Python prints WARNING records to stderr.
logging.getLogger("amplify_session").addHandler(logging.NullHandler())
