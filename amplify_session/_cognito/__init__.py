"""Everything that talks to Cognito over the network lives here."""

from ._identity_pool import IdentityPoolClient
from ._transport import CognitoTransport, Service
from ._user_pool import AuthenticationResult, Challenge, UserPoolClient, secret_hash

__all__ = [
    "AuthenticationResult",
    "Challenge",
    "CognitoTransport",
    "IdentityPoolClient",
    "Service",
    "UserPoolClient",
    "secret_hash",
]
