"""moto's server in a thread of this process, and its token lifetimes.

moto issues every token with a one-hour lifetime; :func:`patch_moto_token_lifetimes`
makes it honour the app client's ``AccessTokenValidity`` / ``IdTokenValidity``
(in any ``TokenValidityUnits``, and below Cognito's five-minute floor) so
refresh can be exercised in seconds. Like ``_moto_backend.py``, this module
reaches into moto's internals (``CognitoIdpUserPool.create_jwt``,
``extended_config``, its werkzeug application).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

__all__ = ["MotoServer", "patch_moto_token_lifetimes"]

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _client_token_lifetime(pool: Any, client_id: str, token_use: str) -> int | None:
    client = pool.clients.get(client_id)
    if client is None:
        return None
    settings = client.extended_config
    prefix = "AccessToken" if token_use == "access" else "IdToken"  # noqa: S105
    validity = settings.get(f"{prefix}Validity")
    if validity is None:
        return None
    unit = settings.get("TokenValidityUnits", {}).get(prefix, "hours")
    return int(validity) * _UNIT_SECONDS[unit]


@functools.cache
def patch_moto_token_lifetimes() -> None:
    """Make moto issue tokens that live as long as the app client says (idempotent)."""
    from moto.cognitoidp.models import CognitoIdpUserPool

    issue = CognitoIdpUserPool.create_jwt

    def create_jwt(
        self: Any,
        client_id: str,
        username: str,
        token_use: str,
        expires_in: int = 60 * 60,
        extra_data: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        lifetime = _client_token_lifetime(self, client_id, token_use)
        return issue(self, client_id, username, token_use, lifetime or expires_in, extra_data)

    CognitoIdpUserPool.create_jwt = create_jwt  # type: ignore[method-assign]


# Headers that http.server writes for every answer and moto writes again among its own.
_WRITTEN_TWICE = frozenset({"server", "date"})


def _moto_request_handler() -> type[Any]:
    """moto's request handler, writing each of ``_WRITTEN_TWICE`` once.

    http.server names itself in a ``Server`` header, then moto's answer names
    itself again (``server: amazon.com``). RFC 9110 allows one; aiohttp refuses
    two in Python's development mode (``BadHttpMessage: Duplicate 'Server'
    header``), which broke the front and every aiohttp client of the emulator.
    """
    from moto.moto_server import werkzeug_app
    from werkzeug.serving import WSGIRequestHandler

    # Recent moto keeps S3 metadata header names in a handler of its own.
    base: type[WSGIRequestHandler] = getattr(werkzeug_app, "MotoRequestHandler", WSGIRequestHandler)

    class OnceEachHandler(base):  # type: ignore[misc,valid-type]
        def send_response_only(self, code: int, message: str | None = None) -> None:
            self._written: set[str] = set()
            super().send_response_only(code, message)

        def send_header(self, keyword: str, value: str) -> None:
            name = keyword.lower()
            if name in _WRITTEN_TWICE:
                if name in self._written:
                    return
                self._written.add(name)
            super().send_header(keyword, value)

    return OnceEachHandler


class MotoServer:
    """moto's server application on 127.0.0.1, from a daemon thread."""

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=_moto_request_handler()
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)
        self._server.server_close()
