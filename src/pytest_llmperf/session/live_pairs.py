"""Live pairs: a test's workloads measured on the baseline and the candidate in alternating
pairs, and the baseline a snapshot names, loaded to confirm live what the snapshot cannot
decide (or, with live_baseline = "always", what it passed or failed).

A snapshot was measured in another process, at another moment: its runs and today's are
not paired, and the whole process may have run faster or slower (memory layout, frequency,
other jobs), which no run shows. Timing ratios against it carry that allowance; when the
allowance leaves a limit inconclusive, the baseline model itself runs here, in pairs with
the candidate, as in a live A/B run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_llmperf.errors import LlmPerfError
from pytest_llmperf.judge.verdicts import Outcome, Verdict
from pytest_llmperf.measure.protocol import Protocol, measure_paired
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.session.calls import TestCalls
from pytest_llmperf.session.pool import PricedModel
from pytest_llmperf.settings.settings import ModelSpec, PerModelOptions, Settings
from pytest_llmperf.snapshots.store import Snapshot

ENDPOINT_TYPE = "openai-compatible endpoint"


class NoLiveBaseline(LlmPerfError):
    """The snapshot's baseline model cannot run here; the message says why."""


def pair_up(
    workloads: list[Workload], baseline: PricedModel, candidate: PricedModel, protocol: Protocol
) -> TestCalls:
    """Every workload measured on both models in alternating pairs, as a live A/B run does."""
    calls = TestCalls()
    for workload in workloads:
        base, cand = measure_paired(baseline.backend, candidate.backend, workload, protocol)
        calls.paired_baseline.append(baseline.priced(base))
        calls.candidate_calls.append((workload, candidate.priced(cand)))
    return calls


def same_workloads(calls: TestCalls) -> bool:
    """The test called both models with the same prompts and settings, in the same order."""
    mine = [workload for workload, _ in calls.candidate_calls]
    theirs = [workload for workload, _ in calls.baseline_calls]
    return len(mine) == len(theirs) and all(
        (a.prompts, a.generation, a.load, a.batch_size, a.by_likelihood)
        == (b.prompts, b.generation, b.load, b.batch_size, b.by_likelihood)
        for a, b in zip(mine, theirs, strict=True)
    )


def open_ratio_limits(verdicts: list[Verdict], *, passes_too: bool = False) -> list[str]:
    """Timing limits against a snapshot that live pairs confirm: those it did not pass, and
    with `passes_too` those it passed as well. A failure across processes is confirmed live
    too, when it can be, and so is a pass under `live_baseline = "always"`: a busy machine
    while recording or judging can shift every timing beyond any allowance, either way."""
    confirmed = (Outcome.INCONCLUSIVE, Outcome.FAIL) + ((Outcome.PASS,) if passes_too else ())
    return [
        verdict.limit.name
        for verdict in verdicts
        if verdict.limit.spec.is_run_ratio and verdict.outcome in confirmed
    ]


def model_location(spec: ModelSpec, rootdir: Path) -> str | None:
    """Where a snapshot can find its baseline again: a local checkpoint relative to the
    rootdir (the snapshot is committed with the repository), else None (a hub id is found
    by its name)."""
    path = spec.local_path
    if path is None:
        return None
    path = path.resolve()
    rootdir = rootdir.resolve()
    return path.relative_to(rootdir).as_posix() if path.is_relative_to(rootdir) else str(path)


def snapshot_model_spec(snapshot: Snapshot, settings: Settings) -> ModelSpec:
    """The snapshot's baseline model, ready to load as it was measured, priced as the
    baseline is. Raises NoLiveBaseline saying why it cannot be."""
    model: Mapping[str, Any] = snapshot.model
    if model.get("type") == ENDPOINT_TYPE:
        raise NoLiveBaseline("its baseline is a served model, whose server this run does not know")
    name = model.get("location") or model.get("name")
    if not isinstance(name, str) or not name:
        raise NoLiveBaseline("the snapshot does not name its baseline model")
    adapter = model.get("adapter")
    adapter_mode = adapter.get("mode") if isinstance(adapter, dict) else None
    options = PerModelOptions(
        dtype=str(snapshot.measured_with.get("dtype_setting") or "auto"),
        pricing=settings.per_model["baseline"].pricing,
    )
    return ModelSpec(
        name,
        settings.rootdir,
        role="baseline",
        options=options,
        adapter_base=settings.adapter_base,
        adapter_mode=adapter_mode if adapter_mode in ("merged", "unmerged") else "unmerged",
    )


def merged_verdicts(
    names: list[str], snapshot: list[Verdict], live: list[Verdict]
) -> list[Verdict]:
    """One verdict per limit of `names`, in that order: its live verdict where live pairs
    judged it (confirmed, or an SLA left to them), else its verdict against the snapshot."""
    verdicts = {verdict.limit.name: verdict for verdict in snapshot}
    verdicts.update((verdict.limit.name, verdict) for verdict in live)
    return [verdicts[name] for name in names]
