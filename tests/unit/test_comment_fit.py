"""Fitting a report into one pull-request comment: sections cut from the end of their
items, saying how many were left out, within GitHub's 65,536 characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_llmperf.report.comment_fit import Section, fit_all, fitted, shares, size_of


def told(count: int) -> list[str]:
    return [f"{count} more left out"] if count else []


TABLE = Section(
    ["<details>", "| a |", "| --- |"], [f"| {n} |" for n in range(10)], ["</details>"], told
)


def test_a_section_that_fits_is_whole() -> None:
    assert fitted(TABLE, TABLE.size) == TABLE.lines()


def test_a_section_too_long_keeps_its_frame_and_says_how_many_items_it_left_out() -> None:
    lines = fitted(TABLE, TABLE.size - 1)
    assert lines[:3] == ["<details>", "| a |", "| --- |"] and lines[-1] == "</details>"
    shown = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert shown == [f"| {n} |" for n in range(len(shown))]  # from the start, in order
    assert lines[-2] == f"{10 - len(shown)} more left out"
    assert size_of(lines) <= TABLE.size - 1


def test_with_no_room_for_its_frame_a_section_only_says_it_was_left_out() -> None:
    assert fitted(TABLE, size_of(["10 more left out"])) == ["10 more left out"]
    assert fitted(TABLE, 3) == []


def test_sizes_count_utf8_bytes_and_line_breaks() -> None:
    assert size_of(["ö", ""]) == 4


@given(st.lists(st.integers(0, 10_000), max_size=6), st.integers(0, 30_000))
def test_shares_never_exceed_the_room_or_a_need_and_small_needs_are_met(sizes, room) -> None:
    given_out = shares(sizes, room)
    assert sum(given_out) <= room
    assert all(0 <= part <= size for part, size in zip(given_out, sizes, strict=True))
    if sum(sizes) <= room:
        assert given_out == sizes
    else:  # whoever got less than it needs got at least what any other got
        cut = [part for part, size in zip(given_out, sizes, strict=True) if part < size]
        assert min(cut) >= max(given_out) - len(sizes)


@given(st.lists(st.integers(0, 40), min_size=1, max_size=5), st.integers(0, 3_000))
def test_fitted_sections_stay_within_the_room(counts, room) -> None:
    sections = [
        Section(["<details>"], [f"item {n} " * 5 for n in range(count)], ["</details>"], told)
        for count in counts
    ]
    lines = fit_all(sections, room)
    assert size_of(lines) <= room
    assert lines.count("<details>") == lines.count("</details>")


def test_sections_first_take_what_they_need_and_the_others_still_say_they_were_cut() -> None:
    verdicts = Section(["| v |"], [f"| verdict {n} |" for n in range(50)], [""], told)
    figures = Section(["<details>"], [f"| figure {n} |" for n in range(50)], ["</details>"], told)
    room = verdicts.size + 60
    lines = fit_all([verdicts, figures], room, first=[0])
    assert lines[: 1 + 50 + 1] == verdicts.lines()  # whole, in its place
    assert lines[52:] == ["<details>", "| figure 0 |", "49 more left out", "</details>"]
    assert size_of(lines) <= room
    lines = fit_all([verdicts, figures], room, first=[1])
    assert lines[-52:] == figures.lines()
    assert lines[0] == "| v |" and any(line.endswith("more left out") for line in lines[:-52])


def test_a_section_first_leaves_room_for_the_others_to_say_they_were_left_out() -> None:
    verdicts = Section(["| v |"], [f"| verdict {n} |" for n in range(50)], [""], told)
    figures = Section(["<details>"], [f"| figure {n} |" for n in range(50)], ["</details>"], told)
    lines = fit_all([verdicts, figures], verdicts.size, first=[0])
    assert lines[-1] == "50 more left out"  # the figures, all left out, and saying so
    assert lines[-3].endswith("more left out")  # the verdicts, cut to make room for it
    assert size_of(lines) <= verdicts.size
