"""The engine through the token-source seam, with sources written here (no Cognito).

What the engine promises a source: it is asked to renew only when the session
is due, a renewal that fails with an error whose ``ends_session`` is true ends
the session (any other leaves it served while usable), and a source whose
tokens carry no refresh token keeps its session by renewing however it can.
"""

from __future__ import annotations

import itertools
import random

import pytest

from amplify_session import (
    AuthConfig,
    AuthError,
    NetworkError,
    NotAuthorizedException,
)
from amplify_session._cognito import AuthenticationResult, Challenge
from amplify_session._credentials import IdentityCredentials
from amplify_session._errors import _COGNITO_ERRORS
from amplify_session._events import EventHub
from amplify_session._jwt import decode_jwt
from amplify_session._session_core import SessionCore
from amplify_session._sign_in import (
    Attempt,
    Completed,
    PendingChallenge,
    SignInFlow,
    SignInRequest,
)
from amplify_session._token_store import TokenStore
from amplify_session._tokens import TokenSet
from amplify_session.storage import MemoryStorage
from amplify_session.testing import FakeClock
from tests.support.tokens import make_jwt

pytestmark = pytest.mark.anyio

_CONFIG = AuthConfig(user_pool_id="eu-west-2_Zz9", user_pool_client_id="client")
_SERIAL = itertools.count()


def _tokens(clock: FakeClock, *, refresh_token: str | None, lifetime: int = 3600) -> TokenSet:
    now = int(clock.time())
    claims = {"iat": now, "exp": now + lifetime, "jti": str(next(_SERIAL))}
    return TokenSet(
        username="alice",
        access_token=decode_jwt(make_jwt(claims)),
        id_token=None,
        refresh_token=refresh_token,
    )


class _ObtainAgain:
    """A source like client credentials: no refresh token, renews by obtaining anew."""

    def __init__(
        self, clock: FakeClock, failure: AuthError | None = None, standing: str | None = None
    ) -> None:
        self.clock = clock
        self.failure = failure
        self.renewed = 0
        self.discarded: list[TokenSet] = []
        self.standing_user = standing

    async def obtain(self) -> TokenSet:
        return await self.renew(_tokens(self.clock, refresh_token=None))

    async def renew(self, tokens: TokenSet) -> TokenSet:
        self.renewed += 1
        if self.failure is not None:
            raise self.failure
        return _tokens(self.clock, refresh_token=None)

    async def discard(self, tokens: TokenSet) -> None:
        self.discarded.append(tokens)

    async def revoke(self, tokens: TokenSet, *, everywhere: bool) -> None:
        pass


def _core(clock: FakeClock, source: _ObtainAgain) -> SessionCore:
    store = TokenStore(MemoryStorage(), _CONFIG.user_pool_client_id, None)
    rng = random.Random(1)
    return SessionCore(
        config=_CONFIG,
        store=store,
        credentials=IdentityCredentials(None, store, _CONFIG, clock, rng),
        source=source,
        clock=clock,
        rng=None,
        hub=EventHub(),
    )


async def _signed_in(clock: FakeClock, source: _ObtainAgain) -> SessionCore:
    core = _core(clock, source)
    await core.load()
    await core.adopt(_tokens(clock, refresh_token=None), core.epoch)
    return core


async def test_a_source_without_refresh_tokens_renews_instead_of_signing_out() -> None:
    clock = FakeClock()
    source = _ObtainAgain(clock)
    core = await _signed_in(clock, source)
    first = core.tokens
    await core.refresh(False)
    assert source.renewed == 0  # fresh: the source is not asked
    clock.advance(3500)
    session, succeeded = await core.refresh(False)
    assert source.renewed == 1
    assert succeeded
    assert core.tokens is not None
    assert core.tokens != first
    assert session.tokens is not None


async def test_a_renewal_refused_for_good_ends_the_session() -> None:
    clock = FakeClock()
    source = _ObtainAgain(clock, NotAuthorizedException("revoked"))
    core = await _signed_in(clock, source)
    clock.advance(3500)
    with pytest.raises(NotAuthorizedException):
        await core.refresh(False)
    assert core.tokens is None
    assert core.session.tokens is None
    assert core.settled  # the stored session is cleared too


async def test_a_transient_renewal_failure_keeps_the_session_while_usable() -> None:
    clock = FakeClock()
    source = _ObtainAgain(clock, NetworkError("down"))
    core = await _signed_in(clock, source)
    clock.advance(3500)
    session, succeeded = await core.refresh(False)
    assert not succeeded
    assert session.tokens is not None
    clock.advance(200)  # expired now: the failure is raised, the session stays stored
    with pytest.raises(NetworkError):
        await core.refresh(False)
    assert core.tokens is not None


def test_which_errors_end_a_session_is_decided_by_class() -> None:
    ending = {name for name, cls in _COGNITO_ERRORS.items() if cls.ends_session}
    assert ending == {
        "NotAuthorizedException",
        "TokenRevokedException",
        "UserNotFoundException",
        "PasswordResetRequiredException",
        "UserNotConfirmedException",
        "RefreshTokenReuseException",
    }
    assert not AuthError("Whatever", "x").ends_session
    assert not NetworkError("down").ends_session


class _ScriptedPool:
    """A user pool client that answers each call with the next scripted answer."""

    def __init__(self, *answers: AuthenticationResult | Challenge) -> None:
        self.answers = list(answers)
        self.responses: list[tuple[str, dict[str, str]]] = []

    async def initiate_auth(self, *args: object, **_: object) -> AuthenticationResult | Challenge:
        return self.answers.pop(0)

    async def respond_to_auth_challenge(
        self, challenge: Challenge, username: str, responses: dict[str, str], **_: object
    ) -> AuthenticationResult | Challenge:
        self.responses.append((challenge.name, dict(responses)))
        return self.answers.pop(0)


def _challenge(name: str) -> Challenge:
    return Challenge(name=name, session="s", parameters={"USERNAME": "alice"})


_TOKENS = AuthenticationResult(access_token="a", id_token=None, refresh_token=None)


@pytest.mark.parametrize("where", ["first", "after-mfa"])
async def test_an_automatic_challenge_is_answered_wherever_it_appears(where: str) -> None:
    script = [_challenge("SOFTWARE_TOKEN_MFA"), _challenge("DEVICE_SRP_AUTH"), _TOKENS]
    if where == "first":
        script = [_challenge("DEVICE_SRP_AUTH"), _challenge("SOFTWARE_TOKEN_MFA"), _TOKENS]
    pool = _ScriptedPool(*script)
    flow = SignInFlow(pool, _CONFIG)  # type: ignore[arg-type]
    answered: list[str] = []

    async def device(challenge: Challenge, attempt: Attempt) -> AuthenticationResult | Challenge:
        answered.append(attempt.login_id)
        return await pool.respond_to_auth_challenge(challenge, "alice", {"DEVICE": "proof"})

    flow.answer_automatically("DEVICE_SRP_AUTH", device)
    pending = await flow.start(
        SignInRequest(username="alice", password="pw", auth_flow="USER_PASSWORD_AUTH")
    )
    assert isinstance(pending, PendingChallenge)
    assert pending.challenge.name == "SOFTWARE_TOKEN_MFA"
    outcome = await flow.answer(pending, "123456", {})
    assert isinstance(outcome, Completed)
    assert outcome.result is _TOKENS
    assert answered == ["alice"]
    assert ("SOFTWARE_TOKEN_MFA", {"SOFTWARE_TOKEN_MFA_CODE": "123456"}) in pool.responses


async def test_password_verifier_outside_srp_is_refused() -> None:
    pool = _ScriptedPool(_challenge("PASSWORD_VERIFIER"))
    flow = SignInFlow(pool, _CONFIG)  # type: ignore[arg-type]
    with pytest.raises(AuthError, match="outside an SRP sign-in"):
        await flow.start(
            SignInRequest(username="alice", password="pw", auth_flow="USER_PASSWORD_AUTH")
        )
