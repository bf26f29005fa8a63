"""Requests under load: a fixed number in flight (concurrency, a closed loop) or new ones
arriving at a rate (an open loop: constant, Poisson or gamma-distributed gaps, seeded),
bounded in count and in time, each request timed as it would be alone, and judged against
the per-request SLO when the test set one (slo.py).

The client's own lag is recorded per request: the time from when a request was due (its
arrival, or its slot freeing in a closed loop) to when it was sent. A late send hides the
server's queue from the figures; reports show the lag, and SLO verdicts are not judged
when it is too large (results.LoadFigures.client_bound).

A failed request is counted, kept out of the latency figures, and never retried: the error
rate is a figure of its own, judged by the error_rate limit, and a failed request never
meets the SLO.
"""

from __future__ import annotations

import difflib
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pytest_llmperf.backends.base import Completion
from pytest_llmperf.errors import GenerationError
from pytest_llmperf.measure.slo import SLO_KEYS, Slo

ARRIVALS = ("constant", "poisson", "gamma")
LOAD_KEYS = ("concurrency", "rate", "requests", "duration_s", "arrival", "burstiness", *SLO_KEYS)
MAX_IN_FLIGHT = 256


@dataclass(frozen=True)
class LoadSpec:
    """What a test asked for: `concurrency` requests in flight, or `rate` new ones a second
    arriving as `arrival` says (gamma's `burstiness`: below 1 burstier than Poisson, 1 is
    Poisson, above 1 steadier); `requests` in all, stopped early after `duration_s`
    seconds; each request held to `slo` when set."""

    concurrency: int | None
    rate: float | None
    requests: int
    duration_s: float
    arrival: str = "constant"
    burstiness: float | None = None
    slo: Slo | None = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], prompts: int) -> LoadSpec | None:
        """The load asked for in generate()'s keyword arguments, None when none was."""
        if not any(key in kwargs for key in LOAD_KEYS):
            return None
        slo = Slo.from_kwargs(kwargs)
        concurrency, rate = kwargs.get("concurrency"), kwargs.get("rate")
        if (concurrency is None) == (rate is None):
            why = (
                "per-request SLOs (slo_ttft_ms, slo_tpot_ms, slo_latency_ms) are judged under "
                "load, which"
                if slo is not None and concurrency is None
                else "load"
            )
            raise GenerationError(
                f"{why} needs exactly one of concurrency=N (requests in flight) or rate=R "
                "(new requests per second)."
            )
        if concurrency is not None:
            concurrency = _whole(concurrency, "concurrency", 1, MAX_IN_FLIGHT)
        if rate is not None:
            rate = positive_number(rate, "rate", "new requests per second, e.g. rate=5")
        arrival, burstiness = _arrival(kwargs, concurrency is not None)
        level = concurrency if concurrency is not None else max(1, round(rate or 1))
        default_requests = max(prompts, 10 * level)
        requests = _whole(kwargs.get("requests", default_requests), "requests", 1, 1_000_000)
        duration = positive_number(kwargs.get("duration_s", 60.0), "duration_s", "seconds, e.g. 30")
        return cls(concurrency, rate, requests, duration, arrival, burstiness, slo)

    def to_json(self) -> dict[str, Any]:
        """As recorded with the workload: a snapshot is only compared under the same load
        (the arrival, burstiness and SLO only when set, so older snapshots still match)."""
        recorded: dict[str, Any] = {
            "concurrency": self.concurrency,
            "rate": self.rate,
            "requests": self.requests,
            "duration_s": self.duration_s,
        }
        if self.arrival != "constant":
            recorded["arrival"] = self.arrival
        if self.burstiness is not None:
            recorded["burstiness"] = self.burstiness
        if self.slo is not None:
            recorded["slo"] = self.slo.to_json()
        return recorded

    def due_offsets(self, seed: int) -> list[float]:
        """An open loop's send times, in seconds from the start: every 1/rate seconds, or
        gaps drawn from the exponential (Poisson) or gamma distribution of mean 1/rate,
        from `seed` (the session's), so that a run is reproducible."""
        assert self.rate is not None
        rate = self.rate
        if self.arrival == "constant":
            return [number / rate for number in range(self.requests)]
        draw = random.Random(seed)
        if self.arrival == "poisson":
            gaps = [draw.expovariate(rate) for _ in range(self.requests - 1)]
        else:
            shape = self.burstiness or 1.0
            gaps = [draw.gammavariate(shape, 1 / (rate * shape)) for _ in range(self.requests - 1)]
        offsets, due = [0.0], 0.0
        for gap in gaps:
            due += gap
            offsets.append(due)
        return offsets


def _arrival(kwargs: Mapping[str, Any], closed_loop: bool) -> tuple[str, float | None]:
    """The arrival pattern and gamma's burstiness, checked against each other and the loop."""
    arrival, burstiness = kwargs.get("arrival"), kwargs.get("burstiness")
    if arrival is not None and closed_loop:
        raise GenerationError(
            f"arrival={arrival!r} shapes the arrivals of a rate: give rate=R instead of "
            "concurrency=N, or leave out arrival= (a closed loop sends each request as soon "
            "as one of its N ends)."
        )
    arrival = "constant" if arrival is None else arrival
    if arrival not in ARRIVALS:
        close = difflib.get_close_matches(str(arrival), ARRIVALS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise GenerationError(
            f"arrival={arrival!r} is not an arrival pattern.{hint} Valid patterns: "
            f"{', '.join(ARRIVALS)}."
        )
    if arrival != "gamma":
        if burstiness is not None:
            raise GenerationError(
                f"burstiness={burstiness!r} shapes gamma arrivals only: add arrival='gamma', "
                "or leave out burstiness."
            )
        return arrival, None
    if burstiness is None:
        raise GenerationError(
            "arrival='gamma' needs burstiness=B: below 1 burstier than Poisson (e.g. 0.5), "
            "1 is Poisson, above 1 steadier."
        )
    return arrival, positive_number(burstiness, "burstiness", "e.g. burstiness=0.5 for bursts")


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise GenerationError(f"{name}={value!r}: must be a whole number from {low} to {high}.")
    return value


def positive_number(value: Any, name: str, example: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not value > 0
    ):
        raise GenerationError(
            f"{name}={value!r}: must be a finite number greater than 0 ({example})."
        )
    return float(value)


@dataclass(frozen=True)
class Sent:
    """One request sent: its prompt, what came back (a completion, or the error's message),
    the client's lag in sending it (from when it was due to when it went out), and when it
    went out, in seconds from the start of the run (a queue growing through a run shows as
    latency rising with it)."""

    prompt: int
    outcome: Completion | str
    lag_ms: float
    sent_s: float = 0.0


@dataclass(frozen=True)
class LoadRun:
    """Every request sent, and the wall time they took."""

    sent: list[Sent]
    wall_seconds: float


Send = Callable[[int, int], Completion]  # (prompt index, seed) -> a timed completion


@dataclass(frozen=True)
class Clock:
    """The time and a sleep: the real ones, or a test's fake."""

    now: Callable[[], float] = time.perf_counter
    sleep: Callable[[float], None] = time.sleep


def run_load(
    send: Send, prompts: int, spec: LoadSpec, seed: int, clock: Clock | None = None
) -> LoadRun:
    """Send `spec.requests` requests cycling over the prompts; stop sending at `duration_s`.
    The open loop's arrivals are drawn from `seed`; request n is sent with seed + n."""
    clock = clock or Clock()
    sent: list[Sent] = []
    lock = threading.Lock()
    started = clock.now()
    deadline = started + spec.duration_s

    def one(number: int, due: float) -> None:
        now = clock.now()
        lag_ms = max(0.0, (now - due) * 1000)
        index = number % prompts
        try:
            result: Completion | str = send(index, seed + number)
        except GenerationError as error:
            result = str(error)
        with lock:
            sent.append(Sent(index, result, lag_ms, now - started))

    if spec.concurrency is not None:
        _closed_loop(one, spec.concurrency, spec.requests, deadline, clock)
    else:
        offsets = [started + offset for offset in spec.due_offsets(seed)]
        _open_loop(one, offsets, deadline, clock)
    return LoadRun(sent, clock.now() - started)


def _closed_loop(
    one: Callable[[int, float], None], slots: int, requests: int, deadline: float, clock: Clock
) -> None:
    """`slots` workers, each sending its next request as soon as its last one ends (then
    due: the lag is the time the worker takes to send it)."""
    counter = iter(range(requests))
    lock = threading.Lock()

    def worker() -> None:
        while (free := clock.now()) < deadline:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            one(number, free)

    with ThreadPoolExecutor(max_workers=slots) as pool:
        for future in [pool.submit(worker) for _ in range(slots)]:
            future.result()


def _open_loop(
    one: Callable[[int, float], None], due: list[float], deadline: float, clock: Clock
) -> None:
    """Each request sent at its due time, whether or not the earlier ones have finished."""
    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
        futures = []
        for number, at in enumerate(due):
            if at >= deadline:
                break
            clock.sleep(max(0.0, at - clock.now()))
            futures.append(pool.submit(one, number, at))
        for future in futures:
            future.result()
