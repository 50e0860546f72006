"""The hosted-UI sign-ins of one manager: through a browser and a loopback, or in two steps.

The manager hands in how a sign-in is kept (under its lock, through its
sign-in desk); this desk owns the OAuth side: the authorize request under
way, the loopback listener, the code exchange, and the ``/logout`` URL that
ends the hosted UI's own session after a sign-out.
"""

from __future__ import annotations

import inspect
import webbrowser
from collections.abc import Awaitable, Callable

import anyio

from ._cognito._oauth import OAuthEndpoints
from ._config import AuthConfig
from ._errors import (
    InvalidConfigurationException,
    InvalidParameterException,
    InvalidStateException,
    OAuthError,
    SignInException,
)
from ._loopback_redirect import listen_for_redirects, loopback_uri
from ._models import SignInResult
from ._oauth_config import url_problem
from ._redirect_sign_in import (
    REDIRECT_FLOW,
    AuthorizeRequest,
    code_from,
    exchange,
    new_authorize_request,
    through_loopback,
)
from ._sign_in_desk import require_text
from ._timing import Clock
from ._tokens import TokenSet

__all__ = ["RedirectDesk"]

SignInWith = Callable[[Callable[[], Awaitable[TokenSet]]], Awaitable[SignInResult]]


class RedirectDesk:
    """Authorization code + PKCE sign-ins, kept through ``sign_in_with``."""

    def __init__(
        self,
        oauth: OAuthEndpoints | None,
        config: AuthConfig,
        clock: Clock,
        *,
        sign_in_with: SignInWith,
        require_signed_out: Callable[[], Awaitable[None]],
    ) -> None:
        self._oauth = oauth
        self._config = config
        self._clock = clock
        self._sign_in_with = sign_in_with
        self._require_signed_out = require_signed_out
        #: The sign-in begun with :meth:`begin`, waiting for :meth:`complete`.
        self._under_way: AuthorizeRequest | None = None
        #: The browser sign-in waiting for its redirect, which a sign-out cancels.
        self._waiting: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        return f"RedirectDesk(under_way={self._under_way is not None})"

    def abandon(self) -> None:
        """A sign-out: the hosted-UI sign-in under way (either kind) is over."""
        self._under_way = None
        if self._waiting is not None:
            self._waiting.cancel()

    async def through_browser(
        self, provider: str | None, open_url: Callable[[str], object] | None
    ) -> SignInResult:
        """Open the authorize URL, wait on a loopback listener for the redirect, sign in."""
        oauth = self._endpoints()
        configured = loopback_uri(oauth.oauth.redirect_sign_in)
        await self._require_signed_out()
        with anyio.CancelScope() as self._waiting:
            try:
                async with listen_for_redirects(configured) as listener:
                    request = new_authorize_request(oauth, listener.redirect_uri, provider)
                    await _open(request.url, open_url)
                    return await through_loopback(
                        listener, request, lambda code: self._finish(request, code)
                    )
            finally:
                self._waiting = None
        raise InvalidStateException("sign_out() was called during this sign-in; it was abandoned")

    def begin(self, redirect_uri: str, provider: str | None) -> str:
        """A new sign-in coming back to ``redirect_uri``; returns the authorize URL."""
        require_text("redirect_uri", redirect_uri)
        if (problem := url_problem(redirect_uri)) is not None:
            raise InvalidParameterException(f"redirect_uri {problem}")
        self._under_way = new_authorize_request(self._endpoints(), redirect_uri, provider)
        return self._under_way.url

    async def complete(self, callback_url: str) -> SignInResult:
        """Finish the sign-in under way with the URL the browser came back to."""
        require_text("callback_url", callback_url)
        request = self._under_way
        if request is None:
            raise InvalidParameterException(
                "no hosted-UI sign-in is under way",
                recovery_suggestion="Call begin_sign_in_with_redirect() first.",
            )
        try:
            code = code_from(callback_url, request)  # another state: still under way
        except OAuthError:
            self._under_way = None
            raise
        self._under_way = None  # a code is tried once
        return await self._finish(request, code)

    async def _finish(self, request: AuthorizeRequest, code: str) -> SignInResult:
        oauth = self._endpoints()
        return await self._sign_in_with(
            lambda: exchange(oauth, self._config, request, code, self._clock)
        )

    def logout_url(self, tokens: TokenSet) -> str | None:
        """The ``/logout`` URL ending the hosted UI's session, for a hosted-UI sign-in."""
        details = tokens.sign_in_details
        if self._oauth is None or details is None or details.auth_flow_type != REDIRECT_FLOW:
            return None
        sign_out_uris = self._oauth.oauth.redirect_sign_out
        return self._oauth.logout_url(sign_out_uris[0]) if sign_out_uris else None

    def _endpoints(self) -> OAuthEndpoints:
        if self._oauth is None:
            raise InvalidConfigurationException(
                "AuthConfig.oauth is needed to sign in through the hosted UI",
                recovery_suggestion="Set AuthConfig(oauth=OAuthConfig(domain=..., scopes=...)).",
            )
        return self._oauth


async def _open(url: str, open_url: Callable[[str], object] | None) -> None:
    """Hand the authorize URL to ``open_url``, or to the web browser (in a thread: it may block)."""
    if open_url is None:
        if not await anyio.to_thread.run_sync(webbrowser.open, url):
            raise SignInException(
                "no web browser could be opened for the hosted UI",
                recovery_suggestion="Pass open_url= to show the URL (e.g. open_url=print).",
            )
        return
    outcome = open_url(url)
    if inspect.isawaitable(outcome):
        await outcome
