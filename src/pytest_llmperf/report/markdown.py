"""The report as Markdown for a pull-request comment or the GitHub step summary.

Rendered from the JSON report's document (json_report.build_report), so the two always say
the same. One table row per test and limit, failures first; the figures of both models in a
collapsed section; then what to do about each failure. Plain GitHub-flavoured Markdown,
one table row per line, so the raw text reads well in a diff too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pytest_llmperf.outcomes import Outcome, outcome_of
from pytest_llmperf.report.capacity_table import (
    capacity_parts,
    searched,
    searches,
    slo_text,
    step_header,
    step_rows,
    steps_count,
)
from pytest_llmperf.report.cells import (
    change_text,
    failing_first,
    figure_values,
    models_judged,
    observed_text,
    relative_path,
    remedies,
    verdict_unit,
)
from pytest_llmperf.report.comment_fit import (
    COMMENT_CHARACTERS,
    Section,
    fit_all,
    size_of,
)
from pytest_llmperf.report.ranking import table_rows, verdict_lines
from pytest_llmperf.text import plural

_ICONS = {
    Outcome.PASS: "✅",
    Outcome.FAIL: "❌",
    Outcome.NOT_COMPARED: "⚠️",
    Outcome.INCONCLUSIVE: "❔",
}


def cell(text: str) -> str:
    """Text that stays inside one table cell: pipes escaped, line breaks as spaces."""
    return " ".join(str(text).split("\n")).replace("|", "\\|")


def code(text: str) -> str:
    """`text` as inline code, with a fence longer than any run of backticks inside it."""
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if runs else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    yield _row(header)
    yield _row(["---"] * len(header))
    for row in rows:
        yield _row([cell(text) for text in row])


def heading(summary: Mapping[str, int]) -> str:
    """The overall verdict in one line."""
    judged, failed = summary["judged"], summary["failed"]
    if failed:
        return f"## ❌ pytest-llmperf: {failed} of {plural(judged, 'test')} over budget"
    if judged:
        tests = f"all {judged} tests" if judged > 1 else "1 test"
        open_ones = summary.get("limits_inconclusive", 0)
        unsettled = f" ({plural(open_ones, 'limit')} inconclusive)" if open_ones else ""
        return f"## ✅ pytest-llmperf: {tests} within budget{unsettled}"
    if summary["recorded"]:
        return f"## 📝 pytest-llmperf: {plural(summary['recorded'], 'baseline snapshot')} recorded"
    return "## pytest-llmperf: no tests judged"


def _verdict_cells(record: Mapping[str, Any], verdict: Mapping[str, Any]) -> list[str]:
    unit = verdict_unit(verdict)
    result = outcome_of(verdict)
    icon = _ICONS[result]
    outcome = f"**{result.value}**" if verdict["failed"] else result.value
    return [
        code(record["test"]),
        f"{verdict['limit']} ({verdict['metric']})",
        unit.format(verdict["baseline"]),
        unit.format(verdict["candidate"]),
        change_text(verdict["baseline"], verdict["candidate"]),
        verdict["budget_text"],
        f"{icon} {outcome}{observed_text(verdict)}".strip(),
    ]


def verdict_table(records: Sequence[Mapping[str, Any]]) -> Section:
    """One row per test and limit, failures first: cut from the end (passes) to fit."""
    rows = [
        _verdict_cells(record, verdict)
        for record in failing_first(records)
        for verdict in sorted(record["verdicts"], key=lambda v: not v["failed"])
    ]
    header = ("test", "limit (metric)", "baseline", "candidate", "change", "budget", "verdict")
    return _table_section([], header, rows, [""], ("more verdict", "every verdict"))


def _models(records: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> Iterator[str]:
    candidates, sources = models_judged(records, settings, code)
    if candidates:
        yield f"**Candidate:** {', '.join(code(name) for name in candidates)}  "
    if sources:
        yield f"**Baseline:** {'; '.join(sources)}"


def figures_section(records: Sequence[Mapping[str, Any]]) -> Section | None:
    rows = [
        [
            code(record["test"]),
            label,
            unit.format(baseline),
            unit.format(candidate),
            change_text(baseline, candidate),
        ]
        for record in failing_first(records)
        for label, unit, baseline, candidate in figure_values(record)
    ]
    if not rows:
        return None
    header = ("test", "figure", "baseline", "candidate", "change")
    opening = ["<details><summary>Figures side by side</summary>", ""]
    return _table_section(
        opening, header, rows, ["", "</details>", ""], ("more figure", "every figure")
    )


def advice(records: Sequence[Mapping[str, Any]]) -> Section | None:
    """Each failing limit's remedy, and every note (e.g. why a limit was not compared)."""
    items = []
    for record in failing_first(records):
        for remedy, limits in remedies(record):
            items.append(f"- {code(record['test'])} **{', '.join(limits)}**: {remedy}")
        for verdict in record["verdicts"]:
            if verdict["note"]:
                items.append(f"- {code(record['test'])} {verdict['limit']}: {verdict['note']}")
    if not items:
        return None
    return Section(
        ["### What to do", ""],
        items,
        [""],
        lambda count: (
            [f"- {_left_out(count, 'more item', 'every remedy and note')}"] if count else []
        ),
    )


def _table_section(
    opening: list[str],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    closing: list[str],
    left_out: tuple[str, str],
) -> Section:
    """A table as a section of the comment: its rows may be left out from the end, and a
    line after them then says how many (`left_out`: what a row is, what holds them all)."""
    more, every = left_out
    return Section(
        [*opening, *_table(header, [])],
        [_row([cell(text) for text in row]) for row in rows],
        closing,
        lambda count: ["", _left_out(count, more, every)] if count else [],
    )


def _left_out(count: int, more: str, every: str) -> str:
    return (
        f"{plural(count, more)} left out to keep this comment short: {every} is in the JSON "
        "report (--llm-report)."
    )


CAPACITY_ROWS = 100  # step rows in all, before the whole comment is fitted (comment_fit)


def capacity_section(records: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Per test that searched a capacity: each model's capacity, bracket and ratio, then its
    steps in a collapsed table (CAPACITY_ROWS in all; the rest counted, not shown)."""
    tests = searched(failing_first(records))
    if not tests:
        return
    yield "### Capacity at the SLO"
    yield ""
    for record in tests:
        yield f"- {code(record['test'])}: {slo_text(searches(record)[0][1])}"
        yield from (f"  - {part}" for part in capacity_parts(record))
    yield ""
    left, unshown, untold = CAPACITY_ROWS, 0, 0
    for record in tests:
        rows = step_rows(record)
        if not left:
            unshown, untold = unshown + len(rows), untold + 1
            continue
        shown = rows[:left]
        left -= len(shown)
        yield f"<details><summary>Steps of {code(record['test'])} ({steps_count(record)})</summary>"
        yield ""
        yield from _table(step_header(record), shown)
        yield ""
        if len(shown) < len(rows):
            yield f"{plural(len(rows) - len(shown), 'more step')} left out."
            yield ""
        yield "</details>"
        yield ""
    if untold:
        yield (
            f"The steps of {plural(untold, 'more test')} ({plural(unshown, 'step')}) are left "
            "out to keep this comment short: every step is in the JSON report (--llm-report)."
        )
        yield ""


ANSWER_CELL = 300  # characters of a prompt or an answer in a table cell


def answers_sections(records: Sequence[Mapping[str, Any]]) -> list[Section]:
    """The changed answers, then the wrong ones, per test: each a collapsed table."""
    return [
        _table_section(
            [f"<details><summary>{summary}</summary>", ""],
            header,
            rows,
            ["", "</details>", ""],
            (f"more {noun}", "every answer"),
        )
        for noun, summary, header, rows in [*_changed_answers(records), *_wrong_answers(records)]
    ]


# What a row is (singular), the table's summary line, its header and its rows.
_Table = tuple[str, str, tuple[str, ...], list[list[str]]]


def _wrong_answers(records: Sequence[Mapping[str, Any]]) -> Iterator[_Table]:
    """Every prompt the candidate answered wrong, per test whose accuracy limit failed: the
    prompt, the expected answer, both models' answers."""
    for record in failing_first(records):
        wrong = record.get("wrong_answers") or []
        accuracy_failed = any(
            verdict["failed"] and verdict["metric"] == "accuracy" for verdict in record["verdicts"]
        )
        if not (wrong and accuracy_failed):
            continue
        prompts = record["candidate"]["figures"]["prompts"]
        summary = (
            f"Wrong answers of {code(record['test'])}: {len(wrong)} of {plural(prompts, 'prompt')}"
        )
        rows = [
            [
                str(number),
                _answer(answer["prompt"]),
                _answer(answer["expected"]),
                _answer(answer["candidate"]),
                _baseline_answer(answer),
            ]
            for number, answer in enumerate(wrong, 1)
        ]
        yield "wrong answer", summary, ("#", "prompt", "expected", "candidate", "baseline"), rows


def _changed_answers(records: Sequence[Mapping[str, Any]]) -> Iterator[_Table]:
    """Every question whose answer changed between baseline and candidate, per test with a
    quality verdict against the baseline: the change, the question, both answers."""
    for record in failing_first(records):
        changed = record.get("changed_answers") or []
        quality = [v for v in record["verdicts"] if (v.get("quality") or {}).get("paired")]
        if not (changed and quality):
            continue
        worse = sum(answer["change"] in ("right->wrong", "worse") for answer in changed)
        summary = (
            f"Changed answers of {code(record['test'])}: {worse} worse, "
            f"{len(changed) - worse} better"
        )
        rows = [
            [
                str(number),
                answer["change"],
                _answer(answer["question_id"]),
                _answer(answer["prompt"]),
                _answer(answer["expected"]),
                _answer(answer["baseline"]),
                _answer(answer["candidate"]),
            ]
            for number, answer in enumerate(changed, 1)
        ]
        header = ("#", "change", "id", "prompt", "expected", "baseline", "candidate")
        yield "changed answer", summary, header, rows


def _answer(text: str | None) -> str:
    if text is None:
        return "-"
    text = text if len(text) <= ANSWER_CELL else text[: ANSWER_CELL - 1] + "…"
    return code(" ".join(text.split())) if text.strip() else "(empty)"


def _baseline_answer(answer: Mapping[str, Any]) -> str:
    verdict = {True: " ✅", False: " ❌"}.get(answer["baseline_correct"], "")
    return _answer(answer["baseline"]) + verdict


def _measured_on(report: Mapping[str, Any]) -> str:
    settings = report["settings"]
    parts = [
        f"{settings['repeats']} repeats",
        f"{settings['latency_statistic']} latency SLAs",
        f"{settings['mode']} mode",
        f"false-failure rate {settings['false_failure_rate']:g}",
    ]
    hardware = (report.get("environment") or {}).get("hardware") or {}
    if hardware:
        parts.insert(0, f"{hardware.get('device_type')} ({hardware.get('device_name')})")
    tool = report["tool"]
    return f"<sub>{tool['name']} {tool['version'] or ''}: {', '.join(parts)}.</sub>"


def ranking_section(ranked: Mapping[str, Any] | None) -> Iterator[str]:
    """Which candidate to ship, when the run judged several."""
    if ranked is None:
        return
    header, *rows = table_rows(ranked)
    yield "### Candidates ranked"
    yield ""
    yield from _table([cell(text) for text in header], rows)
    yield ""
    for line in verdict_lines(ranked):
        yield f"- {cell(line)}"
    yield ""


def render(report: Mapping[str, Any]) -> str:
    """The whole Markdown document of a report built by json_report.build_report, within
    one pull-request comment (comment_fit): when it is too long, the verdicts, then what to
    do, take the room they need; the figures, capacity searches and answers share the rest
    (each cut from its end, the smaller ones whole)."""
    records = report["tests"]
    head = [heading(report["summary"]), ""]
    tail: list[str] = []
    sections: list[Section] = []
    first: list[int] = []
    if any(record["judged"] for record in records):
        head += [*_models(records, report["settings"]), ""]
        sections, first = _sections(records)
        tail += ranking_section(report.get("ranking"))
    written = report["summary"]["snapshots_written"]
    if written:
        snapshots = plural(written, "snapshot")
        settings = report["settings"]
        where = relative_path(settings["snapshot_dir"], settings.get("rootdir"))
        tail += [f"{snapshots} written under {code(where)}", ""]
    tail.append(_measured_on(report))
    room = COMMENT_CHARACTERS - size_of(head) - size_of(tail)
    return "\n".join([*head, *fit_all(sections, room, first), *tail]) + "\n"


_CAPACITY_LEFT_OUT = (
    "The capacity searches are left out to keep this comment short: every step is in the "
    "JSON report (--llm-report).",
    "",
)


def _sections(records: Sequence[Mapping[str, Any]]) -> tuple[list[Section], list[int]]:
    """The verdicts and what follows them, in order; and the indexes of those that take
    the room they need first (the verdicts, then what to do)."""
    capacity = list(capacity_section(records))
    verdicts, remedies = verdict_table(records), advice(records)
    listed = [
        verdicts,
        figures_section(records),
        Section(capacity, left_out=lambda count: _CAPACITY_LEFT_OUT) if capacity else None,
        remedies,
        *answers_sections(records),
    ]
    sections = [section for section in listed if section is not None]
    first = [
        index
        for wanted in (verdicts, remedies)
        for index, section in enumerate(sections)
        if section is wanted
    ]
    return sections, first
