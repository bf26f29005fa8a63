"""Capacity: the highest request rate at which a served model's SLO attainment stays at or
above a target, found by growth then bisection, each step decided on an interval.

The search is a pure function of the steps' measurements: `CapacitySearch` says which rate
to measure next and how many requests to send (`next_step`), and is told what a step
measured (`record`); whoever drives it measures (the session against a server, a unit test
or the benchmark with a fake). `search_capacity` drives one search, `search_alternating`
several alike, one step each in turn, so that drift in the machine's state falls on every
model.

A step is decided on the Clopper-Pearson interval of its attainment (`judge.quality`):

- **holds**: the interval's lower end is at or above the target;
- **misses**: its upper end is below the target;
- **indeterminate**: the interval straddles the target. The step is measured once more at
  the same rate with twice the requests, decided on both together; still indeterminate, it
  counts as not shown to hold, and the result says that its bracket rests on such a step;
- **over-saturated**: the queue grew through the step (`queue_grew`); whatever its
  attainment, such a step describes the backlog, not the model, and never holds;
- **client-bound**: the client sent its requests too late to tell (the client-bound rule of
  a load run, results.CLIENT_BOUND_SHARE); it never holds either, nor is it shown not to:
  the search bisects below it as below a failed rate, but the result's bracket leaves it
  out (no rate shown not to hold, when no other failed), and a search that closes on it
  stops at the "client limit". A verdict then has no upper end to fail on.

One measurement never turns the search down: a step not shown to hold (other than an
indeterminate one, measured again already) is measured once more at the same rate, afresh,
and the search goes on from the second measurement; the first stays in the steps, marked
`remeasured`. A stall of a busy machine gives any outcome, at any rate: on this 2-core
machine under load, stalls gave over-saturated steps at 0.42x the capacity with every
request within the SLO, misses at 0.56x, client-bound steps at 0.33x, and once a step at
0.91x where the queue grew, the attainment missed and the client sent on time, all at once.
Each turned bisection down for good. A rate past the capacity shows it twice.

The search doubles the rate from `start_rps` while steps hold, halves it while they do not
(down to `floor_rps`), then bisects between the highest rate shown to hold and the lowest
not shown to hold, and stops when the two are within `precision` of the lower one, after
`max_steps` steps, or once the steps' own time passes `max_seconds` (the step measurements
report their wall time, so a fake measurement keeps the search a pure function).

A search by concurrency (requests in flight, a closed loop) is the same search on whole
numbers (`whole`): each level rounded down, so that bisection stops when the two ends are
next to each other, and growth stops at `ceiling` (load.MAX_IN_FLIGHT).

Over-saturation (`queue_grew`): a step's end-to-end latency (and its time to first token,
where timed) regressed on the time each request was sent. A queue growing through the
step shows as a positive slope; it counts when it is significant (one-sided test of the
least-squares slope, p below `SATURATION_ALPHA`) and material (the fitted rise over the step
exceeds `SATURATION_RISE` of the tightest SLO bound), so that jitter around a stable queue
is not flagged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

from pytest_llmperf.judge.quality import accuracy_interval
from pytest_llmperf.measure.capacity_steps import StepMeasurement
from pytest_llmperf.results import CapacityFigures

SATURATION_ALPHA = 0.001  # one-sided p-value below which a rising latency is significant
SATURATION_RISE = 0.10  # the rise over a step, as a share of the SLO bound, that counts
MIN_SATURATION_POINTS = 8  # fewer requests than this say nothing about a trend


class StepOutcome(Enum):
    """What one step of the search showed."""

    HOLDS = "holds"
    MISSES = "misses"
    INDETERMINATE = "indeterminate"
    OVER_SATURATED = "over-saturated"
    CLIENT_BOUND = "client-bound"


@dataclass(frozen=True)
class Step:
    """One step decided: its measurement, its outcome, the attainment's interval, and
    whether the queue grew through it."""

    measurement: StepMeasurement
    outcome: StepOutcome
    low: float
    high: float
    over_saturated: bool
    remeasured: bool = False  # measured once more at its rate; the later one counts

    @property
    def rate(self) -> float:
        return self.measurement.rate

    @property
    def attainment(self) -> float:
        m = self.measurement
        return m.met / m.requests if m.requests else 0.0


def queue_grew(
    sent_s: Sequence[float], latencies_ms: Sequence[float | None], bound_ms: float
) -> bool:
    """Whether latency rose with send time through a step, significantly and materially
    (module docstring). Requests without a latency (an untimed first token) are left out."""
    pairs = [(s, v) for s, v in zip(sent_s, latencies_ms, strict=True) if v is not None]
    if len(pairs) < MIN_SATURATION_POINTS:
        return False
    times = [s for s, _ in pairs]
    span = max(times) - min(times)
    if span <= 0 or len({v for _, v in pairs}) < 2:
        return False
    from scipy.stats import linregress

    fit = linregress(times, [v for _, v in pairs], alternative="greater")
    if not math.isfinite(fit.slope) or not math.isfinite(fit.pvalue):
        return False
    return bool(fit.pvalue < SATURATION_ALPHA and fit.slope * span > SATURATION_RISE * bound_ms)


def decide_step(measurement: StepMeasurement, target: float, tail: float, bound_ms: float) -> Step:
    """A step's outcome: over-saturated when the queue grew through it, else held to the
    target on its attainment's Clopper-Pearson interval (`tail` in each tail)."""
    bounds = accuracy_interval(measurement.met, measurement.requests, tail)
    m = measurement
    over = queue_grew(m.sent_s, m.latencies_ms, bound_ms) or (
        any(t is not None for t in m.ttfts_ms) and queue_grew(m.sent_s, m.ttfts_ms, bound_ms)
    )
    if over:  # a late client only hides a queue: one seen growing grew
        outcome = StepOutcome.OVER_SATURATED
    elif m.client_bound:
        outcome = StepOutcome.CLIENT_BOUND
    elif bounds.low >= target:
        outcome = StepOutcome.HOLDS
    elif bounds.high < target:
        outcome = StepOutcome.MISSES
    else:
        outcome = StepOutcome.INDETERMINATE
    return Step(measurement, outcome, bounds.low, bounds.high, over)


def step_requests(target: float, tail: float) -> int:
    """Requests per step: half as many again as it takes for a step in which every request
    met the SLO to show the target (n with target**n <= tail), at least 20."""
    shown = math.ceil(math.log(tail) / math.log(target))
    return max(20, math.ceil(1.5 * shown))


@dataclass(frozen=True)
class CapacityPlan:
    """How a capacity search runs: the attainment to hold, where it starts, how close it
    brackets the capacity (`precision`, a share of the lower end), its caps, the requests
    per step, the interval's tail and the tightest SLO bound (for over-saturation)."""

    target: float
    start_rps: float
    bound_ms: float
    precision: float = 0.05
    max_steps: int = 24
    max_seconds: float = 300.0
    tail: float = 0.025
    requests: int = 0  # 0: step_requests(target, tail)
    floor_rps: float = 0.0  # 0: start_rps / 64
    whole: bool = False  # levels on whole numbers: requests in flight, not a rate
    ceiling: float = math.inf  # growth stops past this level

    @property
    def per_step(self) -> int:
        return self.requests or step_requests(self.target, self.tail)

    @property
    def lowest_rps(self) -> float:
        return self.floor_rps or self.start_rps / 64


@dataclass(frozen=True)
class NextStep:
    """The rate a search asks to measure next, and how many requests to send there."""

    rate: float
    requests: int


@dataclass(frozen=True)
class Capacity:
    """A search's result: the highest rate shown to hold the SLO (None: none was), the
    lowest rate shown not to (None: every rate tried held, up to the cap), whether an
    indeterminate step lies between them, why the search stopped, and its steps."""

    held_rps: float | None
    failed_rps: float | None
    indeterminate: bool
    stopped: str
    steps: tuple[Step, ...]
    target: float

    @property
    def capacity_rps(self) -> float:
        """The figure: the highest rate shown to hold (0 when none was)."""
        return self.held_rps or 0.0

    @property
    def over_saturated_rates(self) -> tuple[float, ...]:
        return tuple(s.rate for s in self.steps if s.over_saturated)

    @property
    def bracket(self) -> Bracket:
        return self.held_rps, self.failed_rps

    def figures(self) -> CapacityFigures:
        """As a result carries it (plain values)."""
        steps = tuple(
            s.measurement.step(s.outcome.value, s.low, s.high, s.remeasured) for s in self.steps
        )
        return CapacityFigures(
            self.target, self.held_rps, self.failed_rps, self.indeterminate, self.stopped, steps
        )


@dataclass
class CapacitySearch:
    """One search's state: growth, then bisection (module docstring)."""

    plan: CapacityPlan
    steps: list[Step] = field(default_factory=list)
    _retry: StepMeasurement | None = None
    _merged: set[float] = field(default_factory=set)  # rates measured again, merged
    _again: float | None = None  # a rate to measure once more, afresh
    _measured_again: set[float] = field(default_factory=set)
    stopped: str = ""

    def _counted(self) -> list[Step]:
        """The steps the bracket rests on: each rate's last measurement."""
        return [s for s in self.steps if not s.remeasured]

    def _bracket(self, *, measurable: bool = False) -> tuple[float | None, float | None]:
        """(highest rate that held below the top, the top): the lowest rate shown not to
        hold; with `measurable`, the lowest the client could not send on time either,
        above which nothing can be shown here (what the search bisects below)."""
        counted = self._counted()
        ignored = () if measurable else (StepOutcome.CLIENT_BOUND,)
        not_held = [
            s.rate
            for s in counted
            if s.outcome is not StepOutcome.HOLDS and s.outcome not in ignored
        ]
        high = min(not_held, default=None)
        held = [
            s.rate
            for s in counted
            if s.outcome is StepOutcome.HOLDS and (high is None or s.rate < high)
        ]
        return max(held, default=None), high

    def next_step(self) -> NextStep | None:
        """The next rate to measure, or None when the search is done (`stopped` says why)."""
        if self.stopped:
            return None
        plan = self.plan
        if self._retry is not None:
            return NextStep(self._retry.rate, 2 * plan.per_step)
        if self._again is not None:
            return NextStep(self._again, plan.per_step)
        if len(self.steps) >= plan.max_steps:
            return self._stop("step cap")
        if sum(s.measurement.seconds for s in self.steps) >= plan.max_seconds:
            return self._stop("time cap")
        low, high = self._bracket(measurable=True)
        if not self.steps:
            rate = plan.start_rps
        elif high is None:
            assert low is not None
            rate = 2 * low
            if rate > plan.ceiling:
                return self._stop("ceiling")
        elif low is None:
            rate = self._level(high / 2)
            if rate < plan.lowest_rps:
                return self._stop("floor")
        elif high - low <= plan.precision * low:
            return self._stop(self._closed())
        else:
            rate = self._level((low + high) / 2)
            if rate <= low:  # whole levels next to each other: nothing lies between
                return self._stop(self._closed())
        return NextStep(rate, plan.per_step)

    def _closed(self) -> str:
        """Why a bracket that closed stopped the search: the precision, or a level the
        client could not send on time (its top, when no level failed as low)."""
        failed_top = self._bracket()[1] == self._bracket(measurable=True)[1]
        return "precision" if failed_top else "client limit"

    def _level(self, rate: float) -> float:
        return float(math.floor(rate)) if self.plan.whole else rate

    def _stop(self, why: str) -> None:
        self.stopped = why
        return None

    def record(self, measurement: StepMeasurement) -> Step:
        """A step's measurement: decided and kept. An indeterminate one is measured again
        once, decided on both measurements together; any other not shown to hold is
        measured again once afresh, the first kept marked `remeasured` (module docstring)."""
        plan = self.plan
        if self._retry is not None:
            measurement = self._retry.merged(measurement)
            self._retry = None
            self.steps.pop()
        if self._again is not None:
            self._again = None
            self.steps[-1] = replace(self.steps[-1], remeasured=True)
        step = decide_step(measurement, plan.target, plan.tail, plan.bound_ms)
        self.steps.append(step)
        if step.outcome is StepOutcome.INDETERMINATE:
            if step.rate not in self._merged:
                self._merged.add(step.rate)
                self._retry = measurement
        elif step.outcome is not StepOutcome.HOLDS and step.rate not in self._measured_again:
            self._measured_again.add(step.rate)
            self._again = step.rate
        return step

    def result(self) -> Capacity:
        low, high = self._bracket()
        between = any(
            s.outcome is StepOutcome.INDETERMINATE
            and (low is None or s.rate > low)
            and (high is None or s.rate <= high)
            for s in self._counted()
        )
        stopped = self.stopped or "unfinished"
        return Capacity(low, high, between, stopped, tuple(self.steps), self.plan.target)


MeasureStep = Callable[[float, int], StepMeasurement]  # (rate, requests) -> measurement


def search_capacity(measure: MeasureStep, plan: CapacityPlan) -> Capacity:
    """One model's capacity, measured through `measure`."""
    return search_alternating([measure], plan)[0]


def search_alternating(measures: Sequence[MeasureStep], plan: CapacityPlan) -> list[Capacity]:
    """Several models searched alike (the same plan), one step each in turn while any is
    still searching. Results in the measures' order."""
    searches = [CapacitySearch(plan) for _ in measures]
    while True:
        stepped = False
        for search, measure in zip(searches, measures, strict=True):
            step = search.next_step()
            if step is not None:
                search.record(measure(step.rate, step.requests))
                stepped = True
        if not stepped:
            return [search.result() for search in searches]


Bracket = tuple[float | None, float | None]  # (highest rate shown to hold, lowest shown not to)


def ratio_bounds(baseline: Bracket, candidate: Bracket) -> tuple[float, float, float]:
    """candidate / baseline capacity from two searches' brackets: the estimate (the two
    rates shown to hold) and the interval the brackets allow (lowest: the candidate's held
    over the baseline's failed; highest: the candidate's failed over the baseline's held;
    an end left open is 0 or infinity, an estimate with no held rate NaN)."""
    base_held, base_failed = baseline
    cand_held, cand_failed = candidate

    def over(top: float | None, bottom: float | None, open_end: float) -> float:
        if top is None or bottom is None or bottom <= 0:
            return open_end
        return top / bottom

    estimate = over(cand_held, base_held, math.nan)
    low = 0.0 if cand_held is None else over(cand_held, base_failed, 0.0)
    high = over(cand_failed, base_held, math.inf)
    return estimate, low, high
