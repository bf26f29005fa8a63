"""generate(..., capacity=True): its arguments checked before anything is sent, and the
capacity limits judged on the searches' brackets."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest

from pytest_llmperf.errors import GenerationError
from pytest_llmperf.judge.verdicts import Comparison, judge
from pytest_llmperf.limits import parse_limits
from pytest_llmperf.measure.capacity_steps import CapacitySpec
from pytest_llmperf.outcomes import Outcome
from pytest_llmperf.results import (
    CapacityFigures,
    CapacityStep,
    GenerationResult,
    PromptSample,
    Run,
)
from pytest_llmperf.session.capacity_calls import check_served

SLO = {"slo_latency_ms": 400}


def test_a_capacity_search_takes_its_defaults_and_records_them():
    spec = CapacitySpec.from_kwargs({"capacity": True, **SLO})
    assert spec is not None
    assert (spec.target, spec.precision, spec.max_seconds) == (0.95, 0.05, 120.0)
    assert spec.to_json()["slo"] == {"slo_latency_ms": 400.0}
    assert CapacitySpec.from_kwargs({"rate": 5, **SLO}) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity": True}, "none was given: add one or more of slo_ttft_ms"),
        ({"capacity": True, "capacity_target": 0, **SLO}, "capacity_target=0: must be a share"),
        ({"capacity": True, "capacity_target": 1, **SLO}, "capacity_target=1: must be a share"),
        ({"capacity": True, "capacity_target": 1.5, **SLO}, "both excluded"),
        ({"capacity": True, "capacity_target": "high", **SLO}, "capacity_target='high'"),
        ({"capacity": True, "rate": 5, **SLO}, "searches the rate itself, so rate= has no place"),
        ({"capacity": True, "concurrency": 4, **SLO}, "so concurrency= has no place"),
        ({"capacity": True, "requests": 100, **SLO}, "so requests= has no place"),
        ({"capacity": "yes", **SLO}, "capacity='yes': give capacity=True"),
        ({"capacity_target": 0.9, **SLO}, "capacity_target= tunes a capacity search: add"),
        (
            {"capacity": True, "capacity_max_s": 0, **SLO},
            "capacity_max_s=0: must be a finite number",
        ),
        ({"capacity": True, "capacity_precision": 2, **SLO}, "capacity_precision=2"),
        ({"capacity": True, "slo_latency_ms": -1}, "slo_latency_ms=-1: a per-request SLO"),
    ],
)
def test_bad_capacity_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(GenerationError, match=message.replace("(", r"\(")):
        CapacitySpec.from_kwargs(kwargs)


def test_an_in_process_model_is_told_to_serve_it():
    in_process = SimpleNamespace(serves_concurrently=False, label="./ckpt")
    served = SimpleNamespace(serves_concurrently=True, label="sim@http://127.0.0.1:1/v1")
    check_served([served])
    with pytest.raises(GenerationError) as caught:
        check_served([served, in_process])
    message = str(caught.value)
    assert "./ckpt runs in process" in message and "serve it" in message
    assert "MODEL@http://HOST:PORT/v1" in message and "transformers serve" in message


# -- verdicts on the brackets -----------------------------------------------------------------


def searched(held: float | None, failed: float | None) -> GenerationResult:
    runs = tuple(Run(100.0 + i, 20.0, 8, False) for i in range(4))
    steps = (CapacityStep(held or 1.0, 108, 108, "holds"),)
    capacity = CapacityFigures(0.95, held, failed, False, "precision", steps)
    return GenerationResult((PromptSample(0, 5, "ok", runs),), None, capacity=capacity)


def verdict(candidate, baseline=None, **limits):
    comparison = Comparison(candidate=candidate, baseline=baseline, baseline_source="synthetic")
    (judged,) = judge(parse_limits((), limits), comparison)
    return judged


@pytest.mark.parametrize(
    ("bracket", "outcome"),
    [
        ((10.0, 10.5), Outcome.PASS),
        ((6.0, 6.3), Outcome.FAIL),
        ((9.0, 11.0), Outcome.INCONCLUSIVE),
        ((12.0, None), Outcome.PASS),
        ((None, 0.2), Outcome.FAIL),
    ],
)
def test_min_capacity_is_judged_on_the_bracket(bracket, outcome):
    judged = verdict(searched(*bracket), min_capacity_rps=10)
    assert judged.outcome is outcome
    assert "the searches' brackets" in judged.note
    if outcome is Outcome.INCONCLUSIVE:
        assert "a finer search would settle it" in judged.note
    if outcome is Outcome.FAIL:
        assert "cheaper" in judged.remedy


def test_capacity_ratio_carries_the_interval_of_both_brackets():
    slower = verdict(searched(5.0, 5.25), searched(10.0, 10.5), capacity_ratio=0.8)
    assert slower.outcome is Outcome.FAIL
    assert slower.observed == pytest.approx(0.5) and slower.baseline == 10.0
    assert "[0.476, 0.525]" in slower.note
    alike = verdict(searched(10.0, 10.5), searched(10.0, 10.5), capacity_ratio=0.9)
    assert alike.outcome is Outcome.PASS
    overlapping = verdict(searched(9.0, 10.0), searched(10.0, 10.5), capacity_ratio=0.9)
    assert overlapping.outcome is Outcome.INCONCLUSIVE


def test_capacity_limits_without_a_search_say_how_to_search():
    plain = GenerationResult((PromptSample(0, 5, "ok", (Run(1.0, 0.5, 3, False),)),), None)
    judged = verdict(plain, min_capacity_rps=5)
    assert judged.outcome is Outcome.FAIL and "capacity=True" in judged.note
    no_base = verdict(searched(5.0, 6.0), plain, capacity_ratio=0.9)
    assert no_base.outcome is Outcome.FAIL
    assert "baseline's capacity was not searched" in no_base.note
    assert math.isclose(searched(None, 1.0).capacity_rps or 0.0, 0.0)


def test_capacity_ratio_against_a_snapshot_from_another_server_is_not_compared():
    """A capacity is a figure of the server it was searched on, as any timing is."""
    other = Comparison(
        candidate=searched(5.0, 5.25),
        baseline=searched(10.0, 10.5),
        baseline_source="snapshot",
        timings_comparable=False,
        timings_note="the snapshot was measured on other hardware",
    )
    (judged,) = judge(parse_limits((), {"capacity_ratio": 0.8}), other)
    assert judged.outcome is Outcome.NOT_COMPARED and "other hardware" in judged.note
    strict = replace(other, timing_mismatch_fails=True)
    (judged,) = judge(parse_limits((), {"capacity_ratio": 0.8}), strict)
    assert judged.outcome is Outcome.FAIL
