"""Running until decided: while a verdict is inconclusive, measure every call of the test
again, up to the next look the policy planned (judge.sequential: the runs grow by a
tenth a look), within the caps on runs and on seconds; at the cap, the rule the project
chose is applied (judge.verdicts.apply_cap_rule). A verdict once decided stays decided:
the boundary of the looks counts each decision's first crossing, and judging it again on
more runs would be another chance to fail a good candidate."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pytest_llmperf.judge.verdicts import Comparison, Outcome, Verdict, apply_cap_rule, judge
from pytest_llmperf.limits import Limit
from pytest_llmperf.session.more_runs import MoreRuns


@dataclass(frozen=True)
class Caps:
    max_pairs: int  # runs per model a decision may take
    max_seconds: float  # seconds of extra runs a test may take
    inconclusive: str  # the rule at the cap: report, estimate, pass or fail


@dataclass(frozen=True)
class Decided:
    """The verdicts once no more runs can decide more of them."""

    verdicts: list[Verdict]
    comparison: Comparison  # what the verdicts were judged on, extra runs included
    extra_seconds: float  # the time the extra runs took


def run_until_decided(
    nodeid: str,
    limits: list[Limit],
    comparison: Comparison,
    more_runs: MoreRuns,
    caps: Caps,
    on_progress: Callable[[str], None] | None = None,
) -> Decided:
    """Judge; while a verdict is inconclusive, add runs through `more_runs` up to the next
    look the policy planned, within both caps.

    A ratio against a snapshot is left inconclusive as it is: more runs today cannot narrow
    the snapshot's side (the session confirms it live, or says what would)."""
    calls = more_runs.calls
    verdicts = judge(limits, comparison)
    rounds, extra_seconds = 0, 0.0
    while any(_more_runs_may_decide(verdict, comparison) for verdict in verdicts):
        runs, prompts = len(comparison.candidate.runs), len(comparison.candidate.samples)
        extra_repeats = _next_look(comparison, caps, runs) // max(1, prompts)
        stop = _why_stop(
            caps, runs, prompts, extra_repeats, calls.seconds_measured(), extra_seconds
        )
        if stop is not None:
            cap, hint = stop
            return Decided(
                _at_cap(verdicts, comparison, caps, cap, hint), comparison, extra_seconds
            )
        rounds += 1
        if on_progress is not None:
            more = extra_repeats * prompts
            on_progress(progress_line(nodeid, verdicts, runs, more, comparison.paired))
        started = time.monotonic()
        deadline = started + caps.max_seconds - extra_seconds
        more_runs.measure(
            extra_repeats, rounds, deadline, candidate_only=_candidate_alone(verdicts, comparison)
        )
        extra_seconds += time.monotonic() - started
        live = calls.live_baseline()
        comparison = replace(
            comparison,
            candidate=calls.candidate(),
            baseline=live if live is not None else comparison.baseline,
        )
        verdicts = _judge_open(verdicts, comparison)
    return Decided(verdicts, comparison, extra_seconds)


def _why_stop(
    caps: Caps,
    runs: int,
    prompts: int,
    extra_repeats: int,
    seconds_measured: float,
    extra_seconds: float,
) -> tuple[str, str] | None:
    """Why no more runs are taken, as (the cap reached, what would settle the verdicts), or
    None while the next look fits: past the plan's last look, at --llm-max-pairs, or when
    the next round would run past --llm-max-seconds."""
    if extra_repeats < 1 and runs + prompts <= caps.max_pairs:  # a pass more would fit
        return (
            f"{runs} runs per model; the looks planned within "
            f"--llm-max-seconds={caps.max_seconds:g} end here",
            "more runs (raise --llm-max-seconds: the looks are planned up to it) or a "
            "quieter machine",
        )
    if extra_repeats < 1:
        return (
            f"{runs} runs per model, --llm-max-pairs={caps.max_pairs}",
            f"more runs (--llm-max-pairs above {caps.max_pairs}) or a quieter machine",
        )
    next_round = seconds_measured * extra_repeats * prompts / runs
    if extra_seconds + next_round > caps.max_seconds:
        return (
            f"{runs} runs per model; {extra_repeats * prompts} more would exceed "
            f"--llm-max-seconds={caps.max_seconds:g}",
            f"more runs (about {next_round:.0f} s more: raise --llm-max-seconds) or a "
            "quieter machine",
        )
    return None


def _next_look(comparison: Comparison, caps: Caps, runs: int) -> int:
    """The runs to add to reach the next look the policy planned (the cap beyond it); none
    past the plan's last look, which its boundary does not count. A policy without a plan
    (built by hand) doubles the runs."""
    sizes = comparison.policy.sizes
    planned = [size for size in sizes if size > runs]
    if sizes and not planned:
        return 0
    target = planned[0] if planned else 2 * runs
    return max(0, min(target, caps.max_pairs) - runs)


def _candidate_alone(verdicts: list[Verdict], comparison: Comparison) -> bool:
    """Nothing still open needs the baseline (an SLA alone): the candidate runs alone."""
    return not any(
        verdict.limit.spec.needs_baseline
        for verdict in verdicts
        if _more_runs_may_decide(verdict, comparison)
    )


def _judge_open(verdicts: list[Verdict], comparison: Comparison) -> list[Verdict]:
    """Judge again what more runs may decide; keep what is decided as it is."""
    return [
        judge([verdict.limit], comparison)[0]
        if _more_runs_may_decide(verdict, comparison)
        else verdict
        for verdict in verdicts
    ]


def _more_runs_may_decide(verdict: Verdict, comparison: Comparison) -> bool:
    """Inconclusive, and more runs of today's models could decide it: a timing limit (a
    quality limit's interval is over questions, which more runs do not add)."""
    if verdict.outcome is not Outcome.INCONCLUSIVE or not verdict.limit.spec.is_statistical:
        return False
    return not (comparison.against_snapshot and verdict.limit.spec.needs_baseline)


def _at_cap(
    verdicts: list[Verdict], comparison: Comparison, caps: Caps, cap: str, hint: str
) -> list[Verdict]:
    return [
        apply_cap_rule(verdict, caps.inconclusive, cap, hint)
        if _more_runs_may_decide(verdict, comparison)
        else verdict
        for verdict in verdicts
    ]


def _estimate(verdict: Verdict) -> str:
    interval = verdict.interval
    bounds = None if interval is None else (interval.low, interval.high)
    return verdict.limit.spec.observed_text(verdict.observed, bounds) or "?"


def progress_line(
    nodeid: str, verdicts: Sequence[Verdict], runs: int, more: int, paired: bool
) -> str:
    """E.g. 'llmperf: t.py::test_a: 24 pairs, latency_ratio 1.31x [1.05, 1.62] inconclusive,
    measuring 24 more'."""
    open_ones = ", ".join(
        f"{verdict.limit.name} {_estimate(verdict)}"
        for verdict in verdicts
        if verdict.outcome is Outcome.INCONCLUSIVE and verdict.limit.spec.is_statistical
    )
    what = "pairs" if paired else "runs"
    return f"llmperf: {nodeid}: {runs} {what}, {open_ones} inconclusive, measuring {more} more"
