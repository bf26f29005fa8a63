"""Requests under load: a fixed number in flight (concurrency) or a fixed arrival rate,
bounded in count and in time, each request timed as it would be alone.

A failed request is counted, kept out of the latency figures, and never retried: the error
rate is a figure of its own, judged by the error_rate limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pytest_llmperf.backends.base import Completion
from pytest_llmperf.errors import GenerationError

LOAD_KEYS = ("concurrency", "rate", "requests", "duration_s")
MAX_IN_FLIGHT = 256


@dataclass(frozen=True)
class LoadSpec:
    """What a test asked for: `concurrency` requests in flight, or `rate` new ones a second;
    `requests` in all, stopped early after `duration_s` seconds."""

    concurrency: int | None
    rate: float | None
    requests: int
    duration_s: float

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], prompts: int) -> LoadSpec | None:
        """The load asked for in generate()'s keyword arguments, None when none was."""
        if not any(key in kwargs for key in LOAD_KEYS):
            return None
        concurrency, rate = kwargs.get("concurrency"), kwargs.get("rate")
        if (concurrency is None) == (rate is None):
            raise GenerationError(
                "load needs exactly one of concurrency=N (requests in flight) or rate=R "
                "(new requests per second)."
            )
        if concurrency is not None:
            concurrency = _whole(concurrency, "concurrency", 1, MAX_IN_FLIGHT)
        if rate is not None:
            rate = _positive(rate, "rate")
        level = concurrency if concurrency is not None else max(1, round(rate or 1))
        default_requests = max(prompts, 10 * level)
        requests = _whole(kwargs.get("requests", default_requests), "requests", 1, 1_000_000)
        duration = _positive(kwargs.get("duration_s", 60.0), "duration_s")
        return cls(concurrency, rate, requests, duration)

    def to_json(self) -> dict[str, Any]:
        """As recorded with the workload: a snapshot is only compared under the same load."""
        return {
            "concurrency": self.concurrency,
            "rate": self.rate,
            "requests": self.requests,
            "duration_s": self.duration_s,
        }


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise GenerationError(f"{name}={value!r}: must be a whole number from {low} to {high}.")
    return value


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise GenerationError(f"{name}={value!r}: must be a number greater than 0.")
    return float(value)


@dataclass(frozen=True)
class LoadRun:
    """Each request's prompt and what came back: a completion, or the error's message."""

    outcomes: list[tuple[int, Completion | str]]
    wall_seconds: float


Send = Callable[[int, int], Completion]  # (prompt index, seed) -> a timed completion


def run_load(send: Send, prompts: int, spec: LoadSpec, seed: int) -> LoadRun:
    """Send `spec.requests` requests cycling over the prompts; stop sending at `duration_s`."""
    outcomes: list[tuple[int, Completion | str]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + spec.duration_s

    def one(number: int) -> None:
        index = number % prompts
        try:
            result: Completion | str = send(index, seed + number)
        except GenerationError as error:
            result = str(error)
        with lock:
            outcomes.append((index, result))

    started = time.perf_counter()
    if spec.concurrency is not None:
        _closed_loop(one, spec, deadline)
    else:
        _open_loop(one, spec, deadline)
    return LoadRun(outcomes, time.perf_counter() - started)


def _closed_loop(one: Callable[[int], None], spec: LoadSpec, deadline: float) -> None:
    """`concurrency` workers, each sending its next request as soon as the last one ends."""
    assert spec.concurrency is not None
    counter = iter(range(spec.requests))
    lock = threading.Lock()

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            one(number)

    with ThreadPoolExecutor(max_workers=spec.concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(spec.concurrency)]:
            future.result()


def _open_loop(one: Callable[[int], None], spec: LoadSpec, deadline: float) -> None:
    """A new request every 1/rate seconds, whether or not the earlier ones have finished."""
    assert spec.rate is not None
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
        futures = []
        for number in range(spec.requests):
            due = started + number / spec.rate
            if due >= deadline:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            futures.append(pool.submit(one, number))
        for future in futures:
            future.result()
