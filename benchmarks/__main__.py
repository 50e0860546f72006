"""Run the benchmarks: ``nox -s bench``. Prints tables, writes benchmarks/results.json
and the README's plot (docs/boundary-latency.png).

``nox -s bench -- m2m_fleet fleet`` (or ``python -m benchmarks m2m_fleet``) runs
only the named ones and replaces only their keys in results.json.

Peers are measured in the same run and compared as ratios: these machines are
shared and noisy, so absolute times vary from run to run.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from amplify_session.emulator import Emulator

from . import (
    boundary,
    cached_fetch,
    cost,
    fleet,
    herd,
    m2m_fleet,
    many_users,
    serve,
    serve_http,
    srp,
    verify,
)
from ._stats import table
from .plot import boundary_plot

HERE = Path(__file__).parent
RESULTS = HERE / "results.json"
PLOT = HERE.parent / "docs" / "boundary-latency.png"

Rows = dict[str, dict[str, float]]
#: results.json key -> the benchmark, in the order they run.
ON_EMULATOR: dict[str, Callable[[Emulator], Awaitable[Rows]] | None] = {
    "cached_fetch_ns": cached_fetch.measure,
    "herd": herd.measure,
    "refresh_boundary_ns": None,  # boundary.measure: it also gives the plot's series
    "cost": cost.measure,
    "fleet": fleet.measure,
    "m2m_fleet": m2m_fleet.measure,
    "many_users": many_users.measure,
}
ALONE: dict[str, Callable[[], Awaitable[Rows]]] = {
    "verify_ns": verify.measure,
    "srp_ms": srp.measure,
    "serve": serve.measure,
    "serve_http": serve_http.measure,
}


def _chosen(names: list[str]) -> set[str]:
    known = [*ON_EMULATOR, *ALONE]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    return set(names or known)


def main(names: list[str]) -> None:
    chosen = _chosen(names)
    results: dict[str, Rows] = {}
    series: Any = None
    if chosen & set(ON_EMULATOR):
        with Emulator() as emulator:
            for key, measure in ON_EMULATOR.items():
                if key not in chosen:
                    continue
                if measure is None:
                    results[key], series = asyncio.run(boundary.measure(emulator))
                else:
                    results[key] = asyncio.run(measure(emulator))
    for key, alone in ALONE.items():
        if key in chosen:
            results[key] = asyncio.run(alone())
    for title, rows in results.items():
        if rows:
            print(f"\n{table(title, rows)}")
    written = [str(RESULTS)]
    if series is not None:
        boundary_plot(series, PLOT)
        written.append(str(PLOT))
    # A partial run keeps the other benchmarks' figures.
    document = json.loads(RESULTS.read_text()) if names and RESULTS.exists() else {}
    document.update(_machine())
    document.update(results)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {' and '.join(written)}")
    print(", ".join(f"{key}: {value}" for key, value in _machine().items()))


def _machine() -> dict[str, Any]:
    """Where the figures were measured: ratios hold on this machine, in this run."""
    return {
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }


if __name__ == "__main__":
    main(sys.argv[1:])
