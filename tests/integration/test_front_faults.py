"""The strict front's new "late:<seconds>" fault."""

from __future__ import annotations

import pytest

from amplify_session.emulator import Emulator


@pytest.mark.parametrize("fault", ["late:soon", "late:", "late:1s"])
def test_a_malformed_late_fault_is_refused_when_injected(
    amplify_emulator: Emulator, fault: str
) -> None:
    # Accepted today, it fails inside the request handler instead: aiohttp answers 500 (which
    # the client retries) and logs a traceback, so a test "passes" with a different fault.
    try:
        with pytest.raises(ValueError, match="late"):
            amplify_emulator.front.inject("InitiateAuth", fault)
    finally:
        amplify_emulator.front.clear_faults()
