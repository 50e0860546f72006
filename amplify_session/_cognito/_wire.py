"""The seam under the Cognito client: one request out, one answer back.

A :class:`Transport` moves a JSON 1.1 call to Cognito and its answer back,
nothing more: retries, error decoding and redaction stay above it, in
``CognitoTransport``. The default sends over aiohttp (``AiohttpTransport``);
a test passes an in-memory one (``amplify_session.testing.FakeCognito``) the
way httpx takes a ``MockTransport``.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping
from typing import Protocol

import attrs

__all__ = ["CognitoRequest", "CognitoResponse", "Service", "Transport"]


class Service(enum.Enum):
    """The two Cognito APIs, by their X-Amz-Target prefix."""

    USER_POOL = "AWSCognitoIdentityProviderService"
    IDENTITY_POOL = "AWSCognitoIdentityService"


@attrs.frozen
class CognitoRequest:
    """One Cognito API call as it goes on the wire.

    Attributes:
        service: Which Cognito API: ``request.service.name`` is ``"USER_POOL"``
            or ``"IDENTITY_POOL"``.
        operation: The API action, e.g. ``"InitiateAuth"``.
        body: The JSON request text. It carries passwords and tokens, so it
            is left out of ``repr``.
    """

    service: Service
    operation: str
    body: str = attrs.field(repr=False)

    @property
    def target(self) -> str:
        """The ``X-Amz-Target`` header, e.g. ``AWSCognitoIdentityProviderService.InitiateAuth``."""
        return f"{self.service.value}.{self.operation}"


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    # HTTP header names are case-insensitive; with one spelling lookups are plain.
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), value)
    return types.MappingProxyType(lowered)


@attrs.frozen
class CognitoResponse:
    """Cognito's answer to one call.

    Attributes:
        status: The HTTP status code.
        body: The answer's text (JSON). Left out of ``repr``: it carries tokens.
        headers: The answer's headers, names lower-cased. ``x-amzn-errortype``
            names an error and ``date`` gives the server's clock.
    """

    status: int
    body: str = attrs.field(default="", repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys)


class Transport(Protocol):
    """Sends one Cognito call and returns the answer, whatever its status.

    A network failure is raised as an ``OSError`` (``ConnectionError``,
    ``TimeoutError``...); the caller turns it into a ``NetworkError`` and
    retries it. An error answer (4xx, 5xx) is returned, not raised.

    A transport may serve several managers; a ``SessionManager`` closes only
    the transport it created itself.
    """

    async def send(self, request: CognitoRequest) -> CognitoResponse:
        """Send ``request`` once and return the answer."""
        ...

    async def aclose(self) -> None:
        """Release connections; the transport may be used again afterwards."""
        ...
