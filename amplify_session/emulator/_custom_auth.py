"""Custom authentication: what a pool's Define/Create/Verify Auth Challenge Lambdas would do.

A test scripts the rounds of a pool (``StrictFront.script_custom_challenge``):
round i is issued as CUSTOM_CHALLENGE with its parameters, the right answer
issues the next round (or the tokens after the last), a wrong one fails the
authentication. An unscripted pool asks one question, answered by the front's
``mfa_code``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["CustomRound", "CustomScripts"]


def _read_only(parameters: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(parameters))


@attrs.frozen
class CustomRound:
    """One custom challenge: the ChallengeParameters it shows, and the answer it accepts.

    Attributes:
        parameters: Shown beside USERNAME in the CUSTOM_CHALLENGE's ChallengeParameters
            (the Create Auth Challenge Lambda's publicChallengeParameters).
        answer: The ANSWER the Verify Auth Challenge Lambda accepts.
    """

    parameters: Mapping[str, str] = attrs.field(converter=_read_only)
    answer: str = attrs.field(repr=False)


class CustomScripts:
    """The custom-challenge script of each pool that has one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, tuple[CustomRound, ...]] = {}

    def script(self, user_pool_id: str, rounds: tuple[CustomRound, ...]) -> None:
        """Every CUSTOM_AUTH sign-in of the pool from now on asks ``rounds``."""
        with self._lock:
            self._scripts[user_pool_id] = rounds

    def rounds(self, user_pool_id: str, default_answer: str) -> tuple[CustomRound, ...]:
        """The rounds a sign-in starting now asks."""
        with self._lock:
            scripted = self._scripts.get(user_pool_id)
        if scripted is None:
            return (CustomRound({"question": "code?"}, answer=default_answer),)
        return scripted
