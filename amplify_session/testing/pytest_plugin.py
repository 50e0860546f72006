"""A pytest plugin (registered automatically) for testing services against the emulator.

Fixtures:

- ``cognito_emulator`` (session): the embedded emulator, started once.
- ``cognito_pool``: a fresh user pool, app client, identity pool and user for
  each test (the emulator is reset first); ``cognito_pool.config()`` is an
  ``AuthConfig`` pointing at it.
- ``fake_clock``: a :class:`FakeClock` for ``SessionManager(clock=...)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._clock import FakeClock
from ._emulator import EmulatedPool, Emulator


@pytest.fixture(scope="session")
def cognito_emulator() -> Iterator[Emulator]:
    """The embedded emulator (moto's server and the strict front), for the session."""
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def cognito_pool(cognito_emulator: Emulator) -> EmulatedPool:
    """A fresh pool, app client, identity pool and confirmed user."""
    cognito_emulator.reset()
    return cognito_emulator.provision()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A wall clock that moves only when advanced."""
    return FakeClock()
