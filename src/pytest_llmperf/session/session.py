"""One object per pytest session. It orchestrates only: a test's calls are measured by the
protocol (measure/) on models from the pool, judged (judge/) against a live baseline or
the snapshot baseline, run until decided (more runs while inconclusive), confirmed live
when judged against a snapshot, and kept as report records."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_llmperf.backends import Backend
from pytest_llmperf.errors import LlmPerfError
from pytest_llmperf.judge.records import JudgedTest
from pytest_llmperf.judge.sequential import look_sizes, reachable_runs, runs_to_pass
from pytest_llmperf.judge.stats import DecisionPolicy, session_policy
from pytest_llmperf.judge.verdicts import (
    Comparison,
    Outcome,
    Verdict,
    apply_cap_rule,
    counts_as_decision,
)
from pytest_llmperf.limits import Budget, Limit, with_implied_limits
from pytest_llmperf.measure.capacity_steps import CAPACITY_KEYS, CapacitySpec
from pytest_llmperf.measure.load import LOAD_KEYS, LoadSpec
from pytest_llmperf.measure.protocol import Protocol, measure, measure_paired
from pytest_llmperf.measure.scoring import Scorer
from pytest_llmperf.measure.workload import (
    Workload,
    batch_size_from,
    pinned_generation,
    samples_per_question_from,
)
from pytest_llmperf.results import GenerationResult
from pytest_llmperf.session.calls import Call, TestCalls
from pytest_llmperf.session.capacity_calls import check_served, with_capacity
from pytest_llmperf.session.live_pairs import (
    NoLiveBaseline,
    merged_verdicts,
    model_location,
    open_ratio_limits,
    pair_up,
    same_workloads,
    snapshot_model_spec,
)
from pytest_llmperf.session.more_runs import MoreRuns, SharedRounds
from pytest_llmperf.session.pool import BASELINE, CANDIDATE, ModelPool, PricedModel
from pytest_llmperf.session.shared_runs import SharedRuns
from pytest_llmperf.session.snapshot_baseline import (
    REFRESH,
    MeasuredWith,
    SnapshotBaseline,
    check_fresh,
)
from pytest_llmperf.session.until_decided import Caps, Decided, run_until_decided
from pytest_llmperf.settings.settings import ModelSpec, Settings
from pytest_llmperf.snapshots.housekeeping import SnapshotActivity
from pytest_llmperf.snapshots.store import Snapshot, SnapshotStore

Record = dict[str, Any]

SERVED_ON_ONE_SIDE = (
    "one model is served by an endpoint and the other runs in this process: the served one's "
    "latency includes the server and the network; serve both (or neither) to compare like "
    "with like"
)


class LlmPerfSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.models = ModelPool(settings)
        self.store = SnapshotStore(settings.snapshot_dir)
        self.snapshots = SnapshotActivity()
        self.snapshot_baseline = SnapshotBaseline(self.store, self.snapshots)
        self.protocol = Protocol(
            repeats=settings.repeats,
            warmup=settings.warmup,
            seed=settings.seed,
            latency_percentile=settings.latency_percentile,
            scorer_timeout_s=settings.scorer_timeout_s,
        )
        self._calls: dict[str, TestCalls] = {}
        # With several candidates: each test's id without its candidate (the snapshot's
        # name, the key of the shared baseline runs), and the live baseline's shared runs.
        self._baseline_keys: dict[str, str] = {}
        self.shared_runs = SharedRuns()
        self.judged: list[JudgedTest] = []  # every judged or recorded test, in run order
        # Records of tests judged elsewhere (xdist workers), merged on the controller.
        self.merged_records: list[Record] = []
        self.merged_environment: dict[str, Any] | None = None
        self.decisions = 0
        # Called with a line per extra round of runs (plugin.py sets it under -v).
        self.on_progress: Callable[[str], None] | None = None

    def report_records(self) -> list[Record]:
        """Every judged or recorded test of the session (all workers' under xdist)."""
        return [test.record for test in self.judged] + self.merged_records

    def environment(self) -> dict[str, Any] | None:
        """The machine and software the models ran on: this process's, else a worker's under
        xdist; None when no model was loaded anywhere."""
        return self.models.environment() or self.merged_environment

    def model_spec(self, role: str) -> ModelSpec | None:
        return self.models.spec(role)

    def model_name(self, role: str) -> str:
        return self.models.name(role)

    def close(self) -> None:
        self.models.close()

    def enter_test(self, nodeid: str, candidate_name: str | None, baseline_key: str) -> None:
        """A test of one candidate starts: the candidate role is that candidate's model. With
        no live baseline to share runs with, only that candidate stays loaded (pytest runs
        each candidate's tests together)."""
        self._baseline_keys[nodeid] = baseline_key
        self.models.use_candidate(candidate_name)
        if candidate_name is not None and self.settings.baseline is None:
            self.models.release_candidates_but(candidate_name)

    def baseline_key(self, nodeid: str) -> str:
        """The test's id without its candidate: what its snapshot is named after."""
        return self._baseline_keys.get(nodeid, nodeid)

    # -- calls ------------------------------------------------------------------------------

    def generate(
        self,
        nodeid: str,
        role: str,
        prompts: Any,
        expected: str | Sequence[str] | None,
        overrides: Mapping[str, Any],
        *,
        pair_with_baseline: bool,
        mode: str | None = None,
        scorer: str | Scorer | None = None,
        choices: Any = None,
    ) -> GenerationResult:
        """Measure one call of a test on `role`'s model (paired with the baseline's runs
        when asked) and keep it for judging."""
        workload = self._workload(prompts, expected, overrides, mode, scorer, choices)
        calls = self._calls.setdefault(nodeid, TestCalls())
        if role == BASELINE:
            baseline = self.models.priced(BASELINE)
            if workload.capacity is not None:
                check_served([baseline.backend])
            result = baseline.priced(measure(baseline.backend, workload, self.protocol))
            if workload.capacity is not None:
                seed = self.settings.seed
                (result,) = with_capacity([baseline.backend], [result], workload, seed)
            calls.baseline_calls.append((workload, result))
            return result
        candidate = self.models.priced(CANDIDATE)
        if workload.capacity is not None:
            return self._search_capacity(calls, workload, candidate, pair_with_baseline)
        if pair_with_baseline and self.settings.several_candidates:
            key = (self.baseline_key(nodeid), len(calls.candidate_calls))
            shared = self.shared_runs.results(key, workload, self._every_model, self.protocol)
            baseline_result, result = shared[0], shared[self._lineup_position()]
            calls.paired_baseline.append(self.models.priced(BASELINE).priced(baseline_result))
            calls.shared_keys.append(key)
        elif pair_with_baseline:
            baseline = self.models.priced(BASELINE)
            baseline_result, result = measure_paired(
                baseline.backend, candidate.backend, workload, self.protocol
            )
            calls.paired_baseline.append(baseline.priced(baseline_result))
        else:
            result = measure(candidate.backend, workload, self.protocol)
        result = candidate.priced(result)
        calls.candidate_calls.append((workload, result))
        return result

    def _search_capacity(
        self, calls: TestCalls, workload: Workload, candidate: PricedModel, paired: bool
    ) -> GenerationResult:
        """A capacity call: the requests one at a time as any call's (paired with the live
        baseline when there is one), then each model's capacity searched alike."""
        models = [self.models.priced(BASELINE), candidate] if paired else [candidate]
        backends = [model.backend for model in models]
        check_served(backends)
        if paired:
            results = list(measure_paired(backends[0], backends[1], workload, self.protocol))
        else:
            results = [measure(candidate.backend, workload, self.protocol)]
        results = with_capacity(backends, results, workload, self.settings.seed)
        priced = [model.priced(result) for model, result in zip(models, results, strict=True)]
        if paired:
            calls.paired_baseline.append(priced[0])
        calls.candidate_calls.append((workload, priced[-1]))
        return priced[-1]

    def _every_model(self) -> list[Backend]:
        """The baseline, then every candidate: the models of the shared alternating runs."""
        return [self.models.get(BASELINE), *self.models.candidates()]

    def _lineup_position(self) -> int:
        """Where the test's candidate is in `_every_model`."""
        names = [spec.candidate_name for spec in self.settings.lineup]
        return 1 + names.index(self.models.candidate_name())

    def _workload(
        self,
        prompts: Any,
        expected: str | Sequence[str] | None,
        overrides: Mapping[str, Any],
        mode: str | None,
        scorer: str | Scorer | None,
        choices: Any = None,
    ) -> Workload:
        load_kwargs = {key: overrides[key] for key in LOAD_KEYS if key in overrides}
        not_generation = (*LOAD_KEYS, *CAPACITY_KEYS, "batch_size", "samples_per_question")
        generation_kwargs = {k: v for k, v in overrides.items() if k not in not_generation}
        generation = pinned_generation(
            generation_kwargs, mode or self.settings.mode, self.settings.max_new_tokens
        )
        workload = Workload.from_call(
            prompts, generation, expected, scorer, self.settings.eval_limit, choices
        ).sampled(samples_per_question_from(overrides.get("samples_per_question")))
        capacity = CapacitySpec.from_kwargs(overrides)
        load = None if capacity else LoadSpec.from_kwargs(load_kwargs, len(workload.prompts))
        delivered = workload.delivered(load, batch_size_from(overrides.get("batch_size")))
        return delivered.searched(capacity)

    def discard(self, nodeid: str) -> None:
        self._calls.pop(nodeid, None)

    # -- judging ----------------------------------------------------------------------------

    def judge(self, nodeid: str, budget: Budget) -> JudgedTest:
        """Judge a test's calls against its budget (or, with --llm-update alone, save them
        as its snapshot): run until decided, then, against a snapshot, confirm live."""
        calls = self._calls.pop(nodeid, TestCalls())
        if not calls.candidate_calls:
            raise LlmPerfError(
                f"{nodeid} is marked assert_within_budget but made no calls through "
                "llm_candidate: the calls it makes there are what is judged."
            )
        if self.models.records_only:
            return self._keep(self._record_baseline(nodeid, calls.candidate_calls))
        limits = with_implied_limits(budget.limits, under_load=calls.under_load)
        calls = self._paired_if_both_called(calls, limits)
        candidate = calls.candidate()
        comparison, snapshot = self._comparison(nodeid, calls, candidate, limits)
        baseline_checked = snapshot is not None and self._check_fresh_if_unsure(
            nodeid, calls, snapshot, comparison
        )
        comparison = replace(
            comparison,
            mode=budget.mode or self.settings.mode,
            policy=self._policy(limits, calls),
            accuracy_test=self.settings.accuracy_test,
        )
        deferred = self._slas_left_to_live_pairs(limits, comparison, snapshot)
        now = [limit for limit in limits if limit.name not in deferred]
        decided = run_until_decided(
            nodeid, now, comparison, self._more_runs(calls), self._caps(), self.on_progress
        )
        confirming = open_ratio_limits(decided.verdicts, passes_too=self._confirm)
        if snapshot is not None and (confirming or deferred):
            decided = self._confirm_live(
                nodeid, limits, decided, calls, snapshot, deferred, checked_fresh=baseline_checked
            )
        verdicts = decided.verdicts
        if calls.live_baseline() is not None and self.models.served_on_one_side_only():
            verdicts = [_with_note(verdict, SERVED_ON_ONE_SIDE) for verdict in verdicts]
        templates = _templates_note(decided.comparison, baseline_checked=baseline_checked)
        if templates:
            verdicts = [_with_note(verdict, templates, timing_only=False) for verdict in verdicts]
        written = None
        if self.settings.update:
            written = self._save(nodeid, calls.baseline_for_snapshot())
        comparison = decided.comparison
        return self._keep(
            JudgedTest(
                nodeid=nodeid,
                verdicts=verdicts,
                baseline_source=comparison.baseline_source,
                candidate_name=self.models.get(CANDIDATE).label,
                candidate=comparison.candidate,
                baseline=comparison.baseline,
                snapshot_written=written,
                mode=comparison.mode,
                extra_seconds=decided.extra_seconds,
                requests_per_month=self.settings.requests_per_month,
                baseline_name=comparison.baseline_name,
                candidate_id=self.models.candidate_name(),
                candidate_is_baseline=self.models.candidate_name()
                in self.settings.baseline_candidates,
            )
        )

    def _keep(self, test: JudgedTest) -> JudgedTest:
        self.judged.append(test)
        return test

    def count_decisions(self, budgets: list[Budget]) -> None:
        """The statistical decisions of the session, to share its false-failure rate."""
        self.decisions = sum(
            counts_as_decision(limit.spec, self.settings.accuracy_test)
            for budget in budgets
            for limit in budget.limits
        )

    def _policy(
        self, limits: list[Limit], calls: TestCalls, *, earlier_runs: int = 0
    ) -> DecisionPolicy:
        """The test's share of the session's false-failure rate, over the looks planned from
        its first runs up to what the caps allow. Against a snapshot the share is not split
        between the looks at the snapshot and those that confirm it live: the live verdict
        replaces the snapshot's for every limit it confirms, so one of them decides.
        `earlier_runs`: the candidate's runs an SLA pools with these (a look falls where
        both together reach the fewest runs that can pass it)."""
        settings = self.settings
        in_test = sum(counts_as_decision(lim.spec, settings.accuracy_test) for lim in limits)
        first = calls.candidate()
        runs, step = len(first.runs), max(1, len(first.samples))
        most = max(runs, settings.max_pairs)
        horizon = reachable_runs(runs, calls.seconds_measured(), settings.max_seconds, most)
        sla_runs = tuple(
            runs_to_pass(settings.latency_percentile, settings.sla_false_pass_rate) - earlier_runs
            for limit in limits
            if limit.spec.is_sla
        )
        sizes = look_sizes(runs, horizon, step, also=sla_runs)
        return session_policy(
            settings.false_failure_rate,
            decisions=max(self.decisions, in_test),
            sizes=tuple(size for size in sizes if size <= most),
            noise_floor=settings.noise_floor,
            seed=settings.seed,
            sla_false_pass_rate=settings.sla_false_pass_rate,
        )

    def _slas_left_to_live_pairs(
        self, limits: list[Limit], comparison: Comparison, snapshot: Snapshot | None
    ) -> set[str]:
        """Percentile SLAs to judge once live pairs confirm the ratios against a snapshot
        (live_baseline = "always", its baseline loadable here, timings comparable), on the
        candidate's runs of both phases together: taken against the snapshot first, an SLA
        ran the candidate alone to the 60 runs a p95 pass needs, and then the pairs ran it
        again."""
        if snapshot is None or not (self._confirm and comparison.timings_comparable):
            return set()
        if not any(limit.spec.is_run_ratio for limit in limits):
            return set()
        try:
            self._snapshot_model(snapshot)
        except LlmPerfError:
            return set()  # judged against the snapshot, whose runs are all it has
        return {limit.name for limit in limits if limit.spec.is_sla}

    def _instance_spread(self, baseline: Backend) -> float:
        """The allowance per placement for paired ratios, when both models' weights were
        placed afresh before every pass (in-process models); else none."""
        candidate = self.models.get(CANDIDATE)
        if baseline.places_weights_afresh and candidate.places_weights_afresh:
            return self.settings.instance_spread
        return 0.0

    @property
    def _confirm(self) -> bool:
        """Passes against a snapshot are confirmed in live pairs too (live_baseline=always)."""
        return self.settings.live_baseline == "always"

    def _caps(self) -> Caps:
        settings = self.settings
        return Caps(settings.max_pairs, settings.max_seconds, settings.inconclusive)

    def _more_runs(self, calls: TestCalls, baseline: PricedModel | None = None) -> MoreRuns:
        """What adds runs to the test's calls: on the candidate and the live baseline
        (`baseline`, else the session's when the calls have baseline runs)."""
        if baseline is None and calls.live_baseline() is not None:
            baseline = self.models.priced(BASELINE)
        shared = None
        if calls.shared_keys:
            shared = SharedRounds(self.shared_runs, self._every_model, self._lineup_position())
        return MoreRuns(calls, self.protocol, self.models.priced(CANDIDATE), baseline, shared)

    def _record_baseline(self, nodeid: str, calls: list[Call]) -> JudgedTest:
        written = self._save(nodeid, calls)
        name = self.models.name(BASELINE)
        return JudgedTest(
            nodeid=nodeid,
            verdicts=[],
            baseline_source="recorded",
            candidate_name=name,
            baseline=GenerationResult.combine([result for _, result in calls]),
            snapshot_written=written,
            baseline_name=name,
        )

    def _comparison(
        self, nodeid: str, calls: TestCalls, candidate: GenerationResult, limits: list[Limit]
    ) -> tuple[Comparison, Snapshot | None]:
        """What the limits are judged on, and the snapshot it came from, if one did."""
        common = {
            "candidate": candidate,
            "latency_percentile": self.settings.latency_percentile,
            "has_prices": self.settings.has_prices,
            "candidate_quantized": "quantization" in self.models.get(CANDIDATE).identity,
            "timing_mismatch_fails": self.settings.hardware_mismatch == "fail",
        }
        if calls.baseline_calls:
            return Comparison(
                baseline=GenerationResult.combine([result for _, result in calls.baseline_calls]),
                baseline_source="the test's llm_baseline calls",
                baseline_name=self.models.get(BASELINE).label,
                **common,
            ), None
        if calls.paired_baseline:
            how = "run in alternating pairs"
            if calls.under_load:
                how = "run as whole load runs in alternating order"
            source = f"--llm-baseline={self.models.name(BASELINE)}, {how}"
            if calls.both_called:
                source = "the test's llm_baseline calls, measured again in alternating pairs"
            return Comparison(
                baseline=GenerationResult.combine(calls.paired_baseline),
                baseline_source=source,
                baseline_name=self.models.get(BASELINE).label,
                paired=not calls.under_load,
                instance_spread=self._instance_spread(self.models.get(BASELINE)),
                **common,
            ), None
        if not any(limit.spec.needs_baseline for limit in limits):
            return Comparison(baseline=None, baseline_source="none needed", **common), None
        return self.snapshot_baseline.comparison(
            self.baseline_key(nodeid),
            calls,
            self.models.get(CANDIDATE),
            self.settings.per_model[BASELINE].pricing,
            {**common, "process_shift": self.settings.snapshot_shift},
        )

    def _paired_if_both_called(self, calls: TestCalls, limits: list[Limit]) -> TestCalls:
        """A test that called both models is judged on pairs, as a live run is: its calls
        measured again in alternating pairs, when it has timing limits against the
        baseline and called both with the same workloads."""
        timed = any(limit.spec.is_run_ratio for limit in limits)
        if not (calls.baseline_calls and timed and same_workloads(calls)) or calls.under_load:
            return calls
        paired = self._pair_up(calls, self.models.priced(BASELINE))
        paired.both_called = True
        return paired

    def _pair_up(self, calls: TestCalls, baseline: PricedModel) -> TestCalls:
        workloads = [workload for workload, _ in calls.candidate_calls]
        return pair_up(workloads, baseline, self.models.priced(CANDIDATE), self.protocol)

    def _confirm_live(
        self,
        nodeid: str,
        limits: list[Limit],
        against_snapshot: Decided,
        calls: TestCalls,
        snapshot: Snapshot,
        deferred: set[str],
        *,
        checked_fresh: bool = False,
    ) -> Decided:
        """Timing limits a snapshot left open, confirmed against its baseline model run here
        in alternating pairs, run until decided (and those it passed, with
        live_baseline=always); else left as they are, saying what would decide them. The
        `deferred` SLAs are judged here too, on the candidate's runs of both phases.
        `checked_fresh`: the snapshot was already found fresh against that model."""
        names = open_ratio_limits(against_snapshot.verdicts, passes_too=self._confirm)
        confirming = ", ".join(names)
        # Only what the pairs confirm is judged on them, and the SLAs left to them: an SLA
        # decided against the snapshot stays decided.
        confirmed_limits = [lim for lim in limits if lim.name in names or lim.name in deferred]
        comparison = against_snapshot.comparison
        try:
            spec, baseline = self._snapshot_model(snapshot)
        except LlmPerfError as error:
            return self._unconfirmed(against_snapshot, str(error))
        if not checked_fresh:
            self._check_fresh(nodeid, calls, snapshot, baseline)
        live_calls = self._pair_up(calls, baseline)
        live = replace(
            comparison,
            candidate=live_calls.candidate(),
            baseline=live_calls.live_baseline(),
            baseline_source=(
                f"{comparison.baseline_source}; {confirming} settled against {spec.name} "
                "run here in alternating pairs"
            ),
            paired=True,
            against_snapshot=False,
            instance_spread=self._instance_spread(baseline.backend),
            earlier_candidate=comparison.candidate if deferred else None,
            policy=self._policy(
                confirmed_limits,
                live_calls,
                earlier_runs=len(comparison.candidate.runs) if deferred else 0,
            ),
        )
        decided = run_until_decided(
            nodeid,
            confirmed_limits,
            live,
            self._more_runs(live_calls, baseline),
            self._caps(),
            self.on_progress,
        )
        return replace(
            decided,
            verdicts=merged_verdicts(
                [limit.name for limit in limits], against_snapshot.verdicts, decided.verdicts
            ),
            extra_seconds=against_snapshot.extra_seconds + decided.extra_seconds,
        )

    def _snapshot_model(self, snapshot: Snapshot) -> tuple[ModelSpec, PricedModel]:
        """The snapshot's baseline model, loaded here (once per session); LlmPerfError when
        it cannot be (NoLiveBaseline says why)."""
        if self.settings.live_baseline == "never":
            raise NoLiveBaseline("live_baseline = never")
        spec = snapshot_model_spec(snapshot, self.settings)
        return spec, PricedModel.of(self.models.load(spec), spec)

    def _check_fresh(
        self, nodeid: str, calls: TestCalls, snapshot: Snapshot, baseline: PricedModel
    ) -> None:
        """StaleSnapshotError when the snapshot's baseline, loaded here, is not the model it
        recorded (its chat template, tokenizer or generation config changed)."""
        workloads = [workload for workload, _ in calls.candidate_calls]
        path = self.store.path_for(self.baseline_key(nodeid))
        check_fresh(snapshot, path, workloads, baseline.backend)

    def _check_fresh_if_unsure(
        self, nodeid: str, calls: TestCalls, snapshot: Snapshot, comparison: Comparison
    ) -> bool:
        """When the candidate renders the conversations otherwise than the snapshot recorded,
        either its template differs (a real difference of the candidate) or the baseline's
        changed since recording (a stale snapshot): the snapshot's baseline, run here, tells
        which. True when it did (and the snapshot is fresh); False when it cannot run here."""
        if not _renders_differently(comparison):
            return False
        try:
            _, baseline = self._snapshot_model(snapshot)
        except LlmPerfError:
            return False
        self._check_fresh(nodeid, calls, snapshot, baseline)
        return True

    def _unconfirmed(self, decided: Decided, why: str) -> Decided:
        """The snapshot's verdicts as they stand, when no live pairs could run: saying why,
        and what would decide those still inconclusive (the rule at the cap applied)."""
        hint = (
            f"alternating pairs with the baseline model, which did not run here ({why}): "
            "pass --llm-baseline=MODEL"
        )
        alone = (
            "judged on the snapshot alone, beyond the allowance for the shift between "
            f"processes; not confirmed in live pairs ({why})"
        )
        unconfirmed = (
            "passed on the snapshot alone, with the allowance for the shift between "
            f"processes; not confirmed in live pairs ({why})"
        )
        caps, open_limits = self._caps(), open_ratio_limits(decided.verdicts)
        passes = set(open_ratio_limits(decided.verdicts, passes_too=self._confirm))
        passes -= set(open_limits)
        verdicts = []
        for verdict in decided.verdicts:
            if verdict.limit.name in open_limits and verdict.outcome is Outcome.FAIL:
                verdict = replace(verdict, note="; ".join(filter(None, (verdict.note, alone))))
            elif verdict.limit.name in passes:
                note = "; ".join(filter(None, (verdict.note, unconfirmed)))
                verdict = replace(verdict, note=note)
            elif verdict.limit.name in open_limits:
                verdict = apply_cap_rule(verdict, caps.inconclusive, "a snapshot's runs", hint)
            verdicts.append(verdict)
        return replace(decided, verdicts=verdicts)

    def _save(self, nodeid: str, calls: list[Call]) -> Path:
        settings, baseline = self.settings, self.models.spec(BASELINE)
        assert baseline is not None, "snapshots are written from the baseline's runs"
        measured_with = MeasuredWith(
            dtype_setting=baseline.options.dtype,
            repeats=settings.repeats,
            warmup=settings.warmup,
            seed=settings.seed,
        )
        location = model_location(baseline, settings.rootdir)
        return self.snapshot_baseline.save(
            self.baseline_key(nodeid), calls, self.models.get(BASELINE), measured_with, location
        )


def _renders_differently(comparison: Comparison) -> bool:
    """Baseline and candidate were given conversations, and rendered them differently."""
    digests = [
        result.rendered_sha256
        for result in (comparison.baseline, comparison.candidate)
        if result is not None
    ]
    return len(digests) == 2 and None not in digests and digests[0] != digests[1]


def _templates_note(comparison: Comparison, *, baseline_checked: bool = False) -> str:
    """What a verdict says when baseline and candidate were given conversations rendered
    differently: each model renders them with its own chat template. Against a snapshot
    whose baseline could not run here, that it may have changed since recording."""
    if not _renders_differently(comparison):
        return ""
    note = (
        "the chat templates differ: baseline and candidate each render the conversations "
        "with their own template, and input tokens count each one's template tokens"
    )
    if comparison.against_snapshot and not baseline_checked:
        note += (
            " (the snapshot's baseline did not run here to tell whether its own template "
            f"changed since recording; if it did, re-record the snapshot with {REFRESH})"
        )
    return note


def _with_note(verdict: Verdict, note: str, *, timing_only: bool = True) -> Verdict:
    """Timing verdicts (or all, unless `timing_only`) get the note beside any they have."""
    untouched = timing_only and not verdict.limit.spec.is_timing
    if verdict.outcome is Outcome.NOT_COMPARED or untouched:
        return verdict
    return replace(verdict, note="; ".join(filter(None, (verdict.note, note))))
