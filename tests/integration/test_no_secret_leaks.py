"""A full session cycle at DEBUG: no token, password or secret in any log, repr, str or error."""

from __future__ import annotations

import logging

import pytest

from amplify_session import (
    AuthError,
    EventName,
    MemoryStorage,
    SessionEvent,
    SessionManager,
)
from amplify_session.emulator import EmulatedPool, Emulator
from amplify_session.testing import FakeClock
from tests.support.retry import fast_retry

pytestmark = pytest.mark.anyio


async def test_no_secret_reaches_logs_reprs_or_errors(
    secret_pool: EmulatedPool, amplify_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pool, clock, storage = secret_pool, FakeClock(), MemoryStorage()
    wrong_password = pool.password + "-wrong"
    texts: list[str] = []
    events: list[SessionEvent] = []
    config = pool.config(retry=fast_retry(2))
    async with SessionManager(config, storage=storage, clock=clock) as manager:
        manager.subscribe(events.append)
        try:
            await manager.sign_in(pool.username, wrong_password)
        except AuthError as err:
            texts += [str(err), repr(err)]
        await manager.sign_in(pool.username, pool.password)
        sessions = [await manager.fetch_auth_session()]
        sessions.append(await manager.fetch_auth_session(force_refresh=True))
        amplify_emulator.front.inject("InitiateAuth", 503, times=2)
        clock.advance(3600)
        try:
            await manager.fetch_auth_session()
        except AuthError as err:
            texts += [str(err), repr(err)]
        sessions.append(await manager.fetch_auth_session())
        user = await manager.get_current_user()
        texts += [repr(manager), repr(user), repr(config), str(config)]
        await manager.sign_out()
        amplify_emulator.front.inject("RevokeToken", "reset", times=5)
        texts.append(repr(manager))
    for session in sessions:
        texts += [repr(session), str(session), repr(session.tokens), repr(session.credentials)]
    texts += [repr(event) for event in events]
    texts += [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    combined = "\n".join(texts)

    secrets = {pool.password, wrong_password, pool.client_secret or "missing"}
    for session in sessions:
        assert session.tokens is not None
        assert session.credentials is not None
        secrets |= {
            str(session.tokens.access_token),
            str(session.tokens.id_token),
            session.tokens.refresh_token or "missing",
            session.credentials.secret_access_key,
            session.credentials.session_token or "missing",
        }
    for secret in secrets:
        assert secret not in combined
    assert {EventName.SIGNED_IN, EventName.TOKEN_REFRESH, EventName.SIGNED_OUT} <= {
        e.name for e in events
    }
    assert len(caplog.records) > 10  # the cycle was logged, at DEBUG
