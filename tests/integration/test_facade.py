"""The module-level API across successive asyncio.run() calls."""

import asyncio
import gc

import pytest

import amplify_session
from amplify_session import InvalidConfigurationException, MemoryStorage, SessionManager
from amplify_session.emulator import EmulatedPool


@pytest.fixture(autouse=True)
def _unconfigured() -> None:
    amplify_session._facade._default.__init__()  # type: ignore[misc]


def test_facade_survives_successive_event_loops(pool: EmulatedPool) -> None:
    storage = MemoryStorage()
    amplify_session.configure(pool.config(), storage=storage)
    managers: list[SessionManager] = []

    async def first_run() -> str:
        result = await amplify_session.sign_in(
            pool.username, pool.password, auth_flow="USER_PASSWORD_AUTH"
        )
        assert result.is_signed_in
        managers.append(amplify_session.get_manager())
        assert amplify_session.get_manager() is managers[0]
        session = await amplify_session.fetch_auth_session()
        assert session.tokens is not None
        return str(session.tokens.access_token)

    async def second_run() -> str:
        managers.append(amplify_session.get_manager())
        user = await amplify_session.get_current_user()
        assert user.username == pool.username
        session = await amplify_session.fetch_auth_session()
        assert session.credentials is not None
        assert session.tokens is not None
        await amplify_session.sign_out()
        assert (await amplify_session.fetch_auth_session()).tokens is None
        return str(session.tokens.access_token)

    token = asyncio.run(first_run())
    assert asyncio.run(second_run()) == token
    assert managers[0] is not managers[1]
    gc.collect()  # an unclosed aiohttp session would warn here, and warnings are errors


def test_unconfigured_facade_says_so() -> None:
    async def run() -> None:
        await amplify_session.fetch_auth_session()

    with pytest.raises(InvalidConfigurationException, match="configure"):
        asyncio.run(run())
