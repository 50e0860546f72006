"""Sign-in through the hosted UI / managed login: authorization code with PKCE (RFC 7636).

Amplify's ``signInWithRedirect``, for services and command lines. An
:class:`AuthorizeRequest` holds what one attempt needs (``state`` against
forged redirects, ``nonce`` for the id token, the PKCE verifier and its S256
challenge); :func:`code_from` reads the redirect back, and :func:`exchange`
trades the code for the session. The tokens are checked as handed-in ones
are (this pool, this client) and the id token must carry the nonce.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import attrs

from ._cognito import token_set_from
from ._cognito._oauth import OAuthEndpoints
from ._config import AuthConfig
from ._errors import (
    InvalidParameterException,
    InvalidResponseException,
    InvalidTokenException,
    OAuthError,
)
from ._handed_in import check_token
from ._loopback_redirect import LoopbackListener
from ._models import SignInDetails
from ._secret_repr import secret_repr
from ._timing import Clock
from ._tokens import TokenSet

__all__ = [
    "REDIRECT_FLOW",
    "AuthorizeRequest",
    "code_from",
    "exchange",
    "new_authorize_request",
    "through_loopback",
]

_T = TypeVar("_T")

#: What Amplify records as the flow of a hosted-UI sign-in.
REDIRECT_FLOW = "SIGN_IN_WITH_REDIRECT"


@attrs.frozen(kw_only=True)
class AuthorizeRequest:
    """One hosted-UI sign-in under way: the URL to open and what checks its answer."""

    url: str = attrs.field(repr=False)  # carries the state and nonce
    redirect_uri: str
    state: str = attrs.field(repr=secret_repr)
    nonce: str = attrs.field(repr=secret_repr)
    code_verifier: str = attrs.field(repr=secret_repr)


def new_authorize_request(
    endpoints: OAuthEndpoints, redirect_uri: str, provider: str | None
) -> AuthorizeRequest:
    """A fresh request: new state, nonce and verifier (never reused)."""
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 wants 43 to 128
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    parameters = {
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge.rstrip(b"=").decode("ascii"),
        "code_challenge_method": "S256",
    }
    if endpoints.oauth.scopes:
        parameters["scope"] = " ".join(endpoints.oauth.scopes)
    if provider:
        parameters["identity_provider"] = provider
    return AuthorizeRequest(
        url=endpoints.authorize_url(parameters),
        redirect_uri=redirect_uri,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
    )


def code_from(callback_url: str, request: AuthorizeRequest) -> str:
    """The authorization code in the redirect, once its ``state`` is ours.

    Raises:
        InvalidParameterException: Not a redirect of this request (no or
            another ``state``, another address), or no code in it.
        OAuthError: The hosted UI answered an error (``access_denied``...).
    """
    try:
        parts = urlsplit(callback_url)
    except ValueError:  # e.g. "Invalid IPv6 URL"
        raise InvalidParameterException("the redirect URL does not parse") from None
    expected = urlsplit(request.redirect_uri)
    if (parts.scheme, parts.netloc, parts.path) != (
        expected.scheme,
        expected.netloc,
        expected.path,
    ):
        raise InvalidParameterException("the redirect is not to this sign-in's redirect URI")
    query = {key: values[0] for key, values in parse_qs(parts.query).items() if values}
    if not secrets.compare_digest(query.get("state", "").encode(), request.state.encode()):
        raise InvalidParameterException(
            "the redirect's state is not this sign-in's (a forged or stale redirect)"
        )
    error = query.get("error")
    if error:
        raise OAuthError(
            error if error.isidentifier() else "invalid_request",
            f"the hosted UI refused the sign-in ({error[:64]!r})",
        )
    code = query.get("code")
    if not code:
        raise InvalidParameterException("the redirect carries no authorization code")
    return code


async def exchange(
    endpoints: OAuthEndpoints,
    config: AuthConfig,
    request: AuthorizeRequest,
    code: str,
    clock: Clock,
) -> TokenSet:
    """Trade ``code`` for the session (authorization_code grant with the PKCE verifier).

    Raises:
        OAuthError: ``invalid_grant`` for a spent, expired or forged code.
        InvalidResponseException: Tokens of another pool or client, no
            refresh token, or an id token without this request's nonce.
    """
    answer = await endpoints.token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.code_verifier,
        }
    )
    if answer.refresh_token is None:
        raise InvalidResponseException("the token endpoint answered no refresh token")
    tokens = token_set_from(
        answer,
        now=clock.time(),
        username=None,  # Cognito's, from the access token
        refresh_token=answer.refresh_token,
        sign_in_details=None,
        device=None,
    )
    try:
        check_token(config, tokens.access_token, "access")
        if tokens.id_token is not None:
            check_token(config, tokens.id_token, "id")
    except InvalidTokenException as err:
        raise InvalidResponseException(f"the token endpoint answered: {err.message}") from None
    if tokens.id_token is not None and tokens.id_token.payload.get("nonce") != request.nonce:
        raise InvalidResponseException("the id token does not carry this sign-in's nonce")
    return attrs.evolve(
        tokens,
        sign_in_details=SignInDetails(login_id=tokens.username, auth_flow_type=REDIRECT_FLOW),
    )


async def through_loopback(
    listener: LoopbackListener, request: AuthorizeRequest, finish: Callable[[str], Awaitable[_T]]
) -> _T:
    """Wait for ``request``'s redirect and ``finish`` with its code; refuse any other.

    A redirect with another ``state`` (forged, or of an earlier attempt) is
    answered 400 and the wait goes on; a refusal from the hosted UI, or a
    failure to finish, ends it.
    """
    while True:
        redirect = await listener.next()
        try:
            code = code_from(redirect.url, request)
        except InvalidParameterException:
            redirect.reply(False, "This is not the sign-in under way.")
            continue
        except OAuthError:
            redirect.reply(False, "The sign-in was refused.")
            raise
        try:
            result = await finish(code)
        except BaseException:
            redirect.reply(False, "The sign-in failed; the application says why.")
            raise
        redirect.reply(True, "You are signed in. You can close this window.")
        return result
