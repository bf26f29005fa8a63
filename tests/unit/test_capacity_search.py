"""The capacity search as a pure function of its steps' measurements: a fake replica whose
attainment and queue are known at each rate stands in for a server (no clock, no sockets)."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from pytest_llmperf.judge.capacity import (
    CapacityPlan,
    StepMeasurement,
    StepOutcome,
    decide_step,
    queue_grew,
    ratio_bounds,
    search_alternating,
    search_capacity,
    step_requests,
)


def fake_replica(capacity: float, service_ms: float = 100.0, seed: int = 0):
    """A D/D/1-like queue: below `capacity` every request takes `service_ms` (with jitter)
    and meets the SLO; above it the backlog grows, so latency rises through the step."""
    draw = random.Random(seed)
    asked: list[tuple[float, int]] = []

    def measure(rate: float, requests: int) -> StepMeasurement:
        asked.append((rate, requests))
        sent = tuple(n / rate for n in range(requests))
        if rate <= capacity:
            latencies = tuple(service_ms + draw.uniform(0, 5) for _ in sent)
        else:
            # requests arrive faster than served: the n-th waits for the backlog ahead
            latencies = tuple(
                service_ms + 1000 * n * (1 / capacity - 1 / rate) + draw.uniform(0, 5)
                for n in range(requests)
            )
        met = sum(latency <= 150.0 for latency in latencies)
        return StepMeasurement(
            rate, requests, met, requests / min(rate, capacity), sent, latencies, (None,) * requests
        )

    measure.asked = asked  # type: ignore[attr-defined]
    return measure


def plan(**overrides) -> CapacityPlan:
    settings = {
        "target": 0.95,
        "start_rps": 1.0,
        "bound_ms": 150.0,
        "precision": 0.05,
        "max_seconds": math.inf,
    }
    settings.update(overrides)
    return CapacityPlan(**settings)


@pytest.mark.parametrize("capacity", [0.3, 3.0, 12.0, 47.5, 200.0])
def test_the_search_brackets_the_known_capacity_within_its_precision(capacity):
    found = search_capacity(fake_replica(capacity), plan())
    assert found.stopped == "precision"
    assert found.held_rps is not None and found.failed_rps is not None
    assert found.held_rps <= capacity < found.failed_rps
    assert found.failed_rps - found.held_rps <= 0.05 * found.held_rps
    assert found.capacity_rps >= capacity / 1.05
    assert not found.indeterminate


def test_growth_doubles_then_bisection_halves_the_bracket():
    measure = fake_replica(10.0)
    search_capacity(measure, plan(start_rps=2.0))
    rates = [rate for rate, _ in measure.asked]
    # a rate not shown to hold is measured twice before the search turns down from it
    assert rates[:7] == [2.0, 4.0, 8.0, 16.0, 16.0, 12.0, 12.0]
    assert rates[7] == 10.0


def test_a_step_past_capacity_is_over_saturated_even_when_its_attainment_holds():
    # 1.5x past capacity with a loose SLO: every request meets it, but the queue grows
    measure = fake_replica(10.0)
    measurement = measure(15.0, 108)
    loose = decide_step(
        StepMeasurement(
            15.0, 108, 108, measurement.seconds, measurement.sent_s, measurement.latencies_ms
        ),
        0.95,
        0.025,
        5000.0,
    )
    assert loose.over_saturated and loose.outcome is StepOutcome.OVER_SATURATED
    assert decide_step(measure(9.0, 108), 0.95, 0.025, 150.0).outcome is StepOutcome.HOLDS


def test_jitter_around_a_stable_queue_is_not_over_saturation():
    draw = random.Random(1)
    sent = [n / 10 for n in range(200)]
    latencies = [100 + draw.gauss(0, 20) for _ in sent]
    assert not queue_grew(sent, latencies, 150.0)
    # a significant but immaterial drift (1 ms over the step against a 150 ms SLO) neither
    assert not queue_grew(sent, [100 + s / 20 for s in sent], 150.0)
    assert queue_grew(sent, [100 + 5 * s for s in sent], 150.0)
    assert not queue_grew(sent[:5], [100 + 50 * s for s in sent[:5]], 150.0)


def test_a_straddling_step_is_measured_again_then_reported_indeterminate():
    asked = []

    def measure(rate: float, requests: int) -> StepMeasurement:
        asked.append((rate, requests))
        # attainment exactly at the target: no number of requests settles it
        met = round(0.95 * requests) if rate > 4 else requests
        return StepMeasurement(rate, requests, met, requests / rate)

    found = search_capacity(measure, plan(start_rps=4.0, precision=0.1))
    assert asked[1][0] == asked[2][0] == 8.0 and asked[2][1] == 2 * asked[1][1]
    assert found.held_rps == 4.0
    assert found.indeterminate
    assert "indeterminate: a step between them" in found.figures().describe()
    outcomes = [step.outcome for step in found.steps]
    assert StepOutcome.INDETERMINATE in outcomes


def test_a_model_that_holds_at_no_rate_stops_at_the_floor():
    def never(rate: float, requests: int) -> StepMeasurement:
        return StepMeasurement(rate, requests, 0, requests / rate)

    found = search_capacity(never, plan(start_rps=8.0))
    assert found.stopped == "floor" and found.held_rps is None
    assert found.capacity_rps == 0.0 and found.failed_rps == pytest.approx(8.0 / 64)


@pytest.mark.parametrize(
    ("cap", "why"), [({"max_steps": 3}, "step cap"), ({"max_seconds": 100.0}, "time cap")]
)
def test_the_caps_stop_the_search_and_keep_the_bracket_so_far(cap, why):
    found = search_capacity(fake_replica(1000.0), plan(**cap))
    assert found.stopped == why
    assert found.failed_rps is None and found.held_rps is not None
    assert math.isinf(ratio_bounds(found.bracket, found.bracket)[2])


def test_two_models_are_searched_alike_one_step_each_in_turn():
    base, cand = fake_replica(20.0), fake_replica(10.0)
    order = []

    def tagged(measure, name):
        def step(rate, requests):
            order.append(name)
            return measure(rate, requests)

        return step

    found = search_alternating([tagged(base, "b"), tagged(cand, "c")], plan(start_rps=2.0))
    assert order[:6] == ["b", "c"] * 3
    assert {requests for _, requests in base.asked + cand.asked} == {plan().per_step}
    estimate, low, high = ratio_bounds(*(result.bracket for result in found))
    assert low <= 0.5 <= high and low < estimate < high
    assert high / low < 1.15


def test_the_ratio_interval_from_two_brackets():
    assert ratio_bounds((10, 11), (5, 6)) == (0.5, 5 / 11, 0.6)
    estimate, low, high = ratio_bounds((10, 11), (None, 1))
    assert math.isnan(estimate) and low == 0.0 and high == 0.1


def test_a_step_sends_enough_requests_to_show_the_target():
    n = step_requests(0.95, 0.025)
    assert 0.95 ** (n / 1.5) <= 0.025
    assert decide_step(StepMeasurement(1.0, n, n, 1.0), 0.95, 0.025, 100).outcome is (
        StepOutcome.HOLDS
    )


def test_a_client_bound_step_never_holds():
    measurement = StepMeasurement(50.0, 100, 100, 2.0, client_bound=True)
    assert decide_step(measurement, 0.95, 0.025, 150.0).outcome is StepOutcome.CLIENT_BOUND


def test_a_step_measured_through_the_load_client_keeps_send_times_in_order():
    from pytest_llmperf.backends.base import Completion
    from pytest_llmperf.measure.capacity_steps import measure_step
    from pytest_llmperf.measure.slo import Slo
    from pytest_llmperf.results import Run

    def send(index: int, seed: int) -> Completion:
        slow = seed % 4 == 0
        return Completion("ok", 3, Run(500.0 if slow else 10.0, 5.0, 4, False))

    step = measure_step(send, 2, Slo(latency_ms=100.0), rate=200.0, requests=20, seed=0)
    assert step.requests == 20 and step.met == 15
    assert list(step.sent_s) == sorted(step.sent_s) and len(step.latencies_ms) == 20


def test_a_queue_seen_growing_is_over_saturated_even_from_a_late_client():
    sent = tuple(n / 10 for n in range(50))
    rising = StepMeasurement(
        10.0, 50, 10, 5.0, sent, tuple(100 + 100 * s for s in sent), client_bound=True
    )
    assert decide_step(rising, 0.95, 0.025, 150.0).outcome is StepOutcome.OVER_SATURATED


# --- a busy machine's stalls ----------------------------------------------------------------
# On a shared 2-core machine a stall of the whole process (a few hundred ms) falls on any
# step: measured through the benchmark, it gave over-saturated steps at 0.42x the capacity
# with every request within the SLO, misses at 0.56x, client-bound steps at 0.33x, and a
# step at 0.91x whose queue grew and attainment missed with the client on time. Each is
# reproduced here on the step at 8 requests/s of a search for a capacity of 10.


def stalled(measurement: StepMeasurement, how: str) -> StepMeasurement:
    """The step as a stall of the machine leaves it."""
    n = measurement.requests
    sent = measurement.sent_s
    if how == "queue grew":  # latency rising through the step, every request still in SLO
        latencies = tuple(100 + 30 * k / n for k in range(n))
        return replace(measurement, latencies_ms=latencies, met=n)
    if how == "queue grew, missed":  # as a rate past the capacity looks, on time
        latencies = tuple(100 + 300 * k / n for k in range(n))
        return replace(measurement, latencies_ms=latencies, met=sum(v <= 150 for v in latencies))
    if how == "missed":  # a block of requests in the middle held up, no trend
        late = range(n // 2 - 10, n // 2 + 10)
        latencies = tuple(400.0 if k in late else 100.0 for k in range(n))
        return replace(measurement, latencies_ms=latencies, met=n - len(late))
    assert how == "client late"
    return replace(measurement, client_bound=True, sent_s=sent)


def stalling(measure, stalls: set[int], how: str):
    """`measure`, with the measurements numbered in `stalls` (from 0) stalled."""
    numbers = iter(range(1000))

    def step(rate: float, requests: int) -> StepMeasurement:
        measurement = measure(rate, requests)
        return stalled(measurement, how) if next(numbers) in stalls else measurement

    step.asked = measure.asked  # type: ignore[attr-defined]
    return step


HOW = ("queue grew", "queue grew, missed", "missed", "client late")
EXPECTED = {
    "queue grew": StepOutcome.OVER_SATURATED,
    "queue grew, missed": StepOutcome.OVER_SATURATED,
    "missed": StepOutcome.MISSES,
    "client late": StepOutcome.CLIENT_BOUND,
}


@pytest.mark.parametrize("how", HOW)
def test_a_step_stalled_below_the_capacity_is_measured_again_before_the_search_turns_down(how):
    measure = stalling(fake_replica(10.0), {2}, how)  # the third step: 8 requests/s
    found = search_capacity(measure, plan(start_rps=2.0))
    rates = [rate for rate, _ in measure.asked]
    assert rates[:5] == [2.0, 4.0, 8.0, 8.0, 16.0]
    first, again = found.steps[2], found.steps[3]
    assert first.outcome is EXPECTED[how] and first.remeasured
    assert again.outcome is StepOutcome.HOLDS and not again.remeasured
    assert 10.0 / 1.05 <= found.capacity_rps <= 10.0
    assert found.figures().steps[2].remeasured and not found.figures().steps[3].remeasured


def test_a_rate_that_stalls_twice_is_not_measured_a_third_time():
    measure = stalling(fake_replica(10.0), {2, 3}, "queue grew")
    found = search_capacity(measure, plan(start_rps=2.0))
    rates = [rate for rate, _ in measure.asked]
    assert rates.count(8.0) == 2
    assert found.failed_rps == 8.0 and found.capacity_rps < 8.0
    assert [step.remeasured for step in found.steps[2:4]] == [True, False]


def test_a_rate_past_the_capacity_shows_it_twice_and_the_search_turns_down():
    measure = fake_replica(10.0)
    found = search_capacity(measure, plan(start_rps=2.0))
    rates = [rate for rate, _ in measure.asked]
    past = [step for step in found.steps if step.rate > 10.0]
    assert past and all(step.outcome is StepOutcome.OVER_SATURATED for step in past)
    assert all(rates.count(step.rate) == 2 for step in past)
    assert [step.remeasured for step in past] == [True, False] * (len(past) // 2)
    assert not any(step.remeasured for step in found.steps if step.rate <= 10.0)
    assert found.failed_rps is not None and found.failed_rps > 10.0


def test_a_rate_the_client_cannot_send_on_time_is_a_limit_not_a_failure():
    """Past 30 requests/s the client is always late (a busy machine): the search closes
    below it, and the result shows no rate failing, so a verdict has nothing to fail on."""

    def late_past_30(measure):
        def step(rate: float, requests: int) -> StepMeasurement:
            measurement = measure(rate, requests)
            return replace(measurement, client_bound=True) if rate > 30 else measurement

        return step

    found = search_capacity(late_past_30(fake_replica(50.0)), plan(start_rps=4.0))
    assert found.stopped == "client limit"
    assert found.failed_rps is None and 30 / 1.05 <= found.capacity_rps <= 30
    outcomes = {step.outcome for step in found.steps if step.rate > 30}
    assert outcomes == {StepOutcome.CLIENT_BOUND}
    # capacity_ratio's upper end against a baseline's bracket: none, so it cannot fail
    assert math.isinf(ratio_bounds((40.0, 42.0), found.bracket)[2])


def test_a_rate_measured_twice_is_named_once_in_the_description():
    found = search_capacity(fake_replica(10.0), plan(start_rps=2.0))
    described = found.figures().describe()
    over = described.split("over-saturated at ")[1].rstrip(")").split(", ")
    assert len(over) == len(set(over)) and len(over) >= 2
