"""Everything that talks to Cognito over the network lives here.

``AiohttpTransport`` is imported on first use: importing the library does not
import aiohttp.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ._http import AiohttpTransport


def __getattr__(name: str) -> Any:
    if name == "AiohttpTransport":
        from ._http import AiohttpTransport

        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
