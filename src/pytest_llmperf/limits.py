"""The limits of the assert_within_budget marker: the catalogue, and parsing marker arguments.

A limit is a metric (metrics.py) and a kind: an absolute bound, a ratio to the baseline
(a ceiling, or a floor where higher is better), a floor, or the largest drop from the
baseline. Whether it is judged on an interval, compared across machines, or needs a
baseline follows from the two; nothing here branches on names.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from pytest_llmperf.checks import finite
from pytest_llmperf.errors import BudgetError
from pytest_llmperf.metrics import RATIO, SHARE, Metric, Unit, metric_named
from pytest_llmperf.text import interval_text, shown_value

MODES = ("natural", "fixed_length")
# How quality limits are judged: on an interval over answers paired by question (paired),
# or on the two accuracies as measured (exact: a flipped answer moves them, opt-in).
ACCURACY_TESTS = ("paired", "exact")


class Kind(Enum):
    ABSOLUTE = "absolute"  # candidate value <= budget
    RATIO = "ratio"  # candidate / baseline <= budget
    FLOOR = "floor"  # candidate value >= budget
    FLOOR_RATIO = "floor_ratio"  # candidate / baseline >= budget (higher is better)
    DROP = "drop"  # baseline - candidate <= budget
    GAIN = "gain"  # candidate - baseline >= budget

    @property
    def is_difference(self) -> bool:
        """Held against a difference of the two models' figures (a drop or a gain)."""
        return self in (Kind.DROP, Kind.GAIN)

    def difference(self, baseline: float, candidate: float) -> float:
        """What a drop or a gain holds against its budget."""
        return baseline - candidate if self is Kind.DROP else candidate - baseline

    @property
    def is_ratio(self) -> bool:
        """Held against candidate / baseline."""
        return self in (Kind.RATIO, Kind.FLOOR_RATIO)

    @property
    def at_least(self) -> bool:
        """What is held against the budget must be at least it (>=), else at most (<=)."""
        return self in (Kind.FLOOR, Kind.FLOOR_RATIO, Kind.GAIN)

    @property
    def bounds_from_below(self) -> bool:
        """The candidate's figure has a lowest allowed value (a floor, or the baseline's
        figure less the largest drop), else a highest."""
        return self.at_least or self is Kind.DROP

    def candidate_bound(self, budget: float, baseline: float | None) -> float | None:
        """The candidate's figure at the budget: the budget itself, or a ratio, drop or
        gain taken at the baseline's figure (None without one)."""
        if self is Kind.DROP:
            return None if baseline is None else baseline - budget
        if self is Kind.GAIN:
            return None if baseline is None else baseline + budget
        if self.is_ratio:
            return None if baseline is None else budget * baseline
        return budget


@dataclass(frozen=True)
class LimitSpec:
    name: str
    metric: Metric
    kind: Kind
    description: str

    @property
    def unit(self) -> Unit:
        """The budget's unit: 'x' for a ratio, the metric's own otherwise."""
        return RATIO if self.kind.is_ratio else self.metric.unit

    @property
    def is_timing(self) -> bool:
        """Hardware-dependent: not compared against a snapshot from other hardware."""
        return self.metric.hardware_bound

    @property
    def is_statistical(self) -> bool:
        """Judged on an interval from noisy per-run samples, not on one exact figure: a
        ratio of per-run values, or an absolute bound on a percentile of them (an SLA)."""
        if self.metric.per_run is None:
            return False
        return self.kind.is_ratio or (
            self.kind is Kind.ABSOLUTE and self.metric.at_percentile is not None
        )

    @property
    def is_sla(self) -> bool:
        """A statistical limit on the candidate alone: a bound on a percentile of its runs."""
        return self.is_statistical and not self.needs_baseline

    @property
    def is_run_ratio(self) -> bool:
        """A statistical limit against the baseline: a ratio of per-run values."""
        return self.is_statistical and self.needs_baseline

    @property
    def is_quality(self) -> bool:
        """Judged on answers paired by question (an interval over the questions, not over
        runs: more runs of the same questions add nothing)."""
        return self.metric.per_question is not None

    @property
    def needs_baseline(self) -> bool:
        return self.kind.is_ratio or self.kind.is_difference

    def observed_text(
        self, observed: float | None, interval: tuple[float | None, float | None] | None
    ) -> str:
        """What was held against the budget, for people: '1.39x [1.20, 1.60]' (a ratio and
        its interval), '1,250 ms [1000, 1500]' (an SLA), 'drop 0.100 [0.020, 0.180]' (an
        accuracy drop, with its interval when paired); '' when nothing was."""
        if observed is None:
            return ""
        if self.kind is Kind.DROP:
            drop = f"drop {self.unit.format(observed)}"
            return drop if interval is None else f"{drop} {interval_text(*interval)}"
        if interval is None:
            return self.unit.format(observed) if self.kind.is_ratio else ""
        return f"{self.unit.format(observed)} {interval_text(*interval)}"

    @property
    def is_share(self) -> bool:
        """A share of prompts or requests (0..1): its budget must lie within 0 and 1."""
        return self.metric.unit is SHARE


def _spec(name: str, metric: str, kind: Kind, description: str) -> LimitSpec:
    return LimitSpec(name, metric_named(metric), kind, description)


_SPECS = (
    _spec("latency_ms", "latency", Kind.ABSOLUTE, "end-to-end latency SLA per request"),
    _spec("ttft_ms", "ttft", Kind.ABSOLUTE, "time to first token"),
    _spec("output_tokens", "output_tokens", Kind.ABSOLUTE, "mean output tokens"),
    _spec("cost_usd", "cost", Kind.ABSOLUTE, "mean cost per request"),
    _spec("memory_mb", "memory", Kind.ABSOLUTE, "peak memory in use: weights + generation"),
    _spec("weights_mb", "weights", Kind.ABSOLUTE, "memory of the loaded weights"),
    _spec("latency_ratio", "latency", Kind.RATIO, "median latency, candidate/baseline"),
    _spec("ttft_ratio", "ttft", Kind.RATIO, "median TTFT, candidate/baseline"),
    _spec("tokens_ratio", "output_tokens", Kind.RATIO, "output tokens, cand./baseline"),
    _spec("cost_ratio", "cost", Kind.RATIO, "cost per request, candidate/baseline"),
    _spec("memory_ratio", "memory", Kind.RATIO, "peak memory, candidate/baseline"),
    _spec("weights_ratio", "weights", Kind.RATIO, "weights' memory, candidate/baseline"),
    _spec("kv_cache_ratio", "kv_cache", Kind.RATIO, "KV cache per request, cand./baseline"),
    _spec("flops_ratio", "flops_per_token", Kind.RATIO, "FLOPs per token, candidate/baseline"),
    _spec(
        "throughput_ratio",
        "throughput_tokens",
        Kind.FLOOR_RATIO,
        "output tokens/s, candidate/baseline: at least this",
    ),
    _spec("min_accuracy", "accuracy", Kind.FLOOR, "accuracy floor (0..1)"),
    _spec("accuracy_drop", "accuracy", Kind.DROP, "largest fall from the baseline (0..1)"),
    _spec("accuracy_gain", "accuracy", Kind.GAIN, "least rise over the baseline (0..1)"),
    _spec("error_rate", "errors", Kind.ABSOLUTE, "share of failed requests (0..1)"),
    _spec("min_throughput_rps", "throughput", Kind.FLOOR, "completed requests/s (load, batches)"),
    _spec("min_throughput", "throughput_tokens", Kind.FLOOR, "output tokens/s (load, batches)"),
    _spec("min_slo_attainment", "slo_attainment", Kind.FLOOR, "share of requests in SLO (0..1)"),
    _spec("min_goodput_rps", "goodput", Kind.FLOOR, "requests/s that met the SLO (load)"),
    _spec(
        "goodput_ratio",
        "goodput",
        Kind.FLOOR_RATIO,
        "goodput, candidate/baseline: at least this",
    ),
    _spec("min_capacity_rps", "capacity", Kind.FLOOR, "requests/s held at the SLO (capacity=True)"),
    _spec(
        "min_capacity_concurrency",
        "capacity_concurrency",
        Kind.FLOOR,
        "requests in flight held at the SLO (capacity_by='concurrency')",
    ),
    _spec(
        "capacity_ratio",
        "capacity",
        Kind.FLOOR_RATIO,
        "capacity at the SLO, candidate/baseline: at least this",
    ),
)
LIMIT_SPECS: dict[str, LimitSpec] = {spec.name: spec for spec in _SPECS}


@dataclass(frozen=True)
class Limit:
    spec: LimitSpec
    value: float
    from_default: bool = False  # from [tool.llmperf.budget], not the test's own marker

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> str:
        comparison = ">=" if self.spec.kind.at_least else "<="
        return f"{comparison} {self.spec.unit.format(self.value, exact=True)}"

    def is_beyond(self, observed: float) -> bool:
        """Whether `observed` lies beyond this limit's budget."""
        # A value at the budget is within it, also when float arithmetic lands a hair beyond.
        if math.isclose(observed, self.value, rel_tol=1e-9, abs_tol=1e-12):
            return False
        return observed < self.value if self.spec.kind.at_least else observed > self.value


@dataclass(frozen=True)
class Budget:
    """What an assert_within_budget marker asks: its limits, and the mode if it sets one."""

    limits: list[Limit]
    mode: str | None = None


def parse_budget(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], defaults: Mapping[str, float] | None = None
) -> Budget:
    """The marker's limits over the configured defaults, and its optional `mode=`. A marker
    drops a default limit with `name=None`."""
    own = dict(kwargs)
    mode = own.pop("mode", None)
    if mode is not None and mode not in MODES:
        raise BudgetError(
            f"mode={mode!r} in assert_within_budget is not a mode. Valid modes: {', '.join(MODES)}."
        )
    dropped = {name for name, value in own.items() if value is None}
    for name in dropped:
        _spec_named(name)  # a typo in a dropped name is an error too
    limits = {
        name: value for name, value in {**(defaults or {}), **own}.items() if name not in dropped
    }
    if dropped and not limits and not args:
        raise BudgetError(
            f"assert_within_budget({', '.join(f'{n}=None' for n in sorted(dropped))}) drops "
            "every limit: nothing is left to judge. Remove the marker instead."
        )
    parsed = parse_limits(args, limits)
    return Budget([replace(lim, from_default=lim.name not in own) for lim in parsed], mode)


def merged_markers(
    markers: Sequence[tuple[tuple[Any, ...], Mapping[str, Any]]],
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of several assert_within_budget markers on one test (stacked, or on its
    class or module) as one marker's: each limit at its strictest value (the lowest bound,
    the highest floor); a limit one marker drops with None stays when another sets it. Two
    different modes are refused: no value of one is stricter than the other."""
    args: tuple[Any, ...] = ()
    merged: dict[str, Any] = {}
    modes = set()
    for marker_args, kwargs in markers:
        args += tuple(marker_args)
        for name, value in kwargs.items():
            if name == "mode":
                modes.add(value)
                continue
            if value is None:
                _spec_named(name)
                merged.setdefault(name, None)
                continue
            limit = _parse_limit(name, value)
            current = merged.get(name)
            if current is None:
                merged[name] = value
            elif limit.spec.kind.at_least:
                merged[name] = max(current, value)
            else:
                merged[name] = min(current, value)
    if len(modes) > 1:
        raise BudgetError(
            f"the assert_within_budget markers on this test ask for different modes "
            f"({', '.join(sorted(map(repr, modes)))}): keep mode= on one marker only."
        )
    if modes:
        merged["mode"] = modes.pop()
    return args, merged


def parse_limits(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[Limit]:
    """Turn marker arguments into limits; BudgetError names any bad one and the valid names."""
    if args:
        raise BudgetError(
            f"assert_within_budget takes keyword limits only, got positional {args!r}: "
            "write e.g. assert_within_budget(latency_ratio=1.2)."
        )
    if not kwargs:
        raise BudgetError(
            "assert_within_budget needs at least one limit (in the marker or in "
            f"[tool.llmperf.budget]). Valid limits: {valid_limit_names()}."
        )
    return [_parse_limit(name, value) for name, value in kwargs.items()]


def with_implied_limits(limits: list[Limit], under_load: bool) -> list[Limit]:
    """Under load, failed requests are judged even when no error_rate limit was set: with
    error_rate=0 implied, so that errors fail the test instead of thinning its samples."""
    error_rate = LIMIT_SPECS["error_rate"]
    if not under_load or any(limit.spec.metric is error_rate.metric for limit in limits):
        return limits
    return [*limits, Limit(error_rate, 0.0)]


def valid_limit_names() -> str:
    return ", ".join(LIMIT_SPECS)


def _spec_named(name: str) -> LimitSpec:
    spec = LIMIT_SPECS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, LIMIT_SPECS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise BudgetError(
            f"unknown limit '{name}' in assert_within_budget.{hint} "
            f"Valid limits: {valid_limit_names()}."
        )
    return spec


def _parse_limit(name: str, value: Any) -> Limit:
    spec = _spec_named(name)
    number = finite(value)
    if number is None:
        raise BudgetError(
            f"limit {name}={shown_value(value)} is not a finite number: give it a number "
            "(not true/false, text, NaN, an infinity or an integer beyond float range)."
        )
    if spec.is_share:
        if not 0 <= number <= 1:
            raise BudgetError(
                f"limit {name}={shown_value(value)} must lie between 0 and 1 (a share of prompts)."
            )
    elif number <= 0:
        raise BudgetError(f"limit {name}={shown_value(value)} must be greater than 0.")
    return Limit(spec, number)
