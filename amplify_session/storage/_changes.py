"""``update_items`` semantics in one place: a str value sets its key, None removes it."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["merge_changes"]


def merge_changes(items: dict[str, str], changes: Iterable[tuple[str, str | None]]) -> None:
    """Apply ``changes`` (key, value-or-None pairs) to ``items``, in place and in order."""
    for key, value in changes:
        if value is None:
            items.pop(key, None)
        else:
            items[key] = value
