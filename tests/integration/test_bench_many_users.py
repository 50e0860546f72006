"""The many_users benchmark runs (at a small size): its worker restores, refreshes and reports."""

from __future__ import annotations

import pytest

from amplify_session.emulator import Emulator
from benchmarks import many_users

pytestmark = pytest.mark.anyio


async def test_every_row_refreshes_every_session_once(amplify_emulator: Emulator) -> None:
    rows = await many_users.measure(amplify_emulator, sessions=20)
    assert len(rows) == len(many_users.ROWS)
    for figures in rows.values():
        assert figures["sessions_refreshed"] == 20
        assert figures["refresh_calls"] == 20
        assert figures["expired_tokens_served"] == 0
        assert figures["background_tasks"] == 20
        assert 0 < figures["peak_sockets"] <= 20
