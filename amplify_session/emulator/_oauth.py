"""The user pool's OAuth 2.0 domain, on the strict front: token, authorize and logout.

Every pool's domain is the front's own URL: the endpoints find the pool by
the app client. What Cognito does there, minus the browser:

- ``POST /oauth2/token``: client_credentials, authorization_code with PKCE,
  refresh_token (``_oauth_grants.py``); errors are JSON ``{"error",
  "error_description"}`` with a 400.
- ``GET /oauth2/authorize``: no sign-in page; the pool's approved user (its
  oldest, i.e. the provisioned one, unless :meth:`OAuthDomain.approve_as`
  names another) approves at once, federated or not, and the browser is sent
  back to ``redirect_uri`` with ``code`` and ``state``, or with ``error`` and
  ``state`` (:meth:`OAuthDomain.deny`, a bad scope, PKCE method or identity
  provider). An unknown client or a redirect URI that is not one of its
  callback URLs gets a 400 page: Cognito never redirects there.
- ``GET /logout``: back to ``logout_uri`` if it is one of the client's
  sign-out URLs, else a 400 page.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
from aiohttp import web

from ._moto_backend import first_user, pool_by_id, user_of
from ._oauth_clients import OAuthClient, OAuthError, client_named, uri_matches
from ._oauth_codes import CodeBook, Grant
from ._oauth_grants import TokenGrants
from ._operations import CognitoOperations
from ._wire import Refused

__all__ = ["ROUTES", "OAuthCall", "OAuthDomain"]

#: Path -> HTTP method and the operation name calls, faults and timelines use.
ROUTES: dict[str, tuple[str, str]] = {
    "/oauth2/token": ("POST", "OAuth2Token"),
    "/oauth2/authorize": ("GET", "OAuth2Authorize"),
    "/logout": ("GET", "Logout"),
}
#: Parameters that are secrets or credentials: never recorded as sent.
_REDACTED = frozenset({"client_secret", "code", "code_verifier", "refresh_token"})
_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@attrs.frozen
class OAuthCall:
    """One request to the domain: its parameters (form or query) as sent."""

    params: dict[str, str]
    repeated: bool  # a parameter sent twice (RFC 6749 §3.1, §3.2)
    form_encoded: bool
    authorization: str | None = attrs.field(repr=False)

    @classmethod
    async def read(cls, request: web.Request) -> OAuthCall:
        if request.method == "POST":
            text = (await request.read()).decode("utf-8", "replace")
            pairs = parse_qsl(text, keep_blank_values=True)
            encoded = request.content_type == _FORM
        else:
            pairs, encoded = list(request.query.items()), True
        params = dict(pairs)
        authorization = request.headers.get("Authorization")
        return cls(params, len(params) < len(pairs), encoded, authorization)

    def recorded(self) -> dict[str, Any]:
        """The parameters as a test may see them: secrets, codes and tokens redacted."""
        shown: dict[str, Any] = {
            name: "<redacted>" if name in _REDACTED else value
            for name, value in self.params.items()
        }
        if self.authorization is not None:
            shown["Authorization"] = "<redacted>"
        return shown


class OAuthDomain:
    """The endpoints and what they keep between calls: codes, approvals, what was asked."""

    def __init__(self, cognito: CognitoOperations) -> None:
        self._lock = threading.Lock()
        self._grants = TokenGrants(cognito, lambda: self._codes)
        self.reset()

    def reset(self) -> None:
        """Forget codes, approvals, denials, authorize requests and logouts; code TTL 300 s."""
        with self._lock:
            self._codes = CodeBook()
            self._approved: dict[str, str] = {}  # pool id -> moto's username
            self._denied: dict[str, str] = {}  # pool id -> OAuth error
            self.authorize_requests: list[dict[str, str]] = []
            self.logouts: list[tuple[str, str]] = []

    @property
    def code_ttl(self) -> float:
        return self._codes.ttl

    @code_ttl.setter
    def code_ttl(self, seconds: float) -> None:
        self._codes.ttl = seconds

    def approve_as(self, user_pool_id: str, username: str) -> None:
        """The pool's authorize requests approve as this user from now on (denials end)."""
        try:
            pool = pool_by_id(user_pool_id)
            user = user_of(pool, username)
        except Refused as refused:
            raise LookupError(refused.message) from None
        with self._lock:
            self._approved[user_pool_id] = str(user.username)
            self._denied.pop(user_pool_id, None)

    def deny(self, user_pool_id: str, error: str) -> None:
        """The pool's authorize requests redirect with ``error`` from now on."""
        with self._lock:
            self._denied[user_pool_id] = error

    async def answer(self, operation: str, call: OAuthCall) -> web.Response:
        """The answer to ``call`` of ``operation`` (a name from :data:`ROUTES`)."""
        if operation == "OAuth2Token":
            return await self._token(call)
        if operation == "OAuth2Authorize":
            return self._authorize(call)
        return self._logout(call)

    # -- /oauth2/token ------------------------------------------------------------

    async def _token(self, call: OAuthCall) -> web.Response:
        try:
            answer = await self._grants.answer(_well_formed(call), call.authorization)
        except OAuthError as refused:
            body = {"error": refused.error, "error_description": refused.description}
            return _json(400, body)
        return _json(200, answer)

    # -- /oauth2/authorize --------------------------------------------------------

    def _authorize(self, call: OAuthCall) -> web.Response:
        params = call.params
        with self._lock:
            self.authorize_requests.append(dict(params))
        try:
            client = client_named(params.get("client_id") or "")
        except OAuthError:
            return _page("The client is not known.")
        redirect_uri = params.get("redirect_uri") or ""
        if not uri_matches(client.callback_urls, redirect_uri):
            return _page("redirect_uri is not a callback URL of the client.")
        state = params.get("state")
        try:
            code = self._codes.issue(self._grant(client, _well_formed(call), redirect_uri))
        except OAuthError as refused:
            error = {"error": refused.error, "error_description": refused.description}
            return _redirect(redirect_uri, {**error, "state": state})
        return _redirect(redirect_uri, {"code": code, "state": state})

    def _grant(self, client: OAuthClient, params: Mapping[str, str], redirect_uri: str) -> Grant:
        """What the approved user grants the request, or why it is refused."""
        response_type = params.get("response_type")
        if response_type not in ("code", "token"):
            raise OAuthError("invalid_request", "response_type must be code or token.")
        if not client.allows("code" if response_type == "code" else "implicit"):
            raise OAuthError("unauthorized_client", "The client may not use this flow.")
        if response_type == "token":
            raise OAuthError("unsupported_response_type", "The emulator issues codes only.")
        provider = params.get("identity_provider")
        if provider is not None and provider not in client.identity_providers:
            raise OAuthError("invalid_request", "The identity provider is not the client's.")
        scopes = client.granted(params.get("scope"), client.scopes)
        challenge = _challenge(params)
        return Grant(
            client_id=client.id,
            user_pool_id=str(client.pool.id),
            username=self._approver(client.pool),
            redirect_uri=redirect_uri,
            scopes=scopes,
            challenge=challenge,
            nonce=params.get("nonce"),
        )

    def _approver(self, pool: Any) -> str:
        """moto's username of the user who approves in ``pool``; refused if denied."""
        with self._lock:
            denied = self._denied.get(str(pool.id))
            approved = self._approved.get(str(pool.id))
        if denied is not None:
            raise OAuthError(denied, "The user did not sign in.")
        if approved is None:
            oldest = first_user(pool)
            approved = None if oldest is None else str(oldest.username)
        try:
            return str(user_of(pool, approved or "").username)
        except Refused:
            raise OAuthError("access_denied", "The user cannot sign in.") from None

    # -- /logout ------------------------------------------------------------------

    def _logout(self, call: OAuthCall) -> web.Response:
        try:
            client = client_named(call.params.get("client_id") or "")
        except OAuthError:
            return _page("The client is not known.")
        logout_uri = call.params.get("logout_uri") or ""
        if not uri_matches(client.logout_urls, logout_uri):
            return _page("logout_uri is not a sign-out URL of the client.")
        with self._lock:
            self.logouts.append((client.id, logout_uri))
        return _redirect(logout_uri, {})


def _well_formed(call: OAuthCall) -> dict[str, str]:
    """The call's parameters, each sent once, form-encoded (RFC 6749 §3.1, §3.2)."""
    if not call.form_encoded or call.repeated:
        raise OAuthError("invalid_request", "Send each parameter once, form-encoded.")
    return call.params


def _challenge(params: Mapping[str, str]) -> str | None:
    """The PKCE code challenge, S256 being the one method Cognito takes."""
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if challenge is None and method is None:
        return None
    if not challenge or method != "S256":
        raise OAuthError("invalid_request", "PKCE needs code_challenge and the S256 method.")
    return challenge


def _json(status: int, body: Mapping[str, Any]) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=_NO_STORE
    )


def _redirect(uri: str, params: Mapping[str, str | None]) -> web.Response:
    query = urlencode({name: value for name, value in params.items() if value is not None})
    if query:
        uri += ("&" if urlsplit(uri).query else "?") + query
    return web.Response(status=302, headers={"Location": uri})


def _page(message: str) -> web.Response:
    """Cognito's error page, where it will not redirect: a fixed sentence, nothing echoed."""
    return web.Response(
        status=400, text=f"<html><body>{message}</body></html>", content_type="text/html"
    )
