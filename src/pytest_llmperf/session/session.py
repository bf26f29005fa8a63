"""One object per pytest session: loads models, records each test's calls, judges them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pytest_llmperf.backends import fingerprint
from pytest_llmperf.backends import Backend, load_backend
from pytest_llmperf.judge.budget import (
    Budget,
    Comparison,
    Limit,
    Outcome,
    Verdict,
    judge,
    settle,
    with_implied_limits,
)
from pytest_llmperf.settings.settings import ModelSpec, Settings
from pytest_llmperf.errors import GenerationError, LlmPerfError, SnapshotError
from pytest_llmperf.snapshots.housekeeping import SnapshotActivity
from pytest_llmperf.measure.load import LOAD_KEYS, LoadSpec
from pytest_llmperf.measure.protocol import Protocol, Workload, measure, measure_paired
from pytest_llmperf.report.progress import progress_line
from pytest_llmperf.results import GenerationResult, Pricing
from pytest_llmperf.measure.scoring import Scorer
from pytest_llmperf.snapshots.store import RecordedCall, Snapshot, SnapshotStore, prompts_digest
from pytest_llmperf.judge.stats import DecisionPolicy, looks_until_cap, session_policy

BASELINE, CANDIDATE = "baseline", "candidate"


@dataclass
class TestRecord:
    """The calls one test made, and the baseline runs paired with its candidate calls."""

    candidate_calls: list[tuple[Workload, GenerationResult]] = field(default_factory=list)
    baseline_calls: list[tuple[Workload, GenerationResult]] = field(default_factory=list)
    paired_baseline: list[GenerationResult] = field(default_factory=list)

    def candidate(self) -> GenerationResult:
        return GenerationResult.combine([result for _, result in self.candidate_calls])

    def live_baseline(self) -> GenerationResult | None:
        """The baseline measured in this run: the test's own calls, or the paired runs."""
        if self.baseline_calls:
            return GenerationResult.combine([result for _, result in self.baseline_calls])
        if self.paired_baseline:
            return GenerationResult.combine(self.paired_baseline)
        return None


@dataclass(frozen=True)
class TestOutcome:
    """A judged (or recorded) test, for its failure message and the session summary."""

    nodeid: str
    verdicts: list[Verdict]
    baseline_source: str
    candidate_name: str
    candidate: GenerationResult | None = None
    baseline: GenerationResult | None = None
    snapshot_written: Path | None = None
    mode: str = "natural"
    extra_seconds: float = 0.0  # spent on runs added to settle inconclusive verdicts
    requests_per_month: int = 0
    baseline_name: str = ""  # the baseline's model (live, or the snapshot's) for reports

    @property
    def failed(self) -> bool:
        return any(verdict.failed for verdict in self.verdicts)


class LlmPerfSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = SnapshotStore(settings.snapshot_dir)
        self.protocol = Protocol(
            repeats=settings.repeats,
            warmup=settings.warmup,
            seed=settings.seed,
            latency_percentile=settings.latency_percentile,
        )
        self._backends: dict[str, Backend | LlmPerfError] = {}
        self._records: dict[str, TestRecord] = {}
        self.outcomes: list[TestOutcome] = []
        # Report records of tests judged elsewhere (xdist workers), merged on the controller.
        self.merged_records: list[dict[str, Any]] = []
        self.merged_environment: dict[str, Any] | None = None
        self.decisions = 0
        self.snapshots = SnapshotActivity()
        # Called with a line per extra round of runs (plugin.py sets it under -v).
        self.on_progress: Callable[[str], None] | None = None

    def report_records(self) -> list[dict[str, Any]]:
        """Every judged or recorded test of the session as a JSON-ready record, in run order."""
        from pytest_llmperf.judge.records import outcome_record

        return [outcome_record(outcome) for outcome in self.outcomes] + self.merged_records

    def environment(self) -> dict[str, Any] | None:
        """The machine and software the models ran on (fingerprint.environment): this
        process's, else a worker's under xdist; None when no model was loaded anywhere."""
        for role in (CANDIDATE, BASELINE):
            loaded = self._backends.get(role)
            if isinstance(loaded, Backend):
                return loaded.environment()
        return self.merged_environment

    # -- models -------------------------------------------------------------------------

    @property
    def records_only(self) -> bool:
        """--llm-update with no candidate: the tests' calls run on the baseline and are saved."""
        return self.settings.update and self.settings.candidate is None

    def model_spec(self, role: str) -> ModelSpec | None:
        if role == CANDIDATE and self.records_only:
            return self.settings.baseline
        return self.settings.baseline if role == BASELINE else self.settings.candidate

    def model_name(self, role: str) -> str:
        spec = self.model_spec(role)
        return spec.name if spec is not None else ""

    def backend(self, role: str) -> Backend:
        """The loaded model for a role, loaded on first use; a failed load fails fast after."""
        key = BASELINE if role == CANDIDATE and self.records_only else role
        if key not in self._backends:
            spec = self.model_spec(key)
            assert spec is not None, f"no model for {key}"
            try:
                self._backends[key] = load_backend(spec, self.settings, flag=f"--llm-{key}")
            except LlmPerfError as error:
                self._backends[key] = error
        loaded = self._backends[key]
        if isinstance(loaded, LlmPerfError):
            raise loaded
        return loaded

    def close(self) -> None:
        """Close every loaded model's connections (endpoint models hold an HTTP pool)."""
        for loaded in self._backends.values():
            if isinstance(loaded, Backend):
                loaded.close()

    # -- calls ----------------------------------------------------------------------------

    def generation_settings(self, overrides: Mapping[str, Any], mode: str) -> dict[str, Any]:
        """Greedy decoding and max_new_tokens pinned; the test's own kwargs on top.

        fixed_length mode sets min_new_tokens to max_new_tokens: every answer is as long,
        so latency per token is compared whatever the verbosity.
        """
        settings = {
            "do_sample": False,
            "num_beams": 1,
            "max_new_tokens": self.settings.max_new_tokens,
        }
        settings.update(overrides)
        if mode == "fixed_length":
            settings["min_new_tokens"] = settings["max_new_tokens"]
        try:
            json.dumps(settings)
        except TypeError:
            raise GenerationError(
                "generate() keyword arguments must be plain values (numbers, strings, lists) so "
                f"they can be recorded; got {sorted(overrides)}."
            ) from None
        return settings

    def generate(
        self,
        nodeid: str,
        role: str,
        prompts: str | Sequence[str],
        expected: str | Sequence[str] | None,
        overrides: Mapping[str, Any],
        *,
        pair_with_baseline: bool,
        mode: str | None = None,
        scorer: str | Scorer | None = None,
    ) -> GenerationResult:
        load_kwargs = {key: overrides[key] for key in LOAD_KEYS if key in overrides}
        generation_kwargs = {k: v for k, v in overrides.items() if k not in LOAD_KEYS}
        generation = self.generation_settings(generation_kwargs, mode or self.settings.mode)
        workload = Workload.from_call(prompts, generation, expected, scorer)
        workload = replace(workload, load=LoadSpec.from_kwargs(load_kwargs, len(workload.prompts)))
        record = self._records.setdefault(nodeid, TestRecord())
        if role == BASELINE:
            result = self._priced(
                BASELINE, measure(self.backend(BASELINE), workload, self.protocol)
            )
            record.baseline_calls.append((workload, result))
            return result
        if pair_with_baseline:
            baseline_result, result = measure_paired(
                self.backend(BASELINE), self.backend(CANDIDATE), workload, self.protocol
            )
            record.paired_baseline.append(self._priced(BASELINE, baseline_result))
        else:
            result = measure(self.backend(CANDIDATE), workload, self.protocol)
        result = self._priced(CANDIDATE, result)
        record.candidate_calls.append((workload, result))
        return result

    def pricing(self, role: str) -> Pricing:
        """The role's prices; with --llm-update alone the candidate's calls run on the baseline."""
        if role == CANDIDATE and self.records_only:
            role = BASELINE
        return Pricing(*self.settings.prices_for(role))

    def _priced(self, role: str, result: GenerationResult) -> GenerationResult:
        return replace(result, pricing=self.pricing(role))

    def discard(self, nodeid: str) -> None:
        self._records.pop(nodeid, None)

    # -- judging ----------------------------------------------------------------------------

    def judge(self, nodeid: str, budget: Budget) -> TestOutcome:
        record = self._records.pop(nodeid, TestRecord())
        if not record.candidate_calls:
            raise LlmPerfError(
                f"{nodeid} is marked assert_within_budget but made no calls through "
                "llm_candidate: the calls it makes there are what is judged."
            )
        if self.records_only:
            return self._record_baseline(nodeid, record.candidate_calls)
        candidate = record.candidate()
        limits = with_implied_limits(budget.limits, under_load=candidate.load is not None)
        comparison = replace(
            self._comparison(nodeid, record, candidate, limits),
            mode=budget.mode or self.settings.mode,
            policy=self._policy(limits, len(candidate.runs)),
        )
        verdicts, comparison, extra_seconds = self._settle(nodeid, record, limits, comparison)
        if record.live_baseline() is not None and self._served_on_one_side_only():
            verdicts = [_with_note(verdict, SERVED_ON_ONE_SIDE) for verdict in verdicts]
        written = None
        if self.settings.update:
            written = self._save(nodeid, self._baseline_calls(record))
        outcome = TestOutcome(
            nodeid,
            verdicts,
            comparison.baseline_source,
            self.backend(CANDIDATE).label,
            comparison.candidate,
            comparison.baseline,
            written,
            comparison.mode,
            extra_seconds,
            self.settings.requests_per_month,
            comparison.baseline_name,
        )
        self.outcomes.append(outcome)
        return outcome

    def _served_on_one_side_only(self) -> bool:
        served = [self.backend(role).device == "endpoint" for role in (BASELINE, CANDIDATE)]
        return served[0] != served[1]

    def count_decisions(self, budgets: list[Budget]) -> None:
        """The statistical decisions of the session, to share its false-failure rate."""
        self.decisions = sum(
            limit.spec.is_statistical for budget in budgets for limit in budget.limits
        )

    def _policy(self, limits: list[Limit], first_runs: int) -> DecisionPolicy:
        in_test = sum(limit.spec.is_statistical for limit in limits)
        return session_policy(
            self.settings.false_failure_rate,
            decisions=max(self.decisions, in_test),
            looks=looks_until_cap(first_runs, self.settings.max_pairs),
            noise_floor=self.settings.noise_floor,
            seed=self.settings.seed,
        )

    def _settle(
        self, nodeid: str, record: TestRecord, limits: list[Limit], comparison: Comparison
    ) -> tuple[list[Verdict], Comparison, float]:
        """Judge; while a verdict is inconclusive, double the runs, within both caps.

        Returns the verdicts, what they were judged on, and the seconds the extra runs took.
        """
        verdicts = judge(limits, comparison)
        rounds, extra_seconds = 0, 0.0
        while any(verdict.outcome is Outcome.INCONCLUSIVE for verdict in verdicts):
            runs, prompts = len(comparison.candidate.runs), len(comparison.candidate.samples)
            extra_repeats = min(runs, self.settings.max_pairs - runs) // prompts
            if extra_repeats < 1:
                cap = f"{runs} runs per model, --llm-max-pairs={self.settings.max_pairs}"
                return self._settled(verdicts, cap), comparison, extra_seconds
            next_round = _seconds_measured(record) * extra_repeats * prompts / runs
            if extra_seconds + next_round > self.settings.max_seconds:
                cap = (
                    f"{runs} runs per model; more would pass "
                    f"--llm-max-seconds={self.settings.max_seconds:g}"
                )
                return self._settled(verdicts, cap), comparison, extra_seconds
            rounds += 1
            if self.on_progress is not None:
                more = extra_repeats * prompts
                self.on_progress(progress_line(nodeid, verdicts, runs, more, comparison.paired))
            started = time.monotonic()
            self._measure_more(record, extra_repeats, rounds)
            extra_seconds += time.monotonic() - started
            live = record.live_baseline()
            comparison = replace(
                comparison,
                candidate=record.candidate(),
                baseline=live if live is not None else comparison.baseline,
            )
            verdicts = judge(limits, comparison)
        return verdicts, comparison, extra_seconds

    def _settled(self, verdicts: list[Verdict], cap: str) -> list[Verdict]:
        return [settle(verdict, self.settings.inconclusive, cap) for verdict in verdicts]

    def _measure_more(self, record: TestRecord, repeats: int, round_index: int) -> None:
        """`repeats` more runs of every call, on the candidate and any live baseline."""
        protocol = replace(
            self.protocol, repeats=repeats, warmup=0, seed=self.protocol.seed + 7919 * round_index
        )
        for index, (workload, result) in enumerate(record.candidate_calls):
            if record.paired_baseline:
                more_baseline, more = measure_paired(
                    self.backend(BASELINE), self.backend(CANDIDATE), workload, protocol
                )
                record.paired_baseline[index] = record.paired_baseline[index].extended(
                    more_baseline
                )
            else:
                more = measure(self.backend(CANDIDATE), workload, protocol)
            record.candidate_calls[index] = (workload, result.extended(more))
        for index, (workload, result) in enumerate(record.baseline_calls):
            more = measure(self.backend(BASELINE), workload, protocol)
            record.baseline_calls[index] = (workload, result.extended(more))

    def _baseline_calls(self, record: TestRecord) -> list[tuple[Workload, GenerationResult]]:
        if record.baseline_calls:
            return record.baseline_calls
        workloads = [workload for workload, _ in record.candidate_calls]
        return list(zip(workloads, record.paired_baseline, strict=False))

    def _record_baseline(
        self, nodeid: str, calls: list[tuple[Workload, GenerationResult]]
    ) -> TestOutcome:
        written = self._save(nodeid, calls)
        combined = GenerationResult.combine([result for _, result in calls])
        outcome = TestOutcome(
            nodeid,
            [],
            "recorded",
            self.model_name(BASELINE),
            baseline=combined,
            snapshot_written=written,
            baseline_name=self.model_name(BASELINE),
        )
        self.outcomes.append(outcome)
        return outcome

    def _comparison(
        self, nodeid: str, record: TestRecord, candidate: GenerationResult, limits: list[Limit]
    ) -> Comparison:
        common = {
            "candidate": candidate,
            "latency_percentile": self.settings.latency_percentile,
            "has_prices": self.settings.has_prices,
            "candidate_quantized": "quantization" in self.backend(CANDIDATE).identity,
        }
        if record.baseline_calls:
            baseline = GenerationResult.combine([result for _, result in record.baseline_calls])
            return Comparison(
                baseline=baseline,
                baseline_source="the test's llm_baseline calls",
                baseline_name=self.backend(BASELINE).label,
                **common,
            )
        if record.paired_baseline:
            under_load = any(workload.load for workload, _ in record.candidate_calls)
            how = "whole load runs in alternating order" if under_load else "in alternating pairs"
            return Comparison(
                baseline=GenerationResult.combine(record.paired_baseline),
                baseline_source=f"--llm-baseline={self.model_name(BASELINE)}, run {how}",
                baseline_name=self.backend(BASELINE).label,
                paired=not under_load,
                **common,
            )
        if not any(limit.spec.needs_baseline for limit in limits):
            return Comparison(baseline=None, baseline_source="none needed", **common)
        return self._snapshot_comparison(nodeid, record, common)

    def _snapshot_comparison(
        self, nodeid: str, record: TestRecord, common: dict[str, Any]
    ) -> Comparison:
        path = self.store.path_for(nodeid)
        snapshot = self.store.load(nodeid)
        if snapshot is None:
            return Comparison(
                baseline=None,
                baseline_source="none",
                no_baseline_hint=(
                    f"no baseline: no --llm-baseline and no snapshot at {path}. Record one with "
                    "`pytest --llm-baseline=MODEL --llm-update`, or pass --llm-baseline=MODEL."
                ),
                **common,
            )
        self._check_workload(snapshot, record, path)
        self.snapshots.record_used(path)
        current = self.backend(CANDIDATE).hardware()
        changed = fingerprint.differences(
            snapshot.environment.get("hardware", {}), current, fingerprint.COMPARABLE_HARDWARE_KEYS
        )
        note = ""
        if changed:
            note = (
                f"the snapshot was measured on other hardware ({'; '.join(changed)}): latency and "
                "memory are not compared across machines. Re-record the snapshot on this machine "
                "with --llm-update, or run baseline and candidate live."
            )
        return Comparison(
            baseline=snapshot.result(self.pricing(BASELINE), self.settings.latency_percentile),
            baseline_source=f"snapshot {path} ({snapshot.model.get('name')})",
            baseline_name=str(snapshot.model.get("name", "")),
            timings_comparable=not changed,
            timings_note=note,
            timing_mismatch_fails=self.settings.hardware_mismatch == "fail",
            **common,
        )

    def _check_workload(self, snapshot: Snapshot, record: TestRecord, path: Path) -> None:
        current = [_recorded_call(workload, result) for workload, result in record.candidate_calls]
        recorded = snapshot.calls
        if len(current) != len(recorded) or not all(
            now.same_workload(then) for now, then in zip(current, recorded, strict=False)
        ):
            raise SnapshotError(
                f"the test's calls differ from those recorded in {path} (prompts or generation "
                "settings changed): re-record the snapshot with `pytest --llm-baseline=MODEL "
                "--llm-update`."
            )

    def _save(self, nodeid: str, calls: list[tuple[Workload, GenerationResult]]) -> Path:
        newer = self.store.newer_schema(nodeid)
        if newer is not None:
            raise SnapshotError(
                f"{self.store.path_for(nodeid)} was written with schema_version {newer} by a newer "
                "pytest-llmperf; it is left as it is. Upgrade pytest-llmperf to update it."
            )
        backend = self.backend(BASELINE)
        snapshot = Snapshot(
            test=nodeid,
            model=backend.identity,
            measured_with={
                "device": backend.device,
                "dtype_setting": self.settings.dtype_for(BASELINE),
                "repeats": self.settings.repeats,
                "warmup": self.settings.warmup,
                "seed": self.settings.seed,
            },
            environment=backend.environment(),
            calls=tuple(_recorded_call(workload, result) for workload, result in calls),
        )
        existed = self.store.path_for(nodeid).is_file()
        path = self.store.save(snapshot)
        self.snapshots.record_saved(path, existed)
        return path


SERVED_ON_ONE_SIDE = (
    "one model is served by an endpoint and the other runs in this process: the served one's "
    "latency includes the server and the network; serve both (or neither) to compare like "
    "with like"
)


def _with_note(verdict: Verdict, note: str) -> Verdict:
    """Timing verdicts get the note beside any they have; other verdicts are unchanged."""
    if not verdict.limit.spec.is_timing or verdict.outcome is Outcome.NOT_COMPARED:
        return verdict
    return replace(verdict, note="; ".join(filter(None, (verdict.note, note))))


def _recorded_call(workload: Workload, result: GenerationResult) -> RecordedCall:
    digest_input = list(workload.prompts)
    if workload.expected is not None:
        digest_input += ["expected:", *workload.expected, f"scorer:{workload.scorer_name}"]
    generation = dict(workload.generation)
    if workload.load is not None:
        generation["load"] = workload.load.to_json()
    return RecordedCall(
        prompts_sha256=prompts_digest(digest_input),
        prompt_count=len(workload.prompts),
        generation=generation,
        result=result,
    )


def _seconds_measured(record: TestRecord) -> float:
    """Seconds of generation behind the test's live runs: the cost of as many again."""
    both = (record.candidate(), record.live_baseline())
    results = [result for result in both if result is not None]
    # Under load requests overlap: the wall time is what another round costs.
    return sum(
        result.load.wall_seconds if result.load else float(result.latencies_ms.sum()) / 1000
        for result in results
    )
