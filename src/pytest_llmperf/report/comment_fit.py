"""Fitting a Markdown report into one pull-request comment.

GitHub refuses a comment of more than 65,536 characters, and a run of many tests, or of an
eval file with hundreds of changed answers, writes more. A report is cut into sections of
lines; a section's items (table rows, list items) are left out from its end, and it says
how many, while its opening and closing lines (a heading, a `<details>` tag, a table's
header) stay whole, so the Markdown stays well formed. Sizes are UTF-8 bytes, at least as
many as characters however they are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

COMMENT_CHARACTERS = 65_536


@dataclass(frozen=True)
class Section:
    """Lines of a report: `opening`, the `items` that may be left out from the end,
    `closing`; `left_out(n)` the lines that say n items were left out (placed before the
    closing lines)."""

    opening: Sequence[str] = ()
    items: Sequence[str] = ()
    closing: Sequence[str] = ()
    left_out: Callable[[int], Sequence[str]] = field(default=lambda count: ())

    @property
    def size(self) -> int:
        return size_of([*self.opening, *self.items, *self.closing])

    def lines(self) -> list[str]:
        return [*self.opening, *self.items, *self.closing]


def size_of(lines: Sequence[str]) -> int:
    """The lines with their line breaks, in UTF-8 bytes."""
    return sum(len(line.encode()) + 1 for line in lines)


def fitted(section: Section, room: int) -> list[str]:
    """The section in at most `room` bytes: whole if it fits, else its items that fit and
    the lines saying how many were left out; only those lines when not even its opening
    fits; nothing when they do not fit either."""
    if section.size <= room:
        return section.lines()
    frame = size_of([*section.opening, *section.closing])
    room_for_items = room - frame - size_of(section.left_out(len(section.items)))
    if room_for_items < 0:
        told = list(section.left_out(len(section.items)))
        return told if size_of(told) <= room else []
    shown: list[str] = []
    for item in section.items:
        room_for_items -= size_of([item])
        if room_for_items < 0:
            break
        shown.append(item)
    told = section.left_out(len(section.items) - len(shown))
    return [*section.opening, *shown, *told, *section.closing]


def shares(sizes: Sequence[int], room: int) -> list[int]:
    """`room` shared among sections of `sizes`: the smaller ones get all they need, the
    larger ones equal parts of what is left (max-min fair)."""
    given = [0] * len(sizes)
    left = max(0, room)
    by_size = sorted(range(len(sizes)), key=lambda index: sizes[index])
    for rank, index in enumerate(by_size):
        given[index] = min(sizes[index], left // (len(sizes) - rank))
        left -= given[index]
    return given


def fit_all(sections: Sequence[Section], room: int, first: Sequence[int] = ()) -> list[str]:
    """The sections in their order, within `room` bytes in all: those at the indexes
    `first` take what they need first, in that order, short of what the others need to
    say they were left out; the others share what is left (as `shares` does)."""
    lines: dict[int, list[str]] = {}
    for index in first:
        others = [sections[other] for other in range(len(sections)) if other not in (*lines, index)]
        told = sum(size_of(other.left_out(len(other.items))) for other in others)
        lines[index] = fitted(sections[index], room - told)
        room -= size_of(lines[index])
    rest = [index for index in range(len(sections)) if index not in lines]
    parts = shares([sections[index].size for index in rest], room)
    lines.update(
        (index, fitted(sections[index], part)) for index, part in zip(rest, parts, strict=True)
    )
    return [line for index in range(len(sections)) for line in lines[index]]
