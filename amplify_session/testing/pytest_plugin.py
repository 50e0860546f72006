"""A pytest plugin, registered automatically when amplify-session is installed.

It imports nothing but this package's light helpers, so collecting any test
suite in an environment with amplify-session installed stays cheap; its
fixtures are prefixed ``amplify_`` so that they never shadow yours.

Fixtures:

- ``amplify_fake_clock``: a :class:`~amplify_session.testing.FakeClock` for
  ``SessionManager(clock=...)``.
- ``amplify_fake_cognito``: a :class:`~amplify_session.testing.FakeCognito`
  on that clock, with one user (``alice`` / ``Passw0rd!``); build managers
  with ``SessionManager(fake.config(), transport=fake, clock=amplify_fake_clock)``.

The embedded emulator's fixtures (``amplify_emulator``, ``amplify_pool``) are
opt-in: see ``amplify_session.emulator.pytest_plugin``.
"""

from __future__ import annotations

import pytest

from ._clock import FakeClock
from ._fake_cognito import FakeCognito


@pytest.fixture
def amplify_fake_clock() -> FakeClock:
    """A wall clock that moves only when advanced."""
    return FakeClock()


@pytest.fixture
def amplify_fake_cognito(amplify_fake_clock: FakeClock) -> FakeCognito:
    """An in-memory Cognito on ``amplify_fake_clock``, with the user ``alice``."""
    fake = FakeCognito(clock=amplify_fake_clock)
    fake.add_user("alice", "Passw0rd!")
    return fake
