"""Server-side SRP-6a for PASSWORD_VERIFIER, written independently of the client's module.

USER_SRP_AUTH, CUSTOM_AUTH with ``CHALLENGE_NAME: "SRP_A"`` and USER_AUTH's
PASSWORD_SRP all prove the password this way. moto accepts any proof; the
front checks it, so a wrong password fails the PASSWORD_VERIFIER step as it
does against Cognito.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import attrs

from ..testing._server_checks import InsecureSrpA, PasswordVerifier, Refused, SrpChallenge
from ._moto_backend import canonical_name, pool_name

__all__ = ["SrpSessions", "well_formed_timestamp"]

_TIMESTAMP = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[1-9]\d? \d\d:\d\d:\d\d UTC \d{4}"
)
_WRONG = "Incorrect username or password."

T = TypeVar("T")


def well_formed_timestamp(timestamp: str) -> bool:
    """TIMESTAMP as Cognito's clients write it: ``Tue Mar 5 09:07:02 UTC 2024``."""
    return _TIMESTAMP.fullmatch(timestamp) is not None


@attrs.define
class _SrpState(Generic[T]):
    client_id: str
    canonical: str
    exchange: SrpChallenge
    then: T
    session: str | None
    expires_at: float


class SrpSessions(Generic[T]):
    """The PASSWORD_VERIFIER challenges issued and not yet answered, by secret block.

    Each keeps what the sign-in does once the password is proven (``then``).
    The arithmetic is the in-memory fake's (``testing._server_checks``): one
    server-side SRP, written apart from the client's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _SrpState[T]] = {}

    def challenge(
        self, pool: Any, client: Any, user: Any, srp_a: str, then: T, *, session: bool, ttl: float
    ) -> dict[str, Any]:
        """The PASSWORD_VERIFIER challenge for ``user``, answerable for ``ttl`` seconds.

        ``session``: the challenge comes with a Session the answer must carry
        (custom auth and USER_AUTH); USER_SRP_AUTH's has none.
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
        session_id = str(uuid.uuid4()) if session else None
        with self._lock:
            self._states[exchange.secret_block] = _SrpState(
                client.id, canonical, exchange, then, session_id, time.monotonic() + ttl
            )
        answer: dict[str, Any] = {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                **exchange.parameters,
                "USER_ID_FOR_SRP": canonical,
                "USERNAME": canonical,
            },
        }
        if session_id is not None:
            answer["Session"] = session_id
        return answer

    def verify(self, pool: Any, client: Any, session: object, responses: Mapping[str, str]) -> T:
        """Check a PASSWORD_VERIFIER answer (once); what the sign-in does next."""
        block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")
        with self._lock:
            state = self._states.pop(block, None)
        if state is None or state.client_id != client.id:
            raise Refused("NotAuthorizedException", _WRONG)
        if state.session is not None and session != state.session:
            raise Refused("NotAuthorizedException", "Invalid session for the user.")
        if time.monotonic() > state.expires_at:
            raise Refused(
                "NotAuthorizedException", "Invalid session for the user, session is expired."
            )
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
        return state.then
