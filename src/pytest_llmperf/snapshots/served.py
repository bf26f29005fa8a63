"""A served model's figures under load, as a snapshot keeps them: a load run's counts (for
SLO attainment, goodput and throughput) and a capacity search's result (the bracket and its
steps), so that a candidate is judged on goodput_ratio and capacity_ratio against a
snapshot without the baseline's server running.

Kept short for a PR diff: a load run's client lag is kept as its 95th percentile (the figure
reports show and the client-bound rule reads), not per request; a search's steps as columns,
one list per field, as a sample's runs are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from pytest_llmperf.checks import (
    optional_count,
    optional_size,
    positive_time,
    real_bool,
    whole_count,
)
from pytest_llmperf.judge.capacity import StepOutcome
from pytest_llmperf.results import CapacityFigures, CapacityStep, GenerationResult, LoadFigures
from pytest_llmperf.text import shown_value

_OUTCOMES = tuple(outcome.value for outcome in StepOutcome)
_STEP_COLUMNS = ("rate_rps", "requests", "met", "outcome", "remeasured")
# Step columns a snapshot may lack (recorded before they were kept): null or a number.
_OPTIONAL_STEP_COLUMNS = ("low", "high", "latency_p95_ms", "ttft_p95_ms", "client_lag_ms")
_SLO_NAMES = ("slo_ttft_ms", "slo_tpot_ms", "slo_latency_ms")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def served_to_json(result: GenerationResult) -> dict[str, Any]:
    """A call's `load` and `capacity`, each absent where the call had none (a call sent one
    request at a time reads as it always did)."""
    served: dict[str, Any] = {}
    if result.load is not None:
        served["load"] = load_to_json(result.load)
    if result.capacity is not None:
        served["capacity"] = capacity_to_json(result.capacity)
    return served


def served_from_json(call: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A call's `load` and `capacity` read back checked, as GenerationResult's fields."""
    return {
        "load": load_from_json(call.get("load"), f"{where}.load"),
        "capacity": capacity_from_json(call.get("capacity"), f"{where}.capacity"),
    }


def served_summary(result: GenerationResult) -> dict[str, Any]:
    """For the snapshot's summary (read in a diff): SLO attainment and goodput under load,
    the capacity after a search; nothing else."""
    summary: dict[str, Any] = {}
    if result.slo_attainment is not None:
        summary["slo_attainment"] = _round(result.slo_attainment)
        summary["goodput_rps"] = _round(result.goodput_rps)
    if result.capacity is not None:
        summary["capacity_rps"] = _round(result.capacity_rps)
    return summary


def load_to_json(load: LoadFigures) -> dict[str, Any]:
    """A load run's counts (not its error texts, which name nothing the verdicts read)."""
    return {
        "concurrency": load.concurrency,
        "rate_per_s": load.rate_per_s,
        "arrival": load.arrival,
        "requests": load.requests,
        "errors": load.errors,
        "wall_seconds": _round(load.wall_seconds),
        "output_tokens": load.output_tokens,
        "slo_requests": load.slo_requests,
        "slo_met": load.slo_met,
        "slo_tightest_ms": load.slo_tightest_ms,
        "client_lag_ms_p95": _round(load.client_lag_ms),
    }


def load_from_json(data: Any, where: str) -> LoadFigures | None:
    """A call's load figures, each number checked (ValueError naming the field); None for a
    call sent one request at a time."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object of load figures, not {shown_value(data)}")
    requests = whole_count(data["requests"], f"{where}.requests")
    slo_requests = whole_count(data.get("slo_requests", 0), f"{where}.slo_requests")
    errors = whole_count(data["errors"], f"{where}.errors", requests)
    lag = optional_size(data.get("client_lag_ms_p95"), f"{where}.client_lag_ms_p95")
    arrival = data.get("arrival", "constant")
    if not isinstance(arrival, str):
        raise ValueError(f"{where}.arrival must be a text, not {shown_value(arrival)}")
    return LoadFigures(
        concurrency=optional_count(data.get("concurrency"), f"{where}.concurrency"),
        rate_per_s=_optional_rate(data.get("rate_per_s"), f"{where}.rate_per_s"),
        requests=requests,
        errors=errors,
        wall_seconds=positive_time(data["wall_seconds"], f"{where}.wall_seconds"),
        output_tokens=whole_count(data["output_tokens"], f"{where}.output_tokens"),
        arrival=arrival,
        slo_requests=slo_requests,
        slo_met=whole_count(data.get("slo_met", 0), f"{where}.slo_met", slo_requests),
        slo_tightest_ms=_optional_rate(data.get("slo_tightest_ms"), f"{where}.slo_tightest_ms"),
        # one lag that is its own 95th percentile: the figure and the client-bound rule as
        # recorded
        client_lags_ms=() if lag is None else (lag,),
    )


def capacity_to_json(capacity: CapacityFigures) -> dict[str, Any]:
    """Every field of the search (a later one too), its steps as columns."""
    data = {spec.name: getattr(capacity, spec.name) for spec in fields(capacity)}
    data["held_rps"] = _round(capacity.held_rps)
    data["failed_rps"] = _round(capacity.failed_rps)
    data["slo"] = dict(capacity.slo)  # the document's own, not the result's
    data["steps"] = {
        spec.name: [_rounded(getattr(step, spec.name)) for step in capacity.steps]
        for spec in fields(CapacityStep)
    }
    return data


def _rounded(value: Any) -> Any:
    """A step's figure as the diff shows it: a rate, interval end or p95 to 3 decimals."""
    return round(value, 3) if isinstance(value, float) else value


def capacity_from_json(data: Any, where: str) -> CapacityFigures | None:
    """A call's capacity search, each field checked (ValueError naming it); None for a call
    without one."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object of a capacity search, not {shown_value(data)}")
    target = data["target"]
    if positive_time(target, f"{where}.target") >= 1:
        raise ValueError(f"{where}.target must be a share between 0 and 1, not {target!r}")
    checked = {
        "target": float(target),
        "held_rps": _optional_rate(data["held_rps"], f"{where}.held_rps"),
        "failed_rps": _optional_rate(data["failed_rps"], f"{where}.failed_rps"),
        "indeterminate": real_bool(data["indeterminate"], f"{where}.indeterminate"),
        "steps": _steps_from_json(data["steps"], f"{where}.steps"),
        "slo": _slo_from_json(data.get("slo", {}), f"{where}.slo"),
    }
    return CapacityFigures(**checked, **_texts(data, CapacityFigures, checked, where))


def _texts(data: Mapping[str, Any], kind: type, checked: Mapping[str, Any], where: str) -> dict:
    """The fields of `kind` not checked as numbers (what a search stopped at, what it
    varied): texts, where recorded."""
    texts = {}
    for spec in fields(kind):
        if spec.name in checked or spec.name not in data:
            continue
        value = data[spec.name]
        if not isinstance(value, str):
            raise ValueError(f"{where}.{spec.name} must be a text, not {shown_value(value)}")
        texts[spec.name] = value
    return texts


def _steps_from_json(data: Any, where: str) -> tuple[CapacityStep, ...]:
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), list) for key in _STEP_COLUMNS
    ):
        raise ValueError(f"{where} must hold the lists {', '.join(_STEP_COLUMNS)}")
    columns: Mapping[str, list[Any]] = data
    if len({len(columns[key]) for key in _STEP_COLUMNS}) != 1:
        raise ValueError(f"{where}: its lists {', '.join(_STEP_COLUMNS)} differ in length")
    steps = len(columns["rate_rps"])
    for key in _OPTIONAL_STEP_COLUMNS:
        if key in columns and (not isinstance(columns[key], list) or len(columns[key]) != steps):
            raise ValueError(f"{where}.{key} must be a list of {steps} numbers or nulls")
    rows = [{key: values[index] for key, values in columns.items()} for index in range(steps)]
    return tuple(_step(row, f"{where}[{index}]") for index, row in enumerate(rows))


def _step(row: Mapping[str, Any], at: str) -> CapacityStep:
    sent = whole_count(row["requests"], f"{at}.requests")
    outcome = row["outcome"]
    if outcome not in _OUTCOMES:
        raise ValueError(f"{at}.outcome must be one of {', '.join(_OUTCOMES)}, not {outcome!r}")
    optional = {key: optional_size(row.get(key), f"{at}.{key}") for key in _OPTIONAL_STEP_COLUMNS}
    return CapacityStep(
        positive_time(row["rate_rps"], f"{at}.rate_rps"),
        sent,
        whole_count(row["met"], f"{at}.met", sent),
        outcome,
        remeasured=real_bool(row["remeasured"], f"{at}.remeasured"),
        **optional,
    )


def _slo_from_json(data: Any, where: str) -> dict[str, float]:
    """The per-request SLO a search held: its bounds by generate()'s names."""
    if not isinstance(data, dict) or not set(data) <= set(_SLO_NAMES):
        raise ValueError(
            f"{where} must be an object of {', '.join(_SLO_NAMES)}, not {shown_value(data)}"
        )
    return {name: positive_time(value, f"{where}.{name}") for name, value in data.items()}


def _optional_rate(value: Any, field: str) -> float | None:
    return None if value is None else positive_time(value, field)
