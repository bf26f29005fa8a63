"""Load: what a test may ask for, and how requests are sent (a fake send, no server)."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_llmperf.backends.base import Completion
from pytest_llmperf.errors import GenerationError
from pytest_llmperf.measure.load import LoadSpec, run_load
from pytest_llmperf.results import LoadFigures, Run


def test_no_load_keywords_means_one_request_at_a_time():
    assert LoadSpec.from_kwargs({}, prompts=3) is None


def test_concurrency_defaults_to_ten_requests_per_slot():
    spec = LoadSpec.from_kwargs({"concurrency": 4}, prompts=3)
    assert spec == LoadSpec(concurrency=4, rate=None, requests=40, duration_s=60.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 2, "rate": 3}, "exactly one of concurrency"),
        ({"requests": 10}, "exactly one of concurrency"),
        ({"concurrency": 0}, "concurrency=0: must be a whole number from 1"),
        ({"concurrency": 2.5}, "concurrency=2.5: must be a whole number"),
        ({"rate": -1}, "rate=-1: must be a finite number greater than 0"),
        ({"rate": 0}, r"rate=0: must be a finite number greater than 0 \(new requests per second"),
        ({"rate": float("inf")}, "rate=inf: must be a finite number"),
        ({"rate": "5"}, "rate='5': must be a finite number"),
        ({"rate": True}, "rate=True"),
        ({"concurrency": 2, "duration_s": 0}, "duration_s=0"),
    ],
)
def test_bad_load_is_a_clear_error(kwargs, message):
    with pytest.raises(GenerationError, match=message):
        LoadSpec.from_kwargs(kwargs, prompts=1)


class _Sender:
    """Answers after `seconds`, tracking how many requests are in flight at once."""

    def __init__(self, seconds: float, fail_every: int = 0) -> None:
        self.seconds = seconds
        self.fail_every = fail_every
        self.in_flight = 0
        self.most_in_flight = 0
        self.sent = 0
        self._lock = threading.Lock()

    def __call__(self, index: int, seed: int) -> Completion:
        with self._lock:
            self.sent += 1
            number = self.sent
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.seconds)
        with self._lock:
            self.in_flight -= 1
        if self.fail_every and number % self.fail_every == 0:
            raise GenerationError("HTTP 503")
        return Completion("ok", 1, Run(self.seconds * 1000, None, 1, False))


def test_concurrency_keeps_that_many_requests_in_flight():
    send = _Sender(0.05)
    spec = LoadSpec(concurrency=3, rate=None, requests=12, duration_s=30)
    sent = run_load(send, prompts=2, spec=spec, seed=0)
    assert len(sent.sent) == 12
    assert send.most_in_flight == 3
    assert sorted(request.prompt for request in sent.sent) == [0] * 6 + [1] * 6


def test_a_rate_does_not_wait_for_earlier_requests():
    send = _Sender(0.3)
    spec = LoadSpec(concurrency=None, rate=50.0, requests=10, duration_s=30)
    sent = run_load(send, prompts=1, spec=spec, seed=0)
    assert len(sent.sent) == 10
    assert send.most_in_flight > 1  # a closed loop of one would never overlap


def test_sending_stops_at_the_duration():
    send = _Sender(0.1)
    spec = LoadSpec(concurrency=1, rate=None, requests=1000, duration_s=0.35)
    sent = run_load(send, prompts=1, spec=spec, seed=0)
    assert 2 <= len(sent.sent) <= 5


def test_failures_are_kept_as_messages():
    send = _Sender(0.0, fail_every=3)
    spec = LoadSpec(concurrency=2, rate=None, requests=9, duration_s=30)
    sent = run_load(send, prompts=1, spec=spec, seed=0)
    errors = [r.outcome for r in sent.sent if isinstance(r.outcome, str)]
    assert errors == ["HTTP 503"] * 3


def test_load_figures_add_up_over_rounds():
    first = LoadFigures(4, None, requests=10, errors=1, wall_seconds=2.0, output_tokens=90)
    more = LoadFigures(4, None, requests=10, errors=3, wall_seconds=2.0, output_tokens=70)
    merged = first.merged(more)
    assert (merged.requests, merged.errors, merged.output_tokens) == (20, 4, 160)
    assert merged.error_rate == 0.2
    assert merged.requests_per_s == 4.0
    assert merged.output_tokens_per_s == 40.0
    assert "(concurrency 4): 20 requests in 4.00 s, 4.00 requests/s" in merged.describe()
