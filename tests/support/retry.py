"""Retry policies that keep tests quick: tiny waits, an explicit number of attempts."""

from __future__ import annotations

from amplify_session import RetryPolicy


def fast_retry(attempts: int, *, timeout: float = 10.0) -> RetryPolicy:
    """``attempts`` calls in all, a few milliseconds apart, within ``timeout`` seconds."""
    return RetryPolicy(
        attempts=attempts, timeout=timeout, wait_initial=0.01, wait_max=0.01, wait_jitter=0
    )
