"""A capacity search in words and rows, for the Markdown report and the plots page: each
model's steps (rate, requests, attainment and its interval, p95 latency and time to first
token, client lag, outcome) and one line with each model's capacity and bracket, the
candidate/baseline ratio with its interval, and the verdicts on them.

Read from report records (judge/records.py: a model's `figures.capacity`), so that a report
rebuilt from the JSON report says the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmperf.judge.capacity import StepOutcome, ratio_bounds
from pytest_llmperf.outcomes import outcome_of
from pytest_llmperf.report.cells import ROLES, figures_of
from pytest_llmperf.results import CapacityFigures, CapacityStep
from pytest_llmperf.text import number, plural

Record = Mapping[str, Any]
SLO_WORDS = {"slo_ttft_ms": "TTFT", "slo_tpot_ms": "time per token", "slo_latency_ms": "latency"}
# the metric rows whose limits judge a search's bracket: by rate, by concurrency
CAPACITY_METRICS = ("capacity", "capacity_concurrency")


def searches(record: Record) -> list[tuple[str, CapacityFigures]]:
    """(role, its capacity search) for each model of a test whose capacity was searched."""
    found = []
    for role in ROLES:
        capacity = figures_of(record, role).get("capacity")
        if capacity is not None:
            found.append((role, CapacityFigures.from_json(capacity)))
    return found


def searched(records: Sequence[Record]) -> list[Record]:
    """The judged tests that searched a capacity."""
    return [record for record in records if record.get("judged") and searches(record)]


def step_outcome(step: CapacityStep) -> StepOutcome:
    return StepOutcome(step.outcome)


def by_rate(figures: CapacityFigures) -> list[CapacityStep]:
    return sorted(figures.steps, key=lambda step: step.rate_rps)


def rate_text(rate: float | None) -> str:
    return "none" if rate is None else number(rate)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{number(value)} ms"


def _interval(step: CapacityStep) -> str:
    if step.low is None or step.high is None:
        return "-"
    return f"[{step.low:.1%}, {step.high:.1%}]"


def _outcome(step: CapacityStep, figures: CapacityFigures) -> str:
    """The step's outcome, and which end of the bracket it is."""
    text = step.outcome
    if step.rate_rps == figures.held_rps and step_outcome(step) is StepOutcome.HOLDS:
        text += " (capacity)"
    elif step.rate_rps == figures.failed_rps:
        text += " (bracket's top)"
    return text


def step_header(record: Record) -> tuple[str, ...]:
    """The columns of a test's step table; a TTFT column only where a step timed one."""
    ttft = ("p95 TTFT",) if _any_ttft(record) else ()
    level = "in flight" if searches(record)[0][1].by == "concurrency" else "rate (req/s)"
    return (
        "model",
        level,
        "requests",
        "attainment",
        "95% interval",
        "p95 latency",
        *ttft,
        "client lag p95",
        "outcome",
    )


def _any_ttft(record: Record) -> bool:
    return any(step.ttft_p95_ms is not None for _, f in searches(record) for step in f.steps)


def step_rows(record: Record) -> list[tuple[str, ...]]:
    """One row per step, each model's steps by rate (baseline first)."""
    ttft = _any_ttft(record)
    rows = []
    for role, figures in searches(record):
        for step in by_rate(figures):
            rows.append(
                (
                    role,
                    figures.level_text(step.rate_rps),
                    f"{step.requests:,}",
                    f"{step.attainment:.1%}",
                    _interval(step),
                    _ms(step.latency_p95_ms),
                    *((_ms(step.ttft_p95_ms),) if ttft else ()),
                    _ms(step.client_lag_ms),
                    _outcome(step, figures),
                )
            )
    return rows


def slo_text(figures: CapacityFigures) -> str:
    """'latency ≤ 300 ms, TTFT ≤ 100 ms for 95% of requests'."""
    bounds = ", ".join(
        f"{SLO_WORDS.get(key, key)} ≤ {number(value, trim=True)} ms"
        for key, value in figures.slo.items()
    )
    share = f"{figures.target:.0%} of requests"
    return f"{bounds} for {share}" if bounds else f"the SLO for {share}"


def _held(figures: CapacityFigures) -> str:
    """'held at 30.2, not at 31.7'; 'held at every rate tried, up to 80.0'; 'no rate held,
    down to 5.00'."""
    held, failed, level = figures.held_rps, figures.failed_rps, figures.level_text
    if held is not None and failed is not None:
        return f"held at {level(held)}, not at {level(failed)}"
    if held is not None:
        return f"held at every {figures.by} tried, up to {level(held)}"
    if failed is not None:
        return f"no {figures.by} held, down to {level(failed)}"
    return "no step measured"


def bracket_text(figures: CapacityFigures) -> str:
    """'capacity 30.2 requests/s (held at 30.2, not at 31.7)'."""
    return f"capacity {_capacity(figures)} ({_held(figures)})"


def model_capacity(role: str, figures: CapacityFigures) -> str:
    """'candidate 30.2 requests/s (held at 30.2, not at 31.7; 2 over-saturated)'."""
    notes = [_held(figures)]
    for outcome in (StepOutcome.OVER_SATURATED, StepOutcome.CLIENT_BOUND):
        count = sum(step_outcome(step) is outcome for step in figures.steps)
        if count:
            notes.append(f"{count} {outcome.value}")
    if figures.indeterminate:
        notes.append("bracket rests on an indeterminate step")
    return f"{role} {_capacity(figures)} ({'; '.join(notes)})"


def _capacity(figures: CapacityFigures) -> str:
    """'30.2 requests/s', or '6 in flight'."""
    return f"{figures.level_text(figures.capacity_rps)} {figures.unit}"


def ratio_text(record: Record) -> str:
    """'candidate/baseline 0.62x within [0.6, 0.66]', or '' without both searches."""
    found = dict(searches(record))
    if set(found) != set(ROLES):
        return ""
    base, cand = found["baseline"], found["candidate"]
    estimate, low, high = ratio_bounds(
        (base.held_rps, base.failed_rps), (cand.held_rps, cand.failed_rps)
    )
    shown = "undefined (a model held no rate)" if math.isnan(estimate) else f"{number(estimate)}x"
    top = "open" if math.isinf(high) else number(high)
    return f"candidate/baseline {shown} within [{number(low)}, {top}] (the brackets)"


def verdicts_text(record: Record) -> str:
    """The verdicts on the capacity: 'capacity_ratio >= 0.9: FAIL'."""
    return "; ".join(
        f"{verdict['limit']} {verdict['budget_text']}: {outcome_of(verdict).value}"
        for verdict in record["verdicts"]
        if verdict["metric"] in CAPACITY_METRICS
    )


def capacity_parts(record: Record) -> list[str]:
    """Each model's capacity with its bracket, then the ratio and the verdicts, when any."""
    parts = [model_capacity(role, figures) for role, figures in searches(record)]
    return parts + [text for text in (ratio_text(record), verdicts_text(record)) if text]


def capacity_line(record: Record) -> str:
    """The SLO held, then `capacity_parts` in one line."""
    slo = slo_text(searches(record)[0][1])
    return f"capacity at {slo}: {'; '.join(capacity_parts(record))}"


def steps_count(record: Record) -> str:
    return plural(sum(len(figures.steps) for _, figures in searches(record)), "step")
