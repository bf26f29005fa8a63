"""Which candidate to ship: with several candidates in one run, each candidate's limits
(passed or not across its tests) and its trade-off figures side by side, the ones that
pass every limit, the best of those by the configured rule (--llm-rank-by), and the
Pareto-optimal ones. Built from report records, so that every output renders the same.

Two figures within their noise are equal here: a candidate is not Pareto-optimal, nor
recommended, on a difference the measurement cannot resolve. A figure's noise comes from
its metric row: the run-to-run spread of its per-run values in the records (latency), or
a fixed tolerance for a figure read once (a memory peak); exact figures (tokens, cost)
have none. A figure scored per answer (accuracy) is a sample of questions: two candidates'
accuracies are equal while their 95% Clopper-Pearson intervals overlap (each over the
questions it scored across its tests; several answers to one question, samples_per_question,
count as that one question). Overlap is stricter than a paired test between the two
candidates would be (the records do not keep per-question answers of both): a lead it calls
is significant, one it does not may still be real."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pytest_llmperf.judge.quality import clopper_pearson
from pytest_llmperf.judge.stats import run_to_run_cv
from pytest_llmperf.metrics import METRICS_BY_NAME, RANKED_FIGURES, Metric
from pytest_llmperf.outcomes import Outcome, outcome_of
from pytest_llmperf.settings.settings import OPTIONS_BY_KEY

Record = Mapping[str, Any]
Row = Mapping[str, Any]
RankRule = Sequence[tuple[str, str]]  # ((max|min, figure), ...), most important first
DEFAULT_RULE = tuple(OPTIONS_BY_KEY["rank_by"].default)

# The worst outcome of a limit across a candidate's tests is its outcome.
_WORST_FIRST = (Outcome.FAIL, Outcome.INCONCLUSIVE, Outcome.NOT_COMPARED, Outcome.PASS)
_DECIDES_NOTHING = (Outcome.PASS, Outcome.NOT_COMPARED)


def candidate_of(record: Record) -> str:
    return record["candidate"].get("id") or record["candidate"]["name"]


def several_candidates(records: Sequence[Record]) -> bool:
    return len({candidate_of(record) for record in records if record["judged"]}) > 1


def ranking(records: Sequence[Record], rule: RankRule) -> dict[str, Any] | None:
    """The ranking as plain data (the JSON report's `ranking`); None with fewer than two
    candidates judged."""
    if not several_candidates(records):
        return None
    judged = [record for record in records if record["judged"]]
    names = list(dict.fromkeys(candidate_of(record) for record in judged))
    rows = [_row(name, [r for r in judged if candidate_of(r) == name]) for name in names]
    # The baseline itself (a glob matching its directory) is shown for reference, never picked.
    passing = [row for row in rows if row["passes_every_limit"] and not row["is_baseline"]]
    best, ties = _best(passing, rule)
    pareto = _pareto(rows, _shared_figures(rows))
    for row in rows:
        row["pareto_optimal"] = row["candidate"] in pareto
        row["best"] = best is not None and row["candidate"] == best["candidate"]
    return {
        "rule": [f"{direction}:{figure}" for direction, figure in rule],
        "rule_text": rule_text(rule),
        "best": None if best is None else best["candidate"],
        "ties": ties,
        "pareto_optimal": [row["candidate"] for row in rows if row["pareto_optimal"]],
        "baseline": next((row["candidate"] for row in rows if row["is_baseline"]), None),
        "unmeasured": unmeasured(rows, rule),
        "candidates": rows,
    }


def unmeasured(rows: Sequence[Row], rule: RankRule) -> list[str]:
    """The parts of a rule set by the user (--llm-rank-by, rank_by) whose figure no
    candidate has: they decide nothing, and the ranking says why. The default rule's parts
    go unremarked (a run without prices has no cost to rank by, and need not be told)."""
    if tuple(rule) == DEFAULT_RULE:
        return []
    return [
        f"{direction}:{figure}"
        for direction, figure in rule
        if all(row["figures"][figure] is None for row in rows)
    ]


def _row(name: str, records: Sequence[Record]) -> dict[str, Any]:
    outcomes: dict[str, list[Outcome]] = {}
    for record in records:
        for verdict in record["verdicts"]:
            outcomes.setdefault(verdict["limit"], []).append(outcome_of(verdict))
    worst = {limit: min(seen, key=_WORST_FIRST.index) for limit, seen in outcomes.items()}
    per_question = {
        verdict["limit"]
        for record in records
        for verdict in record["verdicts"]
        if (metric := METRICS_BY_NAME.get(verdict.get("metric", ""))) is not None
        and metric.per_question is not None
    }
    return {
        "candidate": name,
        "model": records[0]["candidate"]["name"],
        "is_baseline": any(record["candidate"].get("is_baseline") for record in records),
        "tests": len(records),
        "tests_failed": sum(bool(record["failed"]) for record in records),
        "limits": {limit: outcome.value for limit, outcome in worst.items()},
        # A limit not compared (tokens in fixed_length mode, other hardware) decides nothing.
        "passes_every_limit": all(outcome in _DECIDES_NOTHING for outcome in worst.values()),
        "fails_no_limit": Outcome.FAIL not in worst.values(),
        # Inconclusive limits on a figure scored per question (accuracy): more runs of the
        # same questions give the same answers; only more questions would settle them.
        "inconclusive_on_questions": [
            limit
            for limit, outcome in worst.items()
            if outcome is Outcome.INCONCLUSIVE and limit in per_question
        ],
        "figures": {figure: _mean(records, METRICS_BY_NAME[figure]) for figure in RANKED_FIGURES},
        "noise": {figure: _noise(records, METRICS_BY_NAME[figure]) for figure in RANKED_FIGURES},
        "intervals": {
            figure: _interval(records, METRICS_BY_NAME[figure])
            for figure in RANKED_FIGURES
            if _overlap_words(METRICS_BY_NAME[figure])
        },
    }


def _overlap_words(metric: Metric) -> str:
    """What a figure's interval is, when two candidates tie while theirs overlap: '' for a
    figure without one (its noise decides)."""
    if metric.per_question is not None:
        return "95% intervals"
    if metric.bracket is not None:
        return "search brackets"
    return ""


def _interval(records: Sequence[Record], metric: Metric) -> list[float | None] | None:
    if metric.per_question is not None:
        return _share_interval(records, metric)
    return _bracket_mean(records, metric)


def _bracket_mean(records: Sequence[Record], metric: Metric) -> list[float | None] | None:
    """Where the mean of the candidate's searched capacities lies, from each search's
    bracket: [mean of the rates shown to hold, mean of the lowest shown not to] (None, open,
    when a search held every rate it tried); None when no test searched one. Only the
    searches that give `metric` its figure count (by rate, or by concurrency)."""
    found = [
        capacity
        for record in records
        if (figures := record["candidate"]["figures"] or {}).get(metric.key) is not None
        and (capacity := figures.get("capacity")) is not None
    ]
    if not found:
        return None
    held = [capacity["held_rps"] or 0.0 for capacity in found]
    failed = [capacity["failed_rps"] for capacity in found]
    top = None if None in failed else statistics.fmean(failed)
    return [statistics.fmean(held), top]


SHARE_TAIL = 0.025  # 95% intervals for figures scored per answer


def _share_interval(records: Sequence[Record], metric: Metric) -> list[float] | None:
    """The Clopper-Pearson interval of a share scored per answer, over every question the
    candidate's tests scored; None when none was."""
    right, questions = 0.0, 0
    for record in records:
        figures = record["candidate"]["figures"] or {}
        value, scored = figures.get(metric.key), _questions_scored(figures)
        if value is not None and scored:
            right += value * scored
            questions += scored
    if not questions:
        return None
    return list(clopper_pearson(right, questions, SHARE_TAIL))


def _questions_scored(figures: Mapping[str, Any]) -> int:
    """The questions behind a figure's scored answers: the distinct question ids (k answers
    to one question are one question's evidence, not k), else the answers scored."""
    answers = figures.get("questions") or []
    ids = [answer.get("id") for answer in answers if answer.get("score") is not None]
    if ids and None not in ids:
        return len(set(ids))
    return int(figures.get("answers_scored") or 0)


def _mean(records: Sequence[Record], metric: Metric) -> float | None:
    """The figure's mean over the candidate's tests (each test's own figure)."""
    values = [
        value
        for record in records
        if (figures := record["candidate"]["figures"]) is not None
        and (value := figures.get(metric.key)) is not None
    ]
    return sum(values) / len(values) if values else None


def _noise(records: Sequence[Record], metric: Metric) -> float:
    """The relative difference of the candidate's figure that its noise can make: the
    run-to-run spread of its per-run values (the mean over its tests of each test's, the
    repeats of each prompt apart), else the metric's fixed tolerance.

    One run's spread, not the standard error of a median: candidates are measured at
    different times (each against the snapshots, or in rounds as the machine drifts), and
    the shift between those passes shows in no single candidate's runs; a lead smaller than
    one run's spread is not called."""
    spreads = [
        run_to_run_cv(runs, figures["prompts"])
        for record in records
        if (figures := record["candidate"]["figures"]) is not None
        and len(runs := figures.get(metric.runs_key) or []) > 1
    ]
    return max(metric.tolerance, statistics.fmean(spreads) if spreads else 0.0)


def tied(a: Row, b: Row, figure: str) -> bool:
    """Whether two candidates' figures are equal within the noise of either."""
    x, y = a["figures"][figure], b["figures"][figure]
    if x is None or y is None:
        return x is y
    first, second = (row.get("intervals", {}).get(figure) for row in (a, b))
    if first is not None and second is not None:
        return _overlap(first, second)
    noise = max(a["noise"][figure], b["noise"][figure])
    return abs(x - y) <= noise * max(abs(x), abs(y))


def _overlap(first: Sequence[float | None], second: Sequence[float | None]) -> bool:
    """Whether two intervals overlap; an end that is None is open (a search bracket that
    held every rate it tried has no top)."""
    low = [-math.inf if end is None else end for end in (first[0], second[0])]
    high = [math.inf if end is None else end for end in (first[1], second[1])]
    return low[0] <= high[1] and low[1] <= high[0]


def _better(a: Row, b: Row, figure: str) -> bool:
    """a's figure is better than b's by more than the noise."""
    if tied(a, b, figure):
        return False
    x, y = a["figures"][figure], b["figures"][figure]
    return x > y if METRICS_BY_NAME[figure].higher_is_better else x < y


def _dominates(a: Row, b: Row, figures: Sequence[str]) -> bool:
    """a is better than b on one figure, beyond the noise, and no worse on any other."""
    return any(_better(a, b, f) for f in figures) and not any(_better(b, a, f) for f in figures)


def _shared_figures(rows: Sequence[Row]) -> list[str]:
    return [f for f in RANKED_FIGURES if all(row["figures"][f] is not None for row in rows)]


def _pareto(rows: Sequence[Row], figures: Sequence[str]) -> set[str]:
    """Candidates no other beats on one figure (beyond the noise) while matching it on all
    others (within the noise), over the figures every candidate has."""
    return {row["candidate"] for row in _undominated(rows, figures)}


def _undominated(rows: Sequence[Row], figures: Sequence[str]) -> list[Row]:
    front = [
        row
        for row in rows
        if not any(_dominates(other, row, figures) for other in rows if other is not row)
    ]
    if front or not rows:
        return front
    # Equality within the noise is not transitive (a ~ b ~ c while a beats c), so dominance
    # may run in a circle that leaves no row standing: then the exact figures decide.
    exact = [{**row, "noise": dict.fromkeys(row["noise"], 0.0)} for row in rows]
    kept = {row["candidate"] for row in _undominated(exact, figures)}
    return [row for row in rows if row["candidate"] in kept]


def _best(passing: Sequence[Row], rule: RankRule) -> tuple[Row | None, list[dict[str, Any]]]:
    """The recommended candidate, and where the rule found candidates tied within the
    noise (the next figure decided, or none was left: then the first judged).

    Of the passing candidates none other of them dominates, each figure of the rule in
    turn keeps those equal (within the noise) to the best value; a candidate without the
    figure drops out while another has it."""
    left = _undominated(passing, _shared_figures(passing))
    ties: list[dict[str, Any]] = []
    for direction, figure in rule:
        if len(left) < 2:
            break
        measured = [row for row in left if row["figures"][figure] is not None]
        if not measured:
            continue
        pick = max if direction == "max" else min
        top = pick(measured, key=lambda row: row["figures"][figure])
        left = [row for row in measured if tied(row, top, figure)]
        values = {row["figures"][figure] for row in left}
        if len(left) > 1 and len(values) > 1:
            names = [row["candidate"] for row in left]
            ties.append({"figure": figure, "candidates": names, "then": "next figure"})
    if len(left) > 1 and ties and ties[-1]["candidates"] == [row["candidate"] for row in left]:
        ties[-1]["then"] = "first judged"  # no later figure told them apart
    return (left[0] if left else None), ties


def rule_text(rule: RankRule) -> str:
    """E.g. 'highest accuracy, then lowest cost/request'."""
    words = {"max": "highest", "min": "lowest"}
    return ", then ".join(
        f"{words[direction]} {METRICS_BY_NAME[figure].label}" for direction, figure in rule
    )


def _figure_text(row: Mapping[str, Any], figure: str) -> str:
    value = row["figures"][figure]
    return "-" if value is None else METRICS_BY_NAME[figure].unit.format(value)


def table_rows(ranked: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Header and one row per candidate: mark, name, limits, each figure some candidate
    has (a column no candidate measured says nothing)."""
    figures = [
        figure
        for figure in RANKED_FIGURES
        if any(row["figures"][figure] is not None for row in ranked["candidates"])
    ]
    header = ("", "candidate", "limits", *(METRICS_BY_NAME[figure].label for figure in figures))
    rows = [header]
    for row in ranked["candidates"]:
        outcomes = {limit: Outcome(outcome) for limit, outcome in row["limits"].items()}
        failing = [
            limit + ("?" if outcome is Outcome.INCONCLUSIVE else "")
            for limit, outcome in outcomes.items()
            if outcome not in _DECIDES_NOTHING
        ]
        limits = "all pass" if row["passes_every_limit"] else "not: " + ", ".join(failing)
        mark = "best" if row["best"] else ("ok" if row["passes_every_limit"] else "")
        name = _shown(row) + (" *" if row["pareto_optimal"] else "")
        rows.append((mark, name, limits, *(_figure_text(row, f) for f in figures)))
    return rows


def _shown(row: Row) -> str:
    """A candidate's name, saying so when it is the baseline itself."""
    return row["candidate"] + (" (baseline)" if row.get("is_baseline") else "")


def _names(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def noise_line(ranked: Mapping[str, Any]) -> str:
    """Which figures counted as equal within their noise, and up to how much."""
    widest = {
        figure: max(row["noise"][figure] for row in ranked["candidates"])
        for figure in RANKED_FIGURES
    }
    parts = [
        f"{METRICS_BY_NAME[figure].label} within {noise:.0%}"
        for figure, noise in widest.items()
        if noise > 0
    ]
    parts += [
        f"{METRICS_BY_NAME[figure].label} while {_overlap_words(METRICS_BY_NAME[figure])} overlap"
        for figure in RANKED_FIGURES
        if any(row.get("intervals", {}).get(figure) for row in ranked["candidates"])
    ]
    return f"figures within their noise count as equal: {', '.join(parts)}" if parts else ""


def tie_lines(ranked: Mapping[str, Any]) -> Iterator[str]:
    """Where the recommendation's lead was within the noise, and what decided then."""
    for tie in ranked.get("ties") or []:
        metric = METRICS_BY_NAME[tie["figure"]]
        tied_on = f"{_names(tie['candidates'])} are tied on {metric.label}"
        if overlap := _overlap_words(metric):
            tied_on += f" (the lead is not significant: their {overlap} overlap)"
        if tie["then"] == "first judged":
            yield (
                f"{tied_on} (within the noise), and no later figure of the rule tells them "
                f"apart: {ranked['best']}, the first judged, is named"
            )
        else:
            yield f"{tied_on} (within the noise): the next figure decides"


def verdict_lines(ranked: Mapping[str, Any]) -> Iterator[str]:
    """The recommendation in words."""
    rows = ranked["candidates"]
    passing = [_shown(row) for row in rows if row["passes_every_limit"]]
    yield f"pass every limit: {', '.join(passing) if passing else 'none'}"
    pareto = [_shown(row) for row in rows if row["pareto_optimal"]]
    yield f"Pareto-optimal (*): {', '.join(pareto)}"
    for part in ranked.get("unmeasured") or []:
        why = METRICS_BY_NAME[part.partition(":")[2]].unmeasured
        yield f"--llm-rank-by {part} decided nothing, no candidate measured it" + (
            f": {why}" if why else ""
        )
    if noise := noise_line(ranked):
        yield noise
    if ranked.get("baseline") is not None:
        yield (
            f"{ranked['baseline']} is the baseline itself (--llm-baseline), matched among the "
            "candidates: shown for reference, never recommended"
        )
    if ranked["best"] is None:
        others_fail = all(row["is_baseline"] for row in rows if row["passes_every_limit"])
        if ranked.get("baseline") is not None and passing and others_fail:
            yield "recommended: none: no candidate but the baseline passes every limit"
        else:
            yield "recommended: none: no candidate passes every limit"
    else:
        yield from tie_lines(ranked)
        yield f"recommended: {ranked['best']} (of those passing, {ranked['rule_text']})"
        yield from _unsignificant_leads(ranked)
    yield from _what_would_settle(ranked)


def _what_would_settle(ranked: Mapping[str, Any]) -> Iterator[str]:
    """The candidates held back by inconclusive limits alone (none failed), and what would
    settle those: more runs or a quieter machine for a measured figure; for one scored per
    question (accuracy), more questions, as more runs of the same questions give the same
    answers."""
    unsure = [
        row
        for row in ranked["candidates"]
        if row["fails_no_limit"] and not row["passes_every_limit"] and not row["is_baseline"]
    ]
    if not unsure:
        return
    names = ", ".join(row["candidate"] for row in unsure)
    open_limits = dict.fromkeys(
        limit
        for row in unsure
        for limit, outcome in row["limits"].items()
        if outcome == Outcome.INCONCLUSIVE.value
    )
    on_questions = {limit for row in unsure for limit in row["inconclusive_on_questions"]}
    by_questions = [name for name in open_limits if name in on_questions]
    by_runs = [name for name in open_limits if name not in by_questions]
    runs, questions = "more runs or a quieter machine", "more questions, not more runs,"
    if not by_questions:
        settles = f"{runs} would settle them"
    elif not by_runs:
        settles = f"{questions} would settle them"
    else:
        settles = (
            f"{runs} would settle {', '.join(by_runs)}; "
            f"{questions} would settle {', '.join(by_questions)}"
        )
    yield f"no limit failed, some inconclusive (?): {names}: {settles}"


def _unsignificant_leads(ranked: Mapping[str, Any]) -> Iterator[str]:
    """Passing candidates whose lead over the recommended one, on a figure with an interval
    (accuracy, capacity), lies within both intervals: not significant, so it did not decide."""
    rows = {row["candidate"]: row for row in ranked["candidates"]}
    best = rows[ranked["best"]]
    for figure, interval in (best.get("intervals") or {}).items():
        metric = METRICS_BY_NAME[figure]
        for row in ranked["candidates"]:
            value, mine = row["figures"][figure], best["figures"][figure]
            if row is best or not row["passes_every_limit"] or value is None or mine is None:
                continue
            ahead = value > mine if metric.higher_is_better else value < mine
            if ahead and interval is not None and tied(row, best, figure):
                yield (
                    f"{row['candidate']}'s {metric.label} lead ({_figure_text(row, figure)} vs "
                    f"{_figure_text(best, figure)}) is not significant: their "
                    f"{_overlap_words(metric)} overlap"
                )
