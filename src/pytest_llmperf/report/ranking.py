"""Which candidate to ship: with several candidates in one run, each candidate's limits
(passed or not across its tests) and its trade-off figures side by side, the ones that
pass every limit, the best of those by the configured rule (--llm-rank-by), and the
Pareto-optimal ones. Built from report records, so that every output renders the same."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pytest_llmperf.metrics import METRICS_BY_NAME, RANKED_FIGURES, Metric
from pytest_llmperf.outcomes import Outcome, outcome_of

Record = Mapping[str, Any]
RankRule = Sequence[tuple[str, str]]  # ((max|min, figure), ...), most important first

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
    passing = [row for row in rows if row["passes_every_limit"]]
    best = min(passing, key=lambda row: _order(row, rule), default=None)
    pareto = _pareto([row for row in rows], RANKED_FIGURES)
    for row in rows:
        row["pareto_optimal"] = row["candidate"] in pareto
        row["best"] = best is not None and row["candidate"] == best["candidate"]
    return {
        "rule": [f"{direction}:{figure}" for direction, figure in rule],
        "rule_text": rule_text(rule),
        "best": None if best is None else best["candidate"],
        "pareto_optimal": [row["candidate"] for row in rows if row["pareto_optimal"]],
        "candidates": rows,
    }


def _row(name: str, records: Sequence[Record]) -> dict[str, Any]:
    outcomes: dict[str, list[Outcome]] = {}
    for record in records:
        for verdict in record["verdicts"]:
            outcomes.setdefault(verdict["limit"], []).append(outcome_of(verdict))
    worst = {limit: min(seen, key=_WORST_FIRST.index) for limit, seen in outcomes.items()}
    return {
        "candidate": name,
        "model": records[0]["candidate"]["name"],
        "tests": len(records),
        "tests_failed": sum(bool(record["failed"]) for record in records),
        "limits": {limit: outcome.value for limit, outcome in worst.items()},
        # A limit not compared (tokens in fixed_length mode, other hardware) decides nothing.
        "passes_every_limit": all(outcome in _DECIDES_NOTHING for outcome in worst.values()),
        "fails_no_limit": Outcome.FAIL not in worst.values(),
        "figures": {figure: _mean(records, METRICS_BY_NAME[figure]) for figure in RANKED_FIGURES},
    }


def _mean(records: Sequence[Record], metric: Metric) -> float | None:
    """The figure's mean over the candidate's tests (each test's own figure)."""
    values = [
        value
        for record in records
        if (figures := record["candidate"]["figures"]) is not None
        and (value := figures.get(metric.key)) is not None
    ]
    return sum(values) / len(values) if values else None


def _order(row: Mapping[str, Any], rule: RankRule) -> tuple[tuple[int, float], ...]:
    """Sort key, best first: each figure of the rule in turn; a missing figure sorts last."""
    key = []
    for direction, figure in rule:
        value = row["figures"][figure]
        if value is None:
            key.append((1, 0.0))
        else:
            key.append((0, -value if direction == "max" else value))
    return tuple(key)


def _pareto(rows: Sequence[Mapping[str, Any]], figures: Sequence[str]) -> set[str]:
    """Candidates no other beats on one figure while matching it on all others, over the
    figures every candidate has."""
    shared = [f for f in figures if all(row["figures"][f] is not None for row in rows)]

    def better_or_equal(a: Mapping[str, Any], b: Mapping[str, Any], figure: str) -> bool:
        x, y = a["figures"][figure], b["figures"][figure]
        return x >= y if METRICS_BY_NAME[figure].higher_is_better else x <= y

    def dominates(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        return all(better_or_equal(a, b, f) for f in shared) and any(
            not better_or_equal(b, a, f) for f in shared
        )

    return {
        row["candidate"]
        for row in rows
        if not any(dominates(other, row) for other in rows if other is not row)
    }


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
    """Header and one row per candidate: mark, name, limits, each figure."""
    header = (
        "",
        "candidate",
        "limits",
        *(METRICS_BY_NAME[figure].label for figure in RANKED_FIGURES),
    )
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
        name = row["candidate"] + (" *" if row["pareto_optimal"] else "")
        rows.append((mark, name, limits, *(_figure_text(row, f) for f in RANKED_FIGURES)))
    return rows


def verdict_lines(ranked: Mapping[str, Any]) -> Iterator[str]:
    """The recommendation in words."""
    passing = [row["candidate"] for row in ranked["candidates"] if row["passes_every_limit"]]
    yield f"pass every limit: {', '.join(passing) if passing else 'none'}"
    yield f"Pareto-optimal (*): {', '.join(ranked['pareto_optimal'])}"
    if ranked["best"] is None:
        yield "recommended: none: no candidate passes every limit"
        unsure = [row for row in ranked["candidates"] if row["fails_no_limit"]]
        if unsure:
            names = ", ".join(row["candidate"] for row in unsure)
            yield (
                f"no limit failed, some inconclusive (?): {names}: more runs or a quieter "
                "machine would settle them"
            )
    else:
        yield f"recommended: {ranked['best']} (of those passing, {ranked['rule_text']})"
