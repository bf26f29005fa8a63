"""The baseline kept in .llmperf/: what a test is judged against when no baseline model
runs in this session, and where --llm-update writes the baseline's measurements."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pytest_llmperf.backends import Backend, fingerprint
from pytest_llmperf.errors import SnapshotError
from pytest_llmperf.judge.verdicts import Comparison
from pytest_llmperf.measure.protocol import rendered_digest
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.prompts import prompt_key
from pytest_llmperf.results import GenerationResult, Pricing
from pytest_llmperf.session.calls import Call, TestCalls
from pytest_llmperf.snapshots.housekeeping import SnapshotActivity
from pytest_llmperf.snapshots.store import Snapshot, SnapshotCall, SnapshotStore, prompts_digest

REFRESH = "`pytest --llm-baseline=MODEL --llm-update`"

# What a snapshot records of its baseline model that changes the workload when it changes:
# the identity key, and what it is called in a message.
_FINGERPRINTS = (
    ("tokenizer_sha256", "tokenizer"),
    ("generation_config_sha256", "generation config"),
)


class StaleSnapshotError(SnapshotError):
    """The snapshot's baseline model, run here, is not the one recorded: its chat template
    renders the test's conversations otherwise, or its tokenizer or generation config
    changed. The test is not judged against it."""


def check_fresh(
    snapshot: Snapshot, path: Path, workloads: list[Workload], baseline: Backend
) -> None:
    """Raise StaleSnapshotError when `baseline` (the snapshot's baseline model, loaded here)
    differs from what the snapshot recorded of it. A fingerprint the snapshot lacks (one
    recorded before it was kept) is not compared."""
    changes = []
    identity = baseline.identity
    for key, what in _FINGERPRINTS:
        then, now = snapshot.model.get(key), identity.get(key)
        if then is not None and now is not None and then != now:
            changes.append(f"its {what} changed ({key} {then} -> {now})")
    rendered = [
        index
        for index, (workload, call) in enumerate(zip(workloads, snapshot.calls, strict=False))
        if call.result.rendered_sha256 is not None
        and rendered_digest(baseline, workload.prompts) not in (None, call.result.rendered_sha256)
    ]
    if rendered:
        calls = ", ".join(str(index) for index in rendered)
        changes.append(
            f"its chat template renders the conversations of call {calls} otherwise "
            "(rendered_sha256 differs)"
        )
    if changes:
        name = snapshot.model.get("location") or snapshot.model.get("name") or "MODEL"
        raise StaleSnapshotError(
            f"the snapshot {path} is stale: its baseline model {name} changed since it was "
            f"recorded ({'; '.join(changes)}), so it is not judged against. Re-record it "
            f"with `pytest --llm-baseline={name} --llm-update`."
        )


@dataclass(frozen=True)
class MeasuredWith:
    """How the baseline was measured, as a snapshot records it."""

    dtype_setting: str
    repeats: int
    warmup: int
    seed: int


class SnapshotBaseline:
    def __init__(self, store: SnapshotStore, activity: SnapshotActivity) -> None:
        self.store = store
        self.activity = activity

    def comparison(
        self,
        nodeid: str,
        calls: TestCalls,
        candidate: Backend,
        pricing: Pricing,
        common: dict[str, Any],
    ) -> tuple[Comparison, Snapshot | None]:
        """The test's snapshot as its baseline (timings only when measured on this
        hardware), and the snapshot itself; None when there is none."""
        path = self.store.path_for(nodeid)
        snapshot = self.store.load(nodeid)
        if snapshot is None:
            return Comparison(
                baseline=None,
                baseline_source="none",
                no_baseline_hint=(
                    f"no baseline: no --llm-baseline and no snapshot at {path}. Record one with "
                    f"{REFRESH}, or pass --llm-baseline=MODEL."
                ),
                **common,
            ), None
        _check_workload(snapshot, calls, path)
        self.activity.note_used(path)
        changed = fingerprint.differences(
            snapshot.environment.get("hardware", {}),
            candidate.hardware(),
            fingerprint.COMPARABLE_HARDWARE_KEYS,
        )
        note = ""
        if changed:
            note = (
                f"the snapshot was measured on other hardware ({'; '.join(changed)}): latency and "
                "memory are not compared across machines (weights, KV cache and FLOPs are: they "
                "do not depend on the machine). Re-record the snapshot on this machine "
                "with --llm-update, or run baseline and candidate live."
            )
        latency_percentile = common["latency_percentile"]
        return Comparison(
            baseline=snapshot.result(pricing, latency_percentile),
            baseline_source=f"snapshot {path} ({snapshot.model.get('name')})",
            baseline_name=str(snapshot.model.get("name", "")),
            timings_comparable=not changed,
            timings_note=note,
            against_snapshot=True,
            **common,
        ), snapshot

    def save(
        self,
        nodeid: str,
        calls: list[Call],
        backend: Backend,
        measured_with: MeasuredWith,
        location: str | None = None,
    ) -> Path:
        """Write the baseline's calls as the test's snapshot, atomically. `location` is
        where a later run finds the model again (a checkpoint relative to the rootdir)."""
        newer = self.store.newer_schema(nodeid)
        if newer is not None:
            raise SnapshotError(
                f"{self.store.path_for(nodeid)} was written with schema_version {newer} by a newer "
                "pytest-llmperf; it is left as it is. Upgrade pytest-llmperf to update it."
            )
        snapshot = Snapshot(
            test=nodeid,
            model={**backend.identity, **({"location": location} if location else {})},
            measured_with={"device": backend.device, **asdict(measured_with)},
            environment=backend.environment(),
            calls=tuple(snapshot_call(workload, result) for workload, result in calls),
        )
        existed = self.store.path_for(nodeid).is_file()
        path = self.store.save(snapshot)
        self.activity.note_saved(path, existed)
        return path


def _check_workload(snapshot: Snapshot, calls: TestCalls, path: Path) -> None:
    current = [snapshot_call(workload, result) for workload, result in calls.candidate_calls]
    recorded = snapshot.calls
    if len(current) != len(recorded) or not all(
        now.same_workload(then) for now, then in zip(current, recorded, strict=False)
    ):
        raise SnapshotError(
            f"the test's calls differ from those recorded in {path} (prompts or generation "
            f"settings changed): re-record the snapshot with {REFRESH}."
        )


def snapshot_call(workload: Workload, result: GenerationResult) -> SnapshotCall:
    """One call as a snapshot keeps it: a digest of what was asked, and what was measured."""
    digest_input = [prompt_key(prompt) for prompt in workload.prompts]
    if workload.expected is not None:
        digest_input += ["expected:", *workload.expected, f"scorer:{workload.scorer_name}"]
    generation = dict(workload.generation)
    if workload.load is not None:
        generation["load"] = workload.load.to_json()
    if workload.capacity is not None:  # a search at another SLO or target is another one
        generation["capacity"] = workload.capacity.to_json()
    if workload.batch_size is not None:
        generation["batch_size"] = workload.batch_size
    if workload.samples_per_question > 1:
        generation["samples_per_question"] = workload.samples_per_question
    if workload.eval_set is not None:  # the sample drawn, for the diff and the comparison
        generation["eval_set"] = {
            "name": workload.eval_set.name,
            "items": len(workload.eval_set),
            "sha256": workload.eval_set.sha256,
        }
    return SnapshotCall(
        prompts_sha256=prompts_digest(digest_input),
        prompt_count=len(workload.prompts),
        generation=generation,
        result=result,
    )
