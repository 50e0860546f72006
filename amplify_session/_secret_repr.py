"""How a secret shows in a ``repr``: the one rule every value class uses."""

from __future__ import annotations

__all__ = ["secret_repr"]


def secret_repr(value: object) -> str:
    """``None`` for no secret, ``'***'`` for any secret (attrs ``repr=`` callable)."""
    return "None" if value is None else "'***'"
