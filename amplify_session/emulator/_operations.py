"""The Cognito operations the front answers itself, where moto is lax.

- InitiateAuth: USER_SRP_AUTH with a real proof, USER_PASSWORD_AUTH, and
  REFRESH_TOKEN_AUTH, each checking SECRET_HASH; then the planned challenges.
- RespondToAuthChallenge: PASSWORD_VERIFIER and the planned challenges.
- GetTokensFromRefreshToken (with rotation) and RevokeToken, which moto
  answers with a 500.
- GetCredentialsForIdentity: a new key every time, as Cognito hands out.

Tokens still come from moto: the front signs in to moto with the user's
password once the user has proved it.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._challenges import ChallengeSessions
from ._moto_backend import (
    canonical_name,
    client_of,
    forget_refresh_token,
    refresh_token_owner,
    rotates,
    user_of,
)
from ._refresh_tokens import RefreshTokens
from ._secret_hash import check_client_secret, check_secret_hash, moto_secret_hash
from ._srp import SrpSessions
from ._upstream import Upstream
from ._wire import IDENTITY, IDP, Refused

__all__ = ["CognitoOperations", "Operation"]

Operation = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class CognitoOperations:
    """The operations, and the sign-in and refresh-token state they keep between calls."""

    def __init__(self) -> None:
        self._upstream: Upstream | None = None
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget sign-ins under way, plans, rotations, revocations and issued keys."""
        self.srp = SrpSessions()
        self.challenges = ChallengeSessions()
        self.refresh_tokens = RefreshTokens()
        self.issued_access_keys: list[str] = []

    def connect(self, upstream: Upstream) -> None:
        """Call moto through ``upstream`` from now on."""
        self._upstream = upstream

    def handler(self, operation: str) -> Operation | None:
        """The front's own answer to ``operation``; None: moto's answer will do."""
        handlers: dict[str, Operation] = {
            "InitiateAuth": self._initiate_auth,
            "RespondToAuthChallenge": self._respond_to_auth_challenge,
            "GetTokensFromRefreshToken": self._get_tokens_from_refresh_token,
            "RevokeToken": self._revoke_token,
            "GetCredentialsForIdentity": self._get_credentials_for_identity,
        }
        return handlers.get(operation)

    @property
    def upstream(self) -> Upstream:
        assert self._upstream is not None, "the front is not serving"
        return self._upstream

    # -- sign-in ----------------------------------------------------------------

    async def _initiate_auth(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        flow = body.get("AuthFlow")
        params = body.get("AuthParameters") or {}
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            if rotates(client):
                raise Refused(
                    "NotAuthorizedException",
                    "Refresh token rotation is enabled: use GetTokensFromRefreshToken.",
                )
            return await self._refresh(pool, client, params.get("REFRESH_TOKEN"), params)
        login = params.get("USERNAME", "")
        check_secret_hash(client, login, params.get("SECRET_HASH"))
        user = user_of(pool, login)
        if flow == "USER_PASSWORD_AUTH":
            if params.get("PASSWORD") != user.password:
                raise Refused("NotAuthorizedException", "Incorrect username or password.")
            return await self._after_password(pool, client, login, user)
        if flow == "USER_SRP_AUTH":
            return self.srp.challenge(pool, client, login, user, params.get("SRP_A", ""))
        raise Refused("InvalidParameterException", f"Unsupported AuthFlow {flow}")

    async def _respond_to_auth_challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        name = body.get("ChallengeName")
        responses = body.get("ChallengeResponses") or {}
        check_secret_hash(client, responses.get("USERNAME", ""), responses.get("SECRET_HASH"))
        if name == "PASSWORD_VERIFIER":
            login = self.srp.verify(pool, client, responses)
            return await self._after_password(pool, client, login, user_of(pool, login))
        session = body.get("Session", "")
        state = self.challenges.find(session)
        if state is None:
            return await self._moto_challenge(body)
        remaining = self.challenges.answer(pool, session, state, name, responses)
        if remaining:
            return self.challenges.issue(state.login, state.canonical, remaining, state.plan)
        return await self._moto_tokens(client, state.login, user_of(pool, state.login).password)

    async def _moto_challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        """A challenge session the front did not open: moto's to answer."""
        status, text, _ = await self.upstream.call(
            IDP + "RespondToAuthChallenge", json.dumps(body).encode()
        )
        answer: dict[str, Any] = json.loads(text)
        if status != 200:
            raise Refused(str(answer.get("__type")), str(answer.get("message")), status)
        return answer

    async def _after_password(
        self, pool: Any, client: Any, login: str, user: Any
    ) -> dict[str, Any]:
        """The password is proven: the planned challenges, or moto's tokens."""
        plan = self.challenges.take_plan()
        if plan is not None and plan.names:
            return self.challenges.issue(login, canonical_name(pool, user), plan.names, plan)
        return await self._moto_tokens(client, login, user.password)

    async def _moto_tokens(self, client: Any, login: str, password: str) -> dict[str, Any]:
        return await self.upstream.user_pool(
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client.id,
                "AuthParameters": {
                    "USERNAME": login,
                    "PASSWORD": password,
                    **moto_secret_hash(client, login),
                },
            },
        )

    # -- refresh, rotation, revocation ------------------------------------------

    async def _refresh(
        self, pool: Any, client: Any, token: str | None, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """REFRESH_TOKEN_AUTH: SECRET_HASH from the token owner's Cognito username."""
        moto_token, moto_username = self._owner(pool, token)
        canonical = canonical_name(pool, user_of(pool, moto_username))  # deleted, disabled...
        check_secret_hash(client, canonical, params.get("SECRET_HASH"))
        return await self._refresh_upstream(client, moto_token, moto_username)

    def _owner(self, pool: Any, token: str | None) -> tuple[str, str]:
        """moto's refresh token behind ``token``, and the username moto stored with it."""
        moto_token = self.refresh_tokens.live(token)
        return moto_token, refresh_token_owner(pool, moto_token)

    async def _refresh_upstream(
        self, client: Any, moto_token: str, moto_username: str
    ) -> dict[str, Any]:
        return await self.upstream.user_pool(
            "InitiateAuth",
            {
                "AuthFlow": "REFRESH_TOKEN_AUTH",
                "ClientId": client.id,
                "AuthParameters": {
                    "REFRESH_TOKEN": moto_token,
                    **moto_secret_hash(client, moto_username),
                },
            },
        )

    async def _get_tokens_from_refresh_token(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        check_client_secret(client, body.get("ClientSecret"))
        token = body.get("RefreshToken")
        moto_token, moto_username = self._owner(pool, token)
        user_of(pool, moto_username)  # deleted, disabled, reset...
        answer = await self._refresh_upstream(client, moto_token, moto_username)
        if rotates(client):
            rotated = self.refresh_tokens.rotate(str(token), moto_token)
            answer["AuthenticationResult"]["RefreshToken"] = rotated
        return answer

    async def _revoke_token(self, body: dict[str, Any]) -> dict[str, Any]:
        pool, client = client_of(body.get("ClientId"))
        check_client_secret(client, body.get("ClientSecret"))
        token = body.get("Token")
        moto_token = self.refresh_tokens.live(token)
        self.refresh_tokens.revoke(str(token), moto_token)
        forget_refresh_token(pool, moto_token)
        return {}

    # -- Identity Pool ------------------------------------------------------------

    async def _get_credentials_for_identity(self, body: dict[str, Any]) -> dict[str, Any]:
        """moto hands out the same key every time; Cognito never does."""
        answer = await self.upstream.json(IDENTITY + "GetCredentialsForIdentity", body)
        credentials = answer.get("Credentials") or {}
        credentials["AccessKeyId"] = "ASIA" + secrets.token_hex(8).upper()
        credentials["SecretKey"] = secrets.token_urlsafe(30)
        credentials["SessionToken"] = secrets.token_urlsafe(60)
        with self._lock:
            self.issued_access_keys.append(credentials["AccessKeyId"])
        return answer
