from __future__ import annotations

import gc
import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest

from amplify_session.emulator import EmulatedPool, Emulator
from tests.support.redis_server import RedisServer

# The embedded emulator's fixtures (amplify_emulator, amplify_pool), as users opt in to them.
pytest_plugins = ["amplify_session.emulator.pytest_plugin"]


@pytest.fixture
def anyio_backend() -> str:
    # aiohttp and aiobotocore run on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """An empty Redis."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes, killed if a test ends before they do."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.fixture
def pool(amplify_emulator: Emulator) -> EmulatedPool:
    """A fresh pool, client, identity pool and user; tokens live an hour."""
    amplify_emulator.reset()
    return amplify_emulator.provision(
        user_attributes=[("custom:team", "blue"), ("name", "Alice Smith")]
    )


@pytest.fixture
def secret_pool(amplify_emulator: Emulator) -> EmulatedPool:
    """Like ``pool`` but the app client has a secret (moto checks SECRET_HASH on refresh)."""
    amplify_emulator.reset()
    return amplify_emulator.provision(generate_secret=True)


@pytest.fixture
def short_pool(amplify_emulator: Emulator) -> EmulatedPool:
    """Tokens that really expire after two seconds."""
    amplify_emulator.reset()
    return amplify_emulator.provision(token_validity=timedelta(seconds=2))


@pytest.fixture
def tracking_pool(amplify_emulator: Emulator) -> EmulatedPool:
    """Device tracking "always", MFA required (SMS, the front's ``mfa_code``)."""
    amplify_emulator.reset()
    return amplify_emulator.provision(device_tracking="always", mfa_required=True)


@pytest.fixture
def opt_in_pool(amplify_emulator: Emulator) -> EmulatedPool:
    """Device tracking only when the user opts in (UpdateDeviceStatus), MFA required."""
    amplify_emulator.reset()
    return amplify_emulator.provision(device_tracking="user_opt_in", mfa_required=True)


@pytest.fixture(autouse=True)
def _no_leaks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    # An unclosed session or socket warns when collected: collect now, so the
    # warning (an error here) names the test that leaked it. asyncio reports
    # "Task was destroyed but it is pending" and unretrieved task exceptions
    # in its log instead: those fail the test too.
    yield
    gc.collect()
    asyncio_errors = [
        r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= 40
    ]
    assert not asyncio_errors
