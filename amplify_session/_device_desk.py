"""The signed-in user's devices: remember this one, forget one, list them all.

Amplify's ``rememberDevice``, ``forgetDevice`` and ``fetchDevices``. The
manager hands each call the current tokens (refreshed if due); the current
device is the one those tokens were issued to, else the one stored for the
user.

Forgetting the current device removes its record here too, so the next
sign-in presents none and Cognito asks for MFA again. Cognito also stops
renewing the refresh tokens issued to a forgotten device: this session's
tokens are served until they expire, and its next renewal ends it.
"""

from __future__ import annotations

from ._cognito._devices import DeviceCalls
from ._errors import DeviceMetadataNotFoundException, InvalidResponseException
from ._models import AuthDevice
from ._token_store import TokenStore
from ._tokens import DeviceRecord, TokenSet

__all__ = ["DeviceDesk"]

#: ListDevices pages read at most (60 devices each): a server that never
#: stops paginating gets a bounded number of calls.
_MAX_PAGES = 100


class DeviceDesk:
    """Device calls on behalf of the signed-in user."""

    def __init__(self, calls: DeviceCalls, store: TokenStore) -> None:
        self._calls = calls
        self._store = store

    def __repr__(self) -> str:
        return "DeviceDesk()"

    async def current(self, tokens: TokenSet) -> DeviceRecord | None:
        """The device this session belongs to: the tokens', else the one stored for the user."""
        return tokens.device or await self._store.load_device(tokens.username)

    async def remember(self, tokens: TokenSet) -> None:
        """Ask Cognito to remember the current device (signing in on it then skips MFA).

        Raises:
            DeviceMetadataNotFoundException: No confirmed device is stored.
        """
        device = _required(await self.current(tokens))
        await self._calls.update_device_status(
            tokens.access_token.to_string(), device.device_key, remembered=True
        )

    async def forget(self, tokens: TokenSet, device_key: str | None) -> None:
        """Make Cognito forget ``device_key`` (default: the current device).

        Raises:
            DeviceMetadataNotFoundException: No key was given and no confirmed
                device is stored.
        """
        key = device_key or _required(await self.current(tokens)).device_key
        await self._calls.forget_device(tokens.access_token.to_string(), key)
        # The stored record goes only if it is the forgotten device (another
        # process may have stored a newer one since these tokens were issued).
        stored = await self._store.load_device(tokens.username)
        if stored is not None and stored.device_key == key:
            await self._store.clear_device(tokens.username)

    async def fetch(self, tokens: TokenSet) -> list[AuthDevice]:
        """Every device Cognito tracks for the user, all pages read.

        Raises:
            InvalidResponseException: The server paginates without end (or
                repeats a page token).
        """
        access_token = tokens.access_token.to_string()
        devices: list[AuthDevice] = []
        seen: set[str] = set()
        page_token: str | None = None
        for _ in range(_MAX_PAGES):
            page = await self._calls.list_devices(access_token, page_token)
            devices.extend(page.devices)
            page_token = page.next_token
            if page_token is None:
                return devices
            if page_token in seen:
                raise InvalidResponseException("ListDevices repeated a pagination token")
            seen.add(page_token)
        raise InvalidResponseException(f"ListDevices went on for more than {_MAX_PAGES} pages")


def _required(device: DeviceRecord | None) -> DeviceRecord:
    if device is None:
        raise DeviceMetadataNotFoundException(
            "no confirmed device is stored for the signed-in user",
            recovery_suggestion=(
                "Devices are confirmed at sign-in on pools with device tracking; "
                "sign in (again) on such a pool first."
            ),
        )
    return device
