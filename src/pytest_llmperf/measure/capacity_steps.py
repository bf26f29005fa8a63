"""What a capacity search asks for (`CapacitySpec`, from generate(..., capacity=True)), and
one step of it measured: `requests` requests sent at `rate` a second (load.py's open loop),
or with `concurrency` of them in flight (its closed loop, capacity_by="concurrency"), how
many met the SLO, and per completed request when it was sent and how long it took, for the
judge to decide the step and see whether the queue grew through it (judge/capacity.py).

A closed loop cannot build a backlog: it never has more than its requests in flight, so a
queue cannot grow without bound as it does past an open loop's capacity. Its first requests
(as many as it keeps in flight) go out together and fill the server's queue, so their
latencies climb from one service time to the steady one. They are sent on top of the step's
requests and left out of it: counted, they would flatter the attainment (and a step of
fewer requests than its level would never reach a steady state at all); tested for a trend,
they would read as a queue growing. What latency still rises after them is the server
slowing through the step (memory filling, a cache thrashing, throttling): the step then
describes a transient, not the steady state, and is marked over-saturated as an open
loop's is."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_llmperf.errors import GenerationError
from pytest_llmperf.measure.load import (
    Clock,
    LoadRun,
    LoadSpec,
    Send,
    positive_number,
    run_load,
)
from pytest_llmperf.measure.slo import Slo
from pytest_llmperf.results import CapacityStep, LoadFigures

# A step sends every request it is asked to unless the server stalls: it stops sending after
# this many times its nominal length (requests / rate), plus a margin.
STEP_STRETCH = 3.0
STEP_MARGIN_S = 5.0


@dataclass(frozen=True)
class StepMeasurement:
    """What sending `requests` requests at `rate` a second (or, searched by concurrency,
    with `rate` of them in flight) measured: how many met the SLO, the wall time taken, per
    completed request when it was sent (seconds from the step's start; in a closed loop only
    those sent after its first `rate`, module docstring), its end-to-end latency and its
    time to first token (None untimed), whether the client's own lag sending them exceeded
    its share of the SLO (client-bound), and that lag per request sent."""

    rate: float
    requests: int
    met: int
    seconds: float
    sent_s: tuple[float, ...] = ()
    latencies_ms: tuple[float, ...] = ()
    ttfts_ms: tuple[float | None, ...] = ()
    client_bound: bool = False
    client_lags_ms: tuple[float, ...] = ()

    def merged(self, more: StepMeasurement) -> StepMeasurement:
        """Two measurements at one rate as one (the second's send times follow the first's)."""
        offset = max(self.sent_s, default=0.0)
        return StepMeasurement(
            self.rate,
            self.requests + more.requests,
            self.met + more.met,
            self.seconds + more.seconds,
            self.sent_s + tuple(offset + s for s in more.sent_s),
            self.latencies_ms + more.latencies_ms,
            self.ttfts_ms + more.ttfts_ms,
            self.client_bound or more.client_bound,
            self.client_lags_ms + more.client_lags_ms,
        )

    def step(self, outcome: str, low: float, high: float, remeasured: bool = False) -> CapacityStep:
        """As a result carries it, decided (`outcome`) on its attainment's interval;
        `remeasured`: measured once more at its rate, the later measurement counting."""
        ttfts = [ttft for ttft in self.ttfts_ms if ttft is not None]
        return CapacityStep(
            self.rate,
            self.requests,
            self.met,
            outcome,
            low,
            high,
            _p95(self.latencies_ms),
            _p95(ttfts),
            _p95(self.client_lags_ms),
            remeasured,
        )


def _p95(values: Sequence[float]) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), 95.0)) if values else None


def measure_step(
    send: Send,
    prompts: int,
    slo: Slo,
    rate: float,
    requests: int,
    seed: int,
    clock: Clock | None = None,
) -> StepMeasurement:
    """Send `requests` requests at a constant `rate`, cycling over the prompts."""
    duration = STEP_STRETCH * requests / rate + STEP_MARGIN_S
    spec = LoadSpec(None, rate, requests, duration, slo=slo)
    return step_measured(run_load(send, prompts, spec, seed, clock), spec, rate, 0)


def measure_concurrency_step(
    send: Send,
    prompts: int,
    slo: Slo,
    concurrency: int,
    requests: int,
    seed: int,
    request_s: float,
    clock: Clock | None = None,
) -> StepMeasurement:
    """Fill a closed loop of `concurrency` requests in flight, then send `requests` more
    through it, cycling over the prompts; the step is those `requests` (module docstring). A
    server slower than one request at a time (`request_s` each) stalls the step past
    STEP_STRETCH of that."""
    sent = concurrency + requests
    duration = STEP_STRETCH * sent * request_s + STEP_MARGIN_S
    spec = LoadSpec(concurrency, None, sent, duration, slo=slo)
    loaded = run_load(send, prompts, spec, seed, clock)
    return step_measured(loaded, spec, concurrency, concurrency)


def step_measured(loaded: LoadRun, spec: LoadSpec, level: float, ramp: int) -> StepMeasurement:
    """A step's measurement from its load run, less the first `ramp` requests sent (a
    closed loop filling, module docstring): the step is the `spec.requests - ramp` after
    them, and those never sent or failed did not meet the SLO."""
    assert spec.slo is not None
    slo = spec.slo
    steady = sorted(loaded.sent, key=lambda request: request.sent_s)[ramp:]
    trend = [
        (request.sent_s, request.outcome.run)
        for request in steady
        if not isinstance(request.outcome, str)
    ]
    met = sum(slo.met(run) for _, run in trend)
    # the client-bound rule of a load run, on this step's lags
    lags = LoadFigures(
        concurrency=spec.concurrency,
        rate_per_s=spec.rate,
        requests=len(loaded.sent),
        errors=0,
        wall_seconds=loaded.wall_seconds,
        output_tokens=0,
        slo_tightest_ms=slo.tightest_ms,
        client_lags_ms=tuple(request.lag_ms for request in loaded.sent),
    )
    return StepMeasurement(
        level,
        spec.requests - ramp,
        met,
        loaded.wall_seconds,
        tuple(sent for sent, _ in trend),
        tuple(run.latency_ms for _, run in trend),
        tuple(run.ttft_ms for _, run in trend),
        lags.client_bound,
        lags.client_lags_ms,
    )


CAPACITY_KEYS = (
    "capacity",
    "capacity_target",
    "capacity_precision",
    "capacity_max_s",
    "capacity_by",
)
# What a search varies: the request rate (an open loop), or the requests in flight (closed)
SEARCHED_BY = ("rate", "concurrency")
# generate() arguments that set one load, which a capacity search sets itself
_SEARCHED = ("rate", "concurrency", "requests", "duration_s", "arrival", "burstiness")


@dataclass(frozen=True)
class CapacitySpec:
    """What generate(..., capacity=True) asked for: the SLO each request must keep, the
    share of requests that must keep it (`target`), how close the search brackets the
    capacity (`precision`, a share of the rate) and the most seconds it may take per model
    (`max_seconds`), and what it varies (`by`: the rate, or the requests in flight)."""

    slo: Slo
    target: float = 0.95
    precision: float = 0.05
    max_seconds: float = 120.0
    by: str = "rate"

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> CapacitySpec | None:
        """The search asked for in generate()'s keyword arguments, None when none was."""
        capacity = kwargs.get("capacity")
        tuning = [key for key in CAPACITY_KEYS[1:] if key in kwargs]
        if capacity is None or capacity is False:
            if tuning:
                raise GenerationError(
                    f"{tuning[0]}= tunes a capacity search: add capacity=True, or leave out "
                    f"{tuning[0]}=."
                )
            return None
        if capacity is not True:
            raise GenerationError(
                f"capacity={capacity!r}: give capacity=True to search the highest rate that "
                "holds the SLO, or leave it out."
            )
        by = _searched_by(kwargs.get("capacity_by", "rate"))
        given = [key for key in _SEARCHED if key in kwargs]
        if given:
            raise GenerationError(
                f"capacity=True searches the {by} itself, so {given[0]}= has no place beside "
                f"it: leave out {given[0]}= (or, to judge one load, leave out capacity=True)."
            )
        slo = Slo.from_kwargs(kwargs)
        if slo is None:
            raise GenerationError(
                "capacity=True searches the highest rate at which requests keep a per-request "
                "SLO, and none was given: add one or more of slo_ttft_ms, slo_tpot_ms, "
                "slo_latency_ms, e.g. generate(prompts, capacity=True, slo_latency_ms=2000)."
            )
        return cls(
            slo,
            _share(kwargs.get("capacity_target", 0.95), "capacity_target", "0.95"),
            _share(kwargs.get("capacity_precision", 0.05), "capacity_precision", "0.05"),
            positive_number(
                kwargs.get("capacity_max_s", 120.0), "capacity_max_s", "seconds per model, e.g. 300"
            ),
            by,
        )

    def to_json(self) -> dict[str, Any]:
        """As recorded with the workload (`by` only when not the rate, so that snapshots
        recorded before it still match)."""
        recorded = {
            "target": self.target,
            "precision": self.precision,
            "max_s": self.max_seconds,
            "slo": self.slo.to_json(),
        }
        if self.by != "rate":
            recorded["by"] = self.by
        return recorded


def _searched_by(value: Any) -> str:
    if value not in SEARCHED_BY:
        close = difflib.get_close_matches(str(value), SEARCHED_BY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise GenerationError(
            f"capacity_by={value!r} is not what a capacity search can vary.{hint} Give "
            "capacity_by='rate' (new requests per second, the default) or "
            "capacity_by='concurrency' (requests in flight, a closed loop)."
        )
    return str(value)


def _share(value: Any, name: str, example: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value < 1
    ):
        raise GenerationError(
            f"{name}={value!r}: must be a share between 0 and 1, both excluded "
            f"(e.g. {name}={example})."
        )
    return float(value)


def serve_it(model: str) -> GenerationError:
    """The error for a capacity search on a model that runs in process."""
    return GenerationError(
        f"capacity=True searches the highest request rate a served model holds, and {model} "
        "runs in process, one request at a time: serve it (e.g. `transformers serve`, "
        "`vllm serve MODEL`) and name it MODEL@http://HOST:PORT/v1, e.g. "
        "--llm-candidate=./ckpt@http://127.0.0.1:8000/v1."
    )
