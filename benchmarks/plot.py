"""The README's plot: caller latency over time across refreshes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def boundary_plot(series: dict[str, list[tuple[float, int]]], path: Path) -> None:
    """Scatter of each call's latency (µs, log scale) against seconds since its run began."""
    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=110)
    # The baseline first, so that ours is drawn on top of it.
    colors = {
        "lazy refresh-on-expiry": "tab:red",
        "amplify_session (background refresh)": "tab:blue",
    }
    for name, color in colors.items():
        samples = series[name]
        start = samples[0][0]
        axes.scatter(
            [t - start for t, _ in samples],
            [ns / 1000 for _, ns in samples],
            s=2,
            alpha=0.35,
            color=color,
            label=name,
            rasterized=True,
        )
    axes.set_yscale("log")
    axes.set_xlabel("seconds (4-second tokens, refreshed over and over)")
    axes.set_ylabel("fetch latency (µs, log scale)")
    axes.set_title("Caller latency across refreshes: background refresh vs refresh on expiry")
    axes.legend(markerscale=6, loc="upper right")
    axes.grid(True, which="major", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
