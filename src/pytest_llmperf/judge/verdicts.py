"""Verdicts: each limit of a test judged on what both models measured.

Exact figures (tokens, cost, a peak) are compared as they are; noisy per-run timings get a
confidence interval (stats.py) and pass, fail or stay inconclusive until more runs or the
rule at the cap decide them; quality limits get an interval over the questions, answers
paired by question (quality.py), which more runs do not narrow. What a metric needs
(prices, natural-length answers, samples, the same hardware) is read from its row in
metrics.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pytest_llmperf.judge.answers import Pairing, mean_score, pair_answers
from pytest_llmperf.judge.capacity import ratio_bounds
from pytest_llmperf.judge.quality import (
    Bounds,
    accuracy_interval,
    cluster_bootstrap,
    paired_bootstrap,
    paired_score,
    questions_to_settle,
    trials_to_settle,
    unpaired_difference,
)
from pytest_llmperf.judge.sequential import runs_to_pass
from pytest_llmperf.judge.stats import (
    Decision,
    DecisionPolicy,
    Interval,
    coefficient_of_variation,
    decide,
    instance_allowance,
    paired_ratio_interval,
    percentile_interval,
    unpaired_ratio_interval,
)
from pytest_llmperf.limits import Kind, Limit, LimitSpec
from pytest_llmperf.metrics import Metric, RemedyContext, metric_named
from pytest_llmperf.outcomes import Outcome
from pytest_llmperf.results import CLIENT_BOUND_SHARE, GenerationResult, PromptSample
from pytest_llmperf.text import interval_text, number, plural


@dataclass(frozen=True)
class QualityEvidence:
    """What a quality verdict's interval rests on: the questions, the answers that changed
    (right->wrong, wrong->right; for graded scores, questions scored lower and higher), the
    interval's method, and about how many questions would settle it when it is open."""

    questions: int
    method: str
    paired: bool
    right_to_wrong: int | None = None
    wrong_to_right: int | None = None
    baseline_questions: int | None = None  # the baseline's own count, when unpaired
    why_unpaired: str = ""
    questions_to_settle: int | None = None


@dataclass(frozen=True)
class Verdict:
    limit: Limit
    outcome: Outcome
    baseline: float | None = None
    candidate: float | None = None
    observed: float | None = None  # what was held against the budget
    note: str = ""
    remedy: str = ""
    interval: Interval | None = None
    noise: tuple[float | None, float | None] = (None, None)  # CV of baseline, candidate
    decided_by: str = ""
    policy: DecisionPolicy | None = None  # how sure the interval is, for statistical verdicts
    # What the interval was taken over: "pairs" (alternating runs of both models), "runs"
    # (the candidate's, for an SLA), "unpaired" (both models' runs, measured apart) or
    # "snapshot" (the snapshot's runs, from another process, and today's); for quality
    # limits "questions" (answers paired by question), "unpaired questions", or "answers"
    # (one model's, for min_accuracy).
    sampling: str = ""
    quality: QualityEvidence | None = None

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAIL


@dataclass(frozen=True)
class Comparison:
    """Everything a test's limits are judged on."""

    candidate: GenerationResult
    baseline: GenerationResult | None
    baseline_source: str
    baseline_name: str = ""  # the baseline model's name (live, or the snapshot's), for reports
    paired: bool = False
    latency_percentile: float = 95.0
    has_prices: bool = True
    timings_comparable: bool = True
    timings_note: str = ""
    timing_mismatch_fails: bool = False
    no_baseline_hint: str = ""
    policy: DecisionPolicy = field(default_factory=DecisionPolicy)
    mode: str = "natural"
    candidate_quantized: bool = False
    against_snapshot: bool = False  # the baseline's runs come from another process
    # Ratios of timings against a snapshot are widened by this on each side: the shift
    # between the recording process and this one, which no run of either can show.
    process_shift: float = 0.0
    # Paired ratios of in-process models whose weights were placed afresh before every pass
    # are widened by the allowance for that placement (stats.instance_allowance); 0: none.
    instance_spread: float = 0.0
    # The candidate's runs taken earlier in this process (against a snapshot, before live
    # pairs confirmed it): percentile SLAs pool them with `candidate`, their looks after them.
    earlier_candidate: GenerationResult | None = None
    accuracy_test: str = "paired"  # quality limits on paired intervals, or "exact"


def counts_as_decision(spec: LimitSpec, accuracy_test: str) -> bool:
    """Whether a limit is a decision under noise that takes a share of the session's
    false-failure rate: a timing limit on an interval, or a quality limit judged paired."""
    binomial = spec.metric.binomial is not None
    return spec.is_statistical or binomial or (spec.is_quality and accuracy_test == "paired")


def judge(limits: list[Limit], comparison: Comparison) -> list[Verdict]:
    return [_judge_one(limit, comparison) for limit in limits]


def apply_cap_rule(verdict: Verdict, rule: str, why: str, what_would_settle: str = "") -> Verdict:
    """An inconclusive verdict at the cap: kept inconclusive (rule 'report', the default:
    no failure without evidence), or turned into pass or fail by the rule a project chose."""
    if verdict.outcome is not Outcome.INCONCLUSIVE:
        return verdict
    if rule == "report":
        note = f"what would settle it: {what_would_settle}" if what_would_settle else ""
        return replace(
            verdict,
            decided_by=f"nothing: still inconclusive at the cap ({why})",
            note="; ".join(filter(None, (verdict.note, note))),
            remedy="",
        )
    if rule == "estimate":
        assert verdict.observed is not None
        fails = verdict.limit.is_beyond(verdict.observed)
        rule_text = "the point estimate decides"
    else:
        fails = rule == "fail"
        rule_text = f"--llm-inconclusive={rule}"
    outcome = Outcome.FAIL if fails else Outcome.PASS
    return replace(
        verdict,
        outcome=outcome,
        decided_by=f"inconclusive at the cap ({why}); {rule_text}",
        remedy=noisy_remedy(rule_text) if fails else "",
    )


def noisy_remedy(rule_text: str) -> str:
    """A failure the rule at the cap made: the noise, not the model, is what the figures show."""
    return (
        "the measurement was too noisy to tell: the interval still straddles the budget at the "
        f"cap, and the failure comes from the rule ({rule_text}), not from evidence against "
        "the model; measure on a quieter machine, or allow more runs (--llm-max-pairs, "
        "--llm-max-seconds)"
    )


def _judge_one(limit: Limit, comparison: Comparison) -> Verdict:
    limit = _on_stand_in(limit, comparison.candidate)
    spec, metric = limit.spec, limit.spec.metric
    if metric.priced and not comparison.has_prices:
        return Verdict(
            limit,
            Outcome.FAIL,
            note="no prices configured: set price_input_per_1m and price_output_per_1m in "
            "[tool.llmperf] (US dollars per 1M tokens)",
        )
    if metric.length_dependent and comparison.mode == "fixed_length":
        return Verdict(
            limit,
            Outcome.NOT_COMPARED,
            note="fixed_length mode makes every answer max_new_tokens long; token and cost "
            "limits need natural mode",
        )
    candidate = _figure(limit, comparison.candidate, comparison.latency_percentile)
    if candidate is None and limit.from_default:
        # A project-wide default applies where the test measures its figure; a test that
        # does not (no expected answers, no load) is not failed for a limit it never set.
        return Verdict(limit, Outcome.NOT_COMPARED, note=default_unmeasured_note(limit))
    if candidate is None:
        return Verdict(limit, Outcome.FAIL, note=unmeasured_note(metric))
    if metric.slo_bound and (client_bound := client_bound_note(comparison)):
        return Verdict(limit, Outcome.NOT_COMPARED, candidate=candidate, note=client_bound)
    if spec.needs_baseline and spec.is_timing and not comparison.timings_comparable:
        outcome = Outcome.FAIL if comparison.timing_mismatch_fails else Outcome.NOT_COMPARED
        return Verdict(limit, outcome, candidate=candidate, note=comparison.timings_note)
    if metric.bracket is not None:
        return _bracketed(limit, candidate, comparison)
    if metric.binomial is not None and not spec.needs_baseline:
        return _binomial_floor(limit, candidate, comparison)
    statistical = spec.is_statistical and _has_samples(metric, comparison)
    quality = spec.is_quality and comparison.accuracy_test == "paired"
    if quality and not spec.needs_baseline:
        return _quality_floor(limit, candidate, comparison)
    if not spec.needs_baseline:
        if statistical:
            return _statistical_sla(limit, candidate, comparison)
        return _exact(limit, None, candidate, candidate, comparison)
    if comparison.baseline is None:
        return Verdict(limit, Outcome.FAIL, candidate=candidate, note=comparison.no_baseline_hint)
    baseline = _figure(limit, comparison.baseline, comparison.latency_percentile)
    if baseline is None:
        return Verdict(limit, Outcome.FAIL, candidate=candidate, note=unmeasured_note(metric))
    if statistical:
        return _statistical_ratio(limit, baseline, candidate, comparison)
    if quality:
        return _quality_difference(limit, baseline, candidate, comparison)
    if spec.kind.is_difference:
        difference = spec.kind.difference(baseline, candidate)
        return _exact(limit, baseline, candidate, difference, comparison)
    if baseline == 0 == candidate:
        return Verdict(
            limit,
            Outcome.NOT_COMPARED,
            baseline,
            candidate,
            note=f"both models' {metric.name} is 0 (a scorer='loglikelihood' call generates "
            "nothing): there is no ratio to judge",
        )
    if baseline <= 0:
        return Verdict(
            limit,
            Outcome.FAIL,
            baseline,
            candidate,
            note=f"the baseline's {metric.name} is 0: no ratio can be taken",
        )
    return _exact(limit, baseline, candidate, candidate / baseline, comparison)


def _on_stand_in(limit: Limit, candidate: GenerationResult) -> Limit:
    """A ratio limit on the metric that stands in for its own, where the candidate has a
    figure of that one only (metrics.Metric.ratio_stand_in)."""
    spec = limit.spec
    stand_in = spec.metric.ratio_stand_in
    if not (spec.kind.is_ratio and stand_in) or spec.metric.value(candidate) is not None:
        return limit
    other = metric_named(stand_in)
    if other.value(candidate) is None:
        return limit
    return replace(limit, spec=replace(spec, metric=other))


def _exact(
    limit: Limit, baseline: float | None, candidate: float, observed: float, comparison: Comparison
) -> Verdict:
    """Deterministic figures (tokens, cost, accuracy, peak memory): compared as they are."""
    note = _capped_note(limit.spec.metric, comparison)
    if not limit.is_beyond(observed):
        return Verdict(limit, Outcome.PASS, baseline, candidate, observed, note=note)
    remedy = remedy_for(limit.spec.metric, comparison)
    return Verdict(limit, Outcome.FAIL, baseline, candidate, observed, note=note, remedy=remedy)


_OUTCOMES = {
    Decision.PASS: Outcome.PASS,
    Decision.FAIL: Outcome.FAIL,
    Decision.INCONCLUSIVE: Outcome.INCONCLUSIVE,
}


def _statistical_sla(limit: Limit, candidate: float, comparison: Comparison) -> Verdict:
    values = _samples(limit.spec.metric, comparison.candidate)
    earlier = comparison.earlier_candidate
    if earlier is not None:
        before = _samples(limit.spec.metric, earlier)
        values = [*before, *values]
        looks = tuple(len(before) + size for size in comparison.policy.sizes)
        comparison = replace(comparison, policy=replace(comparison.policy, sizes=looks))
    interval = percentile_interval(values, comparison.latency_percentile, comparison.policy)
    pooled = ""
    if earlier is not None:
        candidate = interval.estimate  # of every run pooled
        pooled = (
            f"on the candidate's {len(values)} runs: {len(before)} measured against the "
            f"snapshot, {len(values) - len(before)} beside the live pairs"
        )
    decision = decide(interval, limit.value, comparison.policy.noise_floor)
    verdict = _interval_verdict(limit, limit.value, None, candidate, interval, decision, comparison)
    note = "; ".join(filter(None, (verdict.note, pooled, _sla_rule(comparison))))
    return replace(verdict, note=note)


def _sla_rule(comparison: Comparison) -> str:
    """How a percentile SLA is decided, and what it assumes."""
    percentile, rate = comparison.latency_percentile, comparison.policy.sla_false_pass_rate
    return (
        f"p{percentile:g} bounded by the runs' order statistics, assuming only that runs are "
        f"independent draws of one distribution: it passes once every run is within the SLA "
        f"after {runs_to_pass(percentile, rate)} runs or more (a model over it would pass "
        f"so with at most {rate:.0%}, --llm-sla-false-pass-rate)"
    )


def _statistical_ratio(
    limit: Limit, baseline: float, candidate: float, comparison: Comparison
) -> Verdict:
    assert comparison.baseline is not None
    metric = limit.spec.metric
    if comparison.paired:
        pairs = [
            (b, c)
            for b, c in zip(
                metric.samples(comparison.baseline),
                metric.samples(comparison.candidate),
                strict=True,
            )
            if b is not None and c is not None
        ]
        base = [b for b, _ in pairs]
        cand = [c for _, c in pairs]
        interval = paired_ratio_interval(base, cand, comparison.policy)
        if comparison.instance_spread:
            passes = len(pairs) // max(1, len(comparison.candidate.samples))
            allowance = instance_allowance(comparison.instance_spread, passes)
            interval = interval.widened(allowance)
    else:
        base = _samples(metric, comparison.baseline)
        cand = _samples(metric, comparison.candidate)
        interval = unpaired_ratio_interval(base, cand, comparison.policy)
        if comparison.against_snapshot and comparison.process_shift:
            interval = interval.widened(comparison.process_shift)
    # A change smaller than the noise floor does not count, however tight the budget: a
    # ceiling sits at least that far above 1, a floor that far below (1 / (1 + floor)).
    noise_floor, at_least = comparison.policy.noise_floor, limit.spec.kind.at_least
    if at_least:
        budget = min(limit.value, 1 / (1 + noise_floor))
    else:
        budget = max(limit.value, 1 + noise_floor)
    decision = decide(interval, budget, noise_floor, at_least=at_least)
    return _interval_verdict(
        limit, budget, baseline, candidate, interval, decision, comparison, base, cand
    )


def _interval_verdict(
    limit: Limit,
    budget: float,
    baseline: float | None,
    candidate: float,
    interval: Interval,
    decision: Decision,
    comparison: Comparison,
    base_samples: list[float] | None = None,
    cand_samples: list[float] | None = None,
) -> Verdict:
    if cand_samples is None:
        cand_samples = _samples(limit.spec.metric, comparison.candidate)
    noise = (
        None if base_samples is None else coefficient_of_variation(base_samples),
        coefficient_of_variation(cand_samples),
    )
    at_least = limit.spec.kind.at_least
    if decision is Decision.INCONCLUSIVE:
        decided_by = ""
    elif interval.within(budget, at_least=at_least) or interval.beyond(budget, at_least=at_least):
        decided_by = "the interval"
    else:
        decided_by = "the point estimate: the interval is narrower than the noise floor"
    return Verdict(
        limit,
        _OUTCOMES[decision],
        baseline,
        candidate,
        interval.estimate,
        remedy=remedy_for(limit.spec.metric, comparison) if decision is Decision.FAIL else "",
        interval=interval,
        noise=noise,
        decided_by=decided_by,
        policy=comparison.policy,
        sampling=_sampling(interval, base_samples, comparison),
    )


def client_bound_note(comparison: Comparison) -> str:
    """Why SLO figures are not judged, when a model's run was client-bound: the client sent
    its requests late by more than its share of the tightest SLO bound; else ''."""
    for role, result in (("candidate", comparison.candidate), ("baseline", comparison.baseline)):
        load = None if result is None else result.load
        if load is None or not load.client_bound:
            continue
        assert load.client_lag_ms is not None and load.slo_tightest_ms is not None
        return (
            f"not judged: the {role}'s run is client-bound: this process sent its requests "
            f"{number(load.client_lag_ms)} ms late (p95), more than {CLIENT_BOUND_SHARE:.0%} "
            f"of the tightest SLO bound ({number(load.slo_tightest_ms)} ms), so the figures "
            "describe the client as much as the server. Lower the rate, give the client a "
            "quieter machine (fewer pytest-xdist workers, nothing else running), or judge a "
            "looser SLO"
        )
    return ""


def _bracketed(limit: Limit, candidate: float, comparison: Comparison) -> Verdict:
    """A floor on a searched capacity, or on candidate / baseline capacity, judged on the
    searches' brackets (judge/capacity.py): pass when the lowest the capacity (or ratio) can
    be clears the floor, fail when the highest it can be is below it, else inconclusive."""
    metric = limit.spec.metric
    assert metric.bracket is not None
    cand = metric.bracket(comparison.candidate)
    assert cand is not None, "a capacity figure comes with its bracket"
    described = f"candidate {_bracket_text(cand, metric)}"
    baseline = None
    if limit.spec.needs_baseline:
        base = None if comparison.baseline is None else metric.bracket(comparison.baseline)
        if base is None:
            note = comparison.no_baseline_hint if comparison.baseline is None else ""
            return Verdict(
                limit,
                Outcome.FAIL,
                candidate=candidate,
                note=note
                or "the baseline's capacity was not searched: capacity_ratio needs both "
                "models served and searched in this run (--llm-baseline=MODEL@URL beside "
                "--llm-candidate)",
            )
        baseline = base[0] or 0.0
        estimate, low, high = ratio_bounds(base, cand)
        described = f"baseline {_bracket_text(base, metric)}, {described}"
    else:
        estimate, low = candidate, cand[0] or 0.0
        high = math.inf if cand[1] is None else cand[1]
    budget = limit.value
    # The brackets are not a confidence interval, but a floor is judged on them alike.
    bracket = Interval(estimate, low, high, confidence=1.0, samples=0)
    outcome = Outcome.INCONCLUSIVE
    if bracket.within(budget, at_least=True):
        outcome = Outcome.PASS
    elif bracket.beyond(budget, at_least=True):
        outcome = Outcome.FAIL
    shown = limit.spec.unit.format(budget, exact=True)
    note = (
        f"{described}: {number(estimate)} within [{number(low)}, {number(high)}] (the searches' "
        f"brackets), {outcome.value} against {limit.name}={shown}"
    )
    if outcome is Outcome.INCONCLUSIVE:
        note += (
            "; the brackets overlap the budget: a finer search would settle it "
            "(capacity_precision=, capacity_max_s=)"
        )
    fails = outcome is Outcome.FAIL
    return Verdict(
        limit,
        outcome,
        baseline,
        candidate,
        None if math.isnan(estimate) else estimate,
        note=note,
        remedy=remedy_for(metric, comparison) if fails else "",
        decided_by="" if outcome is Outcome.INCONCLUSIVE else "the capacity searches' brackets",
    )


def _bracket_text(bracket: tuple[float | None, float | None], metric: Metric) -> str:
    held, failed = bracket
    held_text = "no load" if held is None else metric.unit.format(held)
    failed_text = "none tried" if failed is None else metric.unit.format(failed)
    return f"held at {held_text}, not at {failed_text}"


def _binomial_floor(limit: Limit, candidate: float, comparison: Comparison) -> Verdict:
    """A floor on a share of requests (min_slo_attainment) on its exact Clopper-Pearson
    interval: inconclusive while too few requests tell, saying how many would."""
    binomial = limit.spec.metric.binomial
    counts = None if binomial is None else binomial(comparison.candidate)
    assert counts is not None
    met, requests = counts
    policy = comparison.policy.looked_at_once()
    bounds = accuracy_interval(met, requests, policy.tail_probability)
    interval = Interval(bounds.estimate, bounds.low, bounds.high, policy.confidence, requests)
    decision = decide(interval, limit.value, 0.0, at_least=True)
    note = (
        f"{met:,} of {plural(requests, 'request')} met the SLO; {_percent(interval.confidence)} "
        f"interval {interval_text(bounds.low, bounds.high)} ({bounds.method}): "
        f"{decision.value} against {limit.name}={limit.spec.unit.format(limit.value, exact=True)}"
    )
    if decision is Decision.INCONCLUSIVE:
        settle = trials_to_settle(met, requests, limit.value, policy.tail_probability)
        if settle is None:
            note += " (the share sits at the floor: no number of requests would settle it)"
        else:
            note += (
                f" ({about(settle)} requests at this share would settle it: "
                f"generate(..., requests={settle}))"
            )
    fails = decision is Decision.FAIL
    return Verdict(
        limit,
        _OUTCOMES[decision],
        None,
        candidate,
        bounds.estimate,
        note=note,
        remedy=remedy_for(limit.spec.metric, comparison) if fails else "",
        interval=interval,
        decided_by="" if decision is Decision.INCONCLUSIVE else "the interval",
        policy=policy,
        sampling="requests",
    )


def _quality_floor(limit: Limit, candidate: float, comparison: Comparison) -> Verdict:
    """min_accuracy on the Clopper-Pearson interval of the candidate's accuracy over its
    questions (a question's several answers count as one, at their mean score)."""
    score = limit.spec.metric.per_question
    assert score is not None
    policy = comparison.policy.looked_at_once()
    scores = question_scores(comparison.candidate, score)
    bounds = accuracy_interval(sum(scores), len(scores), policy.tail_probability)
    evidence = QualityEvidence(len(scores), bounds.method, paired=False)
    return _quality_verdict(limit, None, candidate, bounds, evidence, "answers", comparison)


def _quality_difference(
    limit: Limit, baseline: float, candidate: float, comparison: Comparison
) -> Verdict:
    """accuracy_drop and accuracy_gain on an interval for candidate - baseline over the
    questions: paired by question where the answers pair, else unpaired (and said so)."""
    assert comparison.baseline is not None
    score = limit.spec.metric.per_question
    assert score is not None
    policy = comparison.policy.looked_at_once()
    pairing = pair_answers(comparison.baseline, comparison.candidate, score)
    if pairing.paired:
        bounds, evidence = _paired_bounds(pairing, score, policy)
        sampling = "questions"
    else:
        base = question_scores(comparison.baseline, score)
        cand = question_scores(comparison.candidate, score)
        bounds = unpaired_difference(
            sum(base), len(base), sum(cand), len(cand), policy.tail_probability
        )
        evidence = QualityEvidence(
            len(cand),
            bounds.method,
            paired=False,
            baseline_questions=len(base),
            why_unpaired=pairing.why_unpaired,
        )
        sampling = "unpaired questions"
    if limit.spec.kind is Kind.DROP:  # the interval of baseline - candidate
        bounds = Bounds(-bounds.estimate, -bounds.high, -bounds.low, bounds.method)
    return _quality_verdict(limit, baseline, candidate, bounds, evidence, sampling, comparison)


def _paired_bounds(
    pairing: Pairing, score: Callable[[PromptSample], float | None], policy: DecisionPolicy
) -> tuple[Bounds, QualityEvidence]:
    """candidate - baseline over paired questions: exact for right/wrong answers, a paired
    bootstrap for graded scores, a cluster bootstrap for several answers per question."""
    tail, seed = policy.tail_probability, policy.seed
    base = [[score(sample) for sample in q.baseline] for q in pairing.questions]
    cand = [[score(sample) for sample in q.candidate] for q in pairing.questions]
    if any(len(b) > 1 or len(c) > 1 for b, c in zip(base, cand, strict=True)):
        bounds = cluster_bootstrap(base, cand, tail, seed)
    else:
        flat_base = [b[0] for b in base]
        flat_cand = [c[0] for c in cand]
        if all(value in (0.0, 1.0) for value in (*flat_base, *flat_cand)):
            bounds = paired_score(flat_base, flat_cand, tail)
        else:
            bounds = paired_bootstrap(flat_base, flat_cand, tail, seed)
    means = [
        (mean_score(q.baseline, score), mean_score(q.candidate, score)) for q in pairing.questions
    ]
    worse = sum(after < before for before, after in means)
    better = sum(after > before for before, after in means)
    evidence = QualityEvidence(len(means), bounds.method, True, worse, better)
    return bounds, evidence


def _quality_verdict(
    limit: Limit,
    baseline: float | None,
    candidate: float,
    bounds: Bounds,
    evidence: QualityEvidence,
    sampling: str,
    comparison: Comparison,
) -> Verdict:
    """A quality limit decided on its interval: pass within the budget, fail beyond it,
    else inconclusive, with about how many questions would settle it (more runs would not)."""
    policy = comparison.policy.looked_at_once()
    interval = Interval(
        bounds.estimate,
        bounds.low,
        bounds.high,
        policy.confidence,
        evidence.questions,
        paired=evidence.paired,
        baseline_samples=evidence.baseline_questions,
    )
    decision = decide(interval, limit.value, 0.0, at_least=limit.spec.kind.at_least)
    if decision is Decision.INCONCLUSIVE:
        evidence = replace(
            evidence,
            questions_to_settle=questions_to_settle(
                bounds.estimate, bounds.low, bounds.high, limit.value, evidence.questions
            ),
        )
    fails = decision is Decision.FAIL
    return Verdict(
        limit,
        _OUTCOMES[decision],
        baseline,
        candidate,
        bounds.estimate,
        note=quality_text(limit, baseline, candidate, interval, evidence, decision),
        remedy=remedy_for(limit.spec.metric, comparison) if fails else "",
        interval=interval,
        decided_by="" if decision is Decision.INCONCLUSIVE else "the interval",
        policy=policy,
        sampling=sampling,
        quality=evidence,
    )


def question_scores(
    result: GenerationResult, score: Callable[[PromptSample], float | None]
) -> list[float]:
    """One score per question of one model: its answers' mean score (several answers to a
    question share its id); every scored answer is a question when ids are missing."""
    scored = [sample for sample in result.samples if score(sample) is not None]
    if not all(sample.question_id is not None for sample in scored):
        return [mean_score((sample,), score) for sample in scored]
    groups: dict[str, list[PromptSample]] = {}
    for sample in scored:
        groups.setdefault(str(sample.question_id), []).append(sample)
    return [mean_score(samples, score) for samples in groups.values()]


def _percent(share: float) -> str:
    return f"{number(share * 100, 3, trim=True)}%"


def about(count: int) -> str:
    """A rough count, to two significant digits: 'about 1,400'."""
    if count >= 100:
        digits = len(str(count)) - 2
        count = round(count, -digits)
    return f"about {number(count, decimals=0)}"


def quality_text(
    limit: Limit,
    baseline: float | None,
    candidate: float,
    interval: Interval,
    evidence: QualityEvidence,
    decision: Decision,
) -> str:
    """The verdict in words, e.g. 'accuracy 0.872 -> 0.861 on 500 questions: 14
    right->wrong, 9 wrong->right; drop 0.010, 95% interval [-0.006, 0.027]: inconclusive
    against accuracy_drop=0.02 (about 1,400 questions would settle a drop this size)'."""
    fmt = limit.spec.metric.unit.format
    questions = plural(evidence.questions, "question")
    if baseline is None:
        figures = f"accuracy {fmt(candidate)} on {questions}"
    elif evidence.paired:
        figures = f"accuracy {fmt(baseline)} -> {fmt(candidate)} on {questions}"
    else:
        base_questions = plural(evidence.baseline_questions or 0, "question")
        figures = (
            f"accuracy {fmt(baseline)} ({base_questions}) -> {fmt(candidate)} ({questions}), "
            f"not paired by question ({evidence.why_unpaired})"
        )
    if evidence.right_to_wrong is not None:
        graded = "score" not in evidence.method
        worse, better = ("scored lower", "higher") if graded else ("right->wrong", "wrong->right")
        figures += f": {evidence.right_to_wrong} {worse}, {evidence.wrong_to_right} {better}"
    kind = limit.spec.kind
    what = f"{kind.value} {fmt(interval.estimate)}, " if kind.is_difference else ""
    bounds = interval_text(interval.low, interval.high)
    text = (
        f"{figures}; {what}{_percent(interval.confidence)} interval {bounds} "
        f"({evidence.method}): {decision.value} against {limit.name}="
        f"{limit.spec.unit.format(limit.value, exact=True)}"
    )
    if decision is Decision.INCONCLUSIVE:
        size = f"a {kind.value} this size" if kind.is_difference else "an accuracy this close"
        if evidence.questions_to_settle is None:
            text += " (the estimate sits at the budget: no number of questions would settle it)"
        else:
            text += f" ({about(evidence.questions_to_settle)} questions would settle {size})"
        text += "; more runs of the same questions would not"
    return text


def _sampling(interval: Interval, base_samples: list[float] | None, comparison: Comparison) -> str:
    if interval.paired:
        return "pairs"
    if base_samples is None:
        return "runs"
    return "snapshot" if comparison.against_snapshot else "unpaired"


def _has_samples(metric: Metric, comparison: Comparison) -> bool:
    """Per-run values may be missing (older results): the figure is then compared as it is."""
    results = [comparison.candidate, comparison.baseline]
    return all(result is None or _samples(metric, result) for result in results)


def _samples(metric: Metric, result: GenerationResult) -> list[float]:
    return [value for value in metric.samples(result) if value is not None]


def _figure(limit: Limit, result: GenerationResult, percentile: float) -> float | None:
    """The figure a limit is about: the SLA statistic for absolute limits on per-run
    figures, the per-run median for ratios, else the metric's own figure."""
    metric, kind = limit.spec.metric, limit.spec.kind
    if kind is Kind.ABSOLUTE and metric.at_percentile is not None:
        return metric.at_percentile(result, percentile)
    if kind.is_ratio:
        return metric.central(result)
    return metric.value(result)


def _capped_note(metric: Metric, comparison: Comparison) -> str:
    """Say so when answers were cut at max_new_tokens: a capped output hides verbosity."""
    if not metric.length_dependent:
        return ""
    shares = [("candidate", comparison.candidate.max_new_tokens_hit_rate)]
    if comparison.baseline is not None:
        shares.append(("baseline", comparison.baseline.max_new_tokens_hit_rate))
    if not any(share > 0 for _, share in shares):
        return ""
    told = ", ".join(f"{name} in {share:.0%}" for name, share in shares)
    return (
        f"answers reached max_new_tokens ({told} of runs): a capped answer hides how long "
        "it would have been; raise max_new_tokens to see"
    )


def unmeasured_note(metric: Metric) -> str:
    return metric.unmeasured or f"no {metric.name} was measured"


def default_unmeasured_note(limit: Limit) -> str:
    return (
        f"a default limit from [tool.llmperf.budget] that this test cannot be judged on: "
        f"{unmeasured_note(limit.spec.metric)}; to leave it out of this test, write "
        f"assert_within_budget({limit.name}=None)"
    )


def remedy_for(metric: Metric, comparison: Comparison) -> str:
    """The likely fix for a failed limit on `metric`, told apart by what else changed."""
    context = RemedyContext(
        comparison.candidate, comparison.baseline, comparison.candidate_quantized
    )
    return metric.remedy(context)
