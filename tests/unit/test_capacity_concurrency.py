"""generate(..., capacity=True, capacity_by="concurrency"): the most requests in flight a
served model holds its SLO at, searched on whole numbers by the rate search itself, each
step a closed loop whose filling is left out of the over-saturation trend, and judged on
its bracket in its own unit. Fakes stand in for the server (no sockets)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from pytest_llmperf.backends.base import Completion
from pytest_llmperf.errors import GenerationError
from pytest_llmperf.judge.capacity import (
    CapacityPlan,
    StepMeasurement,
    StepOutcome,
    decide_step,
    search_capacity,
)
from pytest_llmperf.judge.records import verdict_record
from pytest_llmperf.measure.capacity_steps import (
    CapacitySpec,
    measure_concurrency_step,
    step_measured,
)
from pytest_llmperf.measure.load import MAX_IN_FLIGHT, LoadRun, LoadSpec, Sent
from pytest_llmperf.measure.slo import Slo
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.outcomes import Outcome
from pytest_llmperf.report.capacity_table import bracket_text, model_capacity
from pytest_llmperf.results import GenerationResult, PromptSample, Run
from pytest_llmperf.session import capacity_calls
from tests.unit.test_capacity_limits import searched as searched_by_rate
from tests.unit.test_capacity_limits import verdict
from tests.unit.test_capacity_search import plan

SLOTS, SERVICE_MS = 2, 100.0


def closed_loop_replica(slo_ms: float):
    """A server of SLOTS slots taking SERVICE_MS a request: with C requests in flight each
    takes C x SERVICE_MS / SLOTS once C passes SLOTS (Little's law), so the SLO holds up to
    C = slo_ms x SLOTS / SERVICE_MS."""
    asked: list[float] = []

    def measure(level: float, requests: int) -> StepMeasurement:
        asked.append(level)
        latency = SERVICE_MS * max(1.0, level / SLOTS)
        sent = tuple(n * SERVICE_MS / SLOTS / 1000 for n in range(requests))
        met = requests if latency <= slo_ms else 0
        return StepMeasurement(level, requests, met, sent[-1], sent, (latency,) * requests)

    measure.asked = asked  # type: ignore[attr-defined]
    return measure


def whole_plan(**overrides) -> CapacityPlan:
    """The plan of a search by concurrency (session/capacity_calls.py)."""
    whole = {"bound_ms": 450.0, "floor_rps": 1.0, "whole": True, "ceiling": MAX_IN_FLIGHT}
    return plan(**{**whole, **overrides})


def test_a_search_on_whole_numbers_brackets_the_concurrency_between_neighbours():
    measure = closed_loop_replica(slo_ms=450.0)  # holds up to 9 in flight
    found = search_capacity(measure, whole_plan())
    # A level not shown to hold is measured once more before the search turns down.
    assert measure.asked == [1, 2, 4, 8, 16, 16, 12, 12, 10, 10, 9]
    assert (found.held_rps, found.failed_rps, found.stopped) == (9, 10, "precision")


def test_halving_stays_on_whole_numbers_and_one_in_flight_is_the_floor():
    measure = closed_loop_replica(slo_ms=100.0)  # holds up to 2 in flight
    found = search_capacity(measure, whole_plan(start_rps=8.0))
    assert measure.asked == [8, 8, 4, 4, 2, 3, 3] and found.bracket == (2, 3)
    never = closed_loop_replica(slo_ms=50.0)  # one request alone misses it
    found = search_capacity(never, whole_plan())
    assert never.asked == [1, 1]  # measured once more before it counts
    assert (found.held_rps, found.failed_rps, found.stopped) == (None, 1, "floor")


def test_growth_stops_at_the_most_requests_the_client_keeps_in_flight():
    found = search_capacity(closed_loop_replica(slo_ms=1e9), whole_plan())
    assert (found.held_rps, found.failed_rps, found.stopped) == (MAX_IN_FLIGHT, None, "ceiling")


# -- a closed-loop step -------------------------------------------------------------------------


def filling_loop(in_flight: int, requests: int, service_ms: float = 10.0) -> LoadRun:
    """A closed loop on a one-slot server: the first `in_flight` requests go out together
    and queue (latency 1 to `in_flight` service times), every later one waits behind the
    others (`in_flight` service times) and goes out as the one before it ends."""
    sent = []
    for number in range(requests):
        if number < in_flight:
            at, latency = 0.0, service_ms * (number + 1)
        else:
            at, latency = service_ms * (number - in_flight + 1) / 1000, service_ms * in_flight
        sent.append(Sent(0, Completion("ok", 3, Run(latency, latency / 2, 4, False)), 0.1, at))
    return LoadRun(sent, requests * service_ms / 1000)


def test_the_loop_filling_is_left_out_of_the_step():
    slo = Slo(latency_ms=75.0)  # the steady latency is 80 ms: the filling's 10 to 70 keep it
    spec = LoadSpec(8, None, 116, 10.0, slo=slo)
    loaded = filling_loop(in_flight=8, requests=116)
    step = step_measured(loaded, spec, 8, ramp=8)
    assert (step.rate, step.requests, step.met) == (8, 108, 0)
    assert len(step.sent_s) == len(step.latencies_ms) == 108
    assert decide_step(step, 0.95, 0.025, 100.0).outcome is StepOutcome.MISSES
    # with its filling in, the same loop would flatter the attainment and read as a queue
    # growing
    filled = step_measured(loaded, spec, 8, ramp=0)
    assert (filled.requests, filled.met) == (116, 7)
    assert decide_step(filled, 0.95, 0.025, 100.0).outcome is StepOutcome.OVER_SATURATED


def test_a_concurrency_step_keeps_its_requests_in_flight_through_the_load_client():
    lock, in_flight, most = threading.Lock(), [0], [0]

    def send(index: int, seed: int) -> Completion:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.002)
        with lock:
            in_flight[0] -= 1
        return Completion("ok", 3, Run(10.0, 5.0, 4, False))

    slo = Slo(latency_ms=100.0)
    step = measure_concurrency_step(send, 2, slo, 3, 20, seed=0, request_s=0.01)
    assert (step.rate, step.requests, step.met) == (3, 20, 20)  # after 3 that fill the loop
    assert len(step.sent_s) == 20 and list(step.sent_s) == sorted(step.sent_s)
    assert most[0] <= 3


# -- what the test asks for ---------------------------------------------------------------------

SLO = {"slo_latency_ms": 400}


def test_the_searched_unit_is_recorded_only_when_it_is_not_the_rate():
    by_rate = CapacitySpec.from_kwargs({"capacity": True, **SLO})
    by_concurrency = CapacitySpec.from_kwargs(
        {"capacity": True, "capacity_by": "concurrency", **SLO}
    )
    assert by_rate is not None and by_concurrency is not None
    assert by_rate.by == "rate" and "by" not in by_rate.to_json()
    assert by_concurrency.to_json()["by"] == "concurrency"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"capacity_by": "concurency"},
            "capacity_by='concurency' is not what a capacity "
            "search can vary. Did you mean 'concurrency'?",
        ),
        ({"capacity_by": 4}, "capacity_by=4 is not what"),
        (
            {"capacity_by": "concurrency", "concurrency": 4},
            "searches the concurrency itself, so concurrency= has no place",
        ),
        ({"capacity_by": "rate"}, None),
    ],
)
def test_a_bad_search_unit_is_a_clear_error(kwargs, message):
    if message is None:
        assert CapacitySpec.from_kwargs({"capacity": True, **kwargs, **SLO}) is not None
        return
    with pytest.raises(GenerationError, match=message.replace("(", r"\(")):
        CapacitySpec.from_kwargs({"capacity": True, **kwargs, **SLO})
    with pytest.raises(GenerationError, match="capacity_by= tunes a capacity search"):
        CapacitySpec.from_kwargs({"capacity_by": "concurrency", **SLO})


# -- the session's search -----------------------------------------------------------------------


def test_the_session_searches_each_model_from_one_in_flight(monkeypatch):
    asked = []

    def fake_step(send, prompts, slo, concurrency, requests, seed, request_s, clock=None):
        asked.append((concurrency, request_s))
        return closed_loop_replica(slo_ms=300.0)(concurrency, requests)

    monkeypatch.setattr(capacity_calls, "measure_concurrency_step", fake_step)
    spec = CapacitySpec.from_kwargs({"capacity": True, "capacity_by": "concurrency", **SLO})
    workload = Workload.from_call(["Q: one?"], {}).searched(spec)
    alone = GenerationResult((PromptSample(0, 5, "ok", (Run(250.0, 20.0, 8, False),)),), None)
    (result,) = capacity_calls.with_capacity([object()], [alone], workload, seed=0)
    assert [level for level, _ in asked] == [1, 2, 4, 8, 8, 6, 7, 7]  # a miss, measured twice
    assert all(isinstance(level, int) for level, _ in asked)
    assert {request_s for _, request_s in asked} == {0.25}
    assert result.capacity is not None and result.capacity.by == "concurrency"
    assert (result.capacity_concurrency, result.capacity_rps) == (6, None)
    assert "capacity 6 in flight at 95% SLO attainment" in result.capacity.describe()


# -- verdicts in the searched unit --------------------------------------------------------------


def searched(held: float | None, failed: float | None) -> GenerationResult:
    by_rate = searched_by_rate(held, failed)
    assert by_rate.capacity is not None
    return replace(by_rate, capacity=replace(by_rate.capacity, by="concurrency"))


@pytest.mark.parametrize(
    ("bracket", "outcome"),
    [((8.0, 9.0), Outcome.PASS), ((3.0, 4.0), Outcome.FAIL), ((6.0, 12.0), Outcome.INCONCLUSIVE)],
)
def test_min_capacity_concurrency_is_judged_on_the_bracket(bracket, outcome):
    judged = verdict(searched(*bracket), min_capacity_concurrency=8)
    assert judged.outcome is outcome
    assert f"held at {bracket[0]:g} in flight, not at {bracket[1]:g} in flight" in judged.note


def test_capacity_ratio_is_taken_in_the_unit_that_was_searched():
    judged = verdict(searched(4.0, 5.0), searched(8.0, 9.0), capacity_ratio=0.9)
    assert judged.outcome is Outcome.FAIL
    assert judged.observed == pytest.approx(0.5) and judged.baseline == 8.0
    assert "[0.444, 0.625]" in judged.note and "in flight" in judged.note
    record = verdict_record(judged)
    assert (record["limit"], record["metric"]) == ("capacity_ratio", "capacity_concurrency")


def test_a_floor_in_requests_per_second_on_a_search_by_concurrency_says_what_to_judge():
    judged = verdict(searched(8.0, 9.0), min_capacity_rps=5)
    assert judged.outcome is Outcome.FAIL
    assert "no capacity in requests/s was searched" in judged.note
    assert "min_capacity_concurrency" in judged.note


def test_the_reports_write_a_search_by_concurrency_in_requests_in_flight():
    by_concurrency = searched(6.0, 7.0).capacity
    assert by_concurrency is not None
    assert (
        model_capacity("candidate", by_concurrency) == "candidate 6 in flight (held at 6, not at 7)"
    )
    every = replace(by_concurrency, failed_rps=None, held_rps=256.0)
    assert (
        bracket_text(every) == "capacity 256 in flight (held at every concurrency tried, up to 256)"
    )


def test_a_search_closing_below_a_client_bound_level_says_so_on_whole_numbers_too():
    """Past 4 in flight the client is late (a busy machine): the bracket closes between
    neighbours, 4 and 5, and the search stops at the client limit, with no level failed."""
    server = closed_loop_replica(slo_ms=10_000.0)  # the server holds any level tried

    def late_past_4(level: float, requests: int) -> StepMeasurement:
        measured = server(level, requests)
        return replace(measured, client_bound=True) if level > 4 else measured

    found = search_capacity(late_past_4, whole_plan())
    assert (found.held_rps, found.failed_rps, found.stopped) == (4, None, "client limit")
