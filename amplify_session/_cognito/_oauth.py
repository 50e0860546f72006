"""The user pool's OAuth 2.0 domain: the token endpoint, and the authorize and logout URLs.

Token requests are form-encoded POSTs (RFC 6749 §4), the client
authenticated with HTTP Basic when it has a secret (§2.3.1), retried like
Cognito calls (5xx, 429, network) within the configured policy. Every
failure leaves as an :class:`AuthError`: the endpoint's refusals (``{"error":
"invalid_client"}``) as :class:`OAuthError` named by the OAuth error,
throttling and server errors as the retryable Cognito ones.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

from .._config import AuthConfig
from .._errors import (
    AuthError,
    InternalErrorException,
    InvalidConfigurationException,
    InvalidResponseException,
    OAuthError,
    TooManyRequestsException,
)
from .._oauth_config import OAuthConfig
from ._call_gate import DEFAULT_MAX_CALLS, CallGate
from ._http import LoopSession
from ._redact import redact
from ._transport import network_error
from ._user_pool import AuthenticationResult

__all__ = ["OAuthEndpoints"]

_log = logging.getLogger("amplify_session.transport")

_OPERATION = "OAuth2Token"
_OAUTH_ERROR = re.compile(r"[a-z][a-z_]{0,63}")
_MAX_MESSAGE = 300
#: Form fields that are credentials, scrubbed from whatever the server echoes.
_SECRET_FIELDS = frozenset({"code", "code_verifier", "refresh_token", "client_secret"})


class OAuthEndpoints:
    """Requests tokens from the pool's domain; builds its authorize and logout URLs.

    Args:
        config: The app client (id, secret), its ``oauth`` domain, the timeout
            and the retry policy.
        gate: What every call of the client passes through; by default its own.
        session: The client's connections; by default its own.
    """

    def __init__(
        self,
        config: AuthConfig,
        *,
        gate: CallGate | None = None,
        session: LoopSession | None = None,
    ) -> None:
        if config.oauth is None:
            raise InvalidConfigurationException(
                "AuthConfig.oauth is needed for the pool's OAuth endpoints",
                recovery_suggestion="Set AuthConfig(oauth=OAuthConfig(domain=...)).",
            )
        self._config = config
        self._oauth: OAuthConfig = config.oauth
        self._gate = gate if gate is not None else CallGate(DEFAULT_MAX_CALLS)
        self._session = session if session is not None else LoopSession(config.request_timeout)

    def __repr__(self) -> str:
        return f"OAuthEndpoints(domain={self._oauth.domain!r})"

    @property
    def oauth(self) -> OAuthConfig:
        """The domain and scopes these endpoints serve."""
        return self._oauth

    async def token(self, form: Mapping[str, str]) -> AuthenticationResult:
        """POST ``form`` (a grant) to the token endpoint, as this app client.

        Raises:
            OAuthError: The endpoint refused (``name`` is the OAuth error).
            TooManyRequestsException, InternalErrorException, NetworkError:
                Still failing after the retries.
            InvalidResponseException: An answer without an access token.
        """
        body, headers = self._authenticated(form)
        secrets = [value for key, value in body.items() if key in _SECRET_FIELDS]
        if self._config.client_secret:
            basic = headers.get("Authorization", "")
            secrets += [self._config.client_secret, basic, basic.removeprefix("Basic ")]
        return await self._gate.call(
            self._config.retry, _OPERATION, lambda: self._post_once(body, headers, secrets)
        )

    def _authenticated(self, form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The body and headers: Basic auth with a secret, the client id in the body without."""
        body = dict(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        client_id, secret = self._config.user_pool_client_id, self._config.client_secret
        if secret:
            pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            body["client_id"] = client_id
        return body, headers

    async def _post_once(
        self, body: Mapping[str, str], headers: Mapping[str, str], secrets: Collection[str]
    ) -> AuthenticationResult:
        failure: Exception | None = None
        try:
            async with self._session.client().post(
                self._oauth.token_url, data=urlencode(body), headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                text = await response.text(encoding="utf-8", errors="replace")
        except Exception as exc:  # noqa: BLE001 (translated below, outside this block)
            failure = exc
        if failure is not None:
            raise network_error(_OPERATION, failure, secrets, what="the OAuth domain")
        if status == 200:
            return _token_answer(text)
        error = _refusal(status, text, secrets)
        _log.debug("%s answered %s %s", _OPERATION, status, error.name)
        raise error

    def authorize_url(self, parameters: Mapping[str, str]) -> str:
        """The authorize endpoint's URL with ``parameters`` (and this client's id)."""
        query = {"client_id": self._config.user_pool_client_id, **parameters}
        return f"{self._oauth.authorize_url}?{urlencode(query)}"

    def logout_url(self, logout_uri: str) -> str:
        """The logout endpoint's URL, coming back to ``logout_uri``."""
        query = {"client_id": self._config.user_pool_client_id, "logout_uri": logout_uri}
        return f"{self._oauth.logout_url}?{urlencode(query)}"


def _token_answer(text: str) -> AuthenticationResult:
    """Read a token answer: an access token, maybe id and refresh tokens, a Bearer type."""
    try:
        value: Any = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidResponseException(f"{_OPERATION}: the answer is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidResponseException(f"{_OPERATION}: the answer is not a JSON object")
    access, id_token, refresh = (
        value.get(k) for k in ("access_token", "id_token", "refresh_token")
    )
    token_type = value.get("token_type", "Bearer")
    if not isinstance(access, str) or not access:
        raise InvalidResponseException(f"{_OPERATION}: the answer has no access token")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise InvalidResponseException(f"{_OPERATION}: the token is not a Bearer token")
    for name, token in (("id", id_token), ("refresh", refresh)):
        if token is not None and (not isinstance(token, str) or not token):
            raise InvalidResponseException(f"{_OPERATION}: the {name} token is malformed")
    return AuthenticationResult(access_token=access, id_token=id_token, refresh_token=refresh)


def _refusal(status: int, text: str, secrets: Collection[str]) -> AuthError:
    """The error for a non-200 answer: an OAuthError when it names one (RFC 6749 §5.2)."""
    if status == 429:
        return TooManyRequestsException(f"{_OPERATION}: throttled (HTTP 429)", retryable=True)
    if status >= 500:
        return InternalErrorException(f"{_OPERATION}: HTTP {status}", retryable=True)
    try:
        value: Any = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        value = {}
    body: Mapping[str, Any] = value if isinstance(value, dict) else {}
    name, description = body.get("error"), body.get("error_description")
    if not isinstance(name, str) or not _OAUTH_ERROR.fullmatch(name):
        return AuthError(f"HTTP{status}", f"{_OPERATION}: HTTP {status}")
    message = f"{_OPERATION}: {name}"
    if isinstance(description, str) and description and len(description) < 16_384:
        message += ": " + redact(description, secrets)[:_MAX_MESSAGE]
    return OAuthError(name, message, recovery_suggestion=_SUGGESTIONS.get(name))


_SUGGESTIONS = {
    "invalid_client": "Check the app client id and secret.",
    "invalid_scope": "Ask only for scopes the app client is allowed (its resource servers').",
    "unauthorized_client": "Allow this OAuth flow for the app client in the user pool.",
    "invalid_grant": "The code or refresh token is spent, expired or another client's.",
}
