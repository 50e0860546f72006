"""Everything that talks to Cognito over the network lives here."""

from ._http import AiohttpTransport
from ._identity_pool import IdentityPoolClient
from ._received import token_set_from
from ._transport import CognitoTransport
from ._user_pool import AuthenticationResult, Challenge, UserPoolClient, secret_hash
from ._wire import CognitoRequest, CognitoResponse, Service, Transport

__all__ = [
    "AiohttpTransport",
    "AuthenticationResult",
    "Challenge",
    "CognitoRequest",
    "CognitoResponse",
    "CognitoTransport",
    "IdentityPoolClient",
    "Service",
    "Transport",
    "UserPoolClient",
    "secret_hash",
    "token_set_from",
]
