"""Test helpers that stay light: a fake clock, an in-memory Cognito, and a
compliance suite for storage backends.

- :class:`FakeClock`: pass it as ``SessionManager(clock=...)`` and move time
  yourself (the ``amplify_fake_clock`` fixture of this package's pytest
  plugin, which pytest loads on its own, hands out one per test).
- :class:`FakeCognito`: a User Pool and an Identity Pool in memory, passed as
  ``SessionManager(fake.config(), transport=fake)``: no sockets, no threads,
  no moto (the ``amplify_fake_cognito`` fixture).
- ``amplify_session.testing.storage_suite``: the tests every
  ``KeyValueStorage`` and ``LockingStorage`` must pass, for your own backend
  to subclass (it imports pytest, so it is not imported here).

The embedded moto emulator is in ``amplify_session.emulator`` (the
``emulator`` extra), which this package never imports.
"""

from ._clock import FakeClock
from ._fake_cognito import FakeCognito

__all__ = ["FakeClock", "FakeCognito"]
