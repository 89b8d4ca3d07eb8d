"""Words for people in messages: counts with their nouns in the right number ("1 device", "2 devices")."""
from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and its noun, singular for exactly one (``plural`` when adding an "s" is wrong)."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
