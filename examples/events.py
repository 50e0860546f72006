"""Print every change of the session: sign-in, background refreshes, sign-out."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from amplify_session import EventName, SessionEvent, SessionManager
from amplify_session.emulator import Emulator


def log_change(event: SessionEvent) -> None:
    user = event.session.user_sub if event.session else None
    failure = f" ({event.error.name})" if event.error else ""
    print(f"{event.name.value}: user={user}{failure}")


async def main(emulator: Emulator) -> None:
    pool = emulator.provision(token_validity=timedelta(seconds=4))
    config = pool.config(identity_pool_id=None, expiry_tolerance=0.5)
    async with SessionManager(config) as manager:
        manager.subscribe(log_change)
        async with manager.events(events={EventName.TOKEN_REFRESH}) as refreshes:
            await manager.sign_in(pool.username, pool.password)
            for _ in range(2):  # two background refreshes, nobody asking
                await refreshes.__anext__()
        await manager.sign_out()
        await asyncio.sleep(0.1)  # let the listener print the last event


if __name__ == "__main__":
    with Emulator() as running:
        asyncio.run(main(running))
