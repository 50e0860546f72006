"""CognitoClient: one app client's connections, shared by every session made from it."""

from __future__ import annotations

from ._client_credentials_config import ClientCredentialsConfig
from ._cognito import CognitoTransport, IdentityPoolClient, Transport, UserPoolClient
from ._cognito._call_gate import DEFAULT_MAX_CALLS, CallGate
from ._cognito._devices import DeviceCalls
from ._cognito._http import LoopSession
from ._cognito._oauth import OAuthEndpoints
from ._config import AuthConfig
from ._errors import InvalidParameterException

__all__ = ["CognitoClient"]


class CognitoClient:
    """One app client's way to Cognito, shared by the sessions made from it.

    A service that holds many users' sessions (a bot, a sync service, a
    gateway) makes one client and a :class:`SessionManager` per user from it,
    ``SessionManager(client, storage=...)``. The sessions then share one
    connection pool (and its DNS cache), at most ``max_connections`` calls on
    the wire at once (the others wait their turn, and their request timeout
    and the retry policy's timeout start when they go; sockets: at most that
    many to each Cognito host), and one retry budget: when Cognito fails, a few
    retries tell, and the sessions' own backoff takes over. A manager made
    from a config has a client of its own.

    Closing a manager made from a client leaves the client open; close the
    client (``async with CognitoClient(...)``, or :meth:`aclose`) when its
    sessions are done. Like a manager, it serves one event loop at a time and
    opens its connections again on a new one; used from a second loop while
    the first runs (another thread), a call raises :class:`InvalidStateException`.

    Args:
        config: Where the pools are and the session policy, or an app client's
            own credentials (every manager made from it is then that client's
            machine-to-machine session).
        max_connections: Calls to Cognito on the wire at once, and connections
            kept, at most (100).
        transport: What sends Cognito calls (e.g. a ``FakeCognito`` in tests);
            by default aiohttp's. A given transport is never closed here.

    Raises:
        InvalidParameterException: ``max_connections`` is not a positive integer.
    """

    def __init__(
        self,
        config: AuthConfig | ClientCredentialsConfig,
        *,
        max_connections: int = DEFAULT_MAX_CALLS,
        transport: Transport | None = None,
    ) -> None:
        whole = isinstance(max_connections, int) and not isinstance(max_connections, bool)
        if not whole or max_connections < 1:
            raise InvalidParameterException("max_connections must be a positive integer")
        self.client_credentials = isinstance(config, ClientCredentialsConfig)
        auth = config.auth_config if isinstance(config, ClientCredentialsConfig) else config
        self._config = auth
        self._session = LoopSession(auth.request_timeout, limit=max_connections)
        self._gate = CallGate(max_connections)
        self.transport = CognitoTransport(auth, transport, gate=self._gate, session=self._session)
        self.oauth = (
            OAuthEndpoints(auth, gate=self._gate, session=self._session)
            if auth.oauth is not None
            else None
        )
        # The API calls hold no state of a session: one of each serves them all.
        self.user_pool = UserPoolClient(self.transport, auth)
        self.devices = DeviceCalls(self.transport, auth)
        self.identity_pool = (
            IdentityPoolClient(self.transport, auth) if auth.identity_pool_id else None
        )

    def __repr__(self) -> str:
        return (
            f"CognitoClient(client_id={self._config.user_pool_client_id!r}, "
            f"max_connections={self._gate.max_calls}, open={self._session.is_open})"
        )

    @property
    def config(self) -> AuthConfig:
        """The configuration (for a ClientCredentialsConfig, the AuthConfig it stands for)."""
        return self._config

    @property
    def max_connections(self) -> int:
        """Calls on the wire at once, and connections kept, at most."""
        return self._gate.max_calls

    @property
    def calls_in_flight(self) -> int:
        """Calls on the wire now (the others queue for a slot)."""
        return self._gate.in_flight

    @property
    def peak_calls_in_flight(self) -> int:
        """The most calls that were ever on the wire at once."""
        return self._gate.peak

    async def __aenter__(self) -> CognitoClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections; a later call opens new ones."""
        # Every connection of the client is in this session (the default transport's
        # and the OAuth endpoints'); a transport given to the client stays its giver's.
        await self._session.aclose()
