"""Run the benchmarks: `nox -s bench`. Prints tables and writes benchmarks/results.json."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from amplify_session.testing import Emulator

from . import cached_fetch, srp

RESULTS = Path(__file__).with_name("results.json")


def _table(title: str, rows: dict[str, dict[str, float]]) -> None:
    columns = list(next(iter(rows.values())))
    print(f"\n{title}")
    print(f"{'case':<22}" + "".join(f"{c:>20}" for c in columns))
    for name, row in rows.items():
        print(f"{name:<22}" + "".join(f"{row[c]:>20.2f}" for c in columns))


def main() -> None:
    with Emulator() as emulator:
        fetch = asyncio.run(cached_fetch.measure(emulator))
    srp_rows = asyncio.run(srp.measure())
    _table("cached fetch_auth_session (ns; ratio to the floor)", fetch)
    _table("client-side SRP (ms)", srp_rows)
    RESULTS.write_text(json.dumps({"cached_fetch": fetch, "srp": srp_rows}, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
