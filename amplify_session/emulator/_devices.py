"""Device tracking, as a pool with ``DeviceConfiguration`` keeps it: devices and device SRP.

moto has no devices. The front creates one at the end of a sign-in
(``NewDeviceMetadata``), binds the refresh token to it, stores the verifier
``ConfirmDevice`` hands over, and signs a remembered device in with
DEVICE_SRP_AUTH: the server's half of SRP-6a (``testing._server_checks``)
with the device's own verifier, where the device key stands for the user
and the device group key for the pool:
x = H(PAD(salt) | H(DeviceGroupKey | DeviceKey | ":" | randomPassword)).
"""

from __future__ import annotations

import base64
import itertools
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs

from ..testing._server_checks import InsecureSrpA, PasswordVerifier, Refused, SrpChallenge
from ._srp import well_formed_timestamp

__all__ = ["DeviceRegistry", "DeviceSignIn", "DeviceSnapshot", "DeviceSrpSessions", "Owner"]

#: A user, as devices belong to one: (user pool id, moto's username).
Owner = tuple[str, str]

_MISSING = "Device does not exist."
_WRONG = "Incorrect username or password."
_EXPIRED = "Invalid session for the user, session is expired."
_SESSION_TTL = 180.0
_PAGE_MAX = 60
_GROUP_ALPHABET = string.ascii_letters + string.digits


@attrs.frozen
class DeviceSnapshot:
    """One device of a user, as the front keeps it (no secret in it).

    Attributes:
        key: The DeviceKey (``<region>_<uuid>``).
        group_key: The DeviceGroupKey.
        confirmed: ConfirmDevice stored a verifier for it.
        remembered: Its status is "remembered" (it may skip MFA).
        name: The DeviceName ConfirmDevice gave, if any.
    """

    key: str
    group_key: str
    confirmed: bool
    remembered: bool
    name: str | None


@attrs.define
class _Device:
    key: str
    group_key: str
    order: int  # creation order, for listing and page tokens
    created: float
    modified: float
    authenticated: float
    confirmed: bool = False
    remembered: bool = False
    name: str | None = None
    verifier: PasswordVerifier | None = attrs.field(default=None, repr=False)

    def snapshot(self) -> DeviceSnapshot:
        return DeviceSnapshot(self.key, self.group_key, self.confirmed, self.remembered, self.name)

    def wire(self) -> dict[str, Any]:
        """Cognito's DeviceType."""
        attributes = [{"Name": "device_status", "Value": "valid"}]
        if self.name is not None:
            attributes.append({"Name": "device_name", "Value": self.name})
        status = "remembered" if self.remembered else "not_remembered"
        attributes += [
            {"Name": "dev:device_remembered_status", "Value": status},
            {"Name": "last_ip_used", "Value": "127.0.0.1"},
        ]
        return {
            "DeviceKey": self.key,
            "DeviceAttributes": attributes,
            "DeviceCreateDate": self.created,
            "DeviceLastModifiedDate": self.modified,
            "DeviceLastAuthenticatedDate": self.authenticated,
        }


class DeviceRegistry:
    """Every user's devices, and the device each refresh token is bound to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[Owner, dict[str, _Device]] = {}
        self._bindings: dict[str, tuple[Owner, str]] = {}  # moto's refresh token -> device
        self._order = itertools.count()

    # -- sign-in ---------------------------------------------------------------

    def device(self, owner: Owner, key: str) -> DeviceSnapshot:
        """The user's device ``key``; refused as Cognito refuses another's, or a forgotten one."""
        with self._lock:
            return self._find(owner, key).snapshot()

    def settle(
        self, owner: Owner, key: str | None, region: str
    ) -> tuple[str, dict[str, str] | None]:
        """The device a sign-in's tokens are bound to: ``key`` if confirmed, else a new one.

        Returns the device key, and NewDeviceMetadata when the device is new.
        """
        now = time.time()
        with self._lock:
            known = self._devices.get(owner, {}).get(key or "")
            if known is not None and known.confirmed:
                known.authenticated = now
                return known.key, None
            device = _Device(
                key=f"{region}_{uuid.uuid4()}",
                group_key="-" + "".join(secrets.choice(_GROUP_ALPHABET) for _ in range(9)),
                order=next(self._order),
                created=now,
                modified=now,
                authenticated=now,
            )
            self._devices.setdefault(owner, {})[device.key] = device
        return device.key, {"DeviceKey": device.key, "DeviceGroupKey": device.group_key}

    def bind(self, moto_refresh_token: str, owner: Owner, key: str) -> None:
        """From now on, ``moto_refresh_token`` works with device ``key`` only."""
        with self._lock:
            self._bindings[moto_refresh_token] = (owner, key)

    def check_refresh(self, moto_refresh_token: str, sent_key: str | None) -> None:
        """Refuse a refresh as Cognito does when the device key does not fit the token.

        A confirmed device's tokens need its key; an unconfirmed device's key is
        refused; a forgotten device's tokens no longer work at all.
        """
        with self._lock:
            owner, bound_key = self._bindings.get(moto_refresh_token, (("", ""), None))
            device = self._devices.get(owner, {}).get(bound_key or "")
        forgotten = bound_key is not None and device is None
        if sent_key:
            fits = device is not None and device.confirmed and sent_key == bound_key
        else:
            fits = not forgotten and (device is None or not device.confirmed)
        if not fits:
            raise Refused("NotAuthorizedException", "Invalid Refresh Token")

    def authenticated(self, owner: Owner, key: str) -> None:
        """The device has just proved itself (DEVICE_PASSWORD_VERIFIER)."""
        with self._lock:
            self._find(owner, key).authenticated = time.time()

    def verifier(self, owner: Owner, key: str) -> PasswordVerifier:
        """The verifier ConfirmDevice stored for a confirmed device."""
        with self._lock:
            device = self._find(owner, key)
            if device.verifier is None:
                raise Refused("ResourceNotFoundException", _MISSING)
            return device.verifier

    # -- the device APIs ---------------------------------------------------------

    def confirm(
        self, owner: Owner, key: str, config: object, name: str | None, *, remember: bool
    ) -> None:
        """ConfirmDevice: store the device's verifier (again: replace it) and name.

        ``remember``: the pool remembers devices at once ("always"); in "user
        opt-in" a device stays as it was (not remembered when new).
        """
        verifier = _verifier_of(config)
        with self._lock:
            device = self._find(owner, key)
            device.verifier, device.name = verifier, name
            device.remembered = remember or (device.confirmed and device.remembered)
            device.confirmed = True
            device.modified = time.time()

    def set_remembered(self, owner: Owner, key: str, remembered: bool) -> None:
        """UpdateDeviceStatus."""
        with self._lock:
            device = self._find(owner, key)
            device.remembered = remembered
            device.modified = time.time()

    def forget(self, owner: Owner, key: str) -> None:
        """ForgetDevice: the device is gone, and its refresh tokens with it."""
        with self._lock:
            self._find(owner, key)
            del self._devices[owner][key]

    def wire(self, owner: Owner, key: str) -> dict[str, Any]:
        """GetDevice's DeviceType."""
        with self._lock:
            return self._find(owner, key).wire()

    def page(self, owner: Owner, limit: object, token: object) -> dict[str, Any]:
        """ListDevices: the user's confirmed devices, oldest first, ``limit`` at a time."""
        if limit is None:
            limit = _PAGE_MAX
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= _PAGE_MAX:
            raise Refused("InvalidParameterException", f"Limit must be from 1 to {_PAGE_MAX}.")
        after = _page_start(token)
        with self._lock:
            listed = sorted(
                (d for d in self._devices.get(owner, {}).values() if d.confirmed),
                key=lambda d: d.order,
            )
            rest = [d for d in listed if d.order >= after]
            answer: dict[str, Any] = {"Devices": [d.wire() for d in rest[:limit]]}
        if len(rest) > limit:
            answer["PaginationToken"] = _page_token(rest[limit].order)
        return answer

    # -- test controls -------------------------------------------------------------

    def snapshot(self, owner: Owner) -> list[DeviceSnapshot]:
        """The user's devices, confirmed or not, oldest first."""
        with self._lock:
            devices = sorted(self._devices.get(owner, {}).values(), key=lambda d: d.order)
            return [d.snapshot() for d in devices]

    def _find(self, owner: Owner, key: str) -> _Device:
        device = self._devices.get(owner, {}).get(key) if isinstance(key, str) else None
        if device is None:
            raise Refused("ResourceNotFoundException", _MISSING)
        return device


def _verifier_of(config: object) -> PasswordVerifier:
    """ConfirmDevice's DeviceSecretVerifierConfig: base64 of big-endian salt and verifier."""
    invalid = Refused("InvalidParameterException", "Invalid DeviceSecretVerifierConfig.")
    if not isinstance(config, Mapping):
        raise invalid
    try:
        salt, verifier = (
            int.from_bytes(base64.b64decode(str(config[k]), validate=True), "big")
            for k in ("Salt", "PasswordVerifier")
        )
        return PasswordVerifier.given(salt=salt, verifier=verifier)
    except (KeyError, ValueError):  # binascii.Error is a ValueError
        raise invalid from None


def _page_token(order: int) -> str:
    return base64.urlsafe_b64encode(f"device:{order}".encode()).decode()


def _page_start(token: object) -> int:
    """The creation order the page starts at (0 without a token)."""
    if token is None:
        return 0
    try:
        prefix, _, order = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
        if prefix == "device":
            return int(order)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        pass
    raise Refused("InvalidParameterException", "Invalid pagination token.")


@attrs.define
class DeviceSignIn:
    """A sign-in by a remembered device, part-way through device SRP."""

    client_id: str
    login: str
    canonical: str
    owner: Owner
    device_key: str
    expires_at: float
    exchange: SrpChallenge | None = None


class DeviceSrpSessions:
    """DEVICE_SRP_AUTH, then DEVICE_PASSWORD_VERIFIER: one single-use session each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, DeviceSignIn] = {}
        #: DEVICE_PASSWORD_VERIFIER proofs, "accepted" or "refused".
        self.proofs: Counter[str] = Counter()

    def issue(self, sign_in: DeviceSignIn) -> dict[str, Any]:
        """The password is proven and the device remembered: ask for DEVICE_SRP_AUTH."""
        return {
            "ChallengeName": "DEVICE_SRP_AUTH",
            "Session": self._open(sign_in),
            "ChallengeParameters": {"USERNAME": sign_in.canonical},
        }

    def challenge(
        self,
        registry: DeviceRegistry,
        client_id: str,
        session: object,
        responses: Mapping[str, str],
    ) -> dict[str, Any]:
        """Answer DEVICE_SRP_AUTH (SRP_A) with the DEVICE_PASSWORD_VERIFIER challenge."""
        sign_in = self._take(client_id, session, responses, exchanged=False)
        verifier = registry.verifier(sign_in.owner, sign_in.device_key)
        try:
            sign_in.exchange = SrpChallenge(verifier, str(responses.get("SRP_A", "")))
        except InsecureSrpA:
            raise Refused("NotAuthorizedException", _WRONG) from None
        except ValueError:
            raise Refused("InvalidParameterException", "SRP_A is not a valid number") from None
        return {
            "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
            "Session": self._open(sign_in),
            "ChallengeParameters": {
                **sign_in.exchange.parameters,
                "USERNAME": sign_in.canonical,
                "DEVICE_KEY": sign_in.device_key,
            },
        }

    def verify(
        self,
        registry: DeviceRegistry,
        client_id: str,
        session: object,
        responses: Mapping[str, str],
    ) -> DeviceSignIn:
        """Check the device's proof (DEVICE_PASSWORD_VERIFIER); the sign-in it completes."""
        sign_in = self._take(client_id, session, responses, exchanged=True)
        group_key = registry.device(sign_in.owner, sign_in.device_key).group_key
        timestamp = str(responses.get("TIMESTAMP", ""))
        if not well_formed_timestamp(timestamp):
            raise Refused("InvalidParameterException", "TIMESTAMP is malformed.")
        assert sign_in.exchange is not None
        proved = sign_in.exchange.proves_password(
            pool_name=group_key,
            user_id=sign_in.device_key,
            secret_block=str(responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")),
            timestamp=timestamp,
            signature=str(responses.get("PASSWORD_CLAIM_SIGNATURE", "")),
        )
        with self._lock:
            self.proofs["accepted" if proved else "refused"] += 1
        if not proved:
            raise Refused("NotAuthorizedException", _WRONG)
        registry.authenticated(sign_in.owner, sign_in.device_key)
        return sign_in

    def _open(self, sign_in: DeviceSignIn) -> str:
        session = str(uuid.uuid4())
        sign_in.expires_at = time.monotonic() + _SESSION_TTL
        with self._lock:
            self._sessions[session] = sign_in
        return session

    def _take(
        self, client_id: str, session: object, responses: Mapping[str, str], *, exchanged: bool
    ) -> DeviceSignIn:
        """The session's sign-in, closed (each session answers once)."""
        with self._lock:
            sign_in = self._sessions.pop(session, None) if isinstance(session, str) else None
        if (
            sign_in is None
            or sign_in.client_id != client_id
            or (sign_in.exchange is not None) != exchanged
            or time.monotonic() > sign_in.expires_at
        ):
            raise Refused("NotAuthorizedException", _EXPIRED)
        if responses.get("DEVICE_KEY") != sign_in.device_key:
            raise Refused("NotAuthorizedException", "The device does not match the session.")
        if responses.get("USERNAME") not in (sign_in.login, sign_in.canonical):
            raise Refused("InvalidParameterException", "USERNAME does not match the session.")
        return sign_in
