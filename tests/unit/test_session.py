"""The session's judging loop with fake models: more pairs while inconclusive, caps, modes."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.backends.memory import PeakMemoryTracker
from pytest_llmperf.judge.verdicts import Outcome
from pytest_llmperf.limits import parse_budget
from pytest_llmperf.results import Pricing, Run
from pytest_llmperf.session.session import BASELINE, CANDIDATE, LlmPerfSession
from pytest_llmperf.settings.settings import ModelSpec, Settings, with_model_settings

PROMPTS = ["one", "two", "three"]


class NoMemory(PeakMemoryTracker):
    def start(self) -> None:
        pass

    def peak_increase_mb(self) -> float:
        return 0.0


class TimedFake(Backend):
    """Answers in `tokens` tokens, each run `scale` times a noisy 10 ms (seeded)."""

    def __init__(self, scale: float, seed: int, tokens: int = 5) -> None:
        self.scale = scale
        self.noise = random.Random(seed)
        self.tokens = tokens
        self.generations: list[Mapping[str, Any]] = []

    identity = property(lambda self: {"name": "fake"})
    device = property(lambda self: "cpu")
    weights_mb = property(lambda self: 1.0)

    def input_token_counts(self, prompts: Sequence[str], max_new_tokens: int) -> list[int]:
        return [3 for _ in prompts]

    def complete(self, prompt: str, generation: Mapping[str, Any], seed: int) -> Completion:
        self.generations.append(dict(generation))
        latency = 10.0 * self.scale * self.noise.lognormvariate(0.0, 0.1)
        tokens = max(self.tokens, generation.get("min_new_tokens", 0))
        return Completion("answer", 3, Run(latency, latency / 4, tokens, False))

    def memory_tracker(self) -> PeakMemoryTracker:
        return NoMemory()


def session_with(baseline: Backend, candidate: Backend, **settings: Any) -> LlmPerfSession:
    specs = {"baseline": ModelSpec("base", Path(".")), "candidate": ModelSpec("cand", Path("."))}
    settings = {"repeats": 2, **settings}
    session = LlmPerfSession(with_model_settings(Settings(**specs, warmup=0, **settings)))
    session.models._loaded = {BASELINE: baseline, CANDIDATE: candidate}
    return session


def judged(session: LlmPerfSession, mode: str | None = None, **limits: Any):
    budget = parse_budget((), {**limits, **({"mode": mode} if mode else {})})
    session.count_decisions([budget])
    session.generate("t::x", CANDIDATE, PROMPTS, None, {}, pair_with_baseline=True, mode=mode)
    return session.judge("t::x", budget)


def test_a_clear_slowdown_fails_without_extra_pairs() -> None:
    session = session_with(TimedFake(1.0, 1), TimedFake(4.0, 2), repeats=4)
    outcome = judged(session, latency_ratio=1.2)
    (verdict,) = outcome.verdicts
    assert verdict.outcome is Outcome.FAIL and verdict.decided_by == "the interval"
    assert len(outcome.candidate.runs) == len(outcome.baseline.runs) == 12
    assert outcome.extra_seconds == 0.0


def test_inconclusive_adds_pairs_look_by_look_up_to_the_cap_and_stays_inconclusive() -> None:
    session = session_with(TimedFake(1.0, 3), TimedFake(1.0, 4), max_pairs=48, noise_floor=0.0)
    outcome = judged(session, latency_ratio=1.0)
    (verdict,) = outcome.verdicts
    assert verdict.policy is not None
    # A tenth more runs a look, at least a pass over the prompts, up to the cap.
    assert verdict.policy.sizes == (6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 39, 45, 48)
    assert len(outcome.candidate.runs) == len(outcome.baseline.runs) == 48
    assert verdict.interval.samples == 48
    assert verdict.outcome is Outcome.INCONCLUSIVE and not outcome.failed
    assert verdict.decided_by == (
        "nothing: still inconclusive at the cap (48 runs per model, --llm-max-pairs=48)"
    )
    assert "what would settle it: more runs (--llm-max-pairs above 48)" in verdict.note
    assert verdict.remedy == ""
    assert outcome.extra_seconds > 0.0


def test_the_estimate_at_the_cap_is_an_opt_in() -> None:
    session = session_with(
        TimedFake(1.0, 3), TimedFake(1.0, 4), max_pairs=48, noise_floor=0.0, inconclusive="estimate"
    )
    (verdict,) = judged(session, latency_ratio=1.0).verdicts
    assert verdict.decided_by.startswith(
        "inconclusive at the cap (48 runs per model, --llm-max-pairs=48); the point estimate"
    )
    assert verdict.outcome in (Outcome.PASS, Outcome.FAIL)


def test_a_decided_verdict_stays_decided_while_another_takes_more_runs() -> None:
    """Judging a decided verdict again on more runs would be one more chance to fail a good
    candidate that the boundary of the looks did not count."""
    session = session_with(TimedFake(1.0, 3), TimedFake(1.0, 4), max_pairs=48, noise_floor=0.0)
    outcome = judged(session, latency_ratio=1.5, ttft_ratio=1.0)
    by_name = {verdict.limit.name: verdict for verdict in outcome.verdicts}
    assert len(outcome.candidate.runs) == 48
    assert by_name["latency_ratio"].outcome is Outcome.PASS
    assert by_name["latency_ratio"].interval.samples < 48  # decided at an early look


def test_an_sla_left_open_alone_takes_runs_of_the_candidate_alone() -> None:
    """A p95 SLA needs 59 runs to pass; once the ratio is decided, pairs would spend half
    their time on a baseline nothing open needs."""
    session = session_with(TimedFake(1.0, 3), TimedFake(1.0, 4), noise_floor=0.0)
    outcome = judged(session, latency_ratio=1.5, latency_ms=1000)
    by_name = {verdict.limit.name: verdict for verdict in outcome.verdicts}
    assert by_name["latency_ratio"].outcome is Outcome.PASS
    assert by_name["latency_ms"].outcome is Outcome.PASS
    assert len(outcome.candidate.runs) == 60  # the first look where a p95 SLA can pass
    assert len(outcome.baseline.runs) == by_name["latency_ratio"].interval.samples < 60
    assert "after 59 runs or more" in by_name["latency_ms"].note


def test_the_seconds_cap_stops_extra_pairs() -> None:
    session = session_with(TimedFake(1.0, 5), TimedFake(1.0, 6), max_seconds=0.001, noise_floor=0.0)
    outcome = judged(session, latency_ratio=1.0)
    assert len(outcome.candidate.runs) == 6
    # the first runs' pace left no look within the cap: the plan ends at the first
    assert "the looks planned within --llm-max-seconds=0.001 end here" in (
        outcome.verdicts[0].decided_by
    )


class SlowFirstFake(TimedFake):
    """Its first `slow` calls take `seconds` each of real time; the rest none."""

    def __init__(self, seed: int, slow: int, seconds: float) -> None:
        super().__init__(1.0, seed)
        self.slow, self.seconds = slow, seconds

    def complete(self, prompt: str, generation: Mapping[str, Any], seed: int) -> Completion:
        if self.slow > 0:
            self.slow -= 1
            time.sleep(self.seconds)
        return super().complete(prompt, generation, seed)


def test_no_look_is_taken_past_the_plan_when_later_rounds_run_faster() -> None:
    """The looks are planned from the first runs' pace; rounds that then run faster reach
    the plan's last look with seconds to spare, and stop there: a look the plan left out
    is not covered by its boundary."""
    session = session_with(
        SlowFirstFake(7, slow=6, seconds=0.05),
        SlowFirstFake(8, slow=6, seconds=0.05),
        max_seconds=0.5,
        noise_floor=0.0,
    )
    outcome = judged(session, latency_ratio=1.0)
    (verdict,) = outcome.verdicts
    last_look = verdict.policy.sizes[-1]
    assert 6 < last_look < 320  # planned past the first look, short of --llm-max-pairs
    assert len(outcome.candidate.runs) == last_look
    planned = "the looks planned within --llm-max-seconds=0.5 end here"
    assert verdict.decided_by.endswith(f"({last_look} runs per model; {planned})")


@pytest.mark.parametrize(("rule", "expected"), [("pass", Outcome.PASS), ("fail", Outcome.FAIL)])
def test_the_rule_at_the_cap_is_configurable(rule: str, expected: Outcome) -> None:
    session = session_with(
        TimedFake(1.0, 7), TimedFake(1.0, 8), max_pairs=6, noise_floor=0.0, inconclusive=rule
    )
    (verdict,) = judged(session, latency_ratio=1.0).verdicts
    assert verdict.outcome is expected
    assert verdict.decided_by.endswith(f"--llm-inconclusive={rule}")


def test_fixed_length_mode_pins_min_new_tokens_and_skips_token_limits() -> None:
    baseline, candidate = TimedFake(1.0, 9, tokens=3), TimedFake(1.0, 10, tokens=30)
    session = session_with(baseline, candidate, max_new_tokens=16)
    outcome = judged(session, mode="fixed_length", tokens_ratio=1.1, latency_ratio=2.0)
    assert outcome.mode == "fixed_length"
    assert {g["min_new_tokens"] for g in candidate.generations + baseline.generations} == {16}
    tokens, latency = outcome.verdicts
    assert tokens.outcome is Outcome.NOT_COMPARED
    assert latency.outcome is Outcome.PASS


def test_natural_mode_leaves_min_new_tokens_unset() -> None:
    baseline, candidate = TimedFake(1.0, 11), TimedFake(1.0, 12)
    judged(session_with(baseline, candidate), tokens_ratio=1.1)
    assert all("min_new_tokens" not in g for g in candidate.generations)


def test_the_false_failure_rate_is_shared_by_every_decision_of_the_session() -> None:
    session = session_with(TimedFake(1.0, 13), TimedFake(4.0, 14), max_pairs=6)
    budgets = [parse_budget((), {"latency_ratio": 1.2, "ttft_ms": 50, "tokens_ratio": 1.1})] * 5
    session.count_decisions(budgets)
    assert session.decisions == 10  # tokens_ratio is exact, not a statistical decision
    session.generate("t::x", CANDIDATE, PROMPTS, None, {}, pair_with_baseline=True)
    outcome = session.judge("t::x", budgets[0])
    interval = outcome.verdicts[0].interval
    # 0.05 over 10 decisions and 1 look (6 runs is already the cap): 0.005 a tail
    assert interval.confidence == pytest.approx(0.99)


def test_each_model_s_results_are_priced_by_its_own_spec() -> None:
    """Prices are each model's own setting: the candidate's own price, the baseline's the
    price of every model; kept on the runs added while inconclusive."""
    session = session_with(
        TimedFake(1.0, 3),
        TimedFake(1.0, 4),
        max_pairs=12,
        noise_floor=0.0,
        price_output_per_1m=2.0,
        candidate_price_output_per_1m=5.0,
    )
    test = judged(session, latency_ratio=1.0)
    assert len(test.candidate.runs) == len(test.baseline.runs) == 12  # runs were added
    assert test.baseline.pricing == Pricing(0.0, 2.0)
    assert test.candidate.pricing == Pricing(0.0, 5.0)


class FakeClock:
    """time.monotonic for the protocol and the loop that runs until decided: each run
    advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class SlowFake(TimedFake):
    """Reports 0.1 ms per run but takes `seconds` of the clock: rounds cost more than the
    reported latencies promise, as on a machine that got busy."""

    def __init__(self, seed: int, seconds: float, clock: FakeClock) -> None:
        super().__init__(0.01, seed)
        self.seconds, self.clock = seconds, clock

    def complete(self, prompt: str, generation: Mapping[str, Any], seed: int) -> Completion:
        self.clock.now += self.seconds
        return super().complete(prompt, generation, seed)


def test_extra_runs_stop_at_the_seconds_cap_not_after(monkeypatch) -> None:
    """No pass over the prompts starts after --llm-max-seconds: the overshoot is at most one
    pass (3 prompts x 2 models x 20 ms here), not the rest of a doubling round."""
    clock = FakeClock()
    monkeypatch.setattr("pytest_llmperf.measure.protocol.time", clock)
    monkeypatch.setattr("pytest_llmperf.session.until_decided.time", clock)
    session = session_with(
        SlowFake(21, 0.02, clock), SlowFake(22, 0.02, clock), max_seconds=0.3, noise_floor=0.0
    )
    outcome = judged(session, latency_ratio=1.0)
    one_pass = 3 * 2 * 0.02
    assert 0.3 <= outcome.extra_seconds <= 0.3 + one_pass
    assert len(outcome.candidate.runs) < 48  # the doubling would have reached 48 runs
