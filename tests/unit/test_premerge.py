"""The pre-merge flow with fake models: record a snapshot in one session, judge a candidate
in another, as two pytest processes do. Timing against a snapshot carries an allowance for
the shift between processes; what it leaves open is settled against the snapshot's model
run live, in alternating pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.judge.verdicts import Outcome
from pytest_llmperf.limits import parse_budget
from pytest_llmperf.results import Pricing
from pytest_llmperf.session.session import BASELINE, CANDIDATE, LlmPerfSession
from pytest_llmperf.settings.settings import ModelSpec, Settings, with_model_settings
from tests.unit.test_session import PROMPTS, TimedFake

LIMITS = {"latency_ratio": 1.1}


def record(tmp_path: Path, baseline: TimedFake) -> None:
    """`pytest --llm-baseline=base --llm-update`: the test's calls become its snapshot."""
    settings = Settings(
        baseline=ModelSpec("base", tmp_path),
        update=True,
        snapshot_dir=tmp_path / ".llmperf",
        repeats=5,
        warmup=0,
        rootdir=tmp_path,
    )
    session = LlmPerfSession(with_model_settings(settings))
    session.models._loaded = {BASELINE: baseline}
    session.generate("t::x", CANDIDATE, PROMPTS, None, {}, pair_with_baseline=False)
    session.judge("t::x", parse_budget((), LIMITS))


def judge(
    tmp_path: Path,
    candidate: TimedFake,
    monkeypatch: pytest.MonkeyPatch,
    live: TimedFake | None = None,
    **settings: Any,
):
    """`pytest --llm-candidate=cand`, later: judged against the snapshot."""
    loaded: list[str] = []

    def load_backend(spec: ModelSpec, _settings: Settings) -> TimedFake:
        loaded.append(spec.name)
        if live is None:
            from pytest_llmperf.errors import ModelLoadError

            raise ModelLoadError(f"--llm-baseline={spec.name}: no such directory")
        return live

    monkeypatch.setattr("pytest_llmperf.session.pool.load_backend", load_backend)
    session = LlmPerfSession(
        with_model_settings(
            Settings(
                candidate=ModelSpec("cand", tmp_path),
                snapshot_dir=tmp_path / ".llmperf",
                repeats=5,
                warmup=0,
                rootdir=tmp_path,
                **settings,
            )
        )
    )
    session.models._loaded = {CANDIDATE: candidate}
    budget = parse_budget((), LIMITS)
    session.count_decisions([budget])
    session.generate("t::x", CANDIDATE, PROMPTS, None, {}, pair_with_baseline=False)
    return session.judge("t::x", budget), loaded


def test_a_fourfold_slowdown_fails_on_the_snapshot_alone(tmp_path, monkeypatch) -> None:
    """Beyond the allowance for the shift between processes, the snapshot alone fails it
    when its model cannot run here, and says the failure was not confirmed live."""
    record(tmp_path, TimedFake(1.0, 1))
    outcome, loaded = judge(tmp_path, TimedFake(4.0, 2), monkeypatch)
    (verdict,) = outcome.verdicts
    assert verdict.outcome is Outcome.FAIL and loaded == ["fake"]
    assert verdict.interval.widened_by == 0.25
    assert verdict.interval.low > 1.1  # even with the allowance for the shift
    assert "judged on the snapshot alone" in verdict.note
    assert "not confirmed in live pairs" in verdict.note


def test_a_failure_against_a_snapshot_is_confirmed_live(tmp_path, monkeypatch) -> None:
    """A recording taken while the machine idled and a judging run on a busy machine can
    differ beyond any allowance: a failure is confirmed in live pairs when the model runs."""
    record(tmp_path, TimedFake(1.0, 30))
    slow_process = TimedFake(4.0, 31)  # the same model, in a process four times slower
    outcome, loaded = judge(tmp_path, slow_process, monkeypatch, live=TimedFake(4.0, 32))
    (verdict,) = outcome.verdicts
    assert loaded == ["fake"]
    assert verdict.outcome is Outcome.PASS and verdict.interval.paired


def test_a_shift_between_processes_alone_never_fails(tmp_path, monkeypatch) -> None:
    """The judging process runs 20% slower than the recording one, the model is the same:
    without a baseline to run live, the verdict is inconclusive and says what would settle
    it, never a failure."""
    record(tmp_path, TimedFake(1.0, 3))
    outcome, loaded = judge(tmp_path, TimedFake(1.2, 4), monkeypatch)
    (verdict,) = outcome.verdicts
    assert loaded == ["fake"]  # the name the snapshot recorded  # tried, and could not load
    assert verdict.outcome is Outcome.INCONCLUSIVE and not outcome.failed
    assert "alternating pairs with the baseline model, which did not run here" in verdict.note
    assert "pass --llm-baseline=MODEL" in verdict.note


def test_what_the_snapshot_leaves_open_is_confirmed_live_in_pairs(tmp_path, monkeypatch) -> None:
    """The same shift, and the snapshot's model can be loaded: live pairs of the same
    model pass it, whatever the processes did."""
    record(tmp_path, TimedFake(1.0, 5))
    outcome, loaded = judge(tmp_path, TimedFake(1.2, 6), monkeypatch, live=TimedFake(1.2, 7))
    (verdict,) = outcome.verdicts
    assert loaded == ["fake"]  # the name the snapshot recorded
    assert verdict.outcome is Outcome.PASS and verdict.interval.paired
    assert "latency_ratio settled against fake run here in alternating pairs" in (
        outcome.baseline_source
    )
    assert outcome.baseline.runs and len(outcome.baseline.runs) == len(outcome.candidate.runs)


def test_a_snapshot_baseline_is_priced_as_the_baseline(tmp_path, monkeypatch) -> None:
    """No baseline model was given: the snapshot's runs are priced with the baseline's own
    prices, and so are the live pairs' runs of the snapshot's model; the candidate's, with
    its own."""
    record(tmp_path, TimedFake(1.0, 5))
    prices = {"price_output_per_1m": 2.0, "baseline_price_output_per_1m": 3.0}
    alone, _ = judge(tmp_path, TimedFake(1.2, 6), monkeypatch, **prices)
    assert "settled against" not in alone.baseline_source
    assert alone.baseline.pricing == Pricing(0.0, 3.0)
    assert alone.candidate.pricing == Pricing(0.0, 2.0)
    live, _ = judge(tmp_path, TimedFake(1.2, 6), monkeypatch, live=TimedFake(1.2, 7), **prices)
    assert "latency_ratio settled against fake" in live.baseline_source
    assert live.baseline.pricing == Pricing(0.0, 3.0)
    assert live.candidate.pricing == Pricing(0.0, 2.0)


def test_a_real_slowdown_is_caught_live(tmp_path, monkeypatch) -> None:
    record(tmp_path, TimedFake(1.0, 8))
    outcome, _ = judge(tmp_path, TimedFake(1.3, 9), monkeypatch, live=TimedFake(1.0, 10))
    (verdict,) = outcome.verdicts
    assert verdict.outcome is Outcome.FAIL and verdict.interval.paired
    assert verdict.observed == pytest.approx(1.3, rel=0.1)


def test_a_pass_against_a_snapshot_is_confirmed_live(tmp_path, monkeypatch) -> None:
    """Seen in benchmarks/premerge.py: the snapshot was recorded on a busy machine, so a
    1.2x slower candidate judged later read 0.67x and passed on the snapshot alone. With
    live_baseline=always (the default) a pass is confirmed in live pairs too."""
    record(tmp_path, TimedFake(2.0, 40))  # recorded while the machine was busy
    outcome, loaded = judge(tmp_path, TimedFake(1.3, 41), monkeypatch, live=TimedFake(1.0, 42))
    (verdict,) = outcome.verdicts
    assert loaded == ["fake"]
    assert verdict.outcome is Outcome.FAIL and verdict.interval.paired
    assert verdict.observed == pytest.approx(1.3, rel=0.1)


def test_live_baseline_auto_trusts_a_snapshot_pass(tmp_path, monkeypatch) -> None:
    """The cheaper rule keeps the snapshot's pass and never loads the baseline for it."""
    record(tmp_path, TimedFake(2.0, 43))
    outcome, loaded = judge(
        tmp_path, TimedFake(1.3, 44), monkeypatch, live=TimedFake(1.0, 45), live_baseline="auto"
    )
    (verdict,) = outcome.verdicts
    assert loaded == [] and verdict.outcome is Outcome.PASS and not verdict.interval.paired


def test_a_pass_that_cannot_be_confirmed_says_so(tmp_path, monkeypatch) -> None:
    record(tmp_path, TimedFake(2.0, 46))
    outcome, loaded = judge(tmp_path, TimedFake(1.0, 47), monkeypatch)
    (verdict,) = outcome.verdicts
    assert loaded == ["fake"] and verdict.outcome is Outcome.PASS
    assert "passed on the snapshot alone" in verdict.note
    assert "not confirmed in live pairs" in verdict.note


def test_live_baseline_never_leaves_it_inconclusive(tmp_path, monkeypatch) -> None:
    record(tmp_path, TimedFake(1.0, 11))
    outcome, loaded = judge(
        tmp_path, TimedFake(1.2, 12), monkeypatch, live=TimedFake(1.0, 13), live_baseline="never"
    )
    (verdict,) = outcome.verdicts
    assert loaded == [] and verdict.outcome is Outcome.INCONCLUSIVE
    assert "live_baseline = never" in verdict.note


def test_failing_on_the_estimate_stays_an_opt_in(tmp_path, monkeypatch) -> None:
    record(tmp_path, TimedFake(1.0, 14))
    outcome, _ = judge(
        tmp_path, TimedFake(1.2, 15), monkeypatch, live_baseline="never", inconclusive="estimate"
    )
    (verdict,) = outcome.verdicts
    assert verdict.outcome is Outcome.FAIL
    assert "the point estimate decides" in verdict.decided_by


def test_a_test_calling_both_models_is_judged_on_pairs() -> None:
    from tests.unit.test_session import session_with

    baseline, candidate = TimedFake(1.0, 16), TimedFake(1.3, 17)
    session = session_with(baseline, candidate)
    budget = parse_budget((), LIMITS)
    session.generate("t::x", BASELINE, PROMPTS, None, {}, pair_with_baseline=False)
    session.generate("t::x", CANDIDATE, PROMPTS, None, {}, pair_with_baseline=False)
    outcome = session.judge("t::x", budget)
    (verdict,) = outcome.verdicts
    assert verdict.interval.paired
    assert outcome.baseline_source == (
        "the test's llm_baseline calls, measured again in alternating pairs"
    )
    assert verdict.outcome is Outcome.FAIL


def test_a_snapshot_names_a_local_baseline_relative_to_the_rootdir(tmp_path) -> None:
    from pytest_llmperf.session.live_pairs import model_location

    (tmp_path / "ckpt" / "base").mkdir(parents=True)
    spec = ModelSpec("./ckpt/base", tmp_path / "ckpt" / "..")
    assert model_location(spec, tmp_path) == "ckpt/base"
    assert model_location(ModelSpec("gpt2", tmp_path), tmp_path) is None
