"""The fake's User Pool: users, sign-in (password, SRP, a TOTP challenge), refresh, sign-out.

One pool with one app client, answering as Cognito does the calls this
library makes. Passwords are kept as SRP verifiers only.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._fake_tokens import Clock, Holder, Lifetimes, TokenIssuer
from ._fake_wire import Refused
from ._server_checks import PasswordVerifier, SrpChallenge, expected_secret_hash

__all__ = ["FakeUserPool"]

_WRONG_PASSWORD = "Incorrect username or password."  # noqa: S105 (a message)


@attrs.frozen
class _User:
    holder: Holder  # what the tokens say of them
    verifier: PasswordVerifier
    mfa_code: str | None = attrs.field(repr=False)

    @property
    def username(self) -> str:
        return self.holder.username


@attrs.define
class _Challenge:
    """A sign-in waiting for a RespondToAuthChallenge, by its Session."""

    name: str
    username: str
    expires_at: float
    srp: SrpChallenge | None = None


class FakeUserPool:
    """One User Pool with one app client."""

    def __init__(
        self,
        *,
        pool_id: str,
        client_id: str,
        client_secret: str | None,
        rotation: bool,
        lifetimes: Lifetimes,
        clock: Clock,
    ) -> None:
        self.pool_id = pool_id
        self.client_id = client_id
        self._secret = client_secret
        self._rotation = rotation
        self._lifetimes = lifetimes
        self._clock = clock
        self._pool_name = pool_id.split("_", 1)[1]
        region = pool_id.split("_", 1)[0]
        self.issuer = TokenIssuer(
            issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
            client_id=client_id,
            lifetimes=lifetimes,
            clock=clock,
        )
        self._users: dict[str, _User] = {}
        self._challenges: dict[str, _Challenge] = {}
        #: Token refreshes answered with tokens, by either API.
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"FakeUserPool(pool_id={self.pool_id!r}, users={len(self._users)})"

    def operations(self) -> dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]]:
        return {
            "InitiateAuth": self.initiate_auth,
            "RespondToAuthChallenge": self.respond_to_auth_challenge,
            "GetTokensFromRefreshToken": self.get_tokens_from_refresh_token,
            "RevokeToken": self.revoke_token,
            "GlobalSignOut": self.global_sign_out,
        }

    def add_user(self, holder: Holder, password: str, mfa_code: str | None) -> None:
        """Add a confirmed user, who signs in with ``password`` (then ``mfa_code``)."""
        if not holder.username or holder.username in self._users:
            raise ValueError("the username is empty or taken")
        verifier = PasswordVerifier.create(
            pool_name=self._pool_name, user_id=holder.username, password=password
        )
        self._users[holder.username] = _User(holder, verifier, mfa_code)

    # -- operations ---------------------------------------------------------

    def initiate_auth(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._check_client(body)
        flow = body.get("AuthFlow")
        parameters = _mapping(body, "AuthParameters")
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return self._refresh_token_auth(parameters)
        user = self._user(parameters.get("USERNAME"))
        self._check_secret_hash(user.username, parameters)
        if flow == "USER_PASSWORD_AUTH":
            if not self._password_is(user, parameters.get("PASSWORD")):
                raise Refused("NotAuthorizedException", _WRONG_PASSWORD)
            return self._after_password(user)
        if flow == "USER_SRP_AUTH":
            try:
                srp = SrpChallenge(user.verifier, str(parameters.get("SRP_A", "")))
            except ValueError:
                raise Refused("InvalidParameterException", "SRP_A is invalid.") from None
            parameters_out = {
                **srp.parameters,
                "USER_ID_FOR_SRP": user.username,
                "USERNAME": user.username,
            }
            return self._challenge("PASSWORD_VERIFIER", user, parameters_out, srp)
        raise Refused("InvalidParameterException", "Unsupported AuthFlow.")

    def respond_to_auth_challenge(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._check_client(body)
        responses = _mapping(body, "ChallengeResponses")
        pending = self._challenges.get(str(body.get("Session")))
        if pending is None or self._clock.time() >= pending.expires_at:
            raise Refused(
                "NotAuthorizedException", "Invalid session for the user, session is expired."
            )
        if body.get("ChallengeName") != pending.name:
            raise Refused("InvalidParameterException", "The challenge does not match the session.")
        user = self._user(responses.get("USERNAME"))
        if user.username != pending.username:
            raise Refused("NotAuthorizedException", _WRONG_PASSWORD)
        self._check_secret_hash(user.username, responses)
        if pending.name == "SOFTWARE_TOKEN_MFA":
            given = str(responses.get("SOFTWARE_TOKEN_MFA_CODE", ""))
            if user.mfa_code is None or not _same(given, user.mfa_code):
                raise Refused("CodeMismatchException", "Invalid code received for user")
            self._drop_challenge(body)
            return _tokens(self.issuer.sign_in(user.holder))
        self._drop_challenge(body)  # one proof per exchange, right or wrong
        if pending.srp is None or not pending.srp.proves_password(
            pool_name=self._pool_name,
            user_id=user.username,
            secret_block=str(responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")),
            timestamp=str(responses.get("TIMESTAMP", "")),
            signature=str(responses.get("PASSWORD_CLAIM_SIGNATURE", "")),
        ):
            raise Refused("NotAuthorizedException", _WRONG_PASSWORD)
        return self._after_password(user)

    def get_tokens_from_refresh_token(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._check_client(body)
        self._check_client_secret(body)
        token = body.get("RefreshToken")
        session = self.issuer.session_of(token)
        answer = self.issuer.tokens(self._user(session.username).holder, session)
        if self._rotation:
            answer["RefreshToken"] = self.issuer.rotate(str(token))
        self.refreshes += 1
        return _tokens(answer)

    def revoke_token(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._check_client(body)
        self._check_client_secret(body)
        self.issuer.revoke(body.get("Token"))
        return {}

    def global_sign_out(self, body: Mapping[str, Any]) -> dict[str, Any]:
        claims = self.issuer.claims(body.get("AccessToken"), "access")
        self.issuer.revoke_user(str(claims.get("username")))
        return {}

    # -- the steps ------------------------------------------------------------

    def _refresh_token_auth(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        if self._rotation:
            # Cognito refuses the older call from an app client that rotates refresh tokens.
            raise Refused(
                "NotAuthorizedException",
                "Refresh token rotation is enabled for this app client;"
                " use GetTokensFromRefreshToken.",
            )
        session = self.issuer.session_of(parameters.get("REFRESH_TOKEN"))
        user = self._user(session.username)
        # The hash of the token owner's username, whatever alias they signed in with.
        self._check_secret_hash(user.username, parameters)
        self.refreshes += 1
        return _tokens(self.issuer.tokens(user.holder, session))

    def _after_password(self, user: _User) -> dict[str, Any]:
        if user.mfa_code is not None:
            return self._challenge("SOFTWARE_TOKEN_MFA", user, {"USERNAME": user.username})
        return _tokens(self.issuer.sign_in(user.holder))

    def _challenge(
        self,
        name: str,
        user: _User,
        parameters: Mapping[str, str],
        srp: SrpChallenge | None = None,
    ) -> dict[str, Any]:
        session = secrets.token_urlsafe(48)
        self._challenges[session] = _Challenge(
            name, user.username, self._clock.time() + self._lifetimes.challenge_session, srp
        )
        return {"ChallengeName": name, "ChallengeParameters": dict(parameters), "Session": session}

    def _drop_challenge(self, body: Mapping[str, Any]) -> None:
        self._challenges.pop(str(body.get("Session")), None)

    def _password_is(self, user: _User, password: object) -> bool:
        return isinstance(password, str) and user.verifier.matches(
            pool_name=self._pool_name, user_id=user.username, password=password
        )

    def _user(self, username: object) -> _User:
        if not isinstance(username, str) or not username:
            raise Refused("InvalidParameterException", "Missing required parameter USERNAME")
        user = self._users.get(username)
        if user is None:
            raise Refused("UserNotFoundException", "User does not exist.")
        return user

    def _check_client(self, body: Mapping[str, Any]) -> None:
        client_id = body.get("ClientId")
        if client_id != self.client_id:
            raise Refused("ResourceNotFoundException", "User pool client does not exist.")

    def _check_secret_hash(self, username: str, parameters: Mapping[str, Any]) -> None:
        if self._secret is None:
            return
        given = parameters.get("SECRET_HASH")
        if not isinstance(given, str):
            raise Refused(
                "NotAuthorizedException",
                f"Client {self.client_id} is configured with secret"
                " but SECRET_HASH was not received",
            )
        if not _same(expected_secret_hash(self._secret, self.client_id, username), given):
            raise Refused(
                "NotAuthorizedException",
                f"Unable to verify secret hash for client {self.client_id}",
            )

    def _check_client_secret(self, body: Mapping[str, Any]) -> None:
        if self._secret is not None and not _same(str(body.get("ClientSecret", "")), self._secret):
            raise Refused("NotAuthorizedException", f"Client secret mismatch for {self.client_id}")


def _same(given: str, expected: str) -> bool:
    # On bytes: compare_digest refuses str with characters beyond ASCII.
    return hmac.compare_digest(given.encode(errors="surrogatepass"), expected.encode())


def _mapping(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key) or {}
    if not isinstance(value, Mapping):
        raise Refused("SerializationException", f"{key} is not an object")
    return value


def _tokens(result: Mapping[str, Any]) -> dict[str, Any]:
    return {"AuthenticationResult": dict(result), "ChallengeParameters": {}}
