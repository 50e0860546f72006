import pytest

from amplify_session import (
    AuthError,
    InternalErrorException,
    NetworkError,
    NotAuthorizedException,
    TooManyRequestsException,
)
from amplify_session._cognito._redact import redact
from amplify_session._cognito._transport import _error_name
from amplify_session._errors import error_from_service


def test_known_names_map_to_their_class() -> None:
    error = error_from_service(
        "NotAuthorizedException", "Incorrect username or password.", status=400
    )
    assert type(error) is NotAuthorizedException
    assert error.name == "NotAuthorizedException"
    assert error.message == "Incorrect username or password."
    assert not error.retryable
    assert str(error) == "NotAuthorizedException: Incorrect username or password."


def test_unknown_names_keep_the_cognito_name() -> None:
    error = error_from_service("AliasExistsException", "taken", status=400)
    assert type(error) is AuthError
    assert error.name == "AliasExistsException"


@pytest.mark.parametrize(
    ("name", "status", "cls"),
    [
        ("TooManyRequestsException", 400, TooManyRequestsException),
        ("InternalErrorException", 500, InternalErrorException),
        ("ThrottlingException", 400, AuthError),
        ("Whatever", 503, AuthError),
        ("Whatever", 429, AuthError),
    ],
)
def test_throttling_and_5xx_are_retryable(name: str, status: int, cls: type[AuthError]) -> None:
    error = error_from_service(name, "m", status=status)
    assert isinstance(error, cls)
    assert error.retryable


def test_network_error_is_retryable_and_named() -> None:
    error = NetworkError("down")
    assert error.name == "NetworkError"
    assert error.retryable
    assert repr(error) == "NetworkError(name='NetworkError', message='down')"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("NotAuthorizedException", "NotAuthorizedException"),
        ("com.amazonaws.cognito.identity.idp#UserNotFoundException", "UserNotFoundException"),
        (
            "UserNotConfirmedException:http://internal.amazon.com/coral/",
            "UserNotConfirmedException",
        ),
    ],
)
def test_error_names_are_stripped(raw: str, name: str) -> None:
    assert _error_name(raw) == name


def test_redact_removes_every_secret() -> None:
    assert redact("bad token abc.def for abc.def", ["abc.def", ""]) == "bad token *** for ***"
