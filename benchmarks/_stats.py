"""Timing helpers shared by the benchmarks: samples in ns, summaries, tables."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable


async def sample_async(call: Callable[[], Awaitable[object]], rounds: int) -> list[int]:
    """Nanoseconds of each of ``rounds`` awaits of ``call()``."""
    clock, timings = time.perf_counter_ns, []
    for _ in range(rounds):
        start = clock()
        await call()
        timings.append(clock() - start)
    return timings


def sample_sync(call: Callable[[], object], rounds: int) -> list[int]:
    """Nanoseconds of each of ``rounds`` calls of ``call()``."""
    clock, timings = time.perf_counter_ns, []
    for _ in range(rounds):
        start = clock()
        call()
        timings.append(clock() - start)
    return timings


def summary(timings: list[int] | list[float]) -> dict[str, float]:
    """Median, p99, p99.9 and max of the samples."""
    ordered = sorted(timings)
    at = lambda q: float(ordered[min(len(ordered) - 1, int(len(ordered) * q))])  # noqa: E731
    return {
        "median": float(statistics.median(ordered)),
        "p99": at(0.99),
        "p999": at(0.999),
        "max": float(ordered[-1]),
        "samples": float(len(ordered)),
    }


def table(title: str, rows: dict[str, dict[str, float]]) -> str:
    """A plain-text table of ``rows`` (one column per key of the first row)."""
    columns = list(dict.fromkeys(c for row in rows.values() for c in row))
    lines = [title, f"{'case':<36}" + "".join(f"{c:>16}" for c in columns)]
    for name, row in rows.items():
        cells = "".join(f"{row[c]:>16.2f}" if c in row else f"{'':>16}" for c in columns)
        lines.append(f"{name:<36}{cells}")
    return "\n".join(lines)
