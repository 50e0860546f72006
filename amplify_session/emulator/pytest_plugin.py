"""Opt-in pytest fixtures for testing services against the embedded emulator.

Not registered automatically (it starts moto): name it in your root
``conftest.py``::

    pytest_plugins = ["amplify_session.emulator.pytest_plugin"]

Fixtures:

- ``amplify_emulator`` (session): the embedded emulator, started once.
- ``amplify_pool``: a fresh user pool, app client, identity pool and user for
  each test (the emulator is reset first); ``amplify_pool.config()`` is an
  ``AuthConfig`` pointing at it.

``amplify_fake_clock`` comes from ``amplify_session.testing.pytest_plugin``,
which pytest loads on its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._emulator import EmulatedPool, Emulator


@pytest.fixture(scope="session")
def amplify_emulator() -> Iterator[Emulator]:
    """The embedded emulator (moto's server and the strict front), for the session."""
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def amplify_pool(amplify_emulator: Emulator) -> EmulatedPool:
    """A fresh pool, app client, identity pool and confirmed user."""
    amplify_emulator.reset()
    return amplify_emulator.provision()
