"""Choice-based sign-in (USER_AUTH): the first factors a user may pick, and the pick.

A user's factors are the pool's allowed first factors they can use: PASSWORD
(offered as PASSWORD_SRP and PASSWORD), EMAIL_OTP with an email address,
SMS_OTP with a phone number. InitiateAuth's PREFERRED_CHALLENGE picks one if
available (else SELECT_CHALLENGE offers them); SELECT_CHALLENGE's ANSWER picks
one too. Each pick comes with what it needs: PASSWORD a PASSWORD, PASSWORD_SRP
an SRP_A, a one-time code neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._wire import Refused

__all__ = ["CODE_FACTORS", "available_factors", "chosen_factor", "preferred_factor"]

#: Passwordless factors: (delivery medium, the user attribute it goes to, the answer's key).
CODE_FACTORS = {
    "EMAIL_OTP": ("EMAIL", "email", "EMAIL_OTP_CODE"),
    "SMS_OTP": ("SMS", "phone_number", "SMS_OTP_CODE"),
}


def available_factors(allowed: Sequence[str], attributes: Mapping[str, str]) -> tuple[str, ...]:
    """The user's first factors, in the order AvailableChallenges lists them."""
    factors = ["PASSWORD_SRP", "PASSWORD"] if "PASSWORD" in allowed else []
    for factor, (_, attribute, _) in CODE_FACTORS.items():
        if factor in allowed and attributes.get(attribute):
            factors.append(factor)
    return tuple(factors)


def preferred_factor(params: Mapping[str, str], available: Sequence[str]) -> str | None:
    """InitiateAuth's PREFERRED_CHALLENGE if available; None: offer SELECT_CHALLENGE."""
    preferred = params.get("PREFERRED_CHALLENGE")
    if preferred not in available:
        return None
    _check_needs(str(preferred), params)
    return str(preferred)


def chosen_factor(responses: Mapping[str, str], available: Sequence[str]) -> str:
    """SELECT_CHALLENGE's ANSWER; refused unless one of the offered factors."""
    answer = responses.get("ANSWER")
    if answer not in available:
        raise Refused("InvalidParameterException", "ANSWER is not one of AvailableChallenges.")
    _check_needs(str(answer), responses)
    return str(answer)


def _check_needs(factor: str, given: Mapping[str, str]) -> None:
    """A password factor needs its PASSWORD or SRP_A; a one-time code takes neither."""
    needs = {"PASSWORD": "PASSWORD", "PASSWORD_SRP": "SRP_A"}.get(factor)
    if needs is not None and not given.get(needs):
        raise Refused("InvalidParameterException", f"{needs} is required for {factor}.")
    if needs is None and ("PASSWORD" in given or "SRP_A" in given):
        raise Refused("InvalidParameterException", f"{factor} takes no PASSWORD or SRP_A.")
