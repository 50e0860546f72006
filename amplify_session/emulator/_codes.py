"""One-time codes the front "delivers" by email or SMS, and where Cognito says it sent them.

Nothing leaves the process: each code is logged in :class:`CodeDeliveries`
(``StrictFront.sent_codes``), so a test reads the code as a user reads an
email, and the challenge names the masked destination as Cognito does.
"""

from __future__ import annotations

import threading

import attrs

__all__ = ["CodeDeliveries", "SentCode", "mask_email", "mask_phone"]

#: Where SMS_MFA says it sent the code when the user has no phone number.
_NO_PHONE = "+*******0100"


@attrs.frozen
class SentCode:
    """A one-time code the front delivered.

    Attributes:
        username: Cognito's username of the user it was sent to.
        challenge: The challenge it answers: ``"SMS_MFA"``, ``"EMAIL_OTP"``, ``"SMS_OTP"``.
        medium: ``"EMAIL"`` or ``"SMS"``.
        destination: The masked address, as the challenge names it (``"a***@e***"``).
        code: The code.
    """

    username: str
    challenge: str
    medium: str
    destination: str
    code: str = attrs.field(repr=False)


def mask_email(address: str) -> str:
    """``alice@example.com`` -> ``a***@e***``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def mask_phone(number: str | None) -> str:
    """``+15555550100`` -> ``+*******0100``: the last four digits only."""
    digits = "".join(c for c in number or "" if c.isdigit())
    if len(digits) < 4:
        return _NO_PHONE
    return "+" + "*" * (len(digits) - 4) + digits[-4:]


class CodeDeliveries:
    """Every code delivered, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[SentCode] = []

    def deliver(
        self, username: str, challenge: str, medium: str, address: str | None, code: str
    ) -> dict[str, str]:
        """Log the code; the challenge parameters that say where it went."""
        destination = mask_email(address or "") if medium == "EMAIL" else mask_phone(address)
        with self._lock:
            self.sent.append(SentCode(username, challenge, medium, destination, code))
        return {
            "CODE_DELIVERY_DELIVERY_MEDIUM": medium,
            "CODE_DELIVERY_DESTINATION": destination,
        }
