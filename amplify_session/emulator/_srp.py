"""Server-side SRP-6a for USER_SRP_AUTH, written independently of the client's module.

moto accepts any proof; the front checks it, so a wrong password fails the
PASSWORD_VERIFIER step as it does against Cognito.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

import attrs

from ..testing._server_checks import InsecureSrpA, PasswordVerifier, Refused, SrpChallenge
from ._moto_backend import canonical_name, pool_name

__all__ = ["SrpSessions", "well_formed_timestamp"]

_TIMESTAMP = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[1-9]\d? \d\d:\d\d:\d\d UTC \d{4}"
)
_WRONG = "Incorrect username or password."


def well_formed_timestamp(timestamp: str) -> bool:
    """TIMESTAMP as Cognito's clients write it: ``Tue Mar 5 09:07:02 UTC 2024``."""
    return _TIMESTAMP.fullmatch(timestamp) is not None


@attrs.define
class _SrpState:
    client_id: str
    login: str
    canonical: str
    exchange: SrpChallenge
    device_key: str | None


class SrpSessions:
    """The PASSWORD_VERIFIER challenges issued and not yet answered, by secret block.

    The arithmetic is the in-memory fake's (``testing._server_checks``): one
    server-side SRP, written apart from the client's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _SrpState] = {}

    def challenge(
        self, pool: Any, client: Any, login: str, user: Any, srp_a: str, device_key: str | None
    ) -> dict[str, Any]:
        """Answer USER_SRP_AUTH: the PASSWORD_VERIFIER challenge for ``user``.

        ``device_key`` (InitiateAuth's DEVICE_KEY) is kept for the answer.
        """
        canonical = canonical_name(pool, user)
        # moto keeps the password itself: the verifier is made per exchange.
        verifier = PasswordVerifier.create(
            pool_name=pool_name(pool), user_id=canonical, password=user.password
        )
        try:
            exchange = SrpChallenge(verifier, srp_a)
        except InsecureSrpA:
            raise Refused("NotAuthorizedException", _WRONG) from None
        except ValueError:
            raise Refused("InvalidParameterException", "SRP_A is not a valid number") from None
        with self._lock:
            self._states[exchange.secret_block] = _SrpState(
                client.id, login, canonical, exchange, device_key
            )
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                **exchange.parameters,
                "USER_ID_FOR_SRP": canonical,
                "USERNAME": canonical,
            },
        }

    def verify(
        self, pool: Any, client: Any, responses: Mapping[str, str]
    ) -> tuple[str, str | None]:
        """Check a PASSWORD_VERIFIER answer (once).

        Returns the login that proved its password, and the DEVICE_KEY its
        InitiateAuth sent.
        """
        block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")
        with self._lock:
            state = self._states.pop(block, None)
        if state is None or state.client_id != client.id:
            raise Refused("NotAuthorizedException", _WRONG)
        timestamp = responses.get("TIMESTAMP", "")
        if not well_formed_timestamp(timestamp) or responses.get("USERNAME") != state.canonical:
            raise Refused("InvalidParameterException", "TIMESTAMP or USERNAME is malformed.")
        proved = state.exchange.proves_password(
            pool_name=pool_name(pool),
            user_id=state.canonical,
            secret_block=block,
            timestamp=timestamp,
            signature=responses.get("PASSWORD_CLAIM_SIGNATURE", ""),
        )
        if not proved:
            raise Refused("NotAuthorizedException", _WRONG)
        return state.login, state.device_key
