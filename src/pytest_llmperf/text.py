"""Small wording helpers shared by every report."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """'1 test', '2 tests': syrupy's way of counting in its summary."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
