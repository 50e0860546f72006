import subprocess
import sys

import amplify_session

PUBLIC_API = {
    "Transport",
    "CognitoResponse",
    "CognitoClient",
    "CognitoRequest",
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
    "ClientCredentialsConfig",
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
    "confirm_sign_in",
    "TokenExpiredException",
    "TokenRevokedException",
    "TokenVerifier",
    "TrustedPool",
    "TooManyRequestsException",
    "UserAlreadyAuthenticatedException",
    "UserInfo",
    "UserNotConfirmedException",
    "UserNotFoundException",
    "UserUnAuthenticatedException",
    "configure",
    "decode_jwt",
    "fetch_auth_session",
    "fetch_devices",
    "forget_device",
    "remember_device",
    "AuthDevice",
    "DeviceMetadataNotFoundException",
    "SignInException",
    "TOTPSetupDetails",
    "get_current_user",
    "get_manager",
    "sign_in",
    "sign_in_with_redirect",
    "sign_in_with_tokens",
    "sign_out",
}


def test_all_is_exactly_the_public_api_and_sorted() -> None:
    assert set(amplify_session.__all__) == PUBLIC_API
    assert amplify_session.__all__ == sorted(amplify_session.__all__)
    assert len(amplify_session.__all__) == len(PUBLIC_API)


def test_every_public_name_resolves() -> None:
    for name in amplify_session.__all__:
        assert getattr(amplify_session, name) is not None


def test_public_names_have_docstrings() -> None:
    for name in amplify_session.__all__:
        assert getattr(amplify_session, name).__doc__, name


def test_errors_are_auth_errors() -> None:
    for name in amplify_session.__all__:
        obj = getattr(amplify_session, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, amplify_session.AuthError)


def test_import_pulls_in_no_integration_or_test_dependency() -> None:
    code = (
        "import sys, amplify_session; "
        "bad = [m for m in ('aiobotocore', 'botocore', 'moto', 'redis', 'keyring', 'click')"
        " if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
