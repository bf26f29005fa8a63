"""One step of a capacity search measured: `requests` requests sent at `rate` a second
(load.py's open loop), how many met the SLO, and per completed request when it was sent and
how long it took, for the judge to decide the step and see whether the queue grew through it
(judge/capacity.py)."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_llmperf.measure.load import Clock, LoadSpec, Send, run_load
from pytest_llmperf.measure.slo import Slo
from pytest_llmperf.results import LoadFigures

# A step sends every request it is asked to unless the server stalls: it stops sending after
# this many times its nominal length (requests / rate), plus a margin.
STEP_STRETCH = 3.0
STEP_MARGIN_S = 5.0


@dataclass(frozen=True)
class StepMeasurement:
    """What sending `requests` requests at `rate` a second measured: how many met the SLO,
    the wall time taken, per completed request when it was sent (seconds from the step's
    start), its end-to-end latency and its time to first token (None untimed), and whether
    the client's own lag sending them exceeded its share of the SLO (client-bound)."""

    rate: float
    requests: int
    met: int
    seconds: float
    sent_s: tuple[float, ...] = ()
    latencies_ms: tuple[float, ...] = ()
    ttfts_ms: tuple[float | None, ...] = ()
    client_bound: bool = False

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
        )


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
    loaded = run_load(send, prompts, spec, seed, clock)
    done = sorted(
        (
            (request.sent_s, request.outcome.run)
            for request in loaded.sent
            if not isinstance(request.outcome, str)
        ),
        key=lambda pair: pair[0],
    )
    met = sum(slo.met(run) for _, run in done)  # requests failed or never sent did not
    # the client-bound rule of a load run, on this step's lags
    lags = LoadFigures(
        concurrency=None,
        rate_per_s=rate,
        requests=len(loaded.sent),
        errors=0,
        wall_seconds=loaded.wall_seconds,
        output_tokens=0,
        slo_tightest_ms=slo.tightest_ms,
        client_lags_ms=tuple(request.lag_ms for request in loaded.sent),
    )
    return StepMeasurement(
        rate,
        requests,
        met,
        loaded.wall_seconds,
        tuple(sent for sent, _ in done),
        tuple(run.latency_ms for _, run in done),
        tuple(run.ttft_ms for _, run in done),
        lags.client_bound,
    )
