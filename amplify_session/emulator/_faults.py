"""Fault injection: scripted faults per operation, random ones, and the answers they make."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from typing import Any, TypeAlias

from aiohttp import web

from ._wire import error_response

__all__ = ["Fault", "FaultInjector", "check_fault", "fault_response"]

#: An HTTP status, a Cognito error name, "reset", "stall", a delay or "late:<seconds>".
Fault: TypeAlias = int | float | str


class FaultInjector:
    """The faults to inject: scripted ones first, then random ones (:meth:`chaos`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every fault and start counting again."""
        with self._lock:
            self._scripted: list[tuple[str, Fault, int]] = []
            self._chaos: tuple[float, tuple[Any, ...], tuple[str, ...], random.Random] | None = None
            #: Faults injected per operation.
            self.injected: Counter[str] = Counter()

    def inject(self, operation: str, fault: Fault, *, times: int = 1) -> None:
        """Fault the next ``times`` calls of ``operation`` ("*" for any)."""
        check_fault(fault)
        with self._lock:
            self._scripted.append((operation, fault, times))

    def clear(self) -> None:
        """Stop injecting faults (scripted and random)."""
        with self._lock:
            self._scripted.clear()
            self._chaos = None

    def chaos(
        self, rate: float, faults: tuple[Fault, ...], operations: tuple[str, ...], seed: int
    ) -> None:
        """Fault each call of ``operations`` with probability ``rate``, with one of ``faults``."""
        with self._lock:
            for fault in faults:
                check_fault(fault)
            self._chaos = (rate, faults, operations, random.Random(seed))  # noqa: S311

    def take(self, operation: str) -> Fault | None:
        """The fault for this call of ``operation``, if any (counted unless a mere delay)."""
        with self._lock:
            fault = self._take_scripted(operation)
            if fault is None and self._chaos is not None:
                rate, faults, operations, rng = self._chaos
                if (operation in operations or "*" in operations) and rng.random() < rate:
                    fault = rng.choice(faults)
            if fault is not None and not isinstance(fault, float):
                self.injected[operation] += 1
            return fault

    def _take_scripted(self, operation: str) -> Fault | None:
        for index, (op, fault, times) in enumerate(self._scripted):
            if op in (operation, "*"):
                if times <= 1:
                    del self._scripted[index]
                else:
                    self._scripted[index] = (op, fault, times - 1)
                return fault
        return None


async def fault_response(request: web.Request, fault: int | str) -> web.StreamResponse:
    """The answer a fault makes (for "reset": none, the connection is dropped)."""
    if fault == "reset":
        assert request.transport is not None
        request.transport.close()
        return web.Response()
    if fault == "stall":
        await asyncio.sleep(3600)
    if isinstance(fault, int):
        return web.Response(status=fault, text="<html>fault</html>")
    return error_response(fault, "injected fault")


def check_fault(fault: Fault) -> None:
    """Refuse a ``late:`` fault whose delay is not a number of seconds, when injected."""
    if isinstance(fault, str) and fault.startswith("late:"):
        try:
            delay = float(fault.removeprefix("late:"))
        except ValueError:
            delay = -1.0
        if not 0 <= delay < 3600:
            raise ValueError(f"{fault!r}: 'late:' takes seconds, e.g. 'late:1.0'")
