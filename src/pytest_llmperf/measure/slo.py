"""Per-request SLOs: the time to first token, the time per output token after it, and the
end-to-end latency a request must keep, any subset of the three. A request meets the SLO
when it meets all of them; a request that failed never does."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_llmperf.errors import GenerationError
from pytest_llmperf.results import Run

SLO_KEYS = ("slo_ttft_ms", "slo_tpot_ms", "slo_latency_ms")


@dataclass(frozen=True)
class Slo:
    """What each request must keep: None where the test set no bound."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    latency_ms: float | None = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Slo | None:
        """The SLO in generate()'s keyword arguments, None when none was given."""
        given = {key: kwargs[key] for key in SLO_KEYS if kwargs.get(key) is not None}
        if not given:
            return None
        for key, value in given.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise GenerationError(
                    f"{key}={value!r}: a per-request SLO must be a number of milliseconds "
                    f"greater than 0, e.g. {key}=500."
                )
        return cls(
            *(float(given[key]) if key in given else None for key in SLO_KEYS)  # type: ignore[arg-type]
        )

    def met(self, run: Run) -> bool:
        """Whether one completed request kept every bound set. A bound on the first token
        is missed when no first token was timed; an answer of one token has no time per
        token after the first, and so keeps that bound."""
        if self.ttft_ms is not None and (run.ttft_ms is None or run.ttft_ms > self.ttft_ms):
            return False
        tpot = run.tpot_ms
        if self.tpot_ms is not None and tpot is not None and tpot > self.tpot_ms:
            return False
        return self.latency_ms is None or run.latency_ms <= self.latency_ms

    @property
    def tightest_ms(self) -> float:
        """The bound the client's own lag is held against: the tighter of the first-token
        and end-to-end bounds (what a late send shifts), else the per-token one."""
        shifted = [bound for bound in (self.ttft_ms, self.latency_ms) if bound is not None]
        if shifted:
            return min(shifted)
        assert self.tpot_ms is not None
        return self.tpot_ms

    def to_json(self) -> dict[str, float]:
        """The bounds set, under generate()'s names: part of the recorded load."""
        values = zip(SLO_KEYS, (self.ttft_ms, self.tpot_ms, self.latency_ms), strict=True)
        return {key: value for key, value in values if value is not None}
