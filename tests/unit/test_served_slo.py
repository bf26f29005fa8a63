"""Served load with per-request SLOs: the SLO and arrival checks, each request met or not,
attainment and goodput, the client's lag, and the verdicts on them (no server: fakes and a
fake clock)."""

from __future__ import annotations

import itertools
import math
import statistics
import threading

import pytest

from pytest_llmperf.backends.base import Completion
from pytest_llmperf.errors import BudgetError, GenerationError
from pytest_llmperf.judge.quality import trials_to_settle
from pytest_llmperf.judge.verdicts import Comparison, judge
from pytest_llmperf.limits import parse_limits
from pytest_llmperf.measure.load import Clock, LoadSpec, run_load
from pytest_llmperf.measure.slo import Slo
from pytest_llmperf.outcomes import Outcome
from pytest_llmperf.results import GenerationResult, LoadFigures, PromptSample, Run

# -- the SLO and the load, as a test writes them ------------------------------------------------


def test_an_slo_is_any_subset_of_three_bounds():
    spec = LoadSpec.from_kwargs({"rate": 4, "slo_ttft_ms": 200, "slo_latency_ms": 900}, 2)
    assert spec is not None and spec.slo == Slo(ttft_ms=200.0, latency_ms=900.0)
    assert spec.to_json()["slo"] == {"slo_ttft_ms": 200.0, "slo_latency_ms": 900.0}


def test_a_load_without_slo_or_arrival_records_as_before():
    """Snapshots recorded before SLOs and arrival patterns existed still match."""
    spec = LoadSpec.from_kwargs({"rate": 4}, 2)
    assert spec is not None
    assert spec.to_json() == {"concurrency": None, "rate": 4.0, "requests": 40, "duration_s": 60.0}


def test_the_arrival_and_burstiness_are_part_of_the_recorded_load():
    gamma = LoadSpec.from_kwargs({"rate": 4, "arrival": "gamma", "burstiness": 0.5}, 1)
    poisson = LoadSpec.from_kwargs({"rate": 4, "arrival": "poisson"}, 1)
    assert gamma is not None and poisson is not None
    assert gamma.to_json()["arrival"] == "gamma" and gamma.to_json()["burstiness"] == 0.5
    assert poisson.to_json() != gamma.to_json()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 2, "slo_ttft_ms": 0}, r"slo_ttft_ms=0: a per-request SLO must be a number"),
        ({"rate": 2, "slo_tpot_ms": -5}, r"slo_tpot_ms=-5: .* greater than 0, e\.g\. slo_tpot"),
        ({"rate": 2, "slo_latency_ms": "fast"}, r"slo_latency_ms='fast': .* milliseconds"),
        ({"rate": 2, "slo_latency_ms": float("nan")}, r"slo_latency_ms=nan"),
        ({"rate": 2, "slo_ttft_ms": True}, r"slo_ttft_ms=True"),
        ({"slo_ttft_ms": 100}, r"per-request SLOs .* judged under load, which needs exactly one"),
        ({"rate": 0, "slo_ttft_ms": 100}, r"rate=0: must be a finite number greater than 0"),
        ({"concurrency": 2, "arrival": "poisson"}, r"shapes the arrivals of a rate: give rate="),
        ({"rate": 2, "arrival": "possion"}, r"not an arrival pattern\. Did you mean 'poisson'"),
        ({"rate": 2, "arrival": "gamma"}, r"arrival='gamma' needs burstiness=B"),
        ({"rate": 2, "burstiness": 2}, r"burstiness=2 shapes gamma arrivals only"),
        ({"rate": 2, "arrival": "gamma", "burstiness": 0}, r"burstiness=0: must be a finite"),
    ],
)
def test_bad_slo_and_arrival_are_clear_errors(kwargs, message):
    with pytest.raises(GenerationError, match=message):
        LoadSpec.from_kwargs(kwargs, prompts=1)


def test_slo_limits_take_shares_and_positive_rates():
    with pytest.raises(BudgetError, match=r"min_slo_attainment=1\.5 must lie between 0 and 1"):
        parse_limits((), {"min_slo_attainment": 1.5})
    with pytest.raises(BudgetError, match="min_goodput_rps=0 must be greater than 0"):
        parse_limits((), {"min_goodput_rps": 0})
    with pytest.raises(BudgetError, match="goodput_ratio='x' is not a finite number"):
        parse_limits((), {"goodput_ratio": "x"})


# -- each request met or not --------------------------------------------------------------------


def run(latency: float, ttft: float | None, tokens: int) -> Run:
    return Run(latency, ttft, tokens, False)


def test_a_request_meets_the_slo_only_when_it_keeps_every_bound():
    slo = Slo(ttft_ms=100, tpot_ms=10, latency_ms=500)
    assert slo.met(run(200, 50, 16))  # tpot (200 - 50) / 15 = 10 ms: at the bound
    assert not slo.met(run(200, 150, 6))  # first token late
    assert not slo.met(run(400, 50, 11))  # 35 ms per token
    assert not slo.met(run(600, 50, 100))  # too long end to end
    assert not slo.met(run(200, None, 16))  # no first token timed: not known to be met
    assert Slo(tpot_ms=1).met(run(900, 800, 1))  # one token: no time per token after it


def test_the_client_lag_is_held_against_the_tighter_shifted_bound():
    assert Slo(ttft_ms=200, tpot_ms=5, latency_ms=1000).tightest_ms == 200
    assert Slo(tpot_ms=20).tightest_ms == 20


def figures(met: int, requests: int, lags=(1.0,), tightest: float | None = 500.0, **kw):
    return LoadFigures(
        None,
        5.0,
        requests=requests,
        errors=kw.get("errors", 0),
        wall_seconds=kw.get("wall", 10.0),
        output_tokens=requests * 4,
        slo_requests=requests if tightest is not None else 0,
        slo_met=met if tightest is not None else 0,
        slo_tightest_ms=tightest,
        client_lags_ms=tuple(lags),
    )


def test_attainment_and_goodput_count_met_requests_over_all_sent():
    load = figures(met=45, requests=50, errors=3, wall=10.0)
    assert load.slo_attainment == 0.9
    assert load.goodput_rps == 4.5
    merged = load.merged(figures(met=50, requests=50, wall=10.0, tightest=200.0))
    assert (merged.slo_met, merged.slo_requests, merged.slo_tightest_ms) == (95, 100, 200.0)
    assert merged.goodput_rps == 95 / 20
    assert "95 of 100 met the SLO (95.0%), goodput 4.75 requests/s" in merged.describe()


def test_without_an_slo_there_is_no_attainment_or_goodput():
    load = figures(met=0, requests=10, tightest=None)
    assert load.slo_attainment is None and load.goodput_rps is None
    assert not load.client_bound


def test_a_run_is_client_bound_past_ten_percent_of_the_tightest_bound():
    assert not figures(50, 50, lags=[1.0] * 99 + [40.0], tightest=200.0).client_bound
    assert figures(50, 50, lags=[25.0] * 100, tightest=200.0).client_bound


# -- sending: arrivals and the client's lag ------------------------------------------------------


class FakeClock(Clock):
    """Time moves only when someone sleeps, or by `step` each time it is read."""

    def __init__(self, step: float = 0.0) -> None:
        self.time = 0.0
        self.step = step
        self.lock = threading.Lock()  # read from the sending threads too
        super().__init__(now=self._now, sleep=self._sleep)

    def _now(self) -> float:
        with self.lock:
            self.time += self.step
            return self.time

    def _sleep(self, seconds: float) -> None:
        with self.lock:
            self.time += seconds


def instant(index: int, seed: int) -> Completion:
    return Completion("ok", 1, Run(5.0, 1.0, 3, False))


@pytest.mark.parametrize("arrival", ["poisson", "gamma"])
def test_random_arrivals_are_seeded_and_average_the_rate(arrival):
    kwargs = {"rate": 20, "arrival": arrival, "requests": 4000}
    if arrival == "gamma":
        kwargs["burstiness"] = 0.5
    spec = LoadSpec.from_kwargs(kwargs, 1)
    assert spec is not None
    offsets = spec.due_offsets(seed=7)
    assert offsets == spec.due_offsets(seed=7)
    assert offsets != spec.due_offsets(seed=8)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert statistics.mean(gaps) == pytest.approx(1 / 20, rel=0.1)
    cv = statistics.stdev(gaps) / statistics.mean(gaps)
    # Poisson's gaps have a CV of 1; gamma's of 1/sqrt(burstiness).
    expected_cv = 1.0 if arrival == "poisson" else 1 / math.sqrt(0.5)
    assert cv == pytest.approx(expected_cv, rel=0.15)


def test_constant_arrivals_are_evenly_spaced():
    spec = LoadSpec(None, 4.0, 5, 60.0)
    assert spec.due_offsets(seed=0) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_an_open_loop_sends_every_request_at_its_due_time_on_a_fake_clock():
    spec = LoadSpec(None, 10.0, 20, 60.0, "poisson")
    sent = run_load(instant, prompts=3, spec=spec, seed=1, clock=FakeClock())
    assert len(sent.sent) == 20
    assert sorted(request.prompt for request in sent.sent) == sorted(n % 3 for n in range(20))
    assert all(request.lag_ms >= 0.0 for request in sent.sent)
    assert sent.wall_seconds == pytest.approx(spec.due_offsets(1)[-1])


def test_a_slow_client_records_its_lag_per_request():
    """Every read of the clock costs 5 ms: each request goes out late by at least that."""
    spec = LoadSpec(None, 10.0, 10, 60.0)
    sent = run_load(instant, prompts=1, spec=spec, seed=1, clock=FakeClock(step=0.005))
    assert len(sent.sent) == 10
    assert all(request.lag_ms >= 5.0 - 1e-9 for request in sent.sent)


def test_the_duration_cuts_random_arrivals_on_a_fake_clock():
    spec = LoadSpec(None, 10.0, 1000, 2.0, "poisson")
    sent = run_load(instant, prompts=1, spec=spec, seed=3, clock=FakeClock())
    due = [offset for offset in spec.due_offsets(3) if offset < 2.0]
    assert len(sent.sent) == len(due)


# -- verdicts --------------------------------------------------------------------------------------


def result(load: LoadFigures) -> GenerationResult:
    runs = tuple(run(100.0 + i, 20.0, 8) for i in range(4))
    return GenerationResult((PromptSample(0, 5, "ok", runs),), None, load=load)


def verdict(candidate: LoadFigures, baseline: LoadFigures | None = None, **limits: float):
    comparison = Comparison(
        candidate=result(candidate),
        baseline=None if baseline is None else result(baseline),
        baseline_source="synthetic",
    )
    (judged,) = judge(parse_limits((), limits), comparison)
    return judged


def test_attainment_passes_when_its_exact_interval_clears_the_floor():
    judged = verdict(figures(met=200, requests=200), min_slo_attainment=0.95)
    assert judged.outcome is Outcome.PASS
    assert judged.interval is not None and judged.interval.low >= 0.95
    assert "200 of 200 requests met the SLO" in judged.note
    assert "Clopper-Pearson" in judged.note


def test_attainment_fails_when_its_interval_lies_below_the_floor():
    judged = verdict(figures(met=150, requests=200), min_slo_attainment=0.95)
    assert judged.outcome is Outcome.FAIL
    assert "fewer requests met the per-request SLO" in judged.remedy


def test_attainment_is_inconclusive_with_too_few_requests_and_says_how_many():
    judged = verdict(figures(met=20, requests=20), min_slo_attainment=0.95)
    assert judged.outcome is Outcome.INCONCLUSIVE
    needed = trials_to_settle(20, 20, 0.95, judged.policy.tail_probability)
    assert needed is not None and needed > 20
    assert f"generate(..., requests={needed})" in judged.note


def test_requests_to_settle_are_the_fewest_that_would():
    # All met: the lower end of the exact interval is tail ** (1 / n).
    needed = trials_to_settle(20, 20, 0.95, 0.025)
    assert needed == math.ceil(math.log(0.025) / math.log(0.95))
    assert trials_to_settle(19, 20, 0.95, 0.025) is None  # at the floor: nothing settles it


def test_an_errored_request_counts_against_attainment():
    load = figures(met=190, requests=200, errors=10)
    assert load.slo_attainment == 0.95


def test_goodput_floor_and_ratio():
    candidate, baseline = figures(met=40, requests=50), figures(met=50, requests=50)
    assert verdict(candidate, min_goodput_rps=3.0).outcome is Outcome.PASS
    assert verdict(candidate, min_goodput_rps=5.0).outcome is Outcome.FAIL
    ratio = verdict(candidate, baseline, goodput_ratio=0.9)
    assert ratio.outcome is Outcome.FAIL and ratio.observed == pytest.approx(0.8)
    assert verdict(candidate, baseline, goodput_ratio=0.75).outcome is Outcome.PASS


def test_an_slo_limit_without_an_slo_fails_saying_how_to_give_one():
    judged = verdict(figures(met=0, requests=10, tightest=None), min_slo_attainment=0.9)
    assert judged.outcome is Outcome.FAIL
    assert "give generate() a per-request SLO beside the load" in judged.note


@pytest.mark.parametrize("limits", [{"min_slo_attainment": 0.9}, {"min_goodput_rps": 1.0}])
def test_a_client_bound_run_is_not_judged_on_its_slo(limits):
    late = figures(met=50, requests=50, lags=[30.0] * 50, tightest=200.0)
    judged = verdict(late, **limits)
    assert judged.outcome is Outcome.NOT_COMPARED
    assert "client-bound" in judged.note and "30.0 ms late (p95)" in judged.note
    assert "Lower the rate" in judged.note


def test_a_client_bound_baseline_leaves_the_goodput_ratio_unjudged():
    late = figures(met=50, requests=50, lags=[30.0] * 50, tightest=200.0)
    judged = verdict(figures(met=50, requests=50), late, goodput_ratio=0.9)
    assert judged.outcome is Outcome.NOT_COMPARED and "baseline's run" in judged.note


def test_client_lag_does_not_stop_other_limits():
    late = figures(met=50, requests=50, lags=[30.0] * 50, tightest=200.0)
    assert verdict(late, error_rate=0.1).outcome is Outcome.PASS


# -- the load is part of the recorded workload ---------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [
        {"rate": 8, "arrival": "poisson", "slo_ttft_ms": 300},
        {"rate": 8, "arrival": "gamma", "burstiness": 0.5, "slo_ttft_ms": 200},
        {"rate": 8, "arrival": "gamma", "burstiness": 2.0, "slo_ttft_ms": 200},
        {"rate": 8, "slo_ttft_ms": 200},
        {"rate": 9, "arrival": "poisson", "slo_ttft_ms": 200},
        {"rate": 8, "arrival": "poisson", "slo_ttft_ms": 200, "slo_tpot_ms": 50},
    ],
)
def test_a_snapshot_refuses_a_changed_load(changed):
    from pytest_llmperf.measure.workload import Workload
    from pytest_llmperf.session.snapshot_baseline import snapshot_call

    def call(load_kwargs):
        workload = Workload.from_call(["Q?"], {"max_new_tokens": 8})
        load = LoadSpec.from_kwargs(load_kwargs, 1)
        return snapshot_call(workload.delivered(load, None), GenerationResult((), None))

    recorded = call({"rate": 8, "arrival": "poisson", "slo_ttft_ms": 200})
    assert recorded.same_workload(call({"rate": 8, "arrival": "poisson", "slo_ttft_ms": 200}))
    assert not recorded.same_workload(call(changed))


def test_the_record_keeps_each_lag_beside_the_load_not_in_it():
    """JUnit writes the load as one property: the per-request lags stay out of it, as the
    per-run latencies do."""
    from pytest_llmperf.judge.records import model_figures
    from pytest_llmperf.report.terminal import _served_lines

    figures_ = model_figures(result(figures(45, 50, lags=[1.0, 2.0, 30.0])))
    assert "client_lags_ms" not in figures_["load"]
    assert figures_["client_lags_ms"] == [1.0, 2.0, 30.0]
    record = {
        "candidate": {"figures": {**figures_, "token_count": {"source": "generate"}}},
        "baseline": {"figures": None},
    }
    (line,) = [line for line in _served_lines(record) if "under load" in line]
    assert "45 of 50 met the SLO" in line and "client lag p95 27.2 ms" in line
