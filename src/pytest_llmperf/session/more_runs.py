"""More runs of one test's calls: the object the loop that runs until decided measures
through (until_decided.py). It holds what measuring needs (the test's calls, the protocol,
the priced models, the shared runs of several candidates), so the loop never calls back into
the session that started it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pytest_llmperf.backends import Backend
from pytest_llmperf.measure.protocol import Protocol, measure, measure_paired
from pytest_llmperf.session.calls import TestCalls
from pytest_llmperf.session.pool import PricedModel
from pytest_llmperf.session.shared_runs import SharedRuns

# Each round's seed is the protocol's, moved on by this times the round's index.
ROUND_SEED_STEP = 7919


@dataclass(frozen=True)
class SharedRounds:
    """With several candidates: the session's shared runs, the models they alternate (the
    baseline, then every candidate; loaded when first asked for), and where the test's
    candidate is among them."""

    runs: SharedRuns
    models: Callable[[], Sequence[Backend]]
    position: int


@dataclass(frozen=True)
class MoreRuns:
    """Adds runs to a test's calls, on its candidate and on its live baseline (the session's,
    or a snapshot's baseline model loaded to confirm live); None when there is none."""

    calls: TestCalls
    protocol: Protocol
    candidate: PricedModel
    baseline: PricedModel | None = None
    shared: SharedRounds | None = None

    def measure(
        self, repeats: int, round_index: int, deadline: float, *, candidate_only: bool = False
    ) -> None:
        """`repeats` more runs of every call; the round's index seeds its order; no pass over
        the prompts starts after `deadline` (time.monotonic()). `candidate_only`: what is
        still open needs no baseline (an SLA), so the candidate runs alone, not in pairs."""
        protocol = replace(
            self.protocol,
            repeats=repeats,
            warmup=0,
            count_figures=False,
            seed=self.protocol.seed + ROUND_SEED_STEP * round_index,
            deadline=deadline,
        )
        calls = self.calls
        for index, (workload, result) in enumerate(calls.candidate_calls):
            if calls.shared_keys:
                self._extend_shared(index, protocol)
                continue
            if calls.paired_baseline and not candidate_only:
                baseline = self._baseline()
                more_baseline, more = measure_paired(
                    baseline.backend, self.candidate.backend, workload, protocol
                )
                calls.paired_baseline[index] = calls.paired_baseline[index].extended(more_baseline)
            else:
                more = measure(self.candidate.backend, workload, protocol)
            calls.candidate_calls[index] = (workload, result.extended(more))
        for index, (workload, result) in enumerate([] if candidate_only else calls.baseline_calls):
            more = measure(self._baseline().backend, workload, protocol)
            calls.baseline_calls[index] = (workload, result.extended(more))

    def _extend_shared(self, index: int, protocol: Protocol) -> None:
        """More rounds of a call shared by every candidate: this test's view of them."""
        assert self.shared is not None, "shared keys come with the shared runs"
        calls, shared = self.calls, self.shared
        results = shared.runs.extend(calls.shared_keys[index], shared.models(), protocol)
        calls.paired_baseline[index] = self._baseline().priced(results[0])
        workload = calls.candidate_calls[index][0]
        calls.candidate_calls[index] = (workload, self.candidate.priced(results[shared.position]))

    def _baseline(self) -> PricedModel:
        assert self.baseline is not None, "calls with baseline runs come with a live baseline"
        return self.baseline
