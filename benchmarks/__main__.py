"""Run the benchmarks: ``nox -s bench``. Prints tables, writes benchmarks/results.json
and the README's plot (docs/boundary-latency.png).

Peers are measured in the same run and compared as ratios: these machines are
shared and noisy, so absolute times vary from run to run.
"""

from __future__ import annotations

import asyncio
import json
import platform
from pathlib import Path

from amplify_session.emulator import Emulator

from . import boundary, cached_fetch, cost, fleet, herd, srp, verify
from ._stats import table
from .plot import boundary_plot

HERE = Path(__file__).parent
RESULTS = HERE / "results.json"
PLOT = HERE.parent / "docs" / "boundary-latency.png"


def main() -> None:
    results: dict[str, dict[str, dict[str, float]]] = {}
    with Emulator() as emulator:
        results["cached_fetch_ns"] = asyncio.run(cached_fetch.measure(emulator))
        results["herd"] = asyncio.run(herd.measure(emulator))
        results["refresh_boundary_ns"], series = asyncio.run(boundary.measure(emulator))
        results["cost"] = asyncio.run(cost.measure(emulator))
        results["fleet"] = asyncio.run(fleet.measure(emulator))
    results["verify_ns"] = asyncio.run(verify.measure())
    results["srp_ms"] = asyncio.run(srp.measure())
    for title, rows in results.items():
        if rows:
            print(f"\n{table(title, rows)}")
    boundary_plot(series, PLOT)
    document = {"machine": platform.platform(), "python": platform.python_version(), **results}
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()
