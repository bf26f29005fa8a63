"""The session's latencies in pytest-benchmark's JSON format, for its own tooling.

One benchmark per (test, model): name `test_answers[baseline]` and `test_answers[candidate]`,
group = the test id, stats computed by `pytest_benchmark.stats.Stats` from every measured
request's end-to-end latency in seconds (one request = one round of one iteration). So
`pytest-benchmark compare FILE` and `--group-by=group` show both models side by side, and
files from two runs compare as two runs of pytest-benchmark's own would.

Rendered from report records only (see records.py), so the controller of an xdist run writes
the workers' tests too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_llmperf.metrics import METRICS

ROLES = ("baseline", "candidate")
_STORAGE_NAME = re.compile(r"^(\d{4})_.*\.json$")
# Figures of a model copied into each benchmark's extra_info: every metric's.
_EXTRA_FIGURES = ("runs", "prompts", *(metric.key for metric in METRICS))
_VERDICT_KEYS = ("limit", "outcome", "baseline", "candidate", "budget", "observed")


def benchmark_name(nodeid: str, role: str) -> tuple[str, str, str]:
    """(name, fullname, param) of one model's benchmark: the role joins the test's own
    parameter id as pytest would join a second parametrize axis, e.g. `test_x[a-baseline]`."""
    base, bracket, own_param = nodeid.partition("[")  # a parameter id may hold '::' itself
    path, _, function = base.rpartition("::")
    param = f"{own_param.removesuffix(']')}-{role}" if bracket else role
    name = f"{function}[{param}]"
    return name, f"{path}::{name}" if path else name, param


def model_benchmark(record: Mapping[str, Any], role: str) -> dict[str, Any] | None:
    """One model's benchmark of one test, as pytest-benchmark's Metadata.as_dict writes it;
    None when the record has no latencies for that model."""
    from pytest_benchmark.stats import Stats

    side = record[role]
    figures = side.get("figures")
    if not figures or not figures.get("latencies_ms"):
        return None
    stats = Stats()
    for latency_ms in figures["latencies_ms"]:
        stats.update(latency_ms / 1000.0)
    name, fullname, param = benchmark_name(record["test"], role)
    return {
        "group": record["test"],
        "name": name,
        "fullname": fullname,
        "params": {"model": role},
        "param": param,
        "extra_info": _extra_info(record, role),
        "options": {"timer": "pytest-llmperf: end-to-end latency per request"},
        "stats": {**stats.as_dict(), "data": list(stats.data), "iterations": 1},
    }


def _extra_info(record: Mapping[str, Any], role: str) -> dict[str, Any]:
    side = record[role]
    figures = side["figures"]
    info: dict[str, Any] = {
        "role": role,
        "model": side.get("name") or side.get("source") or "",
        "mode": record.get("mode"),
    }
    if role == "baseline":
        info["baseline_source"] = side.get("source")
    info.update({key: figures.get(key) for key in _EXTRA_FIGURES})
    if role == "candidate":
        info["failed"] = record.get("failed")
        info["verdicts"] = [
            {key: verdict.get(key) for key in _VERDICT_KEYS} for verdict in record["verdicts"]
        ]
    return info


def benchmark_document(
    records: Sequence[Mapping[str, Any]],
    machine_info: Mapping[str, Any],
    commit_info: Mapping[str, Any],
) -> dict[str, Any]:
    """The whole file: pytest-benchmark's layout, with our benchmarks."""
    from pytest_benchmark import __version__

    benchmarks = [
        benchmark
        for record in records
        for role in ROLES
        if (benchmark := model_benchmark(record, role)) is not None
    ]
    return {
        "machine_info": dict(machine_info),
        "commit_info": dict(commit_info),
        "benchmarks": benchmarks,
        "datetime": datetime.now(timezone.utc).isoformat(),
        "version": __version__,
    }


def dumps(document: Mapping[str, Any]) -> str:
    """Serialised as pytest-benchmark writes its own files."""
    from pytest_benchmark.utils import safe_dumps

    return safe_dumps(document, ensure_ascii=True, indent=4)


def storage_path(storage: Path, commit_info: Mapping[str, Any]) -> Path:
    """The next file of a pytest-benchmark storage directory:
    `STORAGE/<machine id>/NNNN_llmperf_<commit>_<time>.json`, found there by
    `pytest-benchmark list|compare --storage STORAGE` and `pytest --benchmark-compare`."""
    from pytest_benchmark.utils import get_current_time, get_machine_id

    folder = storage / get_machine_id()
    numbers = [
        int(match.group(1))
        for file in (folder.iterdir() if folder.is_dir() else ())
        if (match := _STORAGE_NAME.match(file.name))
    ]
    commit = str(commit_info.get("id") or "unversioned")[:12]
    dirty = "_uncommitted-changes" if commit_info.get("dirty") else ""
    return (
        folder
        / f"{max(numbers, default=0) + 1:04}_llmperf_{commit}_{get_current_time()}{dirty}.json"
    )
